-- Workers AI chat: an OpenAI-compatible request described once for every mode (request.lua routes it), the
-- answer read in either Workers AI format (workers_ai/format.lua).
local turn = require("tanstack.ai.turn")
local request = require("cloudflare.tanstack_ai.request")
local format = require("cloudflare.tanstack_ai.workers_ai.format")
local cf_errors = require("cloudflare.tanstack_ai.errors")

local setmetatable, pairs = setmetatable, pairs

local _M = {}

local PROVIDER = "workers-ai"

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a) return "WorkersAiTextAdapter(" .. a.model .. ", " .. a.config.mode .. ")" end

function _M.new(model, cfg)
  return setmetatable({ kind = "text", name = PROVIDER, model = model, config = cfg, label = "WorkersAi" },
    Adapter)
end

--- The description of a turn's request (see request.lua).
function Adapter:describe(options)
  local body = format.build_request(options)
  local inputs = {} -- the binding and universal entry forms name the model elsewhere
  for k, v in pairs(body) do if k ~= "model" then inputs[k] = v end end
  return {
    provider = PROVIDER, model = self.model, label = "Workers AI chat",
    body = body, binding_inputs = inputs, entry_body = inputs,
    rest_path = "/ai/v1/chat/completions", gateway_path = "v1/chat/completions",
    entry_endpoint = self.model, -- universal entries use the native model endpoint (docs form)
    stream = body.stream, session = true,
  }
end

local function with_model(self, options)
  local o = {}
  for k, v in pairs(options) do o[k] = v end
  o.model = self.model
  return o
end

--- One model turn as AG-UI events. options: messages (ModelMessages), systemPrompts, tools, modelOptions,
--- temperature, maxTokens, runId, threadId, used_ids.
function Adapter:chat_stream(options)
  options = with_model(self, options)
  local d = self:describe(options)
  local cfg = self.config
  return turn.new(function() return request.send(cfg, d) end, { format = format, model = self.model,
    runId = options.runId, threadId = options.threadId, used_ids = options.used_ids, provider = PROVIDER,
    classify = cf_errors.classify })
end

--- Structured output: a non-streaming json_schema request; returns the decoded table and the raw text.
function Adapter:structured_output(options, output_schema)
  options = with_model(self, options)
  options.outputSchema = output_schema
  local r, err = request.call(self.config, self:describe(options))
  if not r then return nil, err end
  if r.value == nil then
    return nil, require("tanstack.ai.errors").new({ message = "Workers AI chat: expected a JSON answer, got " ..
      tostring(r.content_type or "no content type"), kind = "provider", provider = PROVIDER })
  end
  return format.structured(r.value, PROVIDER)
end

return _M
