-- cloudflare.tanstack_ai.workers_ai.format: Workers AI chat answers as a wire format (tanstack/ai/formats/init.lua):
-- OpenAI chunks and completions or the native {response, tool_calls, usage} form, enveloped or not; finish
-- reasons outside TanStack's union; a forced tool call answered in the text; a stream cut short. Decoded into
-- recorded deltas (no turn, no I/O). The event sequences through a real turn: spec/tanstack/ai/formats/
-- openai_decode_spec.lua ("Workers AI native events") and fixtures_spec.lua / real_answers_spec.lua here.
local format = require("cloudflare.tanstack_ai.workers_ai.format")
local formats = require("tanstack.ai.formats")
local openai = require("tanstack.ai.formats.openai")
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local recorder = require("helpers.deltas_recorder")

local null = json.null

local function event(v, state, out)
  out = out or recorder.new({ provider = "workers-ai" })
  format.decode_event(state, type(v) == "string" and json.decode(v) or v, out)
  return out
end

local function body(v, state)
  local out = recorder.new({ provider = "workers-ai" })
  format.decode_body(state, v, out)
  return out
end

describe("workers_ai format", function()
  it("implements the wire-format interface, requests as Chat Completions, lenient", function()
    assert.equal(format, formats.check(format))
    assert.equal("workers-ai", format.name)
    assert.equal(openai.build_request, format.build_request)
    assert.equal("[DONE]", format.done_marker)
    assert.is_true(format.lenient)
    assert.same({}, format.new_state())
    assert.are_not.equal(format.new_state(), format.new_state())
  end)

  it("maps Workers AI's extra finish reasons into TanStack's union; anything unknown is stop", function()
    for from, to in pairs({ stop = "stop", length = "length", tool_calls = "tool_calls", model_length = "length",
      eos = "stop", eos_token = "stop", stop_sequence = "stop", abort = "stop", cancelled = "stop",
      invalid_reason = "stop", function_call = "tool_calls", something_new = "stop" }) do
      assert.equal(to, format.finish_of(from), from)
      -- in a native event and in an OpenAI chunk alike
      assert.same({ { to } }, event({ response = "", finish_reason = from }):of("finish_reason"), from)
      assert.same({ { to } }, event({ choices = { { delta = {}, finish_reason = from } } }):of("finish_reason"), from)
    end
  end)

  -- "error" was once mapped to stop (a failed generation looked like a clean end); it is a failure now
  it('finish_reason "error" fails the turn after what the event carried, native or OpenAI, streamed or whole', function()
    for _, v in ipairs({ { response = "tail", finish_reason = "error" },
      { choices = { { delta = { content = "tail" }, finish_reason = "error" } } } }) do
      local out = event(v)
      assert.same({ "text", "fail" }, out:names())
      assert.same({ { "tail" } }, out:of("text"))
      local e = out:of("fail")[1][1]
      assert.same({ "finish_reason_error", "provider", "workers-ai", false }, { e.code, e.kind, e.provider, e.retryable })
    end
    for _, v in ipairs({ { response = "whole", finish_reason = "error" },
      { choices = { { message = { content = "whole" }, finish_reason = "error" } } },
      { result = { choices = json.null, response = "whole", finish_reason = "error" }, success = true } }) do
      local out = body(v)
      assert.same({ "text", "fail" }, out:names())
      assert.equal("finish_reason_error", out:of("fail")[1][1].code)
    end
    -- a later choice's "error" is not the answer's (only the first choice is read)
    local out = event({ choices = { { delta = { content = "a" }, finish_reason = "stop" }, { finish_reason = "error" } } })
    assert.same({ "text", "finish_reason" }, out:names())
  end)

  it("choices null or not an array: the direct properties are the answer (no choices error)", function()
    for _, c in ipairs({ null, "not_an_array" }) do
      local out = body({ choices = c, response = "direct", finish_reason = "length" })
      assert.same({ "text", "finish_reason" }, out:names())
      assert.same({ { "direct" } }, out:of("text"))
      assert.same({ { "length" } }, out:of("finish_reason"))
    end
    assert.same({ { "stop" } }, body({ choices = null, finish_reason = "other" }):of("finish_reason"))
    -- an empty choices array beside a native response: the response
    assert.same({ { "r" } }, body({ choices = {}, response = "r" }):of("text"))
  end)
end)

