-- OpenAI Chat Completions at the edge, provider-neutral: read a Chat Completions request into ai.chat options, and
-- write the AG-UI stream back as OpenAI's `chat.completion.chunk` SSE (ending with `data: [DONE]`) or as one
-- `chat.completion` JSON; errors in OpenAI's shape ({error = {message, type, param, code}}) with their status.
--
--   local compat = require("tanstack.ai.openai_compat")
--   local req, err = compat.parse_request(body)          -- err.status (400/413), compat.error_body(err)
--   local stream = ai.chat({ adapter = ..., messages = req.messages, tools = req.tools, ... })
--   for piece in compat.to_chunks(stream, { model = req.model, includeUsage = req.includeUsage }) do ... end
--   local completion = compat.to_completion(stream, { model = req.model })   -- or nil, err
--
-- The tools of a request are client tools (no execute): a model turn that calls one ends the run, and the calls go
-- back to the client as `tool_calls` with finish_reason "tool_calls", as OpenAI does. tool_choice, stop,
-- response_format, top_p, seed, the penalties and parallel_tool_calls reach the provider as modelOptions (verbatim
-- for OpenAI-format providers: Workers AI, OpenAI, Grok, OpenRouter and the compat endpoint).
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")

local type, pairs, ipairs, tostring, pcall, floor = type, pairs, ipairs, tostring, pcall, math.floor
local concat = table.concat

local _M = {}

_M.LIMITS = {
  maxBodyBytes = 1048576, -- bytes of the JSON text
  maxMessages = 1000,
  maxTools = 128,
  maxParts = 1000,        -- content parts over all messages
}

-- OpenAI's error type per status
local ERROR_TYPES = {
  [400] = "invalid_request_error", [401] = "invalid_request_error", [403] = "permission_error",
  [404] = "invalid_request_error", [408] = "timeout_error", [413] = "invalid_request_error",
  [429] = "rate_limit_error",
}

--- An error value for the ingress: status, message, code, param (nil, err form of every check here).
function _M.error(status, message, code, param)
  return errors.new({ status = status, message = message, code = code, param = param, kind = "bad_request",
    retryable = false })
end

local function bad(message, param, code)
  return nil, _M.error(400, message, code or "invalid_request", param)
end

