-- OpenAI Chat Completions, a wire format (see formats/init.lua for the interface): TanStack chat options ->
-- request body, chunks and whole completions -> canonical deltas (deltas.lua). Shared by every provider
-- speaking it: Workers AI's OpenAI-compatible endpoint, OpenAI, Grok and OpenRouter. Pure: no I/O.
local json = require("tanstack.ai.json")
local messages_mod = require("tanstack.ai.messages")
local schema = require("tanstack.ai.schema")
local structured_output = require("tanstack.ai.structured")
local errors = require("tanstack.ai.errors")

local type, ipairs, pairs, tonumber, error = type, ipairs, pairs, tonumber, error
local concat = table.concat
local null = json.null

local _M = { name = "openai", done_marker = "[DONE]" }

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
-- Response: chunks -> canonical deltas
---------------------------------------------------------------------------------------------------

local FINISH_MAP = { stop = "stop", length = "length", content_filter = "content_filter",
  tool_calls = "tool_calls", function_call = "tool_calls", end_turn = "stop", max_tokens = "length" }
_M.FINISH_MAP = FINISH_MAP

--- A Chat Completions usage object (or the images/audio APIs' input/output_tokens form) -> TokenUsage.
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
local usage_of = _M.usage

--- The usage of the images / audio APIs ({input_tokens, output_tokens, total_tokens}) -> TokenUsage, or nil.
function _M.media_usage(u)
  if type(u) ~= "table" or (u.input_tokens == nil and u.prompt_tokens == nil) then return nil end
  return usage_of(u)
end

--- Chat Completions tool calls (stream fragments or whole calls) -> deltas.
function _M.tool_calls(tcs, out)
  for _, tc in ipairs(tcs) do
    if type(tc) == "table" then
      local fn = type(tc["function"]) == "table" and tc["function"] or tc
      out:tool_call(tc.index, tc.id, fn.name, fn.arguments, tc.metadata)
    end
  end
end
local tool_calls = _M.tool_calls

--- One chunk's delta (or a whole completion's message) -> deltas.
-- (Runs once per streamed event: nil/null comparisons instead of type() calls where a wrong type can only
-- come from a broken upstream, which then raises inside the turn's protected call and ends as RUN_ERROR.)
local function delta_of(d, out)
  local r = d.reasoning_content
  if r == nil or r == null then r = d.reasoning end
  if r ~= nil and r ~= null then out:reasoning(r) end
  out:text(d.content)
  local tcs = d.tool_calls
  if tcs ~= nil and tcs ~= null then tool_calls(tcs, out) end
end

--- One decoded chunk -> deltas. Also used by formats that wrap this one (Workers AI's).
function _M.chunk(v, out)
  local u = v.usage
  if u ~= nil and u ~= null then out:usage(usage_of(u)) end
  local choices = v.choices
  if choices == nil or choices == null then return end
  local choice = choices[1]
  if choice == nil or choice == null then return end
  local d = choice.delta or choice.message
  if d ~= nil and d ~= null then delta_of(d, out) end
  local fr = choice.finish_reason
  if fr ~= nil and fr ~= null and fr ~= "" then out:finish_reason(FINISH_MAP[fr] or fr) end
end
local chunk = _M.chunk

--- Is a decoded event or body an error report? (`error` as an object, even beside choices: OpenRouter
--- reports a failure after the stream started as a chunk with both `error` and finish_reason "error".)
function _M.is_error(v)
  return type(v.error) == "table" or (v.choices == nil and errors.is_payload(v))
end

--- The chunks the stream parser may read without a full decode (csrc/json_pick.h): choices[1].delta.content a
--- string, and nothing else decode_event reads present (or null). decode_event makes one out:text of such a chunk.
local PICK = { {
  text = { "choices", 1, "delta", "content" },
  none = { { "error" }, { "usage" }, { "choices", 1, "finish_reason" }, { "choices", 1, "delta", "reasoning_content" },
    { "choices", 1, "delta", "reasoning" }, { "choices", 1, "delta", "tool_calls" } },
} }
_M.PICK = PICK
function _M.pick() return PICK end

--- One decoded stream event.
function _M.decode_event(_, v, out)
  if v.choices == nil or v.error ~= nil then
    if _M.is_error(v) then return out:fail_payload(v) end
  end
  chunk(v, out)
end

--- A whole (non-stream) completion -> the same deltas as the equivalent stream.
function _M.decode_body(_, v, out)
  if type(v) ~= "table" then
    return out:fail(errors.new({ message = "unexpected response shape", kind = "provider", provider = out.provider,
      body = json.try_encode(v) }))
  end
  if _M.is_error(v) then return out:fail_payload(v) end
  local choice = type(v.choices) == "table" and v.choices[1] or nil
  if type(choice) ~= "table" then
    if v.choices == nil then
      return out:fail(errors.new({ message = "unexpected response shape", kind = "provider",
        provider = out.provider, body = json.try_encode(v) }))
    end
    return out:fail(errors.new({ message = "response has no choices", kind = "provider", provider = out.provider }))
  end
  chunk(v, out)
end

--- The structured answer of a non-stream completion: the message content as JSON. data, raw | nil, err.
function _M.structured(v, provider, classify)
  if type(v) == "table" and _M.is_error(v) then return nil, errors.from_payload(v, provider, classify) end
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
  return structured_output.parse(msg.content, provider)
end

return _M
