-- Workers AI chat answers, a wire format (tanstack/ai/formats/init.lua documents the interface): requests are
-- OpenAI Chat Completions; answers come as OpenAI chunks/completions or as Workers AI's native form
-- ({response, tool_calls, usage}; SSE `{"response":"tok","p":"..."}`), on every path, sometimes inside the
-- API envelope. Both decode straight into canonical deltas.
-- Pure: no I/O module (the envelope rule is errors.lua's unwrap).
local adapter = require("tanstack.ai.adapter")
local cf_errors = require("cloudflare.tanstack_ai.errors")

local json, errors, openai = adapter.json, adapter.errors, adapter.format("openai")
local unwrap = cf_errors.unwrap

local type, ipairs, pairs, setmetatable, concat = type, ipairs, pairs, setmetatable, table.concat
local null = json.null

-- lenient: one malformed event is skipped with a warning (turn.lua), as Cloudflare's own provider does; an
-- adapter's strictStream keeps the error
local _M = { name = "workers-ai", done_marker = openai.done_marker, build_request = openai.build_request,
  lenient = true }

-- Finish reasons Workers AI sends outside TanStack's union (stop, length, content_filter, tool_calls).
_M.FINISH_EXTRA = { model_length = "length", invalid_reason = "stop", eos = "stop", eos_token = "stop",
  stop_sequence = "stop", abort = "stop", cancelled = "stop", error = "stop" }

local function finish_of(fr)
  return openai.FINISH_MAP[fr] or _M.FINISH_EXTRA[fr] or "stop"
end
_M.finish_of = finish_of

-- OpenAI chunks and completions: a finish reason outside the union is mapped before openai.lua reads it.
local function normalize_choices(v)
  for _, c in ipairs(v.choices) do
    local fr = type(c) == "table" and c.finish_reason
    if type(fr) == "string" and fr ~= "" and not openai.FINISH_MAP[fr] then c.finish_reason = finish_of(fr) end
  end
end

---------------------------------------------------------------------------------------------------
-- A forced tool call answered in the text (gpt-oss: `{"name": "get_weather", "location": "London"}`): with
-- state.forced (the forced tool's name, or true for "required" with state.tools the names offered), the text
-- is held until the finish reason and becomes a tool call when it is exactly one call of an offered tool.
---------------------------------------------------------------------------------------------------

local function recovered_call(state, text)
  local v = json.decode(text:match("^%s*(.-)%s*$"))
  if type(v) ~= "table" or type(v.name) ~= "string" then return nil end
  if state.forced ~= true and v.name ~= state.forced then return nil end
  if state.forced == true and not (state.tools and state.tools[v.name]) then return nil end
  local args = v.arguments or v.parameters
  if args == nil then
    args = {}
    for k, x in pairs(v) do if k ~= "name" then args[k] = x end end
    args = json.object(args)
  end
  if type(args) == "string" then return v.name, args end
  return v.name, json.encode(args)
end

local function flush(state, out)
  local buf = state.buf
  if not buf or #buf == 0 then return end
  state.buf = {}
  local text = concat(buf)
  if not state.calls then
    local name, args = recovered_call(state, text)
    if name then
      state.recovered = true
      out:tool_call(0, nil, name, args)
      return
    end
  end
  out:text(text)
end

-- The deltas object a decoder writes to: `out` itself, or a proxy holding text while a tool is forced.
local function sink(state, out)
  if type(state) ~= "table" or not state.forced then return out end
  local p = state.proxy
  if p and state.proxy_out == out then return p end
  state.buf = state.buf or {}
  p = setmetatable({
    text = function(_, d) if d ~= nil and d ~= null then state.buf[#state.buf + 1] = d end end,
    tool_call = function(_, ...) state.calls = true return out:tool_call(...) end,
    finish_reason = function(_, r)
      flush(state, out)
      if state.recovered and (r == "stop" or r == nil) then r = "tool_calls" end
      return out:finish_reason(r)
    end,
  }, { __index = function(_, k)
    local f = out[k]
    if type(f) == "function" then return function(_, ...) return f(out, ...) end end
    return f
  end })
  state.proxy, state.proxy_out = p, out
  return p
end

--- The per-turn decoder state (chat.lua fills in forced / tools for a forced tool choice).
function _M.new_state() return {} end

local function is_openai(v)
  local choices = v.choices
  return type(choices) == "table" and (choices[1] ~= nil or v.response == nil)
end

-- A native event or result -> deltas.
local function native(v, out)
  local usage = v.usage
  if usage ~= nil and usage ~= null then out:usage(openai.usage(usage)) end
  local r = v.response
  if r ~= nil and r ~= null then out:text(r) end
  if type(v.tool_calls) == "table" then openai.tool_calls(v.tool_calls, out) end
  local fr = v.finish_reason
  if fr ~= nil and fr ~= null and fr ~= "" then out:finish_reason(finish_of(fr)) end
end

local function is_error(v)
  return v.choices == nil and cf_errors.is_payload(v)
end

-- Events the stream parser may read without a full decode (csrc/json_pick.h): an OpenAI chunk carrying only text
-- (openai.lua's shape: normalize_choices changes nothing in it), or a native `{"response": "tok"}` with nothing
-- else native() or the error check reads. decode_event makes one out:text of either. None while a tool is forced:
-- the text is held then.
local PICK = { openai.PICK[1], {
  text = { "response" },
  none = { { "choices" }, { "error" }, { "errors" }, { "usage" }, { "tool_calls" }, { "finish_reason" }, { "type" },
    { "success" } },
} }
function _M.pick(state)
  if type(state) == "table" and state.forced then return nil end
  return PICK
end

function _M.decode_event(state, v, out)
  out = sink(state, out)
  if is_openai(v) then -- the hot path: OpenAI chunks
    normalize_choices(v)
    return openai.decode_event(nil, v, out)
  end
  if is_error(v) then return out:fail_payload(v) end
  native(v, out)
end

--- The end of a stream: text held for a forced tool goes out, and an answer with neither [DONE] nor a finish
--- reason was cut short (an error after the text it carried).
function _M.finish(state, out)
  if type(state) == "table" and state.forced then flush(state, out) end
  if not out.done_seen and out.reason == nil and not out.finished then
    out:fail(errors.new({ message = "Workers AI chat: the stream ended with neither [DONE] nor a finish reason: " ..
      "the answer was cut short", kind = "network", code = "stream_cut_short", provider = "workers-ai",
      retryable = false }))
  end
end

function _M.decode_body(state, v, out)
  if type(v) == "table" and is_error(v) then return out:fail_payload(v) end
  v = unwrap(v)
  local o = sink(state, out)
  if type(v) == "table" and type(v.choices) == "table" and v.choices[1] == nil and v.response == nil then
    -- {"choices": []}: an empty answer, not a failure
    if v.usage ~= nil and v.usage ~= null then o:usage(openai.usage(v.usage)) end
    return o:finish_reason("stop")
  end
  if type(v) ~= "table" or is_openai(v) or v.choices ~= nil then
    if type(v) == "table" and type(v.choices) == "table" then normalize_choices(v) end
    openai.decode_body(nil, v, o)
  else
    native(v, o)
  end
  if o ~= out then flush(state, out) end
end

--- The structured answer: an OpenAI completion's message content, or the native `response`.
function _M.structured(v, provider)
  provider = provider or "workers-ai"
  if type(v) == "table" and is_error(v) then return nil, cf_errors.from_payload(v, provider) end
  v = unwrap(v)
  if type(v) == "table" and type(v.choices) == "table" then
    return openai.structured(v, provider, cf_errors.classify)
  end
  if type(v) ~= "table" or v.response == nil or v.response == null then
    return nil, errors.new({ message = "Workers AI structured output returned no content", kind = "provider",
      provider = provider, body = json.try_encode(v) })
  end
  return adapter.parse_structured(v.response, provider, "Workers AI structured output")
end

return _M
