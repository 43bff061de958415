-- Sending a request: pick the transport, retry retryable failures, turn HTTP errors into error values.
-- The one retry loop of the library: 408/409/429/5xx (and what a provider's error classifier marks
-- retryable) and connection failures are retried with jittered exponential backoff, honouring Retry-After, and only
-- before any byte of a successful body has reached the caller (a response is returned only when 2xx).
local errors = require("tanstack.ai.errors")
local json = require("tanstack.ai.json")
local host = require("tanstack.ai.host")

local math_random, min, type, pcall, setmetatable, tostring = math.random, math.min, type, pcall, setmetatable, tostring
local find, concat = string.find, table.concat

local _M = {}

--- Choose the transport: an explicit one, the nginx cosocket one where cosockets may be used, else libcurl.
--- Asked per request, not per adapter: an adapter made in init_by_lua runs its requests in content phases.
function _M.transport(explicit)
  if explicit then return explicit end
  if host.cosockets() then
    local ok, t = pcall(require, "tanstack.ai.transport.ngx")
    if ok then return t end
  end
  return require("tanstack.ai.transport.curl")
end

function _M.sleep(ms, transport)
  local ngx = host.ngx()
  if ngx and ngx.sleep and (transport and transport.name == "ngx") then
    return ngx.sleep(math.max(ms, 1) / 1000) -- (0 would log a warning per call)
  end
  return require("tanstack.ai.transport.curl").sleep(ms)
end

--- Backoff before retry `attempt` (0-based): Retry-After (capped at 60 s) or full jitter up to 250 ms * 2^n (<= 2 s).
function _M.backoff_ms(attempt, retry_after)
  if type(retry_after) == "number" and retry_after >= 0 then return min(retry_after * 1000, 60000) end -- NaN: no
  return math_random() * min(250 * 2 ^ attempt, 2000)
end

-- The most of a non-2xx body read into an error (an error keeps 4 KiB of it; 64 KiB holds any JSON error
-- report); the rest is never read: the connection is closed instead.
_M.ERROR_BODY_MAX = 65536

