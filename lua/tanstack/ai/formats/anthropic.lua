-- Anthropic Messages, a wire format (see formats/init.lua for the interface): TanStack chat options -> request
-- body, Messages stream events and whole messages -> canonical deltas (deltas.lua), in one hop. Pure: no I/O.
local json = require("tanstack.ai.json")
local messages_mod = require("tanstack.ai.messages")
local schema = require("tanstack.ai.schema")
local errors = require("tanstack.ai.errors")
local openai = require("tanstack.ai.formats.openai")
local parts = require("tanstack.ai.formats.parts")

local type, ipairs, error, tonumber = type, ipairs, error, tonumber
local concat = table.concat

local _M = { name = "anthropic", default_provider = "anthropic" }

_M.DEFAULT_MAX_TOKENS = 4096
_M.STRUCTURED_TOOL = "structured_output"

---------------------------------------------------------------------------------------------------
-- Request
---------------------------------------------------------------------------------------------------

local function media_block(p, where)
  local kind, a, b = parts.resolve(p.source)
  local block_type = p.type == "document" and "document" or "image"
  if kind == "inline" then
    local mime = a or (p.type == "document" and "application/pdf") or nil
    if type(mime) ~= "string" then error(where .. ": " .. p.type .. " data needs a mimeType", 0) end
    return { type = block_type, source = { type = "base64", media_type = mime, data = b } }
  end
  return { type = block_type, source = { type = "url", url = a } }
end

