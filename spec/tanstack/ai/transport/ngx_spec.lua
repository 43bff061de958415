-- tanstack.ai.transport.ngx against a stand-in `ngx` (scripted cosockets): the Request object's steps. The real
-- nginx runs the shared transport cases: spec/openresty/transport_cases.lua, conformance_ngx.lua.
local transport = require("tanstack.ai.transport.ngx")

-- A socket answering from a script: the chunks receiveany hands out, then "closed" (or the script's errors).
local function fake_socket(script, log)
  local s = { script = script, sent = {}, i = 0 }
  function s:settimeouts() end
  function s:connect(hostname, port, opts)
    log[#log + 1] = "connect " .. hostname .. ":" .. port .. " " .. opts.pool
    return true
  end
  function s:getreusedtimes() return script.reused or 0 end
  function s:sslhandshake() return true end
  function s:send(bytes)
    if script.send_error then return nil, script.send_error end
    self.sent[#self.sent + 1] = bytes
    return #bytes
  end
  function s:receiveany()
    self.i = self.i + 1
    local c = script.chunks[self.i]
    if c == nil then return nil, "closed" end
    if type(c) == "table" then return nil, c.err end
    return c
  end
  function s:setkeepalive() log[#log + 1] = "keepalive" return 1 end
  function s:close() log[#log + 1] = "close" return 1 end
  return s
end

local function fake_ngx(scripts, log)
  local t, n = 1000, 0
  return {
    get_phase = function() return "content" end,
    update_time = function() end,
    now = function() return t end,
    advance = function(s) t = t + s end,
    sleep = function() end,
    socket = { tcp = function()
      n = n + 1
      return fake_socket(scripts[n], log)
    end },
  }
end

local OK = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"

describe("transport.ngx (stand-in ngx)", function()
  local real
  before_each(function() real = rawget(_G, "ngx") end)
  after_each(function() rawset(_G, "ngx", real) end)

  it("a response read whole; the connection goes back to the pool", function()
    local log = {}
    rawset(_G, "ngx", fake_ngx({ { chunks = { OK } } }, log))
    local progress = {}
    local res = assert(transport.request({ url = "http://Example.test:8080/p?q=1", method = "POST", body = "abc",
      on_progress = function(done, total, phase) progress[#progress + 1] = phase .. " " .. done .. "/" .. total end }))
    assert.equals(200, res.status)
    assert.equals("text/plain", res.headers["content-type"])
    assert.equals("hello", res.read())
    assert.is_nil(res.read())
    assert.same({ "connect example.test:8080 http:example.test:8080:example.test", "keepalive" }, log)
    assert.same({ "upload 3/3", "download 5/5" }, progress)
    assert.is_false(res.info().reused)
  end)

  it("a dead pooled connection is retried once on a fresh one", function()
    local log = {}
    rawset(_G, "ngx", fake_ngx({ { reused = 1, send_error = "closed", chunks = {} }, { chunks = { OK } } }, log))
    local res = assert(transport.request({ url = "http://h.test/" }))
    assert.equals("hello", res.read())
    assert.equals(2, #(function() local c = {} for _, l in ipairs(log) do if l:find("^connect") then c[#c + 1] = l end end return c end)())
  end)

  it("idle timeout: the read fails with kind timeout and the socket is closed", function()
    local log = {}
    rawset(_G, "ngx", fake_ngx({ { chunks = { "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", { err = "timeout" } } } },
      log))
    local res = assert(transport.request({ url = "http://h.test/", idle_timeout = 50 }))
    assert.equals("abc", res.read())
    local s, err = res.read()
    assert.is_nil(s)
    assert.equals("timeout", err.kind)
    assert.matches("idle timeout: no data for 50 ms", err.message)
    assert.equals("close", log[#log])
    -- sticky
    assert.equals(err, select(2, res.read()))
  end)

  it("a close-delimited body ends when the server closes; a cut-short length is a network error", function()
    rawset(_G, "ngx", fake_ngx({ { chunks = { "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it" } },
      { chunks = { "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort" } } }, {}))
    local res = assert(transport.request({ url = "http://h.test/" }))
    assert.equals("all of it", res.read())
    assert.is_nil(res.read())
    res = assert(transport.request({ url = "http://h.test/" }))
    assert.equals("short", res.read())
    local _, err = res.read()
    assert.equals("network", err.kind)
  end)

  it("close is idempotent; a read after it is canceled", function()
    rawset(_G, "ngx", fake_ngx({ { chunks = { "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc" } } }, {}))
    local res = assert(transport.request({ url = "http://h.test/" }))
    res.close()
    res.close()
    local _, err = res.read()
    assert.equals("canceled", err.kind)
  end)

end)

describe("transport.ngx Request steps and checks", function()
  local real
  before_each(function() real = rawget(_G, "ngx") end)
  after_each(function() rawset(_G, "ngx", real) end)

  it("Request:wait_bound: the idle timeout, the total deadline, or nothing", function()
    local n = fake_ngx({}, {})
    local r = setmetatable({ ngx = n, idle = 200, deadline = nil }, transport.Request)
    assert.same({ 200, "idle" }, { r:wait_bound() })
    r.deadline = 1000 * 1000 + 50
    assert.same({ 50, "total" }, { r:wait_bound() })
    n.advance(1)
    assert.same({ nil, "expired" }, { r:wait_bound() })
    r.idle, r.deadline = nil, nil
    assert.same({ 60000 }, { r:wait_bound() })
  end)

  it("outside nginx, and with bad options, it raises", function()
    rawset(_G, "ngx", nil)
    assert.has_error(function() transport.request({ url = "http://h.test/" }) end)
    rawset(_G, "ngx", fake_ngx({}, {}))
    assert.has_error(function() transport.request("http://h.test/") end)
    assert.has_error(function() transport.request({ url = "ftp://h.test/" }) end)
    assert.has_error(function() transport.request({ url = "http://h.test/", max_response_bytes = -1 }) end)
    assert.has_error(function() transport.request({ url = "http://h.test/", headers = { ["Bad Name"] = "x" } }) end)
  end)
end)
