-- Text embeddings through AI Gateway, for providers that speak OpenAI's Embeddings API (`embeddings_path` in their
-- provider file: OpenAI's `embeddings`). Result as Workers AI's embedding adapter gives it:
-- { id, model, embeddings = {{...}}, usage = { inputTokens } }.
local adapter = require("tanstack.ai.adapter")
local providers = require("cloudflare.tanstack_ai.providers")
local request = require("cloudflare.tanstack_ai.request")
local errors = adapter.errors

local setmetatable, type, pairs, ipairs = setmetatable, type, pairs, ipairs

local _M = {}

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a) return a.provider.label .. "EmbeddingAdapter(" .. a.model .. ")" end

--- embed{ input = string | {strings}, modelOptions (dimensions, user, ...) } -> result or nil, err.
function Adapter:embed(opts)
  local p, model = self.provider, self.model
  local body = {}
  if type(opts.modelOptions) == "table" then for k, v in pairs(opts.modelOptions) do body[k] = v end end
  body.model = model
  body.input = opts.input or opts.text
  body.encoding_format = "float"
  local r, err = request.call(self.config, { provider = p.slug, gateway_path = p.embeddings_path, body = body,
    label = p.label .. " embeddings" })
  if not r then return nil, err end
  local v = r.value
  local data = type(v) == "table" and v.data or nil
  if type(data) ~= "table" then
    return nil, errors.new({ message = p.label .. " embeddings: the answer has no data list", kind = "provider",
      provider = p.slug, retryable = false })
  end
  local out = {}
  for i, row in ipairs(data) do out[i] = type(row) == "table" and row.embedding or nil end
  local u = type(v.usage) == "table" and v.usage or {}
  return { id = adapter.id("embedding"), model = v.model or model, embeddings = out,
    usage = { inputTokens = u.prompt_tokens or 0 } }
end

function _M.new(provider, model, cfg)
  local p = providers.get(provider)
  return setmetatable({ kind = "embedding", name = p.name, model = model, config = cfg, provider = p }, Adapter)
end

return _M
