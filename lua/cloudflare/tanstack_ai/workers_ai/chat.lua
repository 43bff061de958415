-- Workers AI chat: an OpenAI-compatible request described once for every mode (request.lua routes it), the
-- answer read in either Workers AI format (workers_ai/format.lua).
local turn = require("tanstack.ai.turn")
local request = require("cloudflare.tanstack_ai.request")
local format = require("cloudflare.tanstack_ai.workers_ai.format")
local cf_errors = require("cloudflare.tanstack_ai.errors")
local models = require("cloudflare.tanstack_ai.workers_ai.models")
local errors = require("tanstack.ai.errors")

local setmetatable, pairs, type, ipairs, tostring = setmetatable, pairs, type, ipairs, tostring

local _M = {}

local PROVIDER = "workers-ai"

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a) return "WorkersAiTextAdapter(" .. a.model .. ", " .. a.config.mode .. ")" end

function _M.new(model, cfg)
  return setmetatable({ kind = "text", name = PROVIDER, model = model, config = cfg, label = "WorkersAi" },
    Adapter)
end

local function refuse(model, message)
  return nil, errors.new({ message = "Workers AI chat: " .. message, kind = "config", code = "unsupported_option",
    provider = PROVIDER, model = model, retryable = false })
end

-- Messages -> one prompt, for a model whose typed input has no messages.
local function prompt_of(messages)
  local out = {}
  for _, m in ipairs(messages or {}) do
    local c = m.content
    if type(c) == "table" then
      local t = {}
      for _, p in ipairs(c) do if type(p) == "table" and p.text then t[#t + 1] = p.text end end
      c = table.concat(t, "\n")
    end
    out[#out + 1] = tostring(m.role) .. ": " .. tostring(c or "")
  end
  out[#out + 1] = "assistant:"
  return table.concat(out, "\n")
end

--- The inputs of a binding's AI.run (and of a gateway binding's universal entry, which runs the model's own
--- endpoint): only the fields the model's typed input has (catalog.lua); the
--- JSON schema of structured output as guided_json where the model offers only that. A model the catalog lacks
--- gets the whole OpenAI-style body (the common form).
function _M.binding_inputs(model, body)
  local entry = models.entry(model)
  local inputs = {}
  if not entry then
    for k, v in pairs(body) do if k ~= "model" then inputs[k] = v end end
    return inputs
  end
  local f = entry.fields
  for k, v in pairs(body) do
    if k ~= "model" and f[k] ~= nil then inputs[k] = v end
  end
  if f.messages == nil and f.prompt ~= nil then inputs.prompt = prompt_of(body.messages) end
  local rf = body.response_format
  if type(rf) == "table" and rf.type == "json_schema" and f.response_format == nil then
    if entry.structured == "guided_json" then
      inputs.guided_json = type(rf.json_schema) == "table" and rf.json_schema.schema or nil
    else
      return refuse(model, "structured output: the typed input of " .. model ..
        " offers neither response_format nor guided_json")
    end
  end
  return inputs
end

--- The description of a turn's request (see request.lua), or nil, err for a request this model cannot take
--- (tools to a model without function calling, a realtime model).
function Adapter:describe(options)
  local entry = models.entry(self.model)
  local refused = models.unusable(self.model, entry)
  if refused then return refuse(self.model, refused) end
  local body = format.build_request(options)
  if entry and not entry.function_calling and type(body.tools) == "table" and body.tools[1] ~= nil then
    return refuse(self.model, self.model .. " has no function calling (its typed input takes no tools); " ..
      "drop the tools or use a model with function calling")
  end
  local cfg = self.config
  local inputs, err
  local native = cfg.mode == "binding" or cfg.mode == "gateway_binding" -- the model's own input, not /v1/chat
  if native then
    inputs, err = _M.binding_inputs(self.model, body)
    if not inputs then return nil, err end
  else
    inputs = {} -- the universal entry form names the model elsewhere
    for k, v in pairs(body) do if k ~= "model" then inputs[k] = v end end
  end
  return {
    provider = PROVIDER, model = self.model, label = "Workers AI chat",
    body = body, binding_inputs = inputs, entry_body = inputs,
    rest_path = "/ai/v1/chat/completions", gateway_path = "v1/chat/completions",
    entry_endpoint = self.model, -- universal entries use the native model endpoint (docs form)
    stream = body.stream and (not native or inputs.stream ~= nil or not entry), session = true,
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
  local d, derr = self:describe(options)
  local cfg = self.config
  return turn.new(function()
    if not d then return nil, derr end
    return request.send(cfg, d)
  end, { format = format, model = self.model,
    runId = options.runId, threadId = options.threadId, used_ids = options.used_ids, provider = PROVIDER,
    classify = cf_errors.classify })
end

--- Structured output: a non-streaming json_schema request; returns the decoded table and the raw text.
function Adapter:structured_output(options, output_schema)
  options = with_model(self, options)
  options.outputSchema = output_schema
  local d, derr = self:describe(options)
  if not d then return nil, derr end
  local r, err = request.call(self.config, d)
  if not r then return nil, err end
  if r.value == nil then
    return nil, require("tanstack.ai.errors").new({ message = "Workers AI chat: expected a JSON answer, got " ..
      tostring(r.content_type or "no content type"), kind = "provider", provider = PROVIDER })
  end
  return format.structured(r.value, PROVIDER)
end

return _M
