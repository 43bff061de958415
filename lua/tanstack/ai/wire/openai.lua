-- The OpenAI Chat Completions writer: the AG-UI stream as OpenAI's `chat.completion.chunk` SSE (ending with
-- `data: [DONE]`) or as one `chat.completion`; errors in OpenAI's shape ({error = {message, type, param, code}})
-- with their status. The stream source is the edge's (edge/relay.lua, shared with the AG-UI wire). The request
-- side: wire/openai_request.lua.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local queue = require("tanstack.ai.queue")
local relay = require("tanstack.ai.edge.relay")

local type, ipairs, tostring, pcall, floor, setmetatable = type, ipairs, tostring, pcall, math.floor, setmetatable
local concat = table.concat

local _M = {}

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


local FINISH = { stop = "stop", length = "length", tool_calls = "tool_calls", content_filter = "content_filter" }

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  local p = u.promptTokens or u.prompt_tokens or u.inputTokens or 0
  local c = u.completionTokens or u.completion_tokens or u.outputTokens or 0
  return { prompt_tokens = p, completion_tokens = c, total_tokens = u.totalTokens or u.total_tokens or (p + c) }
end
_M.usage_of = usage_of

local function new_id() return events.id("chatcmpl") end

local encode_string = json.encode_string
-- A text delta's content in the chunk template below: a string no caller's id or model holds twice.
local CONTENT_MARK = "\1tanstack.ai:content\1"

-- A chunk writer: the AG-UI events of one stream -> `data: <chat.completion.chunk>` strings in a queue.
local Chunks = {}
Chunks.__index = Chunks
_M.Chunks = Chunks

function _M.chunks(stream, opts)
  opts = opts or {}
  local pull, cancel_source, ready = relay.source(stream)
  return setmetatable({
    pull = pull, cancel_source = cancel_source, ready = ready, opts = opts,
    id = opts.id or new_id(),
    created = opts.created or floor(events.now_ms() / 1000),
    model = nil,          -- the name the chunks carry (opts.model, resolved at the first chunk)
    out = queue.new(),    -- the strings not handed out yet
    done = false, started = false,
    tool_index = {}, next_index = 0, -- a tool call's index in the chunks, by its id
    text_head = nil, text_tail = nil, -- a text delta's chunk around its JSON-encoded content (text_template)
    handling = false, raised = nil,   -- batches: an error raised by handle (not by the source) is raised later
  }, Chunks)
end

function Chunks:chunk_table(delta, finish, usage)
  if self.model == nil then
    local model = self.opts.model
    if type(model) == "function" then model = model() end
    self.model = model or "unknown"
  end
  local c = { id = self.id, object = "chat.completion.chunk", created = self.created, model = self.model,
    choices = delta and { { index = 0, delta = delta, finish_reason = finish or json.null, logprobs = json.null } }
      or json.array({}) }
  if usage then c.usage = usage end
  return c
end

function Chunks:chunk(delta, finish, usage)
  self.out:push("data: " .. json.encode(self:chunk_table(delta, finish, usage)) .. "\n\n")
end

-- The relay's hot path: a text delta's chunk is the generic encoding of { content = delta }, which differs between
-- deltas only in the encoded content; cut the generic encoding of a marked chunk around its marker once.
function Chunks:text_template()
  local ok, s = pcall(json.encode, self:chunk_table({ content = CONTENT_MARK }))
  if not ok then return end
  local mark = encode_string(CONTENT_MARK)
  local a, b = s:find(mark, 1, true)
  if a == nil or s:find(mark, b + 1, true) then return end
  self.text_head, self.text_tail = "data: " .. s:sub(1, a - 1), s:sub(b + 1) .. "\n\n"
end

function Chunks:start()
  if self.started then return end
  self.started = true
  self:chunk({ role = "assistant", content = "" })
  self:text_template()
end

function Chunks:finish_stream()
  self.done = true
  pcall(self.cancel_source)
end

