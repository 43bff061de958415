-- One non-streaming request to a gateway provider, read into one result shape:
--   { value = <decoded JSON>, headers }  or  { bytes = "<body>", content_type, headers }
-- Failures (network, HTTP status, a provider error body) come back as nil, err.
local json = require("tanstack.ai.json")
local http = require("tanstack.ai.http")
local openai = require("tanstack.ai.providers.openai")
local route = require("cloudflare.tanstack_ai.route")
local gateway = require("cloudflare.tanstack_ai.gateway")

local type, pairs = type, pairs

local _M = {}

local function read(res, spec)
  return route.read_result(res, spec.label, spec.provider)
end

--- Send a route spec (see route.lua) and read the whole answer.
function _M.call(cfg, spec)
  local res, err = route.send(cfg, spec)
  if not res then
    if type(err) == "table" and err.label == nil then err.label = spec.label end
    return nil, err
  end
  return read(res, spec)
end

--- Send a spec over REST to an explicit gateway provider URL, with the same provider auth and cf-aig-*
--- headers as gateway REST mode. For bodies a universal entry cannot carry (multipart) when the config
--- is a gateway binding that can tell its URL (get_url).
function _M.call_url(cfg, url, spec)
  local headers = {}
  for k, v in pairs(spec.headers or {}) do headers[k] = v end
  headers["content-type"] = spec.content_type or "application/json"
  gateway.provider_auth(spec.provider, cfg.api_key, headers)
  gateway.cache_headers(cfg, headers)
  if cfg.headers then for k, v in pairs(cfg.headers) do headers[k] = v end end
  local body = spec.body
  if type(body) == "table" then body = json.encode(body) end
  local req = { method = "POST", url = url .. gateway.query_string(spec.query), headers = headers, body = body,
    timeout = cfg.timeout, connect_timeout = cfg.connect_timeout, idle_timeout = cfg.idle_timeout,
    ca_file = cfg.ca_file }
  local t = http.transport(cfg.transport)
  local res, err = http.with_retries(function() return t.request(req) end,
    { max_retries = cfg.max_retries, provider = spec.provider, transport = t })
  if not res then
    if type(err) == "table" and err.label == nil then err.label = spec.label end
    return nil, err
  end
  return read(res, spec)
end

--- A usage object of the images / audio APIs ({input_tokens, output_tokens, total_tokens}) -> TokenUsage.
function _M.usage(u)
  if type(u) ~= "table" or (u.input_tokens == nil and u.prompt_tokens == nil) then return nil end
  return openai.usage(u)
end

return _M
