-- The Anthropic Messages translator: requests built from TanStack options, and recorded event streams
-- (spec/fixtures/anthropic) replayed through the SSE parser at every split.
local anthropic = require("tanstack.ai.formats.anthropic")
local messages = require("tanstack.ai.messages")
local json = require("tanstack.ai.json")
local replay = require("helpers.replay")

local function fixture(name) return replay.fixture("anthropic/" .. name .. ".sse") end

describe("anthropic request", function()
  local weather = { name = "get_weather", description = "Weather for a city",
    inputSchema = { type = "object", properties = { city = { type = "string" } }, required = { "city" } } }

  it("puts system prompts in a top-level array, merges modelOptions first and always sends max_tokens", function()
    local body = anthropic.build_request({
      model = "claude-sonnet-4-5",
      systemPrompts = { "Be brief.", { content = "Cache me.", metadata = { cache_control = { type = "ephemeral" } } } },
      messages = messages.normalize({ { role = "system", content = "From history." },
        { role = "user", content = "Hi" } }),
      modelOptions = { top_k = 5, temperature = 0.9, stream = false, model = "other" },
      temperature = 0.2,
    })
    assert.equal("claude-sonnet-4-5", body.model)
    assert.same({ { type = "text", text = "Be brief." },
      { type = "text", text = "Cache me.", cache_control = { type = "ephemeral" } },
      { type = "text", text = "From history." } }, body.system)
    assert.same({ { role = "user", content = { { type = "text", text = "Hi" } } } }, body.messages)
    assert.equal(5, body.top_k)
    assert.equal(0.2, body.temperature) -- the managed field wins over modelOptions
    assert.equal(anthropic.DEFAULT_MAX_TOKENS, body.max_tokens)
    assert.is_true(body.stream)
    assert.is_nil(body.tools)
  end)

  it("takes max_tokens from maxTokens, then modelOptions", function()
    local msgs = messages.normalize({ { role = "user", content = "x" } })
    assert.equal(77, anthropic.build_request({ model = "m", messages = msgs, maxTokens = 77,
      modelOptions = { max_tokens = 10 } }).max_tokens)
    assert.equal(10, anthropic.build_request({ model = "m", messages = msgs, modelOptions = { max_tokens = 10 } }).max_tokens)
  end)

  it("sends tool_use blocks, merges consecutive tool results into one user message and drops duplicates", function()
    local msgs = messages.normalize({
      { role = "user", content = "Weather in Paris and Lisbon?" },
      { role = "assistant", content = "Checking.", toolCalls = {
        { id = "toolu_1", type = "function", ["function"] = { name = "get_weather", arguments = '{"city":"Paris"}' } },
        { id = "toolu_2", type = "function", ["function"] = { name = "get_weather", arguments = "" } },
      } },
      { role = "tool", toolCallId = "toolu_1", content = '{"temp":21}' },
      { role = "tool", toolCallId = "toolu_2", content = { temp = 25 } },
      { role = "tool", toolCallId = "toolu_1", content = "duplicate" },
      { role = "user", content = "Thanks" },
    })
    local body = anthropic.build_request({ model = "m", messages = msgs, tools = { weather } })
    assert.equal(3, #body.messages)
    local a = body.messages[2]
    assert.equal("assistant", a.role)
    assert.same({ type = "text", text = "Checking." }, a.content[1])
    assert.same({ type = "tool_use", id = "toolu_1", name = "get_weather", input = { city = "Paris" } }, a.content[2])
    assert.equal("{}", json.encode(a.content[3].input)) -- empty arguments are an empty object, not []
    local u = body.messages[3]
    assert.equal("user", u.role)
    assert.same({
      { type = "tool_result", tool_use_id = "toolu_1", content = '{"temp":21}' },
      { type = "tool_result", tool_use_id = "toolu_2", content = '{"temp":25}' },
      { type = "text", text = "Thanks" },
    }, u.content)
    assert.same({ { name = "get_weather", description = "Weather for a city",
      input_schema = { type = "object", properties = { city = { type = "string" } }, required = { "city" } } } },
      body.tools)
    assert.matches('"required":%["city"%]', json.encode(body.tools))
  end)

  it("sends images as base64 or url sources (a data: URI is inline data) and refuses audio", function()
    local msgs = messages.normalize({ { role = "user", content = {
      { type = "text", content = "What is this?" },
      { type = "image", source = { type = "data", value = "iVBORw0KGgo=", mimeType = "image/png" } },
      { type = "image", source = { type = "url", value = "https://example.com/cat.jpg" } },
      { type = "image", source = { type = "url", value = "data:image/jpeg;base64,/9j/4AAQ" } },
      { type = "document", source = { type = "data", value = "JVBERi0=", mimeType = "application/pdf" } },
    } } })
    local c = anthropic.build_request({ model = "m", messages = msgs }).messages[1].content
    assert.same({ type = "text", text = "What is this?" }, c[1])
    assert.same({ type = "image", source = { type = "base64", media_type = "image/png", data = "iVBORw0KGgo=" } }, c[2])
    assert.same({ type = "image", source = { type = "url", url = "https://example.com/cat.jpg" } }, c[3])
    assert.same({ type = "image", source = { type = "base64", media_type = "image/jpeg", data = "/9j/4AAQ" } }, c[4])
    assert.same({ type = "document", source = { type = "base64", media_type = "application/pdf", data = "JVBERi0=" } }, c[5])
    local audio = messages.normalize({ { role = "user", content = {
      { type = "audio", source = { type = "data", value = "AAA=", mimeType = "audio/wav" } } } } })
    assert.has_error(function() anthropic.build_request({ model = "m", messages = audio }) end,
      "messages[1].content[1]: Anthropic does not support audio content")
  end)

  it("turns a string tool_choice into the object form and keeps provider tools from modelOptions", function()
    local body = anthropic.build_request({ model = "m", messages = messages.normalize({ { role = "user", content = "x" } }),
      tools = { weather }, modelOptions = { tool_choice = "any",
        tools = { { type = "web_search_20250305", name = "web_search" } } } })
    assert.same({ type = "any" }, body.tool_choice)
    assert.equal(2, #body.tools)
    assert.equal("get_weather", body.tools[1].name)
    assert.equal("web_search", body.tools[2].name)
  end)

  it("asks for structured output with one forced tool and no stream", function()
    local body = anthropic.build_request({ model = "m", messages = messages.normalize({ { role = "user", content = "x" } }),
      tools = { weather },
      outputSchema = { type = "object", properties = { name = { type = "string" } }, required = { "name" } } })
    assert.is_false(body.stream)
    assert.equal(1, #body.tools)
    assert.equal(anthropic.STRUCTURED_TOOL, body.tools[1].name)
    assert.same({ "name" }, body.tools[1].input_schema.required)
    assert.same({ type = "tool", name = anthropic.STRUCTURED_TOOL }, body.tool_choice)
  end)

  it("raises on an empty user message", function()
    assert.has_error(function()
      anthropic.build_request({ model = "m", messages = { { role = "user", content = "" } } })
    end, "messages[1]: user message has no content")
  end)
end)

describe("anthropic stream translation (fixtures, every split)", function()
  it("text: start, deltas, end and usage from message_start + message_delta", function()
    local evs = replay.check_all_splits(anthropic, fixture("text"))
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_END", "RUN_FINISHED" }, replay.types(evs))
    assert.equal("Hello from Claude — ünïcødé ✓", replay.joined(evs, "TEXT_MESSAGE_CONTENT"))
    local fin = evs[#evs]
    assert.equal("stop", fin.finishReason)
    assert.same({ promptTokens = 25, completionTokens = 15, totalTokens = 40 }, fin.usage)
    assert.equal("run-1", fin.runId)
    assert.equal("thread-1", evs[1].threadId)
    for _, e in ipairs(evs) do assert.equal("m", e.model) assert.is_number(e.timestamp) end
  end)

  it("thinking, text and two parallel tool calls with argument fragments", function()
    local evs = replay.check_all_splits(anthropic, fixture("tools"))
    assert.same({ "RUN_STARTED", "STEP_STARTED", "STEP_FINISHED", "STEP_FINISHED", "STEP_FINISHED",
      "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
      "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_ARGS",
      "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_ARGS",
      "TOOL_CALL_END", "TOOL_CALL_END", "TEXT_MESSAGE_END", "RUN_FINISHED" }, replay.types(evs))
    assert.equal("The user wants weather in two cities.", replay.joined(evs, "STEP_FINISHED"))
    -- the thinking block's signature arrives as its own STEP_FINISHED (kept for the next turn)
    local signed = replay.of_type(evs, "STEP_FINISHED")[3]
    assert.is_string(signed.signature)
    assert.is_nil(signed.delta)
    local starts = replay.of_type(evs, "TOOL_CALL_START")
    assert.equal("toolu_01T1x1fJ34qAmk2tNTrN7Up6", starts[1].toolCallId)
    assert.equal("toolu_01BwHgSdA8rRi4Gq3Yx3c8vN", starts[2].toolCallId)
    assert.equal("get_weather", starts[1].toolCallName)
    assert.equal(0, starts[1].index)
    assert.equal(1, starts[2].index)
    local args = replay.of_type(evs, "TOOL_CALL_ARGS")
    assert.equal('{"city": "Par', args[1].delta)
    assert.equal(starts[1].toolCallId, args[1].toolCallId)
    local ends = replay.of_type(evs, "TOOL_CALL_END")
    assert.same({ city = "Paris", unit = "c" }, ends[1].input)
    assert.same({ city = "Lisbon" }, ends[2].input)
    local fin = evs[#evs]
    assert.equal("tool_calls", fin.finishReason)
    assert.same({ promptTokens = 572, completionTokens = 89, totalTokens = 661,
      promptTokensDetails = { cachedTokens = 100 } }, fin.usage)
  end)

  it("an error event mid-stream is one RUN_ERROR with the provider's type and message, nothing after", function()
    local evs = replay.check_all_splits(anthropic, fixture("error"))
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "RUN_ERROR" }, replay.types(evs))
    local e = evs[4]
    assert.equal("Overloaded", e.message)
    assert.equal("overloaded_error", e.code)
    assert.equal("anthropic", e.error.provider)
  end)

  it("stop_reason max_tokens finishes with length", function()
    local evs = replay.check_all_splits(anthropic, fixture("max_tokens"))
    assert.equal("length", evs[#evs].finishReason)
    assert.equal("Once upon a", replay.joined(evs, "TEXT_MESSAGE_CONTENT"))
  end)

  it("gives a repeated tool id a fresh one within a run", function()
    local used = { toolu_01T1x1fJ34qAmk2tNTrN7Up6 = true }
    local evs = replay.events(anthropic, { fixture("tools") }, { used_ids = used })
    local starts = replay.of_type(evs, "TOOL_CALL_START")
    assert.are_not.equal("toolu_01T1x1fJ34qAmk2tNTrN7Up6", starts[1].toolCallId)
    assert.equal(starts[1].toolCallId, replay.of_type(evs, "TOOL_CALL_END")[1].toolCallId)
  end)

  it("maps every stop reason", function()
    for reason, want in pairs({ end_turn = "stop", stop_sequence = "stop", tool_use = "stop",
      max_tokens = "length", refusal = "content_filter", pause_turn = "stop" }) do
      -- tool_use with no tool call completed is a plain stop (nothing to run)
      local bytes = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":1,"output_tokens":1}}}\n\n'
        .. 'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"' .. reason .. '"},"usage":{"output_tokens":2}}\n\n'
      local evs = replay.events(anthropic, { bytes })
      assert.equal(want, evs[#evs].finishReason, reason)
    end
  end)
end)

describe("anthropic whole messages", function()
  local msg = {
    id = "msg_1", type = "message", role = "assistant", model = "claude-sonnet-4-5",
    content = {
      { type = "thinking", thinking = "hmm", signature = "sig" },
      { type = "text", text = "Checking." },
      { type = "tool_use", id = "toolu_9", name = "get_weather", input = { city = "Oslo" } },
    },
    stop_reason = "tool_use",
    usage = { input_tokens = 10, output_tokens = 5, cache_read_input_tokens = 0 },
  }

  it("gives the same events as the stream", function()
    local out = {}
    local tr = replay.decoder(anthropic, out)
    tr:body(json.decode(json.encode(msg)))
    tr:finish()
    assert.same({ "RUN_STARTED", "STEP_STARTED", "STEP_FINISHED", "STEP_FINISHED", "TEXT_MESSAGE_START",
      "TEXT_MESSAGE_CONTENT", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TEXT_MESSAGE_END", "RUN_FINISHED" },
      replay.types(out))
    assert.equal("sig", out[4].signature)
    assert.equal("toolu_9", out[7].toolCallId)
    assert.same({ city = "Oslo" }, out[9].input)
    assert.equal("tool_calls", out[11].finishReason)
    assert.same({ promptTokens = 10, completionTokens = 5, totalTokens = 15 }, out[11].usage)
  end)

  it("reads an error body as one RUN_ERROR", function()
    local out = {}
    local tr = replay.decoder(anthropic, out)
    tr:body({ type = "error", error = { type = "invalid_request_error", message = "max_tokens: Field required" } })
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, replay.types(out))
    assert.equal("invalid_request_error", out[2].code)
  end)

  it("reads the structured answer from the forced tool, else from JSON text", function()
    local data, raw = anthropic.structured({ content = { { type = "tool_use", name = "structured_output",
      input = { name = "Ada" } } } })
    assert.same({ name = "Ada" }, data)
    assert.equal('{"name":"Ada"}', raw)
    data = anthropic.structured({ content = { { type = "text", text = '{"name":"Bob"}' } } })
    assert.same({ name = "Bob" }, data)
    local none, err = anthropic.structured({ content = { { type = "text", text = "sorry" } } })
    assert.is_nil(none)
    assert.matches("no structured_output", err.message)
  end)
end)
