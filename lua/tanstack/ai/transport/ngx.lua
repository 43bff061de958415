-- The OpenResty transport: HTTP/1.1 over nginx cosockets (ngx.socket.tcp), so an in-flight request yields to
-- nginx's event loop instead of blocking the worker. Same interface and error kinds as transport/curl.lua:
--   request(req) -> { status, headers (lower-case), read, close, info } | nil, err
--   req: method, url, headers (map or "Name: value" array), body, timeout (total, ms), connect_timeout (ms),
--        idle_timeout (ms without a byte), ca_file (ignored: nginx verifies with lua_ssl_trusted_certificate),
--        max_response_bytes: response body bytes allowed (a number >= 0; nil: any). A final head announcing a larger
--          Content-Length fails request() before a byte of the body is read; a chunked or close-delimited body
--          growing past it (or a chunk size announcing more) fails the read() that would pass it. Both: nil, err
--          with err.kind "too_large" (not retryable); no byte past the limit is ever handed out.
--   A header name or value holding a control character other than HTAB (0x00-0x08, 0x0A-0x1F, 0x7F) raises; the
--   message names the header, never its value.
--   on_progress(done, total, phase): "upload" once the body has been sent, then "download" after each read
--     (total: the Content-Length, 0 when unknown); as in transport/curl.lua
--   read() -> bytes | nil (end) | nil, err;  close() stops the request (idempotent)
-- Response framing (status line, headers, Content-Length, chunked, close-delimited) is the C core's sans-I/O
-- parser (core.http1_response_parser): lenient where RFC 9112 lets a client be in the head (bare LF, obs-fold),
-- strict in the chunked framing (RFC 9112 7.1). TLS: sslhandshake(nil, host, true) -- certificate verification is
-- always on; nginx needs `lua_ssl_trusted_certificate` (and a `resolver` for host names). A connection goes back
-- to the keep-alive pool (setkeepalive) only after a complete keep-alive response was read; any early stop, a
-- malformed response and a body over max_response_bytes close it.
-- Usable in the rewrite, access, content and timer phases (where cosockets exist). Lua 5.1 syntax.
local core = require("tanstack.ai.core")
local errors = require("tanstack.ai.errors")
local host = require("tanstack.ai.host")
local queue = require("tanstack.ai.queue")

local type, tostring, tonumber, pairs, error, pcall = type, tostring, tonumber, pairs, error, pcall
local setmetatable = setmetatable
local concat, floor = table.concat, math.floor
local byte, find, lower, sub = string.byte, string.find, string.lower, string.sub

local _M = { name = "ngx" }

-- Tunables (module fields so a host can change them).
_M.keepalive_timeout = 60000   -- ms a pooled connection may idle
_M.pool_size = 32              -- connections kept per pool (per worker)
_M.default_connect_timeout = 300000 -- libcurl's built-in default, for parity
-- bytes asked of one receive; nginx hands out at most `lua_socket_buffer_size` (4k/8k unless set; the example config
-- sets 64k) per receive, and a relay writes once per read: larger reads, fewer writes
_M.read_chunk = 65536
_M.yield_every = 64            -- reads that found data without waiting before an explicit ngx.sleep(0)

local MAX_WAIT = 60000 -- a single cosocket wait when no timeout applies (we just wait again)

local function get_ngx()
  local n = host.ngx()
  if n == nil or type(n.socket) ~= "table" then
    error("tanstack.ai.transport.ngx needs OpenResty (ngx.socket.tcp)", 3)
  end
  return n
end

local function now_ms(ngx)
  ngx.update_time()
  return ngx.now() * 1000
end

local function failure(msg, kind)
  -- a body over max_response_bytes would be as large on a retry
  return errors.new({ message = msg or "request failed", kind = kind or "network",
    retryable = (kind == "too_large") and false or nil })
end

local function canceled()
  return errors.new({ message = "request is closed", kind = "canceled", retryable = false })
end

-- RFC 9110 token characters (header names, methods).
local TCHAR = {}
for c in ("!#$%&'*+-.^_`|~"):gmatch(".") do TCHAR[byte(c)] = true end
for i = 48, 57 do TCHAR[i] = true end
for i = 65, 90 do TCHAR[i] = true end
for i = 97, 122 do TCHAR[i] = true end

