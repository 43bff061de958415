-- Where a request goes and how it is authenticated, for the four configuration modes.
-- Adapters describe a request once; send() turns it into a REST call, a gateway URL call, a universal
-- entry for a gateway binding, or a binding run, with the one retry loop around it.
--
-- spec: provider (gateway slug), model, rest_path (plain REST, after /accounts/{id}), gateway_path (after the
-- slug), endpoint (universal entry endpoint; default gateway_path), body (table -> JSON, or raw bytes string),
-- content_type, query (table), headers (provider headers, e.g. anthropic-version), stream (bool),
-- binding_inputs / binding_options (plain binding run), session (bool: send x-session-affinity).
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local http = require("tanstack.ai.http")
local turn = require("tanstack.ai.turn")
local gateway = require("cloudflare.tanstack_ai.gateway")

local type, pairs = type, pairs

local _M = {}

local function copy(t)
  local o = {}
  if t then for k, v in pairs(t) do o[k] = v end end
  return o
end

local function lower_headers(h)
  local o = {}
  if type(h) == "table" then for k, v in pairs(h) do o[tostring(k):lower()] = v end end
  return o
end

-- A response from a binding (table with status/headers/body) -> the transport response shape.
local function from_binding_response(r)
  if type(r) ~= "table" then
    return nil, errors.new({ message = "gateway binding returned a " .. type(r) .. ", expected a response table",
      kind = "provider" })
  end
  local res = { status = tonumber(r.status) or 200, headers = lower_headers(r.headers) }
  local b = r.body
  if type(b) == "function" then
    res.read = b
  elseif type(b) == "string" then
    res.body = b
  elseif type(b) == "table" then
    res.value = b -- a decoded body handed back by a user's fake binding
  elseif b ~= nil then
    return nil, errors.new({ message = "gateway binding response body must be a string or an iterator",
      kind = "provider" })
  end
  if r.close then res.close = r.close end
  return res
end
_M.from_binding_response = from_binding_response

-- A plain binding run result -> response shape: table (JSON), string (bytes), function (SSE chunks).
local function from_binding_result(v, err)
  if v == nil then
    local e = errors.wrap(err or "binding run failed", { kind = "provider", provider = "workers-ai" })
    if e.status == nil and type(e.code) == "number" then e.status = errors.WORKERS_AI_CODE_STATUS[e.code] end
    if e.status and e.retryable == false then e.retryable = errors.retryable_status(e.status) end
    if e.code == 3040 then e.retryable = true end
    return nil, e
  end
  local t = type(v)
  if t == "function" then
    -- a stream: the binding may hand back a closer as its second value (cf.binding does)
    return { status = 200, headers = { ["content-type"] = "text/event-stream" }, read = v,
      close = type(err) == "function" and err or nil }
  elseif t == "string" then
    return { status = 200, headers = { ["content-type"] = "application/octet-stream" }, body = v, binary = true }
  elseif t == "table" and v.status and (v.body ~= nil or v.headers ~= nil) then
    return from_binding_response(v) -- returnRawResponse style
  elseif t == "table" then
    return { status = 200, headers = { ["content-type"] = "application/json" }, value = v }
  end
  return nil, errors.new({ message = "binding returned a " .. t, kind = "provider" })
end
_M.from_binding_result = from_binding_result

local function encode_body(spec)
  if type(spec.body) == "table" then return json.encode(spec.body), "application/json" end
  return spec.body, spec.content_type or "application/octet-stream"
end

local function transport_req(cfg, method, url, headers, body)
  if cfg.headers then for k, v in pairs(cfg.headers) do headers[k] = v end end
  return {
    method = method, url = url, headers = headers, body = body,
    timeout = cfg.timeout, connect_timeout = cfg.connect_timeout, idle_timeout = cfg.idle_timeout,
    ca_file = cfg.ca_file,
  }
end

