-- Canonical deltas -> AG-UI events: the one place where a model turn becomes TanStack's event sequence.
--
-- Every wire format (tanstack/ai/formats/*) decodes its own events straight into calls on this object
-- (one hop), so ids, tool-call ordering, reasoning steps, finish reasons and RUN_FINISHED behave the same
-- for every provider:
--   out:start()                         RUN_STARTED (once; the turn runner calls it when the answer arrives)
--   out:text(s)                         assistant text
--   out:reasoning(s)                    reasoning ("thinking") text
--   out:reasoning_signature(sig)        the provider's signature over the reasoning so far (Anthropic)
--   out:tool_call(key, id, name, args, metadata)
--                                       a fragment of a tool call; `key` identifies the call within the turn
--                                       (an index; nil: the backend id, unless the fragment names a tool
--                                       again: a second call with that id; else a new call); args: text or table
--   out:usage(u)                        TanStack TokenUsage (promptTokens, completionTokens, totalTokens, ...)
--   out:finish_reason(r)                one of TanStack's reasons; closes the open text and tool calls
--   out:fail(err) / out:fail_payload(v) one RUN_ERROR (an error value / an error report from the upstream)
--   out:warn(message)                   a warning carried by the final event (`warnings`)
--   out:finish()                        end of the answer: close what is open, then RUN_FINISHED
-- `out.finished` is true after finish or fail; nothing is emitted after it.
local json = require("tanstack.ai.json")
local events = require("tanstack.ai.events")
local errors = require("tanstack.ai.errors")

local type, ipairs, pairs, tostring, tonumber, setmetatable = type, ipairs, pairs, tostring, tonumber, setmetatable
local concat = table.concat
local null = json.null
local now_ms = events.now_ms

local _M = {}

local Out = {}
Out.__index = Out

--- ctx: model, runId, threadId, emit (function(event)), used_ids (tool call ids already used in this run),
--- provider (for errors), classify (the provider's error classifier, see errors.lua).
function _M.new(ctx)
  return setmetatable({
    model = ctx.model, runId = ctx.runId, threadId = ctx.threadId, emit = ctx.emit,
    provider = ctx.provider, classify = ctx.classify,
    used_ids = ctx.used_ids or {},
    ts = nil,            -- the time of the read the current events came from (set by the turn runner)
    started = false, finished = false,
    message_id = nil, text_open = false,
    step_id = nil, last_step_id = nil,
    calls = {}, call_order = {}, unindexed = 0, ended_calls = 0,
    reason = nil, usage_value = nil,
  }, Out)
end

-- Every event but the hot text path goes through here; nothing is emitted once the turn has ended.
local function ev(self, etype, fields)
  if self.finished then return end
  fields.type = etype
  fields.timestamp = self.ts or now_ms()
  fields.model = self.model
  self.emit(fields)
end

function Out:start()
  if self.started then return end
  self.started = true
  ev(self, "RUN_STARTED", { runId = self.runId, threadId = self.threadId })
end

local function close_reasoning(self)
  if self.step_id then
    self.last_step_id = self.step_id
    self.step_id = nil
  end
end

function Out:text(delta)
  if self.text_open and not self.step_id and type(delta) == "string" and not self.finished then
    -- the hot path (one event per token): a single table constructor
    if delta ~= "" then
      self.emit({ type = "TEXT_MESSAGE_CONTENT", timestamp = self.ts or now_ms(), model = self.model,
        messageId = self.message_id, delta = delta })
    end
    return
  end
  if delta == nil or delta == "" or delta == null then return end
  if type(delta) ~= "string" then delta = json.encode(delta) end -- JSON-mode quirk: an object
  close_reasoning(self)
  if not self.text_open then
    self.text_open = true
    self.message_id = self.message_id or events.id("msg")
    ev(self, "TEXT_MESSAGE_START", { messageId = self.message_id, role = "assistant" })
  end
  ev(self, "TEXT_MESSAGE_CONTENT", { messageId = self.message_id, delta = delta })
end

function Out:reasoning(delta)
  if type(delta) ~= "string" or delta == "" then return end
  if not self.step_id then
    self.step_id = events.id("step")
    ev(self, "STEP_STARTED", { stepName = "thinking", stepId = self.step_id, stepType = "thinking" })
  end
  ev(self, "STEP_FINISHED", { stepName = "thinking", stepId = self.step_id, stepType = "thinking", delta = delta })
end

--- A STEP_FINISHED carrying the signature and no delta (it must travel back with the reasoning next turn).
function Out:reasoning_signature(sig)
  if type(sig) ~= "string" or sig == "" then return end
  local id = self.step_id or self.last_step_id or events.id("step")
  ev(self, "STEP_FINISHED", { stepName = "thinking", stepId = id, stepType = "thinking", signature = sig })
end

-- A tool call id unique in the run: the backend's when it is new, else a fresh one.
local function unique_id(self, backend_id)
  local id = backend_id
  local used = self.used_ids
  if type(id) ~= "string" or id == "" or used[id] then
    repeat id = "call_" .. events.random_hex(12) until not used[id]
  end
  used[id] = true
  return id
end

-- Start a call once its name is known, then forward every argument byte not yet forwarded.
local function flush_call(self, call)
  if not call.started then
    if call.name == "" then return end
    call.started = true
    call.id = unique_id(self, call.backend_id)
    ev(self, "TOOL_CALL_START", { toolCallId = call.id, toolCallName = call.name, toolName = call.name,
      index = call.index, parentMessageId = self.message_id, metadata = call.metadata })
  end
  local args = call.args
  local n = #args
  if n > call.sent then
    local delta = n == 1 and args[1] or concat(args, "", call.sent + 1, n)
    call.sent = n
    if delta ~= "" then ev(self, "TOOL_CALL_ARGS", { toolCallId = call.id, delta = delta }) end
  end
end

-- The key of an unindexed fragment: the same backend id continues its call, unless the fragment names a tool
-- again (the call has its name): then it is a second call with that id (Kimi numbers its calls
-- "functions.<name>:0" per turn, so two calls of one turn may share an id). Anything else is a new call.
-- Returns the key, and the "id:" alias to point at a new call.
local function unindexed_key(self, id, name)
  local alias = type(id) == "string" and ("id:" .. id) or nil
  local cur = alias and self.calls[alias]
  if cur and (type(name) ~= "string" or name == "" or cur.name == "") then return alias end
  self.unindexed = self.unindexed + 1
  return "n:" .. self.unindexed, alias
end

function Out:tool_call(key, id, name, args, metadata)
  key = tonumber(key)
  local alias
  if key == nil then key, alias = unindexed_key(self, id, name) end
  local call = self.calls[key]
  if not call then
    -- finalization fragments (everything null/empty) open nothing
    if (name == nil or name == null or name == "") and (args == nil or args == null or args == "")
      and (id == nil or id == null) then
      return
    end
    call = { index = #self.call_order, name = "", args = {}, sent = 0, started = false }
    if type(id) == "string" then call.backend_id = id end
    self.calls[key] = call
    if alias then self.calls[alias] = call end -- later fragments with this id continue the newest call
    self.call_order[#self.call_order + 1] = call
  end
  if type(name) == "string" and name ~= "" and call.name == "" then call.name = name end
  if type(metadata) == "table" then call.metadata = metadata end -- e.g. Gemini thoughtSignature
  if args ~= nil and args ~= null then
    if type(args) ~= "string" then args = json.encode(args) end
    if args ~= "" then call.args[#call.args + 1] = args end
  end
  flush_call(self, call)
end

--- A warning about the answer (an event skipped, ...): carried by the final event (RUN_FINISHED / RUN_ERROR).
function Out:warn(message)
  local w = self.warnings
  if not w then
    w = {}
    self.warnings = w
  end
  w[#w + 1] = message
end

function Out:usage(u)
  if u ~= nil then self.usage_value = u end
end

-- Close tool calls and the text message (at a finish reason, or at the end of an answer without one).
local function close_open(self)
  for _, call in ipairs(self.call_order) do
    if not call.ended then
      flush_call(self, call)
      if call.started then
        call.ended = true
        local raw = concat(call.args)
        local input = json.object()
        if raw:match("%S") then
          local v = json.decode(raw)
          if type(v) == "table" then input = v end
        end
        self.ended_calls = self.ended_calls + 1
        ev(self, "TOOL_CALL_END", { toolCallId = call.id, toolName = call.name, input = input })
      end
    end
  end
  close_reasoning(self)
  if self.text_open then
    self.text_open = false
    ev(self, "TEXT_MESSAGE_END", { messageId = self.message_id })
  end
end

function Out:finish_reason(reason)
  if reason == nil then return end
  self.reason = reason
  close_open(self)
end

--- End of the answer: close what is open, then RUN_FINISHED (usage may arrive after the finish reason).
function Out:finish()
  if self.finished then return end
  self:start()
  close_open(self)
  local fr = self.reason
  if self.ended_calls > 0 then
    fr = "tool_calls"
  elseif fr == "tool_calls" or fr == nil then
    fr = "stop"
  end
  ev(self, "RUN_FINISHED", { runId = self.runId, threadId = self.threadId, finishReason = fr,
    usage = self.usage_value, warnings = self.warnings })
  self.finished = true
end

--- A failure: RUN_STARTED if none yet, then one RUN_ERROR. Nothing after it.
function Out:fail(err)
  if self.finished then return end
  self:start()
  local message = type(err) == "table" and err.message or tostring(err)
  local code = type(err) == "table" and err.code or nil
  if code == nil and type(err) == "table" then code = err.status or err.kind end
  code = json.int(code)
  ev(self, "RUN_ERROR", { runId = self.runId, threadId = self.threadId, message = message,
    code = code ~= nil and tostring(code) or nil, error = err, warnings = self.warnings })
  self.finished = true
end

---------------------------------------------------------------------------------------------------
-- The run's own events, outside a model turn (the tool phase before the first turn or after the last)
---------------------------------------------------------------------------------------------------

local Run = {}
Run.__index = Run

--- ctx: runId, threadId, emit, run (the run's shared flags: `started` is set once RUN_STARTED went out).
function _M.run(ctx)
  return setmetatable({ runId = ctx.runId, threadId = ctx.threadId, emit = ctx.emit, flags = ctx.run or {} }, Run)
end

--- RUN_STARTED unless the run has started (a turn's RUN_STARTED counts).
function Run:start()
  local flags = self.flags
  if flags.started then return end
  flags.started = true
  self.emit(events.new("RUN_STARTED", nil, { runId = self.runId, threadId = self.threadId }))
end

--- One RUN_ERROR (message, code; extra: fields of TanStack's beside them). No RUN_STARTED: a resume refused
--- before the run starts ends with the error alone.
function Run:error(message, code, extra)
  local e = events.new("RUN_ERROR", nil, { runId = self.runId, threadId = self.threadId, message = message,
    code = code, error = { message = message, code = code } })
  if extra then for k, v in pairs(extra) do e[k] = v end end
  self.emit(e)
end

--- An error report that arrived inside the answer (a stream event or a 200 body).
function Out:fail_payload(v)
  return self:fail(errors.from_payload(v, self.provider, self.classify))
end

return _M
