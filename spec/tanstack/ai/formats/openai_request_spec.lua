-- Chat Completions request building: messages, tools, options, structured output.
local openai = require("tanstack.ai.formats.openai")
local messages = require("tanstack.ai.messages")
local json = require("tanstack.ai.json")

local function build(o)
  o.model = o.model or "m"
  o.messages = messages.normalize(o.messages)
  return json.decode(json.encode(openai.build_request(o)))
end

describe("Chat Completions request", function()
  it("converts multi-turn history with tool calls, tool results and image parts", function()
    local body = build({
      systemPrompts = { "a", { content = "b" } },
      messages = {
        { role = "user", content = { { type = "text", content = "look" },
          { type = "image", source = { type = "data", value = "QUJD", mimeType = "image/png" } },
          { type = "image", source = { type = "url", value = "https://x/y.png" } } } },
        { role = "assistant", content = nil, toolCalls = { { id = "c1", type = "function",
          ["function"] = { name = "f", arguments = '{"a":1}' } } } },
        { role = "tool", toolCallId = "c1", content = { ok = true } },
        { role = "user", content = { { type = "text", content = "only " }, { type = "text", content = "text" } } },
      },
    })
    assert.same({ role = "system", content = "a\nb" }, body.messages[1])
    assert.same({ { type = "text", text = "look" },
      { type = "image_url", image_url = { url = "data:image/png;base64,QUJD" } },
      { type = "image_url", image_url = { url = "https://x/y.png" } } }, body.messages[2].content)
    assert.equal("", body.messages[3].content)
    assert.same({ { id = "c1", type = "function", ["function"] = { name = "f", arguments = '{"a":1}' } } },
      body.messages[3].tool_calls)
    assert.same({ role = "tool", tool_call_id = "c1", content = '{"ok":true}' }, body.messages[4])
    assert.equal("only text", body.messages[5].content)
    assert.is_true(body.stream)
    assert.same({ include_usage = true }, body.stream_options)
  end)

  it("accepts UIMessages with parts", function()
    local body = build({ messages = {
      { id = "1", role = "user", parts = { { type = "text", content = "hi" } } },
      { id = "2", role = "assistant", parts = { { type = "text", content = "calling" },
        { type = "tool-call", id = "t1", name = "f", arguments = "{}", state = "input-complete", output = { r = 1 } } } },
    } })
    assert.same({ role = "user", content = "hi" }, body.messages[1])
    assert.equal("calling", body.messages[2].content)
    assert.equal("t1", body.messages[2].tool_calls[1].id)
    assert.same({ role = "tool", tool_call_id = "t1", content = '{"r":1}' }, body.messages[3])
  end)

  it("sends tools with a JSON Schema, [] and {} told apart", function()
    local raw = json.encode(openai.build_request({ model = "m", messages = {},
      tools = { { name = "noargs", description = "d" },
        { name = "t", description = "d", inputSchema = { type = "object", properties = {}, required = {} } } } }))
    assert.truthy(raw:find('"parameters":{"properties":{},"required":[],"type":"object"}', 1, true))
    assert.truthy(raw:find('"messages":[]', 1, true))
  end)

  it("merges modelOptions first so managed fields win", function()
    local body = build({ messages = { { role = "user", content = "x" } },
      modelOptions = { model = "other", stream = false, tool_choice = "required", top_k = 3 },
      temperature = 0.1, maxTokens = 5 })
    assert.equal("m", body.model)
    assert.is_true(body.stream)
    assert.equal("required", body.tool_choice)
    assert.equal(3, body.top_k)
    assert.equal(0.1, body.temperature)
    assert.equal(5, body.max_tokens)
  end)

  it("asks for json_schema output without streaming, keeping the tool history", function()
    local body = build({ messages = { { role = "user", content = "x" },
      { role = "assistant", content = "", toolCalls = { { id = "c", ["function"] = { name = "f", arguments = "{}" } } } },
      { role = "tool", toolCallId = "c", content = "r" } },
      outputSchema = { type = "object", properties = { a = { type = "string" } }, required = { "a" } } })
    assert.is_false(body.stream)
    assert.is_nil(body.stream_options)
    assert.same({ name = "structured_output", strict = true,
      schema = { type = "object", properties = { a = { type = "string" } }, required = { "a" } } },
      body.response_format.json_schema)
    assert.equal(3, #body.messages)
    assert.equal("c", body.messages[2].tool_calls[1].id)
    assert.equal("tool", body.messages[3].role)
    assert.is_nil(body.tools)
  end)

  it("rejects malformed messages with the position", function()
    assert.has_error(function() messages.normalize({ { role = "bot", content = "x" } }) end,
      "messages[1].role must be 'user', 'assistant', 'tool' or 'system' (got bot)")
    assert.has_error(function() messages.normalize({ { role = "user", content = "x" }, { role = "tool", content = "x" } }) end,
      "messages[2]: a tool message needs toolCallId")
    assert.has_error(function() messages.normalize({ { role = "user", content = { { type = "image", source = { type = "data", value = "x" } } } } }) end,
      "messages[1].content[1]: image part with source.type 'data' needs source.mimeType")
  end)
end)
