-- Error values for runtime failures (network, HTTP, provider, decode, timeout, canceled).
-- Programmer errors raise; everything else is returned as `nil, err` with one of these.
local setmetatable, tostring, type, pairs = setmetatable, tostring, type, pairs

local _M = {}

local mt = {}
mt.__index = mt

mt.__tostring = function(e)
  local parts = {}
  if e.provider then parts[#parts + 1] = e.provider end
  if e.status then parts[#parts + 1] = "HTTP " .. tostring(e.status) end
  if e.code ~= nil then parts[#parts + 1] = "code " .. tostring(e.code) end
  local prefix = #parts > 0 and ("[" .. table.concat(parts, " ") .. "] ") or ""
  -- e.hint: what to do about it (the provider's explain hook: the key variable to check, the base URL's source)
  return prefix .. tostring(e.message or "unknown error") .. (e.hint and ("; " .. tostring(e.hint)) or "")
end

_M.mt = mt

local RETRYABLE_STATUS = { [408] = true, [409] = true, [429] = true }

--- Is an HTTP status worth retrying (before any byte reached the caller)?
function _M.retryable_status(status)
  return status ~= nil and (RETRYABLE_STATUS[status] or status >= 500) or false
end

-- Secrets to scrub: the SECRETS_MAX most recently registered (or used) ones, so the registry stays bounded
-- however many distinct keys a long-lived process sees (a per-tenant key per request, for instance); bearer
-- tokens are scrubbed by pattern whatever their number. Registering a known secret again marks it recent
-- (request.lua does this on every send), so the keys in use are the ones kept.
_M.SECRETS_MAX = 64
local secrets = {}       -- secret -> stamp of its last registration
local secret_count = 0
local stamp = 0

--- Register a secret so it is scrubbed from every error message built afterwards (see SECRETS_MAX).
function _M.register_secret(s)
  if type(s) ~= "string" or #s < 4 then return end
  stamp = stamp + 1
  if secrets[s] then secrets[s] = stamp return end
  if secret_count >= _M.SECRETS_MAX then
    local oldest, oldest_stamp
    for k, v in pairs(secrets) do
      if oldest_stamp == nil or v < oldest_stamp then oldest, oldest_stamp = k, v end
    end
    secrets[oldest] = nil
    secret_count = secret_count - 1
  end
  secrets[s] = stamp
  secret_count = secret_count + 1
end

--- How many secrets the registry holds (at most SECRETS_MAX).
function _M.secret_count() return secret_count end

local function plain_escape(s)
  return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

--- Remove every registered secret (and bearer tokens) from a string.
function _M.redact(s)
  if type(s) ~= "string" then return s end
  for secret in pairs(secrets) do
    if s:find(secret, 1, true) then
      s = s:gsub(plain_escape(secret), "[REDACTED]")
    end
  end
  s = s:gsub("([Bb]earer%s+)[%w%-%._~%+/=]+", "%1[REDACTED]")
  return s
end

--- Build an error value. Fields: message, kind, status, code, provider, retryable, retry_after (seconds), body.
function _M.new(fields)
  local e = {}
  for k, v in pairs(fields) do e[k] = v end
  e.message = _M.redact(tostring(e.message or "unknown error"))
  if e.body then e.body = _M.redact(e.body) end
  if e.retryable == nil then
    e.retryable = (e.kind == "network" or e.kind == "connect" or e.kind == "timeout" and e.phase ~= "stream")
      or _M.retryable_status(e.status) or false
  end
  return setmetatable(e, mt)
end

function _M.is_error(v)
  return type(v) == "table" and getmetatable(v) == mt
end

--- Wrap anything (string, error value, table) as an error value.
function _M.wrap(v, defaults)
  if _M.is_error(v) then return v end
  local fields = {}
  if defaults then for k, x in pairs(defaults) do fields[k] = x end end
  if type(v) == "table" then
    for k, x in pairs(v) do fields[k] = x end
  else
    fields.message = tostring(v)
  end
  return _M.new(fields)
end

function _M.canceled(msg)
  return _M.new({ message = msg or "request canceled", kind = "canceled", retryable = false })
end

-- Retry-After values above this are capped (http.lua waits at most 60 s anyway; the cap keeps err.retry_after a
-- sane number whatever a peer sends).
_M.RETRY_AFTER_MAX = 86400

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
  Nov = 11, Dec = 12 }

-- Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil): plain arithmetic,
-- no os.time (which raises on years it cannot represent and reads the table as local time).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Parse Retry-After (delta-seconds or an IMF-fixdate HTTP-date) into seconds from now, or nil. Never raises:
--- anything else (garbage, signs, hex, fractions, other date forms) is nil; values are capped at RETRY_AFTER_MAX.
function _M.parse_retry_after(v)
  if type(v) ~= "string" or #v > 64 then return nil end
  local digits = v:match("^%s*(%d+)%s*$")
  if digits then
    if #digits > 9 then return _M.RETRY_AFTER_MAX end
    local n = tonumber(digits)
    return n > _M.RETRY_AFTER_MAX and _M.RETRY_AFTER_MAX or n
  end
  local d, mon, y, h, mi, sec = v:match("^%s*%a%a%a, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT%s*$")
  if not d or not MONTHS[mon] then return nil end
  d, y, h, mi, sec = tonumber(d), tonumber(y), tonumber(h), tonumber(mi), tonumber(sec)
  if d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  local t = days_from_civil(y, MONTHS[mon], d) * 86400 + h * 3600 + mi * 60 + sec
  local delta = t - os.time() -- os.time() is seconds since the epoch (UTC) on POSIX systems
  if delta < 0 then return 0 end
  if delta > _M.RETRY_AFTER_MAX then return _M.RETRY_AFTER_MAX end
  return delta
end

--- Turn a non-2xx HTTP answer into an error value. The provider-neutral shapes are read here
--- (OpenAI `{error:{message,type,code}}`, Anthropic `{type:"error", error:{type,message}}`, Gemini
--- `{error:{code,message,status}}`, `{message}`, plain text); `classify(fields, decoded)`, when given, is the
--- provider's hook: it may refine fields.message, code, status and retryable for its own shapes (Cloudflare's
--- live in cloudflare/tanstack_ai/errors.lua).
function _M.from_http(status, headers, body, provider, decode, classify)
  return _M.from_decoded(status, headers, body and decode and decode(body), body, provider, classify)
