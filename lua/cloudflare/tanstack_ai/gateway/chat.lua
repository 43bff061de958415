-- Chat through AI Gateway for the third-party providers (OpenAI, Anthropic, Gemini, Grok, OpenRouter): the
-- provider's wire format (tanstack/ai/formats) sent to its gateway endpoint in either gateway mode. The facts
-- per provider (slug, wire format, paths, quirks) live in providers/<name>.lua.
local adapter = require("tanstack.ai.adapter")
local request = require("cloudflare.tanstack_ai.request")
local providers = require("cloudflare.tanstack_ai.providers")
local cf_errors = require("cloudflare.tanstack_ai.errors")

local errors = adapter.errors
local setmetatable, pairs, tostring = setmetatable, pairs, tostring

local _M = {}

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a)
  return a.provider.label .. "TextAdapter(" .. a.model .. ", " .. a.config.mode .. ")"
end

--- provider: a provider name ("openai", "anthropic", "gemini", "grok", "openrouter").
function _M.new(provider, model, cfg)
  local p = providers.get(provider)
  return setmetatable({ kind = "text", name = p.name, model = model, config = cfg, provider = p, label = p.label,
    format = adapter.format(p.wire), pipeline = request.pipeline(cfg) }, Adapter)
end

--- The description of a turn's request, for both gateway modes (see request.lua).
function Adapter:describe(options)
  local p = self.provider
  local body = self.format.build_request(options)
  local path, query, stream = providers.chat_endpoint(p, self.model, body, options)
  return {
    provider = p.slug, model = self.model, gateway_path = path, query = query, body = body,
    headers = providers.headers(p, self.config), stream = stream, label = p.label .. " chat",
  }
end

local function with_model(self, options)
  local o = {}
  for k, v in pairs(options or {}) do o[k] = v end
  o.model = self.model
  return o
end

--- One model turn as AG-UI events. options: messages (ModelMessages), systemPrompts, tools, modelOptions,
--- temperature, maxTokens, runId, threadId, used_ids.
function Adapter:chat_stream(options)
  options = with_model(self, options)
  local d = self:describe(options)
  return self.pipeline:stream(d, { format = self.format, model = self.model, runId = options.runId,
    threadId = options.threadId, used_ids = options.used_ids })
end

--- Structured output (non-streaming): returns the decoded table and the raw JSON text, or nil, err.
function Adapter:structured_output(options, output_schema)
  options = with_model(self, options)
  options.outputSchema = output_schema
  options.stream = false
  local d = self:describe(options)
  local r, err = self.pipeline:call(d)
  if not r then return nil, err end
  if r.value == nil then
    return nil, errors.new({ message = d.label .. ": expected a JSON answer, got " ..
      tostring(r.content_type or "no content type"), kind = "provider", provider = d.provider })
  end
  return self.format.structured(r.value, d.provider, cf_errors.classify)
end

return _M
