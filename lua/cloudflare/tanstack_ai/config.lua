-- Adapter configuration: both key spellings, the four modes, validation at construction.
-- Every error names the field. Secrets are registered for redaction and never printed.
local adapter = require("tanstack.ai.adapter")
local errors = adapter.errors
local raise = adapter.raise -- a mistake, reported at the caller's line

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local function getenv(name) return os.getenv(name) end -- looked up per call: tests substitute os.getenv
local floor = math.floor

local _M = {}

-- canonical key -> snake_case twin
local KEYS = {
  binding = "binding", accountId = "account_id", apiKey = "api_key", gatewayId = "gateway_id",
  cfApiKey = "cf_api_key", skipCache = "skip_cache", cacheTtl = "cache_ttl", customCacheKey = "custom_cache_key",
  metadata = "metadata", sessionAffinity = "session_affinity", apiBaseUrl = "api_base_url",
  gatewayBaseUrl = "gateway_base_url", timeout = "timeout", connectTimeout = "connect_timeout",
  idleTimeout = "idle_timeout", maxRetries = "max_retries", transport = "transport",
  anthropicVersion = "anthropic_version", headers = "headers", caFile = "ca_file",
  maxResponseBytes = "max_response_bytes", allowInsecureHttp = "allow_insecure_http",
}
local SNAKE = {}
for camel, snake in pairs(KEYS) do SNAKE[snake] = camel end

_M.DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4"
_M.DEFAULT_GATEWAY_BASE = "https://gateway.ai.cloudflare.com/v1"
-- Defaults so that nothing can hang forever: a stalled peer ends as a timeout error.
_M.DEFAULT_CONNECT_TIMEOUT = 10000   -- ms
_M.DEFAULT_IDLE_TIMEOUT = 120000     -- ms without a byte (reasoning models can think for a while)
_M.DEFAULT_TIMEOUT = 600000          -- ms for the whole request, as the OpenAI SDK
_M.CACHE_TTL_MAX = 2592000 -- one month, in seconds (docs: min 60 s, max 1 month)
_M.METADATA_MAX_ENTRIES = 5
-- The largest answer (body bytes) a transport reads for one request (config.maxResponseBytes); beyond it the
-- request fails with kind "too_large". 64 MiB holds the largest image or audio answers.
_M.DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
-- The longest model name, account id or gateway id accepted.
_M.IDENTIFIER_MAX = 256

local function fail(label, msg) raise(label .. ": " .. msg) end

-- A value for an error message: printable ASCII, the rest as \xHH, at most 80 characters.
local function shown(v)
  local s = tostring(v)
  if #s > 80 then s = s:sub(1, 77) .. "..." end
  return '"' .. s:gsub('[^\32-\126]', function(c) return string.format("\\x%02X", c:byte()) end):gsub('"', '\\"') .. '"'
end
_M.shown = shown

---------------------------------------------------------------------------------------------------
-- Identifiers that become part of a URL path: the one check
---------------------------------------------------------------------------------------------------

--- Why `v` cannot be placed in a URL path, or nil when it can. Model names (`path = true`) may have segments
--- separated by single '/'; account and gateway ids are one segment. Each segment is made of letters, digits and
--- - . _ ~ @ : + (everything real model names use: @cf/meta/llama-3.1-8b-instruct-fp8, openai/gpt-4o:online,
--- models/gemini-2.0-flash, meta-llama/llama-3.3-70b-instruct:free) and is not "." or "..": no '?', '#', '%',
--- '\\', whitespace, control or non-ASCII characters, no empty segment, no leading or trailing '/'.
function _M.identifier_problem(v, path)
  if type(v) ~= "string" or v == "" then return "must be a non-empty string" end
  if #v > _M.IDENTIFIER_MAX then return "is longer than " .. _M.IDENTIFIER_MAX .. " characters" end
  local bad = v:match("[%z\1-\31\127-\255]")
  if bad then
    return string.format("must not contain control or non-ASCII characters (byte 0x%02X)", bad:byte())
  end
  if v:find("%s") then return "must not contain whitespace" end
  bad = v:match("[?#%%\\]")
  if bad then return "must not contain '" .. bad .. "'" end
  if not path and v:find("/", 1, true) then return "must not contain '/'" end
  if v:sub(1, 1) == "/" or v:sub(-1) == "/" then return "must not start or end with '/'" end
  if v:find("//", 1, true) then return "must not contain an empty path segment ('//')" end
  for seg in v:gmatch("[^/]+") do
    if seg:match("^%.+$") then return "must not contain a '" .. seg .. "' path segment" end
    bad = seg:match("[^%w%-%._~@:+]")
    if bad then return "must contain only letters, digits and - . _ ~ @ : + (found '" .. bad .. "')" end
  end
  return nil