--- The concrete request for REST modes (for tests and for send()).
function _M.rest_request(cfg, spec)
  local body, ct = encode_body(spec)
  local headers = copy(spec.headers)
  headers["content-type"] = spec.content_type or ct
  if spec.stream then headers["accept"] = "text/event-stream" end
  local url
  if cfg.mode == "rest" then
    headers["authorization"] = "Bearer " .. cfg.api_key
    url = cfg.api_base_url .. "/accounts/" .. cfg.account_id .. spec.rest_path
  else -- gateway_rest
    gateway.provider_auth(spec.provider, cfg.api_key, headers)
    if cfg.cf_api_key then headers["cf-aig-authorization"] = "Bearer " .. cfg.cf_api_key end
    gateway.cache_headers(cfg, headers)
    url = gateway.url(cfg.gateway_base_url, cfg.account_id, cfg.gateway_id, spec.provider, spec.gateway_path)
  end
  if spec.session and cfg.session_affinity then headers["x-session-affinity"] = cfg.session_affinity end
  url = url .. gateway.query_string(spec.query)
  return transport_req(cfg, spec.method or "POST", url, headers, body)
end

--- The universal entry for a gateway binding.
function _M.universal_entry(cfg, spec)
  local headers = copy(spec.headers)
  headers["content-type"] = "application/json"
  gateway.provider_auth(spec.provider, cfg.api_key, headers)
  gateway.cache_headers(cfg, headers)
  if spec.session and cfg.session_affinity then headers["x-session-affinity"] = cfg.session_affinity end
  local endpoint = (spec.endpoint or spec.gateway_path) .. gateway.query_string(spec.query)
  local query = spec.body
  if type(query) ~= "table" then
    return nil, errors.new({ message = (spec.label or "request") ..
      ": a raw binary body cannot travel in a universal gateway entry", kind = "config" })
  end
  return gateway.entry(spec.provider, endpoint, headers, query)
end

local function attempt_once(cfg, spec)
  local mode = cfg.mode
  if mode == "rest" or mode == "gateway_rest" then
    local req = _M.rest_request(cfg, spec)
    local t = http.transport(cfg.transport)
    return t.request(req)
  elseif mode == "gateway_binding" then
    local entry, err = _M.universal_entry(cfg, spec)
    if not entry then return nil, err end
    local ok, r, rerr = pcall(cfg.binding.run, cfg.binding, entry)
    if not ok then return nil, errors.wrap(r, { kind = "provider", provider = spec.provider }) end
    if r == nil then return nil, errors.wrap(rerr or "gateway binding returned nothing", { kind = "provider" }) end
    return from_binding_response(r)
  else -- plain binding
    local options = spec.binding_options
    if spec.session and cfg.session_affinity then
      options = copy(options)
      options.extraHeaders = { ["x-session-affinity"] = cfg.session_affinity }
    end
    local ok, v, err = pcall(cfg.binding.run, cfg.binding, spec.model, spec.binding_inputs, options)
    if not ok then return nil, errors.wrap(v, { kind = "provider", provider = "workers-ai" }) end
    return from_binding_result(v, err)
  end
end

--- Read a whole (2xx) answer into { value = <decoded JSON>, headers } or { bytes, content_type, headers };
--- an error report inside a JSON answer becomes nil, err. Shared by every non-streaming activity.
function _M.read_result(res, label, provider)
  if res.value ~= nil then return { value = res.value, headers = res.headers } end
  local bytes, rerr = turn.read_all(res)
  if res.close then res.close() end
  if not bytes then return nil, rerr end
  local ct = res.headers and res.headers["content-type"] or ""
  if ct:find("json", 1, true) then
    local v, derr = json.decode(bytes)
    if v == nil then
      return nil, errors.new({ message = label .. ": invalid JSON response: " .. tostring(derr), kind = "decode",
        provider = provider, body = bytes:sub(1, 200) })
    end
    if errors.is_payload(v) then return nil, errors.from_payload(v, provider) end
    return { value = v, headers = res.headers }
  end
  return { bytes = bytes, content_type = ct ~= "" and ct or nil, headers = res.headers }
end

--- Send with retries. Returns a 2xx response (see turn.lua for its shapes) or nil, err.
function _M.send(cfg, spec)
  return http.with_retries(function() return attempt_once(cfg, spec) end, {
    max_retries = cfg.max_retries, provider = spec.provider, transport = http.transport(cfg.transport),
  })
end

return _M
