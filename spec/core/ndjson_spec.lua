-- NDJSON line splitter of the C core. Lua 5.1 syntax.
local core = require("tanstack.ai.core")

local function append(dst, src)
  for i = 1, #src do dst[#dst + 1] = src[i] end
end

local function parse(chunks, opts)
  local p = core.ndjson_parser(opts)
  local all = {}
  for _, c in ipairs(chunks) do append(all, assert(p:feed(c))) end
  append(all, assert(p:finish()))
  return all
end

local function check_stream(stream, want)
  assert.same(want, parse({ stream }))
  for i = 0, #stream do
    assert.same(want, parse({ stream:sub(1, i), stream:sub(i + 1) }), "split at " .. i)
  end
  local bytes = {}
  for i = 1, #stream do bytes[i] = stream:sub(i, i) end
  assert.same(want, parse(bytes))
end

describe("core.ndjson_parser", function()
  it("splits lines, strips one trailing CR and skips blank lines", function()
    check_stream("{\"a\":1}\n{\"b\":2}\r\n\n  \n\t\r\n[3]\n{\"c\":\"x y\"}",
      { "{\"a\":1}", "{\"b\":2}", "[3]", "{\"c\":\"x y\"}" })
  end)

  it("returns only complete lines from feed()", function()
    local p = core.ndjson_parser()
    assert.same({}, p:feed("{\"a\""))
    assert.same({ "{\"a\":1}" }, p:feed(":1}\n{\"b\":2}"))
    assert.same({ "{\"b\":2}" }, p:finish())
    assert.same({}, p:finish())
  end)

  it("keeps inner whitespace and only one CR", function()
    check_stream("  {\"a\": 1}  \r\n", { "  {\"a\": 1}  " })
    check_stream("x\r\r\n", { "x\r" })
  end)

  it("finish() skips a blank final line", function()
    check_stream("{}\n   ", { "{}" })
    check_stream("", {})
  end)

  it("fails with nil, err past max_line_bytes and stays failed until finish", function()
    local p = core.ndjson_parser({ max_line_bytes = 8 })
    assert.same({ "12345678" }, p:feed("12345678\n"))
    local lines, err = p:feed("123456789\n")
    assert.is_nil(lines)
    assert.matches("max_line_bytes", err)
    assert.is_nil((p:feed("1\n")))
    assert.is_nil((p:finish()))
    assert.same({ "1" }, p:feed("1\n"))
    -- an unterminated long line is refused early too
    assert.same({}, p:feed("12345"))
    assert.is_nil((p:feed("6789")))
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() core.ndjson_parser({ max_line_bytes = -1 }) end)
    assert.has_error(function() core.ndjson_parser():feed(nil) end)
  end)
end)
