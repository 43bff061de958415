-- Chat through AI Gateway for the third-party providers (OpenAI, Anthropic, Gemini, Grok, OpenRouter):
-- the provider's wire format (one translator per format) sent to its gateway endpoint in either gateway
-- mode. The facts per provider live in catalog.lua.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local turn = require("tanstack.ai.turn")
local openai = require("tanstack.ai.providers.openai")
local anthropic = require("tanstack.ai.providers.anthropic")
local gemini = require("tanstack.ai.providers.gemini")
local route = require("cloudflare.tanstack_ai.route")
local catalog = require("cloudflare.tanstack_ai.providers.catalog")
local request = require("cloudflare.tanstack_ai.providers.request")

local setmetatable, type, pairs, tostring = setmetatable, type, pairs, tostring

local _M = {}

-- Chat Completions structured answer: the message content, as JSON text
local function openai_structured(v, provider)
  if openai.is_error_payload(v) then return nil, openai.payload_error(v, provider) end
  local choice = type(v) == "table" and type(v.choices) == "table" and v.choices[1] or nil
  local msg = type(choice) == "table" and choice.message or nil
  if type(msg) ~= "table" then
    return nil, errors.new({ message = "structured output response has no message", kind = "provider",
      provider = provider, body = json.try_encode(v) })
  end
  if type(msg.refusal) == "string" then
    return nil, errors.new({ message = "the model refused: " .. msg.refusal, kind = "provider", code = "refusal",
      provider = provider })
  end
  local raw = msg.content
  if type(raw) == "table" then return raw, json.encode(raw) end
  local data, derr
  if type(raw) == "string" then data, derr = json.decode(raw) end
  if type(data) ~= "table" then
    return nil, errors.new({ message = "structured output is not a JSON object: " .. tostring(derr or raw),
      kind = "decode", provider = provider })
  end
  return data, raw
end

-- OpenRouter reports a failure after the stream started as a chunk carrying both `error` and a choice
-- with finish_reason "error": that ends the run with RUN_ERROR, not a RUN_FINISHED.
local function openai_translator(ctx)
  ctx.normalize = function(v, tr)
    if type(v) == "table" and type(v.error) == "table" then
      tr:fail(openai.payload_error(v, ctx.provider))
      return nil
    end
    return v
  end
  return openai.translator(ctx)
end

-- one entry per wire format: request builder, translator, structured-answer reader
local WIRES = {
  openai = { build = openai.build_request, translator = openai_translator, structured = openai_structured },
  anthropic = { build = anthropic.build_request, translator = anthropic.translator,
    structured = anthropic.structured_result },
  gemini = { build = gemini.build_request, translator = gemini.translator, structured = gemini.structured_result },
}

-- Provider quirks of the Chat Completions request (facts from catalog.lua).
local function adjust_openai_body(p, model, body, options)
  if p.max_tokens_key and options.maxTokens ~= nil then
    body.max_tokens = nil
    body[p.max_tokens_key] = options.maxTokens
  end
  if p.no_sampling and p.no_sampling(model) then
    body.temperature, body.top_p = nil, nil
  end
end

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a)
  return a.provider.label .. "TextAdapter(" .. a.model .. ", " .. a.config.mode .. ")"
end

--- provider: a catalog name ("openai", "anthropic", "gemini", "grok", "openrouter").
function _M.new(provider, model, cfg)
  local p = catalog.get(provider)
  return setmetatable({ kind = "text", name = p.name, model = model, config = cfg, provider = p }, Adapter)
end

--- The request for a turn, described once for both gateway modes.
function Adapter:request_spec(options)
  local p = self.provider
  local wire = WIRES[p.wire]
  local body = wire.build(options)
  local stream, path, query
  if p.wire == "gemini" then
    stream = options.outputSchema == nil and options.stream ~= false
    path, query = gemini.endpoint(self.model, stream)
  else
    if p.wire == "openai" then adjust_openai_body(p, self.model, body, options) end
    stream = body.stream == true
    path = p.chat_path
  end
  return {
    provider = p.slug, model = self.model, gateway_path = path, query = query, body = body,
    headers = catalog.headers(p, self.config), stream = stream, label = p.label .. " chat",
  }
end

local function with_model(self, options)
  local o = {}
  for k, v in pairs(options or {}) do o[k] = v end
  o.model = self.model
  return o
end

-- A binding may hand back a whole SSE body as one string: turn it into a reader for the stream path.
local function readable(res, err)
  if res and type(res.body) == "string" and res.read == nil then
    local ct = res.headers and res.headers["content-type"] or ""
    if ct:find("event-stream", 1, true) then
      local b = res.body
      res.body = nil
      res.read = function()
        local x = b
        b = nil
        return x
      end
    end
  end
  return res, err
end

--- One model turn as AG-UI events. options: messages (ModelMessages), systemPrompts, tools, modelOptions,
--- temperature, maxTokens, runId, threadId, used_ids.
function Adapter:chat_stream(options)
  options = with_model(self, options)
  local spec = self:request_spec(options)
  local cfg, p = self.config, self.provider
  local wire = WIRES[p.wire]
  return turn.new(function() return readable(route.send(cfg, spec)) end, function(emit)
    return wire.translator({ model = self.model, runId = options.runId, threadId = options.threadId,
      emit = emit, used_ids = options.used_ids, provider = p.slug })
  end)
end

--- Structured output (non-streaming): returns the decoded table and the raw JSON text, or nil, err.
function Adapter:structured_output(options, output_schema)
  options = with_model(self, options)
  options.outputSchema = output_schema
  options.stream = false
  local spec = self:request_spec(options)
  local r, err = request.call(self.config, spec)
  if not r then return nil, err end
  if r.value == nil then
    return nil, errors.new({ message = spec.label .. ": expected a JSON answer, got " ..
      tostring(r.content_type or "no content type"), kind = "provider", provider = spec.provider })
  end
  return WIRES[self.provider.wire].structured(r.value, spec.provider)
end

return _M
