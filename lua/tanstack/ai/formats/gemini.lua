-- Gemini generateContent / streamGenerateContent (alt=sse), a wire format (see formats/init.lua for the
-- interface): TanStack chat options -> request body, GenerateContentResponse events and whole answers ->
-- canonical deltas (deltas.lua), in one hop. Pure: no I/O.
local json = require("tanstack.ai.json")
local messages_mod = require("tanstack.ai.messages")
local structured = require("tanstack.ai.structured")
local errors = require("tanstack.ai.errors")
local parts = require("tanstack.ai.formats.parts")

local type, ipairs, pairs, tostring, error, tonumber, next = type, ipairs, pairs, tostring, error, tonumber, next
local concat = table.concat

local _M = { name = "gemini", default_provider = "gemini" }

---------------------------------------------------------------------------------------------------
-- Schemas: JSON Schema -> Gemini's OpenAPI-subset Schema (responseSchema, function parameters)
---------------------------------------------------------------------------------------------------

-- the Schema fields Gemini knows; anything else (additionalProperties, $schema, strict, ...) is a 400
local SCHEMA_KEYS = { format = true, title = true, description = true, nullable = true, enum = true,
  maxItems = true, minItems = true, minProperties = true, maxProperties = true, minLength = true,
  maxLength = true, pattern = true, example = true, propertyOrdering = true, default = true,
  minimum = true, maximum = true }

local function to_schema(s, depth)
  if type(s) ~= "table" or depth > 64 then return s end
  local out = json.object()
  for k, v in pairs(s) do
    if SCHEMA_KEYS[k] then out[k] = (type(v) == "table") and json.copy(v) or v end
  end
  local t = s.type
  if type(t) == "table" then -- ["string", "null"] -> STRING + nullable
    local main
    for _, x in ipairs(t) do
      if x == "null" then out.nullable = true elseif main == nil then main = x end
    end
    t = main
  end
  if type(t) == "string" and t ~= "null" then out.type = t:upper() end
  if s.const ~= nil and out.enum == nil then out.enum = json.array({ s.const }) end
  if type(out.enum) == "table" then out.enum = json.array(out.enum) end
  if type(s.required) == "table" then out.required = json.array(json.copy(s.required)) end
  if type(s.properties) == "table" then
    local props = json.object()
    for name, sub in pairs(s.properties) do props[name] = to_schema(sub, depth + 1) end
    out.properties = props
    if out.type == nil then out.type = "OBJECT" end
  end
  if type(s.items) == "table" and not json.is_array(s.items) then out.items = to_schema(s.items, depth + 1) end
  local any = s.anyOf or s.oneOf
  if type(any) == "table" then
    local a = json.array()
    for i, sub in ipairs(any) do a[i] = to_schema(sub, depth + 1) end
    out.anyOf = a
  end
  return out
end

--- A JSON Schema as Gemini's Schema (nil stays nil).
function _M.schema(s)
  if s == nil then return nil end
  if type(s) ~= "table" then error("a JSON Schema must be a table", 0) end
  return to_schema(s, 0)
end

---------------------------------------------------------------------------------------------------
-- Request
---------------------------------------------------------------------------------------------------

-- top-level GenerateContentRequest fields a caller may set through modelOptions; every other key is a
-- generation parameter (temperature, topP, thinkingConfig, ...) and goes into generationConfig
local TOP_LEVEL = { safetySettings = true, toolConfig = true, cachedContent = true, labels = true,
  systemInstruction = true }

local function media_part(p, where)
  local kind, a, b = parts.resolve(p.source)
  if kind == "inline" then
    if type(a) ~= "string" then error(where .. ": " .. p.type .. " data needs a mimeType", 0) end
    return { inlineData = { mimeType = a, data = b } }
  end
  local fd = { fileUri = a }
  if type(b) == "string" then fd.mimeType = b end
  return { fileData = fd }
end

