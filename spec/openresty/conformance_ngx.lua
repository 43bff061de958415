-- Test-only nginx handlers (loaded by the test server block that spec/openresty/nginx.lua adds to the example
-- configuration). Lua 5.1 syntax; runs in nginx's LuaJIT.
--   GET /__conformance?case=<name>&base=<emulator URL>[&tls_trusted=<url>&tls_untrusted=<url>]
--       -> {"ok":..,"err":..,"ms":..,"transport":"ngx"}
--       runs one case of spec/openresty/transport_cases.lua with tanstack.ai.transport.ngx
--   GET /__conformance?raw=<script> -> the bytes of that case list's raw script (malformed framing included), written
--       on the raw downstream socket: the n-th request naming a script on a connection gets its n-th response, and
--       the connection closes after the last (the cases reach it as ctx.raw(name), on this server's own port)
--   GET /__wire?format=sse|ndjson&n=<events>&delay_ms=<ms>&fail_at=<i>&id=<key>
--       serves a synthetic event stream through ai.to_server_sent_events_response / ai.to_http_response;
--       what happened (canceled?, the helper's return value) is kept in lua_shared_dict tanstack_test under <id>
--   GET /__wire?report=<id> -> that record as JSON
--   GET /__blocking?base=<emulator URL> -> a drip read with the libcurl transport (blocks the worker: the control)
local json = require("tanstack.ai.json")

local _M = {}

-- The request line of the next request head on a raw socket, or nil when the peer is gone.
local function next_request_line(sock)
  local first
  while true do
    local line = sock:receive("*l")
    if line == nil then return nil end
    if line == "" then
      if first then return first end
    else
      first = first or line
    end
  end
end

local function serve_raw(cases)
  local ngx = ngx
  local sock, err = ngx.req.socket(true)
  if not sock then
    ngx.log(ngx.ERR, "raw downstream socket: ", err)
    return ngx.exit(500)
  end
  sock:settimeouts(3000, 3000, 3000)
  local counts, line = {}, ngx.var.request -- the request line
  while line do
    local bytes, last = cases.raw_response(line, counts)
    if not sock:send(bytes) or last then break end
    line = next_request_line(sock) -- the next request on this connection (keep-alive)
  end
  -- the request ends here; nginx closes a connection whose raw socket was taken
end

function _M.handle()
  local ngx = ngx
  local args = ngx.req.get_uri_args()
  local cases = require("openresty.transport_cases")
  if args.raw then return serve_raw(cases) end
  local transport = require("tanstack.ai.transport.ngx")
  local ctx = {
    transport = transport,
    base = args.base,
    now_ms = function()
      ngx.update_time()
      return ngx.now() * 1000
    end,
    sleep = function(ms) ngx.sleep(ms / 1000) end,
    tls = args.tls_trusted and { trusted_url = args.tls_trusted, untrusted_url = args.tls_untrusted,
      flaky_url = args.flaky } or nil,
    raw = function(name)
      return "http://127.0.0.1:" .. ngx.var.server_port .. "/__conformance?raw=" .. name
    end,
  }
  local ok, err, ms = cases.run(args.case, ctx)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(json.encode({ ok = ok, err = err, ms = ms, transport = transport.name, case = args.case }))
end

-- The control experiment for the non-blocking proof: the libcurl transport inside nginx (what this project must
-- not do) holds the worker for the whole transfer.
function _M.blocking()
  local ngx = ngx
  local args = ngx.req.get_uri_args()
  local curl = require("tanstack.ai.transport.curl")
  ngx.update_time()
  local t0 = ngx.now()
  local res, err = curl.request({ method = "GET", url = args.base .. "/__test/drip?n=" .. (tonumber(args.n) or 15)
    .. "&delay_ms=" .. (tonumber(args.delay_ms) or 100), timeout = 30000 })
  local bytes = 0
  if res then
    for _ = 1, 100000 do
      local chunk, rerr = res.read()
      if not chunk then err = rerr break end
      if chunk ~= false then bytes = bytes + #chunk end
    end
    res.close()
  end
  ngx.update_time()
  ngx.header["Content-Type"] = "application/json"
  ngx.say(json.encode({ ms = (ngx.now() - t0) * 1000, bytes = bytes, err = err and tostring(err) or json.null }))
end

function _M.wire()
  local ngx = ngx
  local dict = ngx.shared.tanstack_test
  local args = ngx.req.get_uri_args()
  if args.report then
    ngx.header["Content-Type"] = "application/json"
    ngx.say(dict:get(args.report) or "null")
    return
  end
  local id = args.id or "default"
  local n = tonumber(args.n) or 5
  local delay = (tonumber(args.delay_ms) or 0) / 1000
  local fail_at = tonumber(args.fail_at)
  local rec = { produced = 0, canceled = false, result = json.null, err = json.null, finished = false }
  local function save() dict:set(id, json.encode(rec)) end
  save()
  local i = 0
  local stream = {}
  function stream:next()
    if self.closed then return nil end
    i = i + 1
    if i > 1 and delay > 0 then ngx.sleep(delay) end
    if fail_at and i == fail_at then error({ message = "synthetic failure at event " .. i, code = "synthetic" }) end
    if i == 1 then
      rec.produced = i
      save()
      return { type = "RUN_STARTED", runId = "run-wire", threadId = "thread-wire", model = "wire-model",
        timestamp = 1 }
    end
    if i <= n + 1 then
      rec.produced = i
      save()
      return { type = "TEXT_MESSAGE_CONTENT", messageId = "m1", delta = "tok" .. (i - 2) .. " ", model = "wire-model",
        timestamp = i }
    end
    if i == n + 2 then
      return { type = "RUN_FINISHED", runId = "run-wire", threadId = "thread-wire", finishReason = "stop",
        model = "wire-model", usage = { promptTokens = 1, completionTokens = n, totalTokens = n + 1 }, timestamp = i }
    end
    return nil
  end
  function stream:cancel()
    self.closed = true
    rec.canceled = true
    save()
  end
  local ai = require("tanstack.ai")
  local helper = args.format == "ndjson" and ai.to_http_response or ai.to_server_sent_events_response
  local ok, err = helper(stream)
  rec.result = ok or json.null
  rec.err = err or json.null
  rec.finished = true
  save()
end

return _M
