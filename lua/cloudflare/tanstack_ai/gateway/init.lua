-- AI Gateway facts: URLs, universal entries, every cf-aig-* header, and the provider's auth header (where each
-- provider takes its key is a fact of its file in providers/).
local json = require("tanstack.ai.adapter").json
local providers = require("cloudflare.tanstack_ai.providers")

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring

local _M = {}

-- The cf-aig-* request headers, each from its option (the binding's `gateway` options spell them this way;
-- a resolved config carries the same values under snake_case names, see options_of_config).
local function bool(v) return v and "true" or "false" end
local OPTION_HEADERS = {
  { "skipCache", "cf-aig-skip-cache", bool },
  { "cacheTtl", "cf-aig-cache-ttl", function(v) return string.format("%d", v) end },
  { "cacheKey", "cf-aig-cache-key", tostring },
  { "metadata", "cf-aig-metadata", function(v) return json.encode(v) end },
  { "collectLog", "cf-aig-collect-log", bool },
  { "eventId", "cf-aig-event-id", tostring },
  { "requestTimeoutMs", "cf-aig-request-timeout", tostring },
}

--- The cf-aig-* headers for gateway options ({ skipCache, cacheTtl, cacheKey, metadata, collectLog, eventId,
--- requestTimeoutMs }, as env.AI.run's `gateway` option takes them), into `h`.
function _M.option_headers(opts, h)
  h = h or {}
  for _, o in ipairs(OPTION_HEADERS) do
    local v = opts[o[1]]
    if v ~= nil then h[o[2]] = o[3](v) end
  end
  return h
end

--- The gateway options of a resolved config (config.lua).
function _M.options_of_config(cfg)
  return { skipCache = cfg.skip_cache, cacheTtl = cfg.cache_ttl, cacheKey = cfg.cache_key, metadata = cfg.metadata }
end

--- The cf-aig-* headers of a resolved config, into `h`.
function _M.cache_headers(cfg, h)
  return _M.option_headers(_M.options_of_config(cfg), h)
end

--- The gateway's own token (an authenticated gateway), into `h`.
function _M.gateway_auth(token, h)
  if token then h["cf-aig-authorization"] = "Bearer " .. token end
  return h
end

--- The provider's auth header for a key (nil key: none, for BYOK / unified billing); provider: a gateway slug.
function _M.provider_auth(provider, key, h)
  return providers.auth(provider, key, h)
end

local function escape(s)
  return (tostring(s):gsub("[^%w%-%._~@/:]", function(c) return string.format("%%%02X", c:byte()) end))
end

--- Encode a query table (sorted keys; booleans as true/false; arrays repeat the key).
function _M.query_string(q)
  if q == nil then return "" end
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    if type(v) == "table" then
      for _, x in ipairs(v) do parts[#parts + 1] = escape(k) .. "=" .. escape(x) end
    else
      parts[#parts + 1] = escape(k) .. "=" .. escape(v)
    end
  end
  if #parts == 0 then return "" end
  return "?" .. table.concat(parts, "&")
end

--- {gatewayBaseUrl}/{accountId}/{gatewayId}[/{provider}[/{endpoint}]]
function _M.url(base, account_id, gateway_id, provider, endpoint)
  local u = base .. "/" .. account_id .. "/" .. gateway_id
  if provider then u = u .. "/" .. provider end
  if endpoint then u = u .. "/" .. endpoint end
  return u
end

--- A universal request entry { provider, endpoint, headers, query }.
function _M.entry(provider, endpoint, headers, query)
  return { provider = provider, endpoint = endpoint, headers = headers, query = query }
end

return _M
