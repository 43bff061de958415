-- Cloudflare's error shapes and codes, as the classifier hook of tanstack.ai.errors:
--   Cloudflare API   {success: false, errors: [{code, message}]}
--   AI Gateway       {error: [{code, message}]}
--   Workers AI       a numeric code in the message ("InferenceUpstreamError: 3040: Capacity ..."), or
--                    internalCode; codes map to an HTTP status (docs: workers-ai/platform/errors)
-- and the envelope of Cloudflare's API ({ success, result, errors, messages }) around whole answers.
local errors = require("tanstack.ai.adapter").errors

local type, tonumber = type, tonumber

local _M = {}

-- Workers AI internal codes that map to an HTTP status.
_M.CODE_STATUS = {
  [5007] = 400, [5004] = 400, [3039] = 400, [3003] = 400, [5018] = 403, [5016] = 403, [3023] = 403,
  [3041] = 403, [5019] = 405, [5005] = 405, [3042] = 404, [3006] = 413, [3007] = 408, [3008] = 408,
  [3036] = 429, [3040] = 429,
}

-- What each code means (Cloudflare's Workers AI errors page), for an error that carries only its code.
_M.CODE_NAME = {
  [5007] = "No such model", [5004] = "Invalid data", [3039] = "Finetune missing required files",
  [3003] = "Incomplete request", [5018] = "Account not allowed for private model", [5016] = "Model agreement",
  [3023] = "Account blocked", [3041] = "Account not allowed for private model", [5019] = "Deprecated SDK version",
  [5005] = "LoRa unsupported", [3042] = "Invalid model ID", [3006] = "Request too large", [3007] = "Timeout",
  [3008] = "Aborted", [3036] = "Account limited", [3040] = "Out of capacity",
}

-- Retried although no HTTP status says so (a binding error carries no status).
_M.RETRYABLE_CODE = { [3040] = true } -- "out of capacity"

local function first(t)
  if type(t) == "table" then return t[1] end
end

--- classify(fields, decoded): refine an error's fields (message, code, status, retryable) for Cloudflare's
--- shapes. Passed to tanstack.ai.errors (from_http / from_decoded / from_payload) by every Cloudflare path.
function _M.classify(f, decoded)
  if type(decoded) == "table" then
    local e1 = first(decoded.errors) or first(decoded.error)
    if type(e1) == "table" then
      if e1.message ~= nil then f.message = tostring(e1.message) end
      f.code = e1.code
    end
    if f.code == nil and decoded.internalCode then f.code = decoded.internalCode end
  end
  if f.code == nil and type(f.message) == "string" then
    for c in f.message:gmatch("(%d%d%d%d?%d?)%s*:") do
      if _M.CODE_STATUS[tonumber(c)] then f.code = tonumber(c) break end
    end
  end
  local n = tonumber(f.code)
  if n and _M.RETRYABLE_CODE[n] then f.retryable = true end
end

--- Is a decoded answer an error report (the generic shapes, or the API envelope's success = false)?
function _M.is_payload(v)
  return errors.is_payload(v) or (type(v) == "table" and v.success == false)
end

--- An error report inside a 200 answer or a stream event -> an error value.
function _M.from_payload(v, provider)
  return errors.from_payload(v, provider, _M.classify)
end

--- A binding's failure (what env.AI.run raised or returned) -> an error value with status and retryability
--- from the Workers AI code.
function _M.from_binding(v, provider)
  local e = errors.wrap(v, { kind = "provider", provider = provider or "workers-ai" })
  if e.code == nil then -- "3040: Capacity temporarily exceeded" raised as a string or carried in a message
    local f = { message = e.message }
    _M.classify(f, nil)
    e.code = f.code
  end
  local n = tonumber(e.code)
  if n and n % 1 == 0 then e.code = math.tointeger and math.tointeger(n) or n end
  if e.status == nil and type(e.code) == "number" then e.status = _M.CODE_STATUS[e.code] end
  if type(e.code) == "number" and (e.message == nil or e.message == "unknown error") then -- {code = "3040"}
    e.message = "Workers AI error " .. e.code .. (_M.CODE_NAME[e.code] and (": " .. _M.CODE_NAME[e.code]) or "")
  end
  if e.status and e.retryable == false then e.retryable = errors.retryable_status(e.status) end
  if type(e.code) == "number" and _M.RETRYABLE_CODE[e.code] then e.retryable = true end
  return e
end

--- Strip the envelope ({ success = true, result = ... } -> result); anything else is returned as is.
function _M.unwrap(v)
  if type(v) == "table" and v.result ~= nil and (v.success ~= nil or v.errors ~= nil) and v.success ~= false then
    return v.result
  end
  return v
end

--- An error report inside a 2xx JSON answer, as an error value; nil for an answer.
function _M.payload_error(v, provider)
  if _M.is_payload(v) then return _M.from_payload(v, provider) end
  return nil
end

---------------------------------------------------------------------------------------------------
-- What to do about a failure (the explain hook of the pipeline): err.hint, shown by tostring(err). Names
-- variables, config fields, a base URL and a path; never a key.
---------------------------------------------------------------------------------------------------

-- The usual variable of a gateway provider's key (providers/<name>.lua key_env).
local function provider_key_env(name)
  local ok, providers = pcall(require, "cloudflare.tanstack_ai.providers")
  local p = ok and providers.find(name)
  return p and p.key_env and p.key_env[1]
end

local function key_hint(cfg, d)
  if cfg.mode == "rest" then return "check " .. (cfg.key_source or "config.apiKey") end
  if cfg.mode ~= "gateway_rest" then return nil end
  local env = provider_key_env(d.provider)
  if d.provider == "workers-ai" then env = "CLOUDFLARE_API_KEY" end
  return "check config.apiKey (the " .. tostring(d.provider) .. " key" .. (env and (", usually " .. env) or "") ..
    ") and config.cfApiKey (the gateway's token, when the gateway is authenticated)"
end

-- The path of a URL, without scheme, authority and query (the account id and model are not secrets; a query
-- could carry anything).
local function path_of(url)
  local p = url:match("^%a[%w+.-]*://[^/]*(/[^?#]*)") or url:match("^[^?#]*")
  return p
end

--- explain(cfg, d, err, url): set err.hint (and err.path for a 404) from what the config knows.
function _M.explain(cfg, d, err, url)
  if err.kind == "http" and (err.status == 401 or err.status == 403) then
    err.hint = key_hint(cfg, d)
  elseif err.kind == "connect" and (cfg.mode == "rest" or cfg.mode == "gateway_rest") then
    local base, source = cfg.api_base_url, cfg.api_base_source
    if cfg.mode == "gateway_rest" then base, source = cfg.gateway_base_url, cfg.gateway_base_source end
    if base and source then
      base = base:gsub("^(%a[%w+.-]*://)[^/@]*@", "%1") -- never a userinfo part
      err.hint = "the base URL " .. base .. " comes from " .. source
    end
  elseif err.code == 5007 and type(d.model) == "string" and d.provider == "workers-ai" then -- No such model
    local near = require("cloudflare.tanstack_ai.workers_ai.models").nearest(d.model, 3)
    err.hint = "the nearest catalog models: " .. table.concat(near, ", ")
  elseif err.kind == "http" and err.status == 404 and url then
    err.path = path_of(url)
    err.hint = "the path asked for: " .. err.path
  end
end

return _M
