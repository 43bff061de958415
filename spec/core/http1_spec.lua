-- Sans-I/O HTTP/1.1 response framing of the C core. Lua 5.1 syntax.
local core = require("tanstack.ai.core")

-- Feeds chunks (then finish() if asked); returns a summary, or nil, err.
local function parse(chunks, opts, finish)
  local p = core.http1_response_parser(opts)
  local items = {}
  local function take(list, err)
    if not list then return nil, err end
    for _, it in ipairs(list) do items[#items + 1] = it end
    return true
  end
  for _, c in ipairs(chunks) do
    local ok, err = take(p:feed(c))
    if not ok then return nil, err end
  end
  if finish then
    local ok, err = take(p:finish())
    if not ok then return nil, err end
  end
  -- order: one head, body items, at most one done (last)
  local r = { body = {}, nbody = 0 }
  for i, it in ipairs(items) do
    if it.kind == "head" then
      assert.equal(1, i)
      r.head = it
    elseif it.kind == "body" then
      assert.truthy(r.head)
      assert.is_nil(r.done)
      assert.is_true(#it.data > 0)
      r.body[#r.body + 1] = it.data
      r.nbody = r.nbody + 1
    else
      assert.equal("done", it.kind)
      assert.equal(#items, i)
      r.done = it
    end
  end
  r.body = table.concat(r.body)
  return r
end

local function bytes(s)
  local t = {}
  for i = 1, #s do t[i] = s:sub(i, i) end
  return t
end

-- Same outcome (head, body bytes, done, error) whole, split anywhere, byte-wise.
local function parse_all_ways(stream, opts, finish)
  local whole, err = parse({ stream }, opts, finish)
  local function same(r, e)
    assert.equal(err, e)
    if whole then
      assert.same(whole.head, r.head)
      assert.equal(whole.body, r.body)
      assert.same(whole.done, r.done)
    end
  end
  for i = 0, #stream do
    same(parse({ stream:sub(1, i), stream:sub(i + 1) }, opts, finish))
  end
  same(parse(bytes(stream), opts, finish))
  return whole, err
end

describe("core.http1_response_parser", function()
  it("frames a Content-Length response", function()
    local r = parse_all_ways("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
      .. "X-Multi: a\r\nx-multi: b\r\n\r\nhello")
    assert.same({
      kind = "head", status = 200, reason = "OK", version = "1.1",
      headers = { ["content-type"] = "text/plain", ["content-length"] = "5", ["x-multi"] = "a, b" },
    }, r.head)
    assert.equal("hello", r.body)
    assert.same({ kind = "done", keep_alive = true }, r.done)
  end)

  it("returns head, body and done items from feed()", function()
    local p = core.http1_response_parser()
    local items = p:feed("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")
    assert.equal(2, #items)
    assert.equal("head", items[1].kind)
    assert.same({ kind = "body", data = "ab" }, items[2])
    items = p:feed("cd")
    assert.same({ { kind = "body", data = "cd" }, { kind = "done", keep_alive = true } }, items)
    assert.same({}, p:finish())
  end)

  it("decodes chunked bodies with extensions and trailers", function()
    local r = parse_all_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "5;ext=1\r\nhello\r\n6 ; x = \"y;\\\"z\"\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n")
    assert.equal("hello world0123456789", r.body)
    assert.same({ kind = "done", keep_alive = true }, r.done)
    assert.is_nil(r.head.headers["x-trailer"])
  end)

  it("handles binary chunked data", function()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    local data = table.concat(all)
    local r = parse_all_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n" .. data .. "\r\n0\r\n\r\n")
    assert.equal(data, r.body)
  end)

  it("reads a close-delimited body until finish()", function()
    local r = parse_all_ways("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome body", nil, true)
    assert.equal("1.0", r.head.version)
    assert.equal("some body", r.body)
    assert.same({ kind = "done", keep_alive = false }, r.done)
    local r2 = parse({ "HTTP/1.1 200 OK\r\n\r\nabc" })
    assert.is_nil(r2.done)
  end)

  it("skips 1xx interim responses", function()
    local r = parse_all_ways("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
      .. "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert.equal(200, r.head.status)
    assert.is_nil(r.head.headers.link)
    assert.equal("ok", r.body)
  end)

  it("has no body for HEAD, 204 and 304", function()
    local r = parse_all_ways("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", { head_request = true })
    assert.equal("", r.body)
    assert.truthy(r.done)
    r = parse_all_ways("HTTP/1.1 204 No Content\r\n\r\n")
    assert.truthy(r.done)
    r = parse_all_ways("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
    assert.truthy(r.done)
  end)

  it("computes keep_alive from version and Connection", function()
    assert.is_false(parse({ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" }).done.keep_alive)
    assert.is_true(parse({ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\nx" }).done.keep_alive)
    assert.is_false(parse({ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx" }).done.keep_alive)
    -- Transfer-Encoding with Content-Length: TE wins, connection must close
    local r = parse({ "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n" })
    assert.equal("x", r.body)
    assert.is_false(r.done.keep_alive)
  end)

  it("accepts bare LF line ends, no reason phrase and obs-folds", function()
    local r = parse_all_ways("HTTP/1.1 201\nX-Fold: a\n  b\nX-Sp:   v  \nContent-Length: 2, 2\n\nok")
    assert.equal(201, r.head.status)
    assert.equal("", r.head.reason)
    assert.matches("^a +b$", r.head.headers["x-fold"])
    assert.equal("v", r.head.headers["x-sp"])
    assert.equal("ok", r.body)
  end)

  it("rejects malformed responses with nil, err", function()
    local bad = {
      "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "ICY 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy",
      "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    }
    for _, s in ipairs(bad) do
      local r, err = parse_all_ways(s)
      assert.is_nil(r, s)
      assert.is_string(err)
    end
  end)

  describe("chunked framing (RFC 9112 7.1, strictly)", function()
    local HEAD = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    it("accepts what the chunk grammar allows: BWS around ';' and '=', tokens, quoted strings", function()
      local good = {
        "3;a\r\nabc\r\n0\r\n\r\n",
        "3 ;a=b\r\nabc\r\n0\r\n\r\n",
        "3\t; a = b ;c\r\nabc\r\n0\r\n\r\n",
        "3;a=\"\"\r\nabc\r\n0\r\n\r\n",
        "3;a=\"x y;z=\\\"q\\\\\"\r\nabc\r\n0\r\n\r\n",
        "3;a=\"\128\255\t\"\r\nabc\r\n0\r\n\r\n",
        "3\r\nabc\r\n000;last=1\r\nT: 1\r\n\r\n",
      }
      for _, body in ipairs(good) do
        local r, err = parse_all_ways(HEAD .. body)
        assert(r, body .. ": " .. tostring(err))
        assert.equal("abc", r.body)
        assert.same({ kind = "done", keep_alive = true }, r.done)
      end
    end)

    it("refuses each attack on the framing with a clear error", function()
      local bad = {
        { "3\nabc\r\n0\r\n\r\n", "not ended by CRLF" },              -- bare LF after the chunk size
        { "3\r\nabc\n0\r\n\r\n", "missing CRLF after chunk data" },  -- bare LF after the chunk data
        { "3\r\nabc\r\n0\n\r\n", "not ended by CRLF" },              -- bare LF ending the last chunk
        { "3\r\nabc\r\n0\r\n\n", "not ended by CRLF" },              -- bare LF as the final CRLF
        { "3\r\nabc\r\n0\r\nT: 1\n\r\n", "not ended by CRLF" },    -- ... ending a trailer line
        { "3 \r\nabc\r\n0\r\n\r\n", "whitespace not followed by ';'" },  -- SP after the size
        { "3\t\r\nabc\r\n0\r\n\r\n", "whitespace not followed by ';'" }, -- HTAB after the size
        { "3;a \r\nabc\r\n0\r\n\r\n", "whitespace not followed by ';'" },
        { "3;\r\nabc\r\n0\r\n\r\n", "empty name" },
        { "3;=b\r\nabc\r\n0\r\n\r\n", "empty name" },
        { "3;a=\r\nabc\r\n0\r\n\r\n", "empty value" },
        { "3;a=\"b\r\nabc\r\n0\r\n\r\n", "unclosed quoted value" },
        { "3;a=\"b\\\"\r\nabc\r\n0\r\n\r\n", "unclosed quoted value" },
        { "3;a=\"b\1\"\r\nabc\r\n0\r\n\r\n", "control character" },
        { "3\r\r\nabc\r\n0\r\n\r\n", "malformed chunk size" },
        { "3\r\nabcd\r\n0\r\n\r\n", "missing CRLF after chunk data" },
        { "3\r\nabc\r\n0\r\nNoColon\r\n\r\n", "malformed trailer field" },
      }
      for _, case in ipairs(bad) do
        local r, err = parse_all_ways(HEAD .. case[1])
        assert.is_nil(r, case[1])
        assert(err:find(case[2], 1, true), case[1] .. ": " .. tostring(err))
        local p = core.http1_response_parser()
        local items, msg, kind = p:feed(HEAD .. case[1])
        assert.is_nil(items)
        assert.equal(err, msg)
        assert.equal("malformed", kind)
      end
    end)
  end)

  describe("max_body_bytes", function()
    local function feed(opts, s)
      local p = core.http1_response_parser(opts)
      return p, p:feed(s)
    end

    it("refuses an announced Content-Length over the limit before any body byte", function()
      local _, items, err, kind = feed({ max_body_bytes = 1000 },
        "HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n" .. string.rep("x", 100))
      assert.is_nil(items)
      assert.equal("too_large", kind)
      assert.matches("10737418240 bytes %(Content%-Length%) exceeds the limit of 1000 bytes", err)
      -- exactly the limit is fine
      local _, ok = feed({ max_body_bytes = 5 }, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
      assert.equal("done", ok[#ok].kind)
      -- HEAD announces a length without a body
      _, ok = feed({ max_body_bytes = 5, head_request = true }, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n")
      assert.equal("done", ok[#ok].kind)
    end)

    it("refuses a chunked body growing past the limit, and an announced chunk size over it", function()
      local p = core.http1_response_parser({ max_body_bytes = 10 })
      local items = assert(p:feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"))
      assert.equal("hello", items[2].data)
      assert(p:feed("5\r\nworld\r\n"))
      local none, err, kind = p:feed("1\r\n!\r\n0\r\n\r\n")
      assert.is_nil(none)
      assert.equal("too_large", kind)
      assert.matches("exceeds the limit of 10 bytes", err)
      local _, none2, _, kind2 = feed({ max_body_bytes = 10 },
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n")
      assert.is_nil(none2)
      assert.equal("too_large", kind2)
    end)

    it("refuses a close-delimited body growing past the limit", function()
      local p = core.http1_response_parser({ max_body_bytes = 4 })
      assert(p:feed("HTTP/1.1 200 OK\r\n\r\nabcd"))
      local none, _, kind = p:feed("e")
      assert.is_nil(none)
      assert.equal("too_large", kind)
    end)

    it("is no limit with math.huge", function()
      local _, items = feed({ max_body_bytes = math.huge }, "HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n")
      assert.equal("head", items[1].kind)
    end)

    it("rejects a bad limit", function()
      assert.has_error(function() core.http1_response_parser({ max_body_bytes = -1 }) end)
      assert.has_error(function() core.http1_response_parser({ max_body_bytes = "big" }) end)
      assert.has_error(function() core.http1_response_parser({ max_body_bytes = 0 / 0 }) end)
      assert.has_error(function() core.http1_response_parser(42) end)
    end)
  end)

  it("reports truncation with kind 'truncated'", function()
    local p = core.http1_response_parser()
    assert(p:feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
    local none, err, kind = p:finish()
    assert.is_nil(none)
    assert.matches("^truncated", err)
    assert.equal("truncated", kind)
  end)

  it("stays failed after an error", function()
    local p = core.http1_response_parser()
    assert.is_nil((p:feed("garbage\r\n\r\n")))
    local items, err = p:feed("HTTP/1.1 200 OK\r\n\r\n")
    assert.is_nil(items)
    assert.is_string(err)
  end)

  it("reports truncated bodies on finish()", function()
    local _, err = parse({ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc" }, nil, true)
    assert.matches("^truncated", err)
    _, err = parse({ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc" }, nil, true)
    assert.matches("^truncated", err)
    _, err = parse({ "HTTP/1.1 200 OK\r\nContent-Le" }, nil, true)
    assert.matches("^truncated", err)
    _, err = parse({}, nil, true)
    assert.matches("^truncated", err)
  end)

  it("limits the head to 64 KiB and 100 headers", function()
    local _, err = parse({ "HTTP/1.1 200 OK\r\nX: " .. string.rep("a", 70 * 1024) .. "\r\n\r\n" })
    assert.matches("too large", err)
    local function with_headers(n)
      local t = { "HTTP/1.1 204 No Content\r\n" }
      for i = 1, n do t[#t + 1] = "H" .. i .. ": v\r\n" end
      t[#t + 1] = "\r\n"
      return table.concat(t)
    end
    assert.truthy(parse({ with_headers(100) }).done)
    _, err = parse({ with_headers(101) })
    assert.matches("too many headers", err)
  end)
end)
