-- ai.chat: model turns, the agent loop over server tools, and the result forms (stream, text, structured).
-- TanStack semantics: tools run only after a turn ends with finishReason "tool_calls"; by default at most
-- 5 model turns; a failing tool becomes {"error": message} for the model and the loop goes on.
-- A call that the server cannot finish (a client tool without execute, or a needsApproval tool not yet
-- approved) ends the run with TanStack's interrupt terminal (RUN_FINISHED, outcome {type = "interrupt"});
-- the next request resumes it: the calls still pending in the history get their answers from `resume`
-- (interrupt answers) or from tool results in the messages, the remaining server tools run, the loop goes on.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local messages_mod = require("tanstack.ai.messages")
local tools_mod = require("tanstack.ai.tools")
local stream_mod = require("tanstack.ai.stream")
local interrupts = require("tanstack.ai.interrupts")

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

local function run_tool(tool, call, input, ctx)
  local ok, res = pcall(tool.execute, input, { toolCallId = call.id, context = ctx.context })
  if not ok then
    local msg = type(res) == "table" and (res.message or json.try_encode(res)) or tostring(res)
    return json.encode({ error = msg }), true
  end
  return result_content(res), false
end

-- A call's input: the adapter's parsed input, else its arguments text (TanStack: trim() || '{}', then
-- JSON.parse; null or a scalar becomes {}). nil, message when the text is not JSON.
local function call_input(c)
  if type(c.input) == "table" then return c.input end
  local s = type(c.args) == "string" and c.args:match("^%s*(.-)%s*$") or ""
  if s == "" then s = "{}" end
  local v = json.decode(s)
  if v == nil then return nil, "Failed to parse tool arguments as JSON: " .. s end
  if type(v) ~= "table" then v = json.object() end
  return v
end

local function provider_executed(tc)
  return type(tc.metadata) == "table" and tc.metadata.providerExecuted == true
end

-- A tool message that only records an approval ({"pendingExecution": true}) is not a result.
local function is_placeholder(m)
  local c = m.content
  if type(c) ~= "string" or not c:find("pendingExecution", 1, true) then return false end
  local v = json.decode(c)
  return type(v) == "table" and v.pendingExecution == true
end

