-- tanstack.ai.messages directly: every accepted input shape (ModelMessages, UIMessages with parts, AG-UI wire
-- messages, mixed) becomes TanStack ModelMessages, which every wire format then translates; bad input raises
-- an error naming the message (and part) at fault.
local messages = require("tanstack.ai.messages")
local json = require("tanstack.ai.json")

local normalize = messages.normalize

-- The error message normalize raises for `list` (errors are raised with level 0: no position prefix).
local function error_of(list)
  local ok, err = pcall(normalize, list)
  assert.is_false(ok, "normalize should have raised")
  return err
end

local function tool_call(id, name, args)
  return { id = id, type = "function", ["function"] = { name = name, arguments = args } }
end

describe("messages.normalize: ModelMessages and AG-UI wire messages", function()
  it("nil is an empty history", function()
    assert.same({}, normalize(nil))
  end)

  it("keeps string content, names, and maps developer to system", function()
    assert.same({
      { role = "system", content = "be brief" },
      { role = "system", content = "dev rules" },
      { role = "user", content = "hi", name = "ann" },
      { role = "assistant", content = "hello" },
    }, normalize({
      { role = "system", content = "be brief" },
      { role = "developer", content = "dev rules" },
      { role = "user", content = "hi", name = "ann" },
      { role = "assistant", content = "hello" },
    }))
  end)

  it("content nil or JSON null stays absent", function()
    local out = normalize({ { role = "assistant", content = json.null }, { role = "user" } })
    assert.same({ { role = "assistant" }, { role = "user" } }, out)
  end)

  it("normalizes tool calls: OpenAI, AG-UI and TanStack shapes, with arguments as text", function()
    local out = normalize({ { role = "assistant", content = "", toolCalls = {
      tool_call("c1", "get_weather", '{"city":"Paris"}'),
      tool_call("c2", "get_weather", json.null),                   -- no arguments: "{}"
      { id = "c3", type = "function", ["function"] = { name = "f", arguments = { a = 1 } } }, -- a table: encoded
      { toolCallId = "c4", toolName = "g", input = { b = true }, metadata = { providerExecuted = true } },
      { id = "c5", name = "h" },
    } } })
    assert.same({ { role = "assistant", content = "", toolCalls = {
      tool_call("c1", "get_weather", '{"city":"Paris"}'),
      tool_call("c2", "get_weather", "{}"),
      tool_call("c3", "f", '{"a":1}'),
      { id = "c4", type = "function", ["function"] = { name = "g", arguments = '{"b":true}' },
        metadata = { providerExecuted = true } },
      tool_call("c5", "h", "{}"),
    } } }, out)
  end)

  it("reads snake_case tool_calls and drops an empty list", function()
    local out = normalize({
      { role = "assistant", tool_calls = { tool_call("c1", "f", "{}") } },
      { role = "assistant", content = "x", toolCalls = {} },
    })
    assert.same({ tool_call("c1", "f", "{}") }, out[1].toolCalls)
    assert.is_nil(out[2].toolCalls)
  end)

  it("keeps thinking on assistant messages only", function()
    local thinking = { { content = "hmm", signature = "sig" } }
    local out = normalize({
      { role = "assistant", content = "a", thinking = thinking },
      { role = "user", content = "u", thinking = thinking },
    })
    assert.equals(thinking, out[1].thinking)
    assert.is_nil(out[2].thinking)
  end)

  it("tool messages: toolCallId (or tool_call_id), content kept as text or JSON-encoded", function()
    assert.same({
      { role = "tool", toolCallId = "c1", content = "sunny" },
      { role = "tool", toolCallId = "c2", content = '{"t":21}', name = "get_weather" },
      { role = "tool", toolCallId = "c3", content = "null" },
      { role = "tool", toolCallId = "c4", content = "[1,2]" },
    }, normalize({
      { role = "tool", toolCallId = "c1", content = "sunny" },
      { role = "tool", tool_call_id = "c2", content = { t = 21 }, name = "get_weather" },
      { role = "tool", toolCallId = "c3" },
      { role = "tool", toolCallId = "c4", content = { 1, 2 } },
    }))
  end)
end)

