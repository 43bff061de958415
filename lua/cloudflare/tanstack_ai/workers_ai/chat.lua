-- Workers AI chat: the OpenAI-compatible request on every path, answers read in either Workers AI
-- format (OpenAI chunks or native events) on every path.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local openai = require("tanstack.ai.providers.openai")
local turn = require("tanstack.ai.turn")
local route = require("cloudflare.tanstack_ai.route")
local native = require("cloudflare.tanstack_ai.workers_ai.native")

local setmetatable, type, pairs = setmetatable, type, pairs

local _M = {}

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a) return "WorkersAiTextAdapter(" .. a.model .. ", " .. a.config.mode .. ")" end

function _M.new(model, cfg)
  return setmetatable({ kind = "text", name = "workers-ai", model = model, config = cfg }, Adapter)
end

--- The request for a turn, described once for every mode.
function Adapter:request_spec(options)
  local body = openai.build_request(options)
  local inputs = {}
  for k, v in pairs(body) do if k ~= "model" then inputs[k] = v end end
  return {
    provider = "workers-ai",
    model = self.model,
    rest_path = "/ai/v1/chat/completions",
    gateway_path = "v1/chat/completions",
    endpoint = self.model, -- universal entries use the native model endpoint (docs form)
    body = self.config.mode == "gateway_binding" and inputs or body,
    binding_inputs = inputs,
    stream = body.stream,
    session = true,
    label = "Workers AI chat",
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
  local spec = self:request_spec(options)
  local cfg = self.config
  return turn.new(function() return route.send(cfg, spec) end, function(emit)
    return openai.translator({ model = self.model, runId = options.runId, threadId = options.threadId,
      emit = emit, used_ids = options.used_ids, provider = "workers-ai",
      normalize = native.to_chunk, normalize_body = native.to_body })
  end)
end

--- Structured output: non-streaming json_schema request; returns the decoded table and the raw text.
function Adapter:structured_output(options, output_schema)
  options = with_model(self, options)
  options.outputSchema = output_schema
  local spec = self:request_spec(options)
  local res, err = route.send(self.config, spec)
  if not res then return nil, err end
  local v = res.value
  if v == nil then
    local bytes, rerr = turn.read_all(res)
    if res.close then res.close() end
    if not bytes then return nil, rerr end
    local derr
    v, derr = json.decode(bytes)
    if v == nil then return nil, errors.new({ message = "invalid JSON in response: " .. tostring(derr), kind = "decode" }) end
  end
  v = native.unwrap(v)
  local content
  if type(v) == "table" and type(v.choices) == "table" then
    local c = v.choices[1]
    content = type(c) == "table" and type(c.message) == "table" and c.message.content or nil
  elseif type(v) == "table" then
    content = v.response
  end
  if content == nil or content == json.null then
    return nil, errors.new({ message = "Workers AI structured output returned no content", kind = "provider",
      provider = "workers-ai", body = json.try_encode(v) })
  end
  if type(content) == "table" then return content, json.encode(content) end
  local data, derr = json.decode(content)
  if type(data) ~= "table" then
    return nil, errors.new({ message = "structured output is not a JSON object: " .. tostring(derr or content),
      kind = "decode", provider = "workers-ai" })
  end
  return data, content
end

return _M