function Chunks:text(d)
  if not self.started then self:start() end
  if type(d) == "string" and d ~= "" then
    local head = self.text_head
    if head then
      self.out:push(head .. encode_string(d) .. self.text_tail)
    else
      self:chunk({ content = d })
    end
  end
end

function Chunks:tool_start(ev)
  self:start()
  local idx = self.next_index
  self.next_index = idx + 1
  self.tool_index[ev.toolCallId] = idx
  self:chunk({ tool_calls = { { index = idx, id = ev.toolCallId, type = "function",
    ["function"] = { name = ev.toolCallName or ev.toolName, arguments = "" } } } })
end

function Chunks:tool_args(ev)
  local idx = self.tool_index[ev.toolCallId]
  if idx and type(ev.delta) == "string" and ev.delta ~= "" then
    self:chunk({ tool_calls = { { index = idx, ["function"] = { arguments = ev.delta } } } })
  end
end

function Chunks:finished(ev)
  self:start()
  self:chunk(json.object(), FINISH[ev.finishReason] or "stop")
  if self.opts.includeUsage then
    self:chunk(nil, nil, usage_of(ev.usage) or { prompt_tokens = 0, completion_tokens = 0, total_tokens = 0 })
  end
  self.out:push("data: [DONE]\n\n")
  self:finish_stream()
end

function Chunks:errored(ev)
  local err = ev.error or { message = ev.message, code = ev.code }
  if self.opts.onError then pcall(self.opts.onError, err) end
  local body = _M.error_body(err, self.opts)
  self.out:push("data: " .. body .. "\n\n")
  self:finish_stream()
end

--- One AG-UI event -> its chunks (none for the events OpenAI has no form for).
function Chunks:handle(ev)
  local t = ev.type
  if t == "TEXT_MESSAGE_CONTENT" then
    -- the hot path (one event per token): the template, one push
    local d, head = ev.delta, self.text_head
    if head and type(d) == "string" and d ~= "" then
      self.out:push(head .. encode_string(d) .. self.text_tail)
    else
      self:text(d)
    end
  elseif t == "RUN_STARTED" then
    self:start()
  elseif t == "TOOL_CALL_START" then
    self:tool_start(ev)
  elseif t == "TOOL_CALL_ARGS" then
    self:tool_args(ev)
  elseif t == "RUN_FINISHED" then
    self:finished(ev)
  elseif t == "RUN_ERROR" then
    self:errored(ev)
  end
end

-- The source raised: the stream ends with an error chunk.
function Chunks:failed(err)
  self:handle({ type = "RUN_ERROR", error = errors.new({ kind = "internal", message = tostring(err) }) })
end

-- The end of the source: a source that ends without RUN_FINISHED closes the answer anyway.
function Chunks:ended()
  if not self.done then
    self:start()
    self.out:push("data: [DONE]\n\n")
    self:finish_stream()
  end
end

--- The next string, or nil at the end.
function Chunks:iterate()
  local out = self.out
  while true do
    local s = out:shift()
    if s ~= nil then return s end
    if self.done then return nil end
    local ok, ev = pcall(self.pull)
    if not ok then
      self:failed(ev)
    elseif ev == nil then
      self:ended()
    elseif type(ev) == "table" then
      self:handle(ev)
    end
  end
end

-- iterate's steps for one event (which may wait on the network), then for every event ready without a read
-- (run inside one protected call by batches).
function Chunks:fill()
  local pull = self.pull
  local n = 1
  repeat
    for _ = 1, n do
      if self.done then return end
      local ev = pull()
      if ev == nil then
        self.handling = true
        self:ended()
        self.handling = false
        return
      elseif type(ev) == "table" then
        self.handling = true
        self:handle(ev)
        self.handling = false
      end
    end
    n = self.ready()
  until n <= 0
end

--- The next piece: the strings of every event ready at once, concatenated; nil at the end. An error raised by
--- handle (not by the source) is raised after the strings before it went out, as iterate raises it.
function Chunks:batches()
  local out = self.out
  while out:empty() do
    if self.raised ~= nil then
      local e = self.raised
      self.raised = nil
      error(e, 0)
    end
    if self.done then return nil end
    self.handling = false
    local ok, err = pcall(self.fill, self)
    if not ok then
      if self.handling then self.raised = err else self:failed(err) end
    end
  end
  return out:join()