describe("messages.normalize: content parts", function()
  it("text parts: strings, content or text", function()
    local out = normalize({ { role = "user", content = {
      "plain", { type = "text", content = "a" }, { type = "text", text = "b", metadata = { k = 1 } },
    } } })
    assert.same({ { type = "text", content = "plain" }, { type = "text", content = "a" },
      { type = "text", content = "b", metadata = { k = 1 } } }, out[1].content)
  end)

  it("media parts with a source (data or url) are kept, for image, audio, video and document", function()
    local img = { type = "image", source = { type = "data", value = "AAAA", mimeType = "image/png" } }
    local doc = { type = "document", source = { type = "url", value = "https://x/a.pdf" } }
    local out = normalize({ { role = "user", content = {
      img, doc,
      { type = "audio", source = { type = "data", value = "UklG", mimeType = "audio/wav" } },
      { type = "video", source = { type = "url", value = "https://x/v.mp4" }, metadata = { fps = 1 } },
    } } })
    assert.same({
      { type = "image", source = { type = "data", value = "AAAA", mimeType = "image/png" } },
      { type = "document", source = { type = "url", value = "https://x/a.pdf" } },
      { type = "audio", source = { type = "data", value = "UklG", mimeType = "audio/wav" } },
      { type = "video", source = { type = "url", value = "https://x/v.mp4" }, metadata = { fps = 1 } },
    }, out[1].content)
  end)

  it("media shortcuts: url, data + mimeType, and OpenAI's image_url (table or string)", function()
    local out = normalize({ { role = "user", content = {
      { type = "image", url = "https://x/cat.png" },
      { type = "image", data = "AAAA", mimeType = "image/jpeg" },
      { type = "image_url", image_url = { url = "https://x/dog.png" } },
      { type = "image_url", image_url = "https://x/cow.png" },
    } } })
    assert.same({
      { type = "image", source = { type = "url", value = "https://x/cat.png" } },
      { type = "image", source = { type = "data", value = "AAAA", mimeType = "image/jpeg" } },
      { type = "image", source = { type = "url", value = "https://x/dog.png" } },
      { type = "image", source = { type = "url", value = "https://x/cow.png" } },
    }, out[1].content)
  end)
end)

