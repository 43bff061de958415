-- OpenAI Chat Completions: TanStack chat options -> request body, and chunks -> AG-UI events.
-- Shared by every provider speaking this format: Workers AI (its OpenAI-compatible endpoint, and native
-- Workers AI events normalised into chunks by workers_ai/native.lua), OpenAI, Grok and OpenRouter.
-- Pure: no I/O. The turn runner feeds decoded chunks in and pulls events out.
local json = require("tanstack.ai.json")
local messages_mod = require("tanstack.ai.messages")
local schema = require("tanstack.ai.schema")
local events = require("tanstack.ai.events")
local errors = require("tanstack.ai.errors")

local type, ipairs, pairs, tostring, error = type, ipairs, pairs, tostring, error
local concat = table.concat
local null = json.null
local decode = json.decode
local decode_raising = json.decode_fast
local now_ms = events.now_ms

local _M = {}

---------------------------------------------------------------------------------------------------
-- Request
---------------------------------------------------------------------------------------------------

local function user_content(content, where)
  if type(content) == "string" then return content end
  if content == nil then error(where .. ": user message has no content", 0) end
  local has_media = false
  for _, p in ipairs(content) do if p.type ~= "text" then has_media = true end end
  if not has_media then return messages_mod.text_of(content) end
  local parts = json.array()
  for _, p in ipairs(content) do
    if p.type == "text" then
      if p.content ~= "" then parts[#parts + 1] = { type = "text", text = p.content } end
    elseif p.type == "image" then
      local image_url = { url = messages_mod.source_url(p.source) }
      if type(p.metadata) == "table" and p.metadata.detail then image_url.detail = p.metadata.detail end
      parts[#parts + 1] = { type = "image_url", image_url = image_url }
    elseif p.type == "audio" and p.source.type == "data" then
      local fmt = (p.source.mimeType or ""):match("audio/(%w+)") or "wav"
      if fmt == "mpeg" then fmt = "mp3" end
      parts[#parts + 1] = { type = "input_audio", input_audio = { data = p.source.value, format = fmt } }
    else
      error(where .. ": " .. p.type .. " content is not supported by the Chat Completions format", 0)
    end
  end
  return parts
end

--- ModelMessages + system prompts -> Chat Completions messages.
--- opts.include_tools = false drops tool messages and assistant tool calls (structured output turn).
function _M.convert_messages(system_prompts, msgs, opts)
  opts = opts or {}
  local out = json.array()
  local sys = messages_mod.system_prompts(system_prompts)
  if #sys > 0 then out[1] = { role = "system", content = concat(sys, "\n") } end
  for i, m in ipairs(msgs) do
    local where = "messages[" .. i .. "]"
    if m.role == "system" then
      out[#out + 1] = { role = "system", content = messages_mod.text_of(m.content) }
    elseif m.role == "user" then
      out[#out + 1] = { role = "user", content = user_content(m.content, where) }
    elseif m.role == "assistant" then
      local msg = { role = "assistant", content = messages_mod.text_of(m.content) }
      if m.toolCalls and opts.include_tools ~= false then
        local tcs = json.array()
        for j, tc in ipairs(m.toolCalls) do
          tcs[j] = { id = tc.id, type = "function",
            ["function"] = { name = tc["function"].name, arguments = tc["function"].arguments } }
        end
        msg.tool_calls = tcs
      end
      out[#out + 1] = msg
    elseif m.role == "tool" then
      if opts.include_tools ~= false then
        out[#out + 1] = { role = "tool", tool_call_id = m.toolCallId, content = m.content }
      end
    end
  end
  return out
end

--- Tool definitions -> Chat Completions tools (nil when there are none).
function _M.convert_tools(tools)
  if tools == nil or #tools == 0 then return nil end
  local out = json.array()
  for i, t in ipairs(tools) do
    out[i] = { type = "function", ["function"] = { name = t.name, description = t.description,
      parameters = schema.tool_input(t.inputSchema) } }
  end
  return out
end

--- Copy modelOptions (a plain table) into a new body; everything the adapter manages is set after it.
function _M.base_body(model_options)
  local body = {}
  if type(model_options) == "table" then
    for k, v in pairs(model_options) do body[k] = v end
  end
  return body
end

--- The full request body for a chat turn.
--- options: model, messages (ModelMessages), systemPrompts, tools, modelOptions, temperature, maxTokens,
--- stream, outputSchema (=> response_format json_schema, non-stream).
function _M.build_request(options)
  local body = _M.base_body(options.modelOptions)
  body.model = options.model
  local structured = options.outputSchema ~= nil
  -- tool history stays in a structured-output turn: after an agent loop the answer must see the results
  body.messages = _M.convert_messages(options.systemPrompts, options.messages)
  if not structured then body.tools = _M.convert_tools(options.tools) end
  if options.temperature ~= nil then body.temperature = options.temperature end
  if options.maxTokens ~= nil then body.max_tokens = options.maxTokens end
  if structured then
    body.response_format = { type = "json_schema", json_schema = { name = "structured_output", strict = true,
      schema = schema.normalize(options.outputSchema) } }
    body.stream = false
    body.stream_options = nil
  elseif options.stream == false then
    body.stream = false
    body.stream_options = nil
  else
    body.stream = true
    body.stream_options = { include_usage = true }
  end
  return body
end

---------------------------------------------------------------------------------------------------
-- Response: chunks -> events
---------------------------------------------------------------------------------------------------

local FINISH_MAP = { stop = "stop", length = "length", content_filter = "content_filter",
  tool_calls = "tool_calls", function_call = "tool_calls", end_turn = "stop", max_tokens = "length" }

function _M.usage(u)
  if type(u) ~= "table" then return nil end
  local int = json.int
  local p = int(tonumber(u.prompt_tokens or u.input_tokens) or 0)
  local c = int(tonumber(u.completion_tokens or u.output_tokens) or 0)
  local out = { promptTokens = p, completionTokens = c, totalTokens = int(tonumber(u.total_tokens) or (p + c)) }
  local pd, cd = u.prompt_tokens_details, u.completion_tokens_details
  if type(pd) == "table" and tonumber(pd.cached_tokens) then
    out.promptTokensDetails = { cachedTokens = int(tonumber(pd.cached_tokens)) }
  end
  if type(cd) == "table" and tonumber(cd.reasoning_tokens) then
    out.completionTokensDetails = { reasoningTokens = int(tonumber(cd.reasoning_tokens)) }
  end
  return out
end

local Translator = {}
Translator.__index = Translator

--- A translator for one model turn. ctx: model, runId, threadId, emit (function(event)).
function _M.translator(ctx)
  return setmetatable({
    provider = ctx.provider,
    normalize = ctx.normalize,
    normalize_body = ctx.normalize_body,
    model = ctx.model,
    runId = ctx.runId,
    threadId = ctx.threadId,
    emit = ctx.emit,
    used_ids = ctx.used_ids or {}, -- tool call ids already used in this run (unique across turns)
    started = false,
    message_id = nil,
    text_open = false,
    step_id = nil,
    calls = {}, -- by index
    call_order = {},
    finish_reason = nil,
    usage = nil,
    finished = false,
  }, Translator)
end

function Translator:ev(etype, fields)
  fields.timestamp = self.ts or now_ms()
  self.emit(events.new(etype, self.model, fields))
end

function Translator:start()
  if self.started then return end
  self.started = true
  self:ev("RUN_STARTED", { runId = self.runId, threadId = self.threadId })
end

function Translator:close_reasoning()
  if self.step_id then
    self.last_step_id = self.step_id
    self.step_id = nil
  end
end

function Translator:text(delta)
  if delta == nil or delta == "" or delta == json.null then return end
  if type(delta) ~= "string" then delta = json.encode(delta) end -- JSON-mode quirk: an object
  self:close_reasoning()
  if not self.text_open then
    self.text_open = true
    self.message_id = self.message_id or events.id("msg")
    self:ev("TEXT_MESSAGE_START", { messageId = self.message_id, role = "assistant" })
  end
  self:ev("TEXT_MESSAGE_CONTENT", { messageId = self.message_id, delta = delta })
end

function Translator:reasoning(delta)
  if type(delta) ~= "string" or delta == "" then return end
  if not self.step_id then
    self.step_id = events.id("step")
    self:ev("STEP_STARTED", { stepName = "thinking", stepId = self.step_id, stepType = "thinking" })
  end
  self:ev("STEP_FINISHED", { stepName = "thinking", stepId = self.step_id, stepType = "thinking", delta = delta })
end

--- The provider's signature of the reasoning so far (Anthropic): a STEP_FINISHED carrying it, no delta.
function Translator:reasoning_signature(sig)
  if type(sig) ~= "string" or sig == "" then return end
  local id = self.step_id or self.last_step_id or events.id("step")
  self:ev("STEP_FINISHED", { stepName = "thinking", stepId = id, stepType = "thinking", signature = sig })
end

function Translator:unique_id(backend_id)
  local id = backend_id
  if type(id) ~= "string" or id == "" or self.used_ids[id] then
    repeat id = "call_" .. events.random_hex(12) until not self.used_ids[id]
  end
  self.used_ids[id] = true
  return id
end

-- Start a call once its name is known, then forward every argument byte not yet forwarded.
function Translator:flush_call(call)
  if not call.started then
    if call.name == "" then return end
    call.started = true
    call.id = self:unique_id(call.backend_id)
    self:ev("TOOL_CALL_START", { toolCallId = call.id, toolCallName = call.name, toolName = call.name,
      index = call.index, parentMessageId = self.message_id, metadata = call.metadata })
  end
  local args = call.args
  local n = #args
  if n > call.sent then
    local delta = n == 1 and args[1] or concat(args, "", call.sent + 1, n)
    call.sent = n
    if delta ~= "" then self:ev("TOOL_CALL_ARGS", { toolCallId = call.id, delta = delta }) end
  end
end

function Translator:tool_call_delta(tc)
  local index = tonumber(tc.index)
  if index == nil then
    -- no index: the same backend id continues a call, anything else is a new call
    if type(tc.id) == "string" and self.calls["id:" .. tc.id] then
      index = "id:" .. tc.id
    else
      self.unindexed = (self.unindexed or 0) + 1
      index = type(tc.id) == "string" and ("id:" .. tc.id) or ("n:" .. self.unindexed)
    end
  end
  local fn = type(tc["function"]) == "table" and tc["function"] or tc
  local name = fn.name
  local args = fn.arguments
  local call = self.calls[index]
  if not call then
    -- finalization fragments (everything null/empty) open nothing
    if (name == nil or name == json.null or name == "") and (args == nil or args == json.null or args == "")
      and (tc.id == nil or tc.id == json.null) then
      return
    end
    call = { index = #self.call_order, name = "", args = {}, sent = 0, started = false }
    if type(tc.id) == "string" then call.backend_id = tc.id end
    self.calls[index] = call
    self.call_order[#self.call_order + 1] = call
  end
  if type(name) == "string" and name ~= "" and call.name == "" then call.name = name end
  if type(tc.metadata) == "table" then call.metadata = tc.metadata end -- e.g. Gemini thoughtSignature
  if args ~= nil and args ~= json.null then
    if type(args) ~= "string" then args = json.encode(args) end
    if args ~= "" then call.args[#call.args + 1] = args end
  end
  self:flush_call(call)
end

--- Feed one decoded Chat Completions chunk (streamed, or a whole completion turned into one).
-- (Runs once per streamed event: nil/null comparisons instead of type() calls where a wrong type can only
-- come from a broken upstream, which then raises inside the turn's protected call and ends as RUN_ERROR.)
function Translator:chunk(chunk)
  if not self.started then self:start() end
  local u = chunk.usage
  if u ~= nil and u ~= null then self.usage = _M.usage(u) end
  local choices = chunk.choices
  if choices == nil or choices == null then return end
  local choice = choices[1]
  if choice == nil or choice == null then return end
  local delta = choice.delta or choice.message
  if delta ~= nil and delta ~= null then
    local r = delta.reasoning_content
    if r == nil or r == null then r = delta.reasoning end
    if r ~= nil and r ~= null then self:reasoning(r) end
    local sig = delta.reasoning_signature
    if sig ~= nil then self:reasoning_signature(sig) end
    local content = delta.content
    if self.text_open and not self.step_id and type(content) == "string" then
      -- the hot path (one event per token): a single table constructor, no helper calls
      if content ~= "" then
        self.emit({ type = "TEXT_MESSAGE_CONTENT", timestamp = self.ts or now_ms(), model = self.model,
          messageId = self.message_id, delta = content })
      end
    else
      self:text(content)
    end
    local tcs = delta.tool_calls
    if tcs ~= nil and tcs ~= null then
      for _, tc in ipairs(tcs) do
        if type(tc) == "table" then self:tool_call_delta(tc) end
      end
    end
  end
  local fr = choice.finish_reason
  if fr ~= nil and fr ~= null and fr ~= "" then
    self.finish_reason = FINISH_MAP[fr] or fr
    self:close_open()
  end
end

-- Close tool calls and the text message (at finish_reason, or at the end of a stream without one).
function Translator:close_open()
  for _, call in ipairs(self.call_order) do
    if not call.ended then
      self:flush_call(call)
      if call.started then
        call.ended = true
        local raw = concat(call.args)
        local input = json.object()
        if raw:match("%S") then
          local v = json.decode(raw)
          if type(v) == "table" then input = v end
        end
        self.ended_calls = (self.ended_calls or 0) + 1
        self:ev("TOOL_CALL_END", { toolCallId = call.id, toolName = call.name, input = input })
      end
    end
  end
  self:close_reasoning()
  if self.text_open then
    self.text_open = false
    self:ev("TEXT_MESSAGE_END", { messageId = self.message_id })
  end
end

--- End of the upstream stream: close what is open, then RUN_FINISHED (usage may come after finish_reason).
function Translator:finish()
  if self.finished then return end
  self.finished = true
  self:start()
  self:close_open()
  local fr = self.finish_reason
  if (self.ended_calls or 0) > 0 then
    fr = "tool_calls"
  elseif fr == "tool_calls" or fr == nil then
    fr = "stop"
  end
  self:ev("RUN_FINISHED", { runId = self.runId, threadId = self.threadId, finishReason = fr,
    usage = self.usage })
end

--- A failure: RUN_STARTED if none yet, then one RUN_ERROR. Nothing after it.
function Translator:fail(err)
  if self.finished then return end
  self.finished = true
  self:start()
  local message = type(err) == "table" and err.message or tostring(err)
  local code = type(err) == "table" and err.code or nil
  if code == nil and type(err) == "table" then code = err.status or err.kind end
  code = json.int(code)
  self:ev("RUN_ERROR", { runId = self.runId, threadId = self.threadId, message = message,
    code = code ~= nil and tostring(code) or nil, error = err })
end

local is_error_payload = errors.is_payload
_M.is_error_payload = errors.is_payload
--- An error carried inside a stream event or a 200 body -> error value.
_M.payload_error = errors.from_payload

--- One framed SSE event. `[DONE]` ends nothing by itself: the stream's end does (usage may follow).
--- self.normalize (optional) maps a decoded payload to a Chat Completions chunk (Workers AI native events).
function Translator:event(ev)
  local data = ev.data
  if data == "[DONE]" then self.done_seen = true return end
  if data == "" or self.done_seen then return end
  local v, err
  if self.raise_on_bad_json then
    v = decode_raising(data) -- the turn runner catches the error once per network read, not per event
  else
    v, err = decode(data)
  end
  if type(v) ~= "table" then
    return self:fail(errors.new({ message = "malformed stream event: " .. tostring(err or "not an object"),
      kind = "decode", body = data:sub(1, 200) }))
  end
  if v.choices == nil and is_error_payload(v) then return self:fail(_M.payload_error(v, self.provider)) end
  if self.normalize then
    v = self.normalize(v, self)
    if v == nil then return end
  end
  self:chunk(v)
end

--- A whole JSON answer (non-stream request, or a stream request answered with JSON).
function Translator:body(v)
  if is_error_payload(v) then return self:fail(_M.payload_error(v, self.provider)) end
  if self.normalize_body then v = self.normalize_body(v, self) end
  if type(v) == "table" and v.choices ~= nil then
    local ok, err = self:completion(v)
    if not ok then return self:fail(errors.new({ message = err, kind = "provider" })) end
    return
  end
  if type(v) == "table" and v.__chunk then
    v.__chunk = nil
    return self:chunk(v)
  end
  self:fail(errors.new({ message = "unexpected response shape", kind = "provider",
    body = json.try_encode(v) }))
end

--- A whole (non-stream) completion -> the same events as the equivalent stream.
function Translator:completion(resp)
  if type(resp) ~= "table" or type(resp.choices) ~= "table" then
    return nil, "response has no choices"
  end
  local choice = resp.choices[1]
  if type(choice) ~= "table" then return nil, "response has no choices" end
  local msg = choice.message or choice.delta or {}
  local tcs
  if type(msg.tool_calls) == "table" then
    tcs = {}
    for i, tc in ipairs(msg.tool_calls) do
      local fn = tc["function"] or tc
      tcs[i] = { index = i - 1, id = tc.id, ["function"] = { name = fn.name, arguments = fn.arguments } }
    end
  end
  self:chunk({
    usage = resp.usage,
    choices = { { delta = { content = msg.content, reasoning_content = msg.reasoning_content or msg.reasoning,
      reasoning_signature = msg.reasoning_signature, tool_calls = tcs }, finish_reason = choice.finish_reason } },
  })
  return true
end

return _M
