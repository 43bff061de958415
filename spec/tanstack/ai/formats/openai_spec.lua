-- tanstack.ai.formats.openai: the Chat Completions wire format, decoded into recorded deltas (no turn, no I/O).
-- The request body and the event sequences through a real turn are in openai_request_spec.lua and
-- openai_decode_spec.lua beside this file; this one holds the format's own functions and their edge cases.
local openai = require("tanstack.ai.formats.openai")
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local recorder = require("helpers.deltas_recorder")

local null = json.null

local function decode(v, fields)
  local out = recorder.new(fields or { provider = "openai" })
  openai.decode_event(nil, type(v) == "string" and json.decode(v) or v, out)
  return out
end

local function body(v)
  local out = recorder.new({ provider = "openai" })
  openai.decode_body(nil, v, out)
  return out
end

describe("openai format: usage", function()
  it("maps Chat Completions usage to TanStack's TokenUsage, details included", function()
    assert.same({ promptTokens = 10, completionTokens = 5, totalTokens = 15,
      promptTokensDetails = { cachedTokens = 4 }, completionTokensDetails = { reasoningTokens = 2 } },
      openai.usage({ prompt_tokens = 10, completion_tokens = 5, total_tokens = 15,
        prompt_tokens_details = { cached_tokens = 4 }, completion_tokens_details = { reasoning_tokens = 2 } }))
  end)

  it("reads the images/audio APIs' input/output form and sums a missing total", function()
    assert.same({ promptTokens = 7, completionTokens = 3, totalTokens = 10 },
      openai.usage({ input_tokens = 7, output_tokens = 3 }))
    assert.same({ promptTokens = 0, completionTokens = 0, totalTokens = 0 }, openai.usage({}))
  end)

  it("gives integers where the VM has them (cjson decodes counts as floats)", function()
    local u = openai.usage(json.decode_fast('{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}'))
    if math.type then
      assert.equal("integer", math.type(u.promptTokens))
      assert.equal("integer", math.type(u.totalTokens))
    end
    assert.equal(5, u.totalTokens)
  end)

  it("nil for what is not a usage object; details only when they carry a number", function()
    assert.is_nil(openai.usage(nil))
    assert.is_nil(openai.usage(null))
    assert.is_nil(openai.usage("3"))
    local u = openai.usage({ prompt_tokens = 1, completion_tokens = 1, prompt_tokens_details = {},
      completion_tokens_details = null })
    assert.is_nil(u.promptTokensDetails)
    assert.is_nil(u.completionTokensDetails)
  end)

  it("media_usage: nil unless the answer counts input tokens", function()
    assert.is_nil(openai.media_usage({ output_tokens = 3 }))
    assert.is_nil(openai.media_usage(nil))
    assert.same({ promptTokens = 2, completionTokens = 3, totalTokens = 9 },
      openai.media_usage({ input_tokens = 2, output_tokens = 3, total_tokens = 9 }))
  end)
end)

describe("openai format: stream events", function()
  it("a text chunk is one text delta", function()
    local out = decode('{"choices":[{"index":0,"delta":{"content":"Hel"}}]}')
    assert.same({ "text" }, out:names())
    assert.same({ { "Hel" } }, out:of("text"))
  end)

  it("every chunk of the pick shapes gives exactly one text delta and nothing else (the fast path's premise)",
    function()
      assert.equal(openai.PICK, openai.pick())
      assert.same({ "choices", 1, "delta", "content" }, openai.PICK[1].text)
      for _, chunk in ipairs({ '{"choices":[{"delta":{"content":"x"}}]}',
        '{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],' ..
          '"usage":null}',
        '{"choices":[{"delta":{"content":"y","reasoning_content":null,"tool_calls":null}}]}' }) do
        assert.same({ "text" }, decode(chunk):names(), chunk)
      end
    end)

  it("reasoning_content, or reasoning, before the text of the same delta", function()
    local out = decode({ choices = { { delta = { reasoning_content = "think", content = "say" } } } })
    assert.same({ "reasoning", "text" }, out:names())
    assert.same({ { "think" } }, out:of("reasoning"))
    assert.same({ { "hmm" } }, decode({ choices = { { delta = { reasoning = "hmm" } } } }):of("reasoning"))
    assert.same({}, decode({ choices = { { delta = { reasoning_content = null, reasoning = null } } } })
      :of("reasoning"))
  end)

  it("maps finish reasons to TanStack's union and passes an unknown one through", function()
    for from, to in pairs({ stop = "stop", length = "length", content_filter = "content_filter",
      tool_calls = "tool_calls", function_call = "tool_calls", end_turn = "stop", max_tokens = "length",
      something_new = "something_new" }) do
      assert.same({ { to } }, decode({ choices = { { delta = {}, finish_reason = from } } }):of("finish_reason"), from)
    end
    assert.same({}, decode({ choices = { { delta = {}, finish_reason = "" } } }):of("finish_reason"))
    assert.same({}, decode({ choices = { { delta = {}, finish_reason = null } } }):of("finish_reason"))
  end)

  it("tool call fragments go out with their index, id, name, arguments and metadata", function()
    local out = decode({ choices = { { delta = { tool_calls = {
      { index = 0, id = "call_1", type = "function", ["function"] = { name = "f", arguments = '{"a"' } },
      { index = 1, ["function"] = { arguments = ":1}" } },
      "not a table",
    } } } } })
    assert.same({ { 0, "call_1", "f", '{"a"' }, { 1, nil, nil, ":1}" } }, out:of("tool_call"))
    local whole = recorder.new()
    openai.tool_calls({ { id = "c", name = "g", arguments = { x = 1 }, metadata = { m = 1 } } }, whole)
    assert.same({ { nil, "c", "g", { x = 1 }, { m = 1 } } }, whole:of("tool_call"))
  end)

  it("the usage trailer, with or without choices", function()
    local out = decode('{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}')
    assert.same({ { { promptTokens = 3, completionTokens = 2, totalTokens = 5 } } }, out:of("usage"))
    assert.same({ "usage" }, out:names())
    assert.same({ "usage" }, decode('{"usage":{"prompt_tokens":1}}'):names())
  end)

  it("null and empty parts of a chunk are skipped, never an error", function()
    for _, chunk in ipairs({ '{"choices":null}', '{"choices":[]}', '{"choices":[null]}',
      '{"choices":[{"delta":null}]}', '{"id":"x","object":"chat.completion.chunk"}' }) do
      local out = decode(chunk)
      for _, n in ipairs(out:names()) do assert.is_not.equal("fail", n, chunk) end
      assert.same({}, out:of("fail_payload"), chunk)
    end
  end)
end)