describe("workers_ai format: native events", function()
  it("a token is one text delta (the pick shape's premise)", function()
    local out = event('{"response":"Hi","p":"abcdef"}')
    assert.same({ "text" }, out:names())
    assert.same({ { "Hi" } }, out:of("text"))
  end)

  it("usage, then text, then tool calls, then the finish reason", function()
    local out = event({ response = "x", usage = { prompt_tokens = 2, completion_tokens = 1, total_tokens = 3 },
      tool_calls = { { name = "f", arguments = { a = 1 } } }, finish_reason = "stop" })
    assert.same({ "usage", "text", "tool_call", "finish_reason" }, out:names())
    assert.same({ promptTokens = 2, completionTokens = 1, totalTokens = 3 }, out:of("usage")[1][1])
    assert.same({ nil, nil, "f", { a = 1 } }, out:of("tool_call")[1])
  end)

  it("null and empty fields are skipped", function()
    assert.same({}, event({ response = null, usage = null, finish_reason = null }):names())
    assert.same({}, event({ finish_reason = "" }):names())
  end)

  it("an error report (errors array, success false) fails the turn", function()
    local out = event('{"success":false,"errors":[{"code":3040,"message":"Capacity temporarily exceeded"}]}')
    assert.same({ "fail_payload" }, out:names())
    assert.same({ "fail_payload" }, event('{"error":"InferenceUpstreamError"}'):names())
  end)
end)

describe("workers_ai format: OpenAI chunks", function()
  it("are decoded as openai.lua does", function()
    local out = event('{"choices":[{"index":0,"delta":{"content":"He","reasoning_content":"r"}}]}')
    assert.same({ "reasoning", "text" }, out:names())
  end)

  it("an empty choices list with a native response is native", function()
    assert.same({ { "tok" } }, event({ choices = {}, response = "tok" }):of("text"))
  end)
end)