end

local function normalize_code(code)
  if type(code) ~= "string" and type(code) ~= "number" then return nil end -- JSON null and friends
  if type(code) == "string" and tonumber(code) then code = tonumber(code) end
  if type(code) == "number" and math.tointeger then code = math.tointeger(code) or code end
  return code
end

--- The same from an already decoded body (decoded may be nil; body is the raw text when there is one).
function _M.from_decoded(status, headers, decoded, body, provider, classify)
  local f = { status = status, provider = provider, kind = "http" }
  if type(decoded) == "table" then
    local e = decoded.error
    if type(e) == "table" then
      f.message, f.code, f.type = e.message, e.code, e.type
      -- Gemini: code is the HTTP number, status the name (UNAUTHENTICATED) that tells more
      if type(e.status) == "string" and (f.code == nil or type(f.code) == "number") then f.code = e.status end
      if f.type and f.code == nil then f.code = f.type end
    elseif type(e) == "string" then
      f.message = e
    end
    if f.message == nil and type(decoded.message) == "string" then f.message = decoded.message end
  end
  if type(f.message) == "number" then f.message = tostring(f.message) end
  if type(f.message) ~= "string" then f.message = nil end
  if f.message == nil then
    f.message = (body and #body > 0) and body:sub(1, 500) or ("HTTP " .. tostring(status or "error"))
  end
  f.code = normalize_code(f.code)
  if classify then
    classify(f, decoded)
    f.code = normalize_code(f.code)
  end
  return _M.new({
    message = tostring(f.message), status = f.status, code = f.code, type = f.type, provider = provider,
    kind = "http", retryable = _M.retryable_status(f.status) or f.retryable == true,
    retry_after = headers and _M.parse_retry_after(headers["retry-after"]), body = body and body:sub(1, 4096),
  })
end

---------------------------------------------------------------------------------------------------
-- The public form: what a browser may see of an error (wire.lua's RUN_ERROR). The full error goes to the
-- server's log; the browser gets a fixed message for the kind of failure and a code.
---------------------------------------------------------------------------------------------------

_M.PUBLIC_MESSAGES = {
  internal = "Internal server error",
  canceled = "The request was canceled",
  timeout = "The model did not answer in time",
  network = "The model provider could not be reached",
  too_large = "The model's answer exceeded the server's size limit",
  decode = "The model's answer could not be read",
  config = "The server's model configuration is invalid",
  auth = "The model provider refused the server's credentials",
  not_found = "The model or endpoint was not found",
  request_too_large = "The request is too large for the model",
  rate_limited = "The model is busy or rate limited; try again later",
  rejected = "The model provider rejected the request",
  upstream = "The model provider failed",
  provider = "The model provider reported an error",
}

-- Kinds whose messages are written for the client (its own request, its resume answers): kept as they are.
local CLIENT_KINDS = { bad_request = true, interrupt = true }

local function public_by_status(status)
  local P = _M.PUBLIC_MESSAGES
  if status == 401 or status == 403 then return P.auth end
  if status == 404 then return P.not_found end
  if status == 408 or status == 504 then return P.timeout end
  if status == 413 then return P.request_too_large end
  if status == 429 then return P.rate_limited end
  if status >= 500 then return P.upstream end
  return P.rejected
end

--- A code fit for a browser: a short token (letters, digits, _ . : -), else nil.
function _M.public_code(code)
  if type(code) == "number" then code = tostring(math.tointeger and math.tointeger(code) or code) end
  if type(code) ~= "string" or #code > 64 or not code:match("^[%w_%.:%-]+$") then return nil end
  return code
end

-- Lua source positions ("/path/x.lua:12: ", "[string \"...\"]:3: ") cut from a kept message.
local function strip_positions(s)
  s = s:gsub("[^%s:]*%.lua:%d+:%s*", "")
  s = s:gsub('%[string "[^"]*"%]:%d+:%s*', "")
  return s
end

--- The public form of what failed: message, code. `err` is an error value of this module (its message may
--- hold an upstream body, a host:port, a file path: replaced by a fixed message for its kind and status), a
--- string (a Lua error: "Internal server error"), or a plain table { message, code } an application raised
--- on purpose (its message is kept, without Lua source positions). Secrets are scrubbed in every case.
function _M.public(err)
  local P = _M.PUBLIC_MESSAGES
  if _M.is_error(err) then
    local code = _M.public_code(err.code)
    if code == nil and type(err.status) == "number" then code = tostring(err.status) end
    if code == nil then code = _M.public_code(err.kind) end
    if CLIENT_KINDS[err.kind] then
      return _M.redact(strip_positions(tostring(err.message or P.internal))), code
    end
    local kind, status, message = err.kind, err.status, nil
    if kind == "connect" then kind = "network" end
    if type(status) == "number" and (kind == "http" or kind == "provider" or kind == nil) then
      message = public_by_status(status)
    else
      message = P[kind] or (kind == "http" and P.rejected) or P.internal
    end
    return message, code
  end
  if type(err) == "table" then
    local message = err.message
    if type(message) ~= "string" or message == "" then message = P.internal end
    local code = _M.public_code(err.code)
    if code == nil and type(err.status) == "number" then code = tostring(err.status) end
    return _M.redact(strip_positions(message)), code
  end
  return P.internal, nil
end

--- The whole story of an error for a server log (secrets scrubbed): tostring(err) and a body excerpt.
function _M.detail(err)
  if _M.is_error(err) then
    local s = tostring(err)
    if err.kind then s = s .. " (kind " .. tostring(err.kind) .. ")" end
    if type(err.body) == "string" and err.body ~= "" and err.body ~= err.message then
      s = s .. " body: " .. err.body:sub(1, 1000)
    end
    return _M.redact(s)
  end
  if type(err) == "table" then
    local ok, j = pcall(function() return require("tanstack.ai.json").encode(err) end)
    return _M.redact(ok and j or tostring(err.message))
  end
  return _M.redact(tostring(err))
end

--- Is a decoded JSON body (or stream event) an error report rather than a result?
--- (cjson's null is a light userdata: `"error": null` is not an error.)
function _M.is_payload(v)
  if type(v) ~= "table" then return false end
  local e = v.error
  return (e ~= nil and type(e) ~= "userdata" and v.choices == nil) or v.type == "error"
end

--- An error report that arrived inside a 200 answer or a stream -> an error value (not retried).
function _M.from_payload(v, provider, classify)
  local e = _M.from_decoded(nil, nil, v, nil, provider, classify)
  e.kind = "provider"
  e.retryable = false
  return e
end

return _M