end

--- Why an identifier was refused, for an error message: '<field> <problem> (got "<value>")'; nil when it is safe.
function _M.identifier_error(field, v, path)
  local problem = _M.identifier_problem(v, path)
  if not problem then return nil end
  return field .. " " .. problem .. ((type(v) == "string" and v ~= "") and (" (got " .. shown(v) .. ")") or "")
end

--- Raise "<label>: <identifier_error>" at the caller's line when `v` is not a safe identifier.
function _M.check_identifier(label, field, v, path)
  local msg = _M.identifier_error(field, v, path)
  if msg then raise(label .. ": " .. msg) end
end

---------------------------------------------------------------------------------------------------
-- Header values, base URLs
---------------------------------------------------------------------------------------------------

--- Why `v` cannot be an HTTP header value, or nil: any control character but HTAB (CR, LF, NUL, ESC, DEL...).
function _M.header_value_problem(v)
  local bad = v:match("[%z\1-\8\10-\31\127]")
  if bad then return string.format("must not contain control characters (byte 0x%02X)", bad:byte()) end
  return nil
end

--- Why `k` cannot be an HTTP header name (an RFC 9110 token), or nil.
function _M.header_name_problem(k)
  if type(k) ~= "string" or not k:match("^[%w!#%$%%&'%*%+%-%.%^_`|~]+$") then
    return "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)"
  end
  return nil
end

local function check_header_value(label, field, v)
  local problem = _M.header_value_problem(v)
  if problem then fail(label, field .. " " .. problem) end
end

local function check_string(label, field, v)
  if v == nil then return end
  if type(v) ~= "string" or v == "" then fail(label, "config." .. field .. " must be a non-empty string") end
  check_header_value(label, "config." .. field, v)
end

local function check_identifier(label, field, v, path)
  local msg = _M.identifier_error(field, v, path)
  if msg then fail(label, msg) end
end

local function check_base_url(label, field, v, allow_insecure)
  if v == nil then return end
  local problem = _M.base_url_problem(v, allow_insecure)
  if problem then fail(label, field .. " " .. problem) end
end

local function is_loopback(host)
  host = host:lower()
  if host == "localhost" or host == "::1" then return true end
  local x, y, z = host:match("^127%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  return x ~= nil and tonumber(x) <= 255 and tonumber(y) <= 255 and tonumber(z) <= 255
end
_M.is_loopback = is_loopback

--- Why `u` cannot be a base URL, or nil: https:// (http:// only to a loopback host, 127.0.0.0/8, ::1 or
--- localhost, unless allow_insecure), a host and an optional port, no user information (user@host), no query or
--- fragment, no '.' or '..' path segments, no whitespace, control or non-ASCII characters, no '\\'.
function _M.base_url_problem(u, allow_insecure)
  if type(u) ~= "string" or u == "" then return "must be a non-empty string" end
  local bad = u:match("[%z\1-\32\127-\255\\]")
  if bad then return string.format("must not contain whitespace, control or non-ASCII characters or '\\' (byte 0x%02X)", bad:byte()) end
  local scheme, authority, path = u:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  scheme = scheme and scheme:lower()
  if scheme ~= "https" and scheme ~= "http" then return "must be an https:// URL" end
  if authority:find("@", 1, true) then
    return "must not contain user information (user@host); credentials go in apiKey / cfApiKey"
  end
  if path:find("[?#]") then return "must not contain a query or fragment" end
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([%x:%.]+)%](.*)$")
  else
    host, port = authority:match("^([^:]+)(.*)$")
  end
  if not host or host == "" then return "has no host" end
  if not (port == "" or port:match("^:%d%d?%d?%d?%d?$")) then return "has an invalid port" end
  if not host:match("^[%w%-%.:]+$") then return "has an invalid host" end
  for seg in path:gsub("/+$", ""):gmatch("/([^/]*)") do
    if seg == "" then return "must not contain an empty path segment ('//')" end
    if seg:match("^%.+$") then return "must not contain a '" .. seg .. "' path segment" end
    if seg:find("%", 1, true) then return "must not contain '%' in its path" end
  end
  if scheme == "http" and not allow_insecure and not is_loopback(host) then
    return "uses plain http:// to " .. host .. ", which is not a loopback host (127.0.0.0/8, ::1, localhost); " ..
      "use https:// or set allowInsecureHttp = true"
  end
  return nil