-- content (string or parts) -> array of content blocks (empty text is dropped: the API rejects it)
local function content_blocks(content, where)
  local out = json.array()
  if content == nil then return out end
  if type(content) == "string" then
    if content ~= "" then out[1] = { type = "text", text = content } end
    return out
  end
  for i, p in ipairs(content) do
    local w = where .. ".content[" .. i .. "]"
    if p.type == "text" then
      if p.content ~= "" then out[#out + 1] = { type = "text", text = p.content } end
    elseif p.type == "image" or p.type == "document" then
      out[#out + 1] = media_block(p, w)
    else
      parts.unsupported("Anthropic", p.type, w)
    end
  end
  return out
end

local function decode_args(s)
  return parts.decode_object(s) or json.object()
end

local function system_blocks(system_prompts, msgs)
  local out = json.array()
  local texts = messages_mod.system_prompts(system_prompts)
  for i, text in ipairs(texts) do
    local block = { type = "text", text = text }
    local raw = type(system_prompts) == "table" and system_prompts[i] or nil
    local md = type(raw) == "table" and raw.metadata or nil
    if type(md) == "table" and (md.cache_control or md.cacheControl) then
      block.cache_control = md.cache_control or md.cacheControl
    end
    out[#out + 1] = block
  end
  -- system messages in the history join the top-level system (Anthropic has no system role)
  for _, m in ipairs(msgs) do
    if m.role == "system" then
      local text = messages_mod.text_of(m.content)
      if text ~= "" then out[#out + 1] = { type = "text", text = text } end
    end
  end
  return out
end

--- ModelMessages -> Anthropic messages: tool results become user tool_result blocks, same-role neighbours
--- are merged (the API wants alternating roles), duplicate tool results are dropped (first one wins).
function _M.convert_messages(msgs)
  local out = json.array()
  local seen_results = {}
  local push = parts.role_merger(out, "content")
  for i, m in ipairs(msgs) do
    local where = "messages[" .. i .. "]"
    if m.role == "user" then
      local blocks = content_blocks(m.content, where)
      if #blocks == 0 then error(where .. ": user message has no content", 0) end
      push("user", blocks)
    elseif m.role == "assistant" then
      local blocks = content_blocks(m.content, where)
      -- signed thinking goes back first, as Anthropic requires when thinking is on and tools are used
      local signed = {}
      for _, th in ipairs(m.thinking or {}) do
        if type(th.signature) == "string" and th.signature ~= "" then
          signed[#signed + 1] = { type = "thinking", thinking = th.content or "", signature = th.signature }
        end
      end
      if #signed > 0 then
        for _, b in ipairs(blocks) do signed[#signed + 1] = b end
        blocks = json.array(signed)
      end
      for _, tc in ipairs(m.toolCalls or {}) do
        blocks[#blocks + 1] = { type = "tool_use", id = tc.id, name = tc["function"].name,
          input = decode_args(tc["function"].arguments) }
      end
      push("assistant", blocks)
    elseif m.role == "tool" then
      if not seen_results[m.toolCallId] then
        seen_results[m.toolCallId] = true
        local c = m.content
        if type(c) ~= "string" then c = json.encode(c) end
        push("user", json.array({ { type = "tool_result", tool_use_id = m.toolCallId, content = c } }))
      end
    end
  end
  return out
end

--- Tool definitions -> Anthropic tools (nil when there are none).
function _M.convert_tools(tools)
  if tools == nil or #tools == 0 then return nil end
  local out = json.array()
  for i, t in ipairs(tools) do
    out[i] = { name = t.name, description = t.description, input_schema = schema.tool_input(t.inputSchema) }
  end
  return out
end

--- The request body for a turn. options: model, messages, systemPrompts, tools, modelOptions, temperature,
--- maxTokens, stream (default true), outputSchema (=> forced structured_output tool, non-stream).
function _M.build_request(options)
  local body = openai.base_body(options.modelOptions) -- modelOptions first; managed fields win
  body.model = options.model
  local msgs = options.messages or {}
  local system = system_blocks(options.systemPrompts, msgs)
  body.system = #system > 0 and system or nil
  body.messages = _M.convert_messages(msgs)
  if options.temperature ~= nil then body.temperature = options.temperature end
  body.max_tokens = options.maxTokens or tonumber(body.max_tokens) or _M.DEFAULT_MAX_TOKENS
  if options.outputSchema ~= nil then
    -- TanStack's Anthropic structured output: one forced tool whose input is the answer
    body.tools = json.array({ { name = _M.STRUCTURED_TOOL,
      description = "Use this tool to give your final answer in the required structure.",
      input_schema = schema.tool_input(options.outputSchema) } })
    body.tool_choice = { type = "tool", name = _M.STRUCTURED_TOOL }
    body.stream = false
    return body
  end
  local tools = _M.convert_tools(options.tools)
  if tools then
    if type(body.tools) == "table" then -- provider tools given in modelOptions (web_search, ...) stay
      for _, t in ipairs(body.tools) do tools[#tools + 1] = t end
    end
    body.tools = tools
  end
  if type(body.tool_choice) == "string" then body.tool_choice = { type = body.tool_choice } end
  body.stream = options.stream ~= false
  return body
end

---------------------------------------------------------------------------------------------------
-- Response: Messages events -> canonical deltas
---------------------------------------------------------------------------------------------------

local STOP_MAP = { end_turn = "stop", stop_sequence = "stop", pause_turn = "stop", tool_use = "tool_calls",
  max_tokens = "length", model_context_window_exceeded = "length", refusal = "content_filter" }
_M.STOP_MAP = STOP_MAP

local function finish_of(stop_reason)
  if type(stop_reason) ~= "string" then return nil end
  return STOP_MAP[stop_reason] or "stop"
end

--- Per-turn state: the running usage totals (input from message_start, cumulative output from
--- message_delta; newer APIs repeat input counts in message_delta).
function _M.new_state()
  return { input = 0, output = 0, cache_read = 0, cache_write = 0, seen = false }
end

local function absorb_usage(state, u)
  if type(u) ~= "table" then return end
  if tonumber(u.input_tokens) then state.input = tonumber(u.input_tokens) end
  if tonumber(u.cache_read_input_tokens) then state.cache_read = tonumber(u.cache_read_input_tokens) end
  if tonumber(u.cache_creation_input_tokens) then state.cache_write = tonumber(u.cache_creation_input_tokens) end
  if tonumber(u.output_tokens) then state.output = tonumber(u.output_tokens) end
  state.seen = true
end

-- TokenUsage: prompt tokens include cached ones, as OpenAI counts them
local function usage_of(state)
  if not state.seen then return nil end
  local int = json.int
  local p, c = int(state.input + state.cache_read + state.cache_write), int(state.output)
  local out = { promptTokens = p, completionTokens = c, totalTokens = int(p + c) }
  if state.cache_read > 0 then out.promptTokensDetails = { cachedTokens = int(state.cache_read) } end
  return out
end

function _M.is_error(v)
  return errors.is_payload(v)
end

--- The events the stream parser may read without a full decode (csrc/json_pick.h): a text_delta, which
--- decode_event turns into one out:text.
local PICK = { {
  text = { "delta", "text" },
  equal = { { path = { "type" }, value = "content_block_delta" }, { path = { "delta", "type" }, value = "text_delta" } },
  none = { { "error" } },
} }
function _M.pick() return PICK end

--- One decoded stream event -> deltas (ping, content_block_stop and message_stop carry none).
function _M.decode_event(state, v, out)
  if _M.is_error(v) then return out:fail_payload(v) end
  local t = v.type
  if t == "message_start" then
    absorb_usage(state, type(v.message) == "table" and v.message.usage or nil)
    out:usage(usage_of(state))
  elseif t == "content_block_start" then
    local b = v.content_block
    if type(b) ~= "table" then return end
    if b.type == "tool_use" then
      out:tool_call(v.index, b.id, b.name, "")
    elseif b.type == "text" and type(b.text) == "string" and b.text ~= "" then
      out:text(b.text)
    elseif b.type == "thinking" and type(b.thinking) == "string" and b.thinking ~= "" then
      out:reasoning(b.thinking)
    end
    -- server tools run at Anthropic: nothing for the local loop to execute
  elseif t == "content_block_delta" then
    local d = v.delta
    if type(d) ~= "table" then return end
    if d.type == "text_delta" then
      out:text(d.text)
    elseif d.type == "input_json_delta" then
      out:tool_call(v.index, nil, nil, d.partial_json)
    elseif d.type == "thinking_delta" then
      out:reasoning(d.thinking)
    elseif d.type == "signature_delta" then
      -- the signature of the thinking block: it must be sent back with the block in the next turn
      out:reasoning_signature(d.signature)
    end
  elseif t == "message_delta" then
    absorb_usage(state, v.usage)
    out:usage(usage_of(state))
    local d = type(v.delta) == "table" and v.delta or {}
    out:finish_reason(finish_of(d.stop_reason))
  end
end

--- A whole (non-stream) message -> the same deltas as the stream.
function _M.decode_body(_, v, out)
  if _M.is_error(v) then return out:fail_payload(v) end
  if type(v) ~= "table" or type(v.content) ~= "table" then
    return out:fail(errors.new({ message = "unexpected response shape", kind = "provider", provider = out.provider,
      body = json.try_encode(v) }))
  end
  local text, reasoning, calls = {}, {}, {}
  local signature
  for _, b in ipairs(v.content) do
    if b.type == "text" then text[#text + 1] = b.text
    elseif b.type == "thinking" then
      reasoning[#reasoning + 1] = b.thinking
      if type(b.signature) == "string" then signature = b.signature end
    elseif b.type == "tool_use" then
      calls[#calls + 1] = b
    end
  end
  local state = _M.new_state()
  absorb_usage(state, v.usage)
  out:usage(usage_of(state))
  if #reasoning > 0 then out:reasoning(concat(reasoning)) end
  out:reasoning_signature(signature)
  out:text(concat(text))
  for i, b in ipairs(calls) do
    out:tool_call(i - 1, b.id, b.name, json.encode(b.input or json.object()))
  end
  out:finish_reason(finish_of(v.stop_reason))
end

--- The structured answer of a non-stream response: the forced tool's input (else the text as JSON).
--- Returns data, raw_json | nil, err.
function _M.structured(v, provider, classify)
  provider = provider or _M.default_provider
  if _M.is_error(v) then return nil, errors.from_payload(v, provider, classify) end
  local text = {}
  for _, b in ipairs(type(v) == "table" and type(v.content) == "table" and v.content or {}) do
    if b.type == "tool_use" and b.name == _M.STRUCTURED_TOOL and type(b.input) == "table" then
      return b.input, json.encode(b.input)
    elseif b.type == "text" then
      text[#text + 1] = b.text
    end
  end
  local raw = concat(text)
  local data = raw:match("%S") and json.decode(raw) or nil
  if type(data) ~= "table" then
    return nil, errors.new({ message = "Anthropic structured output returned no structured_output tool call",
      kind = "provider", provider = provider, body = json.try_encode(v) })
  end
  return data, raw
end

return _M
