-- Answers as Cloudflare gives them: the upstream answers that Cloudflare's own Workers AI provider
-- tests feed (github.com/cloudflare/ai, packages/workers-ai-provider/test/), transcribed with the test's name, fed
-- through a binding (a fake env.AI) and through REST (the emulator serving the scripted answer), and read by the
-- Workers AI chat adapter. What the library does with each is its own (AG-UI events, TanStack's finish reasons),
-- documented in docs/workers-ai.md ("Answers as Cloudflare gives them").
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local json = require("tanstack.ai.json")
local emulator = require("helpers.emulator")

local CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
local KIMI = "@cf/moonshotai/kimi-k2.6"
local GPT_OSS = "@cf/openai/gpt-oss-120b"
local GUARD = "@cf/meta/llama-guard-3-8b"

local emu

-- An answer is { sse = "<the event stream's bytes>" } or { json = "<a JSON body>" } (the same text both ways: a
-- binding returns it decoded, REST sends it with Content-Type application/json, even to a streaming request).
local function sse_reader(bytes)
  local list = {}
  for ev in bytes:gmatch("(.-\n\n)") do list[#list + 1] = ev end -- one read per event
  local i = 0
  return function() i = i + 1 return list[i] end
end

local PATHS = {}

function PATHS.binding(model, answers)
  local reqs = {}
  local b = { gateway = function() end }
  function b.run(_, _, inputs)
    reqs[#reqs + 1] = inputs
    local a = answers[math.min(#reqs, #answers)]
    if a.sse then return sse_reader(a.sse) end
    return json.decode(a.json)
  end
  return cf.create_workers_ai_chat(model, { binding = b, maxRetries = 0 }), function() return reqs end
end

function PATHS.rest(model, answers)
  emu:reset()
  for _, a in ipairs(answers) do
    emu:next(a.sse and { sse_raw = a.sse } or { raw = a.json, content_type = "application/json" })
  end
  local adapter = cf.create_workers_ai_chat(model, { accountId = "acct", apiKey = "wai-upstream-key",
    apiBaseUrl = emu.url .. "/client/v4", maxRetries = 0, timeout = 10000 })
  return adapter, function()
    local out = {}
    for i, r in ipairs(emu:requests()) do out[i] = r.json end
    return out
  end
end

local function of_type(evs, t)
  local out = {}
  for _, e in ipairs(evs) do if e.type == t then out[#out + 1] = e end end
  return out
end

local function joined(evs, t)
  local s = {}
  for _, e in ipairs(of_type(evs, t)) do s[#s + 1] = e.delta or "" end
  return table.concat(s)
end

local function types(evs)
  local t = {}
  for i, e in ipairs(evs) do t[i] = e.type end
  return t
end

-- One ai.chat run over a path: its events, text, last event and the requests sent.
local function chat(path, model, answers, opts)
  local adapter, requests = PATHS[path](model, answers)
  opts = opts or {}
  opts.adapter = adapter
  opts.messages = opts.messages or { { role = "user", content = "test" } }
  local evs = ai.chat(opts):collect()
  return { evs = evs, text = joined(evs, "TEXT_MESSAGE_CONTENT"), last = evs[#evs], requests = requests() }
end

-- The same with stream = false: text | nil, err.
local function chat_text(path, model, answers)
  local adapter = PATHS[path](model, answers)
  return ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "test" } } })
end

local function sse(...)
  local parts = {}
  for i, data in ipairs({ ... }) do parts[i] = "data: " .. data .. "\n\n" end
  return table.concat(parts)
end

for _, path in ipairs({ "binding", "rest" }) do
  describe("upstream answers through " .. path .. ": finish_reason error and choices null (items 1, 2)", function()
    setup(function() emu = emulator.shared() end)

    -- stream-text.test.ts, REST API - Finish Reason Handling: "should extract 'error' finish reason from stream"
    it("a streamed finish_reason error ends in RUN_ERROR after the text, streamed or not", function()
      local answer = { sse = sse('{"choices":[{"delta":{"content":"Hello"},"finish_reason":null}]}',
        '{"choices":[{"delta":{},"finish_reason":"error"}]}', "[DONE]") }
      local r = chat(path, CHAT, { answer })
      assert.equal("Hello", r.text)
      assert.equal("RUN_ERROR", r.last.type)
      assert.equal("finish_reason_error", r.last.code)
      assert.same({}, of_type(r.evs, "RUN_FINISHED"))
      local text, err = chat_text(path, CHAT, { answer })
      assert.is_nil(text)
      assert.equal("finish_reason_error", err.code)
    end)

    -- map-workersai-finish-reason.test.ts: "should fall back to direct finish_reason when choices is not an array"
    it("a whole answer with choices not an array and a direct finish_reason error fails", function()
      local r = chat(path, CHAT, { { json = '{"choices":"not_an_array","finish_reason":"error"}' } })
      assert.same({ "RUN_STARTED", "RUN_ERROR" }, types(r.evs))
      assert.equal("finish_reason_error", r.last.code)
      assert.matches('finish_reason "error"', r.last.message, 1, true)
    end)

    -- map-workersai-finish-reason.test.ts: "should fall back to direct finish_reason when choices is null"
    it("choices null with a direct finish_reason is an answer without choices (not 'response has no choices')", function()
      local r = chat(path, CHAT, { { json = '{"choices":null,"finish_reason":"other"}' } })
      assert.same({ "RUN_STARTED", "RUN_FINISHED" }, types(r.evs))
      assert.equal("stop", r.last.finishReason) -- "other" is outside TanStack's union
      -- with the direct properties of a native answer beside it
      r = chat(path, CHAT, { { json = '{"choices":null,"response":"direct text","finish_reason":"length"}' } })
      assert.equal("direct text", r.text)
      assert.equal("length", r.last.finishReason)
      r = chat(path, CHAT, { { json = '{"choices":null,"response":"cut","finish_reason":"error"}' } })
      assert.equal("cut", r.text)
      assert.equal("finish_reason_error", r.last.code)
    end)

    -- map-workersai-finish-reason.test.ts: "should prioritize choices[0].finish_reason over direct finish_reason"
    it("the first choice's finish reason wins over the direct one", function()
      local r = chat(path, CHAT, { { json = '{"choices":[{"finish_reason":"length"}],"finish_reason":"stop"}' } })
      assert.equal("RUN_FINISHED", r.last.type)
      assert.equal("length", r.last.finishReason)
    end)

    -- stream-text.test.ts: "should handle finish_reason from direct property (not in choices)"
    it("a streamed native finish_reason is read from the direct property", function()
      local r = chat(path, CHAT, { { sse = sse('{"response":"Hello","finish_reason":null}',
        '{"response":" world","finish_reason":"stop"}', "[DONE]") } })
      assert.equal("Hello world", r.text)
      assert.equal("stop", r.last.finishReason)
    end)
  end)

  describe("upstream answers through " .. path .. ": a streaming request answered with JSON (item 3)", function()
    setup(function() emu = emulator.shared() end)

    -- stream-text.test.ts, REST API - Streaming Fallback: "should retry without streaming when REST returns JSON
    -- instead of SSE"
    it("an empty JSON result is asked again without streaming", function()
      local r = chat(path, CHAT, { { json = '{"result":{},"success":true,"errors":[],"messages":[]}' },
        { json = '{"result":{"response":"Hello from non-streaming fallback!"}}' } })
      assert.equal("Hello from non-streaming fallback!", r.text)
      assert.equal(2, #r.requests)
      assert.is_true(r.requests[1].stream)
      assert.is_false(r.requests[2].stream)
    end)

    -- stream-text.test.ts, Graceful Degradation: "should wrap non-streaming response as a stream when binding
    -- returns object"
    it("a whole native answer gives the events, text and usage the same answer streamed gives", function()
      local whole = chat(path, CHAT, { { json = '{"response":"Hello from non-streaming fallback",' ..
        '"usage":{"prompt_tokens":10,"completion_tokens":5}}' } })
      assert.equal("Hello from non-streaming fallback", whole.text)
      assert.equal("stop", whole.last.finishReason)
      assert.same({ promptTokens = 10, completionTokens = 5, totalTokens = 15 }, whole.last.usage)
      local streamed = chat(path, CHAT, { { sse = sse('{"response":"Hello from non-streaming fallback"}',
        '{"response":"","usage":{"prompt_tokens":10,"completion_tokens":5}}', "[DONE]") } })
      assert.same(types(streamed.evs), types(whole.evs))
      assert.equal(streamed.text, whole.text)
      assert.same(streamed.last.usage, whole.last.usage)
      assert.equal(streamed.last.finishReason, whole.last.finishReason)
    end)

    -- stream-text.test.ts, Graceful Degradation: "should handle non-streaming OpenAI-format response with tool calls"
    it("a whole OpenAI answer's tool call is the call a stream would have made", function()
      local r = chat(path, CHAT, { { json = '{"choices":[{"message":{"content":"","tool_calls":[{"id":"call_abc",' ..
        '"type":"function","function":{"name":"get_weather","arguments":"{\\"city\\": \\"London\\"}"}}]},' ..
        '"finish_reason":"tool_calls"}]}' } }, { tools = { ai.tool_definition({ name = "get_weather",
        description = "Get weather", inputSchema = { type = "object", properties = { city = { type = "string" } } } }) } })
      local starts = of_type(r.evs, "TOOL_CALL_START")
      assert.equal(1, #starts)
      assert.equal("get_weather", starts[1].toolCallName)
      assert.same({ city = "London" }, of_type(r.evs, "TOOL_CALL_END")[1].input)
      assert.equal("tool_calls", r.last.finishReason)
    end)

    -- stream-text.test.ts, Graceful Degradation: "should handle non-streaming response with reasoning content" and
    -- "... with reasoning field (without _content suffix)"
    it("a whole answer's reasoning and text", function()
      for _, c in ipairs({ { "reasoning_content", "Let me think about this...", "The answer is 42." },
        { "reasoning", "Let me reason about this...", "The answer is 7." } }) do
        local r = chat(path, CHAT, { { json = '{"choices":[{"message":{"' .. c[1] .. '":"' .. c[2] ..
          '","content":"' .. c[3] .. '"},"finish_reason":"stop"}]}' } })
        assert.equal(c[3], r.text)
        assert.equal(c[2], joined(r.evs, "STEP_FINISHED"))
        assert.equal("stop", r.last.finishReason)
      end
    end)
  end)

  describe("upstream answers through " .. path .. ": repeated tool call ids (item 4)", function()
    setup(function() emu = emulator.shared() end)
    local ID = "functions.list_toolbox_tools:0"
    local CALL = '{"id":"' .. ID .. '","type":"function","function":{"name":"list_toolbox_tools","arguments":"{}"}}'

    -- utils.test.ts, processToolCalls: "should rewrite duplicate Kimi-style tool call IDs for AI SDK consumers"
    it("two calls of one turn with the same id stay two calls; the results pair with them in the next turn", function()
      local ran = 0
      local tool = ai.tool_definition({ name = "list_toolbox_tools", description = "List tools" }):server(function()
        ran = ran + 1
        return "[]"
      end)
      local r = chat(path, KIMI, { { json = '{"tool_calls":[' .. CALL .. "," .. CALL .. "]}" },
        { json = '{"response":"done"}' } }, { tools = { tool } })
      assert.equal(2, ran)
      local starts, results = of_type(r.evs, "TOOL_CALL_START"), of_type(r.evs, "TOOL_CALL_RESULT")
      assert.equal(2, #starts)
      assert.are_not.equal(starts[1].toolCallId, starts[2].toolCallId)
      assert.same({ starts[1].toolCallId, starts[2].toolCallId }, { results[1].toolCallId, results[2].toolCallId })
      assert.equal("done", r.text)
      -- the next turn's request: two calls in the assistant message, each result under its call's id
      local msgs = r.requests[2].messages
      local calls, answered = {}, {}
      for _, m in ipairs(msgs) do
        if m.role == "assistant" and m.tool_calls then
          for _, tc in ipairs(m.tool_calls) do calls[#calls + 1] = tc.id end
        elseif m.role == "tool" then
          answered[#answered + 1] = m.tool_call_id
        end
      end
      assert.equal(2, #calls)
      assert.are_not.equal(calls[1], calls[2])
      assert.same(calls, answered)
      assert.same({ starts[1].toolCallId, starts[2].toolCallId }, calls)
    end)

    -- stream-text.test.ts: "should rewrite repeated Kimi-style tool call IDs across turns and restore originals in
    -- prompts" (trustHistory: the ids as the model gave them, no signing)
    it("the same id in the next run's turn gets a fresh one; the history keeps the first as it was", function()
      local answer = { sse = sse('{"tool_calls":[{"id":"' .. ID .. '","type":"function","index":0,"function":' ..
        '{"name":"list_toolbox_tools","arguments":"{}"}}]}', '{"finish_reason":"tool_calls"}', "[DONE]") }
      local tools = { ai.tool_definition({ name = "list_toolbox_tools", description = "List tools" }) }
      local first = chat(path, KIMI, { answer }, { tools = tools, trustHistory = true,
        messages = { { role = "user", content = "first" } } })
      local id1 = of_type(first.evs, "TOOL_CALL_START")[1].toolCallId
      assert.equal(ID, id1)
      local second = chat(path, KIMI, { answer }, { tools = tools, trustHistory = true, messages = {
        { role = "user", content = "first" },
        { role = "assistant", content = "", toolCalls = { { id = id1, type = "function",
          ["function"] = { name = "list_toolbox_tools", arguments = "{}" } } } },
        { role = "tool", toolCallId = id1, content = "[]" },
        { role = "user", content = "second" },
      } })
      local starts = of_type(second.evs, "TOOL_CALL_START")
      assert.equal(1, #starts)
      assert.are_not.equal(id1, starts[1].toolCallId)
      local msgs = second.requests[1].messages
      assert.equal(ID, msgs[2].tool_calls[1].id)
      assert.equal(ID, msgs[3].tool_call_id)
    end)
  end)

  describe("upstream answers through " .. path .. ": tool calls salvaged from the text (item 5)", function()
    setup(function() emu = emulator.shared() end)
    local function tools()
      return { ai.tool_definition({ name = "read_skill_resource", description = "read" }),
        ai.tool_definition({ name = "calculator", description = "calc" }) }
    end
    -- utils.test.ts, salvageToolCallsFromText's leakedResponse(content)
    local function leaked(content)
      return { json = json.encode({ choices = { { message = { role = "assistant", content = content,
        tool_calls = json.array() }, finish_reason = "stop" } } }) }
    end
    local function ends(r)
      local out = {}
      for _, e in ipairs(of_type(r.evs, "TOOL_CALL_END")) do out[#out + 1] = { e.toolName, e.input } end
      return out
    end

    -- utils.test.ts: "salvages a wrapped-parameters tool call in array form"
    it("the array form with wrapped parameters", function()
      local r = chat(path, GPT_OSS, { leaked('[{"name":"calculator","parameters":{"a":3,"b":4}}]') },
        { tools = tools(), modelOptions = { tool_choice = "required" } })
      assert.same({ { "calculator", { a = 3, b = 4 } } }, ends(r))
      assert.equal("", r.text)
      assert.equal("tool_calls", r.last.finishReason)
    end)

    -- utils.test.ts: "ignores array entries whose name is unknown, keeping known ones"
    it("unknown names in the array are ignored, the known ones kept", function()
      local r = chat(path, GPT_OSS, { leaked('[{"name":"unknown","x":1},{"name":"calculator","arguments":{"a":9}}]') },
        { tools = tools(), modelOptions = { tool_choice = "required" } })
      assert.same({ { "calculator", { a = 9 } } }, ends(r))
      assert.equal("", r.text)
    end)

    -- utils.test.ts: "returns null when the JSON name is not a known tool"
    it("a single unknown name stays text", function()
      local r = chat(path, GPT_OSS, { leaked('{"name":"unknown_tool","path":"x.txt"}') }, { tools = tools(),
        modelOptions = { tool_choice = { type = "function", ["function"] = { name = "read_skill_resource" } } } })
      assert.same({}, ends(r))
      assert.equal('{"name":"unknown_tool","path":"x.txt"}', r.text)
      assert.equal("stop", r.last.finishReason)
    end)

    -- stream-text.test.ts: "should salvage a forced tool call leaked into streamed text content (gpt-oss harmony)"
    -- and "should not salvage streamed text when the leaked name is not a known tool"
    it("streamed: a known forced call is salvaged, an unknown name stays text", function()
      local weather = { ai.tool_definition({ name = "get_weather", description = "Get the weather in a location",
        inputSchema = { type = "object", properties = { location = { type = "string" } } } }) }
      local forced = { tool_choice = { type = "function", ["function"] = { name = "get_weather" } } }
      local r = chat(path, GPT_OSS, { { sse = sse(
        '{"choices":[{"delta":{"content":"{\\"name\\":\\"get_weather\\","},"finish_reason":null}]}',
        '{"choices":[{"delta":{"content":"\\"location\\":\\"London\\"}"},"finish_reason":null}]}',
        '{"choices":[{"delta":{},"finish_reason":"stop"}]}', "[DONE]") } }, { tools = weather, modelOptions = forced })
      assert.same({ { "get_weather", { location = "London" } } }, ends(r))
      assert.equal("", r.text)
      assert.equal("tool_calls", r.last.finishReason)
      r = chat(path, GPT_OSS, { { sse = sse(
        '{"choices":[{"delta":{"content":"{\\"name\\":\\"analysis\\",\\"location\\":\\"x\\"}"},"finish_reason":null}]}',
        '{"choices":[{"delta":{},"finish_reason":"stop"}]}', "[DONE]") } }, { tools = weather, modelOptions = forced })
      assert.same({}, ends(r))
      assert.equal('{"name":"analysis","location":"x"}', r.text)
      assert.equal("stop", r.last.finishReason)
    end)
  end)

  describe("through " .. path .. ": llama-guard-3-8b with structured output (item 6)", function()
    setup(function() emu = emulator.shared() end)

    -- No upstream test: Cloudflare's typings (@cloudflare/workers-types, Ai_Cf_Meta_Llama_Guard_3_8B_Input) give
    -- response_format as { type?: string } ("Set to json_object to process and output generated text as JSON") and
    -- the output's response as string | { safe?: boolean, categories?: string[] }.
    it("asks for JSON mode (no schema) and reads the model's own JSON", function()
      local adapter, requests = PATHS[path](GUARD, { { json = '{"response":{"safe":false,"categories":["S10"]}}' } })
      local data, err = ai.chat({ adapter = adapter, messages = { { role = "user", content = "a title" } },
        outputSchema = { type = "object", properties = { safe = { type = "boolean" },
          categories = { type = "array", items = { type = "string" } } } } })
      assert.is_nil(err)
      assert.same({ safe = false, categories = { "S10" } }, data)
      local req = requests()[1]
      assert.same({ type = "json_object" }, req.response_format)
    end)
  end)
end
