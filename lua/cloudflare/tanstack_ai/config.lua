-- Adapter configuration: both key spellings, the four modes, validation at construction.
-- Every error names the field. Secrets are registered for redaction and never printed.
local errors = require("tanstack.ai.errors")

local type, pairs, tostring, error = type, pairs, tostring, error
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

local function fail(label, msg) error(label .. ": " .. msg, 3) end

local function has_bad_chars(s) return s:find("[\r\n%z]") ~= nil end

local function check_header_value(label, field, v)
  if has_bad_chars(v) then fail(label, "config." .. field .. " must not contain CR, LF or NUL") end
end

local function check_string(label, field, v, opts)
  if v == nil then return end
  if type(v) ~= "string" or v == "" then fail(label, "config." .. field .. " must be a non-empty string") end
  check_header_value(label, field, v)
  if opts and opts.segment and not v:match("^[%w%-_%.]+$") then
    fail(label, "config." .. field .. " must contain only letters, digits, '-', '_' or '.'")
  end
  if opts and opts.url and not v:match("^https?://[^%s]+$") then
    fail(label, "config." .. field .. " must be an http:// or https:// URL")
  end
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
      fail(label, "unknown config field '" .. tostring(k) .. "'")
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

--- Validate and resolve a config.
--- opts.label: "createWorkersAiChat" etc. (prefix of error messages)
--- opts.gateway_only: third-party providers (no plain modes)
--- Returns a resolved table: mode ("binding" | "rest" | "gateway_binding" | "gateway_rest"), ...
function _M.resolve(user, opts)
  local label = opts.label
  if user == nil then user = {} end
  if type(user) ~= "table" then fail(label, "config must be a table") end
  local c = canonical(label, user)

  check_string(label, "accountId", c.accountId, { segment = true })
  check_string(label, "gatewayId", c.gatewayId, { segment = true })
  check_string(label, "apiKey", c.apiKey)
  check_string(label, "cfApiKey", c.cfApiKey)
  check_string(label, "apiBaseUrl", c.apiBaseUrl, { url = true })
  check_string(label, "gatewayBaseUrl", c.gatewayBaseUrl, { url = true })
  check_string(label, "customCacheKey", c.customCacheKey)
  check_string(label, "sessionAffinity", c.sessionAffinity)
  check_string(label, "anthropicVersion", c.anthropicVersion)
  check_string(label, "caFile", c.caFile)
  check_ms(label, "timeout", c.timeout)
  check_ms(label, "connectTimeout", c.connectTimeout)
  check_ms(label, "idleTimeout", c.idleTimeout)
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
  if c.metadata ~= nil then
    if type(c.metadata) ~= "table" then fail(label, "config.metadata must be a table of string keys") end
    local n = 0
    for k, v in pairs(c.metadata) do
      n = n + 1
      if type(k) ~= "string" then fail(label, "config.metadata keys must be strings") end
      local tv = type(v)
      if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
        fail(label, "config.metadata." .. k .. " must be a string, number or boolean")
      end
      if tv == "string" and has_bad_chars(v) then fail(label, "config.metadata." .. k .. " must not contain CR, LF or NUL") end
      if has_bad_chars(k) then fail(label, "config.metadata keys must not contain CR, LF or NUL") end
    end
    if n > _M.METADATA_MAX_ENTRIES then
      fail(label, "config.metadata has " .. n .. " entries; AI Gateway keeps at most " .. _M.METADATA_MAX_ENTRIES)
    end
  end
  if c.headers ~= nil then
    if type(c.headers) ~= "table" then fail(label, "config.headers must be a table") end
    for k, v in pairs(c.headers) do
      if type(k) ~= "string" or type(v) ~= "string" then fail(label, "config.headers entries must be strings") end
      if has_bad_chars(k) or has_bad_chars(v) then fail(label, "config.headers." .. k .. " must not contain CR, LF or NUL") end
    end
  end

  local r = setmetatable({
    label = label,
    api_key = c.apiKey, cf_api_key = c.cfApiKey,
    account_id = c.accountId, gateway_id = c.gatewayId,
    skip_cache = c.skipCache, cache_ttl = c.cacheTtl, cache_key = c.customCacheKey, metadata = c.metadata,
    session_affinity = c.sessionAffinity, anthropic_version = c.anthropicVersion,
    api_base_url = c.apiBaseUrl or getenv("CLOUDFLARE_API_BASE_URL") or _M.DEFAULT_API_BASE,
    gateway_base_url = c.gatewayBaseUrl or getenv("CLOUDFLARE_AI_GATEWAY_BASE_URL") or _M.DEFAULT_GATEWAY_BASE,
    timeout = c.timeout or _M.DEFAULT_TIMEOUT, connect_timeout = c.connectTimeout or _M.DEFAULT_CONNECT_TIMEOUT,
    idle_timeout = c.idleTimeout or _M.DEFAULT_IDLE_TIMEOUT,
    max_retries = c.maxRetries, transport = c.transport, headers = c.headers, ca_file = c.caFile,
  }, redacted_mt)
  r.api_base_url = r.api_base_url:gsub("/+$", "")
  r.gateway_base_url = r.gateway_base_url:gsub("/+$", "")

  local gateway_opts = c.skipCache ~= nil or c.cacheTtl ~= nil or c.customCacheKey ~= nil or c.metadata ~= nil

  if c.binding ~= nil then
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
    if is_callable_method(b, "gateway") then
      if opts.gateway_only then
        fail(label, "third-party providers only work through AI Gateway: pass binding = AI:gateway(\"id\")")
      end
      if gateway_opts then
        fail(label, "config.skipCache/cacheTtl/customCacheKey/metadata only apply to gateway modes")
      end
      r.mode = "binding"
    else
      r.mode = "gateway_binding"
    end
  else
    if c.transport ~= nil and (type(c.transport) ~= "table" or type(c.transport.request) ~= "function") then
      fail(label, "config.transport must be a table with a request function")
    end
    r.account_id = r.account_id or getenv("CLOUDFLARE_ACCOUNT_ID")
    if c.gatewayId then
      if not r.account_id then
        fail(label, "config.accountId is required with gatewayId (or set CLOUDFLARE_ACCOUNT_ID)")
      end
      r.mode = "gateway_rest"
      if opts.needs_provider_key and not r.api_key and not r.cf_api_key then
        fail(label, "config.apiKey (the Workers AI token) or config.cfApiKey is required for gateway REST mode")
      end
    else
      if opts.gateway_only then
        fail(label, "third-party providers only work through AI Gateway: set gatewayId (with accountId) or " ..
          "binding = AI:gateway(\"id\")")
      end
      if gateway_opts then
        fail(label, "config.skipCache/cacheTtl/customCacheKey/metadata only apply to gateway modes")
      end
      r.api_key = r.api_key or getenv("CLOUDFLARE_API_KEY") or getenv("CLOUDFLARE_API_TOKEN")
      if not r.account_id then
        fail(label, "config.accountId is missing: pass { accountId, apiKey }, a binding, a gateway config, " ..
          "or set CLOUDFLARE_ACCOUNT_ID")
      end
      if not r.api_key then
        fail(label, "config.apiKey is missing: pass { accountId, apiKey } or set CLOUDFLARE_API_KEY")
      end
      check_string(label, "accountId (CLOUDFLARE_ACCOUNT_ID)", r.account_id, { segment = true })
      check_string(label, "apiKey (CLOUDFLARE_API_KEY)", r.api_key)
      r.mode = "rest"
    end
  end
  errors.register_secret(r.api_key)
  errors.register_secret(r.cf_api_key)
  return r
end

return _M
