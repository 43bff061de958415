-- Workers AI chat: an OpenAI-compatible request described once for every mode (request.lua routes it), the
-- answer read in either Workers AI format (workers_ai/format.lua).
local adapter = require("tanstack.ai.adapter")
local request = require("cloudflare.tanstack_ai.request")
local format = require("cloudflare.tanstack_ai.workers_ai.format")
local models = require("cloudflare.tanstack_ai.workers_ai.models")

local errors, json = adapter.errors, adapter.json

local setmetatable, pairs, type, ipairs, tostring, next = setmetatable, pairs, type, ipairs, tostring, next

local _M = {}

local PROVIDER = "workers-ai"

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a) return "WorkersAiTextAdapter(" .. a.model .. ", " .. a.config.mode .. ")" end

function _M.new(model, cfg)
  -- the pipeline of this config (request.lua's hooks), made once, not per turn
  return setmetatable({ kind = "text", name = PROVIDER, model = model, config = cfg, label = "WorkersAi",
    pipeline = request.pipeline(cfg) }, Adapter)
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

-- A vision model with a top-level `image` (llama-3.2-11b-vision-instruct): the first image content part (a data
-- URL) becomes that byte array, and each message's content its text.
local function vision_inputs(inputs)
  local msgs = {}
  for i, m in ipairs(inputs.messages) do
    if type(m) == "table" and type(m.content) == "table" then
      local texts = {}
      for _, p in ipairs(m.content) do
        if type(p) == "table" and p.type == "text" then
          texts[#texts + 1] = p.text
        elseif type(p) == "table" and p.type == "image_url" and inputs.image == nil then
          local url = type(p.image_url) == "table" and p.image_url.url or nil
          local b64 = type(url) == "string" and url:match("^data:[^;,]*;base64,(.*)$")
          local bytes = b64 and adapter.base64_decode(b64)
          if bytes then
            local a = json.array()
            for k = 1, #bytes do a[k] = bytes:byte(k) end
            inputs.image = a
          end
        end
      end
      local c = {}
      for k, v in pairs(m) do c[k] = v end
      c.content = table.concat(texts, "\n")
      msgs[i] = c
    else
      msgs[i] = m
    end
  end
  inputs.messages = msgs
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
  if f.image ~= nil and type(inputs.messages) == "table" then vision_inputs(inputs) end
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
  local rf = body.response_format
  if entry and entry.structured == "json_object" and type(rf) == "table" and rf.type == "json_schema" then
    -- a typed input whose response_format is only {type?: string} (llama-guard-3-8b, workers-types
    -- Ai_Cf_Meta_Llama_Guard_3_8B_Input: "Set to json_object to process and output generated text as JSON"):
    -- JSON mode, without the schema; the answer is the model's own JSON ({safe, categories})
    body.response_format = { type = "json_object" }
  end
  if entry and not entry.function_calling and type(body.tools) == "table" and body.tools[1] ~= nil then
    return refuse(self.model, self.model .. " has no function calling (its typed input takes no tools); " ..
      "drop the tools or use a model with function calling")
  end
  local bad = models.check(self.model, entry, body, "Workers AI chat", nil, true)
  if bad then return refuse(self.model, bad:gsub("^Workers AI chat: ", "")) end
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

---------------------------------------------------------------------------------------------------
-- Answers as real Workers AI gives them
---------------------------------------------------------------------------------------------------

local function copy(t)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return o
end

-- The same request without streaming (an empty streamed result is asked again this way).
local function without_stream(d)
  local n = copy(d)
  n.body = copy(d.body)
  n.body.stream, n.body.stream_options = false, nil
  n.binding_inputs = copy(d.binding_inputs)
  if n.binding_inputs.stream ~= nil then n.binding_inputs.stream = false end
  n.binding_inputs.stream_options = nil
  n.entry_body = n.binding_inputs
  n.stream = false
  return n
end


-- The tool a turn forces (modelOptions.tool_choice): its name, or true for "required".
local function forced_tool(options)
  local mo = options.modelOptions
  local tc = type(mo) == "table" and (mo.tool_choice or mo.toolChoice) or nil
  if tc == "required" or tc == "any" then return true end
  if type(tc) == "table" then
    local f = tc["function"]
    return type(f) == "table" and f.name or tc.name
  end
end

local function tool_names(options)
  local names = {}
  for _, t in ipairs(type(options.tools) == "table" and options.tools or {}) do
    if type(t) == "table" and t.name then names[t.name] = true end
  end
  return names
end

--- One model turn as AG-UI events. options: messages (ModelMessages), systemPrompts, tools, modelOptions,
--- temperature, maxTokens, runId, threadId, used_ids.
--- Real Workers AI answers handled: a streamed request answered with an empty JSON result is asked once more
--- without streaming; a malformed stream event is skipped (RUN_FINISHED / RUN_ERROR carry `warnings`) unless
--- the adapter's strictStream is set; a stream ending with neither [DONE] nor a finish reason ends in RUN_ERROR
--- (code stream_cut_short) after its text; a forced tool call answered in the text becomes a tool call. The
--- first two are workers_ai/format.lua's (lenient, finish), run by the turn's one decoder: the stream is framed
--- and decoded once.
function Adapter:chat_stream(options)
  options = with_model(self, options)
  local d, derr = self:describe(options)
  local pipeline = self.pipeline
  local function open()
    if not d then return nil, derr end
    local res, err = pipeline:send(d)
    if not res then return nil, err end
    if not d.stream or adapter.answer_kind(res, false) == "sse" then return res end
    -- a streamed request answered with JSON (read by the one reader): an empty result is asked again without
    -- streaming
    local whole, rerr = adapter.decoded(res)
    if not whole then return nil, rerr end
    local u = format.unwrap(whole.value)
    if type(u) == "table" and next(u) == nil then return pipeline:send(without_stream(d)) end
    return whole
  end
  local forced = forced_tool(options)
  local fmt = format
  if forced then
    local tools = tool_names(options)
    fmt = setmetatable({ new_state = function() return { forced = forced, tools = tools } end }, { __index = format })
  end
  return pipeline:stream(d, { open = open, format = fmt, model = self.model, strict = self.strictStream == true,
    runId = options.runId, threadId = options.threadId, used_ids = options.used_ids, provider = PROVIDER })
end

--- Structured output: a non-streaming json_schema request; returns the decoded table and the raw text.
function Adapter:structured_output(options, output_schema)
  options = with_model(self, options)
  options.outputSchema = output_schema
  local d, derr = self:describe(options)
  if not d then return nil, derr end
  local r, err = self.pipeline:call(d)
  if not r then return nil, err end
  if r.value == nil then
    return nil, errors.new({ message = "Workers AI chat: expected a JSON answer, got " ..
      tostring(r.content_type or "no content type"), kind = "provider", provider = PROVIDER })
  end
  return format.structured(r.value, PROVIDER)
end

return _M
