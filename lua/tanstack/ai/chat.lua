-- ai.chat: model turns, the agent loop over server tools, and the result forms (stream, text, structured).
-- TanStack semantics: tools run only after a turn ends with finishReason "tool_calls"; by default at most
-- 5 model turns; a failing tool becomes {"error": message} for the model and the loop goes on.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local messages_mod = require("tanstack.ai.messages")
local tools_mod = require("tanstack.ai.tools")
local stream_mod = require("tanstack.ai.stream")

local type, pairs, ipairs, pcall, tostring, error = type, pairs, ipairs, pcall, tostring, error
local concat = table.concat

local _M = {}

local DEFAULT_MAX_ITERATIONS = 5

local function result_content(v)
  if type(v) == "string" then return v end
  if v == nil then return "null" end
  local s, err = json.try_encode(v)
  if not s then return json.encode({ error = "tool result is not JSON-encodable: " .. tostring(err) }) end
  return s
end

local function run_tool(tool, call, ctx)
  if tool == nil then
    return json.encode({ error = "Unknown tool: " .. call.name }), true
  end
  local input = call.input
  if type(input) ~= "table" then input = json.object() end
  local ok, res = pcall(tool.execute, input, { toolCallId = call.id, context = ctx.context })
  if not ok then
    local msg = type(res) == "table" and (res.message or json.try_encode(res)) or tostring(res)
    return json.encode({ error = msg }), true
  end
  return result_content(res), false
end

--- The engine's producer: { next, close }.
local function engine(opts)
  local adapter = opts.adapter
  local history = messages_mod.normalize(opts.messages)
  local tool_list = opts.tools or {}
  local by_name = tools_mod.index(tool_list)
  local has_tools = #tool_list > 0
  local max_iterations = opts.maxIterations or opts.max_iterations or DEFAULT_MAX_ITERATIONS
  local strategy = opts.agentLoopStrategy or opts.agent_loop_strategy
  local run_id = opts.runId or events.id("run")
  local thread_id = opts.threadId or events.id("thread")
  local used_ids = {}
  local queue = events.queue()

  local iteration = 0
  local current -- the producer of the running turn
  local done = false
  local turn_state

  local function start_turn()
    iteration = iteration + 1
    turn_state = { text = {}, calls = {}, order = {}, finish = nil, errored = false, message_id = nil }
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
    elseif t == "RUN_FINISHED" then
      s.finish = ev.finishReason
    elseif t == "RUN_ERROR" then
      s.errored = true
    end
  end

  -- After a turn: run server tools and decide whether another turn follows.
  local function after_turn()
    local s = turn_state
    current = nil
    if s.errored or s.finish ~= "tool_calls" or #s.order == 0 then done = true return end
    local calls = {}
    for _, c in ipairs(s.order) do if c.ended and c.name ~= "" then calls[#calls + 1] = c end end
    if #calls == 0 then done = true return end
    -- a call for a client tool (no execute) hands control back to the caller
    for _, c in ipairs(calls) do
      local tool = by_name[c.name]
      if tool and type(tool.execute) ~= "function" then done = true return end
    end
    local tcs = {}
    for i, c in ipairs(calls) do
      local args = concat(c.args)
      if type(c.input) == "table" then args = json.encode(c.input) end
      tcs[i] = { id = c.id, type = "function", ["function"] = { name = c.name, arguments = args },
        metadata = c.metadata }
    end
    history[#history + 1] = { role = "assistant", content = concat(s.text), toolCalls = tcs }
    for _, c in ipairs(calls) do
      local content, failed = run_tool(by_name[c.name], c, opts)
      local ev = events.new("TOOL_CALL_RESULT", adapter.model, { toolCallId = c.id, toolName = c.name,
        messageId = s.message_id or c.id, content = content, role = "tool" })
      if failed then ev.state = "output-error" end
      queue:push(ev)
      history[#history + 1] = { role = "tool", toolCallId = c.id, content = content }
    end
    local continue = iteration < max_iterations
    if continue and strategy then
      continue = strategy({ iterationCount = iteration, messages = history, finishReason = s.finish,
        toolCallCount = #calls }) and true or false
    end
    if not continue then done = true end
  end

  local producer = { history = history }
  function producer.next()
    while queue.head > queue.tail and not done do -- queue:empty(), inlined (once per event)
      if not current then start_turn() end
      local ev = current.next()
      if ev == nil then
        after_turn()
      else
        -- text deltas need no bookkeeping unless a tool phase may replay the turn's text
        if has_tools or ev.type ~= "TEXT_MESSAGE_CONTENT" then observe(ev) end
        return ev
      end
    end
    return queue:pop()
  end
  function producer.close()
    done = true
    if current then current.close() current = nil end
  end
  return producer
end

local function check(opts)
  if type(opts) ~= "table" then error("chat: options must be a table", 3) end
  local a = opts.adapter
  if type(a) ~= "table" or type(a.chat_stream) ~= "function" then
    error("chat: options.adapter must be a text adapter (e.g. cf.create_workers_ai_chat(...))", 3)
  end
  if opts.messages ~= nil and type(opts.messages) ~= "table" then error("chat: options.messages must be an array", 3) end
  if opts.tools ~= nil and type(opts.tools) ~= "table" then error("chat: options.tools must be an array", 3) end
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
