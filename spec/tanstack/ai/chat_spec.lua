-- tanstack.ai.chat (chat.chat is what ai.chat calls): the agent loop over an adapter's model turns, driven by a
-- scripted adapter (the adapter interface: chat_stream(options) -> producer of AG-UI events,
-- structured_output(options, schema)). Each turn's events are given; the spec checks what the engine hands out,
-- what each turn was asked, and when the loop stops. The tool phase between turns is tool_phase_spec.lua's;
-- interrupts and resume: chat_interrupt_spec.lua; pending() through real turns: coalesce_spec.lua; signed ids
-- under attack: spec/security/tool_calls_spec.lua.
local ai = require("tanstack.ai")
local chat = require("tanstack.ai.chat")
local errors = require("tanstack.ai.errors")
local json = require("tanstack.ai.json")

local MODEL = "scripted-model"

-- Events of one model turn, as deltas.lua emits them.
local function text_turn(text, finish)
  local ev = {
    { type = "RUN_STARTED", runId = "r", threadId = "t", model = MODEL },
    { type = "TEXT_MESSAGE_START", messageId = "m1", role = "assistant", model = MODEL },
  }
  for piece in text:gmatch("%S+%s*") do
    ev[#ev + 1] = { type = "TEXT_MESSAGE_CONTENT", messageId = "m1", delta = piece, model = MODEL }
  end
  ev[#ev + 1] = { type = "TEXT_MESSAGE_END", messageId = "m1", model = MODEL }
  ev[#ev + 1] = { type = "RUN_FINISHED", runId = "r", threadId = "t", finishReason = finish or "stop", model = MODEL,
    usage = { promptTokens = 3, completionTokens = 2, totalTokens = 5 } }
  return ev
end

local function tool_turn(id, name, args)
  local text = json.encode(args)
  return {
    { type = "RUN_STARTED", runId = "r", threadId = "t", model = MODEL },
    { type = "TOOL_CALL_START", toolCallId = id, toolCallName = name, model = MODEL },
    { type = "TOOL_CALL_ARGS", toolCallId = id, delta = text:sub(1, 5), model = MODEL },
    { type = "TOOL_CALL_ARGS", toolCallId = id, delta = text:sub(6), model = MODEL },
    { type = "TOOL_CALL_END", toolCallId = id, toolCallName = name, input = args, model = MODEL },
    { type = "RUN_FINISHED", runId = "r", threadId = "t", finishReason = "tool_calls", model = MODEL },
  }
end

-- An adapter answering turn i with turns[i] (the last one repeats); records each turn's options and counts
-- the closes of its producers.
local function scripted(turns, o)
  o = o or {}
  local a = { model = MODEL, asked = {}, closed = 0, structured = {} }
  function a.chat_stream(_, options)
    a.asked[#a.asked + 1] = options
    if o.raise then error(o.raise, 0) end
    local evs = turns[#a.asked] or turns[#turns]
    local i = 0
    return {
      next = function() i = i + 1 return evs[i] end,
      pending = function() return #evs - i end,
      close = function() a.closed = a.closed + 1 end,
    }
  end
  function a.structured_output(_, options, schema)
    a.structured[#a.structured + 1] = { options = options, schema = schema }
    if o.structured_err then return nil, o.structured_err end
    return { answer = 42 }, '{"answer":42}'
  end
  return a
end

local function types(evs)
  local out = {}
  for i, e in ipairs(evs) do out[i] = e.type end
  return out
end

local function of_type(evs, ty)
  local out = {}
  for _, e in ipairs(evs) do if e.type == ty then out[#out + 1] = e end end
  return out
end

local USER = { { role = "user", content = "hi" } }

local function weather(log)
  return ai.tool_definition({ name = "get_weather", description = "Weather",
    inputSchema = { type = "object", properties = { city = { type = "string" } } } }):server(function(input)
    log[#log + 1] = input.city
    return { temp = 21 }
  end)
end

describe("tanstack.ai.chat", function()
  it("without tools: the turn's events as they came, one turn, the options passed to the adapter", function()
    local turn = text_turn("Hello there friend")
    local a = scripted({ turn })
    local evs = chat.chat({ adapter = a, messages = USER, systemPrompts = { "Be brief." }, temperature = 0.3,
      maxTokens = 64, modelOptions = { top_k = 4 }, runId = "run-x", threadId = "th-x" }):collect()
    assert.equal(#turn, #evs)
    for i = 1, #turn do assert.equal(turn[i], evs[i]) end -- the same tables, nothing added or copied
    assert.equal(1, #a.asked)
    local o = a.asked[1]
    assert.same({ "Be brief." }, o.systemPrompts)
    assert.equal(0.3, o.temperature)
    assert.equal(64, o.maxTokens)
    assert.same({ top_k = 4 }, o.modelOptions)
    assert.equal("run-x", o.runId)
    assert.equal("th-x", o.threadId)
    assert.equal("user", o.messages[1].role)
    assert.equal("hi", o.messages[1].content)
  end)

  it("stream = false: the text of the run; a RUN_ERROR: nil and the error", function()
    assert.equal("Hello there", chat.chat({ adapter = scripted({ text_turn("Hello there") }), messages = USER,
      stream = false }))
    local err = errors.new({ message = "overloaded", status = 503, kind = "http" })
    local failing = scripted({ { { type = "RUN_STARTED", runId = "r" },
      { type = "RUN_ERROR", message = "overloaded", error = err } } })
    local text, e = chat.chat({ adapter = failing, messages = USER, stream = false })
    assert.is_nil(text)
    assert.equal(503, e.status)
  end)

  it("a turn the adapter cannot build ends the run with RUN_STARTED and one RUN_ERROR (invalid_request)", function()
    local a = scripted({}, { raise = "images are not supported by this model" })
    local evs = chat.chat({ adapter = a, messages = USER, runId = "run-1", threadId = "th-1" }):collect()
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, types(evs))
    assert.equal("run-1", evs[1].runId)
    assert.equal("images are not supported by this model", evs[2].message)
    assert.equal("invalid_request", evs[2].code)
    assert.equal("invalid_request", evs[2].error.code)
    assert.is_false(evs[2].error.retryable)
  end)

  it("a server tool: runs after the tool_calls turn, its result goes out and into the next turn's history", function()
    local log = {}
    local a = scripted({ tool_turn("c1", "get_weather", { city = "Paris" }), text_turn("Sunny, 21.") })
    local evs = chat.chat({ adapter = a, messages = USER, tools = { weather(log) }, trustHistory = true }):collect()
    assert.same({ "Paris" }, log)
    assert.equal(2, #a.asked)
    -- one run, one RUN_STARTED; each turn's RUN_FINISHED (as TanStack's chat(): spec/tanstack/ai/run_events_spec.lua)
    assert.equal(1, #of_type(evs, "RUN_STARTED"))
    assert.equal("RUN_STARTED", evs[1].type)
    assert.same({ "tool_calls", "stop" }, { of_type(evs, "RUN_FINISHED")[1].finishReason,
      of_type(evs, "RUN_FINISHED")[2].finishReason })
    local res = of_type(evs, "TOOL_CALL_RESULT")
    assert.equal(1, #res)
    assert.equal("c1", res[1].toolCallId)
    assert.equal('{"temp":21}', res[1].content)
    assert.equal("stop", evs[#evs].finishReason)
    local h = a.asked[2].messages
    assert.equal("assistant", h[#h - 1].role)
    assert.equal("c1", h[#h - 1].toolCalls[1].id)
    assert.same({ city = "Paris" }, json.decode(h[#h - 1].toolCalls[1]["function"].arguments))
    assert.same({ role = "tool", toolCallId = "c1", content = '{"temp":21}' },
      { role = h[#h].role, toolCallId = h[#h].toolCallId, content = h[#h].content })
    assert.equal(a.asked[1].messages, a.asked[2].messages) -- one history per run, appended to between turns
  end)

  it("with tools, each tool call leaves under a signed id, its events held until the arguments are complete", function()
    local a = scripted({ tool_turn("model_id_1", "get_weather", { city = "Oslo" }), text_turn("ok") })
    local s = chat.chat({ adapter = a, messages = USER, tools = { weather({}) }, threadId = "th-s",
      signingSecret = "0123456789abcdef0123" })
    local evs = {}
    local first_call_at
    for ev in s:iter() do
      evs[#evs + 1] = ev
      if ev.type == "TOOL_CALL_START" then first_call_at = #evs end
    end
    local start = evs[first_call_at]
    assert.matches("^call_%x+_%x+$", start.toolCallId)
    assert.equal(40, #start.toolCallId)
    -- START, both ARGS and END follow one another under the signed id (released together at END)
    assert.same({ "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_ARGS", "TOOL_CALL_END" },
      types({ evs[first_call_at], evs[first_call_at + 1], evs[first_call_at + 2], evs[first_call_at + 3] }))
    for k = first_call_at, first_call_at + 3 do assert.equal(start.toolCallId, evs[k].toolCallId) end
    assert.equal(start.toolCallId, of_type(evs, "TOOL_CALL_RESULT")[1].toolCallId)
    assert.equal(start.toolCallId, a.asked[2].messages[2].toolCalls[1].id)
    -- trustHistory: the ids as the model gave them
    local b = scripted({ tool_turn("model_id_1", "get_weather", { city = "Oslo" }), text_turn("ok") })
    local evs2 = chat.chat({ adapter = b, messages = USER, tools = { weather({}) }, trustHistory = true }):collect()
    assert.equal("model_id_1", of_type(evs2, "TOOL_CALL_START")[1].toolCallId)
  end)

  it("stops after maxIterations model turns (5 by default)", function()
    local log = {}
    local a = scripted({ tool_turn("c", "get_weather", { city = "X" }) })
    chat.chat({ adapter = a, messages = USER, tools = { weather(log) }, trustHistory = true }):collect()
    assert.equal(5, #a.asked)
    local b = scripted({ tool_turn("c", "get_weather", { city = "X" }) })
    chat.chat({ adapter = b, messages = USER, tools = { weather(log) }, trustHistory = true, maxIterations = 2 }):collect()
    assert.equal(2, #b.asked)
  end)

  it("agentLoopStrategy decides whether another turn follows, told the iteration, finish reason and call count", function()
    local seen = {}
    local a = scripted({ tool_turn("c", "get_weather", { city = "X" }) })
    chat.chat({ adapter = a, messages = USER, tools = { weather({}) }, trustHistory = true,
      agentLoopStrategy = function(st)
        seen[#seen + 1] = { st.iterationCount, st.finishReason, st.toolCallCount, type(st.messages) }
        return st.iterationCount < 3
      end }):collect()
    assert.equal(3, #a.asked)
    assert.same({ { 1, "tool_calls", 1, "table" }, { 2, "tool_calls", 1, "table" }, { 3, "tool_calls", 1, "table" } },
      seen)
  end)

  it("cancel() closes the running turn's producer and ends the stream", function()
    local a = scripted({ text_turn("one two three four") })
    local s = chat.chat({ adapter = a, messages = USER })
    s:next()
    s:next()
    s:cancel()
    assert.equal(1, a.closed)
    assert.is_nil(s:next())
  end)

  it("pending(): the running turn's ready events, once they went through the bookkeeping", function()
    local a = scripted({ text_turn("a b c") })
    local s = chat.chat({ adapter = a, messages = USER })
    assert.equal("RUN_STARTED", s:next().type)
    assert.equal(#text_turn("a b c") - 1, s:pending())
    local n = 0
    for _ in s.next, s do n = n + 1 end
    assert.equal(#text_turn("a b c") - 1, n)
  end)

  describe("structured output", function()
    local SCHEMA = { type = "object", properties = { answer = { type = "number" } } }

    it("asks the adapter once with the messages and the schema; never with stream = true", function()
      local a = scripted({ text_turn("unused") })
      local data = chat.chat({ adapter = a, messages = USER, outputSchema = SCHEMA, systemPrompts = { "JSON" },
        temperature = 0 })
      assert.same({ answer = 42 }, data)
      assert.equal(0, #a.asked)
      assert.equal(1, #a.structured)
      assert.equal(SCHEMA, a.structured[1].schema)
      assert.equal("hi", a.structured[1].options.messages[1].content)
      assert.same({ "JSON" }, a.structured[1].options.systemPrompts)
      assert.equal(0, a.structured[1].options.temperature)
      assert.has_error(function() chat.chat({ adapter = a, messages = USER, outputSchema = SCHEMA, stream = true }) end,
        "chat: streaming structured output is not supported; omit stream")
      local e = errors.new({ message = "no JSON", kind = "provider" })
      local b = scripted({}, { structured_err = e })
      local none, err = chat.chat({ adapter = b, messages = USER, outputSchema = SCHEMA })
      assert.is_nil(none)
      assert.equal(e, err)
    end)

    it("with a server tool: the loop runs first, then the structured answer over the whole history", function()
      local log = {}
      local a = scripted({ tool_turn("c1", "get_weather", { city = "Rome" }), text_turn("done") })
      local data = chat.chat({ adapter = a, messages = USER, outputSchema = SCHEMA, tools = { weather(log) },
        trustHistory = true })
      assert.same({ answer = 42 }, data)
      assert.same({ "Rome" }, log)
      assert.equal(2, #a.asked)
      local h = a.structured[1].options.messages
      assert.equal("tool", h[3].role)
      assert.equal('{"temp":21}', h[3].content)
    end)

    it("with a server tool: a RUN_ERROR in the loop is the error, and no structured request is made", function()
      local a = scripted({ { { type = "RUN_STARTED", runId = "r" }, { type = "RUN_ERROR", message = "boom",
        code = "server_error" } } })
      local data, err = chat.chat({ adapter = a, messages = USER, outputSchema = SCHEMA, tools = { weather({}) } })
      assert.is_nil(data)
      assert.equal("boom", err.message)
      assert.equal("server_error", err.code)
      assert.equal(0, #a.structured)
    end)
  end)

  it("raises at the caller for a malformed message or resume entry", function()
    local a = scripted({ text_turn("x") })
    local ok, err = pcall(chat.chat, { adapter = a, messages = { { role = "user", content = 5 } } })
    assert.is_false(ok)
    assert.matches("chat: ", tostring(err))
    assert.has_error(function() chat.chat({ adapter = a, messages = USER, resume = { { status = "resolved" } } }) end,
      "chat: options.resume[1].interruptId must be a string")
    assert.has_error(function() chat.chat({ messages = USER }) end)
    assert.equal(0, #a.asked)
  end)
end)