describe("openai format: stream events", function()
  it("an error report, alone or beside choices (OpenRouter after the stream began), fails the turn", function()
    local out = decode('{"error":{"message":"overloaded","code":"x1"}}')
    assert.same({ "fail_payload" }, out:names())
    assert.equal("overloaded", out:of("fail_payload")[1][1].error.message)
    local beside = decode('{"choices":[{"delta":{"content":""},"finish_reason":"error"}],' ..
      '"error":{"message":"upstream died","code":502}}')
    assert.same({ "fail_payload" }, beside:names())
    assert.same({ "fail_payload" }, decode('{"type":"error","message":"x"}'):names())
  end)

  it("is_error: an error object, or an error payload without choices", function()
    assert.is_true(openai.is_error({ error = { message = "x" } }))
    assert.is_true(openai.is_error({ choices = {}, error = { message = "x" } }))
    assert.is_true(openai.is_error({ error = "quota" }))
    assert.is_false(openai.is_error({ choices = {}, error = "a string beside choices" }))
    assert.is_false(openai.is_error({ choices = {} }))
    assert.is_false(openai.is_error({ error = null }))
  end)
end)

describe("openai format: whole answers", function()
  it("a completion gives the deltas of the equivalent stream", function()
    local out = body({ choices = { { message = { role = "assistant", content = "hi", tool_calls = {
      { id = "c1", type = "function", ["function"] = { name = "f", arguments = "{}" } } } },
      finish_reason = "tool_calls" } }, usage = { prompt_tokens = 1, completion_tokens = 2 } })
    assert.same({ "usage", "text", "tool_call", "finish_reason" }, out:names())
    assert.same({ { "hi" } }, out:of("text"))
    assert.same({ { nil, "c1", "f", "{}" } }, out:of("tool_call"))
    assert.same({ { "tool_calls" } }, out:of("finish_reason"))
    assert.equal(3, out:of("usage")[1][1].totalTokens)
  end)

  it("fails an answer without choices, with empty choices, or that is not an object", function()
    for _, case in ipairs({ { { id = "x" }, "unexpected response shape" }, { { choices = {} }, "response has no choices" },
      { "text", "unexpected response shape" }, { { choices = { "x" } }, "response has no choices" } }) do
      local out = body(case[1])
      assert.same({ "fail" }, out:names())
      local e = out:of("fail")[1][1]
      assert.is_true(errors.is_error(e))
      assert.equal(case[2], e.message)
      assert.equal("provider", e.kind)
      assert.equal("openai", e.provider)
    end
  end)

  it("an error report in a 200 answer fails the turn", function()
    assert.same({ "fail_payload" }, body({ error = { message = "bad key", type = "auth" } }):names())
  end)
end)

describe("openai format: structured", function()
  it("the message content as JSON: the data and the raw text", function()
    local data, raw = openai.structured({ choices = { { message = { content = '{"a":1,"b":[true]}' } } } }, "openai")
    assert.same({ a = 1, b = { true } }, data)
    assert.equal('{"a":1,"b":[true]}', raw)
  end)

  it("an error report, no message, a refusal or content that is not an object: nil and an error", function()
    local _, e1 = openai.structured({ error = { message = "rate limited", code = "429" } }, "openai")
    assert.equal("rate limited", e1.message)
    assert.equal("provider", e1.kind)
    assert.is_false(e1.retryable)
    local _, e2 = openai.structured({ choices = {} }, "grok")
    assert.equal("structured output response has no message", e2.message)
    assert.equal("grok", e2.provider)
    local _, e3 = openai.structured("nope", "openai")
    assert.equal("structured output response has no message", e3.message)
    local _, e4 = openai.structured({ choices = { { message = { refusal = "I can't", content = null } } } }, "openai")
    assert.equal("the model refused: I can't", e4.message)
    assert.equal("refusal", e4.code)
    local _, e5 = openai.structured({ choices = { { message = { content = "not json" } } } }, "openai")
    assert.equal("decode", e5.kind)
  end)

  it("passes the provider's classify hook to the error reader", function()
    local seen
    local function classify(e) seen = e return e end
    openai.structured({ error = { message = "x", code = 3040 } }, "workers-ai", classify)
    assert.is_table(seen)
  end)
end)

