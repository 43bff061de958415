-- tanstack.ai.formats.parts: what the native-format providers (Anthropic, Gemini) share: a media source as inline
-- base64 or a URL (RFC 2397 data: URLs read as inline data), merging consecutive messages of one role, tool-call
-- arguments as an object.
local parts = require("tanstack.ai.formats.parts")
local json = require("tanstack.ai.json")

local function pack(...) return { n = select("#", ...), ... } end

describe("formats.parts.resolve", function()
  it("a data source is inline, with its media type", function()
    assert.same(pack("inline", "image/png", "QUJD"), pack(parts.resolve({ type = "data", value = "QUJD",
      mimeType = "image/png" })))
  end)

  it("a URL source is a URL, with the media type it was given (or nil)", function()
    assert.same(pack("url", "https://x/y.png", "image/png"),
      pack(parts.resolve({ type = "url", value = "https://x/y.png", mimeType = "image/png" })))
    assert.same(pack("url", "https://x/y.png", nil), pack(parts.resolve({ type = "url", value = "https://x/y.png" })))
  end)

  it("a base64 data: URL given as a URL is inline data with the URL's media type", function()
    assert.same(pack("inline", "image/jpeg", "/9j/4AAQ"),
      pack(parts.resolve({ type = "url", value = "data:image/jpeg;base64,/9j/4AAQ", mimeType = "image/png" })))
    -- no media type in the URL: the source's
    assert.same(pack("inline", "image/png", "QUJD"),
      pack(parts.resolve({ type = "url", value = "data:;base64,QUJD", mimeType = "image/png" })))
  end)

  it("a data: URL that is not base64 stays a URL", function()
    local kind, url = parts.resolve({ type = "url", value = "data:text/plain,hello" })
    assert.equal("url", kind)
    assert.equal("data:text/plain,hello", url)
  end)
end)

describe("formats.parts.role_merger", function()
  it("appends a message per role change and merges consecutive items of one role", function()
    local out = {}
    local push = parts.role_merger(out, "content")
    push("user", { "a" })
    push("user", { "b", "c" })
    push("assistant", { "d" })
    push("user", { "e" })
    assert.same({ { role = "user", content = { "a", "b", "c" } }, { role = "assistant", content = { "d" } },
      { role = "user", content = { "e" } } }, out)
  end)

  it("skips an empty list, so it neither adds a message nor splits a run", function()
    local out = {}
    local push = parts.role_merger(out, "parts")
    push("user", {})
    assert.same({}, out)
    push("user", { 1 })
    push("model", {})
    push("user", { 2 })
    assert.same({ { role = "user", parts = { 1, 2 } } }, out)
  end)

  it("continues a list that already holds messages", function()
    local out = { { role = "user", content = { "x" } } }
    parts.role_merger(out, "content")("user", { "y" })
    assert.same({ { role = "user", content = { "x", "y" } } }, out)
  end)
end)

describe("formats.parts.decode_object", function()
  it("a table as is, JSON text of an object decoded", function()
    local t = { a = 1 }
    assert.equal(t, parts.decode_object(t))
    assert.same({ city = "Paris", n = 2 }, parts.decode_object('{"city":"Paris","n":2}'))
    assert.same({}, parts.decode_object("{}"))
  end)

  it("nil for what is not an object: an array, a scalar, blank or malformed text, a non-string", function()
    for _, bad in ipairs({ "[1,2]", "1", '"s"', "null", "", "   ", "{bad", "{\"a\":" }) do
      assert.is_nil(parts.decode_object(bad), string.format("%q", bad))
    end
    assert.is_nil(parts.decode_object(nil))
    assert.is_nil(parts.decode_object(5))
    assert.is_true(json.is_array(json.decode("[1]"))) -- (the reason "[1,2]" is refused)
  end)
end)

describe("formats.parts.unsupported", function()
  it("raises a message naming where, the provider and the part type, without a position", function()
    local ok, err = pcall(parts.unsupported, "anthropic", "video", "messages[2].content[1]")
    assert.is_false(ok)
    assert.equal("messages[2].content[1]: anthropic does not support video content", err)
  end)
end)
