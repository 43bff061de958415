-- Where a request goes and how it is authenticated, for the four configuration modes: Cloudflare's hook table
-- for tanstack.ai.adapter's pipeline. Adapters *describe* a request as data; the `send` hook alone turns a
-- description into a REST request (data the pipeline hands to the transport), a universal entry for a gateway
-- binding, or a binding run; the pipeline runs the one retry loop around it and reads answers with the one
-- envelope rule (the `unwrap` and `payload_error` hooks, errors.lua).
--
-- A description:
--   provider        gateway slug ("workers-ai", "openai", "anthropic", "google-ai-studio", ...)
--   model           the model (a plain binding's run(model, ...))
--   label           names the request in errors ("Workers AI chat")
--   body            the JSON body (a table), or raw bytes (a string) with content_type
--   query           query parameters (table) for URL forms
--   headers         provider headers (anthropic-version, ...)
--   rest_path       the Workers AI REST path after /accounts/{id} (plain REST mode)
--   gateway_path    the path after the provider slug (gateway REST; with query, a universal entry's endpoint)
--   entry_endpoint  a universal entry's whole endpoint when it differs from gateway_path + query
--   entry_body      the universal entry's JSON `query` when it differs from body
--   binding_inputs  the plain binding's inputs when they differ from body
--   stream          the answer is expected as SSE (accept header)
--   session         send the config's session affinity
-- Mode table (cfg.mode): rest -> REST to the account API; gateway_rest -> REST to the gateway URL;
-- gateway_binding -> binding:run(universal entry) (a raw body goes over REST to binding:get_url() instead);
-- binding -> binding:run(model, inputs, options).
local adapter = require("tanstack.ai.adapter")
local gateway = require("cloudflare.tanstack_ai.gateway")
local config = require("cloudflare.tanstack_ai.config")
local cf_errors = require("cloudflare.tanstack_ai.errors")

local json, errors = adapter.json, adapter.errors
local type, pairs, tostring, tonumber, pcall, setmetatable = type, pairs, tostring, tonumber, pcall, setmetatable

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

---------------------------------------------------------------------------------------------------
-- The envelope rule: Cloudflare's API wraps answers in { success, result, errors, messages }.
---------------------------------------------------------------------------------------------------

--- Strip the envelope ({ success = true, result = ... } -> result); anything else is returned as is.
_M.unwrap = cf_errors.unwrap

---------------------------------------------------------------------------------------------------
-- Binding answers -> the transport response shape (see tanstack/ai/http.lua)
---------------------------------------------------------------------------------------------------

-- A response table from a binding ({status, headers, body}) -> the transport response shape.
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
  if v == nil then return nil, cf_errors.from_binding(err or "binding run failed", "workers-ai") end
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

---------------------------------------------------------------------------------------------------
-- Descriptions -> requests
---------------------------------------------------------------------------------------------------

local function encode_body(d)
  if type(d.body) == "table" then return json.encode(d.body), "application/json" end
  return d.body, d.content_type or "application/octet-stream"
end

-- Headers every URL form shares: the description's, the content type, accept, session affinity.
local function base_headers(cfg, d)
  local body, ct = encode_body(d)
  local headers = copy(d.headers)
  headers["content-type"] = d.content_type or ct
  if d.stream then headers["accept"] = "text/event-stream" end
  if d.session and cfg.session_affinity then headers["x-session-affinity"] = cfg.session_affinity end
  return headers, body
end

-- The provider key and the gateway's cf-aig-* headers of a gateway URL call.
local function gateway_headers(cfg, d, headers)
  gateway.provider_auth(d.provider, cfg.api_key, headers)
  gateway.gateway_auth(cfg.cf_api_key, headers)
  gateway.cache_headers(cfg, headers)
  return headers
end

--- A transport request (method, url, headers, body, timeouts, the response size limit) for a URL and headers
--- of this config. max_response_bytes: the transport fails the request (kind "too_large") past it.
function _M.transport_request(cfg, method, url, headers, body)
  if cfg.headers then for k, v in pairs(cfg.headers) do headers[k] = v end end
  return {
    method = method, url = url, headers = headers, body = body,
    timeout = cfg.timeout, connect_timeout = cfg.connect_timeout, idle_timeout = cfg.idle_timeout,
    ca_file = cfg.ca_file, max_response_bytes = cfg.max_response_bytes or config.DEFAULT_MAX_RESPONSE_BYTES,
    on_progress = adapter.current_progress(), -- the running activity's onProgress, if any
  }
end

--- The concrete request for the REST modes (rest, gateway_rest), or for a gateway provider `url` given
--- explicitly (a gateway binding's get_url).
function _M.rest_request(cfg, d, url)
  local headers, body = base_headers(cfg, d)
  if url then
    gateway_headers(cfg, d, headers)
    url = url .. "/" .. d.gateway_path
  elseif cfg.mode == "rest" then
    headers["authorization"] = "Bearer " .. cfg.api_key
    url = cfg.api_base_url .. "/accounts/" .. cfg.account_id .. d.rest_path
  else -- gateway_rest
    gateway_headers(cfg, d, headers)
    url = gateway.url(cfg.gateway_base_url, cfg.account_id, cfg.gateway_id, d.provider, d.gateway_path)
  end
  if d.query ~= nil then url = url .. gateway.query_string(d.query) end
  return _M.transport_request(cfg, d.method or "POST", url, headers, body)
end

--- The universal entry for a gateway binding (nil when the description has no JSON form).
function _M.universal_entry(cfg, d)
  local query = d.entry_body or d.body
  if type(query) ~= "table" then return nil end
  local headers = copy(d.headers)
  headers["content-type"] = "application/json"
  gateway.provider_auth(d.provider, cfg.api_key, headers)
  gateway.cache_headers(cfg, headers)
  if d.session and cfg.session_affinity then headers["x-session-affinity"] = cfg.session_affinity end
  local endpoint = d.entry_endpoint or (d.gateway_path .. gateway.query_string(d.query))
  return gateway.entry(d.provider, endpoint, headers, query)
end

-- A gateway binding's URL for a provider, when the binding can tell it (cf.binding, env.AI.gateway(id)).
local function binding_url(b, provider)
  local ok, url = pcall(function()
    local f = b.get_url or b.getUrl
    if f == nil then return nil end
    return f(b, provider)
  end)
  if ok and type(url) == "string" then return url end
  return nil
end

-- A gateway binding's answer: a raw body goes over REST to the binding's URL, JSON as a universal entry.
local function gateway_binding_send(cfg, d)
  local entry = _M.universal_entry(cfg, d)
  if not entry then
    -- a raw body (multipart, audio bytes) cannot travel in a universal entry's JSON `query`: post it over
    -- REST to the binding's gateway URL with this config's provider key and cf-aig-* headers. The binding's
    -- own gateway token is not reachable through the binding interface: an authenticated gateway answers
    -- 401 (code 2009) there; use gateway REST mode for those.
    local url = binding_url(cfg.binding, d.provider)
    if not url then
      return nil, errors.new({ message = (d.label or "request") .. ": a raw or multipart body cannot travel " ..
        "in a gateway binding's universal entry, and this binding has no get_url; use gateway REST mode " ..
        "({ accountId, gatewayId, ... })", kind = "config", provider = d.provider, retryable = false })
    end
    return _M.rest_request(cfg, d, url)
  end
  local ok, r, rerr = pcall(cfg.binding.run, cfg.binding, entry)
  if not ok then return nil, errors.wrap(r, { kind = "provider", provider = d.provider }) end
  if r == nil then return nil, errors.wrap(rerr or "gateway binding returned nothing", { kind = "provider" }) end
  return from_binding_response(r)
end

-- A plain binding's run, its result in the response shape.
local function binding_send(cfg, d)
  local options = d.binding_options
  if d.session and cfg.session_affinity then
    options = copy(options)
    options.extraHeaders = { ["x-session-affinity"] = cfg.session_affinity }
  end
  local ok, v, err = pcall(cfg.binding.run, cfg.binding, d.model, d.binding_inputs or d.body, options)
  if not ok then return nil, cf_errors.from_binding(v, "workers-ai") end
  return from_binding_result(v, err)
end

---------------------------------------------------------------------------------------------------
-- The hook table (tanstack/ai/adapter.lua) and the pipeline of a config
---------------------------------------------------------------------------------------------------

local HOOKS = {
  classify = cf_errors.classify,
  unwrap = cf_errors.unwrap,
  payload_error = cf_errors.payload_error,
  explain = cf_errors.explain,
}

--- Before anything is sent: the model reaches URL paths (checked at construction, and here again for one set on
--- an adapter since); the keys in use stay in the redaction registry (it keeps the most recently used ones).
function HOOKS.prepare(cfg, d)
  local bad = d.model ~= nil and config.identifier_error("model", d.model, true)
  if bad then
    return errors.new({ message = (d.label or "request") .. ": " .. bad, kind = "config", provider = d.provider,
      retryable = false })
  end
  errors.register_secret(cfg.api_key)
  errors.register_secret(cfg.cf_api_key)
  return nil
end

--- One attempt: a REST request as data (the pipeline sends it through the transport), or a binding's answer.
function HOOKS.send(cfg, d)
  local mode = cfg.mode
  if mode == "rest" or mode == "gateway_rest" then return _M.rest_request(cfg, d) end
  if mode == "gateway_binding" then return gateway_binding_send(cfg, d) end
  return binding_send(cfg, d)
end
_M.HOOKS = HOOKS

-- One pipeline per resolved config (adapters sharing a config share it). Weak values too: a pipeline refers to its
-- config, and LuaJIT (Lua 5.1 semantics) has no ephemerons, so with weak keys only every config ever resolved (the
-- router resolves one per attempt) stayed alive through its own pipeline: ~1.6 KB per request, forever. An adapter
-- holds its pipeline, so the entry lives as long as some adapter uses it.
local pipelines = setmetatable({}, { __mode = "kv" })

--- The pipeline of a resolved config (tanstack.ai.adapter.pipeline with Cloudflare's hooks), made once.
function _M.pipeline(cfg)
  local p = pipelines[cfg]
  if p == nil then
    p = adapter.pipeline(cfg, HOOKS)
    pipelines[cfg] = p
  end
  return p
end

--- Send a description with retries. Returns a 2xx response (see tanstack/ai/http.lua for its shapes) or nil, err.
function _M.send(cfg, d)
  return _M.pipeline(cfg):send(d)
end

--- Read a whole (2xx) answer into { value = <decoded JSON, envelope removed>, headers } or
--- { bytes, content_type, headers }; an error report inside a JSON answer becomes nil, err.
function _M.read(res, label, provider)
  return adapter.read_whole(res, { label = label, provider = provider, unwrap = cf_errors.unwrap,
    payload_error = cf_errors.payload_error })
end

--- Send a description and read the whole answer (every non-streaming call).
function _M.call(cfg, d)
  return _M.pipeline(cfg):call(d)
end

return _M
