-- At most once, through the example handler's code path (examples/openresty/chat_handler.lua)
-- outside nginx: each reproduction as it was tried. A needsApproval delete tool approved four times ran four
-- times; a made-up parentRunId ran it a fifth time; a signed call pasted into unrelated conversations reusing the
-- thread id ran in each. Now: once, the recorded outcome for a replay, a refusal for another run, another
-- conversation or an expired approval, and the refusal in the server's log with the call's id and reason.
package.path = "examples/openresty/?.lua;" .. package.path

local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local json = require("tanstack.ai.json")
local store = require("tanstack.ai.router.store")
local handler = require("chat_handler")
local emulator = require("helpers.emulator")

local SECRET = "a-shared-secret-of-32-bytes-long"
local STDERR = io.stderr

local function of_type(evs, ty)
  local out = {}
  for _, e in ipairs(evs) do if e.type == ty then out[#out + 1] = e end end
  return out
end

local function body(t)
  return json.encode({
    threadId = t.threadId or "thread-1", runId = t.runId or "run-2", parentRunId = t.parentRunId,
    resume = t.resume, state = json.object(), tools = json.array(), context = json.array(),
    forwardedProps = json.object(), messages = t.messages,
  })
end

local function assistant_call(id, name, args)
  return { id = "m-a", role = "assistant", content = "",
    toolCalls = { { id = id, type = "function", ["function"] = { name = name,
      arguments = type(args) == "string" and args or json.encode(args) } } } }
end

describe("security: a server tool call runs at most once", function()
  local emu, adapter, ran, tools, ledger_store, logged, clock

  setup(function() emu = emulator.shared() end)

  before_each(function()
    emu:reset()
    adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.3-70b-instruct-fp8-fast", {
      accountId = "0123456789abcdef0123456789abcdef", apiKey = "secret-token-replay", apiBaseUrl = emu.url .. "/client/v4",
      maxRetries = 0, idleTimeout = 3000,
    })
    ran = {}
    local function spy(name) return function(input) ran[#ran + 1] = { name = name, input = input } return "done" end end
    tools = {
      ai.tool_definition({ name = "delete_file", description = "Delete a file", needsApproval = true,
        inputSchema = { type = "object", properties = { path = { type = "string" } } } }):server(spy("delete_file")),
      ai.tool_definition({ name = "charge", description = "Charge", sideEffects = true,
        inputSchema = { type = "object", properties = { cents = { type = "number" } } } }):server(spy("charge")),
      ai.tool_definition({ name = "lookup", description = "Look up",
        inputSchema = { type = "object", properties = { q = { type = "string" } } } }):server(spy("lookup")),
    }
    clock = 1000
    ledger_store = store.memory({ clock = function() return clock end })
    logged = {}
    io.stderr = { write = function(_, ...) logged[#logged + 1] = table.concat({ ... }) end } -- luacheck: ignore
  end)

  after_each(function()
    io.stderr = STDERR -- luacheck: ignore
  end)

  local function run(b, opts)
    opts = opts or {}
    local stream, status, msg = handler.handle(b, { adapter = adapter, server_tools = tools,
      signingSecret = opts.secret or SECRET, ledger = opts.ledger or ledger_store, approvalTtl = 60,
      conversation = opts.conversation, logErrors = true })
    assert.is_truthy(stream, tostring(status) .. " " .. tostring(msg))
    return stream:collect()
  end

  -- the model asks for delete_file in run-1: the signed id of the interrupt
  local function first_run(conversation, thread)
    emu:next({ tool_calls = { { name = "delete_file", arguments = { path = "a.txt" }, id = "call_model" } } })
    local evs = run(body({ runId = "run-1", threadId = thread, messages = { { id = "m-u", role = "user",
      content = "delete a.txt" } } }), { conversation = conversation })
    assert.equals("interrupt", evs[#evs].outcome.type)
    emu:reset()
    return of_type(evs, "TOOL_CALL_START")[1].toolCallId
  end

  local function approve(id, opts)
    opts = opts or {}
    return run(body({ runId = opts.runId or "run-2", parentRunId = opts.parent or "run-1", threadId = opts.thread,
      messages = { { id = "m-u", role = "user", content = "delete a.txt" },
        assistant_call(id, "delete_file", { path = "a.txt" }) },
      resume = { { interruptId = "approval_" .. id, status = "resolved", payload = { approved = true } } } }),
      opts)
  end

  local function log_has(s) return table.concat(logged):find(s, 1, true) ~= nil end

  it("the same approval posted four times runs the tool once; the replays get the recorded outcome", function()
    local id = first_run()
    for _ = 1, 4 do
      local res = of_type(approve(id), "TOOL_CALL_RESULT")
      assert.equals(1, #res)
      assert.equals("done", res[1].content)
    end
    assert.equals(1, #ran)
    -- a history re-posted without the result (the call pending again) does not run it either
    run(body({ runId = "run-5", messages = { { id = "m-u", role = "user", content = "x" },
      assistant_call(id, "delete_file", { path = "a.txt" }) } }))
    assert.equals(1, #ran)
  end)

  it("a made-up parentRunId runs nothing and is logged with the call's id", function()
    local id = first_run()
    local evs = approve(id, { parent = "run-made-up", runId = "run-x" })
    assert.same({}, ran)
    assert.matches("belongs to another run", of_type(evs, "TOOL_CALL_RESULT")[1].content)
    assert.is_true(log_has("tool call " .. id .. " refused: approval posted for another run"))
    -- the real one still works afterwards
    approve(id)
    assert.equals(1, #ran)
  end)

  it("an approval is valid for approvalTtl (60 s here, 600 by default)", function()
    local id = first_run()
    clock = clock + 61
    local evs = approve(id)
    assert.same({}, ran)
    assert.matches("expired", of_type(evs, "TOOL_CALL_RESULT")[1].content)
    assert.is_true(log_has("refused: expired approval"))
  end)

  it("a call pasted into other conversations (same thread id, their own real parent run) does not run", function()
    local id = first_run("session-a")
    for _, other in ipairs({ "session-b", "session-c", "session-d" }) do
      local evs = approve(id, { conversation = other })
      assert.equals("RUN_ERROR", evs[#evs].type)
      assert.equals("invalid_tool_call", evs[#evs].code)
    end
    assert.same({}, ran)
    assert.is_true(log_has("tool call " .. id .. " refused: tampered history"))
    approve(id, { conversation = "session-a" })
    assert.equals(1, #ran)
  end)

  it("a misconfigured secret is logged as such, and the browser is not blamed", function()
    local id = first_run()
    local evs = approve(id, { secret = "another-secret-of-32-bytes-long!" })
    assert.equals("invalid_tool_call", evs[#evs].code)
    assert.matches("another server configuration", evs[#evs].message)
    assert.is_nil(evs[#evs].message:find("did not issue", 1, true))
    assert.is_true(log_has("tool call " .. id .. " refused: signed under another secret"))
  end)

  it("the store is down: tools with side effects do not run (fail closed), others do", function()
    local down = { add = function() return nil, "down" end, get = function() return nil, "down" end,
      set = function() return nil, "down" end, incr = function() return nil, "down" end, delete = function() end }
    emu:next({ tool_calls = { { name = "charge", arguments = { cents = 5 }, id = "c1" },
      { name = "lookup", arguments = { q = "x" }, id = "c2" } } })
    local evs = run(body({ runId = "run-1", messages = { { id = "m-u", role = "user", content = "go" } } }),
      { ledger = down })
    local res = of_type(evs, "TOOL_CALL_RESULT")
    assert.matches("could not be run safely", res[1].content)
    assert.equals("done", res[2].content)
    assert.same({ { name = "lookup", input = { q = "x" } } }, ran)
  end)

  it("duplicate keys in a tool call's arguments are refused (posted, or from the model)", function()
    local id = first_run()
    -- the posted text repeats "path": the MAC covered the decoded value, the user saw the first one
    local evs = run(body({ parentRunId = "run-1", messages = { { id = "m-u", role = "user", content = "x" },
      assistant_call(id, "delete_file", '{"path":"a.txt","path":"a.txt"}') },
      resume = { { interruptId = "approval_" .. id, status = "resolved", payload = { approved = true } } } }))
    assert.equals("invalid_tool_call", evs[#evs].code)
    assert.is_true(log_has("refused: its arguments repeat a key"))
    emu:next({ tool_calls = { { name = "lookup", arguments = '{"q":"shown","q":"hidden"}', id = "c1" } } })
    local evs2 = run(body({ runId = "run-7", messages = { { id = "m-u", role = "user", content = "go" } } }))
    assert.matches("repeat", of_type(evs2, "TOOL_CALL_RESULT")[1] and of_type(evs2, "TOOL_CALL_RESULT")[1].content
      or "none")
    assert.same({}, ran)
  end)
end)
