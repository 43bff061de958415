-- The HTTP wire: in-process AG-UI events -> TanStack's wire form (SSE / NDJSON), the response helpers
-- (toServerSentEventsResponse / toHttpResponse) and the request side (chatParamsFromRequestBody).
--
-- Mirrors @tanstack/ai 0.58 (`toWireChunk` = normalizeStreamChunk + stripToSpec, `sseEncoders`,
-- `ndjsonEncoders`, `chatParamsFromRequestBody`, `convertMessagesToModelMessages` for AG-UI messages):
--   * only the AG-UI spec keys of each event type stay at the top level;
--   * TanStack extras (model, finishReason, toolName, input, index, stepId, ...) move to metadata.tanstack;
--   * usage {promptTokens, ...} becomes the spec array [{model, inputTokens, outputTokens, totalTokens}];
--   * a failure of the source (a raised error) ends the wire with exactly one RUN_ERROR.
-- Pure Lua, 5.1-compatible syntax (runs in nginx's LuaJIT). Inside an nginx content phase the response
-- helpers write to the client themselves (tanstack.ai.ngx_response).
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")

local type, pairs, ipairs, pcall, tostring, next = type, pairs, ipairs, pcall, tostring, next
local setmetatable, getmetatable, rawget, select, error = setmetatable, getmetatable, rawget, select, error
local lower, concat = string.lower, table.concat

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

-- An option in either spelling (false is an answer, not an absence).
local function opt(o, camel, snake)
  if type(o) ~= "table" then return nil end
  local v = o[camel]
  if v == nil then v = o[snake] end
  return v
end

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
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.log) == "function" and ngx.ERR ~= nil then
    pcall(ngx.log, ngx.ERR, line)
  elseif sink == true then
    pcall(function() io.stderr:write(line, "\n") end)
  end
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

