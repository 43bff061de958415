-- tanstack.ai.tool_phase directly: what ai.chat's agent loop does between model turns, driven without a model.
-- A phase is built the way chat.lua builds it (a real tools list, a history, a push queue, the shared run
-- flags); each turn is handed over as the turn state chat.lua's observe() records from the turn's events.
local ai = require("tanstack.ai")
local json = require("tanstack.ai.json")
local tools_mod = require("tanstack.ai.tools")
local tool_phase = require("tanstack.ai.tool_phase")

local WEATHER_SCHEMA = { type = "object", properties = { city = { type = "string" } } }

-- The tools of these specs; `log` records every server execution (name, input, ctx).
local function make_tools(log)
  local weather = ai.tool_definition({ name = "get_weather", description = "Weather",
    inputSchema = WEATHER_SCHEMA }):server(function(input, ctx)
    log[#log + 1] = { "get_weather", input, ctx }
    return { city = input.city, temperatureC = 21 }
  end)
  local delete_file = ai.tool_definition({ name = "delete_file", description = "Delete a file", needsApproval = true,
    inputSchema = { type = "object", properties = { path = { type = "string" } } } }):server(function(input)
    log[#log + 1] = { "delete_file", input }
    return "deleted " .. input.path
  end)
  local notify = ai.tool_definition({ name = "notify", description = "Browser notice" }):client()
  local explode = ai.tool_definition({ name = "explode", description = "Raises" }):server(function()
    error("kaboom", 0)
  end)
  local explode_table = ai.tool_definition({ name = "explode_table", description = "Raises a table" })
    :server(function() error({ message = "bad input" }) end)
  local silent = ai.tool_definition({ name = "silent", description = "Returns nothing" }):server(function() end)
  return { weather, delete_file, notify, explode, explode_table, silent }
end

-- A phase as chat.lua builds it. Returns the phase and what it touches.
local function new_phase(o)
  o = o or {}
  local t = { pushed = {}, log = {}, history = o.history or {}, run = { started = o.started ~= false, done = false } }
  local list = o.tools or make_tools(t.log)
  t.phase = tool_phase.new({ opts = o.opts or {}, history = t.history, by_name = tools_mod.index(list),
    has_tools = #list > 0, run_id = "run-1", thread_id = "th-1", model = "m-1",
    push = function(e) t.pushed[#t.pushed + 1] = e end, run = t.run })
  return t
end

-- The turn's held RUN_FINISHED (chat.lua holds it back while the phase decides).
local function held_finish()
  return { type = "RUN_FINISHED", runId = "run-1", threadId = "th-1", finishReason = "tool_calls", model = "m-1",
    timestamp = 1, usage = { totalTokens = 7 } }
end

-- A turn state with the given calls ({id, name, args text}); input is what TOOL_CALL_END carried.
local function turn(calls, extra)
  local s = { text = { "Let me ", "check." }, reasoning = {}, calls = {}, order = {}, finish = "tool_calls",
    errored = false, message_id = "msg-1", held = held_finish() }
  for i, c in ipairs(calls) do
    local input = json.decode(c[3])
    s.order[i] = { id = c[1], name = c[2], args = { c[3] }, input = type(input) == "table" and input or nil,
      ended = true }
  end
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

local function types(evs)
  local out = {}
  for i, e in ipairs(evs) do out[i] = e.type end
  return out
end

local function call(id, name, args)
  return { id = id, type = "function", ["function"] = { name = name, arguments = args } }
end

describe("tool_phase helpers", function()
  it("pending_calls: assistant calls without a tool answer, skipping provider-executed ones", function()
    local a, b, c, d = call("a", "f", "{}"), call("b", "f", "{}"), call("c", "f", "{}"), call("d", "f", "{}")
    d.metadata = { providerExecuted = true } -- the provider ran it (e.g. web search); nothing to do here
    local history = {
      { role = "user", content = "go" },
      { role = "assistant", content = "", toolCalls = { a, b } },
      { role = "tool", toolCallId = "a", content = "done" },
      -- an approval placeholder is not an answer
      { role = "tool", toolCallId = "b", content = '{"pendingExecution":true}' },
      { role = "assistant", content = "", toolCalls = { c, d } },
    }
    local p = tool_phase.pending_calls(history)
    assert.equals(2, #p)
    assert.equals(b, p[1])
    assert.equals(c, p[2])
    assert.same({}, tool_phase.pending_calls({ { role = "user", content = "hi" } }))
  end)

  it("pending_calls: a tool message merely mentioning pendingExecution is an answer", function()
    local history = {
      { role = "assistant", content = "", toolCalls = { call("a", "f", "{}") } },
      { role = "tool", toolCallId = "a", content = '{"pendingExecution":false,"ok":1}' },
    }
    assert.same({}, tool_phase.pending_calls(history))
  end)

  it("call_input: the parsed input first, else the arguments text (blank, null or a scalar -> {})", function()
    local parsed = { city = "Oslo" }
    assert.equals(parsed, tool_phase.call_input({ input = parsed, args = "ignored" }))
    assert.same({ city = "Rome" }, tool_phase.call_input({ args = '  {"city":"Rome"} ' }))
    for _, args in ipairs({ "", "   ", "null", "7", '"s"' }) do
      local v = tool_phase.call_input({ args = args })
      assert.equals("{}", json.encode(v), "args " .. args)
    end
    assert.equals("{}", json.encode(tool_phase.call_input({})))
  end)

  it("call_input: malformed arguments give nil and TanStack's message with the trimmed text", function()
    local v, msg = tool_phase.call_input({ args = ' {"city": ' })
    assert.is_nil(v)
    assert.equals('Failed to parse tool arguments as JSON: {"city":', msg)
  end)

  it("part_approvals: only tool-call parts in state approval-responded with a boolean decision", function()
    local list = {
      { role = "user", content = "hi" },
      { role = "assistant", parts = {
        { type = "text", content = "ok" },
        { type = "tool-call", id = "yes", state = "approval-responded", approval = { approved = true } },
        { type = "tool-call", id = "no", state = "approval-responded", approval = { approved = false } },
        { type = "tool-call", id = "asked", state = "approval-requested", approval = { approved = true } },
        { type = "tool-call", id = "str", state = "approval-responded", approval = { approved = "true" } },
        { type = "tool-call", state = "approval-responded", approval = { approved = true } },
        { type = "tool-result", id = "tr", state = "approval-responded", approval = { approved = true } },
      } },
    }
    assert.same({ yes = true, no = false }, tool_phase.part_approvals(list))
    assert.same({}, tool_phase.part_approvals(nil))
    assert.same({}, tool_phase.part_approvals("x"))
  end)
end)

describe("tool_phase after_turn", function()
  it("runs a server tool: the held RUN_FINISHED, then TOOL_CALL_RESULT, and the turn plus result in history", function()
    local t = new_phase({ opts = { context = { user = "u1" } } })
    local s = turn({ { "call_1", "get_weather", '{"city":"Paris"}' } })
    local held = s.held
    local more, n = t.phase.after_turn(s)
    assert.is_true(more)
    assert.equals(1, n)
    assert.is_nil(s.held)
    assert.equals(2, #t.pushed)
    assert.equals(held, t.pushed[1]) -- pushed as is: another turn follows
    local r = t.pushed[2]
    assert.is_number(r.timestamp)
    r.timestamp = nil
    assert.same({ type = "TOOL_CALL_RESULT", model = "m-1", toolCallId = "call_1", toolName = "get_weather",
      messageId = "msg-1", content = '{"city":"Paris","temperatureC":21}', role = "tool" }, r)
    -- the tool got the parsed input and its context
    assert.same({ city = "Paris" }, t.log[1][2])
    assert.same({ toolCallId = "call_1", context = { user = "u1" } }, t.log[1][3])
    assert.same({
      { role = "assistant", content = "Let me check.",
        toolCalls = { call("call_1", "get_weather", '{"city":"Paris"}') } },
      { role = "tool", toolCallId = "call_1", content = '{"city":"Paris","temperatureC":21}' },
    }, t.history)
    assert.is_false(t.run.done)
  end)

  it("replays the turn's reasoning and signature with the calls", function()
    local t = new_phase()
    local s = turn({ { "call_1", "get_weather", '{"city":"Paris"}' } },
      { reasoning = { "hm", "m" }, signature = "sig-1" })
    t.phase.after_turn(s)
    assert.same({ { content = "hmm", signature = "sig-1" } }, t.history[1].thinking)
  end)

  it("builds the arguments from the streamed fragments when TOOL_CALL_END carried no input", function()
    local t = new_phase()
    local s = turn({})
    s.order[1] = { id = "call_1", name = "get_weather", args = { '{"ci', 'ty":"Oslo"}' }, ended = true }
    assert.is_true((t.phase.after_turn(s)))
    assert.equals('{"city":"Oslo"}', t.history[1].toolCalls[1]["function"].arguments)
    assert.same({ city = "Oslo" }, t.log[1][2])
  end)

  it("replays the TOOL_CALL_END input, re-encoded, rather than the streamed text", function()
    -- deltas.lua ends a call whose text is not JSON with input {}; the history must not carry the broken text
    local t = new_phase()
    local s = turn({})
    s.order[1] = { id = "call_1", name = "get_weather", args = { '{ "city" : "Pa' }, input = json.object(),
      ended = true }
    assert.is_true((t.phase.after_turn(s)))
    assert.equals("{}", t.history[1].toolCalls[1]["function"].arguments)
    assert.equals("{}", json.encode(t.log[1][2]))
  end)

  it("turns an unknown tool, a raising tool and bad arguments into {error} results and goes on", function()
    local t = new_phase()
    local s = turn({ { "c1", "nope", "{}" }, { "c2", "explode", "{}" }, { "c3", "explode_table", "{}" },
      { "c4", "get_weather", '{"city":' } })
    local more, n = t.phase.after_turn(s)
    assert.is_true(more)
    assert.equals(4, n)
    assert.same({ "RUN_FINISHED", "TOOL_CALL_RESULT", "TOOL_CALL_RESULT", "TOOL_CALL_RESULT", "TOOL_CALL_RESULT" },
      types(t.pushed))
    -- a raising tool's detail goes to the server log under an error id; the model and the browser see
    -- a generic message with that id (a table raised with public = true would pass its message)
    local generic = {}
    for i = 2, 3 do
      local c = t.pushed[i + 1].content
      assert.matches('^{"error":"The tool explode[_a-z]* failed %(error id err_%x+%)"}$', c)
      assert.is_nil(c:find("kaboom", 1, true))
      assert.is_nil(c:find("bad input", 1, true))
      generic[i] = c
    end
    local want = {
      { "c1", "nope", '{"error":"Unknown tool: nope"}' },
      { "c2", "explode", generic[2] },
      { "c3", "explode_table", generic[3] },
      { "c4", "get_weather", '{"error":"Failed to parse tool arguments as JSON: {\\"city\\":"}' },
    }
    for i, w in ipairs(want) do
      local r = t.pushed[i + 1]
      assert.same({ w[1], w[2], w[3], "output-error" }, { r.toolCallId, r.toolName, r.content, r.state })
      assert.same({ role = "tool", toolCallId = w[1], content = w[3] }, t.history[i + 1])
    end
    assert.equals(0, #t.log) -- get_weather never ran on unparseable arguments
  end)

  it("a tool returning nothing answers null; a string result is passed as is", function()
    -- delete_file is approved up front (a UIMessage part), so nothing gates the batch
    local t2 = new_phase({ opts = { messages = { { role = "assistant", parts = {
      { type = "tool-call", id = "c2", state = "approval-responded", approval = { approved = true } } } } } } })
    t2.phase.after_turn(turn({ { "c1", "silent", "{}" }, { "c2", "delete_file", '{"path":"/x"}' } }))
    assert.equals("null", t2.pushed[2].content)
    assert.is_nil(t2.pushed[2].state)
    assert.equals("deleted /x", t2.pushed[3].content)
  end)

  it("a needsApproval tool interrupts: the held RUN_FINISHED becomes the interrupt terminal", function()
    local t = new_phase()
    local s = turn({ { "call_d", "delete_file", '{"path":"/tmp/x"}' } })
    local held = s.held
    local more, n = t.phase.after_turn(s)
    assert.is_false(more)
    assert.is_nil(n)
    assert.equals(1, #t.pushed)
    local fin = t.pushed[1]
    assert.are_not.equals(held, fin) -- a copy with the outcome, not the turn's own table
    assert.same({ "RUN_FINISHED", "run-1", "th-1", "tool_calls", 7 },
      { fin.type, fin.runId, fin.threadId, fin.finishReason, fin.usage.totalTokens })
    assert.equals("interrupt", fin.outcome.type)
    assert.equals(1, #fin.outcome.interrupts)
    local it1 = fin.outcome.interrupts[1]
    assert.same({ "approval_call_d", "tool_call", "call_d", "delete_file" },
      { it1.id, it1.reason, it1.toolCallId, it1.metadata.toolName })
    assert.same({ path = "/tmp/x" }, it1.metadata.input)
    assert.is_true(t.run.done)
    assert.equals(fin.outcome, t.run.interrupted)
    -- nothing ran; the turn is in the history, its answer is not
    assert.equals(0, #t.log)
    assert.equals(1, #t.history)
    assert.equals("assistant", t.history[1].role)
  end)

  it("while an approval is outstanding, the batch's other server tools wait too", function()
    local t = new_phase()
    t.phase.after_turn(turn({ { "c1", "get_weather", '{"city":"Paris"}' }, { "c2", "delete_file", '{"path":"/x"}' } }))
    assert.same({ "RUN_FINISHED" }, types(t.pushed))
    assert.equals(0, #t.log)
    local ids = {}
    for i, x in ipairs(t.pushed[1].outcome.interrupts) do ids[i] = x.id end
    assert.same({ "approval_c2" }, ids)
    -- get_weather stays pending in the history, to run when the run resumes
    local p = tool_phase.pending_calls(t.history)
    assert.same({ "c1", "c2" }, { p[1].id, p[2].id })
  end)

  it("a client tool interrupts after the batch's server tools ran", function()
    local t = new_phase()
    local more = t.phase.after_turn(turn({ { "c1", "get_weather", '{"city":"Paris"}' }, { "c2", "notify", "{}" } }))
    assert.is_false(more)
    assert.same({ "TOOL_CALL_RESULT", "RUN_FINISHED" }, types(t.pushed))
    assert.equals("c1", t.pushed[1].toolCallId)
    local it1 = t.pushed[2].outcome.interrupts[1]
    assert.same({ "client_tool_c2", "tanstack:client_tool_execution", "c2" }, { it1.id, it1.reason, it1.toolCallId })
    assert.equals(1, #t.pushed[2].outcome.interrupts)
    assert.is_true(t.run.done)
    assert.equals(t.pushed[2].outcome, t.run.interrupted)
    assert.same({ "assistant", "tool" }, { t.history[1].role, t.history[2].role })
  end)

  it("an interrupt before the run started opens it, and carries the run state", function()
    local t = new_phase({ started = false, opts = { state = { step = 2 } } })
    t.phase.after_turn(turn({ { "c2", "notify", "{}" } }))
    assert.same({ "RUN_STARTED", "STATE_SNAPSHOT", "RUN_FINISHED" }, types(t.pushed))
    assert.same({ "run-1", "th-1" }, { t.pushed[1].runId, t.pushed[1].threadId })
    assert.same({ step = 2 }, t.pushed[2].snapshot)
    assert.is_true(t.run.started)
  end)

  it("no tool calls: returns false and pushes the held RUN_FINISHED", function()
    local t = new_phase()
    local s = turn({}, { finish = "stop" })
    local held = s.held
    local more, n = t.phase.after_turn(s)
    assert.is_false(more)
    assert.is_nil(n)
    assert.equals(1, #t.pushed)
    assert.equals(held, t.pushed[1])
    assert.is_nil(t.pushed[1].outcome)
    assert.same({}, t.history)
    -- no held event (the turn's RUN_FINISHED already went out): nothing is pushed
    local t2 = new_phase()
    local s2 = turn({}, { finish = "stop" })
    s2.held = nil
    assert.is_false(t2.phase.after_turn(s2))
    assert.same({}, t2.pushed)
  end)

  it("runs nothing after an errored turn, a non-tool finish, an unfinished call, or without tools", function()
    local cases = {
      { errored = true },
      { finish = "length" },
    }
    for _, extra in ipairs(cases) do
      local t = new_phase()
      local s = turn({ { "c1", "get_weather", '{"city":"Paris"}' } }, extra)
      local held = s.held
      assert.is_false(t.phase.after_turn(s))
      assert.same({ held }, t.pushed)
      assert.equals(0, #t.log)
      assert.same({}, t.history)
    end
    local t = new_phase()
    local s = turn({ { "c1", "get_weather", '{"city":"Paris"}' } })
    s.order[1].ended = false -- no TOOL_CALL_END arrived
    assert.is_false(t.phase.after_turn(s))
    assert.equals(0, #t.log)
    local t2 = new_phase({ tools = {} })
    assert.is_false(t2.phase.after_turn(turn({ { "c1", "get_weather", '{"city":"Paris"}' } })))
    assert.same({ "RUN_FINISHED" }, types(t2.pushed))
  end)
end)

describe("tool_phase start_run", function()
  local function history_with(calls, answers)
    local h = { { role = "user", content = "go" }, { role = "assistant", content = "", toolCalls = calls } }
    for _, a in ipairs(answers or {}) do h[#h + 1] = { role = "tool", toolCallId = a[1], content = a[2] } end
    return h
  end

  it("executes the server calls pending in the history, and only those", function()
    local h = history_with({ call("c1", "get_weather", '{"city":"Rome"}'), call("c2", "get_weather", '{"city":"X"}') },
      { { "c2", "earlier answer" } })
    local t = new_phase({ history = h })
    t.phase.start_run()
    assert.same({ "TOOL_CALL_RESULT" }, types(t.pushed))
    local r = t.pushed[1]
    assert.same({ "c1", "get_weather", "c1", '{"city":"Rome","temperatureC":21}' },
      { r.toolCallId, r.toolName, r.messageId, r.content }) -- no turn message: messageId is the call id
    assert.equals(1, #t.log)
    assert.same({ role = "tool", toolCallId = "c1", content = '{"city":"Rome","temperatureC":21}' }, h[#h])
    assert.equals(4, #h)
    assert.is_false(t.run.done)
  end)

  it("does nothing when every call is answered", function()
    local h = history_with({ call("c1", "get_weather", "{}") }, { { "c1", "ok" } })
    local t = new_phase({ history = h })
    t.phase.start_run()
    assert.same({}, t.pushed)
    assert.equals(3, #h)
  end)

  it("applies approvals carried in UIMessage parts, replacing the approval placeholder", function()
    local h = history_with({ call("c1", "delete_file", '{"path":"/a"}'), call("c2", "delete_file", '{"path":"/b"}') },
      { { "c1", '{"pendingExecution":true}' } })
    local t = new_phase({ history = h, opts = { messages = { { role = "assistant", parts = {
      { type = "tool-call", id = "c1", state = "approval-responded", approval = { approved = true } },
      { type = "tool-call", id = "c2", state = "approval-responded", approval = { approved = false } },
    } } } } })
    t.phase.start_run()
    assert.same({ "TOOL_CALL_RESULT", "TOOL_CALL_RESULT" }, types(t.pushed))
    assert.same({ "c1", "deleted /a" }, { t.pushed[1].toolCallId, t.pushed[1].content })
    assert.is_nil(t.pushed[1].state)
    assert.same({ "c2", '{"error":"User declined tool execution"}', "output-error" },
      { t.pushed[2].toolCallId, t.pushed[2].content, t.pushed[2].state })
    assert.same({ { "delete_file", { path = "/a" } } }, t.log)
    -- the placeholder's slot now holds the result; the denial is appended
    assert.same({ role = "tool", toolCallId = "c1", content = "deleted /a" }, h[3])
    assert.same({ role = "tool", toolCallId = "c2", content = '{"error":"User declined tool execution"}' }, h[4])
    assert.equals(4, #h)
  end)

  it("interrupts with a synthetic RUN_FINISHED when a pending call still needs its approval", function()
    local h = history_with({ call("c1", "delete_file", '{"path":"/a"}') })
    local t = new_phase({ history = h })
    t.phase.start_run()
    assert.same({ "RUN_FINISHED" }, types(t.pushed))
    local fin = t.pushed[1]
    assert.same({ "run-1", "th-1", "tool_calls", "m-1", "interrupt", "approval_c1" },
      { fin.runId, fin.threadId, fin.finishReason, fin.model, fin.outcome.type, fin.outcome.interrupts[1].id })
    assert.is_true(t.run.done)
    assert.equals(fin.outcome, t.run.interrupted)
    assert.equals(0, #t.log)
  end)

  it("a resume without parentRunId ends the run with one RUN_ERROR (stale)", function()
    local h = history_with({ call("c1", "delete_file", '{"path":"/a"}') })
    local t = new_phase({ history = h, opts = { resume = { { interruptId = "approval_c1", status = "resolved",
      payload = true } } } })
    t.phase.start_run()
    assert.same({ "RUN_ERROR" }, types(t.pushed))
    assert.equals("stale", t.pushed[1].code)
    assert.equals("Interrupt continuation requires parentRunId to identify the interrupted run.", t.pushed[1].message)
    assert.is_true(t.run.done)
    assert.equals(0, #t.log)
  end)

  it("a valid resume approves the pending call, which then runs", function()
    local h = history_with({ call("c1", "delete_file", '{"path":"/a"}') })
    local t = new_phase({ history = h, opts = { parentRunId = "run-0",
      resume = { { interruptId = "approval_c1", status = "resolved", payload = { approved = true } } } } })
    t.phase.start_run()
    assert.same({ "TOOL_CALL_RESULT" }, types(t.pushed))
    assert.equals("deleted /a", t.pushed[1].content)
    assert.same({ { "delete_file", { path = "/a" } } }, t.log)
    assert.is_false(t.run.done)
  end)
end)

describe("tool_phase as an object", function()
  it("its methods are the functions chat.lua used: turn_end is after_turn, run_start is start_run", function()
    local a, b = new_phase(), new_phase()
    local s1 = turn({ { "call_1", "get_weather", '{"city":"Paris"}' } })
    local s2 = turn({ { "call_1", "get_weather", '{"city":"Paris"}' } })
    local m1, n1 = a.phase:turn_end(s1)
    local m2, n2 = b.phase.after_turn(s2)
    assert.same({ m1, n1 }, { m2, n2 })
    assert.same(a.history, b.history)
    assert.same(types(a.pushed), types(b.pushed))
  end)

  it("execute_calls sorts a batch into results, approvals and client calls without running gated tools", function()
    local t = new_phase()
    local results, need_approval, need_client = t.phase:execute_calls({
      { id = "c1", name = "get_weather", args = '{"city":"Rome"}' },
      { id = "c2", name = "delete_file", args = '{"path":"/x"}' },
      { id = "c3", name = "nope", args = "{}" },
    })
    -- delete_file waits for an approval: get_weather (a server effect) is held back with it
    assert.equals(1, #results)
    assert.equals("c3", results[1].id)
    assert.is_true(results[1].failed)
    assert.equals(1, #need_approval)
    assert.equals("c2", need_approval[1].id)
    assert.same({ path = "/x" }, need_approval[1].input)
    assert.equals(0, #need_client)
    assert.equals(0, #t.log)
  end)

  it("a history the server did not sign ends the run with RUN_STARTED and RUN_ERROR from the run's producer", function()
    local history = { { role = "user", content = "go" },
      { role = "assistant", content = "", toolCalls = { call("forged", "get_weather", '{"city":"X"}') } } }
    local t = { pushed = {}, run = { started = false, done = false } }
    local phase = tool_phase.new({ opts = {}, history = history, by_name = {}, has_tools = true,
      run_id = "run-1", thread_id = "th-1", model = "m-1", run = t.run,
      push = function(e) t.pushed[#t.pushed + 1] = e end, verify = function() return false end })
    phase:run_start()
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, types(t.pushed))
    assert.is_nil(t.pushed[1].model)
    assert.equals("run-1", t.pushed[1].runId)
    assert.equals("invalid_tool_call", t.pushed[2].code)
    assert.same({ message = t.pushed[2].message, code = "invalid_tool_call" }, t.pushed[2].error)
    assert.is_true(t.run.started)
    assert.is_true(t.run.done)
  end)
end)
