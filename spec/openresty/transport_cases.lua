-- The transport conformance suite: one list of cases every transport must pass, run twice --
--   * under busted against the libcurl transport (spec/openresty/transport_curl_spec.lua), and
--   * inside nginx against the cosocket transport (spec/openresty/nginx_test.lua calls the test server's
--     /__conformance?case=<name> location, which runs the same case with tanstack.ai.transport.ngx).
-- Cases talk to the emulator's /__test/* routes (spec/emulator/lib/testroutes.js) and use the transport under test
-- for the emulator's control API too, so they run unchanged in both hosts. No busted here: a case raises on
-- failure. Lua 5.1 syntax (it runs in nginx's LuaJIT).
--
--   local cases = require("openresty.transport_cases")
--   local ok, err, ms = cases.run(name, ctx)
--   ctx: { transport = <transport module>, base = <emulator URL>, sleep = fn(ms), now_ms = fn(),
--          raw = fn(script name) -> URL answering with the bytes of cases.raw_scripts[name] }
-- The raw scripts (malformed framing the emulator cannot send) are served by
-- spec/tanstack/ai/transport/raw_server.lua for the libcurl run and by conformance_ngx.lua on a raw downstream
-- socket inside nginx (_M.raw_response: the n-th request naming a script on a connection gets its n-th response;
-- the connection closes after the last).
local json = require("tanstack.ai.json")

local type, tostring, pairs, ipairs, pcall, error = type, tostring, pairs, ipairs, pcall, error
local format, concat = string.format, table.concat

local _M = {}

local list = {}
local by_name = {}

local function case(name, fn)
  list[#list + 1] = name
  by_name[name] = fn
end

_M.names = list

---------------------------------------------------------------------------------------------------
-- helpers
---------------------------------------------------------------------------------------------------

local function fail(fmt, ...)
  error(format(fmt, ...), 0)
end

local function check(cond, fmt, ...)
  if not cond then fail(fmt, ...) end
end

local function tag()
  return format("t%06d%06d", math.random(0, 999999), math.random(0, 999999))
end

-- Read to the end (bounded). Returns body, nil | partial body, err.
local function read_all(res, max_reads)
  local buf = {}
  for _ = 1, max_reads or 100000 do
    local chunk, err = res.read()
    if chunk == nil then
      if err then return concat(buf), err end
      return concat(buf)
    end
    if chunk ~= false then buf[#buf + 1] = chunk end
  end
  fail("read_all: too many reads")
end

local function request_ok(ctx, req)
  local res, err = ctx.transport.request(req)
  check(res ~= nil, "%s %s failed: %s", req.method or "GET", req.url, tostring(err))
  return res
end

-- The emulator's control API, through the transport under test.
local function control(ctx, method, path, body)
  local res = request_ok(ctx, { method = method, url = ctx.base .. path, timeout = 10000,
    headers = body and { ["content-type"] = "application/json" } or nil, body = body and json.encode(body) or nil })
  local text, err = read_all(res)
  check(err == nil, "control %s: %s", path, tostring(err))
  res.close()
  local v = json.decode(text)
  check(v ~= nil, "control %s: not JSON: %s", path, text:sub(1, 200))
  return v
end

local function records_with_tag(ctx, t)
  local all = control(ctx, "GET", "/__emulator/requests")
  local out = {}
  for _, r in ipairs(all) do
    if type(r.query) == "table" and r.query.tag == t then out[#out + 1] = r end
  end
  return out
end

local function wait_for(ctx, fn, timeout_ms)
  local deadline = ctx.now_ms() + (timeout_ms or 3000)
  while true do
    local v = fn()
    if v then return v end
    if ctx.now_ms() > deadline then return nil end
    ctx.sleep(50)
  end
end

local function pattern_bytes(n, offset)
  local t = {}
  for i = 0, n - 1 do t[#t + 1] = string.char((i + (offset or 0)) % 256) end
  return concat(t)
end

---------------------------------------------------------------------------------------------------
-- raw scripts: the responses of a raw server, byte for byte, one per request on a connection
---------------------------------------------------------------------------------------------------

local function chunked(framing, keep_alive)
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
    .. (keep_alive and "" or "Connection: close\r\n") .. "\r\n" .. framing
end

local function with_length(body)
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

-- Malformed chunked framing (RFC 9112 7.1): each must be refused, never read as the body "abc".
local MALFORMED_CHUNKED = {
  bare_lf_after_size = "3\nabc\r\n0\r\n\r\n",
  bare_lf_after_data = "3\r\nabc\n0\r\n\r\n",
  bare_lf_ending_last_chunk = "3\r\nabc\r\n0\n\r\n",
  bare_lf_final = "3\r\nabc\r\n0\r\n\n",
  space_after_size = "3 \r\nabc\r\n0\r\n\r\n",
  tab_after_size = "3\t\r\nabc\r\n0\r\n\r\n",
  empty_extension_name = "3;\r\nabc\r\n0\r\n\r\n",
  unclosed_quoted_extension = "3;a=\"b\r\nabc\r\n0\r\n\r\n",
}

_M.raw_scripts = {
  -- what RFC 9112 allows: BWS around ";" and "=", quoted strings, leading zeros, a trailer
  chunked_well_formed = { chunked("3 ; a = \"x;\\\"y\" ;b\r\nabc\r\n0003;c=d\r\ndef\r\n000\r\nT: 1\r\n\r\n") },
  -- the head tolerances a client may apply (RFC 9112 2.2 bare LF, 5.2 obs-fold); the chunk framing stays CRLF
  head_bare_lf_and_obs_fold = { "HTTP/1.1 200 OK\nContent-Type: text/plain\nX-Fold: a\n  b\n"
    .. "Transfer-Encoding: chunked\nConnection: close\n\n3\r\nabc\r\n0\r\n\r\n" },
  -- a keep-alive response, then a malformed one on the same connection, then (only if the transport wrongly kept
  -- the connection after the error) a third
  pooled_then_malformed = { with_length("first"), chunked(MALFORMED_CHUNKED.bare_lf_after_size, true),
    with_length("reused-after-error") },
  -- max_response_bytes
  close_delimited_5000 = { "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    .. string.rep("x", 5000) },
  chunk_size_4gib = { chunked("100000000\r\n" .. string.rep("y", 3000)) },
}
for name, framing in pairs(MALFORMED_CHUNKED) do
  _M.raw_scripts[name] = { chunked(framing) }
end

--- A raw server's answer to a request line on a connection: the n-th request naming a script there gets its n-th
--- response. counts: the connection's state (a table). Returns bytes, last (close the connection after them).
function _M.raw_response(request_line, counts)
  local name = type(request_line) == "string" and request_line:match("[?&]raw=([%w_]+)")
  local script = name and _M.raw_scripts[name]
  local i = script and (counts[name] or 0) + 1
  if not script or i > #script then
    return "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno script", true
  end
  counts[name] = i
  return script[i], i == #script
end

local function raw_url(ctx, name)
  check(ctx.raw, "this run has no raw server")
  check(_M.raw_scripts[name], "no raw script %s", name)
  return ctx.raw(name)
end

---------------------------------------------------------------------------------------------------
-- cases
---------------------------------------------------------------------------------------------------

case("content_length_body", function(ctx)
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/bytes?n=1000", timeout = 10000 })
  check(res.status == 200, "status %s", tostring(res.status))
  check(res.headers["content-length"] == "1000", "content-length header %s", tostring(res.headers["content-length"]))
  check(res.headers["content-type"] == "application/octet-stream", "headers are lower-case keyed")
  local body, err = read_all(res)
  check(err == nil, "read error %s", tostring(err))
  check(body == pattern_bytes(1000), "body differs (%.0f bytes)", #body)
  check(res.read() == nil, "read after the end returns nil")
  res.close()
  res.close() -- idempotent
end)

case("post_method_headers_body", function(ctx)
  local payload = '{"hello":"w\\u00f6rld","n":[1,2,3]}'
  local res = request_ok(ctx, { method = "POST", url = ctx.base .. "/__test/echo?x=1", timeout = 10000,
    headers = { ["Content-Type"] = "application/json", ["X-Conformance"] = "yes" }, body = payload })
  check(res.status == 200, "status %s", tostring(res.status))
  local echo = json.decode((read_all(res)))
  check(echo.method == "POST", "method %s", tostring(echo.method))
  check(echo.query.x == "1", "query string sent")
  check(echo.headers["x-conformance"] == "yes", "custom header sent")
  check(echo.headers["content-type"] == "application/json", "content-type sent")
  check(echo.headers["content-length"] == tostring(#payload), "content-length %s", tostring(echo.headers["content-length"]))
  check(echo.headers["transfer-encoding"] == nil, "no chunked upload")
  local b64 = require("tanstack.ai.core").base64_encode(payload)
  check(echo.body_base64 == b64, "body bytes differ")
end)

case("large_body_intact", function(ctx)
  local n = 1048576 + 17
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/bytes?n=" .. n, timeout = 20000 })
  local body, err = read_all(res)
  check(err == nil, "read error %s", tostring(err))
  check(#body == n, "got %.0f of %.0f bytes", #body, n)
  check(body == pattern_bytes(n), "bytes differ")
end)

case("streaming_is_incremental", function(ctx)
  local t0 = ctx.now_ms()
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/drip?n=6&delay_ms=150", timeout = 10000 })
  local first, seen = nil, {}
  for _ = 1, 1000 do
    local chunk, err = res.read()
    check(err == nil, "read error %s", tostring(err))
    if chunk == nil then break end
    if chunk ~= false and chunk ~= "" then
      first = first or (ctx.now_ms() - t0)
      seen[#seen + 1] = chunk
    end
  end
  local total = ctx.now_ms() - t0
  local text = concat(seen)
  check(text == "chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\nchunk-5\n", "body %q", text)
  check(total >= 650, "the drip takes >= 650 ms (took %.0f)", total)
  check(first < total / 2, "first bytes after %.0f ms of %.0f: not streamed", first, total)
  check(#seen >= 3, "body arrived in %.0f pieces", #seen)
end)

case("chunked_sse_body", function(ctx)
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/sse?n=3", timeout = 10000 })
  check(res.headers["content-type"] == "text/event-stream", "content-type %s", tostring(res.headers["content-type"]))
  check(res.headers["content-length"] == nil, "no content-length on a chunked body")
  local body, err = read_all(res)
  check(err == nil, "read error %s", tostring(err))
  check(body == 'data: {"i":0}\n\ndata: {"i":1}\n\ndata: {"i":2}\n\ndata: [DONE]\n\n', "body %q", body)
end)

case("error_status_is_a_response", function(ctx)
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/status/404", timeout = 10000 })
  check(res.status == 404, "status %s", tostring(res.status))
  local body = read_all(res)
  check(json.decode(body).status == 404, "error body %q", body)
end)

case("head_has_no_body", function(ctx)
  local res = request_ok(ctx, { method = "HEAD", url = ctx.base .. "/__test/bytes?n=100", timeout = 10000 })
  check(res.status == 200, "status %s", tostring(res.status))
  check(res.headers["content-length"] == "100", "content-length %s", tostring(res.headers["content-length"]))
  local body, err = read_all(res)
  check(err == nil and body == "", "HEAD body %q %s", tostring(body), tostring(err))
end)

case("idle_timeout_mid_body", function(ctx)
  local t0 = ctx.now_ms()
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/stall?after_bytes=5&ms=4000",
    idle_timeout = 300, timeout = 10000 })
  local body, err = read_all(res)
  local took = ctx.now_ms() - t0
  check(err ~= nil, "no error after %.0f ms (body %.0f bytes)", took, #body)
  check(err.kind == "timeout", "kind %s (%s)", tostring(err.kind), tostring(err))
  check(tostring(err.message):find("idle timeout", 1, true), "message %q", tostring(err.message))
  check(#body == 5, "the 5 bytes before the stall arrive first (%.0f)", #body)
  check(took >= 250 and took < 2500, "timed out after %.0f ms (idle 300)", took)
  res.close()
end)

case("idle_timeout_before_head", function(ctx)
  local t0 = ctx.now_ms()
  local res, err = ctx.transport.request({ method = "GET", url = ctx.base .. "/__test/head_delay?ms=4000",
    idle_timeout = 300, timeout = 10000 })
  if res then -- a transport may hand out the head lazily; the first read must fail then
    local _, rerr = read_all(res)
    err = rerr
    res.close()
  end
  local took = ctx.now_ms() - t0
  check(err ~= nil and err.kind == "timeout", "expected a timeout, got %s", tostring(err))
  check(took >= 250 and took < 2500, "timed out after %.0f ms (idle 300)", took)
end)

case("total_timeout_while_streaming", function(ctx)
  local t0 = ctx.now_ms()
  local res, err = ctx.transport.request({ method = "GET", url = ctx.base .. "/__test/drip?n=100&delay_ms=50",
    timeout = 600 })
  check(res ~= nil, "request failed early: %s", tostring(err))
  local body
  body, err = read_all(res)
  local took = ctx.now_ms() - t0
  check(err ~= nil and err.kind == "timeout", "expected a timeout, got %s", tostring(err))
  check(tostring(err.message):find("600", 1, true), "message names the limit: %q", tostring(err.message))
  check(body:find("chunk-0", 1, true), "bytes before the deadline were delivered")
  check(took >= 550 and took < 2500, "timed out after %.0f ms (total 600)", took)
  res.close()
end)

case("connection_refused", function(ctx)
  local res, err = ctx.transport.request({ method = "GET", url = "http://127.0.0.1:1/x", timeout = 5000 })
  check(res == nil, "got a response from port 1")
  check(type(err) == "table" and err.kind == "connect", "kind %s (%s)", tostring(err and err.kind), tostring(err))
  check(err.retryable == true, "connect failures are retryable")
end)

case("truncated_body_is_an_error", function(ctx)
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/drop?after_bytes=10&content_length=100",
    timeout = 3000 })
  local body, err = read_all(res)
  check(err ~= nil, "a body cut at 10 of 100 bytes read as complete")
  check(err.kind == "network", "kind %s", tostring(err.kind))
  check(#body == 10, "got %.0f bytes before the cut", #body)
end)

case("close_midstream_closes_upstream", function(ctx)
  local t = tag()
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/drip?n=200&delay_ms=50&tag=" .. t,
    timeout = 20000 })
  local got = 0
  for _ = 1, 50 do
    local chunk, err = res.read()
    check(err == nil, "read error %s", tostring(err))
    check(chunk ~= nil, "ended early")
    if chunk ~= false then got = got + #chunk end
    if got >= 16 then break end
  end
  res.close()
  local chunk, err = res.read()
  check(chunk == nil and err ~= nil and err.kind == "canceled", "read after close: %s %s", tostring(chunk), tostring(err))
  local recs = wait_for(ctx, function()
    local r = records_with_tag(ctx, t)
    if #r == 1 and r[1].closed_early then return r end
  end, 3000)
  check(recs ~= nil, "the emulator did not see the connection close early")
end)

case("keepalive_reuses_the_connection", function(ctx)
  local function conn_id()
    local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/conn", timeout = 10000 })
    local body, err = read_all(res)
    check(err == nil, "read error %s", tostring(err))
    res.close()
    return json.decode(body).conn_id
  end
  local a = conn_id()
  local b = conn_id()
  local c = conn_id()
  check(type(a) == "number" and a == b and b == c, "connections %s, %s, %s: not reused", tostring(a), tostring(b), tostring(c))
end)

case("closed_request_connection_not_reused", function(ctx)
  local t = tag()
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/drip?n=100&delay_ms=50&tag=" .. t,
    timeout = 20000 })
  local chunk = res.read()
  check(chunk ~= nil, "no first chunk")
  res.close()
  local recs = wait_for(ctx, function()
    local r = records_with_tag(ctx, t)
    if #r == 1 then return r end
  end, 3000)
  check(recs ~= nil, "request not recorded")
  local res2 = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/conn", timeout = 10000 })
  local body = read_all(res2)
  local id = json.decode(body).conn_id
  check(id ~= recs[1].conn_id, "the closed request's connection %s was reused", tostring(id))
end)

case("retry_then_success", function(ctx)
  local http = require("tanstack.ai.http")
  local t = tag()
  control(ctx, "POST", "/__emulator/next", { match = "/__test/echo", status = 503, retry_after = 0, times = 1 })
  local retries = 0
  local res, err = http.request({ method = "GET", url = ctx.base .. "/__test/echo?tag=" .. t, timeout = 10000 },
    { transport = ctx.transport, max_retries = 2, on_retry = function() retries = retries + 1 end })
  check(res ~= nil, "failed: %s", tostring(err))
  check(res.status == 200, "status %s", tostring(res.status))
  local echo = json.decode((read_all(res)))
  check(echo.query.tag == t, "the retried request reached the route")
  check(retries == 1, "%.0f retries", retries)
  check(#records_with_tag(ctx, t) == 2, "two attempts recorded")
end)

case("retries_give_up", function(ctx)
  local http = require("tanstack.ai.http")
  local t = tag()
  local res, err = http.request({ method = "GET", url = ctx.base .. "/__test/status/503?retry_after=0&tag=" .. t,
    timeout = 10000 }, { transport = ctx.transport, max_retries = 2 })
  check(res == nil, "a 503 became a response")
  check(err.status == 503, "status %s", tostring(err.status))
  check(err.attempts == 3, "attempts %s", tostring(err.attempts))
  check(#records_with_tag(ctx, t) == 3, "three attempts recorded")
end)

case("no_secrets_in_errors", function(ctx)
  local secret = "sk-conformance-SECRET-0123456789"
  local res, err = ctx.transport.request({ method = "POST", url = "http://127.0.0.1:1/v1?key=" .. secret,
    headers = { Authorization = "Bearer " .. secret, ["x-api-key"] = secret }, body = secret, timeout = 5000 })
  check(res == nil, "unexpected response")
  check(not tostring(err):find("SECRET", 1, true), "secret in error: %s", tostring(err))
  res, err = ctx.transport.request({ method = "GET", url = ctx.base .. "/__test/head_delay?ms=3000",
    headers = { Authorization = "Bearer " .. secret }, idle_timeout = 200 })
  if res then
    local _, rerr = read_all(res)
    err = rerr
    res.close()
  end
  check(err ~= nil and not tostring(err):find("SECRET", 1, true), "secret in error: %s", tostring(err))
end)

case("invalid_requests_raise", function(ctx)
  check(not pcall(ctx.transport.request, { method = "GET", url = "ftp://example.com/" }), "ftp:// accepted")
  check(not pcall(ctx.transport.request, { method = "GET", url = ctx.base .. "/__test/echo",
    headers = { ["X-Bad"] = "a\r\nInjected: yes" } }), "CR/LF in a header value accepted")
  check(not pcall(ctx.transport.request, { method = "G T", url = ctx.base .. "/__test/echo" }), "bad method accepted")
end)

-- RFC 9112 7.1: the chunked framing is read strictly by both transports (libcurl's transfer decoding is off and the
-- C core's chunk parser decodes, as it does for the cosockets); a malformed chunk line, a bare LF where CRLF belongs,
-- an empty extension name or an unclosed quoted value fails the request, kind "network".
case("chunked_framing_is_strict", function(ctx)
  local res = request_ok(ctx, { method = "GET", url = raw_url(ctx, "chunked_well_formed"), timeout = 5000 })
  local body, err = read_all(res)
  check(err == nil and body == "abcdef", "well-formed chunked body: %q %s", tostring(body), tostring(err))
  res.close()
  res = request_ok(ctx, { method = "GET", url = raw_url(ctx, "head_bare_lf_and_obs_fold"), timeout = 5000 })
  body, err = read_all(res)
  check(err == nil and body == "abc", "bare LF head: %q %s", tostring(body), tostring(err))
  check(res.headers["x-fold"] and res.headers["x-fold"]:match("^a +b$"), "obs-fold: %q", tostring(res.headers["x-fold"]))
  res.close()
  local names = {}
  for name in pairs(MALFORMED_CHUNKED) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local r, rerr = ctx.transport.request({ method = "GET", url = raw_url(ctx, name), timeout = 5000 })
    local got = ""
    if r then -- the head may come first; the body's framing fails then
      got, rerr = read_all(r)
      r.close()
    end
    check(rerr ~= nil, "%s: accepted (body %q)", name, got)
    check(rerr.kind == "network", "%s: kind %s (%s)", name, tostring(rerr.kind), tostring(rerr))
    check(tostring(rerr.message):find("malformed", 1, true), "%s: message %q", name, tostring(rerr.message))
    check(#got <= 3, "%s: more than the chunk's data was delivered (%q)", name, got)
  end
end)

case("malformed_response_connection_not_reused", function(ctx)
  local url = raw_url(ctx, "pooled_then_malformed")
  local res = request_ok(ctx, { method = "GET", url = url, timeout = 5000 })
  local body, err = read_all(res)
  check(err == nil and body == "first", "first response: %q %s", tostring(body), tostring(err))
  res.close()
  -- the second request goes over the pooled connection and gets malformed framing
  local r2, err2 = ctx.transport.request({ method = "GET", url = url, timeout = 5000 })
  if r2 then
    body, err2 = read_all(r2)
    r2.close()
  end
  check(err2 ~= nil and err2.kind == "network", "malformed response accepted: %s", tostring(err2))
  -- that connection was closed: the third request opens a new one (the script starts over)
  local r3 = request_ok(ctx, { method = "GET", url = url, timeout = 5000 })
  body, err = read_all(r3)
  r3.close()
  check(body ~= "reused-after-error", "the connection was put back in the pool after a malformed response")
  check(err == nil and body == "first", "third response: %q %s", tostring(body), tostring(err))
end)

-- max_response_bytes: refused at an announced Content-Length before the body is read, and as a body grows.
case("max_response_bytes_content_length", function(ctx)
  local t0 = ctx.now_ms()
  local res, err = ctx.transport.request({ method = "GET", url = ctx.base .. "/__test/bytes?n=33554432",
    timeout = 10000, max_response_bytes = 4096 })
  check(res == nil, "a 32 MiB Content-Length over a 4096-byte limit gave a response")
  check(err.kind == "too_large", "kind %s (%s)", tostring(err.kind), tostring(err))
  check(err.retryable == false, "too_large must not be retried")
  check(tostring(err.message):find("33554432 bytes (Content-Length) exceeds the limit of 4096 bytes", 1, true),
    "message %q", tostring(err.message))
  check(ctx.now_ms() - t0 < 3000, "took %.0f ms", ctx.now_ms() - t0)
  -- a 10 GiB announcement against the default-sized limit: the server sends 10 bytes and hangs up, so only a check of
  -- the head gives "too_large" (reading the body would end in a truncation error)
  res, err = ctx.transport.request({ method = "GET", timeout = 10000, max_response_bytes = 64 * 1024 * 1024,
    url = ctx.base .. "/__test/drop?after_bytes=10&content_length=10737418240" })
  check(res == nil and err.kind == "too_large", "10 GiB Content-Length: %s", tostring(err))
  check(tostring(err.message):find("10737418240", 1, true), "message %q", tostring(err.message))
  -- exactly the limit is fine; so is a HEAD announcing more
  res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/bytes?n=1000", timeout = 10000,
    max_response_bytes = 1000 })
  local body, rerr = read_all(res)
  check(rerr == nil and body == pattern_bytes(1000), "a body of exactly the limit: %s", tostring(rerr))
  res.close()
  res = request_ok(ctx, { method = "HEAD", url = ctx.base .. "/__test/bytes?n=5000", timeout = 10000,
    max_response_bytes = 10 })
  check(res.status == 200, "HEAD status %s", tostring(res.status))
  res.close()
end)

case("max_response_bytes_streamed_body", function(ctx)
  -- chunked (the emulator's SSE route): the read that would pass the limit fails; no byte past it is handed out
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/sse?n=400", timeout = 10000,
    max_response_bytes = 1000 })
  local body, err = read_all(res)
  res.close()
  check(err ~= nil and err.kind == "too_large", "chunked body over the limit: %s", tostring(err))
  check(err.retryable == false, "too_large must not be retried")
  check(tostring(err.message):find("exceeds the limit of 1000 bytes", 1, true), "message %q", tostring(err.message))
  check(#body <= 1000, "%.0f bytes handed out past a 1000-byte limit", #body)
  local stream = {}
  for i = 0, 399 do stream[#stream + 1] = 'data: {"i":' .. i .. '}\n\n' end
  check(concat(stream):sub(1, #body) == body, "the bytes before the limit are the stream's first bytes")
  -- a chunk size announcing more than is left fails at once (raw server)
  local t0 = ctx.now_ms()
  local r2, err2 = ctx.transport.request({ method = "GET", url = raw_url(ctx, "chunk_size_4gib"), timeout = 5000,
    max_response_bytes = 1000 })
  if r2 then
    body, err2 = read_all(r2)
    r2.close()
  end
  check(err2 ~= nil and err2.kind == "too_large", "a 4 GiB chunk: %s", tostring(err2))
  check(ctx.now_ms() - t0 < 3000, "took %.0f ms", ctx.now_ms() - t0)
  -- close-delimited (raw server)
  local r3, err3 = ctx.transport.request({ method = "GET", url = raw_url(ctx, "close_delimited_5000"), timeout = 5000,
    max_response_bytes = 1000 })
  body = ""
  if r3 then
    body, err3 = read_all(r3)
    r3.close()
  end
  check(err3 ~= nil and err3.kind == "too_large", "close-delimited body over the limit: %s", tostring(err3))
  check(#body <= 1000, "%.0f bytes handed out past a 1000-byte limit", #body)
  -- without a limit the same body is whole
  r3 = request_ok(ctx, { method = "GET", url = raw_url(ctx, "close_delimited_5000"), timeout = 5000 })
  body, err3 = read_all(r3)
  r3.close()
  check(err3 == nil and body == string.rep("x", 5000), "close-delimited body: %s (%.0f bytes)", tostring(err3), #body)
end)

-- Request headers: a control character other than HTAB (RFC 9110 5.5) in a name or value raises; the message names
-- the header, never the value (it may be a key).
case("header_control_characters_refused", function(ctx)
  local secret = "sk-conformance-SECRET-0123456789"
  for _, c in ipairs({ "\1", "\127", "\11", "\12", "\0", "\r", "\n", "\31" }) do
    local ok, err = pcall(ctx.transport.request, { method = "GET", url = ctx.base .. "/__test/echo",
      headers = { ["X-Api-Key"] = secret .. c .. "x" }, timeout = 5000 })
    check(not ok, "control character %d in a header value accepted", c:byte())
    check(tostring(err):find("X-Api-Key", 1, true), "the error names the header: %s", tostring(err))
    check(not tostring(err):find("SECRET", 1, true), "the error shows the value: %s", tostring(err))
    ok, err = pcall(ctx.transport.request, { method = "GET", url = ctx.base .. "/__test/echo",
      headers = { "X-Array: " .. secret .. c }, timeout = 5000 })
    check(not ok and not tostring(err):find("SECRET", 1, true), "array form, character %d: %s", c:byte(), tostring(err))
    check(tostring(err):find("X-Array", 1, true), "the error names the header: %s", tostring(err))
    ok = pcall(ctx.transport.request, { method = "GET", url = ctx.base .. "/__test/echo",
      headers = { ["X" .. c .. "Y"] = "v" }, timeout = 5000 })
    check(not ok, "control character %d in a header name accepted", c:byte())
  end
  local res = request_ok(ctx, { method = "GET", url = ctx.base .. "/__test/echo", timeout = 5000,
    headers = { ["X-Tab"] = "a\tb" } })
  local echo = json.decode((read_all(res)))
  check(echo.headers["x-tab"] == "a\tb", "HTAB in a value is sent: %q", tostring(echo.headers["x-tab"]))
  res.close()
end)

-- TLS with verification: ctx.tls = { trusted_url, untrusted_url, ca } (spec/openresty/tls.lua). The CA is passed as
-- ca_file (libcurl); nginx trusts it through lua_ssl_trusted_certificate on the test location (cosockets have no
-- per-request CA), the same trust configured two ways.
case("tls_verified_request", function(ctx)
  check(ctx.tls and ctx.tls.trusted_url, "this run has no TLS server")
  local res = request_ok(ctx, { method = "POST", url = ctx.tls.trusted_url .. "/hello?x=1", body = "over tls",
    ca_file = ctx.tls.ca, timeout = 10000 })
  check(res.status == 200, "status %s", tostring(res.status))
  local v = json.decode((read_all(res)))
  check(v.tls == true and v.body == "over tls" and v.path == "/hello?x=1", "echo %s", json.encode(v))
  check(v.sni == "localhost", "SNI %s", tostring(v.sni))
end)

case("tls_untrusted_certificate_rejected", function(ctx)
  check(ctx.tls and ctx.tls.untrusted_url, "this run has no TLS server")
  local res, err = ctx.transport.request({ method = "GET", url = ctx.tls.untrusted_url .. "/hello",
    ca_file = ctx.tls.ca, timeout = 10000 })
  check(res == nil, "a self-signed certificate was accepted")
  check(err.kind == "tls", "kind %s (%s)", tostring(err.kind), tostring(err))
end)

case("server_closed_idle_connection", function(ctx)
  check(ctx.tls and ctx.tls.trusted_url, "this run has no TLS server")
  -- the TLS server drops idle keep-alive connections after 500 ms: a pooled one must not break the next request
  for i = 1, 2 do
    local res = request_ok(ctx, { method = "GET", url = ctx.tls.trusted_url .. "/idle?" .. i, ca_file = ctx.tls.ca,
      timeout = 10000 })
    check(res.status == 200, "request %.0f: status %s", i, tostring(res.status))
    local body, err = read_all(res)
    check(err == nil and json.decode(body).path == "/idle?" .. i, "request %.0f: %s", i, tostring(err or body))
    if i == 1 then ctx.sleep(900) end
  end
end)

case("dead_pooled_connection_is_retried", function(ctx)
  check(ctx.tls and ctx.tls.flaky_url, "this run has no flaky server")
  -- the server answers once per connection, then drops it on the next request: the transport must notice the pooled
  -- connection died before any response byte and go again on a fresh one, transparently
  local seen = {}
  for i = 1, 3 do
    local res = request_ok(ctx, { method = "GET", url = ctx.tls.flaky_url .. "/x", timeout = 10000 })
    check(res.status == 200, "request %.0f: status %s", i, tostring(res.status))
    local body, err = read_all(res)
    check(err == nil, "request %.0f: %s", i, tostring(err))
    local v = json.decode(body)
    check(v.n == 1, "request %.0f was the %.0fth on its connection", i, v.n)
    check(not seen[v.conn], "connection %.0f answered twice", v.conn)
    seen[v.conn] = true
  end
end)

-- The adapter path: cf.create_workers_ai_chat -> route -> http.request -> the transport chosen automatically.
case("workers_ai_stream_through_adapter", function(ctx)
  local http = require("tanstack.ai.http")
  check(http.transport().name == ctx.transport.name, "auto-selected transport is %s, not %s",
    tostring(http.transport().name), tostring(ctx.transport.name))
  local ai = require("tanstack.ai")
  local cf = require("cloudflare.tanstack_ai")
  control(ctx, "POST", "/__emulator/next", { match = "/ai/v1/chat/completions", drip_ms = 120 })
  local adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.1-8b-instruct-fp8",
    { accountId = "c0ffee00c0ffee00c0ffee00c0ffee00", apiKey = "conformance-key", apiBaseUrl = ctx.base .. "/client/v4" })
  local t0 = ctx.now_ms()
  local stream = ai.chat({ adapter = adapter, messages = { { role = "user", content = "one two three four" } } })
  local text, first, types = {}, nil, {}
  for ev in stream:iter() do
    types[#types + 1] = ev.type
    if ev.type == "TEXT_MESSAGE_CONTENT" then
      first = first or (ctx.now_ms() - t0)
      text[#text + 1] = ev.delta
    end
    check(ev.type ~= "RUN_ERROR", "RUN_ERROR: %s", tostring(ev.message))
  end
  local total = ctx.now_ms() - t0
  check(concat(text) == "Hello from the Workers AI emulator! You said: one two three four", "text %q", concat(text))
  check(types[1] == "RUN_STARTED" and types[#types] == "RUN_FINISHED", "event order %s", concat(types, ","))
  check(total > 800, "drip_ms makes the stream slow (%.0f ms)", total)
  check(first < total / 2, "first token at %.0f of %.0f ms: not streamed", first, total)
end)

---------------------------------------------------------------------------------------------------

--- Run one case. Returns ok, err (string), elapsed ms.
function _M.run(name, ctx)
  local fn = by_name[name]
  if not fn then return false, "no such case: " .. tostring(name), 0 end
  local t0 = ctx.now_ms()
  local ok, err = pcall(fn, ctx)
  return ok, (not ok) and tostring(err) or nil, ctx.now_ms() - t0
end

return _M