-- Accepts a stream object (ai.chat's), a producer {next, close}, an iterator function or an array of events.
-- Returns pull() -> event|nil, cancel() and ready() -> the events pull() hands out without a read (0 when unknown).
local function none() return 0 end
local function source_of(stream)
  local ts = type(stream)
  if ts == "function" then return stream, function() end, none end
  if ts == "table" then
    if type(stream.next) == "function" then
      local function cancel()
        local c = stream.cancel or stream.close
        if type(c) == "function" then c(stream) end
      end
      local ready = none
      if type(stream.pending) == "function" then ready = function() return stream:pending() end end
      return function() return stream:next() end, cancel, ready
    end
    local i, n = 0, #stream
    return function() i = i + 1; return stream[i] end, function() end,
      function() return i < n and n - i or 0 end
  end
  error("wire: expected a stream (ai.chat's), an iterator function or an array of events, got " .. ts, 3)
end

--- Encode a stream as an iterator of wire strings. encode(ev, opts) -> string; opts: exposeErrorDetails,
--- logErrors (see run_error_fields). Returns iterate() -> string|nil, cancel() (stops the source), and batches():
--- the same strings, every one ready at the same time concatenated into one (a writer's piece: the events that
--- arrived in one read of the model stream, with one protected call for all of them), nil at the end. Use one of
--- iterate and batches per stream.
function _M.encoded(stream, encode, opts)
  local pull, cancel_source, ready = source_of(stream)
  local done, errored = false, false
  local function cancel()
    if done then return end
    done = true
    pcall(cancel_source)
  end
  local function fail(err)
    done = true
    pcall(cancel_source)
    if errored then return nil end -- exactly one RUN_ERROR
    errored = true
    local ok, s = pcall(encode, _M.run_error_chunk(err, opts), opts)
    if ok then return s end
    return nil
  end
  local function iterate()
    if done then return nil end
    local ok, ev = pcall(pull)
    if not ok then return fail(ev) end
    if ev == nil then
      done = true
      return nil
    end
    if type(ev) ~= "table" then
      return fail(errors.new({ kind = "internal", message = "stream produced a " .. type(ev) .. " instead of an event" }))
    end
    local ok2, s = pcall(encode, ev, opts)
    if not ok2 then
      return fail(errors.new({ kind = "internal", message = "cannot encode " .. tostring(ev.type) .. " event: " ..
        tostring(s) }))
    end
    if ev.type == "RUN_ERROR" then errored = true end
    return s
  end

  -- batches: iterate's steps for one event (which may wait on the network), then for every event ready without a
  -- read, inside one protected call; a failure ends the piece as iterate's would end the stream.
  local parts, np = {}, 0 -- the piece being built (reused: it holds at most one piece's strings)
  local encoding, odd     -- the event being encoded / the type of a value that is not an event
  local function fill()
    local n = 1
    repeat
      for _ = 1, n do
        local ev = pull()
        if ev == nil then
          done = true
          return
        end
        if type(ev) ~= "table" then
          odd = type(ev)
          return
        end
        encoding = ev
        local s = encode(ev, opts)
        encoding = nil
        if ev.type == "RUN_ERROR" then errored = true end
        np = np + 1
        parts[np] = s
      end
      n = ready()
    until n <= 0
  end
  local function batches()
    if done then return nil end
    np, encoding, odd = 0, nil, nil
    local ok, err = pcall(fill)
    local last
    if not ok then
      if encoding ~= nil then
        last = fail(errors.new({ kind = "internal", message = "cannot encode " .. tostring(encoding.type) ..
          " event: " .. tostring(err) }))
      else
        last = fail(err)
      end
    elseif odd then
      last = fail(errors.new({ kind = "internal", message = "stream produced a " .. odd .. " instead of an event" }))
    end
    if last ~= nil then
      np = np + 1
      parts[np] = last
    end
    if np == 0 then return nil end
    if np == 1 then return parts[1] end
    return concat(parts, "", 1, np)
  end
  return iterate, cancel, batches
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

-- Header tables keep lower-case names (like transports) and answer any spelling on lookup.
local headers_mt = {
  __index = function(t, k)
    if type(k) == "string" then return rawget(t, lower(k)) end
  end,
}

local function merge_headers(defaults, extra)
  local h = setmetatable({}, headers_mt)
  for k, v in pairs(defaults) do h[lower(k)] = v end
  if type(extra) == "table" then
    for k, v in pairs(extra) do
      if type(k) == "string" then h[lower(k)] = v end
    end
  end
  return h
end

local SSE_HEADERS = { ["content-type"] = "text/event-stream", ["cache-control"] = "no-cache",
  connection = "keep-alive" }
local NDJSON_HEADERS = { ["content-type"] = "application/x-ndjson", ["cache-control"] = "no-cache" }

local function ngx_content_phase()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return nil end
  local ok, phase = pcall(ngx.get_phase)
  if ok and phase == "content" then return ngx end
  return nil
end

local function respond(stream, init, defaults, encode)
  init = init ~= nil and require("tanstack.ai.options").check("response", init) or {}
  local body, cancel, batches = _M.encoded(stream, encode, init)
  local res = {
    status = init.status or 200,
    headers = merge_headers(defaults, init.headers),
    body = body,
    cancel = cancel,
  }
  if init.ngx ~= false and ngx_content_phase() then
    -- the events that arrived together go out as one write (the same bytes; one flush per piece still lets a slow
    -- client push back)
    res.body = batches
    return require("tanstack.ai.ngx_response").send(res)
  end
  return res
end

--- ai.to_server_sent_events_response(stream, init?): { status, headers, body = iterator, cancel }, or inside an
--- nginx content phase: writes the response itself and returns true (or nil, err). init: status, headers,
--- ngx = false (always return the table), exposeErrorDetails (a RUN_ERROR carries the error's own message, for
--- development; by default the browser gets a public message and code and the detail goes to the server log),
--- logErrors (see log_error).
function _M.to_server_sent_events_response(stream, init)
  return respond(stream, init, SSE_HEADERS, _M.encode_sse)
end

--- ai.to_http_response(stream, init?): the NDJSON twin of to_server_sent_events_response.
function _M.to_http_response(stream, init)
  return respond(stream, init, NDJSON_HEADERS, _M.encode_ndjson)
end

---------------------------------------------------------------------------------------------------
-- Request: chatParamsFromRequestBody
---------------------------------------------------------------------------------------------------

local INVALID = "Request body is not a valid AG-UI RunAgentInput. Validation errors: "

local function invalid(reason)
  return nil, errors.new({ message = INVALID .. reason, status = 400, kind = "bad_request",
    code = "invalid_request", retryable = false })
end

--- The limits chat_params_from_request_body applies to what a client posts, each overridable in its opts
--- (same names). Exceeding maxBodyBytes is a 413, any other a 400; err.limit names the limit.
_M.REQUEST_LIMITS = {
  maxBodyBytes = 1048576, -- bytes of the JSON text (1 MiB)
  maxMessages = 1000,     -- entries of messages
  maxToolCalls = 1000,    -- toolCalls over all assistant messages (and entries of resume)
  maxParts = 1000,        -- content parts over all user messages
  maxTools = 128,         -- client tools (tools)
  maxContext = 100,       -- entries of context
  maxDepth = 64,          -- JSON nesting depth of the whole body
}
local LIMIT_SNAKE = { maxBodyBytes = "max_body_bytes", maxMessages = "max_messages",
  maxToolCalls = "max_tool_calls", maxParts = "max_parts", maxTools = "max_tools", maxContext = "max_context",
  maxDepth = "max_depth" }

-- "Request body exceeds a limit: <what>, more than <max> (<limit>)"
local function over_limit(limit, what, max)
  local status = limit == "maxBodyBytes" and 413 or 400
  return nil, errors.new({ message = "Request body exceeds a limit: " .. what .. ", more than " .. tostring(max) ..
    " (" .. limit .. ")", status = status, kind = "bad_request",
    code = status == 413 and "request_too_large" or "limit_exceeded", limit = limit, retryable = false })
end

-- The options of chat_params_from_request_body: limits (defaults from REQUEST_LIMITS) and allowSystemMessages.
local function request_options(opts)
  if opts ~= nil then opts = require("tanstack.ai.options").check("chat_params_from_request_body", opts) end
  local o = { limits = {} }
  for name, default in pairs(_M.REQUEST_LIMITS) do
    local v = opt(opts, name, LIMIT_SNAKE[name])
    if v ~= nil and (type(v) ~= "number" or v < 1 or v ~= v or math.floor(v) ~= v) then
      error("chat_params_from_request_body: opts." .. name .. " must be a positive integer", 3)
    end
    o.limits[name] = v or default
  end
  local allow = opt(opts, "allowSystemMessages", "allow_system_messages")
  if allow ~= nil and type(allow) ~= "boolean" then
    error("chat_params_from_request_body: opts.allowSystemMessages must be a boolean", 3)
  end
  o.allow_system = allow == true
  return o
end

-- Is a value nested deeper than max (the body itself is depth 1)? A budget of visited values bounds the walk
-- of a caller's table that shares subtables.
local function too_deep(v, max, budget)
  local function walk(x, d)
    budget = budget - 1
    if budget < 0 then return "values" end
    if d > max then return "depth" end
    for _, c in pairs(x) do
      if type(c) == "table" then
        local r = walk(c, d + 1)
        if r then return r end
      end
    end
    return nil
  end
  return walk(v, 1)
end

-- A decoded JSON array (an empty table counts: Debian's cjson decodes [] and {} alike).
local function is_array(v)
  return type(v) == "table" and (json.is_array(v) or next(v) == nil)
end

-- A decoded JSON object (empty tables count, as above).
local function is_object(v)
  if type(v) ~= "table" then return false end
  if next(v) == nil then return getmetatable(v) ~= json.array_mt end
  return not json.is_array(v)
end

local AGUI_ROLES = { developer = true, system = true, assistant = true, user = true, tool = true, activity = true,
  reasoning = true }

local function check_message(m, at)
  if not is_object(m) then return at .. " must be an object" end
  if type(m.id) ~= "string" then return at .. ".id must be a string" end
  local role = m.role
  if type(role) ~= "string" or not AGUI_ROLES[role] then
    return at .. ".role must be one of developer | system | assistant | user | tool | activity | reasoning"
  end
  if role == "assistant" then
    if m.content ~= nil and type(m.content) ~= "string" then return at .. ".content must be a string" end
    if m.toolCalls ~= nil and not is_array(m.toolCalls) then return at .. ".toolCalls must be an array" end
  elseif role == "user" then
    if type(m.content) ~= "string" and not is_array(m.content) then
      return at .. ".content must be a string or an array of content parts"
    end
  elseif role == "tool" then
    if type(m.content) ~= "string" then return at .. ".content must be a string" end
    if type(m.toolCallId) ~= "string" then return at .. ".toolCallId must be a string" end
  elseif role == "activity" then
    if type(m.activityType) ~= "string" then return at .. ".activityType must be a string" end
    if not is_object(m.content) then return at .. ".content must be an object" end
  else -- developer, system, reasoning
    if type(m.content) ~= "string" then return at .. ".content must be a string" end
  end
  if m.metadata ~= nil and not is_object(m.metadata) then return at .. ".metadata must be an object" end
  return nil
end

local function tanstack_meta(v)
  local m = type(v) == "table" and v.metadata
  if is_object(m) and is_object(m.tanstack) then return m.tanstack end
  return nil
end

local function nonempty(s)
  if type(s) == "string" and s ~= "" then return s end
  return nil
end

local MEDIA = { image = true, audio = true, video = true, document = true }

-- AG-UI user content parts -> TanStack content parts (text {text} -> {content}; binary dropped).
local function user_content(content, at)
  if type(content) == "string" then return content end
  local parts = {}
  for i, p in ipairs(content) do
    local where = at .. ".content[" .. (i - 1) .. "]"
    if not is_object(p) then return nil, where .. " must be an object" end
    if p.type == "text" then
      local text = p.text
      if text == nil then text = p.content end
      if type(text) ~= "string" then return nil, where .. ".text must be a string" end
      parts[#parts + 1] = { type = "text", content = text }
    elseif MEDIA[p.type] then
      parts[#parts + 1] = p
    end -- `binary` and anything that is not a content part are dropped, as TanStack does
  end
  if #parts == 0 then return json.null end
  local all_text = true
  for _, p in ipairs(parts) do if p.type ~= "text" then all_text = false end end
  if all_text then
    local t = {}
    for i, p in ipairs(parts) do t[i] = p.content end
    local s = concat(t)
    if s == "" then return json.null end
    return s
  end
  return parts
end

-- AG-UI wire messages -> TanStack ModelMessages (convertMessagesToModelMessages for AG-UI input).
-- Returns the messages and, for each, the 0-based index of the wire message it came from; or nil, reason.
local function convert_messages(list)
  local out, pending_thinking, origin = {}, {}, {}
  for i, m in ipairs(list) do
    origin[#out + 1] = i - 1
    local at = "messages[" .. (i - 1) .. "]"
    local role = m.role
    if role == "reasoning" then
      local sig = nonempty(m.encryptedValue) or nonempty((tanstack_meta(m) or {}).signature)
      if (m.content ~= nil and m.content ~= "") or sig then
        pending_thinking[#pending_thinking + 1] = { content = m.content or "", signature = sig }
      end
    elseif role == "activity" then
      -- UI-only: dropped
    elseif role == "developer" or role == "system" then
      out[#out + 1] = { role = "system", content = m.content, name = m.name }
    elseif role == "user" then
      local content, err = user_content(m.content, at)
      if err then return nil, err end
      if content == json.null then content = nil end
      out[#out + 1] = { role = "user", content = content or "", name = m.name }
    elseif role == "assistant" then
      local tcs
      if m.toolCalls ~= nil then
        local bag = (tanstack_meta(m) or {}).toolCallMetadata
        tcs = {}
        for j, tc in ipairs(m.toolCalls) do
          local where = at .. ".toolCalls[" .. (j - 1) .. "]"
          if not is_object(tc) then return nil, where .. " must be an object" end
          local fn = tc["function"]
          if type(tc.id) ~= "string" then return nil, where .. ".id must be a string" end
          if not is_object(fn) or type(fn.name) ~= "string" then return nil, where .. ".function.name must be a string" end
          if fn.arguments ~= nil and type(fn.arguments) ~= "string" then
            return nil, where .. ".function.arguments must be a string"
          end
          local meta
          local from_bag = is_object(bag) and bag[tc.id] or nil
          local sig = nonempty(tc.encryptedValue)
          if is_object(from_bag) or sig then
            meta = {}
            if is_object(from_bag) then for k, v in pairs(from_bag) do meta[k] = v end end
            if sig then meta.thoughtSignature = sig end
          end
          tcs[#tcs + 1] = { id = tc.id, type = "function",
            ["function"] = { name = fn.name, arguments = fn.arguments or "{}" }, metadata = meta }
        end
        if #tcs == 0 then tcs = nil end
      end
      local msg = { role = "assistant", content = m.content, name = m.name, toolCalls = tcs }
      if #pending_thinking > 0 then
        msg.thinking = pending_thinking
        pending_thinking = {}
      end
      out[#out + 1] = msg
    elseif role == "tool" then
      out[#out + 1] = { role = "tool", content = m.content, toolCallId = m.toolCallId, name = m.name }
    end
  end
  return out, origin
end

local function check_encodable(v, at)
  if v == nil then return nil end
  local ok, err = json.try_encode(v)
  if not ok then return at .. " is not encodable: " .. tostring(err) end
  return nil
end

--- ai.chat_params_from_request_body(body, opts?): body is the decoded JSON (or the JSON text) that
--- @tanstack/ai-client posts (an AG-UI RunAgentInput). Returns the options for ai.chat:
---   { messages (ModelMessages), threadId, runId, parentRunId, tools (client tools: name, description,
---     inputSchema, no execute), forwardedProps, state, resume, context, aguiContext }
--- or nil, err with err.status == 400 (413 for a body over maxBodyBytes) and a message naming the offending
--- field or limit. opts: the limits of REQUEST_LIMITS (same names), allowSystemMessages (default false: a
--- client's system and developer messages are refused; system prompts are the server's, ai.chat's
--- systemPrompts). Never raises on any body (a bad opts is a programmer error and raises).
function _M.chat_params_from_request_body(body, opts)
  local o = request_options(opts)
  local ok, res, err = pcall(_M._chat_params, body, o)
  if not ok then return invalid("internal validation failure: " .. tostring(res)) end
  return res, err
end

function _M._chat_params(body, o)
  o = o or request_options(nil)
  local limits = o.limits
  if type(body) == "string" then
    if #body > limits.maxBodyBytes then
      return over_limit("maxBodyBytes", "the body is " .. #body .. " bytes", limits.maxBodyBytes)
    end
    local decoded, derr = json.decode(body)
    if decoded == nil then return invalid("body is not JSON (" .. tostring(derr) .. ")") end
    -- cjson decodes [] and {} alike: look at the text
    if body:match("^%s*%[") then return invalid("body must be a JSON object") end
    body = decoded
  end
  if type(body) == "table" then
    local deep = too_deep(body, limits.maxDepth, limits.maxBodyBytes)
    if deep == "depth" then return over_limit("maxDepth", "the body nests objects and arrays", limits.maxDepth .. " deep") end
    if deep == "values" then return over_limit("maxBodyBytes", "the body holds more values", limits.maxBodyBytes) end
  end
  if not is_object(body) then return invalid("body must be a JSON object") end
  if type(body.threadId) ~= "string" then return invalid("threadId must be a string") end
  if type(body.runId) ~= "string" then return invalid("runId must be a string") end
  if body.parentRunId ~= nil and type(body.parentRunId) ~= "string" then
    return invalid("parentRunId must be a string")
  end
  if not is_array(body.messages) then return invalid("messages must be an array") end
  if #body.messages > limits.maxMessages then
    return over_limit("maxMessages", "messages has " .. #body.messages .. " entries", limits.maxMessages)
  end
  local n_calls, n_parts = 0, 0
  for i, m in ipairs(body.messages) do
    local at = "messages[" .. (i - 1) .. "]"
    local reason = check_message(m, at)
    if reason then return invalid(reason) end
    if (m.role == "system" or m.role == "developer") and not o.allow_system then
      return nil, errors.new({ message = "Request refused: " .. at .. " has role '" .. m.role .. "'; system and " ..
        "developer messages come from the server (ai.chat's systemPrompts), not from the client " ..
        "(chat_params_from_request_body's allowSystemMessages = true accepts them)", status = 400,
        kind = "bad_request", code = "role_not_allowed", retryable = false })
    end
    if m.role == "assistant" and m.toolCalls ~= nil then
      n_calls = n_calls + #m.toolCalls
      if n_calls > limits.maxToolCalls then
        return over_limit("maxToolCalls", at .. " brings the tool calls to " .. n_calls, limits.maxToolCalls)
      end
    elseif m.role == "user" and type(m.content) == "table" then
      n_parts = n_parts + #m.content
      if n_parts > limits.maxParts then
        return over_limit("maxParts", at .. " brings the content parts to " .. n_parts, limits.maxParts)
      end
    end
  end
  if not is_array(body.tools) then return invalid("tools must be an array") end
  if #body.tools > limits.maxTools then
    return over_limit("maxTools", "tools has " .. #body.tools .. " entries", limits.maxTools)
  end
  local tools_mod = require("tanstack.ai.tools")
  local tools = {}
  local seen = {}
  for i, t in ipairs(body.tools) do
    local at = "tools[" .. (i - 1) .. "]"
    if not is_object(t) then return invalid(at .. " must be an object") end
    if type(t.name) ~= "string" then return invalid(at .. ".name must be a string") end
    if type(t.description) ~= "string" then return invalid(at .. ".description must be a string") end
    if t.parameters ~= nil and not is_object(t.parameters) then return invalid(at .. ".parameters must be an object") end
    local reason = check_encodable(t.parameters, at .. ".parameters")
    if reason then return invalid(reason) end
    if seen[t.name] then return invalid(at .. ".name '" .. t.name .. "' is declared twice") end
    seen[t.name] = true
    local okd, def = pcall(tools_mod.definition, { name = t.name, description = t.description,
      inputSchema = t.parameters })
    if not okd then return invalid(at .. ".name: " .. tostring(def)) end
    tools[#tools + 1] = def:client()
  end
  if not is_array(body.context) then return invalid("context must be an array") end
  if #body.context > limits.maxContext then
    return over_limit("maxContext", "context has " .. #body.context .. " entries", limits.maxContext)
  end
  local context = {}
  for i, c in ipairs(body.context) do
    local at = "context[" .. (i - 1) .. "]"
    if not is_object(c) then return invalid(at .. " must be an object") end
    if type(c.description) ~= "string" then return invalid(at .. ".description must be a string") end
    if type(c.value) ~= "string" then return invalid(at .. ".value must be a string") end
    context[i] = { description = c.description, value = c.value }
  end
  local resume
  if body.resume ~= nil then
    if not is_array(body.resume) then return invalid("resume must be an array") end
    if #body.resume > limits.maxToolCalls then
      return over_limit("maxToolCalls", "resume has " .. #body.resume .. " entries", limits.maxToolCalls)
    end
    resume = {}
    for i, r in ipairs(body.resume) do
      local at = "resume[" .. (i - 1) .. "]"
      if not is_object(r) then return invalid(at .. " must be an object") end
      if type(r.interruptId) ~= "string" then return invalid(at .. ".interruptId must be a string") end
      if r.status ~= "resolved" and r.status ~= "cancelled" then
        return invalid(at .. '.status must be "resolved" or "cancelled"')
      end
      if r.metadata ~= nil and not is_object(r.metadata) then return invalid(at .. ".metadata must be an object") end
      resume[i] = { interruptId = r.interruptId, status = r.status, payload = r.payload, metadata = r.metadata }
    end
  end
  if body.forwardedProps ~= nil and not is_object(body.forwardedProps) then
    return invalid("forwardedProps must be an object")
  end
  local converted, origin = convert_messages(body.messages) -- or nil, reason
  if not converted then return invalid(origin) end
  -- what ai.chat will do with them: a message it would reject is a 400 here, not an error later
  local normalize = require("tanstack.ai.messages").normalize
  local normalized = {}
  for i, m in ipairs(converted) do
    local okn, res = pcall(normalize, { m })
    if not okn then
      local at = "messages[" .. origin[i] .. "]"
      return invalid((tostring(res):gsub("^messages%[1%]", function() return at end)))
    end
    res[1].thinking = m.thinking
    normalized[i] = res[1]
  end
  return {
    messages = normalized,
    threadId = body.threadId,
    runId = body.runId,
    parentRunId = body.parentRunId,
    tools = tools,
    forwardedProps = body.forwardedProps or json.object(),
    state = body.state,
    resume = resume,
    context = context,
    aguiContext = context,
  }
end

--- TanStack's mergeAgentTools(serverTools, clientTools): server tools win on a name clash.
function _M.merge_agent_tools(server_tools, client_tools)
  local out, seen = {}, {}
  for _, t in ipairs(server_tools or {}) do
    out[#out + 1] = t
    seen[t.name] = true
  end
  for _, t in ipairs(client_tools or {}) do
    if not seen[t.name] then
      seen[t.name] = true
      out[#out + 1] = t
    end
  end
  return out
end

return _M