end

function Chunks:cancel()
  if not self.done then self:finish_stream() end
end

--- The AG-UI stream as an iterator of `data: <chat.completion.chunk>\n\n` strings, ending with `data: [DONE]\n\n`;
--- a RUN_ERROR becomes one `data: {"error": {...}}` event (public message unless exposeErrorDetails) and ends the
--- stream. opts: model (the name the chunks carry; a function is called at the first chunk), id, created,
--- includeUsage (a last chunk with empty choices and the usage), exposeErrorDetails, onError(err) (the detail of
--- a RUN_ERROR, for the log). Returns iterate, cancel, and batches: the same strings, every one ready at the same
--- time concatenated into one (a writer's piece: the events that arrived in one read of the model stream), nil at
--- the end. Use one of iterate and batches per stream.
function _M.to_chunks(stream, opts)
  local c = _M.chunks(stream, opts)
  return function() return c:iterate() end, function() c:cancel() end, function() return c:batches() end
end

--- The streamed answer as a response over the edge's relay (as ai.to_server_sent_events_response for AG-UI):
--- inside an nginx content phase it is written to the client (true, or nil, err); elsewhere the table
--- { status, headers, body = iterator, cancel } is returned. opts: to_chunks' options, plus status, headers and
--- ngx = false (always return the table).
function _M.to_sse_response(stream, opts)
  opts = opts or {}
  local iterate, cancel, batches = _M.to_chunks(stream, opts)
  return relay.respond({ status = opts.status or 200, headers = relay.headers(relay.SSE_HEADERS, opts.headers),
    body = iterate, cancel = cancel }, batches, opts.ngx)
end

-- The events of a completion, gathered: text, tool calls in order, the finish reason and usage.
local function gather(pull, cancel)
  local g = { text = {}, calls = {}, order = {} }
  while true do
    local ok, ev = pcall(pull)
    if not ok then
      cancel()
      return nil, errors.new({ kind = "internal", message = tostring(ev) })
    end
    if ev == nil then break end
    local t = ev.type
    if t == "TEXT_MESSAGE_CONTENT" then
      g.text[#g.text + 1] = ev.delta
    elseif t == "TOOL_CALL_START" then
      local c = { id = ev.toolCallId, name = ev.toolCallName or ev.toolName, args = {} }
      g.calls[ev.toolCallId] = c
      g.order[#g.order + 1] = c
    elseif t == "TOOL_CALL_ARGS" then
      local c = g.calls[ev.toolCallId]
      if c then c.args[#c.args + 1] = ev.delta end
    elseif t == "RUN_FINISHED" then
      g.finish, g.usage = ev.finishReason, ev.usage
      break
    elseif t == "RUN_ERROR" then
      cancel()
      return nil, ev.error or errors.new({ message = ev.message, code = ev.code })
    end
  end
  cancel()
  return g
end

--- Drain the AG-UI stream into one `chat.completion` table. Returns it, or nil, err (the RUN_ERROR's error).
--- opts: model (string or function, as to_chunks), id, created.
function _M.to_completion(stream, opts)
  opts = opts or {}
  local g, err = gather(relay.source(stream))
  if not g then return nil, err end
  local tool_calls
  if #g.order > 0 then
    tool_calls = {}
    for i, c in ipairs(g.order) do
      tool_calls[i] = { id = c.id, type = "function", ["function"] = { name = c.name, arguments = concat(c.args) } }
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
      content = (#g.text > 0 or not tool_calls) and concat(g.text) or json.null,
      tool_calls = tool_calls, refusal = json.null }, finish_reason = FINISH[g.finish] or "stop",
      logprobs = json.null } },
    usage = usage_of(g.usage) or { prompt_tokens = 0, completion_tokens = 0, total_tokens = 0 },
  }
end

return _M