-- Up to `max` bytes of a response body (res.body string, or res.read chunks); a failed read ends it quietly.
local function read_prefix(res, max)
  local b = res.body
  if b ~= nil then
    res.body = nil
    if type(b) == "string" then return b:sub(1, max) end
    if type(b) == "function" then res.read = b end
  end
  if type(res.read) ~= "function" then return "" end
  local buf, n = {}, 0
  while n < max do
    local ok, chunk = pcall(res.read)
    if not ok or type(chunk) ~= "string" then break end
    buf[#buf + 1] = chunk
    n = n + #chunk
  end
  local body = table.concat(buf)
  if #body > max then body = body:sub(1, max) end
  return body
end
_M.read_prefix = read_prefix

---------------------------------------------------------------------------------------------------
-- Reading an answer: the one place (streamed turns, whole answers, bindings, the CLI all read here)
---------------------------------------------------------------------------------------------------

-- A response (from any transport or binding) is one of:
--   { status, headers, read = fn() -> bytes | nil (end) | nil, err, close = fn }   streaming or not
--   { status, headers, body = "<bytes>" }                                          whole body
--   { value = <decoded table> }                                                     a binding's JSON result

local function content_type(res)
  local h = res.headers
  return h and (h["content-type"] or h["Content-Type"]) or nil
end
_M.content_type = content_type

--- Read everything left in a response. Returns the bytes, or nil, err (kind "network").
function _M.read_all(res)
  if res.body ~= nil then
    local b = res.body
    res.body = nil
    if type(b) == "string" then return b end
    if type(b) == "function" then res.read = b else return nil, errors.new({ message = "unsupported body" }) end
  end
  if not res.read then return "" end
  local buf = {}
  while true do
    local chunk, err = res.read()
    if chunk == nil then
      if err then return nil, errors.wrap(err, { kind = "network" }) end
      break
    end
    buf[#buf + 1] = chunk
  end
  return concat(buf)
end

local function close(res)
  if res and res.close then res.close() end
end
_M.close = close

--- What a 2xx answer is: "value" (a binding's decoded table), "sse", "json" or "bytes".
--- streamed: the caller reads it as a stream (a turn): then an NDJSON type is not JSON, a whole string body of any
--- other type is read as JSON, and pieces of an unknown type as SSE (a whole answer never is "sse" then but bytes
--- with their content type, see read_whole).
function _M.answer_kind(res, streamed)
  if res.value ~= nil then return "value" end
  local ct = content_type(res)
  if ct and find(ct, "event-stream", 1, true) then return "sse" end
  if ct and find(ct, "json", 1, true) and not (streamed and find(ct, "ndjson", 1, true)) then return "json" end
  if streamed then return type(res.body) == "string" and "json" or "sse" end
  return "bytes"
end

--- A stream's response with a whole SSE body in one string (some bindings) read as a single chunk.
function _M.as_stream(res)
  if type(res.body) == "string" and not res.read then
    local b = res.body
    res.body = nil
    res.read = function() local x = b; b = nil; return x end
  end
  return res
end

--- A JSON answer read whole and decoded, as { status, headers, value }; nil, err when the read fails ("network")
--- or the bytes are no JSON ("decode"). A response holding a decoded value is returned as is.
function _M.decoded(res)
  if res.value ~= nil then return res end
  local bytes, rerr = _M.read_all(res)
  close(res)
  if not bytes then return nil, rerr end
  local v, derr = json.decode(bytes)
  if v == nil then
    return nil, errors.new({ message = "invalid JSON in response: " .. tostring(derr), kind = "decode" })
  end
  return { status = res.status, headers = res.headers, value = v }
end

--- Read a whole (2xx) answer into { value = <decoded JSON>, headers } or { bytes, content_type, headers }.
--- opts (all optional): label and provider (named in errors), unwrap(v) -> v (a provider's envelope) and
--- payload_error(v, provider, bytes) -> err | nil (an error report inside a 2xx JSON answer becomes nil, err;
--- bytes: the raw JSON text, nil for a binding's decoded value).
function _M.read_whole(res, opts)
  opts = opts or {}
  local v, bytes = res.value, nil
  if v == nil then
    local rerr
    bytes, rerr = _M.read_all(res)
    close(res)
    if not bytes then return nil, rerr end
    local ct = content_type(res) or ""
    if not find(ct, "json", 1, true) then
      return { bytes = bytes, content_type = ct ~= "" and ct or nil, headers = res.headers }
    end
    local derr
    v, derr = json.decode(bytes)
    if v == nil then
      return nil, errors.new({ message = (opts.label or "request") .. ": invalid JSON response: " .. tostring(derr),
        kind = "decode", provider = opts.provider, body = bytes:sub(1, 200) })
    end
  end
  local perr = opts.payload_error and opts.payload_error(v, opts.provider, bytes)
  if perr then return nil, perr end
  return { value = opts.unwrap and opts.unwrap(v) or v, headers = res.headers }
end

-- The progress callback of the activity running in this coroutine (activities set it around the adapter call; the
-- request layer hands it to the transport as req.on_progress). Keyed by coroutine: async tasks interleave.
local progress_by_co = setmetatable({}, { __mode = "k" })
local MAIN = {}

--- Run fn(...) with `cb(done, total, phase)` as the progress callback of the requests it makes.
function _M.with_progress(cb, fn, ...)
  local key = coroutine.running() or MAIN
  local before = progress_by_co[key]
  progress_by_co[key] = cb
  local function finish(ok, ...)
    progress_by_co[key] = before
    if not ok then error((...), 0) end
    return ...
  end
  return finish(pcall(fn, ...))
end

--- The progress callback of the running activity, or nil.
function _M.current_progress()
  return progress_by_co[coroutine.running() or MAIN]
end

--- Read a non-2xx response into an error value (classify: the provider's hook, see errors.lua). At most
--- ERROR_BODY_MAX bytes of the body are read; then the response is closed.
function _M.http_error(res, provider, classify)
  local headers = res.headers or {}
  if type(res.value) == "table" then -- a binding's decoded answer
    if res.close then pcall(res.close) end
    return errors.from_decoded(res.status, headers, res.value, nil, provider, classify)
  end
  local body = read_prefix(res, _M.ERROR_BODY_MAX)
  if res.close then pcall(res.close) end
  return errors.from_http(res.status, headers, body, provider, json.decode, classify)
end

--- Run attempt() (-> res | nil, err) with retries. A res with a non-2xx status becomes an error here.
--- opts: max_retries (default 2), provider, classify (the provider's error classifier), transport (for
--- sleeping), on_retry(err, attempt, delay_ms).
function _M.with_retries(attempt, opts)
  opts = opts or {}
  local max = opts.max_retries
  if max == nil then max = 2 end
  local n = 0
  while true do
    local res, err = attempt(n)
    if res and (res.status == nil or (res.status >= 200 and res.status < 300)) then return res end
    if res then err = _M.http_error(res, opts.provider, opts.classify) end
    err = errors.wrap(err or "request failed", { kind = "network", provider = opts.provider })
    if err.provider == nil then err.provider = opts.provider end
    if not err.retryable or n >= max or err.kind == "canceled" then
      err.attempts = n + 1
      return nil, err
    end
    local delay = _M.backoff_ms(n, err.retry_after)
    if opts.on_retry then opts.on_retry(err, n, delay) end
    _M.sleep(delay, opts.transport)
    n = n + 1
  end
end

--- One HTTP request with retries over the selected transport.
function _M.request(req, opts)
  opts = opts or {}
  local t = _M.transport(opts.transport)
  opts.transport = t
  return _M.with_retries(function() return t.request(req) end, opts)
end

return _M