end

local function check_ms(label, field, v)
  if v == nil then return end
  if type(v) ~= "number" or v <= 0 or v ~= v then fail(label, "config." .. field .. " must be a positive number of milliseconds") end
end

--- Read the user's table into canonical keys; unknown keys and conflicting spellings raise.
local function canonical(label, user)
  local c = {}
  for k, v in pairs(user) do
    local camel = KEYS[k] and k or SNAKE[k]
    if not camel then
      local near = type(k) == "string" and adapter.nearest(k, KEYS)
      fail(label, "unknown config field '" .. tostring(k) .. "'" .. (near and (" (did you mean " .. near .. "?)") or ""))
    end
    if c[camel] ~= nil and c[camel] ~= v then
      fail(label, "config." .. camel .. " and config." .. KEYS[camel] .. " are both set, to different values")
    end
    c[camel] = v
  end
  return c
end

local function is_callable_method(obj, name)
  local ok, m = pcall(function() return obj[name] end)
  return ok and (type(m) == "function" or (type(m) == "table" and getmetatable(m) and getmetatable(m).__call))
end

local redacted_mt = {
  __tostring = function(c)
    return "cloudflare.tanstack_ai.config{mode=" .. tostring(c.mode) .. ", account_id=" ..
      tostring(c.account_id) .. ", gateway_id=" .. tostring(c.gateway_id) .. "}"
  end,
}

-- The checks of the fields every mode shares (types, ranges, identifiers, URLs); raises on the first problem.
local function check_fields(label, c)
  if c.accountId ~= nil then check_identifier(label, "config.accountId", c.accountId, false) end
  if c.gatewayId ~= nil then check_identifier(label, "config.gatewayId", c.gatewayId, false) end
  check_string(label, "apiKey", c.apiKey)
  check_string(label, "cfApiKey", c.cfApiKey)
  check_string(label, "customCacheKey", c.customCacheKey)
  check_string(label, "sessionAffinity", c.sessionAffinity)
  check_string(label, "anthropicVersion", c.anthropicVersion)
  check_string(label, "caFile", c.caFile)
  if c.allowInsecureHttp ~= nil and type(c.allowInsecureHttp) ~= "boolean" then
    fail(label, "config.allowInsecureHttp must be a boolean")
  end
  check_base_url(label, "config.apiBaseUrl", c.apiBaseUrl, c.allowInsecureHttp)
  check_base_url(label, "config.gatewayBaseUrl", c.gatewayBaseUrl, c.allowInsecureHttp)
  check_ms(label, "timeout", c.timeout)
  check_ms(label, "connectTimeout", c.connectTimeout)
  check_ms(label, "idleTimeout", c.idleTimeout)
  if c.maxResponseBytes ~= nil and (type(c.maxResponseBytes) ~= "number" or c.maxResponseBytes < 1
      or floor(c.maxResponseBytes) ~= c.maxResponseBytes or c.maxResponseBytes == math.huge) then
    fail(label, "config.maxResponseBytes must be a positive integer number of bytes")
  end
  if c.maxRetries ~= nil and (type(c.maxRetries) ~= "number" or c.maxRetries < 0 or c.maxRetries > 10
      or floor(c.maxRetries) ~= c.maxRetries) then
    fail(label, "config.maxRetries must be an integer from 0 to 10")
  end
  if c.skipCache ~= nil and type(c.skipCache) ~= "boolean" then fail(label, "config.skipCache must be a boolean") end
  if c.cacheTtl ~= nil then
    if type(c.cacheTtl) ~= "number" or floor(c.cacheTtl) ~= c.cacheTtl or c.cacheTtl < 60
        or c.cacheTtl > _M.CACHE_TTL_MAX then
      fail(label, "config.cacheTtl must be an integer number of seconds from 60 to " .. _M.CACHE_TTL_MAX)
    end
  end
end