--- The HTTP status for an error value (an ingress error, a run's RUN_ERROR error, or a router error): its own
--- client status when it has one (400-499 but 408), 504 for a timeout, 429 for an upstream rate limit, else 502.
function _M.status_of(err)
  if type(err) ~= "table" then return 500 end
  if err.http_status then return err.http_status end
  local s = err.status
  if err.kind == "timeout" then return 504 end
  if s == 429 then return 429 end
  if type(s) == "number" and s >= 400 and s < 500 and s ~= 408 then
    if err.kind == "bad_request" or err.kind == "router" then return s end
    if s == 400 or s == 413 or s == 422 then return 400 end
    return 502 -- an upstream 401/403/404 is this server's configuration problem, not the client's
  end
  if err.kind == "bad_request" or err.kind == "router" then return s or 500 end
  return 502
end

--- {error = {message, type, param, code}} as JSON, and the status. opts.exposeErrorDetails: the error's own
--- message for upstream errors (otherwise a public one; the detail is for the server log).
function _M.error_body(err, opts)
  local status = _M.status_of(err)
  local message, code
  if type(err) == "table" and (err.kind == "bad_request" or err.kind == "router") then
    message, code = err.message, err.code
  elseif opts and (opts.exposeErrorDetails or opts.expose_error_details) then
    message = errors.redact(type(err) == "table" and tostring(err.message) or tostring(err))
    code = type(err) == "table" and err.code or nil
  else
    message, code = errors.public(err)
    code = errors.public_code(code) or code
  end
  if type(code) == "number" then code = tostring(code) end
  local etype = ERROR_TYPES[status] or (status >= 500 and "server_error" or "invalid_request_error")
  return json.encode({ error = { message = message or "error", type = etype,
    param = type(err) == "table" and err.param or json.null, code = code or json.null } }), status
end

---------------------------------------------------------------------------------------------------
-- Request
---------------------------------------------------------------------------------------------------

local function is_object(v) return type(v) == "table" and (next(v) == nil or v[1] == nil) end
local function is_array(v) return type(v) == "table" and (next(v) == nil or v[1] ~= nil) end

-- an image_url part -> TanStack's image part (data: URIs become source.type "data")
local function image_part(p, at)
  local iu = p.image_url
  local url = type(iu) == "table" and iu.url or iu
  if type(url) ~= "string" or url == "" then return nil, at .. ".image_url.url must be a string" end
  local mime, data = url:match("^data:([%w%.%+%-]+/[%w%.%+%-]+);base64,(.*)$")
  if mime then return { type = "image", source = { type = "data", value = data, mimeType = mime } } end
  if not (url:match("^https?://")) then return nil, at .. ".image_url.url must be an http(s) URL or a data: URI" end
  return { type = "image", source = { type = "url", value = url } }
end

local function content_of(c, at, role, budget)
  if c == nil or c == json.null then return nil end
  if type(c) == "string" then return c end
  if not is_array(c) then return nil, at .. " must be a string or an array of content parts" end
  local parts = {}
  local texts = {}
  for i, p in ipairs(c) do
    local pat = at .. "[" .. (i - 1) .. "]"
    budget.parts = budget.parts + 1
    if budget.parts > budget.max then return nil, "the request has more than " .. budget.max .. " content parts" end
    if not is_object(p) then return nil, pat .. " must be an object" end
    if p.type == "text" then
      if type(p.text) ~= "string" then return nil, pat .. ".text must be a string" end
      parts[#parts + 1] = { type = "text", content = p.text }
      texts[#texts + 1] = p.text
    elseif p.type == "image_url" and role == "user" then
      local part, err = image_part(p, pat)
      if not part then return nil, err end
      parts[#parts + 1] = part
    else
      return nil, pat .. ".type '" .. tostring(p.type) .. "' is not supported here"
    end
  end
  if role ~= "user" then return concat(texts) end
  return parts
end

local function convert_message(m, at, budget, allow_system)
  if not is_object(m) then return nil, at .. " must be an object" end
  local role = m.role
  if role == "system" or role == "developer" then
    if not allow_system then return nil, at .. " has role '" .. role .. "', which this server does not accept" end
    local c, err = content_of(m.content, at .. ".content", role, budget)
    if err then return nil, err end
    return { role = "system", content = c or "" }
  elseif role == "user" then
    local c, err = content_of(m.content, at .. ".content", role, budget)
    if err then return nil, err end
    if c == nil then return nil, at .. ".content is required" end
    return { role = "user", content = c }
  elseif role == "assistant" then
    local c, err = content_of(m.content, at .. ".content", role, budget)
    if err then return nil, err end
    local calls
    if m.tool_calls ~= nil and m.tool_calls ~= json.null then
      if not is_array(m.tool_calls) then return nil, at .. ".tool_calls must be an array" end
      calls = {}
      for i, tc in ipairs(m.tool_calls) do
        local tat = at .. ".tool_calls[" .. (i - 1) .. "]"
        local fn = type(tc) == "table" and tc["function"] or nil
        if type(tc) ~= "table" or type(tc.id) ~= "string" or type(fn) ~= "table" or type(fn.name) ~= "string" then
          return nil, tat .. " needs id and function.name"
        end
        local args = fn.arguments
        if args == nil or args == json.null then args = "{}" end
        if type(args) ~= "string" then return nil, tat .. ".function.arguments must be a string" end
        calls[i] = { id = tc.id, type = "function", ["function"] = { name = fn.name, arguments = args } }
      end
      if #calls == 0 then calls = nil end
    end
    return { role = "assistant", content = c or "", toolCalls = calls }
  elseif role == "tool" then
    if type(m.tool_call_id) ~= "string" then return nil, at .. ".tool_call_id must be a string" end
    local c, err = content_of(m.content, at .. ".content", role, budget)
    if err then return nil, err end
    return { role = "tool", toolCallId = m.tool_call_id, content = c or "" }
  end
  return nil, at .. ".role must be one of system, developer, user, assistant, tool"
end

-- request fields that reach the provider as they are
local PASS = { "tool_choice", "stop", "response_format", "top_p", "seed", "presence_penalty", "frequency_penalty",
  "parallel_tool_calls" }

--- Read an OpenAI Chat Completions request (the JSON text or the decoded table). Returns
---   { model, messages (ModelMessages), tools (client tools), temperature, maxTokens, modelOptions, stream,
---     includeUsage, responseFormat, user }
--- or nil, err (err.status 400, or 413 for a body over maxBodyBytes; err.param names the field).
--- opts: the limits of LIMITS (same names); allowSystemMessages (default true: system and developer messages are
--- part of the OpenAI API; false refuses them).
function _M.parse_request(body, opts)
  opts = opts or {}
  local limits = {}
  for k, v in pairs(_M.LIMITS) do limits[k] = opts[k] or v end
  if type(body) == "string" then
    if #body > limits.maxBodyBytes then
      return nil, _M.error(413, "the request body is larger than " .. limits.maxBodyBytes .. " bytes",
        "request_too_large")
    end
    local ok, decoded = pcall(json.decode, body)
    if not ok or type(decoded) ~= "table" or body:match("^%s*%[") then
      return bad("We could not parse the JSON body of your request.", nil, "invalid_json")
    end
    body = decoded
  end
  if not is_object(body) then return bad("the body must be a JSON object") end
  if type(body.model) ~= "string" or body.model == "" then
    return bad("you must provide a model parameter", "model", "missing_model")
  end
  if not is_array(body.messages) or #body.messages == 0 then
    return bad("messages must be a non-empty array", "messages")
  end
  if #body.messages > limits.maxMessages then
    return bad("messages has more than " .. limits.maxMessages .. " entries", "messages")
  end
  if body.n ~= nil and body.n ~= json.null and body.n ~= 1 then return bad("only n = 1 is supported", "n") end
  local allow_system = opts.allowSystemMessages
  if allow_system == nil then allow_system = true end
  local budget = { parts = 0, max = limits.maxParts }
  local msgs = {}
  for i, m in ipairs(body.messages) do
    local cm, err = convert_message(m, "messages[" .. (i - 1) .. "]", budget, allow_system)
    if not cm then return bad(err, "messages") end
    msgs[i] = cm
  end
  local tools = {}
  if body.tools ~= nil and body.tools ~= json.null then
    if not is_array(body.tools) then return bad("tools must be an array", "tools") end
    if #body.tools > limits.maxTools then return bad("tools has more than " .. limits.maxTools .. " entries", "tools") end
    local defs = require("tanstack.ai.tools")
    local seen = {}
    for i, t in ipairs(body.tools) do
      local at = "tools[" .. (i - 1) .. "]"
      local fn = type(t) == "table" and t["function"] or nil
      if type(t) ~= "table" or t.type ~= "function" or type(fn) ~= "table" or type(fn.name) ~= "string" then
        return bad(at .. " must be {type = \"function\", function = {name, description, parameters}}", "tools")
      end
      if seen[fn.name] then return bad(at .. ".function.name '" .. fn.name .. "' is declared twice", "tools") end
      seen[fn.name] = true
      if fn.parameters ~= nil and not is_object(fn.parameters) then
        return bad(at .. ".function.parameters must be an object", "tools")
      end
      local ok, def = pcall(defs.definition, { name = fn.name, description = type(fn.description) == "string"
        and fn.description or fn.name, inputSchema = fn.parameters or { type = "object", properties = json.object() } })
      if not ok then return bad(at .. ".function.name: " .. tostring(def), "tools") end
      tools[#tools + 1] = def:client()
    end
  end
  local temperature = body.temperature
  if temperature == json.null then temperature = nil end
  if temperature ~= nil and (type(temperature) ~= "number" or temperature < 0 or temperature > 2) then
    return bad("temperature must be a number from 0 to 2", "temperature")
  end
  local max_tokens = body.max_completion_tokens
  if max_tokens == nil or max_tokens == json.null then max_tokens = body.max_tokens end
  if max_tokens == json.null then max_tokens = nil end
  if max_tokens ~= nil and (type(max_tokens) ~= "number" or max_tokens < 1 or floor(max_tokens) ~= max_tokens) then
    return bad("max_tokens must be a positive integer", "max_tokens")
  end
  if body.stream ~= nil and body.stream ~= json.null and type(body.stream) ~= "boolean" then
    return bad("stream must be a boolean", "stream")
  end
  local rf = body.response_format
  if rf ~= nil and rf ~= json.null then
    if not is_object(rf) or (rf.type ~= "text" and rf.type ~= "json_object" and rf.type ~= "json_schema") then
      return bad("response_format.type must be text, json_object or json_schema", "response_format")
    end
    if rf.type == "json_schema" and (not is_object(rf.json_schema) or not is_object(rf.json_schema.schema)) then
      return bad("response_format.json_schema.schema must be an object", "response_format")
    end
  end
  local model_options
  for _, k in ipairs(PASS) do
    local v = body[k]
    if v ~= nil and v ~= json.null then
      model_options = model_options or {}
      model_options[k] = v
    end
  end
  if model_options and model_options.response_format and model_options.response_format.type == "text" then
    model_options.response_format = nil
  end
  local so = body.stream_options
  return {
    model = body.model,
    messages = msgs,
    tools = tools,
    temperature = temperature,
    maxTokens = max_tokens and floor(max_tokens) or nil,
    modelOptions = model_options,
    stream = body.stream == true,
    includeUsage = type(so) == "table" and so.include_usage == true,
    responseFormat = rf ~= json.null and rf or nil,
    user = type(body.user) == "string" and body.user or nil,
  }
end

---------------------------------------------------------------------------------------------------
-- Answers
---------------------------------------------------------------------------------------------------

local FINISH = { stop = "stop", length = "length", tool_calls = "tool_calls", content_filter = "content_filter" }

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  local p = u.promptTokens or u.prompt_tokens or u.inputTokens or 0
  local c = u.completionTokens or u.completion_tokens or u.outputTokens or 0
  return { prompt_tokens = p, completion_tokens = c, total_tokens = u.totalTokens or u.total_tokens or (p + c) }
end
_M.usage_of = usage_of

local function none() return 0 end

-- pull() -> event|nil, cancel(), ready() -> the events pull() hands out without a read (0 when unknown)
local function pull_of(stream)
  if type(stream) == "function" then return stream, function() end, none end
  if type(stream) == "table" and type(stream.next) == "function" then
    local ready = none
    if type(stream.pending) == "function" then ready = function() return stream:pending() end end
    return function() return stream:next() end, function()
      local c = stream.cancel or stream.close
      if c then pcall(c, stream) end
    end, ready
  end
  local i, n = 0, #stream
  return function() i = i + 1 return stream[i] end, function() end, function() return i < n and n - i or 0 end
end

local function new_id() return events.id("chatcmpl") end

local encode_string = json.encode_string
-- A text delta's content in the chunk template below: a string no caller's id or model holds twice.
local CONTENT_MARK = "\1tanstack.ai:content\1"

--- The AG-UI stream as an iterator of `data: <chat.completion.chunk>\n\n` strings, ending with `data: [DONE]\n\n`;
--- a RUN_ERROR becomes one `data: {"error": {...}}` event (public message unless exposeErrorDetails) and ends the
--- stream. opts: model (the name the chunks carry; a function is called at the first chunk), id, created,
--- includeUsage (a last chunk with empty choices and the usage), exposeErrorDetails, onError(err) (the detail of
--- a RUN_ERROR, for the log). Returns iterate, cancel, and batches: the same strings, every one ready at the same
--- time concatenated into one (a writer's piece: the events that arrived in one read of the model stream), nil at
--- the end. Use one of iterate and batches per stream.
function _M.to_chunks(stream, opts)
  opts = opts or {}
  local pull, cancel_source, ready = pull_of(stream)
  local id = opts.id or new_id()
  local created = opts.created or floor(events.now_ms() / 1000)
  local model
  local queue, qh, qt = {}, 1, 0
  local done = false
  local tool_index, next_index = {}, 0
  local started = false
  local text_head, text_tail -- a text delta's chunk around its JSON-encoded content (see text_template)
  local function emit(s) qt = qt + 1 queue[qt] = s end
  local function chunk_table(delta, finish, usage)
    if model == nil then
      model = opts.model
      if type(model) == "function" then model = model() end
      model = model or "unknown"
    end
    local c = { id = id, object = "chat.completion.chunk", created = created, model = model,
      choices = delta and { { index = 0, delta = delta, finish_reason = finish or json.null, logprobs = json.null } }
        or json.array({}) }
    if usage then c.usage = usage end
    return c
  end
  local function chunk(delta, finish, usage)
    emit("data: " .. json.encode(chunk_table(delta, finish, usage)) .. "\n\n")
  end
  -- The relay's hot path: a text delta's chunk is the generic encoding of { content = delta }, which differs between
  -- deltas only in the encoded content; cut the generic encoding of a marked chunk around its marker once.
  local function text_template()
    local ok, s = pcall(json.encode, chunk_table({ content = CONTENT_MARK }))
    if not ok then return end
    local mark = encode_string(CONTENT_MARK)
    local a, b = s:find(mark, 1, true)
    if a == nil or s:find(mark, b + 1, true) then return end
    text_head, text_tail = "data: " .. s:sub(1, a - 1), s:sub(b + 1) .. "\n\n"
  end
  local function start()
    if started then return end
    started = true
    chunk({ role = "assistant", content = "" })
    text_template()
  end
  local function finish_stream()
    done = true
    pcall(cancel_source)
  end
  local function handle(ev)
    local t = ev.type
    if t == "TEXT_MESSAGE_CONTENT" then
      if not started then start() end
      local d = ev.delta
      if type(d) == "string" and d ~= "" then
        if text_head then
          qt = qt + 1
          queue[qt] = text_head .. encode_string(d) .. text_tail
        else
          chunk({ content = d })
        end
      end
    elseif t == "RUN_STARTED" then
      start()
    elseif t == "TOOL_CALL_START" then
      start()
      local idx = next_index
      next_index = next_index + 1
      tool_index[ev.toolCallId] = idx
      chunk({ tool_calls = { { index = idx, id = ev.toolCallId, type = "function",
        ["function"] = { name = ev.toolCallName or ev.toolName, arguments = "" } } } })
    elseif t == "TOOL_CALL_ARGS" then
      local idx = tool_index[ev.toolCallId]
      if idx and type(ev.delta) == "string" and ev.delta ~= "" then
        chunk({ tool_calls = { { index = idx, ["function"] = { arguments = ev.delta } } } })
      end
    elseif t == "RUN_FINISHED" then
      start()
      chunk(json.object(), FINISH[ev.finishReason] or "stop")
      if opts.includeUsage then chunk(nil, nil, usage_of(ev.usage) or { prompt_tokens = 0, completion_tokens = 0,
        total_tokens = 0 }) end
      emit("data: [DONE]\n\n")
      finish_stream()
    elseif t == "RUN_ERROR" then
      local err = ev.error or { message = ev.message, code = ev.code }
      if opts.onError then pcall(opts.onError, err) end
      local body = _M.error_body(err, opts)
      emit("data: " .. body .. "\n\n")
      finish_stream()
    end
  end
  local function failed(err)
    handle({ type = "RUN_ERROR", error = errors.new({ kind = "internal", message = tostring(err) }) })
  end
  -- the end of the source
  local function ended()
    -- a source that ends without RUN_FINISHED: close the answer anyway
    if not done then
      start()
      emit("data: [DONE]\n\n")
      finish_stream()
    end
  end
  local function iterate()
    while true do
      if qh <= qt then
        local s = queue[qh]
        queue[qh] = nil
        qh = qh + 1
        return s
      end
      if done then return nil end
      local ok, ev = pcall(pull)
      if not ok then
        failed(ev)
      elseif ev == nil then
        ended()
      elseif type(ev) == "table" then
        handle(ev)
      end
    end
  end

  -- batches: iterate's steps for one event (which may wait on the network), then for every event ready without a
  -- read, with one protected call for all of their pulls. An error raised by handle (not by the source) is raised
  -- after the strings before it went out, as iterate raises it.
  local handling, raised = false, nil
  local function fill()
    local n = 1
    repeat
      for _ = 1, n do
        if done then return end
        local ev = pull()
        if ev == nil then
          handling = true
          ended()
          handling = false
          return
        elseif type(ev) == "table" then
          handling = true
          handle(ev)
          handling = false
        end
      end
      n = ready()
    until n <= 0
  end
  local function batches()
    while qh > qt do
      if raised ~= nil then
        local e = raised
        raised = nil
        error(e, 0)
      end
      if done then return nil end
      handling = false
      local ok, err = pcall(fill)
      if not ok then
        if handling then raised = err else failed(err) end
      end
    end
    local s
    if qt == qh then s = queue[qh] else s = concat(queue, "", qh, qt) end
    for i = qh, qt do queue[i] = nil end
    qh, qt = 1, 0
    return s
  end
  return iterate, function() if not done then finish_stream() end end, batches
end

--- Drain the AG-UI stream into one `chat.completion` table. Returns it, or nil, err (the RUN_ERROR's error).
--- opts: model (string or function, as to_chunks), id, created.
function _M.to_completion(stream, opts)
  opts = opts or {}
  local pull, cancel = pull_of(stream)
  local text, calls, order = {}, {}, {}
  local finish, usage
  while true do
    local ok, ev = pcall(pull)
    if not ok then
      cancel()
      return nil, errors.new({ kind = "internal", message = tostring(ev) })
    end
    if ev == nil then break end
    local t = ev.type
    if t == "TEXT_MESSAGE_CONTENT" then
      text[#text + 1] = ev.delta
    elseif t == "TOOL_CALL_START" then
      local c = { id = ev.toolCallId, type = "function", ["function"] = { name = ev.toolCallName or ev.toolName },
        args = {} }
      calls[ev.toolCallId] = c
      order[#order + 1] = c
    elseif t == "TOOL_CALL_ARGS" then
      local c = calls[ev.toolCallId]
      if c then c.args[#c.args + 1] = ev.delta end
    elseif t == "RUN_FINISHED" then
      finish, usage = ev.finishReason, ev.usage
      break
    elseif t == "RUN_ERROR" then
      cancel()
      return nil, ev.error or errors.new({ message = ev.message, code = ev.code })
    end
  end
  cancel()
  local tool_calls
  if #order > 0 then
    tool_calls = {}
    for i, c in ipairs(order) do
      tool_calls[i] = { id = c.id, type = "function", ["function"] = { name = c["function"].name,
        arguments = concat(c.args) } }
    end
  end
  local model = opts.model
  if type(model) == "function" then model = model() end
  return {
    id = opts.id or new_id(),
    object = "chat.completion",
    created = opts.created or floor(events.now_ms() / 1000),
    model = model or "unknown",
    choices = { { index = 0, message = { role = "assistant",
      content = (#text > 0 or not tool_calls) and concat(text) or json.null,
      tool_calls = tool_calls, refusal = json.null }, finish_reason = FINISH[finish] or "stop", logprobs = json.null } },
    usage = usage_of(usage) or { prompt_tokens = 0, completion_tokens = 0, total_tokens = 0 },
  }
end

return _M