describe("messages.normalize: UIMessages (parts)", function()
  it("a user message with one text part becomes string content; more parts stay parts", function()
    local out = normalize({
      { id = "u1", role = "user", parts = { { type = "text", content = "hi" } } },
      { id = "u2", role = "user", parts = { { type = "text", content = "look" },
        { type = "image", source = { type = "url", value = "https://x/p.png" } } } },
    })
    assert.same({
      { role = "user", content = "hi" },
      { role = "user", content = { { type = "text", content = "look" },
        { type = "image", source = { type = "url", value = "https://x/p.png" } } } },
    }, out)
  end)

  it("a system message joins its text parts with newlines", function()
    assert.same({ { role = "system", content = "one\ntwo" } }, normalize({ { role = "system", parts = {
      { type = "text", content = "one" }, { type = "text", text = "two" } } } }))
  end)

  it("an assistant message splits into text + tool calls, then one tool message per result", function()
    local out = normalize({ { id = "a1", role = "assistant", parts = {
      { type = "text", content = "Checking " },
      { type = "tool-call", id = "c1", name = "get_weather", arguments = '{"city":"Paris"}', output = { t = 21 } },
      { type = "text", content = "both." },
      { type = "tool-call", id = "c2", name = "notify", input = { text = "hi" } },
      { type = "tool-result", toolCallId = "c2", content = "shown" },
      -- the same result as c1's output: kept once
      { type = "tool-result", toolCallId = "c1", content = "duplicate" },
    } } })
    assert.same({
      { role = "assistant", content = "Checking both.", toolCalls = {
        tool_call("c1", "get_weather", '{"city":"Paris"}'), tool_call("c2", "notify", '{"text":"hi"}') } },
      { role = "tool", toolCallId = "c1", content = '{"t":21}' },
      { role = "tool", toolCallId = "c2", content = "shown" },
    }, out)
  end)

  it("an assistant message without calls has no toolCalls; a string output is kept as is", function()
    local out = normalize({
      { role = "assistant", parts = { { type = "text", content = "done" } } },
      { role = "assistant", parts = { { type = "tool-call", id = "c9", name = "f", output = "plain" } } },
    })
    assert.same({
      { role = "assistant", content = "done" },
      { role = "assistant", content = "", toolCalls = { tool_call("c9", "f", "{}") } },
      { role = "tool", toolCallId = "c9", content = "plain" },
    }, out)
  end)

  it("a user message drops tool-result parts", function()
    local out = normalize({ { role = "user", parts = { { type = "tool-result", toolCallId = "c", content = "x" },
      { type = "text", content = "ok" } } } })
    assert.same({ { role = "user", content = "ok" } }, out)
  end)

  it("parts are ignored when content is present (the message is a ModelMessage)", function()
    local out = normalize({ { role = "user", content = "from content", parts = { { type = "text", content = "p" } } } })
    assert.same({ { role = "user", content = "from content" } }, out)
  end)

  it("mixed shapes in one history keep their order", function()
    local out = normalize({
      { role = "system", content = "sys" },
      { id = "u1", role = "user", parts = { { type = "text", content = "weather?" } } },
      { role = "assistant", content = "", toolCalls = { tool_call("c1", "get_weather", "{}") } },
      { role = "tool", toolCallId = "c1", content = "sunny" },
      { id = "a2", role = "assistant", parts = { { type = "text", content = "Sunny." } } },
    })
    assert.same({
      { role = "system", content = "sys" },
      { role = "user", content = "weather?" },
      { role = "assistant", content = "", toolCalls = { tool_call("c1", "get_weather", "{}") } },
      { role = "tool", toolCallId = "c1", content = "sunny" },
      { role = "assistant", content = "Sunny." },
    }, out)
  end)

  it("a developer UIMessage is a system message, as a developer ModelMessage is", function()
    -- not an assistant message: the instruction must not be replayed as something the assistant said
    assert.same({ { role = "system", content = "be brief" } },
      normalize({ { role = "developer", parts = { { type = "text", content = "be brief" } } } }))
    -- a tool message with parts stays a tool result
    assert.same({ { role = "tool", toolCallId = "c1", content = "sunny" } },
      normalize({ { role = "tool", toolCallId = "c1", parts = { { type = "text", content = "sunny" } } } }))
  end)
end)

