-- The Chat Completions wire format (and Workers AI's, which wraps it) decoded into AG-UI events through the
-- turn's decoder, fed SSE data lines or decoded chunks directly (no I/O).
local openai = require("tanstack.ai.formats.openai")
local workers_ai = require("cloudflare.tanstack_ai.workers_ai.format")
local replay = require("helpers.replay")
local json = require("tanstack.ai.json")

local function run(chunks, opts)
  local out = {}
  opts = opts or {}
  local format = opts.native and workers_ai or openai
  local dec = replay.decoder(format, out, { runId = "r", threadId = "t" })
  dec.out:start()
  for _, c in ipairs(chunks) do
    if type(c) == "string" then dec:event({ data = c }) else format.decode_event(nil, c, dec.out) end
    if dec:finished() then break end
  end
  if not opts.no_finish then dec:finish() end
  return out
end

local function types(evs)
  local t = {}
  for i, e in ipairs(evs) do t[i] = e.type end
  return t
end

describe("openai translator", function()
  it("turns text chunks into a text message and a finished run with trailer usage", function()
    local evs = run({
      '{"choices":[{"delta":{"role":"assistant","content":"Hel"}}]}',
      '{"choices":[{"delta":{"content":"lo"}}]}',
      '{"choices":[{"delta":{},"finish_reason":"stop"}]}',
      '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
      "[DONE]",
    })
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_END", "RUN_FINISHED" }, types(evs))
    assert.equal("Hel", evs[3].delta)
    assert.equal("lo", evs[4].delta)
    assert.equal("stop", evs[6].finishReason)
    assert.same({ promptTokens = 3, completionTokens = 2, totalTokens = 5 }, evs[6].usage)
    for _, e in ipairs(evs) do
      assert.equal("m", e.model)
      assert.is_number(e.timestamp)
      assert.is_nil(e.content) -- deltas only
    end
  end)

  it("holds argument fragments that arrive before the name, then flushes them after START", function()
    local evs = run({
      { choices = { { delta = { tool_calls = { { index = 0, ["function"] = { arguments = '{"ci' } } } } } } },
      { choices = { { delta = { tool_calls = { { index = 0, id = "x", ["function"] = { name = "get_weather" } } } } } } },
      { choices = { { delta = { tool_calls = { { index = 0, ["function"] = { arguments = 'ty":"Paris"}' } } } } } } },
      { choices = { { delta = {}, finish_reason = "tool_calls" } } },
    })
    assert.same({ "RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_ARGS", "TOOL_CALL_END",
      "RUN_FINISHED" }, types(evs))
    assert.equal("get_weather", evs[2].toolCallName)
    assert.equal("get_weather", evs[2].toolName)
    assert.equal('{"ci', evs[3].delta)
    assert.equal('ty":"Paris"}', evs[4].delta)
    assert.same({ city = "Paris" }, evs[5].input)
    assert.equal("tool_calls", evs[6].finishReason)
  end)

  it("gives every call a unique id even when the backend repeats one", function()
    local evs = run({
      { choices = { { delta = { tool_calls = {
        { index = 0, id = "dup", ["function"] = { name = "a", arguments = "{}" } },
        { index = 1, id = "dup", ["function"] = { name = "b", arguments = "{}" } },
      } } } } },
      { choices = { { delta = {}, finish_reason = "tool_calls" } } },
    })
    local ids = {}
    for _, e in ipairs(evs) do if e.type == "TOOL_CALL_START" then ids[#ids + 1] = e.toolCallId end end
    assert.equal(2, #ids)
    assert.are_not.equal(ids[1], ids[2])
  end)

  it("closes everything and finishes when the stream ends without a finish reason", function()
    local evs = run({
      { choices = { { delta = { content = "partial" } } } },
      { choices = { { delta = { tool_calls = { { index = 0, id = "c", ["function"] = { name = "f", arguments = '{"a":1}' } } } } } } },
    })
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TOOL_CALL_START", "TOOL_CALL_ARGS",
      "TOOL_CALL_END", "TEXT_MESSAGE_END", "RUN_FINISHED" }, types(evs))
    assert.equal("tool_calls", evs[8].finishReason)
  end)

  it("emits reasoning as STEP_STARTED / STEP_FINISHED deltas", function()
    local evs = run({
      { choices = { { delta = { reasoning_content = "think" } } } },
      { choices = { { delta = { reasoning_content = "ing" } } } },
      { choices = { { delta = { content = "answer" }, finish_reason = "stop" } } },
    })
    assert.same({ "RUN_STARTED", "STEP_STARTED", "STEP_FINISHED", "STEP_FINISHED", "TEXT_MESSAGE_START",
      "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED" }, types(evs))
    assert.equal("ing", evs[4].delta)
  end)

  it("reports a malformed event as one RUN_ERROR and nothing after it", function()
    local evs = run({ '{"choices":[{"delta":{"content":"a"}}]}', '{not json', '{"choices":[{"delta":{"content":"b"}}]}' })
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "RUN_ERROR" }, types(evs))
    assert.matches("malformed", evs[4].message)
  end)

  it("reports an error payload inside the stream", function()
    local evs = run({ '{"error":{"message":"overloaded","type":"server_error","code":"x1"}}' })
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, types(evs))
    assert.equal("overloaded", evs[2].message)
    assert.equal("x1", evs[2].code)
  end)
end)

describe("Workers AI native events through the shared translator", function()
  it("maps response tokens, native tool calls and the usage trailer", function()
    local evs = run({
      '{"response":"Hi","p":"abc"}',
      '{"response":" there"}',
      '{"response":"","tool_calls":[{"name":"get_weather","arguments":{"city":"Lisbon"}}]}',
      '{"response":"","usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}',
      "[DONE]",
    }, { native = true })
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT",
      "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TEXT_MESSAGE_END", "RUN_FINISHED" }, types(evs))
    assert.same({ city = "Lisbon" }, evs[7].input)
    assert.equal("tool_calls", evs[9].finishReason)
    assert.equal(12, evs[9].usage.totalTokens)
  end)

  it("accepts incremental native tool calls with a null finalization fragment", function()
    local evs = run({
      '{"tool_calls":[{"id":"c1","type":"function","index":0,"function":{"name":"f"}}]}',
      '{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":"}}]}',
      '{"tool_calls":[{"index":0,"function":{"arguments":"2}"}}]}',
      '{"tool_calls":[{"id":null,"type":null,"index":0,"function":{"name":null,"arguments":""}}]}',
      "[DONE]",
    }, { native = true })
    assert.same({ "RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_ARGS", "TOOL_CALL_END",
      "RUN_FINISHED" }, types(evs))
    assert.same({ a = 2 }, evs[5].input)
  end)

  it("reads a whole native result, enveloped or not, and an OpenAI-shaped one", function()
    for _, body in ipairs({
      { result = { response = "ok", usage = { prompt_tokens = 1, completion_tokens = 1 } }, success = true, errors = {} },
      { response = "ok" },
      { choices = { { message = { content = "ok" }, finish_reason = "stop" } } },
    }) do
      local out = {}
      replay.decoder(workers_ai, out):body(body)
      assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED" },
        types(out))
      assert.equal("ok", out[3].delta)
    end
  end)

  it("encodes a JSON-mode object response as text", function()
    local out = {}
    replay.decoder(workers_ai, out):body({ result = { response = { name = "India" } }, success = true })
    assert.same({ name = "India" }, json.decode(out[3].delta))
  end)
end)
