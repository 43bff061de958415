-- tanstack.ai.deltas directly: canonical deltas in, AG-UI events out, with no wire format in between.
-- Every provider's decoder ends here, so the sequences asserted below are what every adapter streams.
local deltas = require("tanstack.ai.deltas")
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")

-- A deltas object whose events land in `evs`; `ts` is pinned so timestamps are exact.
local function recorder(ctx)
  local evs = {}
  ctx = ctx or {}
  local out = deltas.new({ model = ctx.model or "m-1", runId = ctx.runId or "run-1", threadId = ctx.threadId or "th-1",
    used_ids = ctx.used_ids, provider = ctx.provider, classify = ctx.classify,
    emit = function(e) evs[#evs + 1] = e end })
  out.ts = 1000
  return out, evs
end

-- The events without the fields every event carries (checked once, in their own test).
local function strip(evs)
  local out = {}
  for i, e in ipairs(evs) do
    local c = {}
    for k, v in pairs(e) do if k ~= "timestamp" and k ~= "model" then c[k] = v end end
    out[i] = c
  end
  return out
end

local function types(evs)
  local out = {}
  for i, e in ipairs(evs) do out[i] = e.type end
  return out
end

local FIN_STOP = { type = "RUN_FINISHED", runId = "run-1", threadId = "th-1", finishReason = "stop" }
local STARTED = { type = "RUN_STARTED", runId = "run-1", threadId = "th-1" }

describe("deltas: run framing", function()
  it("stamps every event with the read's timestamp and the model", function()
    local out, evs = recorder({ model = "@cf/x" })
    out.ts = 4242
    out:start()
    out:text("hi")
    out:finish()
    assert.equals(5, #evs)
    for _, e in ipairs(evs) do
      assert.equals(4242, e.timestamp)
      assert.equals("@cf/x", e.model)
    end
  end)

  it("emits RUN_STARTED once however often start() is called", function()
    local out, evs = recorder()
    out:start()
    out:start()
    out:finish()
    out:finish() -- a second finish is ignored too
    assert.same({ STARTED, FIN_STOP }, strip(evs))
    assert.is_true(out.finished)
  end)

  it("finish() without start() still opens the run first", function()
    local out, evs = recorder()
    out:finish()
    assert.same({ STARTED, FIN_STOP }, strip(evs))
  end)
end)

describe("deltas: text and reasoning", function()
  it("frames text as START, one CONTENT per delta, END under one message id", function()
    local out, evs = recorder()
    out:start()
    out:text("Hel")
    out:text("") -- empty deltas are dropped on the hot path
    out:text("lo")
    out:finish()
    local id = evs[2].messageId
    assert.matches("^msg%-%x+$", id)
    assert.same({
      STARTED,
      { type = "TEXT_MESSAGE_START", messageId = id, role = "assistant" },
      { type = "TEXT_MESSAGE_CONTENT", messageId = id, delta = "Hel" },
      { type = "TEXT_MESSAGE_CONTENT", messageId = id, delta = "lo" },
      { type = "TEXT_MESSAGE_END", messageId = id },
      FIN_STOP,
    }, strip(evs))
  end)

  it("opens nothing for nil, empty or null text; encodes an object delta as JSON", function()
    local out, evs = recorder()
    out:start()
    out:text(nil)
    out:text("")
    out:text(json.null)
    assert.same({ STARTED }, strip(evs))
    -- JSON mode on some models streams an object instead of text
    out:text({ a = 1 })
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT" }, types(evs))
    assert.equals('{"a":1}', evs[3].delta)
  end)

  it("frames reasoning as one STEP_STARTED then a STEP_FINISHED per delta, closed by text", function()
    local out, evs = recorder()
    out:start()
    out:reasoning("think")
    out:reasoning("") -- ignored
    out:reasoning("ing")
    out:text("answer")
    out:finish()
    local step, msg = evs[2].stepId, evs[5].messageId
    assert.matches("^step%-%x+$", step)
    assert.same({
      STARTED,
      { type = "STEP_STARTED", stepName = "thinking", stepId = step, stepType = "thinking" },
      { type = "STEP_FINISHED", stepName = "thinking", stepId = step, stepType = "thinking", delta = "think" },
      { type = "STEP_FINISHED", stepName = "thinking", stepId = step, stepType = "thinking", delta = "ing" },
      { type = "TEXT_MESSAGE_START", messageId = msg, role = "assistant" },
      { type = "TEXT_MESSAGE_CONTENT", messageId = msg, delta = "answer" },
      { type = "TEXT_MESSAGE_END", messageId = msg },
      FIN_STOP,
    }, strip(evs))
  end)

  it("text closes the step: reasoning after it is a new step with a new id", function()
    local out, evs = recorder()
    out:start()
    out:reasoning("a")
    out:text("x")
    out:reasoning("b")
    assert.same({ "RUN_STARTED", "STEP_STARTED", "STEP_FINISHED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
      "STEP_STARTED", "STEP_FINISHED" }, types(evs))
    assert.are_not.equals(evs[2].stepId, evs[6].stepId)
    assert.equals(evs[6].stepId, evs[7].stepId)
  end)

  it("reasoning after text opens a new step; later text continues the same message", function()
    local out, evs = recorder()
    out:start()
    out:text("a")
    out:reasoning("r")
    out:text("b")
    out:finish()
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "STEP_STARTED", "STEP_FINISHED",
      "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED" }, types(evs))
    assert.equals(evs[3].messageId, evs[6].messageId)
    assert.equals("b", evs[6].delta)
  end)

  it("a signature travels on a STEP_FINISHED with the step's id and no delta", function()
    local out, evs = recorder()
    out:start()
    out:reasoning("why")
    out:reasoning_signature("sig-1")
    local step = evs[2].stepId
    assert.same({ type = "STEP_FINISHED", stepName = "thinking", stepId = step, stepType = "thinking",
      signature = "sig-1" }, strip(evs)[4])
    -- after text closed the step, a late signature still names the last step
    out:text("x")
    out:reasoning_signature("sig-2")
    assert.equals("STEP_FINISHED", evs[#evs].type)
    assert.equals(step, evs[#evs].stepId)
    assert.equals("sig-2", evs[#evs].signature)
    assert.is_nil(evs[#evs].delta)
  end)

  it("a signature with no reasoning gets a fresh step id; empty signatures are dropped", function()
    local out, evs = recorder()
    out:start()
    out:reasoning_signature("")
    out:reasoning_signature(nil)
    assert.equals(1, #evs)
    out:reasoning_signature("sig")
    assert.equals(2, #evs)
    assert.matches("^step%-%x+$", evs[2].stepId)
    assert.equals("sig", evs[2].signature)
  end)
end)

describe("deltas: tool calls", function()
  it("assembles a call by index: START once, ARGS per fragment, END with the parsed input", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, "call_a", "get_weather", '{"ci')
    out:tool_call(0, nil, nil, 'ty":"Paris"}')
    out:finish_reason("tool_calls")
    out:finish()
    assert.same({
      STARTED,
      { type = "TOOL_CALL_START", toolCallId = "call_a", toolCallName = "get_weather", toolName = "get_weather",
        index = 0 },
      { type = "TOOL_CALL_ARGS", toolCallId = "call_a", delta = '{"ci' },
      { type = "TOOL_CALL_ARGS", toolCallId = "call_a", delta = 'ty":"Paris"}' },
      { type = "TOOL_CALL_END", toolCallId = "call_a", toolName = "get_weather", input = { city = "Paris" } },
      { type = "RUN_FINISHED", runId = "run-1", threadId = "th-1", finishReason = "tool_calls" },
    }, strip(evs))
  end)

  it("the first name wins: a later name fragment does not rename the call", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, "c", "get_weather", "{")
    out:tool_call(0, nil, "get_weather", "")
    out:tool_call(0, nil, "other", "}")
    out:finish()
    assert.same({ "RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_ARGS", "TOOL_CALL_END",
      "RUN_FINISHED" }, types(evs))
    assert.equals("get_weather", evs[2].toolCallName)
    assert.equals("get_weather", evs[5].toolName)
  end)

  it("holds arguments until the name is known, then forwards them in one ARGS", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, "call_b", nil, '{"q"')
    out:tool_call(0, nil, nil, ":")
    assert.equals(1, #evs) -- nothing can start without a name
    out:tool_call(0, nil, "search", '"lua"}')
    assert.same({
      { type = "TOOL_CALL_START", toolCallId = "call_b", toolCallName = "search", toolName = "search", index = 0 },
      { type = "TOOL_CALL_ARGS", toolCallId = "call_b", delta = '{"q":"lua"}' },
    }, { strip(evs)[2], strip(evs)[3] })
  end)

  it("keeps interleaved calls apart by index, names the open message, passes metadata and table args", function()
    local out, evs = recorder()
    out:start()
    out:text("Checking.")
    local msg = evs[2].messageId
    out:tool_call(0, "c0", "a", '{"x":')
    out:tool_call(1, "c1", "b", { y = 2 }, { thoughtSignature = "ts" }) -- args as a table: JSON-encoded
    out:tool_call(0, nil, nil, "1}")
    out:finish()
    local s = strip(evs)
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
      "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_ARGS",
      "TOOL_CALL_END", "TOOL_CALL_END", "TEXT_MESSAGE_END", "RUN_FINISHED" }, types(evs))
    assert.same({ type = "TOOL_CALL_START", toolCallId = "c0", toolCallName = "a", toolName = "a", index = 0,
      parentMessageId = msg }, s[4])
    assert.same({ type = "TOOL_CALL_START", toolCallId = "c1", toolCallName = "b", toolName = "b", index = 1,
      parentMessageId = msg, metadata = { thoughtSignature = "ts" } }, s[6])
    assert.same({ type = "TOOL_CALL_ARGS", toolCallId = "c1", delta = '{"y":2}' }, s[7])
    assert.same({ type = "TOOL_CALL_ARGS", toolCallId = "c0", delta = "1}" }, s[8])
    -- calls end in the order they started
    assert.same({ type = "TOOL_CALL_END", toolCallId = "c0", toolName = "a", input = { x = 1 } }, s[9])
    assert.same({ type = "TOOL_CALL_END", toolCallId = "c1", toolName = "b", input = { y = 2 } }, s[10])
    assert.equals("tool_calls", s[12].finishReason)
  end)

  it("without an index, the backend id continues a call and no id means a new call", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(nil, "toolu_1", "search", '{"q":')
    out:tool_call(nil, "toolu_1", nil, '"x"}')
    out:tool_call(nil, nil, "noop", "{}")
    out:tool_call(nil, nil, "noop", "{}")
    out:finish()
    local s = strip(evs)
    assert.same({ "RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_ARGS",
      "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_START", "TOOL_CALL_ARGS",
      "TOOL_CALL_END", "TOOL_CALL_END", "TOOL_CALL_END", "RUN_FINISHED" }, types(evs))
    assert.equals("toolu_1", s[2].toolCallId)
    assert.equals(0, s[2].index)
    assert.same({ q = "x" }, s[9].input)
    -- the two id-less calls are distinct calls with fresh ids and their own indexes
    assert.matches("^call_%x+$", s[5].toolCallId)
    assert.matches("^call_%x+$", s[7].toolCallId)
    assert.are_not.equals(s[5].toolCallId, s[7].toolCallId)
    assert.same({ 1, 2 }, { s[5].index, s[7].index })
  end)

  -- Kimi-style models give two calls of one turn the same id ("functions.<name>:0"); workers-ai-provider
  -- test/utils.test.ts "should rewrite duplicate Kimi-style tool call IDs for AI SDK consumers": two calls
  it("without an index, a repeated backend id that names a tool again is a second call, with a unique id", function()
    local out, evs = recorder()
    out:start()
    local KIMI = "functions.list_toolbox_tools:0"
    out:tool_call(nil, KIMI, "list_toolbox_tools", "{}")
    out:tool_call(nil, KIMI, "list_toolbox_tools", '{"page":')
    out:tool_call(nil, KIMI, nil, "2}") -- continues the newest call with that id
    out:finish()
    local s = strip(evs)
    assert.same({ "RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_START", "TOOL_CALL_ARGS",
      "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_END", "RUN_FINISHED" }, types(evs))
    assert.equals(KIMI, s[2].toolCallId)
    local second = s[4].toolCallId
    assert.are_not.equals(KIMI, second)
    assert.matches("^call_%x+$", second)
    assert.same({ 0, 1 }, { s[2].index, s[4].index })
    assert.same({ KIMI, {} }, { s[7].toolCallId, s[7].input })
    assert.same({ second, { page = 2 } }, { s[8].toolCallId, s[8].input })
    assert.equals("tool_calls", s[9].finishReason)
  end)

  it("finalization fragments (all null or empty) open nothing", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, nil, nil, nil)
    out:tool_call(1, json.null, json.null, json.null)
    out:tool_call(2, nil, "", "")
    out:tool_call(nil, nil, nil, nil)
    out:finish_reason("tool_calls")
    out:finish()
    -- no call ever started, so "tool_calls" is not what the run reports
    assert.same({ STARTED, FIN_STOP }, strip(evs))
  end)

  it("finalization fragments take no index: the first real call is still index 0", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, nil, nil, "")
    out:tool_call(nil, json.null, nil, json.null)
    out:tool_call(1, "c", "f", "{}")
    assert.equals("TOOL_CALL_START", evs[2].type)
    assert.equals(0, evs[2].index)
  end)

  it("a finalization fragment for an open call adds nothing to it", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, "c", "f", "{}")
    out:tool_call(0, nil, nil, "")
    out:tool_call(0, json.null, json.null, json.null)
    out:finish()
    assert.same({ "RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "RUN_FINISHED" }, types(evs))
  end)

  it("a call whose name never arrives is never started nor ended", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, "c", nil, '{"a":1}')
    out:finish_reason("tool_calls")
    out:finish()
    assert.same({ STARTED, FIN_STOP }, strip(evs))
  end)

  it("the END input is {} for empty, blank, non-object or malformed arguments", function()
    for _, args in ipairs({ "", "   ", "null", "42", '"s"', '{"a":', "not json" }) do
      local out, evs = recorder()
      out:start()
      out:tool_call(0, "c", "f", args)
      out:finish()
      local fin = evs[#evs - 1]
      assert.equals("TOOL_CALL_END", fin.type)
      -- an empty JSON object (not an array) whatever the arguments were
      assert.equals("{}", json.encode(fin.input), "args " .. args)
    end
  end)

  it("a JSON array as arguments is kept as the input", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, "c", "f", "[1,2]")
    out:finish()
    assert.same({ 1, 2 }, evs[#evs - 1].input)
  end)
end)

describe("deltas: tool call ids are unique across the run", function()
  it("a backend id already used in the run (used_ids shared by turns) gets a fresh id", function()
    local used = {}
    local t1, e1 = recorder({ used_ids = used })
    t1:start()
    t1:tool_call(0, "call_1", "f", "{}")
    t1:finish()
    assert.equals("call_1", e1[2].toolCallId)
    assert.is_true(used.call_1)
    -- the next turn of the same run: the backend numbers its calls from 1 again
    local t2, e2 = recorder({ used_ids = used })
    t2:start()
    t2:tool_call(0, "call_1", "f", "{}")
    t2:finish()
    local fresh = e2[2].toolCallId
    assert.matches("^call_%x+$", fresh)
    assert.are_not.equals("call_1", fresh)
    assert.is_true(used[fresh])
    -- every event of that call carries the fresh id
    assert.equals(fresh, e2[3].toolCallId)
    assert.equals(fresh, e2[4].toolCallId)
  end)

  it("a backend id repeated within a turn, or an empty one, gets a fresh id", function()
    local out, evs = recorder()
    out:start()
    out:tool_call(0, "dup", "f", "{}")
    out:tool_call(1, "dup", "g", "{}")
    out:tool_call(2, "", "h", "{}")
    out:finish()
    local starts = {}
    for _, e in ipairs(evs) do if e.type == "TOOL_CALL_START" then starts[#starts + 1] = e.toolCallId end end
    assert.equals(3, #starts)
    assert.equals("dup", starts[1])
    assert.matches("^call_%x+$", starts[2])
    assert.matches("^call_%x+$", starts[3])
    assert.are_not.equals(starts[2], starts[3])
  end)
end)

describe("deltas: finish reasons and usage", function()
  local function finish_with(reason, with_call)
    local out, evs = recorder()
    out:start()
    if with_call then out:tool_call(0, "c", "f", "{}") end
    out:finish_reason(reason)
    out:finish()
    return evs[#evs].finishReason
  end

  it("reports tool_calls whenever a call ended, whatever the backend said", function()
    assert.equals("tool_calls", finish_with("tool_calls", true))
    assert.equals("tool_calls", finish_with("stop", true))
    assert.equals("tool_calls", finish_with(nil, true))
  end)

  it("reports stop for no reason, and for tool_calls without any call", function()
    assert.equals("stop", finish_with(nil, false))
    assert.equals("stop", finish_with("tool_calls", false))
  end)

  it("passes other reasons through", function()
    assert.equals("length", finish_with("length", false))
    assert.equals("content_filter", finish_with("content_filter", false))
  end)

  it("a finish reason closes open text and calls at once; RUN_FINISHED waits for finish()", function()
    local out, evs = recorder()
    out:start()
    out:text("t")
    out:tool_call(0, "c", "f", "{}")
    out:finish_reason(nil) -- no reason: nothing closes
    assert.equals("TOOL_CALL_ARGS", evs[#evs].type)
    out:finish_reason("stop")
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TOOL_CALL_START", "TOOL_CALL_ARGS",
      "TOOL_CALL_END", "TEXT_MESSAGE_END" }, types(evs))
    out:finish()
    -- nothing is closed twice
    assert.same({ "TOOL_CALL_END", "TEXT_MESSAGE_END", "RUN_FINISHED" }, { evs[6].type, evs[7].type, evs[8].type })
    assert.equals(8, #evs)
  end)

  it("carries the usage on RUN_FINISHED, including usage that arrives after the finish reason", function()
    local u = { promptTokens = 3, completionTokens = 5, totalTokens = 8 }
    local out, evs = recorder()
    out:start()
    out:text("x")
    out:finish_reason("stop")
    out:usage(u)
    out:usage(nil) -- a chunk without usage does not erase it
    out:finish()
    assert.same({ type = "RUN_FINISHED", runId = "run-1", threadId = "th-1", finishReason = "stop", usage = u },
      strip(evs)[#evs])
    assert.equals(u, evs[#evs].usage)
  end)
end)

describe("deltas: failures", function()
  it("fail() gives RUN_STARTED and one RUN_ERROR with the code, then nothing", function()
    local out, evs = recorder()
    local err = errors.new({ message = "slow down", status = 429, provider = "p" })
    out:fail(err)
    out:fail(errors.new({ message = "second" }))
    out:finish()
    assert.same({ STARTED,
      { type = "RUN_ERROR", runId = "run-1", threadId = "th-1", message = "slow down", code = "429", error = err },
    }, strip(evs))
    assert.equals(err, evs[2].error)
    assert.is_true(out.finished)
  end)

  it("after RUN_STARTED, fail() adds only the RUN_ERROR; after finish() it adds nothing", function()
    local out, evs = recorder()
    out:start()
    out:fail("boom")
    assert.same({ STARTED, { type = "RUN_ERROR", runId = "run-1", threadId = "th-1", message = "boom",
      error = "boom" } }, strip(evs))
    local out2, evs2 = recorder()
    out2:finish()
    out2:fail("late")
    assert.same({ "RUN_STARTED", "RUN_FINISHED" }, types(evs2))
  end)

  it("takes the code from code, else status, else kind; integral numbers print without a fraction", function()
    local function code_of(err)
      local out, evs = recorder()
      out:fail(err)
      return evs[2].code
    end
    assert.equals("E1", code_of({ message = "m", code = "E1", status = 500, kind = "http" }))
    assert.equals("500", code_of({ message = "m", status = 500, kind = "http" }))
    assert.equals("timeout", code_of({ message = "m", kind = "timeout" }))
    assert.equals("3040", code_of({ message = "m", code = 3040.0 })) -- cjson decodes 3040 as a float on 5.4
    assert.is_nil(code_of({ message = "m" }))
  end)

  it("fail_payload turns an in-stream error report into one RUN_ERROR (provider kind, not retryable)", function()
    local out, evs = recorder({ provider = "acme" })
    out:start()
    out:text("partial")
    out:fail_payload({ error = { message = "overloaded", type = "overloaded_error" } })
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "RUN_ERROR" }, types(evs))
    local e = evs[4]
    assert.equals("overloaded", e.message)
    assert.equals("overloaded_error", e.code) -- the type stands in for a missing code
    assert.equals("provider", e.error.kind)
    assert.equals("acme", e.error.provider)
    assert.is_false(e.error.retryable)
    assert.is_true(errors.is_error(e.error))
  end)

  it("fail_payload runs the provider's classify hook on the decoded report", function()
    local seen
    local report = { errors = { { code = 3040, message = "Capacity temporarily exceeded" } } }
    local out, evs = recorder({ provider = "cf", classify = function(f, decoded)
      seen = decoded
      f.message = decoded.errors[1].message
      f.code = tostring(decoded.errors[1].code) -- normalized back to a number by errors.lua
    end })
    out:fail_payload(report)
    assert.equals(report, seen)
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, types(evs))
    assert.equals("Capacity temporarily exceeded", evs[2].message)
    assert.equals("3040", evs[2].code)
    assert.equals(3040, evs[2].error.code)
  end)

  it("emits nothing for deltas that arrive after the run ended", function()
    -- the header promises: "`out.finished` is true after finish or fail; nothing is emitted after it" (a format
    -- that keeps decoding after fail_payload must not add events after RUN_ERROR)
    local out, evs = recorder()
    out:fail("boom")
    out:text("late")
    out:reasoning("late")
    out:tool_call(0, "c", "f", "{}")
    out:finish_reason("stop")
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, types(evs))
    local out2, evs2 = recorder()
    out2:finish()
    out2:text("late")
    assert.same({ "RUN_STARTED", "RUN_FINISHED" }, types(evs2))
  end)
end)

describe("deltas.run (the run's own events outside a turn)", function()
  it("RUN_STARTED once per run (a turn's counts), RUN_ERROR with extra fields and no RUN_STARTED", function()
    local evs = {}
    local flags = { started = false }
    local r = deltas.run({ runId = "r", threadId = "t", emit = function(e) evs[#evs + 1] = e end, run = flags })
    r:start()
    r:start()
    assert.equals(1, #evs)
    assert.equals("RUN_STARTED", evs[1].type)
    assert.equals("r", evs[1].runId)
    assert.equals("t", evs[1].threadId)
    assert.is_nil(evs[1].model)
    assert.is_true(flags.started)
    r:error("bad resume", "stale", { ["tanstack:interruptErrors"] = { 1 } })
    assert.equals("RUN_ERROR", evs[2].type)
    assert.same({ message = "bad resume", code = "stale" }, evs[2].error)
    assert.equals("stale", evs[2].code)
    assert.same({ 1 }, evs[2]["tanstack:interruptErrors"])
    local quiet = {}
    local started = deltas.run({ runId = "r", threadId = "t", emit = function(e) quiet[#quiet + 1] = e end,
      run = { started = true } })
    started:start()
    assert.equals(0, #quiet)
  end)
end)