local function is_token(s)
  if type(s) ~= "string" or s == "" then return false end
  for i = 1, #s do
    if not TCHAR[byte(s, i)] then return false end
  end
  return true
end

-- A header name for an error message: printable ASCII as is, other bytes as \xNN, at most 64 bytes shown.
local function printable(name)
  if type(name) ~= "string" then return tostring(name) end
  local shown = sub(name, 1, 64):gsub(".", function(c)
    local b = byte(c)
    if b < 32 or b > 126 or c == "'" or c == "\\" then return string.format("\\x%02x", b) end
  end)
  return #name > 64 and (shown .. "...") or shown
end

-- A control character (RFC 5234 CTL) other than HTAB: never in a field value (RFC 9110 5.5).
local CTL_NOT_HTAB = "[%z\1-\8\10-\31\127]"

--- Split an http(s) URL. Returns { scheme, host (for connect), port, authority (Host header), path } or nil, msg.
function _M.parse_url(url)
  if type(url) ~= "string" then return nil, "option 'url' is required" end
  local scheme, rest = url:match("^([hH][tT][tT][pP][sS]?)://(.*)$")
  if not scheme then return nil, "option 'url' must be an http:// or https:// URL" end
  scheme = lower(scheme)
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  if find(authority, "@", 1, true) then
    authority = authority:match("@([^@]*)$") -- userinfo is never sent
  end
  if authority == "" then return nil, "URL has no host" end
  local hostpart, port
  if sub(authority, 1, 1) == "[" then
    hostpart, port = authority:match("^(%[[%x:.]+%])(.*)$")
    if not hostpart then return nil, "malformed IPv6 host in URL" end
  else
    hostpart, port = authority:match("^([^:]+)(.*)$")
    if not hostpart then return nil, "URL has no host" end
  end
  if port ~= "" then
    port = port:match("^:(%d+)$")
    if not port then return nil, "malformed port in URL" end
    port = tonumber(port)
    if port < 1 or port > 65535 then return nil, "port out of range in URL" end
  else
    port = scheme == "https" and 443 or 80
  end
  path = path:gsub("#.*$", "")
  if path == "" then path = "/" elseif sub(path, 1, 1) == "?" then path = "/" .. path end
  if find(path, "[%s%c]") then return nil, "URL path contains spaces or control characters" end
  local default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
  local hostname = lower(hostpart)
  return {
    scheme = scheme,
    host = hostname,
    -- nginx without a resolver cannot look up "localhost"; it is loopback by definition
    connect_host = (hostname == "localhost") and "127.0.0.1" or hostname,
    sni = (sub(hostname, 1, 1) ~= "[" and not hostname:match("^[%d.]+$")) and hostname or nil,
    port = port,
    authority = default_port and hostname or (hostname .. ":" .. port),
    path = path,
  }
end