-- config.metadata: AI Gateway's cf-aig-metadata (string keys; string, number or boolean values; a bounded count).
local function check_metadata(label, metadata)
  if type(metadata) ~= "table" then fail(label, "config.metadata must be a table of string keys") end
  local n = 0
  for k, v in pairs(metadata) do
    n = n + 1
    if type(k) ~= "string" then fail(label, "config.metadata keys must be strings") end
    check_header_value(label, "config.metadata key " .. shown(k), k)
    local tv = type(v)
    if tv ~= "string" and tv ~= "boolean" and (tv ~= "number" or v ~= v or v == math.huge or v == -math.huge) then
      fail(label, "config.metadata." .. k .. " must be a string, number or boolean")
    end
    if tv == "string" then check_header_value(label, "config.metadata." .. k, v) end
  end
  if n > _M.METADATA_MAX_ENTRIES then
    fail(label, "config.metadata has " .. n .. " entries; AI Gateway keeps at most " .. _M.METADATA_MAX_ENTRIES)
  end
end

-- config.headers: extra request headers (names and values a header may carry).
local function check_headers(label, headers)
  if type(headers) ~= "table" then fail(label, "config.headers must be a table") end
  for k, v in pairs(headers) do
    if type(k) ~= "string" or type(v) ~= "string" then fail(label, "config.headers entries must be strings") end
    local problem = _M.header_name_problem(k)
    if problem then fail(label, "config.headers key " .. shown(k) .. " " .. problem) end
    check_header_value(label, "config.headers." .. k, v)
  end
end

-- The resolved table (snake_case, defaults filled in) before the mode is known; tostring never shows a key.
local function resolved(label, c)
  return setmetatable({
    label = label,
    api_key = c.apiKey, cf_api_key = c.cfApiKey,
    -- where the key and the base URLs came from, for errors that say what to fix (never the values themselves)
    key_source = c.apiKey ~= nil and "config.apiKey" or nil,
    api_base_source = c.apiBaseUrl ~= nil and "config.apiBaseUrl" or "the default",
    gateway_base_source = c.gatewayBaseUrl ~= nil and "config.gatewayBaseUrl" or "the default",
    account_id = c.accountId, gateway_id = c.gatewayId,
    skip_cache = c.skipCache, cache_ttl = c.cacheTtl, cache_key = c.customCacheKey, metadata = c.metadata,
    session_affinity = c.sessionAffinity, anthropic_version = c.anthropicVersion,
    api_base_url = c.apiBaseUrl or _M.DEFAULT_API_BASE,
    gateway_base_url = c.gatewayBaseUrl or _M.DEFAULT_GATEWAY_BASE,
    timeout = c.timeout or _M.DEFAULT_TIMEOUT, connect_timeout = c.connectTimeout or _M.DEFAULT_CONNECT_TIMEOUT,
    idle_timeout = c.idleTimeout or _M.DEFAULT_IDLE_TIMEOUT,
    max_response_bytes = c.maxResponseBytes or _M.DEFAULT_MAX_RESPONSE_BYTES,
    max_retries = c.maxRetries, transport = c.transport, headers = c.headers, ca_file = c.caFile,
  }, redacted_mt)
end

-- Base URLs from the environment: checked as the config's (the modes that send over REST use them).
local function base_urls(label, c, r)
  if c.binding == nil then
    local env_api, env_gw = getenv("CLOUDFLARE_API_BASE_URL"), getenv("CLOUDFLARE_AI_GATEWAY_BASE_URL")
    if c.apiBaseUrl == nil and env_api ~= nil then
      check_base_url(label, "CLOUDFLARE_API_BASE_URL", env_api, c.allowInsecureHttp)
      r.api_base_url, r.api_base_source = env_api, "CLOUDFLARE_API_BASE_URL"
    end
    if c.gatewayBaseUrl == nil and env_gw ~= nil then
      check_base_url(label, "CLOUDFLARE_AI_GATEWAY_BASE_URL", env_gw, c.allowInsecureHttp)
      r.gateway_base_url, r.gateway_base_source = env_gw, "CLOUDFLARE_AI_GATEWAY_BASE_URL"
    end
  end
  r.api_base_url = r.api_base_url:gsub("/+$", "")
  r.gateway_base_url = r.gateway_base_url:gsub("/+$", "")
end

local function has_gateway_options(c)
  return c.skipCache ~= nil or c.cacheTtl ~= nil or c.customCacheKey ~= nil or c.metadata ~= nil
end

