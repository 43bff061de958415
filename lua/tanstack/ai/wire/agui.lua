-- The AG-UI writer: in-process AG-UI events -> TanStack's wire form (SSE / NDJSON), and the response helpers
-- (toServerSentEventsResponse / toHttpResponse) over the edge's relay (edge/relay.lua).
--
-- Mirrors @tanstack/ai 0.58 (`toWireChunk` = normalizeStreamChunk + stripToSpec, `sseEncoders`,
-- `ndjsonEncoders`):
--   * only the AG-UI spec keys of each event type stay at the top level;
--   * TanStack extras (model, finishReason, toolName, input, index, stepId, ...) move to metadata.tanstack;
--   * usage {promptTokens, ...} becomes the spec array [{model, inputTokens, outputTokens, totalTokens}];
--   * a failure of the source (a raised error) ends the wire with exactly one RUN_ERROR.
-- Pure Lua, 5.1-compatible syntax (runs in nginx's LuaJIT). Inside an nginx content phase the response
-- helpers write to the client themselves (tanstack.ai.ngx_response). The request side: wire/agui_request.lua.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local host = require("tanstack.ai.host")
local relay = require("tanstack.ai.edge.relay")

local type, pairs, pcall, tostring, next = type, pairs, pcall, tostring, next
local getmetatable, rawget, select, error, setmetatable = getmetatable, rawget, select, error, setmetatable
local concat = table.concat

local _M = {}

---------------------------------------------------------------------------------------------------
-- Event -> wire chunk
---------------------------------------------------------------------------------------------------

local function keyset(...)
  local s = { type = true, timestamp = true, rawEvent = true, metadata = true }
  for i = 1, select("#", ...) do s[select(i, ...)] = true end
  return s
end

local SHARED = keyset()

-- AG-UI spec keys per event type (@tanstack/ai utilities/spec-event-keys).
local SPEC_KEYS = {
  TEXT_MESSAGE_START = keyset("messageId", "role", "name"),
  TEXT_MESSAGE_CONTENT = keyset("messageId", "delta"),
  TEXT_MESSAGE_END = keyset("messageId"),
  TEXT_MESSAGE_CHUNK = keyset("messageId", "role", "delta", "name"),
  TOOL_CALL_START = keyset("toolCallId", "toolCallName", "parentMessageId"),
  TOOL_CALL_ARGS = keyset("toolCallId", "delta"),
  TOOL_CALL_END = keyset("toolCallId"),
  TOOL_CALL_CHUNK = keyset("toolCallId", "toolCallName", "parentMessageId", "delta"),
  TOOL_CALL_RESULT = keyset("messageId", "toolCallId", "content", "role"),
  THINKING_START = keyset("title"),
  THINKING_END = SHARED,
  THINKING_TEXT_MESSAGE_START = SHARED,
  THINKING_TEXT_MESSAGE_CONTENT = keyset("delta"),
  THINKING_TEXT_MESSAGE_END = SHARED,
  STATE_SNAPSHOT = keyset("snapshot"),
  STATE_DELTA = keyset("delta"),
  MESSAGES_SNAPSHOT = keyset("messages"),
  ACTIVITY_SNAPSHOT = keyset("messageId", "activityType", "content", "replace"),
  ACTIVITY_DELTA = keyset("messageId", "activityType", "patch"),
  RAW = keyset("event", "source"),
  CUSTOM = keyset("name", "value"),
  RUN_STARTED = keyset("threadId", "runId", "parentRunId", "input"),
  RUN_FINISHED = keyset("threadId", "runId", "result", "outcome", "usage"),
  RUN_ERROR = keyset("message", "code", "usage"),
  STEP_STARTED = keyset("stepName"),
  STEP_FINISHED = keyset("stepName"),
  REASONING_START = keyset("messageId"),
  REASONING_MESSAGE_START = keyset("messageId", "role"),
  REASONING_MESSAGE_CONTENT = keyset("messageId", "delta"),
  REASONING_MESSAGE_END = keyset("messageId"),
  REASONING_MESSAGE_CHUNK = keyset("messageId", "delta"),
  REASONING_END = keyset("messageId"),
  REASONING_ENCRYPTED_VALUE = keyset("subtype", "entityId", "encryptedValue"),
}
_M.SPEC_KEYS = SPEC_KEYS

local function spec_keys(etype) return SPEC_KEYS[etype] or SHARED end

local function is_record(v)
  return type(v) == "table" and not json.is_array(v) and getmetatable(v) ~= json.array_mt
end

local function is_tanstack_usage(u)
  return is_record(u) and u.promptTokens ~= nil
end

local USAGE_MAIN = { promptTokens = true, completionTokens = true, totalTokens = true,
  promptTokensDetails = true, completionTokensDetails = true }

-- TokenUsage -> spec usage array + leftover (or nil), as toSpecTokenUsage.
local function to_spec_usage(u, model)
  local item = { inputTokens = u.promptTokens, outputTokens = u.completionTokens, totalTokens = u.totalTokens }
  if type(model) == "string" then item.model = model end
  local leftover = {}
  for k, v in pairs(u) do
    if not USAGE_MAIN[k] then leftover[k] = v end
  end
  local pd, cd = u.promptTokensDetails, u.completionTokensDetails
  if type(pd) == "table" then
    item.cachedInputTokens = pd.cachedTokens
    local rest = {}
    for k, v in pairs(pd) do if k ~= "cachedTokens" then rest[k] = v end end
    if next(rest) ~= nil then leftover.promptTokensDetails = rest end
  end
  if type(cd) == "table" then
    item.reasoningTokens = cd.reasoningTokens
    local rest = {}
    for k, v in pairs(cd) do if k ~= "reasoningTokens" then rest[k] = v end end
    if next(rest) ~= nil then leftover.completionTokensDetails = rest end
  end
  if next(leftover) == nil then leftover = nil end
  return json.array({ item }), leftover
end
_M.to_spec_usage = to_spec_usage

local SKIP_ALWAYS = { result = true, error = true, ["tanstack:interruptErrors"] = true }
local SKIP_DELTA = { result = true, error = true, ["tanstack:interruptErrors"] = true, model = true,
  content = true, args = true }
local SKIP_TOOL_START = { result = true, error = true, ["tanstack:interruptErrors"] = true, toolName = true }

local opt = require("tanstack.ai.options").either -- an option in either spelling

--- Where the detail of an error hidden from the browser goes: opts.logErrors = false (nowhere), a function
--- (called with the line), true (nginx's error log inside nginx, else stderr); unset: nginx's error log
--- inside nginx (ngx.log(ngx.ERR, ...)), else nowhere.
function _M.log_error(opts, detail)
  local sink = opt(opts, "logErrors", "log_errors")
  if sink == false then return end
  local line = "tanstack.ai: a RUN_ERROR was sent to the client in its public form; the error: " .. tostring(detail)
  if type(sink) == "function" then
    pcall(sink, line)
    return
  end
  pcall(host.log_error, sink == true, line)
end


-- A RUN_ERROR's message and code for the wire. err: the event's `error` (or what the source raised);
-- message / code: the event's own. With exposeErrorDetails the error's own message and code go out (secrets
-- scrubbed); otherwise an error of this library (its message may carry an upstream body, a host:port, a Lua
-- path) or a Lua error string becomes its public form (errors.public) and the detail goes to the log, while
-- a message the application chose (the event's own, a plain { message, code } table) is kept.
local function run_error_fields(err, message, code, opts)
  if type(code) == "number" then code = tostring(code) end
  if opt(opts, "exposeErrorDetails", "expose_error_details") then
    if message == nil and type(err) == "table" and type(err.message) == "string" and err.message ~= "" then
      message = err.message
    end
    if message == nil and err ~= nil and type(err) ~= "table" then message = tostring(err) end
    if code == nil and type(err) == "table" then
      code = err.code
      if code == nil and type(err.status) == "number" then code = err.status end
      if type(code) == "number" then code = tostring(code) end
    end
    if type(message) == "string" then message = errors.redact(message) end
    return message, code
  end
  if errors.is_error(err) or (err ~= nil and type(err) ~= "table") then
    local m, c = errors.public(err)
    _M.log_error(opts, errors.detail(err))
    return m, errors.public_code(code) or c
  end
  local pm, pc
  if type(err) == "table" then pm, pc = errors.public(err) end
  if type(message) == "string" then
    message = errors.public({ message = message })
  elseif type(err) == "table" and type(err.message) == "string" and err.message ~= "" then
    message = pm
  end
  return message, errors.public_code(code) or pc
end

--- One in-process event -> its wire form (a new table; the event is not modified). opts: exposeErrorDetails,
--- logErrors (see run_error_fields and log_error).
function _M.to_wire_chunk(ev, opts)
  if type(ev) ~= "table" then error("wire: an event must be a table", 2) end
  local etype = ev.type
  local keys = spec_keys(etype)
  local out = {}
  for k in pairs(keys) do
    local v = rawget(ev, k)
    if v ~= nil then out[k] = v end
  end
  if etype == "TOOL_CALL_START" and out.toolCallName == nil and ev.toolName ~= nil then
    out.toolCallName = ev.toolName
  end
  if etype == "RUN_ERROR" then
    out.message, out.code = run_error_fields(ev.error, out.message, out.code, opts)
  end

  local tanstack = {}
  local delta_event = etype == "TEXT_MESSAGE_CONTENT" or etype == "TOOL_CALL_ARGS"
  if ev.model ~= nil and not delta_event then tanstack.model = ev.model end
  if ev.finishReason ~= nil then tanstack.finishReason = ev.finishReason end
  if ev["tanstack:interruptErrors"] ~= nil then tanstack.interruptErrors = ev["tanstack:interruptErrors"] end
  if etype == "CUSTOM" or etype == "RUN_ERROR" then
    if ev.threadId ~= nil then tanstack.threadId = ev.threadId end
    if ev.runId ~= nil then tanstack.runId = ev.runId end
  end
  local skip = delta_event and SKIP_DELTA or (etype == "TOOL_CALL_START" and SKIP_TOOL_START or SKIP_ALWAYS)
  for k, v in pairs(ev) do
    if type(k) == "string" and not keys[k] and not skip[k] and tanstack[k] == nil then tanstack[k] = v end
  end
  if (etype == "RUN_FINISHED" or etype == "RUN_ERROR") and is_tanstack_usage(out.usage) then
    local usage, leftover = to_spec_usage(out.usage, ev.model)
    out.usage = usage
    if leftover ~= nil then tanstack.usage = leftover end
  end
  if next(tanstack) ~= nil then
    local meta = {}
    if is_record(out.metadata) then for k, v in pairs(out.metadata) do meta[k] = v end end
    local t = {}
    if is_record(meta.tanstack) then for k, v in pairs(meta.tanstack) do t[k] = v end end
    for k, v in pairs(tanstack) do t[k] = v end
    meta.tanstack = t
    out.metadata = meta
  end
  return out
end

--- The RUN_ERROR a failing source ends with (toRunErrorPayload: message + code, never the error object);
--- public unless opts.exposeErrorDetails (see run_error_fields).
function _M.run_error_chunk(err, opts)
  local message, code = run_error_fields(err, nil, nil, opts)
  if type(message) ~= "string" or message == "" then
    message = message ~= nil and tostring(message) or "Unknown error occurred"
  end
  if type(code) ~= "string" then code = nil end
  return { type = "RUN_ERROR", timestamp = events.now_ms(), message = message, code = code }
end

-- The relay's hot path: a plain TEXT_MESSAGE_CONTENT (type, timestamp, model, messageId, delta and nothing else)
-- written as the generic path writes it (model dropped from delta events; keys in json.encode's sorted order),
-- without the intermediate tables. Anything else: nil (the generic path).
local PLAIN_CONTENT_KEYS = { type = true, timestamp = true, model = true, messageId = true, delta = true }
local encode_string = json.encode_string
local format, floor = string.format, math.floor
-- head .. the JSON .. tail in one concatenation (the framing costs no second string)
local last_id, last_ts, last_tail, last_rest
local function plain_content(ev, head, tail)
  if ev.type ~= "TEXT_MESSAGE_CONTENT" then return nil end
  local delta, id, ts = ev.delta, ev.messageId, ev.timestamp
  if type(delta) ~= "string" or type(id) ~= "string" or type(ts) ~= "number" or floor(ts) ~= ts
    or ts >= 2 ^ 53 or ts <= -2 ^ 53 then
    return nil
  end
  for k in pairs(ev) do if not PLAIN_CONTENT_KEYS[k] then return nil end end
  -- the events of one read share their message id and timestamp: the rest of the line is built once for them
  if id ~= last_id or ts ~= last_ts or tail ~= last_tail then
    last_id, last_ts, last_tail = id, ts, tail
    last_rest = ',"messageId":' .. encode_string(id) .. ',"timestamp":' .. format("%d", ts) .. tail
  end
  return head .. encode_string(delta) .. last_rest
end
local function plain_content_json(ev)
  return plain_content(ev, '{"delta":', ',"type":"TEXT_MESSAGE_CONTENT"}')
end
_M.plain_content_json = plain_content_json

function _M.encode_sse(ev, opts)
  local fast = plain_content(ev, 'data: {"delta":', ',"type":"TEXT_MESSAGE_CONTENT"}\n\n')
  if fast then return fast end
  return "data: " .. json.encode(_M.to_wire_chunk(ev, opts)) .. "\n\n"
end

function _M.encode_ndjson(ev, opts)
  local fast = plain_content(ev, '{"delta":', ',"type":"TEXT_MESSAGE_CONTENT"}\n')
  if fast then return fast end
  return json.encode(_M.to_wire_chunk(ev, opts)) .. "\n"
end


---------------------------------------------------------------------------------------------------
-- Streams -> iterators of wire strings
---------------------------------------------------------------------------------------------------

-- An encoder: a stream's events as wire strings, one at a time (iterate) or as pieces (batches).
local Encoder = {}
Encoder.__index = Encoder

local function internal(message)
  return errors.new({ kind = "internal", message = message })
end

local function new_encoder(stream, encode, opts)
  local pull, cancel_source, ready = relay.source(stream)
  return setmetatable({ pull = pull, cancel_source = cancel_source, ready = ready, encode = encode, opts = opts,
    done = false, errored = false,
    parts = {}, np = 0,      -- the piece being built (reused: it holds at most one piece's strings)
    encoding = nil, odd = nil, -- the event being encoded / the type of a value that is not an event
  }, Encoder)
end

function Encoder:cancel()
  if self.done then return end
  self.done = true
  pcall(self.cancel_source)
end

-- The source failed (or an event could not be encoded): the source stops, and the stream ends with exactly one
-- RUN_ERROR (nil when one already went out).
function Encoder:fail(err)
  self.done = true
  pcall(self.cancel_source)
  if self.errored then return nil end
  self.errored = true
  local ok, s = pcall(self.encode, _M.run_error_chunk(err, self.opts), self.opts)
  if ok then return s end
  return nil
end

--- The next wire string, or nil at the end.
function Encoder:iterate()
  if self.done then return nil end
  local ok, ev = pcall(self.pull)
  if not ok then return self:fail(ev) end
  if ev == nil then
    self.done = true
    return nil
  end
  if type(ev) ~= "table" then
    return self:fail(internal("stream produced a " .. type(ev) .. " instead of an event"))
  end
  local ok2, s = pcall(self.encode, ev, self.opts)
  if not ok2 then
    return self:fail(internal("cannot encode " .. tostring(ev.type) .. " event: " .. tostring(s)))
  end
  if ev.type == "RUN_ERROR" then self.errored = true end
  return s
end

-- iterate's steps for one event (which may wait on the network), then for every event ready without a read
-- (run inside one protected call by batches).
function Encoder:fill()
  local pull, encode, opts, parts = self.pull, self.encode, self.opts, self.parts
  local n = 1
  repeat
    for _ = 1, n do
      local ev = pull()
      if ev == nil then
        self.done = true
        return
      end
      if type(ev) ~= "table" then
        self.odd = type(ev)
        return
      end
      self.encoding = ev
      local s = encode(ev, opts)
      self.encoding = nil
      if ev.type == "RUN_ERROR" then self.errored = true end
      local np = self.np + 1
      self.np = np
      parts[np] = s
    end
    n = self.ready()
  until n <= 0
end

--- The next piece: the strings of every event ready at once, concatenated; nil at the end. A failure ends the
--- piece as iterate's would end the stream.
function Encoder:batches()
  if self.done then return nil end
  self.np, self.encoding, self.odd = 0, nil, nil
  local ok, err = pcall(self.fill, self)
  local last
  if not ok then
    if self.encoding ~= nil then
      last = self:fail(internal("cannot encode " .. tostring(self.encoding.type) .. " event: " .. tostring(err)))
    else
      last = self:fail(err)
    end
  elseif self.odd then
    last = self:fail(internal("stream produced a " .. self.odd .. " instead of an event"))
  end
  local parts, np = self.parts, self.np
  if last ~= nil then
    np = np + 1
    parts[np] = last
  end
  if np == 0 then return nil end
  if np == 1 then return parts[1] end
  return concat(parts, "", 1, np)
end

--- Encode a stream as an iterator of wire strings. encode(ev, opts) -> string; opts: exposeErrorDetails,
--- logErrors (see run_error_fields). Returns iterate() -> string|nil, cancel() (stops the source), and batches():
--- the same strings, every one ready at the same time concatenated into one (a writer's piece: the events that
--- arrived in one read of the model stream, with one protected call for all of them), nil at the end. Use one of
--- iterate and batches per stream.
function _M.encoded(stream, encode, opts)
  local e = new_encoder(stream, encode, opts)
  return function() return e:iterate() end, function() e:cancel() end, function() return e:batches() end
end

--- ai.to_server_sent_events(stream, opts?): iterator of "data: <json>\n\n" strings (no [DONE]).
--- opts: exposeErrorDetails (RUN_ERROR carries the error's own message: for development), logErrors.
function _M.to_server_sent_events(stream, opts)
  if opts ~= nil then opts = require("tanstack.ai.options").check("wire", opts) end
  return (_M.encoded(stream, _M.encode_sse, opts))
end

--- ai.to_http_stream(stream, opts?): iterator of "<json>\n" strings (NDJSON); opts as to_server_sent_events.
function _M.to_http_stream(stream, opts)
  if opts ~= nil then opts = require("tanstack.ai.options").check("wire", opts) end
  return (_M.encoded(stream, _M.encode_ndjson, opts))
end

---------------------------------------------------------------------------------------------------
-- Responses
---------------------------------------------------------------------------------------------------

local function respond(stream, init, defaults, encode)
  init = init ~= nil and require("tanstack.ai.options").check("response", init) or {}
  local body, cancel, batches = _M.encoded(stream, encode, init)
  return relay.respond({
    status = init.status or 200,
    headers = relay.headers(defaults, init.headers),
    body = body,
    cancel = cancel,
  }, batches, init.ngx)
end

--- ai.to_server_sent_events_response(stream, init?): { status, headers, body = iterator, cancel }, or inside an
--- nginx content phase: writes the response itself and returns true (or nil, err). init: status, headers,
--- ngx = false (always return the table), exposeErrorDetails (a RUN_ERROR carries the error's own message, for
--- development; by default the browser gets a public message and code and the detail goes to the server log),
--- logErrors (see log_error).
function _M.to_server_sent_events_response(stream, init)
  return respond(stream, init, relay.SSE_HEADERS, _M.encode_sse)
end

--- ai.to_http_response(stream, init?): the NDJSON twin of to_server_sent_events_response.
function _M.to_http_response(stream, init)
  return respond(stream, init, relay.NDJSON_HEADERS, _M.encode_ndjson)
end

return _M
