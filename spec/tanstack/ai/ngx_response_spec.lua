-- tanstack.ai.ngx_response outside nginx: a stub `ngx` global (what lua-nginx-module gives a content handler:
-- get_phase, status, header, send_headers, headers_sent, print, flush, on_abort, exit) that records every call,
-- so each test sees the order of the writes, the headers as nginx would send them, and when the upstream is
-- canceled. The module finds nginx through tanstack.ai.host (host.ngx: an `ngx` table with get_phase).
-- For real, spec/openresty/nginx_test.lua runs it in nginx: TanStack's SSE / NDJSON headers and chunked body on
-- the wire, a client leaving with lua_check_client_abort on (the source canceled, the request ended 499) and
-- off (the failed write cancels the source, "client went away"); coalesce_spec.lua checks one write per read.
local ngx_response = require("tanstack.ai.ngx_response")
local host = require("tanstack.ai.host")

-- A recording ngx. o.fail_print_at / o.fail_flush_at: the n-th call fails (nil, "broken pipe");
-- o.send_headers_err: send_headers fails; o.headers_sent: headers already out.
local function fake_ngx(o)
  o = o or {}
  local n = { calls = {}, header = {}, headers_sent = o.headers_sent or false, prints = 0, flushes = 0 }
  local function log(...) n.calls[#n.calls + 1] = table.concat({ ... }, " ") end
  n.get_phase = function() return "content" end
  n.on_abort = function(fn)
    n.abort_handler = fn
    log("on_abort")
    return 1
  end
  n.send_headers = function()
    log("send_headers", tostring(n.status))
    if o.send_headers_err then return nil, o.send_headers_err end
    n.headers_sent = true
    return 1
  end
  n.print = function(s)
    n.prints = n.prints + 1
    if n.prints == o.fail_print_at then return nil, "broken pipe" end
    log("print", s)
    return 1
  end
  n.flush = function(wait)
    n.flushes = n.flushes + 1
    log("flush", tostring(wait))
    if n.flushes == o.fail_flush_at then return nil, "broken pipe" end
    return 1
  end
  n.exit = function(code) log("exit", tostring(code)) end
  return n
end

-- An iterator body over pieces; counts the cancel calls of the response.
local function response(pieces, extra)
  local r = { canceled = 0, status = 200, headers = { ["content-type"] = "text/event-stream" } }
  local i = 0
  r.body = type(pieces) == "table" and function()
    i = i + 1
    return pieces[i]
  end or pieces
  r.cancel = function() r.canceled = r.canceled + 1 end
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

describe("tanstack.ai.ngx_response", function()
  local saved
  before_each(function() saved = rawget(_G, "ngx") end)
  after_each(function() rawset(_G, "ngx", saved) end)

  it("raises outside nginx, and with an ngx table host.lua does not take for nginx (no get_phase)", function()
    rawset(_G, "ngx", nil)
    assert.is_false(host.is_nginx())
    assert.has_error(function() ngx_response.send(response({})) end,
      "tanstack.ai.ngx_response needs OpenResty (ngx.print)")
    local n = fake_ngx()
    n.get_phase = nil
    rawset(_G, "ngx", n)
    assert.is_false(host.is_nginx())
    assert.has_error(function() ngx_response.send(response({})) end,
      "tanstack.ai.ngx_response needs OpenResty (ngx.print)")
    assert.same({}, n.calls)
  end)

  it("status and headers first (flushed before the first piece), then print + flush(true) per piece", function()
    local n = fake_ngx()
    rawset(_G, "ngx", n)
    assert.is_true(host.is_nginx())
    local r = response({ "data: a\n\n", "data: b\n\n" }, { status = 201 })
    assert.is_true(ngx_response.send(r))
    assert.equal(201, n.status)
    assert.same({ "on_abort", "send_headers 201", "flush true", "print data: a\n\n", "flush true",
      "print data: b\n\n", "flush true" }, n.calls)
    assert.equal(0, r.canceled)
    assert.is_function(n.abort_handler) -- registered, not run
  end)

  it("sends header names canonically cased, without the ones nginx owns for the connection", function()
    local n = fake_ngx()
    rawset(_G, "ngx", n)
    assert.is_true(ngx_response.send(response({}, { headers = { ["content-type"] = "text/event-stream",
      ["cache-control"] = "no-cache", ["x-accel-buffering"] = "no", ["Connection"] = "keep-alive",
      ["transfer-encoding"] = "chunked", ["Content-Length"] = "12", ["keep-alive"] = "timeout=5" } })))
    assert.same({ ["Content-Type"] = "text/event-stream", ["Cache-Control"] = "no-cache",
      ["X-Accel-Buffering"] = "no" }, n.header)
  end)

  it("defaults the status to 200; with the headers already sent, touches neither status nor headers", function()
    local n = fake_ngx()
    rawset(_G, "ngx", n)
    assert.is_true(ngx_response.send({ headers = {}, body = "x" }))
    assert.equal(200, n.status)
    n = fake_ngx({ headers_sent = true })
    rawset(_G, "ngx", n)
    assert.is_true(ngx_response.send(response({ "p" }, { status = 500 })))
    assert.is_nil(n.status)
    assert.same({}, n.header)
    assert.same({ "on_abort", "flush true", "print p", "flush true" }, n.calls)
  end)

  it("a string body is one print and one flush; no body only the head", function()
    local n = fake_ngx()
    rawset(_G, "ngx", n)
    assert.is_true(ngx_response.send(response("whole body")))
    assert.same({ "on_abort", "send_headers 200", "flush true", "print whole body", "flush true" }, n.calls)
    n = fake_ngx()
    rawset(_G, "ngx", n)
    assert.is_true(ngx_response.send({ status = 204 }))
    assert.same({ "on_abort", "send_headers 204", "flush true" }, n.calls)
  end)

  it("a client gone at a print or a flush: nil, 'client went away', the upstream canceled, no more reads", function()
    for _, o in ipairs({ { fail_print_at = 2 }, { fail_flush_at = 3 } }) do
      local n = fake_ngx(o)
      rawset(_G, "ngx", n)
      local asked = 0
      local r = response(nil)
      r.body = function()
        asked = asked + 1
        return "piece" .. asked
      end
      local ok, err = ngx_response.send(r)
      assert.is_nil(ok)
      assert.equal("client went away: broken pipe", err)
      assert.equal(1, r.canceled)
      assert.equal(2, asked)
    end
  end)

  it("a client gone while a string body is written: nil, err, and the response's cancel is called", function()
    local n = fake_ngx({ fail_print_at = 1 })
    rawset(_G, "ngx", n)
    local r = response("whole body")
    local ok, err = ngx_response.send(r)
    assert.is_nil(ok)
    assert.equal("client went away: broken pipe", err)
    assert.equal(1, r.canceled) -- "the upstream is canceled in both cases" (the module's contract)
  end)

  it("headers that cannot be sent, or the head's flush failing: nil, err, canceled, nothing printed", function()
    local n = fake_ngx({ send_headers_err = "header already sent" })
    rawset(_G, "ngx", n)
    local r = response({ "x" })
    local ok, err = ngx_response.send(r)
    assert.is_nil(ok)
    assert.equal("cannot send the response headers: header already sent", err)
    assert.equal(1, r.canceled)
    assert.equal(0, n.prints)
    n = fake_ngx({ fail_flush_at = 1 })
    rawset(_G, "ngx", n)
    r = response({ "x" })
    ok, err = ngx_response.send(r)
    assert.is_nil(ok)
    assert.equal("client went away: broken pipe", err)
    assert.equal(1, r.canceled)
    assert.equal(0, n.prints)
  end)

  it("a body that raises, or is neither a string nor a function: nil, err, canceled", function()
    local n = fake_ngx()
    rawset(_G, "ngx", n)
    local r = response(nil)
    local first = true
    r.body = function()
      if first then first = false return "ok" end
      error("decoder exploded", 0)
    end
    local ok, err = ngx_response.send(r)
    assert.is_nil(ok)
    assert.equal("response body failed: decoder exploded", err)
    assert.equal(1, r.canceled)
    assert.equal(1, n.prints)
    r = response(42)
    ok, err = ngx_response.send(r)
    assert.is_nil(ok)
    assert.equal("response body must be a string or an iterator function", err)
    assert.equal(1, r.canceled)
  end)

  it("the abort handler (lua_check_client_abort on) cancels the upstream and ends the request with 499", function()
    local n = fake_ngx()
    rawset(_G, "ngx", n)
    local r = response({ "a" })
    r.cancel = function()
      r.canceled = r.canceled + 1
      error("cancel raising must not stop the exit")
    end
    assert.is_true(ngx_response.send(r))
    n.calls = {}
    n.abort_handler()
    assert.equal(1, r.canceled)
    assert.same({ "exit 499" }, n.calls)
  end)

  it("a response without cancel is written the same, and a failure is still reported", function()
    local n = fake_ngx({ fail_print_at = 1 })
    rawset(_G, "ngx", n)
    local ok, err = ngx_response.send({ status = 200, body = function() return "x" end })
    assert.is_nil(ok)
    assert.equal("client went away: broken pipe", err)
    n.abort_handler() -- a no-op cancel, then the exit
    assert.equal("exit 499", n.calls[#n.calls])
  end)
end)