-- The binding modes: env.AI (binding) or env.AI:gateway(id) (gateway_binding).
local function binding_mode(label, c, r, opts)
  local b = c.binding
  if type(b) ~= "table" and type(b) ~= "userdata" then
    fail(label, "config.binding must be an object with a run method (env.AI or env.AI:gateway(id))")
  end
  if not is_callable_method(b, "run") then
    fail(label, "config.binding has no run method (expected env.AI or env.AI:gateway(id))")
  end
  if c.accountId or c.gatewayId or c.cfApiKey then
    fail(label, "config.binding cannot be combined with accountId, gatewayId or cfApiKey")
  end
  r.binding = b
  if not is_callable_method(b, "gateway") then
    r.mode = "gateway_binding"
    return
  end
  if opts.gateway_only then
    fail(label, "third-party providers only work through AI Gateway: pass binding = AI:gateway(\"id\")")
  end
  if has_gateway_options(c) then
    fail(label, "config.skipCache/cacheTtl/customCacheKey/metadata only apply to gateway modes")
  end
  r.mode = "binding"
end

-- Plain REST (rest): the account and a Workers AI key, from the config or the environment.
local function plain_rest_mode(label, c, r, opts)
  if opts.gateway_only then
    fail(label, "third-party providers only work through AI Gateway: set gatewayId (with accountId) or " ..
      "binding = AI:gateway(\"id\")")
  end
  if has_gateway_options(c) then
    fail(label, "config.skipCache/cacheTtl/customCacheKey/metadata only apply to gateway modes")
  end
  for _, var in ipairs(r.api_key == nil and { "CLOUDFLARE_API_KEY", "CLOUDFLARE_API_TOKEN" } or {}) do
    local v = getenv(var)
    if v ~= nil then r.api_key, r.key_source = v, var break end
  end
  if not r.account_id then
    fail(label, "config.accountId is missing: pass { accountId, apiKey }, a binding, a gateway config, " ..
      "or set CLOUDFLARE_ACCOUNT_ID")
  end
  if not r.api_key then
    fail(label, "config.apiKey is missing: pass { accountId, apiKey } or set CLOUDFLARE_API_KEY")
  end
  check_string(label, "apiKey (CLOUDFLARE_API_KEY)", r.api_key)
  r.mode = "rest"
end

-- The REST modes: gateway_rest with a gatewayId, else plain rest.
local function rest_mode(label, c, r, opts)
  if c.transport ~= nil and (type(c.transport) ~= "table" or type(c.transport.request) ~= "function") then
    fail(label, "config.transport must be a table with a request function")
  end
  if r.account_id == nil then
    r.account_id = getenv("CLOUDFLARE_ACCOUNT_ID")
    if r.account_id ~= nil then
      check_identifier(label, "CLOUDFLARE_ACCOUNT_ID (config.accountId)", r.account_id, false)
    end
  end
  if not c.gatewayId then return plain_rest_mode(label, c, r, opts) end
  if not r.account_id then
    fail(label, "config.accountId is required with gatewayId (or set CLOUDFLARE_ACCOUNT_ID)")
  end
  r.mode = "gateway_rest"
  if opts.needs_provider_key and not r.api_key and not r.cf_api_key then
    fail(label, "config.apiKey (the Workers AI token) or config.cfApiKey is required for gateway REST mode")
  end
end

--- Validate and resolve a config (once per adapter: adapters keep the resolved table).
--- opts.label: "createWorkersAiChat" etc. (prefix of error messages)
--- opts.gateway_only: third-party providers (no plain modes)
--- opts.needs_provider_key: a Workers AI adapter (gateway REST needs a key for Workers AI)
--- Returns a resolved table: mode ("binding" | "rest" | "gateway_binding" | "gateway_rest"), ...
function _M.resolve(user, opts)
  local label = opts.label
  if user == nil then user = {} end
  if type(user) ~= "table" then fail(label, "config must be a table") end
  local c = canonical(label, user)
  check_fields(label, c)
  if c.metadata ~= nil then check_metadata(label, c.metadata) end
  if c.headers ~= nil then check_headers(label, c.headers) end
  local r = resolved(label, c)
  base_urls(label, c, r)
  if c.binding ~= nil then binding_mode(label, c, r, opts) else rest_mode(label, c, r, opts) end
  errors.register_secret(r.api_key)
  errors.register_secret(r.cf_api_key)
  return r
end

return _M
