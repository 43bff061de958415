-- cf.binding{ accountId, apiKey, ... }: the Lua stand-in for a Worker's env.AI, backed by the REST API.
--   AI:run(model, inputs, options)   -> table (JSON result, no envelope) | bytes | chunk iterator, close (stream)
--                                       | nil, err
--   AI:gateway(id)                   -> gateway object
--   gateway:run(entry_or_entries, options) -> { status, headers, body = string | iterator } | nil, err
--   gateway:get_url(provider)        -> URL string
-- Like env.AI it does not retry: the adapters' one retry loop wraps it.
local adapter = require("tanstack.ai.adapter")
local config = require("cloudflare.tanstack_ai.config")
local gateway = require("cloudflare.tanstack_ai.gateway")
local request = require("cloudflare.tanstack_ai.request")
local cf_errors = require("cloudflare.tanstack_ai.errors")
local json, errors = adapter.json, adapter.errors
local raise = adapter.raise -- a mistake, reported at the caller's line

local type, pairs, ipairs, setmetatable, tostring = type, pairs, ipairs, setmetatable, tostring

local _M = {}

local AI = {}
AI.__index = AI
AI.__tostring = function(b) return "cloudflare.tanstack_ai.binding(account " .. tostring(b.cfg.account_id) .. ")" end

local Gateway = {}
Gateway.__index = Gateway
Gateway.__tostring = function(g) return "cloudflare.tanstack_ai.gateway(" .. g.id .. ")" end

function _M.new(user)
  local cfg = config.resolve(user, { label = "cf.binding" })
  if cfg.mode ~= "rest" then raise("cf.binding: needs { accountId, apiKey } (REST credentials)") end
  return setmetatable({ cfg = cfg }, AI)
end

-- A refused call: nothing was sent.
local function refused(message)
  return nil, errors.new({ message = message, kind = "config", provider = "workers-ai", retryable = false })
end

-- Headers given per call (extraHeaders, gateway options): the checks config.lua applies to the config's.
local function header_problem(headers)
  for k, v in pairs(headers) do
    local problem = config.header_name_problem(k)
    if problem then return "header " .. config.shown(k) .. " " .. problem end
    if type(v) ~= "string" then return "header " .. k .. " must be a string" end
    problem = config.header_value_problem(v)
    if problem then return "header " .. k .. " " .. problem end
  end
  return nil
end

local function send(cfg, url, headers, body, label)
  local problem = header_problem(headers)
  if problem then return refused(label .. ": " .. problem) end
  return adapter.transport(cfg.transport).request(request.transport_request(cfg, "POST", url, headers, body))
end

local RUN_OPTION_SKIP = { gateway = true, extraHeaders = true, returnRawResponse = true, prefix = true }

