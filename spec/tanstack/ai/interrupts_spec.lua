-- tanstack.ai.interrupts: TanStack AI's interrupt protocol pieces, through the module's public functions:
-- canonical JSON (canonicalInterruptJson: keys sorted, JSON.stringify scalars), the "sha256:<hex>" digests
-- @tanstack/ai-client recomputes before it accepts a descriptor (`tanstack:interruptBinding`), the client-tool and
-- approval descriptors, and validateInterruptResumeBatch's errors. SHA-256 expectations are FIPS 180-4's test
-- vectors and `printf ... | sha256sum`; the number forms are ECMAScript's Number::toString.
-- The protocol end to end (runs paused and resumed): chat_interrupt_spec.lua; against @tanstack/ai's own engine
-- and client: spec/openresty/nginx_test.lua; signed histories: spec/security/tool_calls_spec.lua.
local interrupts = require("tanstack.ai.interrupts")
local json = require("tanstack.ai.json")

local CITY = { type = "object", properties = { city = { type = "string" } } }

describe("binding hashes", function()
  it("SHA-256 and TanStack's canonical JSON", function()
    assert.equals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", interrupts.sha256_hex(""))
    assert.equals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", interrupts.sha256_hex("abc"))
    assert.equals("41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3",
      interrupts.sha256_hex(string.rep("a", 1000)))
    assert.equals('{"a":{"y":"q\\"\\n\\u0001","z":true},"b":[1,2,"x/y"],"c":{}}',
      interrupts.canonical({ b = json.array({ 1, 2, "x/y" }), a = { z = true, y = 'q"\n\1' }, c = {} }))
    local nums = {}
    for i, x in ipairs({ 1, -1, 0.1, 1e-7, 1e21, 123.456, 1.5e300, 2 ^ 53, 2 ^ 60, 0.000001, 1 / 3 }) do
      nums[i] = interrupts.js_number(x)
    end
    -- String(x) in JavaScript
    assert.equals("1 -1 0.1 1e-7 1e+21 123.456 1.5e+300 9007199254740992 1152921504606847000 0.000001 "
      .. "0.3333333333333333", table.concat(nums, " "))
  end)

  it("js_string escapes as JSON.stringify: quote, backslash, controls; not '/', DEL or UTF-8", function()
    assert.equals('"a/b\\\\c\\"d\\t\\u001f\127é"', interrupts.js_string('a/b\\c"d\t\31\127é'))
    assert.equals('"\\b\\f\\r"', interrupts.js_string("\b\f\r"))
  end)

  it("js_number: negative zero, small and large exponents, and no NaN or Infinity", function()
    assert.equals("0", interrupts.js_number(-0.0))
    assert.equals("-2.5", interrupts.js_number(-2.5))
    assert.equals("1.2e-7", interrupts.js_number(1.2e-7))
    assert.equals("100000000000000000000", interrupts.js_number(1e20))
    assert.equals("-1e+21", interrupts.js_number(-1e21))
    for _, bad in ipairs({ 0 / 0, 1 / 0, -1 / 0 }) do
      assert.has_error(function() interrupts.js_number(bad) end, "Interrupt values must be JSON-compatible.")
    end
  end)

  it("canonical: null, booleans, nested arrays; functions left out of objects; non-JSON values and cycles raise", function()
    assert.equals("null", interrupts.canonical(nil))
    assert.equals("null", interrupts.canonical(json.null))
    assert.equals('[true,false,null,[1,{}]]',
      interrupts.canonical(json.array({ true, false, json.null, json.array({ 1, {} }) })))
    assert.equals('{"a":1}', interrupts.canonical({ a = 1, skip = function() end }))
    -- keys sort as strings: "10" before "9"
    assert.equals('{"10":"x","9":"y","a":"z"}', interrupts.canonical({ ["10"] = "x", ["9"] = "y", a = "z" }))
    assert.has_error(function() interrupts.canonical(function() end) end, "Interrupt values must be JSON-compatible.")
    local loop = {}
    loop.self = loop
    assert.has_error(function() interrupts.canonical(loop) end, "Interrupt values must not cycle.")
  end)

  it("digest and hash_schema: 'sha256:' + hex; no schema hashes the text 'undefined'", function()
    -- printf 'undefined' | sha256sum ; printf '{}' | sha256sum
    assert.equals("sha256:eb045d78d273107348b0300c01d29b7552d622abbc6faf81b3ec55359aa9950c", interrupts.hash_schema(nil))
    assert.equals("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      interrupts.hash_schema({}))
    -- printf '{"properties":{"city":{"type":"string"}},"type":"object"}' | sha256sum
    assert.equals("sha256:fc0b1a9e7eab1cc05ffc017418fb27a021167b58285b7659e50609d161bbd816",
      interrupts.hash_schema(CITY))
    assert.equals(interrupts.hash_schema(CITY), interrupts.digest(interrupts.canonical(CITY)))
  end)
end)

describe("descriptors", function()
  it("client_tool: client_tool_<callId>, the output schema as response schema, a binding the client can recompute", function()
    local tool = { name = "notify", outputSchema = { type = "object", properties = { ok = { type = "boolean" } } } }
    local d = interrupts.client_tool(tool, "call_1", "notify", { text = "hi" }, "run-9")
    assert.equals("client_tool_call_1", d.id)
    assert.equals("tanstack:client_tool_execution", d.reason)
    assert.equals("Client tool notify is ready to run", d.message)
    assert.equals("call_1", d.toolCallId)
    assert.equals(tool.outputSchema, d.responseSchema)
    assert.equals("client_tool", d.metadata.kind)
    assert.same({ text = "hi" }, d.metadata.input)
    local b = d.metadata[interrupts.BINDING_KEY]
    assert.equals("tanstack:interruptBinding", interrupts.BINDING_KEY)
    assert.same({ v = 1, kind = "client-tool-execution", interruptId = "client_tool_call_1", toolName = "notify",
      toolCallId = "call_1", outputSchemaHash = interrupts.hash_schema(tool.outputSchema),
      responseSchemaHash = interrupts.digest(interrupts.canonical(tool.outputSchema)), interruptedRunId = "run-9",
      generation = 0 }, b)
    -- a client tool without an output schema answers anything: {} as response schema, "undefined" hashed
    local bare = interrupts.client_tool(nil, "c2", "ping", {}, "r")
    assert.equals("{}", json.encode(bare.responseSchema))
    assert.equals(interrupts.hash_schema(nil), bare.metadata[interrupts.BINDING_KEY].outputSchemaHash)
    assert.equals(interrupts.hash_schema({}), bare.metadata[interrupts.BINDING_KEY].responseSchemaHash)
  end)

  it("approval: approval_<callId>, a oneOf of the approve (with editedArgs) and reject envelopes", function()
    local tool = { name = "delete_file", inputSchema = CITY }
    local d = interrupts.approval(tool, "call_7", "delete_file", { city = "Paris" }, "run-1")
    assert.equals("approval_call_7", d.id)
    assert.equals("tool_call", d.reason)
    assert.equals("Approval required to run delete_file", d.message)
    assert.equals('{"oneOf":[{"additionalProperties":false,"properties":{"approved":{"const":true},' ..
      '"editedArgs":{"properties":{"city":{"type":"string"}},"type":"object"}},"required":["approved"],' ..
      '"type":"object"},{"additionalProperties":false,"properties":{"approved":{"const":false}},' ..
      '"required":["approved"],"type":"object"}]}', interrupts.canonical(d.responseSchema))
    local b = d.metadata[interrupts.BINDING_KEY]
    assert.equals("tool-approval", b.kind)
    assert.equals("approval_call_7", b.interruptId)
    assert.same({ city = "Paris" }, b.originalArgs)
    assert.equals(interrupts.hash_schema(CITY), b.inputSchemaHash)
    assert.equals(interrupts.digest(interrupts.canonical(d.responseSchema)), b.responseSchemaHash)
    assert.equals(interrupts.digest('{"approve":null,"reject":null}'), b.approvalSchemaHash)
    assert.equals("run-1", b.interruptedRunId)
  end)

  it("approval_schema: one payload schema for both decisions, or an approve/reject branch map", function()
    local payload = { type = "string" }
    local same = interrupts.approval_schema({ approvalSchema = payload })
    local one = same.responseSchema.oneOf
    assert.equals(payload, one[1].properties.payload)
    assert.equals(payload, one[2].properties.payload)
    assert.same({ "approved", "payload" }, one[1].required)
    assert.is_nil(one[1].properties.editedArgs) -- no input schema: nothing to edit
    local map = interrupts.approval_schema({ inputSchema = CITY,
      approvalSchema = { approve = { type = "number" }, reject = { type = "boolean" } } })
    assert.same({ type = "number" }, map.responseSchema.oneOf[1].properties.payload)
    assert.same({ type = "boolean" }, map.responseSchema.oneOf[2].properties.payload)
    assert.equals(CITY, map.responseSchema.oneOf[1].properties.editedArgs)
    assert.equals(interrupts.digest('{"approve":{"type":"number"},"reject":{"type":"boolean"}}'),
      map.approvalSchemaHash)
    assert.are_not.equal(same.responseSchemaHash, map.responseSchemaHash)
  end)
end)

describe("validate (validateInterruptResumeBatch)", function()
  local CTX = { threadId = "th-1", interruptedRunId = "run-1" }
  local function records()
    return {
      { interruptId = "approval_a", kind = "approval", toolCallId = "a", tool = { inputSchema = CITY } },
      { interruptId = "client_tool_b", kind = "client", toolCallId = "b", tool = {} },
    }
  end
  local function codes(errs)
    local out = {}
    for i, e in ipairs(errs) do out[i] = (e.interruptId or "*") .. ":" .. e.code end
    return out
  end

  it("a complete, valid batch: no errors and the resolved state", function()
    local errs, state = interrupts.validate(CTX, records(), {
      { interruptId = "approval_a", status = "resolved", payload = { approved = true, editedArgs = { city = "Rome" } } },
      { interruptId = "client_tool_b", status = "resolved", payload = { shown = true } },
    })
    assert.same({}, errs)
    assert.same({ approved = true, editedArgs = { city = "Rome" } }, state.approvals.a)
    assert.same({ value = { shown = true } }, state.clientResults.b)
    assert.same({}, state.cancelled)
    assert.same({}, state.denied)
  end)

  it("denials (false, or an envelope with approved = false and a payload) and cancellations", function()
    local _, state = interrupts.validate(CTX, records(), {
      { interruptId = "approval_a", status = "resolved", payload = { approved = false, payload = "too risky" } },
      { interruptId = "client_tool_b", status = "cancelled" },
    })
    assert.same({ approved = false, payload = "too risky" }, state.approvals.a)
    assert.equals("too risky", state.denied.a)
    assert.is_true(state.cancelled.b)
    assert.is_nil(state.clientResults.b)
    local _, s2 = interrupts.validate(CTX, { records()[1] }, { { interruptId = "approval_a", status = "resolved",
      payload = false } })
    assert.is_false(s2.approvals.a)
    assert.is_nil(s2.denied.a) -- a bare false carries no payload: `denied` holds payloads only
  end)

  it("a missing entry: unknown-interrupt for it, then incomplete-batch and item-validation-failed", function()
    local errs, state = interrupts.validate(CTX, records(), {
      { interruptId = "approval_a", status = "resolved", payload = true } })
    assert.is_nil(state)
    assert.same({ "client_tool_b:unknown-interrupt", "*:incomplete-batch", "*:item-validation-failed" }, codes(errs))
    assert.equals("Missing resume entry for interrupt client_tool_b.", errs[1].message)
    assert.same({ "approval_a", "client_tool_b" }, errs[2].interruptIds)
    for _, e in ipairs(errs) do
      assert.equals("th-1", e.threadId)
      assert.equals("run-1", e.interruptedRunId)
      assert.is_false(e.retryable)
      assert.equals("client", e.source)
    end
    assert.equals("item", errs[1].scope)
    assert.equals("batch", errs[3].scope)
  end)

  it("an entry for an unknown interrupt, duplicates, bad statuses and payloads: each reported, sorted by id", function()
    local errs = interrupts.validate(CTX, records(), {
      { interruptId = "client_tool_b", status = "cancelled", payload = "x" },
      { interruptId = "approval_a", status = "resolved", payload = "yes" },
      { interruptId = "approval_a", status = "resolved", payload = true },
      { interruptId = "zzz", status = "resolved" },
    })
    assert.same({ "approval_a:conflict", "approval_a:invalid-payload", "client_tool_b:invalid-payload",
      "zzz:unknown-interrupt", "*:incomplete-batch", "*:item-validation-failed" }, codes(errs))
    assert.equals("Approval approval_a must be a boolean or decision envelope.", errs[2].message)
    assert.equals("Cancelled interrupt client_tool_b must not include a payload.", errs[3].message)
    assert.equals("Resume entry references unknown interrupt zzz.", errs[4].message)
    errs = interrupts.validate(CTX, { records()[2] }, { { interruptId = "client_tool_b", status = "done" } })
    assert.same({ "client_tool_b:invalid-payload", "*:item-validation-failed" }, codes(errs))
    assert.equals("Interrupt client_tool_b has invalid status done.", errs[1].message)
  end)

  it("edited arguments need an input schema (invalid-edited-args)", function()
    local rec = { interruptId = "approval_x", kind = "approval", toolCallId = "x", tool = {} }
    local errs = interrupts.validate(CTX, { rec }, { { interruptId = "approval_x", status = "resolved",
      payload = { approved = true, editedArgs = { path = "/" } } } })
    assert.same({ "approval_x:invalid-edited-args", "*:item-validation-failed" }, codes(errs))
  end)

  it("failure(): every message joined, the first error's code; missing_parent_error: a stale batch error", function()
    local errs = interrupts.validate(CTX, records(), {})
    local msg, code = interrupts.failure(errs)
    assert.equals("unknown-interrupt", code)
    assert.equals("Missing resume entry for interrupt approval_a. Missing resume entry for interrupt client_tool_b. "
      .. "Resume entries must resolve or cancel the complete interrupt batch. "
      .. "One or more interrupt resolutions are invalid.", msg)
    local m = interrupts.missing_parent_error("th-2", "run-2", { { interruptId = "approval_a" }, { interruptId = 5 } })
    assert.equals(1, #m)
    assert.equals("stale", m[1].code)
    assert.equals("server", m[1].source)
    assert.equals("batch", m[1].scope)
    assert.same({ "approval_a", "5" }, m[1].interruptIds)
    assert.equals("Interrupt continuation requires parentRunId to identify the interrupted run.", m[1].message)
    local _, c = interrupts.failure({})
    assert.equals("server", c)
  end)
end)