local function content_parts(content, where)
  local out = json.array()
  if content == nil then return out end
  if type(content) == "string" then
    if content ~= "" then out[1] = { text = content } end
    return out
  end
  for i, p in ipairs(content) do
    if p.type == "text" then
      if p.content ~= "" then out[#out + 1] = { text = p.content } end
    elseif p.type == "image" or p.type == "audio" or p.type == "video" or p.type == "document" then
      out[#out + 1] = media_part(p, where .. ".content[" .. i .. "]")
    else
      parts.unsupported("Gemini", p.type, where .. ".content[" .. i .. "]")
    end
  end
  return out
end

local decode_object = parts.decode_object

--- ModelMessages -> Gemini contents. Gemini has no call ids: a tool result names its function, found
--- through the toolCallId of the assistant call it answers. Same-role neighbours are merged.
function _M.convert_messages(msgs)
  local out = json.array()
  local name_of = {}
  local push = parts.role_merger(out, "parts")
  for i, m in ipairs(msgs) do
    local where = "messages[" .. i .. "]"
    if m.role == "user" then
      local ps = content_parts(m.content, where)
      if #ps == 0 then error(where .. ": user message has no content", 0) end
      push("user", ps)
    elseif m.role == "assistant" then
      local ps = content_parts(m.content, where)
      for _, tc in ipairs(m.toolCalls or {}) do
        local name = tc["function"].name
        name_of[tc.id] = name
        local part = { functionCall = { name = name, args = decode_object(tc["function"].arguments) or json.object() } }
        -- Gemini 2.5/3 thought signatures ride beside the call, not inside it
        local md = tc.metadata
        if type(md) == "table" and type(md.thoughtSignature) == "string" then part.thoughtSignature = md.thoughtSignature end
        ps[#ps + 1] = part
      end
      push("model", ps)
    elseif m.role == "tool" then
      local name = name_of[m.toolCallId] or m.name
      if type(name) ~= "string" then
        error(where .. ": tool result for toolCallId '" .. tostring(m.toolCallId) ..
          "' answers no earlier assistant tool call (Gemini needs the function name)", 0)
      end
      local c = m.content
      if type(c) ~= "string" then c = json.encode(c) end
      -- Gemini wants an object: a JSON object result is sent as is, anything else wrapped
      local response = decode_object(c) or { content = c }
      push("user", json.array({ { functionResponse = { name = name, response = response } } }))
    end
  end
  return out
end

--- Tool definitions -> one {functionDeclarations} entry (nil when there are none).
function _M.convert_tools(tools)
  if tools == nil or #tools == 0 then return nil end
  local decls = json.array()
  for i, t in ipairs(tools) do
    local d = { name = t.name, description = t.description }
    local p = t.inputSchema and _M.schema(t.inputSchema) or nil
    -- an OBJECT with no properties is rejected: a tool without inputs has no parameters
    if p and not (p.type == "OBJECT" and (p.properties == nil or next(p.properties) == nil)) then d.parameters = p end
    decls[i] = d
  end
  return json.array({ { functionDeclarations = decls } })
end

--- The request body. options: model, messages, systemPrompts, tools, modelOptions, temperature, maxTokens,
--- outputSchema (=> responseMimeType application/json + responseSchema). Streaming is chosen by the
--- endpoint (see _M.endpoint), not the body.
function _M.build_request(options)
  local body, gen = {}, {}
  if type(options.modelOptions) == "table" then
    for k, v in pairs(options.modelOptions) do
      if TOP_LEVEL[k] then
        body[k] = v
      elseif k == "generationConfig" and type(v) == "table" then
        for gk, gv in pairs(v) do if gen[gk] == nil then gen[gk] = gv end end
      elseif k ~= "tools" then
        gen[k] = v
      end
    end
  end
  local msgs = options.messages or {}
  local sys = messages_mod.system_prompts(options.systemPrompts)
  for _, m in ipairs(msgs) do
    if m.role == "system" then sys[#sys + 1] = messages_mod.text_of(m.content) end
  end
  if #sys > 0 then body.systemInstruction = { parts = json.array({ { text = concat(sys, "\n") } }) } end
  body.contents = _M.convert_messages(msgs)
  if options.temperature ~= nil then gen.temperature = options.temperature end
  if options.maxTokens ~= nil then gen.maxOutputTokens = options.maxTokens end
  if options.outputSchema ~= nil then
    gen.responseMimeType = "application/json"
    gen.responseSchema = _M.schema(options.outputSchema)
  else
    local tools = _M.convert_tools(options.tools)
    local extra = type(options.modelOptions) == "table" and options.modelOptions.tools or nil
    if type(extra) == "table" then -- provider tools (googleSearch, codeExecution, ...) from modelOptions
      tools = tools or json.array()
      for _, t in ipairs(extra) do tools[#tools + 1] = t end
    end
    body.tools = tools
  end
  if next(gen) ~= nil then body.generationConfig = gen end
  return body
end

local function escape_segment(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

--- The path (after the provider slug) and query for a model: streaming uses SSE framing (alt=sse).
function _M.endpoint(model, stream, method)
  model = model:gsub("^models/", "")
  method = method or (stream and "streamGenerateContent" or "generateContent")
  return "v1beta/models/" .. escape_segment(model) .. ":" .. method, stream and { alt = "sse" } or nil
end

---------------------------------------------------------------------------------------------------
-- Response: GenerateContentResponse -> canonical deltas
---------------------------------------------------------------------------------------------------

local FINISH_MAP = { STOP = "stop", MAX_TOKENS = "length", SAFETY = "content_filter",
  RECITATION = "content_filter", BLOCKLIST = "content_filter", PROHIBITED_CONTENT = "content_filter",
  SPII = "content_filter", IMAGE_SAFETY = "content_filter", LANGUAGE = "content_filter" }
_M.FINISH_MAP = FINISH_MAP

--- usageMetadata -> TanStack TokenUsage (thought tokens count as completion tokens, as OpenAI counts them).
function _M.usage(u)
  if type(u) ~= "table" then return nil end
  local int = json.int
  local p = tonumber(u.promptTokenCount) or 0
  local thoughts = tonumber(u.thoughtsTokenCount)
  local c = (tonumber(u.candidatesTokenCount) or 0) + (thoughts or 0)
  local out = { promptTokens = int(p), completionTokens = int(c), totalTokens = int(tonumber(u.totalTokenCount) or (p + c)) }
  if thoughts then out.completionTokensDetails = { reasoningTokens = int(thoughts) } end
  if tonumber(u.cachedContentTokenCount) then
    out.promptTokensDetails = { cachedTokens = int(tonumber(u.cachedContentTokenCount)) }
  end
  return out
end
local usage_of = _M.usage

--- Per-turn state: function calls are numbered across the events of one turn.
function _M.new_state()
  return { calls = 0 }
end

function _M.is_error(v)
  return errors.is_payload(v)
end

--- One GenerateContentResponse (a stream event or a whole answer) -> deltas.
function _M.decode_event(state, v, out)
  if _M.is_error(v) then return out:fail_payload(v) end
  out:usage(usage_of(v.usageMetadata))
  local cand = type(v.candidates) == "table" and v.candidates[1] or nil
  if type(cand) ~= "table" then
    local pf = v.promptFeedback
    if type(pf) == "table" and pf.blockReason then out:finish_reason("content_filter") end
    return
  end
  local text, thought, calls = {}, {}, {}
  local content = type(cand.content) == "table" and cand.content or {}
  for _, p in ipairs(type(content.parts) == "table" and content.parts or {}) do
    if type(p.text) == "string" then
      if p.thought == true then thought[#thought + 1] = p.text else text[#text + 1] = p.text end
    elseif type(p.functionCall) == "table" then
      calls[#calls + 1] = p
    end
  end
  if #thought > 0 then out:reasoning(concat(thought)) end
  if #text > 0 then out:text(concat(text)) end
  for _, p in ipairs(calls) do
    local fc = p.functionCall
    -- calls arrive whole: one fragment with the full arguments; Gemini ids are rare, so usually generated
    out:tool_call(state.calls, type(fc.id) == "string" and fc.id or nil, fc.name,
      json.encode(fc.args or json.object()),
      type(p.thoughtSignature) == "string" and { thoughtSignature = p.thoughtSignature } or nil)
    state.calls = state.calls + 1
  end
  local fr = cand.finishReason
  if type(fr) == "string" and fr ~= "FINISH_REASON_UNSPECIFIED" then out:finish_reason(FINISH_MAP[fr] or "stop") end
end

--- A whole (non-stream) answer -> the same deltas as the stream.
function _M.decode_body(_, v, out)
  if _M.is_error(v) then return out:fail_payload(v) end
  if type(v) ~= "table" or (v.candidates == nil and v.promptFeedback == nil) then
    return out:fail(errors.new({ message = "unexpected response shape", kind = "provider", provider = out.provider,
      body = json.try_encode(v) }))
  end
  _M.decode_event(_M.new_state(), v, out)
end

--- All non-thought text of the first candidate, and the candidate (nil when the prompt was blocked).
function _M.candidate_text(v)
  local cand = type(v) == "table" and type(v.candidates) == "table" and v.candidates[1] or nil
  if type(cand) ~= "table" then return nil end
  local text = {}
  local content = type(cand.content) == "table" and cand.content or {}
  for _, p in ipairs(type(content.parts) == "table" and content.parts or {}) do
    if type(p.text) == "string" and p.thought ~= true then text[#text + 1] = p.text end
  end
  return concat(text), cand
end

--- The structured answer of a non-stream response (JSON text). Returns data, raw | nil, err.
function _M.structured(v, provider, classify)
  if _M.is_error(v) then return nil, errors.from_payload(v, provider, classify) end
  local raw = _M.candidate_text(v)
  if raw == nil then
    local pf = type(v) == "table" and v.promptFeedback or nil
    return nil, errors.new({ message = "Gemini returned no candidates" ..
      (type(pf) == "table" and pf.blockReason and (" (prompt blocked: " .. tostring(pf.blockReason) .. ")") or ""),
      kind = "provider", provider = provider })
  end
  return structured.parse(raw, provider, "Gemini structured output")
end

return _M