--- env.AI.run(model, inputs, options). A model or gateway id that cannot be placed in a URL path, or a header
--- value with a control character, is nil, err (kind "config") and nothing is sent.
function AI:run(model, inputs, options)
  if type(model) ~= "string" or model == "" then raise("AI:run: model must be a non-empty string") end
  if type(inputs) ~= "table" then raise("AI:run: inputs must be a table") end
  options = options or {}
  local bad = config.identifier_error("model", model, true)
  if bad then return refused("AI:run: " .. bad) end
  local cfg = self.cfg
  local headers = { authorization = "Bearer " .. cfg.api_key }
  if type(options.extraHeaders) == "table" then
    for k, v in pairs(options.extraHeaders) do headers[tostring(k):lower()] = v end
  end
  local query = {}
  for k, v in pairs(options) do
    if not RUN_OPTION_SKIP[k] and type(v) ~= "table" then query[k] = v end
  end
  -- a binary input ({audio = {body = bytes, contentType}}) is the raw body, the rest go as query params
  local body
  local raw_key
  for k, v in pairs(inputs) do
    if type(v) == "table" and type(v.body) == "string" and type(v.contentType) == "string" then raw_key = k end
  end
  if raw_key then
    body = inputs[raw_key].body
    headers["content-type"] = inputs[raw_key].contentType
    for k, v in pairs(inputs) do
      if k ~= raw_key then query[k] = type(v) == "table" and json.encode(v) or v end
    end
  else
    body = json.encode(inputs)
    headers["content-type"] = "application/json"
  end
  local url
  local g = options.gateway
  if type(g) == "table" and g.id then
    bad = config.identifier_error("options.gateway.id", g.id, false)
    if bad then return refused("AI:run: " .. bad) end
    gateway.option_headers(g, headers)
    gateway.gateway_auth(cfg.cf_api_key, headers)
    url = gateway.url(cfg.gateway_base_url, cfg.account_id, g.id, "workers-ai", model)
  else
    url = cfg.api_base_url .. "/accounts/" .. cfg.account_id .. "/ai/run/" .. model
  end
  url = url .. gateway.query_string(query)
  local res, err = send(cfg, url, headers, body, "AI:run")
  if not res then return nil, err end
  self.lastRequestId = res.headers["cf-ai-req-id"]
  self.aiGatewayLogId = res.headers["cf-aig-log-id"]
  self.lastRequestHttpStatusCode = res.status
  if options.returnRawResponse then
    return { status = res.status, headers = res.headers, body = res.read, close = res.close }
  end
  if res.status < 200 or res.status >= 300 then
    return nil, adapter.http_error(res, "workers-ai", cf_errors.classify)
  end
  if adapter.answer_kind(res) == "sse" then
    local read, close = res.read, res.close
    -- the iterator, and (second value) a function that stops the stream early and frees the connection
    return function()
      local chunk, rerr = read()
      if chunk == nil then close() end
      return chunk, rerr
    end, close
  end
  -- the one reader (tanstack.ai.adapter): JSON without its envelope, other answers as bytes
  local whole, rerr = adapter.read_whole(res, { label = "AI:run", provider = "workers-ai", unwrap = cf_errors.unwrap,
    payload_error = function(v, provider, bytes)
      if type(v) == "table" and v.success == false then
        return errors.from_decoded(res.status, res.headers, v, bytes, provider, cf_errors.classify)
      end
    end })
  if not whole then return nil, rerr end
  if whole.value ~= nil then return whole.value end
  return whole.bytes
end

--- env.AI.gateway(id)
function AI:gateway(id)
  config.check_identifier("AI:gateway", "id", id, false)
  return setmetatable({ id = id, ai = self }, Gateway)
end

--- gateway:get_url(provider) -> "{gatewayBaseUrl}/{account}/{id}[/{provider}]"
function Gateway:get_url(provider)
  local cfg = self.ai.cfg
  return gateway.url(cfg.gateway_base_url, cfg.account_id, self.id, provider)
end
Gateway.getUrl = Gateway.get_url

--- gateway:run(entry or {entries...}, { extraHeaders, gateway = { skipCache, ... } }): the universal endpoint.
function Gateway:run(entries, options)
  if type(entries) ~= "table" then raise("gateway:run: expected a universal entry or an array of them") end
  if entries.provider then entries = { entries } end
  options = options or {}
  local cfg = self.ai.cfg
  -- like a Worker's env.AI.gateway(id), the binding authenticates its own Workers AI steps: an entry for
  -- workers-ai without an authorization header gets the binding's key (never another provider's entry)
  local own = {}
  for i, e in ipairs(entries) do
    if type(e) == "table" and e.provider == "workers-ai" then
      local h = type(e.headers) == "table" and e.headers or {}
      local has_auth = false
      for k in pairs(h) do if tostring(k):lower() == "authorization" then has_auth = true end end
      if not has_auth then
        local copy = {}
        for k, v in pairs(e) do copy[k] = v end
        local hc = {}
        for k, v in pairs(h) do hc[k] = v end
        hc.authorization = "Bearer " .. cfg.api_key
        copy.headers = hc
        e = copy
      end
    end
    own[i] = e
  end
  entries = own
  local headers = { ["content-type"] = "application/json" }
  gateway.gateway_auth(cfg.cf_api_key, headers)
  if type(options.gateway) == "table" then gateway.option_headers(options.gateway, headers) end
  if type(options.extraHeaders) == "table" then
    for k, v in pairs(options.extraHeaders) do headers[tostring(k):lower()] = v end
  end
  local res, err = send(cfg, self:get_url(), headers, json.encode(json.array(entries)), "gateway:run")
  if not res then return nil, err end
  -- stream whatever answers as a stream (Gemini's streaming request has no `stream` field to look at)
  local ct = res.headers["content-type"] or ""
  if ct:find("event-stream", 1, true) and res.status >= 200 and res.status < 300 then
    return { status = res.status, headers = res.headers, body = res.read, close = res.close }
  end
  local bytes, rerr = adapter.read_all(res)
  res.close()
  if not bytes then return nil, rerr end
  return { status = res.status, headers = res.headers, body = bytes }
end

return _M
