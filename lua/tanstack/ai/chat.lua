-- ai.chat: model turns, the agent loop, and the result forms (stream, text, structured).
-- TanStack semantics: tools run only after a turn ends with finishReason "tool_calls"; by default at most
-- 5 model turns. What happens between turns (server tools, interrupts, resuming a paused run) is the tool
-- phase (tool_phase.lua).
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local messages_mod = require("tanstack.ai.messages")
local tools_mod = require("tanstack.ai.tools")
local stream_mod = require("tanstack.ai.stream")
local tool_phase = require("tanstack.ai.tool_phase")
local signing = require("tanstack.ai.signing")
local options = require("tanstack.ai.options")
local deltas = require("tanstack.ai.deltas")
local queue = require("tanstack.ai.queue")

local type, pairs, ipairs, tostring, pcall, setmetatable = type, pairs, ipairs, tostring, pcall, setmetatable

local _M = {}

local DEFAULT_MAX_ITERATIONS = 5

-- A turn that could not start: RUN_STARTED and one RUN_ERROR carrying the reason (deltas.lua builds both).
local function failed_turn(model, run_id, thread_id, reason)
  local list = {}
  local out = deltas.new({ model = model, runId = run_id, threadId = thread_id,
    emit = function(e) list[#list + 1] = e end })
  out:fail(errors.new({ message = type(reason) == "table" and reason.message or tostring(reason),
    kind = "invalid_request", code = "invalid_request", retryable = false }))
  return queue.of(list)
end

---@class tanstack.ai.ChatEngine
---@field opts table          the checked options (options.lua)
---@field history table       the run's ModelMessages (appended to by the run)
---@field run table           flags shared with the tool phase: started, done, interrupted
---@field q table             events queued ahead of the running turn's (tanstack.ai.queue)
---@field current table       the producer of the running turn, or nil
---@field turn_state table    what the running turn said (text, calls, finish, ...) for the tool phase
local Engine = {}
Engine.__index = Engine

-- The tool call ids the history already holds: a call of this run never takes one (AG-UI ids are unique in a
-- thread; Kimi-style models number their calls "functions.<name>:0" again in every turn).
local function history_ids(history)
  local used = {}
  for _, m in ipairs(history) do
    if type(m.toolCalls) == "table" then
      for _, tc in ipairs(m.toolCalls) do if type(tc.id) == "string" then used[tc.id] = true end end
    end
    if type(m.toolCallId) == "string" then used[m.toolCallId] = true end
  end
  return used
end

local function new_engine(opts, history)
  local tool_list = opts.tools or {}
  local q = queue.new()
  local self = setmetatable({
    opts = opts, history = history, adapter = opts.adapter, tool_list = tool_list,
    has_tools = #tool_list > 0, max_iterations = opts.maxIterations or DEFAULT_MAX_ITERATIONS,
    strategy = opts.agentLoopStrategy, run_id = opts.runId or events.id("run"),
    thread_id = opts.threadId or events.id("thread"), used_ids = history_ids(history), q = q, push = q:pusher(),
    iteration = 0, current = nil, started = false, turn_state = nil, held_calls = {},
    run = { started = false, done = false, interrupted = nil },
  }, Engine)
  -- With tools, every tool call the model makes leaves with a signed id (signing.lua), so that a call coming back
  -- in a posted history runs only if this server issued it; the caller's thread id is part of the MAC.
  -- trustHistory: the caller vouches for the whole history (a script's own, never a browser's): TanStack's trust
  -- model, ids as the model gave them, nothing verified.
  -- conversationId: a value the server handed out (a session), covered by the MAC too. The once-only ledger
  -- (signing.lua) keeps every signed call to one execution and binds approvals to the run that asked for them.
  local signer = self.has_tools and opts.trustHistory ~= true and signing.new(opts.signingSecret) or nil
  local sign_thread, conversation = opts.threadId or "", opts.conversationId
  self.signer, self.sign_thread, self.conversation = signer, sign_thread, conversation
  self.phase = tool_phase.new({ opts = opts, history = history, by_name = tools_mod.index(tool_list),
    has_tools = self.has_tools, run_id = self.run_id, thread_id = self.thread_id, model = self.adapter.model,
    push = self.push, run = self.run,
    ledger = signer and signing.ledger({ store = opts.ledger, approvalTtl = opts.approvalTtl }) or nil,
    verify = signer and function(tc, input)
      return signer:verify(sign_thread, tc.id, tc["function"].name, input, conversation)
    end or nil })
  return self
end

function Engine:start_turn()
  local opts, adapter = self.opts, self.adapter
  self.iteration = self.iteration + 1
  self.held_calls = {} -- a call a failed turn never finished is not released
  self.turn_state = { text = {}, reasoning = {}, calls = {}, order = {}, finish = nil, errored = false,
    message_id = nil }
  local ok, p = pcall(adapter.chat_stream, adapter, {
    messages = self.history, systemPrompts = opts.systemPrompts, tools = self.tool_list,
    modelOptions = opts.modelOptions, temperature = opts.temperature, maxTokens = opts.maxTokens,
    runId = self.run_id, threadId = self.thread_id, used_ids = self.used_ids,
  })
  -- a request the adapter cannot build (content its provider does not take, ...) ends the run as RUN_ERROR:
  -- a stream never raises while it is iterated
  self.current = ok and p or failed_turn(adapter.model, self.run_id, self.thread_id, p)
end

-- What the tool phase needs to know of the running turn.
function Engine:observe(ev)
  local t = ev.type
  local s = self.turn_state
  if t == "TEXT_MESSAGE_CONTENT" then
    -- the turn's text is only needed to replay it before tool results
    if self.has_tools then s.text[#s.text + 1] = ev.delta end
    s.message_id = ev.messageId
  elseif t == "TOOL_CALL_START" then
    local c = { id = ev.toolCallId, name = ev.toolCallName, args = {}, metadata = ev.metadata }
    s.calls[c.id] = c
    s.order[#s.order + 1] = c
  elseif t == "TOOL_CALL_ARGS" then
    local c = s.calls[ev.toolCallId]
    if c then c.args[#c.args + 1] = ev.delta end
  elseif t == "TOOL_CALL_END" then
    local c = s.calls[ev.toolCallId]
    if c then c.input = ev.input; c.ended = true end
  elseif t == "STEP_FINISHED" and self.has_tools then
    -- reasoning to replay with the tool results (providers that sign it reject a turn without it)
    if ev.delta then s.reasoning[#s.reasoning + 1] = ev.delta end
    if ev.signature then s.signature = ev.signature end
  elseif t == "RUN_FINISHED" then
    s.finish = ev.finishReason
  elseif t == "RUN_ERROR" then
    s.errored = true
  end
end

-- A tool call's events are held until its arguments are complete, then released under the signed id.
function Engine:release_call(ev)
  local t, held_calls, push = ev.type, self.held_calls, self.push
  if t == "TOOL_CALL_START" then
    held_calls[ev.toolCallId] = { start = ev, args = {} }
    return
  end
  local h = held_calls[ev.toolCallId]
  if not h then return push(ev) end
  if t == "TOOL_CALL_ARGS" then
    h.args[#h.args + 1] = ev
    return
  end
  held_calls[ev.toolCallId] = nil -- TOOL_CALL_END
  local input = type(ev.input) == "table" and ev.input or json.object()
  local id = self.signer:sign(self.sign_thread, h.start.toolCallName, input, self.conversation)
  h.start.toolCallId = id
  self:observe(h.start)
  push(h.start)
  for _, a in ipairs(h.args) do
    a.toolCallId = id
    self:observe(a)
    push(a)
  end
  ev.toolCallId = id
  self:observe(ev)
  push(ev)
end

-- After a turn: the tool phase, then whether another turn follows.
function Engine:after_turn()
  local s, run = self.turn_state, self.run
  self.current = nil
  local more, ncalls = self.phase:turn_end(s)
  if not more then
    run.done = true
    return
  end
  local continue = self.iteration < self.max_iterations
  if continue and self.strategy then
    continue = self.strategy({ iterationCount = self.iteration, messages = self.history, finishReason = s.finish,
      toolCallCount = ncalls }) and true or false
  end
  if not continue then run.done = true end
end

-- One event of the running turn through the run's bookkeeping: the event when it goes out now, or nil when it is
-- held (a tool call until its arguments are complete: release_call queues it; a tool_calls RUN_FINISHED: the tool
-- phase decides).
function Engine:process(ev)
  local t = ev.type
  if t == "TEXT_MESSAGE_CONTENT" then
    -- text deltas need no bookkeeping unless a tool phase may replay the turn's text
    if self.has_tools then self:observe(ev) end
    return ev
  end
  local tool_event = t == "TOOL_CALL_START" or t == "TOOL_CALL_ARGS" or t == "TOOL_CALL_END"
  if self.signer and tool_event then
    self:release_call(ev)
    return nil
  end
  self:observe(ev)
  if tool_event then return ev end
  if t == "RUN_FINISHED" and self.has_tools and ev.finishReason == "tool_calls" and #self.turn_state.order > 0 then
    self.turn_state.held = ev
    return nil
  end
  if t == "RUN_STARTED" then
    -- one run, one RUN_STARTED: a later turn's is dropped, as TanStack's chat() does (hasPublicRunStarted in
    -- @tanstack/ai 0.58 activities/chat); each turn's RUN_FINISHED goes out (spec/tanstack/ai/run_events_spec.lua)
    if self.run.started then return nil end
    self.run.started = true
  end
  return ev
end

--- The run's next() (the hot path: once per event): the event straight from the running turn when nothing is
--- queued ahead of it, a text delta without bookkeeping when no tool phase may replay it. A closure over the
--- engine's queue and flags, not a method: no field lookup per event for what never changes during a run.
local function bind_next(self)
  local q, run, has_tools = self.q, self.run, self.has_tools
  return function()
    if not self.started then
      self.started = true
      self.phase:run_start()
    end
    while q.head > q.tail and not run.done do
      local current = self.current
      if not current then
        self:start_turn()
        current = self.current
      end
      local ev = current.next()
      if ev == nil then
        self:after_turn()
      elseif not has_tools and ev.type == "TEXT_MESSAGE_CONTENT" then
        return ev
      else
        ev = self:process(ev)
        if ev then return ev end -- the common case: straight from the turn, not through the queue
      end
    end
    return q:shift()
  end
end

--- Events next() hands out without a read: the queue, after the running turn's ready events went through the
--- bookkeeping into it (in order: what is queued always precedes the turn's unread events). The end of a turn is
--- not counted (the tool phase and the next turn may wait on the network).
function Engine:pending()
  local c = self.current
  if c ~= nil and not self.run.done and c.pending ~= nil then
    local ready, push = c.pending, self.push
    local n = ready()
    while n > 0 do
      for _ = 1, n do
        local ev = c.next()
        if ev == nil then return self.q:size() end
        ev = self:process(ev)
        if ev then push(ev) end
      end
      n = ready()
    end
  end
  return self.q:size()
end

function Engine:close()
  self.run.done = true
  if self.current then self.current.close() self.current = nil end
end

--- The engine's producer: { next, close, pending, history, run }. opts: the checked options (options.lua);
--- history: its messages as ModelMessages (appended to by the run).
local function engine(opts, history)
  local self = new_engine(opts, history)
  return {
    history = history, run = self.run, engine = self,
    next = bind_next(self),
    pending = function() return self:pending() end,
    close = function() return self:close() end,
  }
end

-- Options beyond their types: messages normalized now (a malformed one raises at the caller's line, not at the
-- first iteration), resume entries shaped.
local function check(opts)
  local resume = opts.resume
  if resume ~= nil then
    for i, r in ipairs(resume) do
      if type(r) ~= "table" or type(r.interruptId) ~= "string" then
        options.raise("chat: options.resume[" .. i .. "].interruptId must be a string")
      end
    end
  end
  local ok, history = pcall(messages_mod.normalize, opts.messages)
  if not ok then options.raise("chat: " .. tostring(history)) end
  return history
end

--- ai.chat(opts)
function _M.chat(opts)
  opts = options.check("chat", opts)
  local history = check(opts)
  local schema = opts.outputSchema
  if schema ~= nil then
    if opts.stream == true then options.raise("chat: streaming structured output is not supported; omit stream") end
    -- with server tools, run the loop first, then ask for the structured answer over the whole history
    local has_server_tool = false
    for _, t in ipairs(opts.tools or {}) do if type(t.execute) == "function" then has_server_tool = true end end
    if has_server_tool then
      local o = {}
      for k, v in pairs(opts) do o[k] = v end
      o.outputSchema = nil
      local p = engine(o, history)
      local err
      for ev in p.next do
        if ev.type == "RUN_ERROR" then err = errors.wrap(ev.error or { message = ev.message, code = ev.code }) end
      end
      if err then return nil, err end
      if p.run.interrupted then
        return nil, errors.new({ kind = "interrupt", code = "interrupt", retryable = false,
          message = "chat: the run paused on an interrupt (a client tool or an approval); structured output "
            .. "needs every tool call answered" })
      end
      history = p.history
    end
    local data, err = opts.adapter:structured_output({ messages = history, systemPrompts = opts.systemPrompts,
      modelOptions = opts.modelOptions, temperature = opts.temperature, maxTokens = opts.maxTokens }, schema)
    if data == nil then return nil, err end
    return data
  end
  local s = stream_mod.new(engine(opts, history))
  if opts.stream == false then return s:text() end
  return s
end

return _M
