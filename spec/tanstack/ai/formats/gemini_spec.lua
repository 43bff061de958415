-- The Gemini generateContent translator: requests built from TanStack options, and recorded SSE streams
-- (spec/fixtures/gemini, CRLF-framed as Google sends them) replayed through the parser at every split.
local gemini = require("tanstack.ai.formats.gemini")
local messages = require("tanstack.ai.messages")
local json = require("tanstack.ai.json")
local replay = require("helpers.replay")

local function fixture(name) return replay.fixture("gemini/" .. name .. ".sse") end

describe("gemini request", function()
  local weather = { name = "get_weather", description = "Weather for a city",
    inputSchema = { type = "object", properties = { city = { type = "string", description = "City" },
      unit = { type = { "string", "null" }, enum = { "c", "f" } } }, required = { "city" },
      additionalProperties = false, ["$schema"] = "http://json-schema.org/draft-07/schema#" } }

  it("builds contents, systemInstruction, tools and generationConfig", function()
    local body = gemini.build_request({
      model = "gemini-2.5-flash",
      systemPrompts = { "Be brief.", "Be kind." },
      messages = messages.normalize({ { role = "user", content = "Hi" } }),
      tools = { weather, { name = "now", description = "The time" } },
      modelOptions = { topK = 3, temperature = 0.9, safetySettings = { { category = "X", threshold = "BLOCK_NONE" } },
        generationConfig = { seed = 7 }, thinkingConfig = { thinkingBudget = 0 } },
      temperature = 0.1, maxTokens = 64,
    })
    assert.same({ parts = { { text = "Be brief.\nBe kind." } } }, body.systemInstruction)
    assert.same({ { role = "user", parts = { { text = "Hi" } } } }, body.contents)
    assert.same({ { category = "X", threshold = "BLOCK_NONE" } }, body.safetySettings)
    local gc = body.generationConfig
    assert.equal(0.1, gc.temperature) -- managed field wins
    assert.equal(64, gc.maxOutputTokens)
    assert.equal(3, gc.topK)
    assert.equal(7, gc.seed)
    assert.same({ thinkingBudget = 0 }, gc.thinkingConfig)
    local decls = body.tools[1].functionDeclarations
    assert.equal(2, #decls)
    assert.same({ name = "get_weather", description = "Weather for a city", parameters = {
      type = "OBJECT", required = { "city" }, properties = {
        city = { type = "STRING", description = "City" },
        unit = { type = "STRING", nullable = true, enum = { "c", "f" } } } } }, decls[1])
    assert.same({ name = "now", description = "The time" }, decls[2]) -- no empty OBJECT parameters
    assert.is_nil(body.model)
    assert.is_nil(body.stream)
  end)

  it("sends calls as functionCall parts and results as functionResponse parts named after the call", function()
    local msgs = messages.normalize({
      { role = "user", content = "Weather?" },
      { role = "assistant", content = "", toolCalls = {
        { id = "call_a", type = "function", ["function"] = { name = "get_weather", arguments = '{"city":"Paris"}' },
          metadata = { thoughtSignature = "sig==" } },
        { id = "call_b", type = "function", ["function"] = { name = "now", arguments = "{}" } },
      } },
      { role = "tool", toolCallId = "call_a", content = '{"temp":21}' },
      { role = "tool", toolCallId = "call_b", content = "noon" },
    })
    local body = gemini.build_request({ model = "g", messages = msgs })
    assert.equal(3, #body.contents)
    assert.same({ role = "model", parts = {
      { functionCall = { name = "get_weather", args = { city = "Paris" } }, thoughtSignature = "sig==" },
      { functionCall = { name = "now", args = {} } },
    } }, body.contents[2])
    assert.same({ role = "user", parts = {
      { functionResponse = { name = "get_weather", response = { temp = 21 } } },
      { functionResponse = { name = "now", response = { content = "noon" } } },
    } }, body.contents[3])
    assert.matches('"args":{}', json.encode(body.contents[2]))
  end)

  it("raises on a tool result that answers no known call", function()
    assert.has_error(function()
      gemini.build_request({ model = "g", messages = messages.normalize({ { role = "user", content = "x" },
        { role = "tool", toolCallId = "nope", content = "1" } }) })
    end, "messages[2]: tool result for toolCallId 'nope' answers no earlier assistant tool call (Gemini needs the function name)")
  end)

  it("sends images and audio as inlineData (data: URIs too) and links as fileData", function()
    local body = gemini.build_request({ model = "g", messages = messages.normalize({ { role = "user", content = {
      { type = "text", content = "Describe" },
      { type = "image", source = { type = "data", value = "iVBOR", mimeType = "image/png" } },
      { type = "audio", source = { type = "url", value = "data:audio/wav;base64,UklGRg==" } },
      { type = "video", source = { type = "url", value = "https://example.com/v.mp4", mimeType = "video/mp4" } },
    } } }) })
    assert.same({ { text = "Describe" }, { inlineData = { mimeType = "image/png", data = "iVBOR" } },
      { inlineData = { mimeType = "audio/wav", data = "UklGRg==" } },
      { fileData = { fileUri = "https://example.com/v.mp4", mimeType = "video/mp4" } } }, body.contents[1].parts)
  end)

  it("asks for JSON with a Gemini schema for structured output, and no tools", function()
    local body = gemini.build_request({ model = "g", messages = messages.normalize({ { role = "user", content = "x" } }),
      tools = { weather }, outputSchema = { type = "object", properties = { n = { type = "integer" } },
        required = { "n" }, additionalProperties = false } })
    assert.equal("application/json", body.generationConfig.responseMimeType)
    assert.same({ type = "OBJECT", properties = { n = { type = "INTEGER" } }, required = { "n" } },
      body.generationConfig.responseSchema)
    assert.is_nil(body.tools)
  end)

  it("names the endpoint: streaming with SSE framing", function()
    local path, query = gemini.endpoint("gemini-2.5-flash", true)
    assert.equal("v1beta/models/gemini-2.5-flash:streamGenerateContent", path)
    assert.same({ alt = "sse" }, query)
    path, query = gemini.endpoint("models/gemini-2.5-pro", false)
    assert.equal("v1beta/models/gemini-2.5-pro:generateContent", path)
    assert.is_nil(query)
  end)
end)

describe("gemini stream translation (fixtures, every split)", function()
  it("text with cumulative usage (last one wins)", function()
    local evs = replay.check_all_splits(gemini, fixture("text"))
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED" }, replay.types(evs))
    assert.equal("Hello from Gemini, ünïcødé ✓.", replay.joined(evs, "TEXT_MESSAGE_CONTENT"))
    assert.equal("stop", evs[#evs].finishReason)
    assert.same({ promptTokens = 9, completionTokens = 7, totalTokens = 16 }, evs[#evs].usage)
  end)

  it("thoughts as reasoning, then parallel whole function calls with generated unique ids", function()
    local evs = replay.check_all_splits(gemini, fixture("tools"))
    assert.same({ "RUN_STARTED", "STEP_STARTED", "STEP_FINISHED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
      "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_START", "TOOL_CALL_ARGS",
      "TOOL_CALL_END", "TOOL_CALL_END", "TEXT_MESSAGE_END", "RUN_FINISHED" }, replay.types(evs))
    assert.equal("The user wants weather in two cities.", replay.joined(evs, "STEP_FINISHED"))
    local starts = replay.of_type(evs, "TOOL_CALL_START")
    assert.is_string(starts[1].toolCallId)
    assert.are_not.equal(starts[1].toolCallId, starts[2].toolCallId)
    assert.equal("get_weather", starts[2].toolCallName)
    local args = replay.of_type(evs, "TOOL_CALL_ARGS")
    assert.same({ city = "Paris", unit = "c" }, json.decode(args[1].delta))
    local ends = replay.of_type(evs, "TOOL_CALL_END")
    assert.same({ city = "Paris", unit = "c" }, ends[1].input)
    assert.same({ city = "Lisbon" }, ends[2].input)
    assert.equal(starts[2].toolCallId, ends[2].toolCallId)
    local fin = evs[#evs]
    assert.equal("tool_calls", fin.finishReason) -- Gemini says STOP; calls make it tool_calls
    assert.same({ promptTokens = 40, completionTokens = 31, totalTokens = 71,
      completionTokensDetails = { reasoningTokens = 8 } }, fin.usage)
  end)

  it("MAX_TOKENS finishes with length, SAFETY with content_filter", function()
    local evs = replay.check_all_splits(gemini, fixture("max_tokens"))
    assert.equal("length", evs[#evs].finishReason)
    evs = replay.check_all_splits(gemini, fixture("safety"))
    assert.equal("content_filter", evs[#evs].finishReason)
    assert.equal("I can", replay.joined(evs, "TEXT_MESSAGE_CONTENT"))
  end)

  it("an error payload in the stream is one RUN_ERROR", function()
    local evs = replay.check_all_splits(gemini, fixture("error"), { provider = "google-ai-studio" })
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "RUN_ERROR" }, replay.types(evs))
    assert.equal("The model is overloaded. Please try again later.", evs[4].message)
    assert.equal("google-ai-studio", evs[4].error.provider)
  end)

  it("a blocked prompt (no candidates) finishes with content_filter", function()
    local evs = replay.events(gemini, { 'data: {"promptFeedback":{"blockReason":"SAFETY"},'
      .. '"usageMetadata":{"promptTokenCount":4,"totalTokenCount":4}}\r\n\r\n' })
    assert.same({ "RUN_STARTED", "RUN_FINISHED" }, replay.types(evs))
    assert.equal("content_filter", evs[2].finishReason)
  end)
end)

describe("gemini whole responses", function()
  it("gives the same events as the stream for a non-stream body", function()
    local out = {}
    local tr = replay.decoder(gemini, out)
    tr:body(json.decode('{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"},'
      .. '{"functionCall":{"name":"f","args":{"a":1}}}]},"finishReason":"STOP"}],'
      .. '"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":3,"totalTokenCount":5}}'))
    tr:finish()
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TOOL_CALL_START", "TOOL_CALL_ARGS",
      "TOOL_CALL_END", "TEXT_MESSAGE_END", "RUN_FINISHED" }, replay.types(out))
    assert.same({ a = 1 }, out[6].input)
    assert.equal("tool_calls", out[8].finishReason)
    assert.equal(5, out[8].usage.totalTokens)
  end)

  it("reads structured output from the JSON text, skipping thoughts", function()
    local data, raw = gemini.structured({ candidates = { { content = { parts = {
      { text = "thinking...", thought = true }, { text = '{"n":' }, { text = "42}" } } } } } })
    assert.same({ n = 42 }, data)
    assert.equal('{"n":42}', raw)
    local none, err = gemini.structured({ promptFeedback = { blockReason = "SAFETY" } })
    assert.is_nil(none)
    assert.matches("prompt blocked: SAFETY", err.message)
  end)
end)
