-- AI Gateway facts: provider slugs, URLs, universal entries, and the cf-aig-* headers.
local json = require("tanstack.ai.json")

local type, pairs, tostring = type, pairs, tostring

local _M = {}

-- How each provider takes its key.
_M.AUTH_HEADER = {
  ["workers-ai"] = "authorization", openai = "authorization", grok = "authorization",
  openrouter = "authorization", anthropic = "x-api-key", ["google-ai-studio"] = "x-goog-api-key",
}

--- The cf-aig-* (and x-session-affinity) headers for a resolved config, into `h`.
function _M.cache_headers(cfg, h)
  h = h or {}
  if cfg.skip_cache ~= nil then h["cf-aig-skip-cache"] = cfg.skip_cache and "true" or "false" end
  if cfg.cache_ttl then h["cf-aig-cache-ttl"] = string.format("%d", cfg.cache_ttl) end
  if cfg.cache_key then h["cf-aig-cache-key"] = cfg.cache_key end
  if cfg.metadata then h["cf-aig-metadata"] = json.encode(cfg.metadata) end
  return h
end

--- The provider's auth header for a key (nil key: none, for BYOK / unified billing).
function _M.provider_auth(provider, key, h)
  if key then
    local name = _M.AUTH_HEADER[provider] or "authorization"
    h[name] = name == "authorization" and ("Bearer " .. key) or key
  end
  return h
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
