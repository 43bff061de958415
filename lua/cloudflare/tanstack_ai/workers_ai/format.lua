-- Workers AI chat answers, a wire format (tanstack/ai/formats/init.lua documents the interface): requests are
-- OpenAI Chat Completions; answers come as OpenAI chunks/completions or as Workers AI's native form
-- ({response, tool_calls, usage}; SSE `{"response":"tok","p":"..."}`), on every path, sometimes inside the
-- API envelope. Both decode straight into canonical deltas.
-- Pure: no I/O module (the envelope rule is errors.lua's unwrap).
local adapter = require("tanstack.ai.adapter")
local cf_errors = require("cloudflare.tanstack_ai.errors")

local json, errors, openai = adapter.json, adapter.errors, adapter.format("openai")
local envelope = cf_errors.unwrap

local type, ipairs, pairs, setmetatable, concat = type, ipairs, pairs, setmetatable, table.concat
local null = json.null

-- lenient: one malformed event is skipped with a warning (turn.lua), as Cloudflare's own provider does; an
-- adapter's strictStream keeps the error
local _M = { name = "workers-ai", done_marker = openai.done_marker, build_request = openai.build_request,
  lenient = true }

-- Finish reasons Workers AI sends outside TanStack's union (stop, length, content_filter, tool_calls).
-- "error" is not among them: it is a failure (see FAILED).
_M.FINISH_EXTRA = { model_length = "length", invalid_reason = "stop", eos = "stop", eos_token = "stop",
  stop_sequence = "stop", abort = "stop", cancelled = "stop" }

-- The finish reason that reports a failed generation. Cloudflare's own provider maps it to the AI SDK's "error"
-- (workers-ai-provider, src/map-workersai-finish-reason.ts; test/map-workersai-finish-reason.test.ts); TanStack's
-- union has no such reason, so the turn ends in RUN_ERROR (code finish_reason_error) after what the answer carried.
local FAILED = "error"
_M.FAILED = FAILED

local function finish_of(fr)
  return openai.FINISH_MAP[fr] or _M.FINISH_EXTRA[fr] or "stop"
end
_M.finish_of = finish_of

--- The error of an answer that ended with finish_reason "error".
function _M.failed_error()
  return errors.new({ message = 'Workers AI chat: the model ended its answer with finish_reason "error" ' ..
    "(the generation failed)", kind = "provider", code = "finish_reason_error", provider = "workers-ai",
    retryable = false })
end

-- OpenAI chunks and completions: a finish reason outside the union is mapped before openai.lua reads it. Returns
-- true when the first choice (the one read) ended with "error" (its finish reason is then removed).
local function normalize_choices(v)
  local failed = false
  for i, c in ipairs(v.choices) do
    local fr = type(c) == "table" and c.finish_reason
    if type(fr) == "string" and fr ~= "" and not openai.FINISH_MAP[fr] then
      if fr == FAILED then
        if i == 1 then failed = true end
        c.finish_reason = nil
      else
        c.finish_reason = finish_of(fr)
      end
    end
  end
  return failed
end

---------------------------------------------------------------------------------------------------
-- A forced tool call answered in the text (gpt-oss: `{"name": "get_weather", "location": "London"}`): with
-- state.forced (the forced tool's name, or true for "required" with state.tools the names offered), the text
-- is held until the finish reason and becomes tool calls when it is a call, or an array of calls, of a known
-- tool (the forced one; for "required" any offered tool). Arguments: `arguments`, `parameters` or the other
-- fields. In an array, entries naming an unknown tool are ignored and the known ones kept; with none known the
-- text stays text. (As workers-ai-provider's salvageToolCallsFromText: test/utils.test.ts.)
---------------------------------------------------------------------------------------------------

local function known_tool(state, name)
  if type(name) ~= "string" then return false end
  if state.forced == true then return state.tools ~= nil and state.tools[name] == true end
  return name == state.forced
end

-- One {name, ...} object -> its arguments as JSON text.
local function args_of(v)
  local args = v.arguments
  if args == nil then args = v.parameters end
  if args == nil then
    args = {}
    for k, x in pairs(v) do if k ~= "name" then args[k] = x end end
    args = json.object(args)
  end
  if type(args) == "string" then return args end
  return json.encode(args)
end

-- The calls of known tools the text holds ({ {name, args}, ... }), or nil.
local function recovered_calls(state, text)
  local v = json.decode(text:match("^%s*(.-)%s*$"))
  if type(v) ~= "table" then return nil end
  local list = v
  if v[1] == nil then list = { v } end
  local calls = {}
  for _, c in ipairs(list) do
    if type(c) == "table" and known_tool(state, c.name) then calls[#calls + 1] = { c.name, args_of(c) } end
  end
  if calls[1] == nil then return nil end
  return calls
end

-- as_text: the answer failed: what is held goes out as the text it was, no call is made of it
local function flush(state, out, as_text)
  local buf = state.buf
  if not buf or #buf == 0 then return end
  state.buf = {}
  local text = concat(buf)
  local calls = not state.calls and not as_text and recovered_calls(state, text)
  if calls then
    state.recovered = true
    for i, c in ipairs(calls) do out:tool_call(i - 1, nil, c[1], c[2]) end
    return
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

--- A chat answer without the API envelope: errors.lua's rule, and also `{result = {...}}` with nothing of an answer
--- beside it. No text-generation model's typed output has a `result` field (workers-types), and the REST API
--- wraps every /ai/run answer in one (workers-ai-provider reads `data.result`; its test "should retry without
--- streaming when REST returns JSON instead of SSE" answers `{"result": {"response": ...}}` alone).
function _M.unwrap(v)
  local u = envelope(v)
  if u == v and type(v) == "table" and type(v.result) == "table" and v.success == nil and v.errors == nil
    and v.response == nil and v.choices == nil and v.tool_calls == nil then
    return v.result
  end
  return u
end
local unwrap = _M.unwrap

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
  if fr == FAILED then return true end
  if fr ~= nil and fr ~= null and fr ~= "" then out:finish_reason(finish_of(fr)) end
end

local function is_error(v)
  local c = v.choices
  return (c == nil or c == null) and cf_errors.is_payload(v)
end

-- After an answer that ended with finish_reason "error": text held for a forced tool goes out as it came, then
-- one RUN_ERROR.
local function failed(state, out)
  if type(state) == "table" and state.forced then flush(state, out, true) end
  return out:fail(_M.failed_error())
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
  local o = sink(state, out)
  local bad
  if is_openai(v) then -- the hot path: OpenAI chunks
    bad = normalize_choices(v)
    openai.decode_event(nil, v, o)
  elseif is_error(v) then
    return o:fail_payload(v)
  else
    bad = native(v, o)
  end
  if bad then return failed(state, out) end
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
  local bad
  if type(v) ~= "table" or is_openai(v) then
    if type(v) == "table" then bad = normalize_choices(v) end
    openai.decode_body(nil, v, o)
  else
    -- no choices, `choices: null` or not an array: the direct properties are the answer (as Cloudflare's own
    -- provider reads them: test/map-workersai-finish-reason.test.ts, "fall back to direct finish_reason")
    bad = native(v, o)
  end
  if bad then return failed(state, out) end
  if o ~= out then flush(state, out) end
end

--- The structured answer: an OpenAI completion's message content, or the native `response`.
function _M.structured(v, provider)
  provider = provider or "workers-ai"
  if type(v) == "table" and is_error(v) then return nil, cf_errors.from_payload(v, provider) end
  v = unwrap(v)
  if type(v) == "table" then
    -- the first choice's finish reason, else the direct one (as for the turn's answers)
    local c = type(v.choices) == "table" and v.choices[1] or nil
    local fr
    if type(c) == "table" then fr = c.finish_reason else fr = v.finish_reason end
    if fr == FAILED then
      local e = _M.failed_error()
      e.provider = provider
      return nil, e
    end
  end
  if type(v) == "table" and is_openai(v) then
    return openai.structured(v, provider, cf_errors.classify)
  end
  if type(v) ~= "table" or v.response == nil or v.response == null then
    return nil, errors.new({ message = "Workers AI structured output returned no content", kind = "provider",
      provider = provider, body = json.try_encode(v) })
  end
  return adapter.parse_structured(v.response, provider, "Workers AI structured output")
end

return _M
