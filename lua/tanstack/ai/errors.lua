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
  return prefix .. tostring(e.message or "unknown error")
end

_M.mt = mt

local RETRYABLE_STATUS = { [408] = true, [409] = true, [429] = true }

--- Is an HTTP status worth retrying (before any byte reached the caller)?
function _M.retryable_status(status)
  return status ~= nil and (RETRYABLE_STATUS[status] or status >= 500) or false
end

local secrets = setmetatable({}, { __mode = "k" })
local secret_list = {}

--- Register a secret so it is scrubbed from every error message built afterwards.
function _M.register_secret(s)
  if type(s) == "string" and #s >= 4 and not secrets[s] then
    secrets[s] = true
    secret_list[#secret_list + 1] = s
  end
end

local function plain_escape(s)
  return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

--- Remove every registered secret (and bearer tokens) from a string.
function _M.redact(s)
  if type(s) ~= "string" then return s end
  for i = 1, #secret_list do
    local secret = secret_list[i]
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

--- Parse Retry-After (delta-seconds or HTTP-date) into seconds, or nil.
function _M.parse_retry_after(v)
  if type(v) ~= "string" then return nil end
  local n = tonumber(v)
  if n then return n >= 0 and n or nil end
  local months = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
    Nov = 11, Dec = 12 }
  local d, mon, y, h, mi, sec = v:match("%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT")
  if not d or not months[mon] then return nil end
  local t = os.time({ year = tonumber(y), month = months[mon], day = tonumber(d), hour = tonumber(h),
    min = tonumber(mi), sec = tonumber(sec), isdst = false })
  -- os.time interprets the table as local time; correct by the local UTC offset.
  local now = os.time()
  local utc_now = os.time(os.date("!*t", now))
  local delta = os.difftime(t + (now - utc_now), now)
  if delta < 0 then delta = 0 end
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