-- Build the request head. Raises on invalid methods/headers (programmer errors, as the curl transport does).
local function request_head(req, u)
  local method = req.method or "GET"
  if not is_token(method) then error("invalid HTTP method", 4) end
  local lines = { method .. " " .. u.path .. " HTTP/1.1", "Host: " .. u.authority }
  local seen = {}
  local function add(name, value)
    if name == "" then error("empty header name", 5) end
    if not is_token(name) then
      error("invalid header name '" .. printable(name)
        .. "' (must be an HTTP token: no space, separator or control character)", 5)
    end
    if type(value) == "number" then value = tostring(value) end
    if type(value) ~= "string" then error("header '" .. name .. "' must have a string value", 5) end
    -- the message names the header, never the value (it may be a key)
    if find(value, CTL_NOT_HTAB) then
      error("header '" .. name .. "' has a control character in its value (only HTAB is allowed)", 5)
    end
    value = value:gsub("^[ \t]+", "")
    local l = lower(name)
    -- framing headers are ours
    if l == "host" or l == "content-length" or l == "transfer-encoding" or l == "connection" then return end
    seen[l] = true
    lines[#lines + 1] = name .. ": " .. value
  end
  local h = req.headers
  if h ~= nil then
    if type(h) ~= "table" then error("option 'headers' must be a table", 4) end
    for k, v in pairs(h) do
      if type(k) == "number" then
        if type(v) ~= "string" or not find(v, ":", 1, true) then
          error("array headers must be \"Name: value\" strings", 4)
        end
        local name, value = v:match("^([^:]*):(.*)$")
        add(name, value)
      elseif type(k) == "string" then
        add(k, v)
      else
        error("header names must be strings", 4)
      end
    end
  end
  if not seen["accept"] then lines[#lines + 1] = "Accept: */*" end
  local body = req.body
  if body ~= nil and type(body) ~= "string" then error("option 'body' must be a string", 4) end
  if method == "HEAD" then body = nil end
  if body ~= nil then
    lines[#lines + 1] = "Content-Length: " .. #body
  elseif method == "POST" or method == "PUT" or method == "PATCH" then
    lines[#lines + 1] = "Content-Length: 0"
  end
  lines[#lines + 1] = "Connection: keep-alive"
  lines[#lines + 1] = ""
  lines[#lines + 1] = body or ""
  return concat(lines, "\r\n"), method
end

local function positive(v)
  v = tonumber(v)
  if v and v > 0 then return v end
  return nil
end

-- One request's state: the connection, the parser, the body bytes not handed out yet, and how it ended. Every
-- step is a method; request() below is the transport interface over it.
local Request = {}
Request.__index = Request
_M.Request = Request

function Request:left()
  if not self.deadline then return nil end
  return self.deadline - now_ms(self.ngx)
end

function Request:total_timeout_error()
  return failure("request timed out after " .. floor(self.total) .. " ms", "timeout")
end

-- A connect or handshake that timed out: the total deadline's, or the connect timeout's.
function Request:connect_timeout_error(limited_by_total)
  if limited_by_total then return self:total_timeout_error() end
  return failure("connect timeout after " .. floor(self.connect_ms) .. " ms", "timeout")
end

-- TLS on a fresh connection (a pooled one did its handshake already).
function Request:handshake(limited_by_total)
  local u, sock = self.u, self.sock
  local sess, herr = sock:sslhandshake(nil, u.sni or u.host, true)
  if sess then return true end
  sock:close()
  self.sock = nil
  if herr == "timeout" then return nil, self:connect_timeout_error(limited_by_total) end
  return nil, failure("TLS handshake with " .. u.authority .. " failed: " .. tostring(herr), "tls")
end

--- Connect (from the pool when it has a connection): true, or nil, err.
function Request:connect()
  local u = self.u
  local sock = self.ngx.socket.tcp()
  self.sock = sock
  local cto = self.connect_ms
  local limited_by_total = false
  local l = self:left()
  if l then
    if l <= 0 then return nil, self:total_timeout_error() end
    if l < cto then cto = l; limited_by_total = true end
  end
  sock:settimeouts(floor(cto) > 0 and floor(cto) or 1, MAX_WAIT, MAX_WAIT)
  local ok, err = sock:connect(u.connect_host, u.port, { pool = self.pool })
  if not ok then
    self.sock = nil
    if err == "timeout" then return nil, self:connect_timeout_error(limited_by_total) end
    return nil, failure("failed to connect to " .. u.authority .. ": " .. tostring(err), "connect")
  end
  self.reused = (sock:getreusedtimes() or 0) > 0
  if u.scheme == "https" and not self.reused then return self:handshake(limited_by_total) end
  return true
end

--- Give the socket away: to the keep-alive pool after a complete keep-alive response, else closed.
function Request:release(keep_alive)
  local s = self.sock
  self.sock = nil
  if not s then return end
  if keep_alive then
    local ok = s:setkeepalive(_M.keepalive_timeout, _M.pool_size)
    if ok then return end
  end
  s:close()
end

-- The parser's items: the head, body bytes, the end.
function Request:take(items)
  for i = 1, #items do
    local it = items[i]
    local k = it.kind
    if k == "head" then
      self.head = it
    elseif k == "body" then
      self.body:push(it.data)
    elseif k == "done" then
      self.complete = true
      self:release(it.keep_alive)
    end
  end
end

-- A failure: sticky, and the connection is closed.
function Request:fail(err)
  self.failed = err
  self:release(false)
  return nil, err
end

-- How long the next receive may wait, and what ends it: nil (nothing: wait again), "idle" or "total".
function Request:wait_bound()
  local wait, bound = MAX_WAIT, nil
  if self.idle then wait, bound = self.idle, "idle" end
  local l = self:left()
  if l then
    if l <= 0 then return nil, "expired" end
    if l <= wait then wait, bound = l, "total" end
  end
  wait = floor(wait)
  if wait < 1 then wait = 1 end
  return wait, bound
end

-- Bytes arrived: feed the parser (and let nginx run other requests when the upstream never makes us wait).
function Request:on_data(data, t0)
  local ngx = self.ngx
  self.got_bytes = true
  if now_ms(ngx) - t0 < 1 then
    self.busy_reads = self.busy_reads + 1
    if self.busy_reads >= _M.yield_every then
      self.busy_reads = 0
      ngx.sleep(0.001) -- a fast upstream must not monopolise the worker
    end
  end
  local items, perr, pkind = self.parser:feed(data)
  if not items then
    -- the connection is closed (fail -> release(false)), never pooled: its framing is lost
    if pkind == "too_large" then return self:fail(failure(tostring(perr) .. " (max_response_bytes)", "too_large")) end
    return self:fail(failure("malformed HTTP response: " .. tostring(perr), "network"))
  end
  self:take(items)
  return true
end

-- The server closed the connection: the end of a close-delimited body, or a response cut short.
function Request:on_closed()
  local items, perr = self.parser:finish()
  if not items then
    return self:fail(failure("connection closed before the response was complete (" .. tostring(perr) .. ")",
      "network"))
  end
  self:take(items)
  if not self.complete then
    return self:fail(failure("connection closed before the response was complete", "network"))
  end
  return true
end

--- Wait for more bytes; feed the parser. Returns true, or nil, err (err sticky in `failed`).
function Request:pump()
  local wait, bound = self:wait_bound()
  if not wait then return self:fail(self:total_timeout_error()) end
  local sock = self.sock
  sock:settimeouts(MAX_WAIT, MAX_WAIT, wait)
  local t0 = now_ms(self.ngx)
  local data, err = sock:receiveany(_M.read_chunk)
  if self.closed then -- closed by another light thread while we waited
    self:release(false)
    return nil, canceled()
  end
  if data then return self:on_data(data, t0) end
  if err == "timeout" then
    if bound == "total" then return self:fail(self:total_timeout_error()) end
    if bound == "idle" then
      return self:fail(failure("idle timeout: no data for " .. floor(self.idle) .. " ms", "timeout"))
    end
    return true -- nothing bounds the wait: wait again
  end
  if err == "closed" then return self:on_closed() end
  return self:fail(failure("receive failed from " .. self.u.authority .. ": " .. tostring(err), "network"))
end

-- Send the request head and body: true, "stale" (a pooled connection that was dead: try a fresh one), or nil, err.
function Request:send(attempt)
  local send_wait, send_bound = MAX_WAIT, nil
  local l = self:left()
  if l and l <= send_wait then send_wait, send_bound = l, "total" end
  self.sock:settimeouts(MAX_WAIT, send_wait >= 1 and floor(send_wait) or 1, MAX_WAIT)
  local sent, serr = self.sock:send(self.head_bytes)
  if sent then return true end
  self:release(false)
  if self.reused and attempt == 1 and serr ~= "timeout" then return "stale" end
  if serr == "timeout" and send_bound == "total" then return nil, self:total_timeout_error() end
  return nil, failure("send failed to " .. self.u.authority .. ": " .. tostring(serr), "network")
end

-- Read until the response head is here: true, "stale" (as send), or nil, err.
function Request:read_head(attempt)
  while not self.head do
    local ok, err = self:pump()
    if not ok then
      if self.reused and attempt == 1 and not self.got_bytes and err and err.kind == "network" then return "stale" end
      return nil, err
    end
    if self.complete and not self.head then
      return nil, failure("response ended without a head", "network")
    end
  end
  return true
end

--- Connect, send, read the head: true, or nil, err. One transparent retry when a pooled connection turns out to
--- be dead.
function Request:open()
  local attempt = 0
  while true do
    attempt = attempt + 1
    local ok, err = self:connect()
    if not ok then return nil, err end
    self.parser = core.http1_response_parser({ head_request = self.method == "HEAD", max_body_bytes = self.max_body })
    self.body, self.head, self.complete, self.failed, self.got_bytes = queue.new(), nil, false, nil, false
    ok, err = self:send(attempt)
    if ok == true then ok, err = self:read_head(attempt) end
    if ok == true then return true end
    if ok ~= "stale" then return nil, err end
    -- a pooled connection the server had already closed: go again on a fresh one
  end
end

--- The body bytes parsed so far (one string per read), nil at the end, or nil, err.
function Request:read()
  if self.closed then return nil, canceled() end
  while true do
    local s = self.body:join()
    if s ~= nil then
      local progress = self.progress
      if progress then
        self.received = self.received + #s
        progress(self.received, self.announced, "download")
      end
      return s
    end
    if self.failed then return nil, self.failed end
    if self.complete then return nil end
    local ok, err = self:pump()
    if not ok then
      if self.closed then return nil, canceled() end
      return nil, err
    end
  end
end

--- Stop the request (idempotent).
function Request:close()
  if self.closed then return end
  self.closed = true
  local sock = self.sock
  if self.complete or not sock then return end -- already back in the pool (or closed)
  -- fails with "socket busy reading" when another light thread waits on it: that thread closes it when it
  -- wakes up (it sees `closed`), and nginx does when the request ends
  local ok, r = pcall(sock.close, sock)
  if ok and r then self.sock = nil end
end

-- The checked options of request(): a Request, not connected yet. Raises on a programmer error.
local function new_request(ngx, req)
  if type(req) ~= "table" then error("request options must be a table", 3) end
  local u, uerr = _M.parse_url(req.url)
  if not u then error(uerr, 3) end
  local head_bytes, method = request_head(req, u)
  local max_body = req.max_response_bytes
  if max_body ~= nil and (type(max_body) ~= "number" or max_body ~= max_body or max_body < 0) then -- NaN too
    error("option 'max_response_bytes' must be a number >= 0", 3)
  end
  local total = positive(req.timeout)
  return setmetatable({
    ngx = ngx, u = u, head_bytes = head_bytes, method = method, max_body = max_body,
    total = total, idle = positive(req.idle_timeout),
    connect_ms = positive(req.connect_timeout) or _M.default_connect_timeout,
    deadline = total and (now_ms(ngx) + total) or nil,
    pool = u.scheme .. ":" .. u.host .. ":" .. u.port .. ":" .. (u.sni or ""),
    sock = nil, reused = false, parser = nil,
    body = queue.new(),     -- body bytes parsed but not yet handed out
    head = nil,             -- the response head item
    complete = false,       -- the parser reported "done"
    failed = nil,           -- sticky error value
    closed = false,         -- the caller closed (or we gave the socket away)
    got_bytes = false, busy_reads = 0,
    progress = req.on_progress, received = 0, announced = 0,
  }, Request)
end

--- One request. See the header of this file.
function _M.request(req)
  local r = new_request(get_ngx(), req)
  local ok, err = r:open()
  if not ok then return nil, err end
  local head = r.head
  local body_len = type(req.body) == "string" and #req.body or 0
  -- one send: the body has left when the head is here
  if r.progress then r.progress(body_len, body_len, "upload") end
  r.announced = tonumber(head.headers and head.headers["content-length"]) or 0
  local was_reused = r.reused
  return {
    status = head.status, headers = head.headers, reason = head.reason, version = head.version,
    read = function() return r:read() end,
    close = function() return r:close() end,
    info = function() return { status = head.status, reused = was_reused, version = head.version } end,
  }
end

--- Sleep without blocking the worker.
function _M.sleep(ms)
  local ngx = get_ngx()
  ngx.sleep((tonumber(ms) or 0) / 1000)
end

return _M