describe("openai format: request pieces", function()
  local function user(content)
    return openai.convert_messages(nil, { { role = "user", content = content } })[1].content
  end
  it("audio parts as input_audio with the format from the media type; empty text parts left out", function()
    local c = user({ { type = "text", content = "" }, { type = "text", content = "listen" },
      { type = "audio", source = { type = "data", value = "AAA", mimeType = "audio/mpeg" } },
      { type = "audio", source = { type = "data", value = "BBB", mimeType = "audio/wav" } },
      { type = "audio", source = { type = "data", value = "CCC" } } })
    assert.same({ { type = "text", text = "listen" },
      { type = "input_audio", input_audio = { data = "AAA", format = "mp3" } },
      { type = "input_audio", input_audio = { data = "BBB", format = "wav" } },
      { type = "input_audio", input_audio = { data = "CCC", format = "wav" } } }, c)
    assert.equal("[", json.encode(c):sub(1, 1))
  end)

  it("an image's detail from its metadata", function()
    local c = user({ { type = "image", source = { type = "url", value = "https://x/i.png" },
      metadata = { detail = "low" } } })
    assert.same({ { type = "image_url", image_url = { url = "https://x/i.png", detail = "low" } } }, c)
  end)

  it("refuses content the format cannot carry, and a user message without content, naming the position", function()
    local ok, err = pcall(openai.convert_messages, nil, { { role = "user", content = "x" },
      { role = "user", content = { { type = "video", source = { type = "url", value = "https://v" } } } } })
    assert.is_false(ok)
    assert.equal("messages[2]: video content is not supported by the Chat Completions format", err)
    ok, err = pcall(openai.convert_messages, nil, { { role = "user", content = { { type = "audio",
      source = { type = "url", value = "https://a.mp3" } } } } })
    assert.is_false(ok)
    assert.equal("messages[1]: audio content is not supported by the Chat Completions format", err)
    ok, err = pcall(openai.convert_messages, nil, { { role = "user" } })
    assert.is_false(ok)
    assert.equal("messages[1]: user message has no content", err)
  end)

  it("include_tools = false drops tool results and assistant tool calls", function()
    local msgs = { { role = "user", content = "q" },
      { role = "assistant", content = "", toolCalls = { { id = "c", ["function"] = { name = "f", arguments = "{}" } } } },
      { role = "tool", toolCallId = "c", content = "r" }, { role = "system", content = "later" } }
    local out = openai.convert_messages({ "sys" }, msgs, { include_tools = false })
    assert.same({ { role = "system", content = "sys" }, { role = "user", content = "q" },
      { role = "assistant", content = "" }, { role = "system", content = "later" } }, out)
    assert.equal(5, #openai.convert_messages({ "sys" }, msgs)) -- with tools: the system prompt and all four
  end)

  it("an empty history and no system prompt encode as []", function()
    assert.equal("[]", json.encode(openai.convert_messages(nil, {})))
  end)

  it("convert_tools: nil without tools, the JSON Schema as parameters", function()
    assert.is_nil(openai.convert_tools(nil))
    assert.is_nil(openai.convert_tools({}))
    local t = openai.convert_tools({ { name = "f", description = "d",
      inputSchema = { type = "object", properties = { a = { type = "string" } } } } })
    assert.equal("function", t[1].type)
    assert.equal("f", t[1]["function"].name)
    assert.equal("d", t[1]["function"].description)
    assert.equal("object", t[1]["function"].parameters.type)
  end)

  it("base_body copies modelOptions into a new table", function()
    local mo = { top_p = 0.5 }
    local b = openai.base_body(mo)
    assert.same(mo, b)
    assert.are_not.equal(mo, b)
    b.model = "m"
    assert.is_nil(mo.model)
    assert.same({}, openai.base_body(nil))
  end)
end)

describe("openai format: request pieces", function()
  local function user(content)
    return openai.convert_messages(nil, { { role = "user", content = content } })[1].content
  end
  it("build_request: stream = false, a temperature of 0 and one max token are sent as given", function()
    local b = openai.build_request({ model = "m", messages = {}, stream = false, temperature = 0, maxTokens = 1 })
    assert.is_false(b.stream)
    assert.is_nil(b.stream_options)
    assert.equal(0, b.temperature)
    assert.equal(1, b.max_tokens)
    local s = openai.build_request({ model = "m", messages = {} })
    assert.is_nil(s.temperature)
    assert.is_nil(s.max_tokens)
    assert.is_nil(s.tools)
  end)
end)
