-- ai.chat: model turns, the agent loop, and the result forms (stream, text, structured).
-- TanStack semantics: tools run only after a turn ends with finishReason "tool_calls"; by default at most
-- 5 model turns. What happens between turns (server tools, interrupts, resuming a paused run) is the tool
-- phase (tool_phase.lua).
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local messages_mod = require("tanstack.ai.messages")
local tools_mod = require("tanstack.ai.tools")
local stream_mod = require("tanstack.ai.stream")
local tool_phase = require("tanstack.ai.tool_phase")

local type, pairs, ipairs, error = type, pairs, ipairs, error

local _M = {}

local DEFAULT_MAX_ITERATIONS = 5

--- The engine's producer: { next, close }.
local function engine(opts)
  local adapter = opts.adapter
  local history = messages_mod.normalize(opts.messages)
  local tool_list = opts.tools or {}
  local by_name = tools_mod.index(tool_list)
  local has_tools = #tool_list > 0
  local max_iterations = opts.maxIterations or opts.max_iterations or DEFAULT_MAX_ITERATIONS
  local strategy = opts.agentLoopStrategy or opts.agent_loop_strategy
  local run_id = opts.runId or opts.run_id or events.id("run")
  local thread_id = opts.threadId or opts.thread_id or events.id("thread")
  local used_ids = {}
  local head, tail, queue = 1, 0, {}
  local function push(ev)
    tail = tail + 1
    queue[tail] = ev
  end

  local iteration = 0
  local current -- the producer of the running turn
  local started = false
  local run = { started = false, done = false, interrupted = nil } -- shared with the tool phase
  local turn_state
  local producer = { history = history, run = run }
  local phase = tool_phase.new({ opts = opts, history = history, by_name = by_name, has_tools = has_tools,
    run_id = run_id, thread_id = thread_id, model = adapter.model, push = push, run = run })

  local function start_turn()
    iteration = iteration + 1
    turn_state = { text = {}, reasoning = {}, calls = {}, order = {}, finish = nil, errored = false,
      message_id = nil }
    current = adapter:chat_stream({
      messages = history, systemPrompts = opts.systemPrompts, tools = tool_list,
      modelOptions = opts.modelOptions, temperature = opts.temperature, maxTokens = opts.maxTokens,
      runId = run_id, threadId = thread_id, used_ids = used_ids,
    })
  end

  local function observe(ev)
    local t = ev.type
    local s = turn_state
    if t == "TEXT_MESSAGE_CONTENT" then
      -- the turn's text is only needed to replay it before tool results
      if has_tools then s.text[#s.text + 1] = ev.delta end
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
    elseif t == "STEP_FINISHED" and has_tools then
      -- reasoning to replay with the tool results (providers that sign it reject a turn without it)
      if ev.delta then s.reasoning[#s.reasoning + 1] = ev.delta end
      if ev.signature then s.signature = ev.signature end
    elseif t == "RUN_FINISHED" then
      s.finish = ev.finishReason
    elseif t == "RUN_ERROR" then
      s.errored = true
    end
  end

  -- After a turn: the tool phase, then whether another turn follows.
  local function after_turn()
    local s = turn_state
    current = nil
    local more, ncalls = phase.after_turn(s)
    if not more then
      run.done = true
      return
    end
    local continue = iteration < max_iterations
    if continue and strategy then
      continue = strategy({ iterationCount = iteration, messages = history, finishReason = s.finish,
        toolCallCount = ncalls }) and true or false
    end
    if not continue then run.done = true end
  end

  function producer.next()
    if not started then
      started = true
      phase.start_run()
    end
    while head > tail and not run.done do
      if not current then start_turn() end
      local ev = current.next()
      if ev == nil then
        after_turn()
      else
        -- text deltas need no bookkeeping unless a tool phase may replay the turn's text
        local t = ev.type
        if has_tools or t ~= "TEXT_MESSAGE_CONTENT" then observe(ev) end
        if t == "RUN_FINISHED" and has_tools and ev.finishReason == "tool_calls" and #turn_state.order > 0 then
          turn_state.held = ev
        else
          if t == "RUN_STARTED" then run.started = true end
          return ev
        end
      end
    end
    if head > tail then return nil end
    local ev = queue[head]
    queue[head] = nil
    head = head + 1
    return ev
  end
  function producer.close()
    run.done = true
    if current then current.close() current = nil end
  end
  return producer
end

local function check(opts)
  if type(opts) ~= "table" then error("chat: options must be a table", 3) end
  local a = opts.adapter
  if type(a) ~= "table" or type(a.chat_stream) ~= "function" then
    error("chat: options.adapter must be a text adapter (an object with a chat_stream method)", 3)
  end
  if opts.messages ~= nil and type(opts.messages) ~= "table" then error("chat: options.messages must be an array", 3) end
  if opts.tools ~= nil and type(opts.tools) ~= "table" then error("chat: options.tools must be an array", 3) end
  local resume = opts.resume
  if resume ~= nil then
    if type(resume) ~= "table" then error("chat: options.resume must be an array of {interruptId, status, payload}", 3) end
    for i, r in ipairs(resume) do
      if type(r) ~= "table" or type(r.interruptId) ~= "string" then
        error("chat: options.resume[" .. i .. "].interruptId must be a string", 3)
      end
    end
  end
end

--- ai.chat(opts)
function _M.chat(opts)
  check(opts)
  local schema = opts.outputSchema or opts.output_schema
  if schema ~= nil then
    if type(schema) ~= "table" then error("chat: outputSchema must be a JSON Schema table", 2) end
    if opts.stream == true then error("chat: streaming structured output is not supported; omit stream", 2) end
    local history = messages_mod.normalize(opts.messages)
    -- with server tools, run the loop first, then ask for the structured answer over the whole history
    local has_server_tool = false
    for _, t in ipairs(opts.tools or {}) do if type(t.execute) == "function" then has_server_tool = true end end
    if has_server_tool then
      local o = {}
      for k, v in pairs(opts) do o[k] = v end
      o.outputSchema, o.output_schema = nil, nil
      local p = engine(o)
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
  local s = stream_mod.new(engine(opts))
  if opts.stream == false then return s:text() end
  return s
end

return _M