describe("workers_ai format", function()
  it("pick: the OpenAI shape and the native {response} shape, none while a tool is forced", function()
    local shapes = format.pick(format.new_state())
    assert.equal(2, #shapes)
    assert.same(openai.PICK[1], shapes[1])
    assert.same({ "response" }, shapes[2].text)
    assert.is_nil(format.pick({ forced = "f" }))
    assert.is_nil(format.pick({ forced = true }))
    assert.equal(shapes, format.pick(nil))
  end)
end)

describe("workers_ai format: a forced tool answered in the text (gpt-oss)", function()
  local function run(state, chunks, reason)
    local out = recorder.new({ provider = "workers-ai" })
    for _, c in ipairs(chunks) do event({ response = c }, state, out) end
    event({ response = "", finish_reason = reason or "stop" }, state, out)
    return out
  end

  it("the held text becomes the forced tool's call, the remaining fields its arguments", function()
    local out = run({ forced = "get_weather" }, { '{"name": "get_weather",', ' "location": "London"}' })
    assert.same({ "tool_call", "finish_reason" }, out:names())
    local call = out:of("tool_call")[1]
    assert.equal(0, call[1])
    assert.equal("get_weather", call[3])
    assert.same({ location = "London" }, json.decode(call[4]))
    assert.same({ { "tool_calls" } }, out:of("finish_reason"))
  end)

  it("reads arguments or parameters when the text carries them, as an object or as JSON text", function()
    local a = run({ forced = "f" }, { '{"name":"f","arguments":{"x":1}}' })
    assert.same({ x = 1 }, json.decode(a:of("tool_call")[1][4]))
    local p = run({ forced = "f" }, { '{"name":"f","parameters":{"y":2}}' })
    assert.same({ y = 2 }, json.decode(p:of("tool_call")[1][4]))
    local s = run({ forced = "f" }, { '  {"name":"f","arguments":"{\\"z\\":3}"}  ' })
    assert.equal('{"z":3}', s:of("tool_call")[1][4])
    local e = run({ forced = "f" }, { '{"name":"f"}' })
    assert.equal("{}", e:of("tool_call")[1][4])
  end)

  it("required (forced = true) takes a call of any offered tool, and only those", function()
    local ok = run({ forced = true, tools = { a = true, b = true } }, { '{"name":"b","q":1}' })
    assert.equal("b", ok:of("tool_call")[1][3])
    local other = run({ forced = true, tools = { a = true } }, { '{"name":"zzz","q":1}' })
    assert.same({}, other:of("tool_call"))
    assert.same({ { '{"name":"zzz","q":1}' } }, other:of("text"))
    assert.same({ { "stop" } }, other:of("finish_reason"))
  end)

  it("text that is not a call of the forced tool goes out as text, joined, before the finish reason", function()
    local out = run({ forced = "f" }, { "Sure, ", "here you go." })
    assert.same({ "text", "finish_reason" }, out:names())
    assert.same({ { "Sure, here you go." } }, out:of("text"))
    assert.same({ { "stop" } }, out:of("finish_reason"))
    local wrong = run({ forced = "f" }, { '{"name":"g","a":1}' })
    assert.same({ { '{"name":"g","a":1}' } }, wrong:of("text"))
  end)

  it("a real tool call from the model wins: the held text stays text", function()
    local state = { forced = "f" }
    local out = recorder.new({ provider = "workers-ai" })
    event({ response = '{"name":"f","a":1}' }, state, out)
    event({ tool_calls = { { name = "f", arguments = { a = 1 } } } }, state, out)
    event({ response = "", finish_reason = "tool_calls" }, state, out)
    assert.same({ "tool_call", "text", "finish_reason" }, out:names())
    assert.same({ { "tool_calls" } }, out:of("finish_reason"))
  end)

  it("a length finish keeps its reason", function()
    local out = run({ forced = "f" }, { '{"name":"f","a":1}' }, "length")
    assert.same({ { "length" } }, out:of("finish_reason"))
  end)

  it("the stream's end flushes what is held when no finish reason came", function()
    local state = { forced = "f" }
    local out = recorder.new({ provider = "workers-ai", done_seen = true })
    event({ response = '{"name":"f","k":"v"}' }, state, out)
    assert.same({}, out:names())
    format.finish(state, out)
    assert.same({ "tool_call" }, out:names())
  end)

  -- workers-ai-provider test/utils.test.ts, salvageToolCallsFromText: "salvages a wrapped-parameters tool call in
  -- array form", "ignores array entries whose name is unknown, keeping known ones"
  it("an array of calls: each known one a call (in order), unknown names ignored, none known: the text", function()
    local tools = { read_skill_resource = true, calculator = true }
    local a = run({ forced = true, tools = tools }, { '[{"name":"calculator","parameters":{"a":3,"b":4}}]' })
    assert.same({ "tool_call", "finish_reason" }, a:names())
    assert.equal("calculator", a:of("tool_call")[1][3])
    assert.same({ a = 3, b = 4 }, json.decode(a:of("tool_call")[1][4]))
    assert.same({ { "tool_calls" } }, a:of("finish_reason"))
    local m = run({ forced = true, tools = tools },
      { '[{"name":"unknown","x":1},{"name":"calculator","arguments":{"a":9}},{"name":"read_skill_resource","path":"p"}]' })
    local calls = m:of("tool_call")
    assert.equal(2, #calls)
    assert.same({ 0, "calculator", { a = 9 } }, { calls[1][1], calls[1][3], json.decode(calls[1][4]) })
    assert.same({ 1, "read_skill_resource", { path = "p" } }, { calls[2][1], calls[2][3], json.decode(calls[2][4]) })
    local none = run({ forced = true, tools = tools }, { '[{"name":"unknown","x":1}]' })
    assert.same({ { '[{"name":"unknown","x":1}]' } }, none:of("text"))
    assert.same({ { "stop" } }, none:of("finish_reason"))
    -- a named force keeps the calls of that tool only
    local named = run({ forced = "calculator", tools = tools }, { '[{"name":"read_skill_resource"},{"name":"calculator"}]' })
    assert.same({ "calculator" }, { named:of("tool_call")[1][3], named:of("tool_call")[2] })
  end)

  it("a held text followed by finish_reason error goes out as text, then the failure", function()
    local out = run({ forced = "f" }, { '{"name":"f","a":1}' }, "error")
    assert.same({ "text", "fail" }, out:names())
  end)

  it("a whole answer's text becomes the call too", function()
    local out = body({ result = { response = '{"name":"f","k":"v"}' }, success = true }, { forced = "f" })
    assert.same({ "tool_call" }, out:names())
    assert.same({ k = "v" }, json.decode(out:of("tool_call")[1][4]))
  end)
end)

describe("workers_ai format: finish", function()
  it("a stream with neither [DONE] nor a finish reason was cut short: one error after its text", function()
    local out = recorder.new({ provider = "workers-ai" })
    format.finish(format.new_state(), out)
    assert.same({ "fail" }, out:names())
    local e = out:of("fail")[1][1]
    assert.is_true(errors.is_error(e))
    assert.equal("stream_cut_short", e.code)
    assert.equal("network", e.kind)
    assert.equal("workers-ai", e.provider)
    assert.is_false(e.retryable)
  end)

  it("nothing to do after [DONE], a finish reason, or an ended turn", function()
    for _, fields in ipairs({ { done_seen = true }, { reason = "stop" }, { finished = true } }) do
      local out = recorder.new(fields)
      format.finish(format.new_state(), out)
      assert.same({}, out:names())
    end
  end)
end)

describe("workers_ai format: the envelope of a chat answer", function()
  it("{result = {...}} alone is the REST envelope; beside an answer's fields it is not", function()
    assert.same({ response = "r" }, format.unwrap({ result = { response = "r" } }))
    assert.same({ response = "r" }, format.unwrap({ result = { response = "r" }, success = true }))
    local beside = { result = { a = 1 }, response = "x" }
    assert.equal(beside, format.unwrap(beside))
    local failed = { result = { a = 1 }, success = false }
    assert.equal(failed, format.unwrap(failed))
    assert.equal("s", format.unwrap("s"))
    assert.same({ { "r" } }, body({ result = { response = "r" } }):of("text"))
  end)
end)

describe("workers_ai format: whole answers", function()
  it("native, enveloped or not, and OpenAI-shaped give the same text", function()
    for _, v in ipairs({ { result = { response = "ok" }, success = true, errors = {} }, { response = "ok" },
      { choices = { { message = { content = "ok" }, finish_reason = "stop" } } } }) do
      assert.same({ { "ok" } }, body(v):of("text"))
    end
  end)

  it("an OpenAI completion with Workers AI's finish reason is mapped", function()
    local out = body({ choices = { { message = { content = "x" }, finish_reason = "model_length" } } })
    assert.same({ { "length" } }, out:of("finish_reason"))
  end)

  it("empty choices is an empty answer, not a failure, with its usage", function()
    local out = body({ choices = {}, usage = { prompt_tokens = 4, completion_tokens = 0 } })
    assert.same({ "usage", "finish_reason" }, out:names())
    assert.same({ { "stop" } }, out:of("finish_reason"))
    assert.equal(4, out:of("usage")[1][1].promptTokens)
  end)

  it("an error report fails the turn; a failed envelope is not unwrapped", function()
    assert.same({ "fail_payload" },
      body({ success = false, errors = { { code = 5007, message = "No such model" } }, result = json.null }):names())
  end)

  it("what is neither native nor OpenAI fails with openai.lua's message", function()
    local out = body("plain text")
    assert.same({ "fail" }, out:names())
    assert.equal("unexpected response shape", out:of("fail")[1][1].message)
  end)
end)

describe("workers_ai format: structured", function()
  it("the native response as JSON text, or an object (JSON mode), enveloped or not", function()
    local data, raw = format.structured({ result = { response = '{"a":1}' }, success = true })
    assert.same({ a = 1 }, data)
    assert.equal('{"a":1}', raw)
    local d2 = format.structured({ response = { name = "India" } })
    assert.same({ name = "India" }, d2)
  end)

  it('finish_reason "error" (first choice or direct) is an error, not a structured answer', function()
    for _, v in ipairs({ { choices = { { message = { content = '{"b":2}' }, finish_reason = "error" } } },
      { response = '{"b":2}', finish_reason = "error" }, { choices = null, response = "{}", finish_reason = "error" } }) do
      local data, e = format.structured(v, "p")
      assert.is_nil(data)
      assert.same({ "finish_reason_error", "p" }, { e.code, e.provider })
    end
  end)

  it("an OpenAI-shaped answer through openai.lua", function()
    assert.same({ b = 2 }, (format.structured({ choices = { { message = { content = '{"b":2}' } } } })))
  end)

  it("no response, an error report or text that is not JSON: nil and an error naming the provider", function()
    local _, e1 = format.structured({ result = {}, success = true })
    assert.equal("Workers AI structured output returned no content", e1.message)
    assert.equal("workers-ai", e1.provider)
    local _, e2 = format.structured({ response = null }, "my-provider")
    assert.equal("my-provider", e2.provider)
    local _, e3 = format.structured({ success = false, errors = { { code = 3040, message = "busy" } } })
    assert.equal("busy", e3.message)
    assert.equal("provider", e3.kind)
    local _, e4 = format.structured({ response = "not json" })
    assert.equal("decode", e4.kind)
    assert.matches("^Workers AI structured output", e4.message)
  end)
end)