-- Assistant tool calls without a matching tool message (getPendingToolCallsFromMessages).
local function pending_calls(history)
  local answered = {}
  for _, m in ipairs(history) do
    if m.role == "tool" and m.toolCallId and not is_placeholder(m) then answered[m.toolCallId] = true end
  end
  local out = {}
  for _, m in ipairs(history) do
    if m.role == "assistant" and m.toolCalls then
      for _, tc in ipairs(m.toolCalls) do
        if not provider_executed(tc) and not answered[tc.id] then out[#out + 1] = tc end
      end
    end
  end
  return out
end

local function find_call(history, id)
  for _, m in ipairs(history) do
    if m.role == "assistant" and m.toolCalls then
      for _, tc in ipairs(m.toolCalls) do if tc.id == id then return tc end end
    end
  end
  return nil
end

-- Approval decisions carried by UIMessage tool-call parts (the older path: state "approval-responded").
local function part_approvals(list)
  local out = {}
  if type(list) ~= "table" then return out end
  for _, m in ipairs(list) do
    if type(m) == "table" and type(m.parts) == "table" then
      for _, p in ipairs(m.parts) do
        if type(p) == "table" and p.type == "tool-call" and p.state == "approval-responded"
          and type(p.approval) == "table" and type(p.approval.approved) == "boolean" and type(p.id) == "string" then
          out[p.id] = p.approval.approved
        end
      end
    end
  end
  return out
end

local function is_approved(r)
  if type(r) == "boolean" then return r end
  return r.approved == true
end

local function edited_args(r)
  if type(r) == "table" and r.approved == true and type(r.editedArgs) == "table" then return r.editedArgs end
  return nil
end

local function denial_content(r, denied)
  if denied ~= nil then return result_content(denied) end
  if type(r) == "table" and not r.approved and r.payload ~= nil then return result_content(r.payload) end
  return json.encode({ error = "User declined tool execution" })
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
  local run_id = opts.runId or opts.run_id or events.id("run")
  local thread_id = opts.threadId or opts.thread_id or events.id("thread")
  local parent_run_id = opts.parentRunId or opts.parent_run_id
  local resume = opts.resume
  local used_ids = {}
  local queue = events.queue()
  -- answers for calls the server could not finish alone: approvals by toolCallId (true | false | envelope),
  -- client results by toolCallId ({value = output}), cancelled calls, payloads of denials
  local answers = { approvals = part_approvals(opts.messages), clientResults = {}, cancelled = {}, denied = {} }

  local iteration = 0
  local current -- the producer of the running turn
  local done = false
  local started = false
  local run_started = false
  local turn_state
  local producer = { history = history }

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

  -- executeToolCalls: run what the server can run; collect the calls waiting for an approval or the client.
  -- calls: { id, name, args (text), input? }. Returns results { id, name, content, failed }, and the approval
  -- and client requests { id, name, input, tool }.
  local function execute_calls(calls)
    local results, need_approval, need_client = {}, {}, {}
    local approvals, client_results = answers.approvals, answers.clientResults
    -- batch gating: while an approval is outstanding, nothing else with a server effect runs
    local gated = false
    for _, c in ipairs(calls) do
      local t = by_name[c.name]
      if t and t.needsApproval and approvals[c.id] == nil and not answers.cancelled[c.id] then gated = true end
    end
    local function result(c, content, failed)
      results[#results + 1] = { id = c.id, name = c.name, content = content, failed = failed }
    end
    local function one(c)
      local tool = by_name[c.name]
      if tool == nil then return result(c, json.encode({ error = "Unknown tool: " .. c.name }), true) end
      local decision = approvals[c.id]
      local client_side = type(tool.execute) ~= "function"
      if gated and not (tool.needsApproval and decision == nil) and not (client_side and not tool.needsApproval) then
        return -- skipped until the approvals are in
      end
      if answers.cancelled[c.id] then return result(c, json.encode({ error = "Tool execution cancelled" }), true) end
      local input, perr = call_input(c)
      if input == nil then return result(c, json.encode({ error = perr }), true) end
      if tool.needsApproval then
        if decision == nil then
          need_approval[#need_approval + 1] = { id = c.id, name = c.name, input = input, tool = tool }
          return
        end
        if not is_approved(decision) then return result(c, denial_content(decision, answers.denied[c.id]), true) end
        input = edited_args(decision) or input
      end
      if client_side then
        local r = client_results[c.id]
        if r then return result(c, result_content(r.value), false) end
        need_client[#need_client + 1] = { id = c.id, name = c.name, input = input, tool = tool }
        return
      end
      return result(c, run_tool(tool, c, input, opts))
    end
    for _, c in ipairs(calls) do one(c) end
    return results, need_approval, need_client
  end

  -- A TOOL_CALL_RESULT, and the tool message for the next turn (replacing an approval placeholder).
  local function push_result(r, message_id)
    local ev = events.new("TOOL_CALL_RESULT", adapter.model, { toolCallId = r.id, toolName = r.name,
      messageId = message_id or r.id, content = r.content, role = "tool" })
    if r.failed then ev.state = "output-error" end
    queue:push(ev)
    local msg = { role = "tool", toolCallId = r.id, content = r.content }
    for i, m in ipairs(history) do
      if m.role == "tool" and m.toolCallId == r.id and is_placeholder(m) then history[i] = msg return end
    end
    history[#history + 1] = msg
  end

  -- The interrupt terminal: RUN_FINISHED (the turn's own, or a synthetic one) with the interrupt outcome.
  local function interrupt(finish_ev, need_approval, need_client)
    if not run_started then
      run_started = true
      queue:push(events.new("RUN_STARTED", nil, { runId = run_id, threadId = thread_id }))
    end
    if opts.state ~= nil then queue:push(events.new("STATE_SNAPSHOT", nil, { snapshot = opts.state })) end
    local list = json.array()
    for _, q in ipairs(need_approval) do list[#list + 1] = interrupts.approval(q.tool, q.id, q.name, q.input, run_id) end
    for _, q in ipairs(need_client) do
      list[#list + 1] = interrupts.client_tool(q.tool, q.id, q.name, q.input, run_id)
    end
    local ev = {}
    if finish_ev then
      for k, v in pairs(finish_ev) do ev[k] = v end
    else
      ev = events.new("RUN_FINISHED", adapter.model, { runId = run_id, threadId = thread_id,
        finishReason = "tool_calls" })
    end
    ev.timestamp = events.now_ms()
    ev.outcome = { type = "interrupt", interrupts = list }
    queue:push(ev)
    producer.interrupted = ev.outcome
    done = true
  end

  local function fail_resume(errs)
    local message, code = interrupts.failure(errs)
    queue:push(events.new("RUN_ERROR", nil, { message = message, code = code, runId = run_id, threadId = thread_id,
      error = { message = message, code = code }, ["tanstack:interruptErrors"] = json.array(errs) }))
    done = true
  end

  -- applyEphemeralInterruptResume: rebuild the interrupted batch from the history, validate the answers.
  local function apply_resume()
    if type(resume) ~= "table" or #resume == 0 then return true end
    if type(parent_run_id) ~= "string" or parent_run_id == "" then
      fail_resume(interrupts.missing_parent_error(thread_id, run_id, resume))
      return false
    end
    local calls, seen, named = pending_calls(history), {}, {}
    for _, tc in ipairs(calls) do seen[tc.id] = true end
    for _, r in ipairs(resume) do
      named[r.interruptId] = true
      -- calls the client already finished in the history (its output, a denial) still belong to the batch
      local id = r.interruptId:match("^client_tool_(.+)$") or r.interruptId:match("^approval_(.+)$")
      if id and not seen[id] then
        local tc = find_call(history, id)
        if tc and not provider_executed(tc) then
          seen[id] = true
          calls[#calls + 1] = tc
        end
      end
    end
    local records, approvals_recs, client_exec = {}, {}, {}
    for _, tc in ipairs(calls) do
      local tool = by_name[tc["function"].name]
      if tool then
        local client_side = type(tool.execute) ~= "function"
        if client_side and named["client_tool_" .. tc.id] then client_exec[tc.id] = true end
        if tool.needsApproval and not client_exec[tc.id] then
          approvals_recs[#approvals_recs + 1] = { interruptId = "approval_" .. tc.id, kind = "approval",
            toolCallId = tc.id, tool = tool }
        end
      end
    end
    for _, r in ipairs(approvals_recs) do records[#records + 1] = r end
    for _, tc in ipairs(calls) do
      local tool = by_name[tc["function"].name]
      if tool and type(tool.execute) ~= "function" and (not tool.needsApproval or client_exec[tc.id]) then
        records[#records + 1] = { interruptId = "client_tool_" .. tc.id, kind = "client", toolCallId = tc.id,
          tool = tool }
      end
    end
    local errs, st = interrupts.validate({ threadId = thread_id, interruptedRunId = parent_run_id }, records, resume)
    if #errs > 0 then
      fail_resume(errs)
      return false
    end
    for k, v in pairs(st.approvals) do answers.approvals[k] = v end
    for k, v in pairs(st.clientResults) do answers.clientResults[k] = v end
    for k in pairs(st.cancelled) do answers.cancelled[k] = true end
    for k, v in pairs(st.denied) do answers.denied[k] = v end
    -- a client-execution answer for an approval-gated client tool means it was approved before
    for _, r in ipairs(records) do
      if r.kind == "client" and r.tool.needsApproval then answers.approvals[r.toolCallId] = true end
    end
    return true
  end

  -- Before the first model turn: answers to the interrupted run, then the calls pending in the history
  -- (checkForPendingToolCalls).
  local function start_run()
    if not apply_resume() then return end
    local pend = pending_calls(history)
    if #pend == 0 then return end
    local calls = {}
    for i, tc in ipairs(pend) do
      calls[i] = { id = tc.id, name = tc["function"].name, args = tc["function"].arguments }
    end
    local results, need_approval, need_client = execute_calls(calls)
    for _, r in ipairs(results) do push_result(r, nil) end
    if #need_approval > 0 or #need_client > 0 then interrupt(nil, need_approval, need_client) end
  end

  -- After a turn: run server tools and decide whether another turn follows.
  local function after_turn()
    local s = turn_state
    current = nil
    local held = s.held -- the turn's RUN_FINISHED(tool_calls), held back until the tool phase decides
    s.held = nil
    local calls = {}
    if not s.errored and s.finish == "tool_calls" and has_tools then
      for _, c in ipairs(s.order) do if c.ended and c.name ~= "" then calls[#calls + 1] = c end end
    end
    if #calls == 0 then
      if held then queue:push(held) end
      done = true
      return
    end
    local tcs = {}
    for i, c in ipairs(calls) do
      local args = concat(c.args)
      if type(c.input) == "table" then args = json.encode(c.input) end
      c.args = args
      tcs[i] = { id = c.id, type = "function", ["function"] = { name = c.name, arguments = args },
        metadata = c.metadata }
    end
    local thinking
    if s.signature or #s.reasoning > 0 then
      thinking = { { content = concat(s.reasoning), signature = s.signature } }
    end
    history[#history + 1] = { role = "assistant", content = concat(s.text), toolCalls = tcs, thinking = thinking }
    local results, need_approval, need_client = execute_calls(calls)
    if #need_approval > 0 or #need_client > 0 then
      -- server tools of the batch ran first; the run pauses for the rest
      for _, r in ipairs(results) do push_result(r, s.message_id) end
      interrupt(held, need_approval, need_client)
      return
    end
    if held then queue:push(held) end
    for _, r in ipairs(results) do push_result(r, s.message_id) end
    local continue = iteration < max_iterations
    if continue and strategy then
      continue = strategy({ iterationCount = iteration, messages = history, finishReason = s.finish,
        toolCallCount = #calls }) and true or false
    end
    if not continue then done = true end
  end

  function producer.next()
    if not started then
      started = true
      start_run()
    end
    while queue.head > queue.tail and not done do -- queue:empty(), inlined (once per event)
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
          if t == "RUN_STARTED" then run_started = true end
          return ev
        end
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
      if p.interrupted then
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
