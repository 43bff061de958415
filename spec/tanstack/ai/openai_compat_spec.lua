-- tanstack.ai.openai_compat: an OpenAI Chat Completions request -> ai.chat options; AG-UI events -> OpenAI's
-- chunk SSE / chat.completion; errors in OpenAI's shape.
local compat = require("tanstack.ai.openai_compat")
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")

local function parse(t) return compat.parse_request(json.encode(t)) end

describe("openai_compat.parse_request", function()
  it("reads messages (text and image parts, tool calls and results), tools and the sampling options", function()
    local r = assert(parse({
      model = "gpt-4o-mini", stream = true, stream_options = { include_usage = true }, temperature = 0.5,
      max_tokens = 64, stop = { "END" }, tool_choice = "auto", seed = 7,
      response_format = { type = "json_schema", json_schema = { name = "x", schema = { type = "object" } } },
      messages = {
        { role = "system", content = "be brief" },
        { role = "user", content = { { type = "text", text = "look" },
          { type = "image_url", image_url = { url = "data:image/png;base64,AAAA" } },
          { type = "image_url", image_url = { url = "https://example.com/a.png" } } } },
        { role = "assistant", content = json.null, tool_calls = { { id = "c1", type = "function",
          ["function"] = { name = "get_weather", arguments = "{\"city\":\"Paris\"}" } } } },
        { role = "tool", tool_call_id = "c1", content = "sunny" },
      },
      tools = { { type = "function", ["function"] = { name = "get_weather", description = "w",
        parameters = { type = "object", properties = { city = { type = "string" } } } } } },
    }))
    assert.equals("gpt-4o-mini", r.model)
    assert.is_true(r.stream)
    assert.is_true(r.includeUsage)
    assert.equals(0.5, r.temperature)
    assert.equals(64, r.maxTokens)
    assert.same({ "END" }, r.modelOptions.stop)
    assert.equals("auto", r.modelOptions.tool_choice)
    assert.equals(7, r.modelOptions.seed)
    assert.equals("json_schema", r.modelOptions.response_format.type)
    assert.same({ role = "system", content = "be brief" }, r.messages[1])
    assert.same({ type = "image", source = { type = "data", value = "AAAA", mimeType = "image/png" } },
      r.messages[2].content[2])
    assert.same({ type = "url", value = "https://example.com/a.png" }, r.messages[2].content[3].source)
    assert.equals("get_weather", r.messages[3].toolCalls[1]["function"].name)
    assert.same({ role = "tool", toolCallId = "c1", content = "sunny" }, r.messages[4])
    assert.equals(1, #r.tools)
    assert.equals("get_weather", r.tools[1].name)
    assert.is_nil(r.tools[1].execute)
  end)

  it("answers 400 naming the field, 413 for a body over the limit", function()
    local _, err = parse({ messages = { { role = "user", content = "x" } } })
    assert.equals(400, err.status)
    assert.equals("model", err.param)
    _, err = parse({ model = "m", messages = {} })
    assert.equals("messages", err.param)
    _, err = parse({ model = "m", messages = { { role = "robot", content = "x" } } })
    assert.equals(400, err.status)
    _, err = parse({ model = "m", temperature = 3, messages = { { role = "user", content = "x" } } })
    assert.equals("temperature", err.param)
    _, err = parse({ model = "m", n = 2, messages = { { role = "user", content = "x" } } })
    assert.equals("n", err.param)
    _, err = compat.parse_request("{not json")
    assert.equals(400, err.status)
    _, err = compat.parse_request(string.rep(" ", 2000), { maxBodyBytes = 1000 })
    assert.equals(413, err.status)
    _, err = parse({ model = "m", messages = { { role = "system", content = "x" } } })
    assert.is_nil(err)
    _, err = compat.parse_request(json.encode({ model = "m", messages = { { role = "system", content = "x" } } }),
      { allowSystemMessages = false })
    assert.equals(400, err.status)
  end)
end)

local function evs()
  return {
    { type = "RUN_STARTED", runId = "r", threadId = "t" },
    { type = "TEXT_MESSAGE_START", messageId = "m" },
    { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = "Hel" },
    { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = "lo" },
    { type = "TEXT_MESSAGE_END", messageId = "m" },
    { type = "TOOL_CALL_START", toolCallId = "c1", toolCallName = "f" },
    { type = "TOOL_CALL_ARGS", toolCallId = "c1", delta = "{\"a\":" },
    { type = "TOOL_CALL_ARGS", toolCallId = "c1", delta = "1}" },
    { type = "TOOL_CALL_END", toolCallId = "c1" },
    { type = "RUN_FINISHED", finishReason = "tool_calls", usage = { promptTokens = 3, completionTokens = 4,
      totalTokens = 7 } },
  }
end

describe("openai_compat.to_chunks", function()
  it("writes chat.completion.chunk events: role, content, tool_calls deltas, finish_reason, usage, [DONE]", function()
    local out = {}
    for s in compat.to_chunks(evs(), { model = "m1", includeUsage = true, id = "chatcmpl-1", created = 5 }) do
      out[#out + 1] = s
    end
    assert.equals("data: [DONE]\n\n", out[#out])
    local chunks = {}
    for i = 1, #out - 1 do chunks[i] = json.decode(out[i]:match("^data: (.*)\n\n$")) end
    for _, c in ipairs(chunks) do
      assert.equals("chat.completion.chunk", c.object)
      assert.equals("chatcmpl-1", c.id)
      assert.equals("m1", c.model)
    end
    assert.same({ role = "assistant", content = "" }, chunks[1].choices[1].delta)
    assert.equals("Hel", chunks[2].choices[1].delta.content)
    assert.equals("lo", chunks[3].choices[1].delta.content)
    assert.same({ { index = 0, id = "c1", type = "function", ["function"] = { name = "f", arguments = "" } } },
      chunks[4].choices[1].delta.tool_calls)
    assert.same({ { index = 0, ["function"] = { arguments = "{\"a\":" } } }, chunks[5].choices[1].delta.tool_calls)
    assert.equals("tool_calls", chunks[7].choices[1].finish_reason)
    assert.same({}, chunks[8].choices)
    assert.same({ prompt_tokens = 3, completion_tokens = 4, total_tokens = 7 }, chunks[8].usage)
    assert.equals(8, #chunks)
  end)

  it("a RUN_ERROR is one error event, public, and no [DONE]", function()
    local list = evs()
    for i = 6, #list do list[i] = nil end
    list[6] = { type = "RUN_ERROR", error = errors.new({ kind = "network", message = "reset by 10.0.0.7:443" }) }
    local out = {}
    for s in compat.to_chunks(list, { model = "m" }) do out[#out + 1] = s end
    local last = json.decode(out[#out]:match("^data: (.*)\n\n$"))
    assert.truthy(last.error)
    assert.is_nil(last.error.message:find("10.0.0.7", 1, true))
    assert.equals("server_error", last.error.type)
    for _, s in ipairs(out) do assert.is_nil(s:find("[DONE]", 1, true)) end
  end)
end)

describe("openai_compat.to_completion", function()
  it("collects one chat.completion", function()
    local c = assert(compat.to_completion(evs(), { model = "m2" }))
    assert.equals("chat.completion", c.object)
    assert.equals("m2", c.model)
    assert.equals("Hello", c.choices[1].message.content)
    assert.equals("tool_calls", c.choices[1].finish_reason)
    assert.same({ { id = "c1", type = "function", ["function"] = { name = "f", arguments = "{\"a\":1}" } } },
      c.choices[1].message.tool_calls)
    assert.same({ prompt_tokens = 3, completion_tokens = 4, total_tokens = 7 }, c.usage)
  end)

  it("returns the run's error", function()
    local c, err = compat.to_completion({ { type = "RUN_STARTED" }, { type = "RUN_ERROR", error = errors.new({
      kind = "http", status = 503, message = "busy" }) } })
    assert.is_nil(c)
    assert.equals(503, err.status)
  end)
end)

describe("openai_compat.error_body", function()
  it("maps statuses to OpenAI's error types", function()
    local body, status = compat.error_body(compat.error(400, "bad", "invalid_request", "messages"))
    assert.equals(400, status)
    assert.same({ error = { message = "bad", type = "invalid_request_error", param = "messages",
      code = "invalid_request" } }, json.decode(body))
    body, status = compat.error_body(errors.new({ kind = "http", status = 503, message = "x" }))
    assert.equals(502, status)
    body, status = compat.error_body(errors.new({ kind = "http", status = 429, message = "x" }))
    assert.equals(429, status)
    body, status = compat.error_body(errors.new({ kind = "timeout", message = "x" }))
    assert.equals(504, status)
    body, status = compat.error_body(errors.new({ kind = "http", status = 401, message = "upstream key" }))
    assert.equals(502, status) -- the upstream refusing this server's key is not the client's fault
  end)
end)