describe("messages.normalize: errors name the position", function()
  it("refuses a non-table list and non-table messages", function()
    assert.equals("messages must be an array", error_of("hi"))
    assert.equals("messages[2] must be a table", error_of({ { role = "user", content = "a" }, "b" }))
  end)

  it("refuses an unknown or missing role", function()
    assert.equals("messages[1].role must be 'user', 'assistant', 'tool' or 'system' (got bot)",
      error_of({ { role = "bot", content = "x" } }))
    assert.equals("messages[2].role must be 'user', 'assistant', 'tool' or 'system' (got nil)",
      error_of({ { role = "user", content = "x" }, { content = "y" } }))
  end)

  it("refuses a tool message without toolCallId and a tool call without id or name", function()
    assert.equals("messages[1]: a tool message needs toolCallId", error_of({ { role = "tool", content = "x" } }))
    assert.equals("messages[1].toolCalls[2]: needs id and function.name", error_of({ { role = "assistant",
      toolCalls = { tool_call("c1", "f", "{}"), { id = "c2", ["function"] = { arguments = "{}" } } } } }))
    assert.equals("messages[1].toolCalls[1]: needs id and function.name",
      error_of({ { role = "assistant", toolCalls = { { ["function"] = { name = "f" } } } } }))
  end)

  it("refuses content that is neither a string nor parts", function()
    assert.equals("messages[1]: content must be a string, nil or an array of parts",
      error_of({ { role = "user", content = 42 } }))
  end)

  it("refuses bad parts, naming the part", function()
    local function part_error(p)
      return error_of({ { role = "user", content = "x" }, { role = "user", content = { "ok", p } } })
    end
    assert.equals("messages[2].content[2]: content part must be a table or string", part_error(7))
    assert.equals("messages[2].content[2]: text part needs a string 'content'", part_error({ type = "text" }))
    assert.equals("messages[2].content[2]: unsupported content part type 'file'", part_error({ type = "file" }))
    assert.equals("messages[2].content[2]: unsupported content part type 'nil'", part_error({ content = "x" }))
    assert.equals("messages[2].content[2]: image part needs source = { type = 'data'|'url', value = ... }",
      part_error({ type = "image" }))
    assert.equals("messages[2].content[2]: audio part needs source = { type = 'data'|'url', value = ... }",
      part_error({ type = "audio", source = { type = "url" } }))
    assert.equals("messages[2].content[2]: image part with source.type 'data' needs source.mimeType",
      part_error({ type = "image", source = { type = "data", value = "AAAA" } }))
    assert.equals("messages[2].content[2]: image part with source.type 'data' needs source.mimeType",
      part_error({ type = "image", data = "AAAA" })) -- the shortcut needs a mimeType too
  end)

  it("names the UIMessage part at fault", function()
    assert.equals("messages[1].parts[2]: unsupported content part type 'bogus'",
      error_of({ { role = "user", parts = { { type = "text", content = "a" }, { type = "bogus" } } } }))
  end)
end)

describe("messages helpers", function()
  it("text_of: a string, or the text parts joined with nothing between them", function()
    assert.equals("", messages.text_of(nil))
    assert.equals("plain", messages.text_of("plain"))
    assert.equals("ab", messages.text_of({ { type = "text", content = "a" },
      { type = "image", source = { type = "url", value = "u" } }, { type = "text", content = "b" } }))
    assert.equals("", messages.text_of({}))
  end)

  it("system_prompts: nil, a string, or a list of strings and {content}", function()
    assert.same({}, messages.system_prompts(nil))
    assert.same({ "one" }, messages.system_prompts("one"))
    assert.same({ "a", "b" }, messages.system_prompts({ "a", { content = "b" } }))
    local ok, err = pcall(messages.system_prompts, { "a", { text = "b" } })
    assert.is_false(ok)
    assert.equals("systemPrompts[2] must be a string or { content = string }", err)
  end)

  it("source_url: a url as is, data as a data: URI (unless it already is one)", function()
    assert.equals("https://x/a.png", messages.source_url({ type = "url", value = "https://x/a.png" }))
    assert.equals("data:image/png;base64,AAAA",
      messages.source_url({ type = "data", value = "AAAA", mimeType = "image/png" }))
    assert.equals("data:image/gif;base64,R0lG",
      messages.source_url({ type = "data", value = "data:image/gif;base64,R0lG", mimeType = "image/png" }))
  end)
end)

describe("messages normalized once", function()
  it("a message normalize made passes a second normalize as it is, in a new list", function()
    local first = normalize({ { role = "user", content = { { type = "text", text = "hi" } } },
      { role = "developer", content = "be brief" } })
    assert.is_true(messages.is_normalized(first[1]))
    local second = normalize(first)
    assert.are_not.equal(first, second)
    assert.equal(first[1], second[1])
    assert.equal(first[2], second[2])
    assert.equal("system", second[2].role)
  end)

  it("a message normalize did not make is still checked and copied", function()
    local m = { role = "user", content = "x" }
    assert.is_false(messages.is_normalized(m))
    local out = normalize({ m })
    assert.are_not.equal(m, out[1])
    assert.has_error(function() normalize({ out[1], { role = "robot" } }) end)
  end)
end)
