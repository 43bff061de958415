-- Interrupt scenarios run twice by spec/openresty/nginx_test.lua: through @tanstack/ai's own chat() engine
-- (client/interrupt-reference.mjs) and through ai.chat, each on the same scripted adapter, both encoded as SSE.
-- A scenario: { name, tools = {{ name, description, inputSchema?, outputSchema?, needsApproval?, side, result? }},
--   (a server tool answers { input, result }),
--   turns = { {adapter chunks of model call 1}, ... }, messages, threadId, runId, parentRunId?, resume? }
local json = require("tanstack.ai.json")
local ai = require("tanstack.ai")
local wire = require("tanstack.ai.wire")

local M = {}

local MODEL = "scripted-model"
local WEATHER_SCHEMA = { type = "object", properties = { city = { type = "string" } }, required = { "city" } }
local TEXT_SCHEMA = { type = "object", properties = { text = { type = "string" } } }
local PATH_SCHEMA = { type = "object", properties = { path = { type = "string" } } }

local TOOLS = {
  { name = "get_weather", description = "Weather", inputSchema = WEATHER_SCHEMA, side = "server",
    result = { temperatureC = 21 } },
  { name = "notify", description = "Show a notice (runs in the browser)", inputSchema = TEXT_SCHEMA, side = "client" },
  { name = "delete_file", description = "Delete a file", inputSchema = PATH_SCHEMA, side = "server",
    needsApproval = true, result = "deleted" },
  { name = "pick_color", description = "Ask the user for a color", side = "client",
    outputSchema = { type = "object", properties = { color = { type = "string", enum = { "red", "blue" } } },
      required = { "color" } } },
}

local ARGS = {
  get_weather = { city = "Paris" }, notify = { text = "hi" }, delete_file = { path = "notes.txt" }, pick_color = {},
}

local function call_chunks(list, calls, run_id)
  for i, c in ipairs(calls) do
    local input = ARGS[c.name]
    list[#list + 1] = { type = "TOOL_CALL_START", toolCallId = c.id, toolCallName = c.name, toolName = c.name,
      index = i - 1, model = MODEL }
    list[#list + 1] = { type = "TOOL_CALL_ARGS", toolCallId = c.id, delta = json.encode(json.object(input)), model = MODEL }
    list[#list + 1] = { type = "TOOL_CALL_END", toolCallId = c.id, toolName = c.name, input = json.object(input),
      model = MODEL }
  end
  list[#list + 1] = { type = "RUN_FINISHED", runId = run_id, threadId = "thread-s", model = MODEL,
    finishReason = "tool_calls", usage = { promptTokens = 3, completionTokens = 4, totalTokens = 7 } }
  return list
end

-- A model turn that calls these tools ({ {name, id}, ... }).
local function tool_turn(run_id, calls)
  return call_chunks({ { type = "RUN_STARTED", runId = run_id, threadId = "thread-s", model = MODEL } }, calls, run_id)
end

-- A model turn that answers with text.
local function text_turn(run_id, text)
  return {
    { type = "RUN_STARTED", runId = run_id, threadId = "thread-s", model = MODEL },
    { type = "TEXT_MESSAGE_START", messageId = "msg-" .. run_id, role = "assistant", model = MODEL },
    { type = "TEXT_MESSAGE_CONTENT", messageId = "msg-" .. run_id, delta = text, model = MODEL },
    { type = "TEXT_MESSAGE_END", messageId = "msg-" .. run_id, model = MODEL },
    { type = "RUN_FINISHED", runId = run_id, threadId = "thread-s", model = MODEL, finishReason = "stop",
      usage = { promptTokens = 5, completionTokens = 1, totalTokens = 6 } },
  }
end

-- The history of the interrupted run: the user's question, the assistant's calls, and these tool results.
local function history(calls, results)
  local tcs = {}
  for i, c in ipairs(calls) do
    tcs[i] = { id = c.id, type = "function",
      ["function"] = { name = c.name, arguments = json.encode(json.object(ARGS[c.name])) } }
  end
  local out = { { role = "user", content = "do things" }, { role = "assistant", content = json.null, toolCalls = tcs } }
  for _, r in ipairs(results or {}) do out[#out + 1] = { role = "tool", toolCallId = r[1], content = r[2] } end
  return out
end

local W = { name = "get_weather", id = "call_w" }
local N = { name = "notify", id = "call_n" }
local D = { name = "delete_file", id = "call_d" }
local P = { name = "pick_color", id = "call_p" }

local function scenario(name, t)
  t.name = name
  t.tools = TOOLS
  t.threadId = "thread-s"
  t.runId = t.runId or "run-1"
  t.messages = t.messages or { { role = "user", content = "do things" } }
  return t
end

function M.all()
  return {
    scenario("a client tool ends the run with an interrupt", { turns = { tool_turn("run-1", { N }) } }),
    scenario("mixed batch: the server tool runs, the client tool interrupts",
      { turns = { tool_turn("run-1", { W, N }) } }),
    scenario("a client tool with an outputSchema: responseSchema and hashes",
      { turns = { tool_turn("run-1", { P }) } }),
    scenario("an approval gates the batch (the server tool waits)", { turns = { tool_turn("run-1", { D, W }) } }),
    scenario("approval and client tool in one batch", { turns = { tool_turn("run-1", { N, D }) } }),
    scenario("resume: approved, the pending calls run, then the model", {
      runId = "run-2", parentRunId = "run-1", messages = history({ D, W }),
      resume = { { interruptId = "approval_call_d", status = "resolved", payload = { approved = true } } },
      turns = { text_turn("run-2", "done") } }),
    scenario("resume: approved with edited arguments", {
      runId = "run-2", parentRunId = "run-1", messages = history({ D }),
      resume = { { interruptId = "approval_call_d", status = "resolved",
        payload = { approved = true, editedArgs = { path = "draft.txt" } } } },
      turns = { text_turn("run-2", "done") } }),
    scenario("resume: denied", {
      runId = "run-2", parentRunId = "run-1", messages = history({ D, W }),
      resume = { { interruptId = "approval_call_d", status = "resolved", payload = false } },
      turns = { text_turn("run-2", "ok, not deleted") } }),
    scenario("resume: the client tool's output comes with the resume", {
      runId = "run-2", parentRunId = "run-1", messages = history({ W, N }, { { "call_w", '{"temperatureC":21}' } }),
      resume = { { interruptId = "client_tool_call_n", status = "resolved", payload = { shown = true } } },
      turns = { text_turn("run-2", "shown") } }),
    scenario("resume: the client's output is already in the history (what ai-client sends)", {
      runId = "run-2", parentRunId = "run-1",
      messages = history({ W, N }, { { "call_w", '{"temperatureC":21}' }, { "call_n", '{"shown":true}' } }),
      resume = { { interruptId = "client_tool_call_n", status = "resolved", payload = { shown = true } } },
      turns = { text_turn("run-2", "shown") } }),
    scenario("resume: cancelled", {
      runId = "run-2", parentRunId = "run-1", messages = history({ N }),
      resume = { { interruptId = "client_tool_call_n", status = "cancelled" } },
      turns = { text_turn("run-2", "cancelled") } }),
    scenario("resume: approved, the history's approval placeholder is replaced by the result", {
      runId = "run-2", parentRunId = "run-1",
      messages = history({ D }, { { "call_d", '{"approved":true,"pendingExecution":true,"message":"User approved this action"}' } }),
      resume = { { interruptId = "approval_call_d", status = "resolved", payload = true } },
      turns = { text_turn("run-2", "done") } }),
    scenario("a pending server call in the history runs before the model", {
      runId = "run-2", messages = history({ W }), turns = { text_turn("run-2", "sunny") } }),
    scenario("a pending client call without an answer interrupts again (synthetic RUN_STARTED)", {
      runId = "run-2", messages = history({ N }), turns = {} }),
    scenario("resume without parentRunId is an error", {
      runId = "run-2", messages = history({ N }),
      resume = { { interruptId = "client_tool_call_n", status = "resolved", payload = 1 } }, turns = {} }),
    scenario("resume naming an unknown interrupt and missing one", {
      runId = "run-2", parentRunId = "run-1", messages = history({ N }),
      resume = { { interruptId = "client_tool_nope", status = "resolved", payload = 1 } }, turns = {} }),
    scenario("resume: a cancelled entry with a payload is invalid", {
      runId = "run-2", parentRunId = "run-1", messages = history({ D }),
      resume = { { interruptId = "approval_call_d", status = "cancelled", payload = true } }, turns = {} }),
  }
end

local function summarize_messages(list)
  local out = {}
  for i, m in ipairs(list) do
    local content = m.content
    if content == nil or content == "" then content = json.null end
    local tcs
    if m.toolCalls then
      tcs = {}
      for j, tc in ipairs(m.toolCalls) do
        tcs[j] = { id = tc.id, name = tc["function"].name, arguments = tc["function"].arguments }
      end
    end
    out[i] = { role = m.role, content = content, toolCalls = tcs, toolCallId = m.toolCallId }
  end
  return out
end
M.summarize_messages = summarize_messages

--- Run a scenario through ai.chat: { wire = {decoded SSE payloads}, calls = {messages per model call} }.
function M.run_lua(sc)
  local calls = {}
  local n = 0
  local adapter = { model = MODEL }
  function adapter.chat_stream(_, o)
    n = n + 1
    calls[#calls + 1] = summarize_messages(o.messages)
    local list, i = sc.turns[n] or {}, 0
    return {
      next = function()
        i = i + 1
        local c = list[i]
        if c == nil then return nil end
        c = json.copy(c)
        c.timestamp = 1
        return c
      end,
      close = function() end,
    }
  end
  local tools = {}
  for i, t in ipairs(sc.tools) do
    local def = ai.tool_definition({ name = t.name, description = t.description, inputSchema = t.inputSchema,
      outputSchema = t.outputSchema, needsApproval = t.needsApproval })
    if t.side == "server" then
      local result = t.result
      tools[i] = def:server(function(input) return { input = input, result = result } end)
    else
      tools[i] = def:client()
    end
  end
  local out = {}
  -- trustHistory: TanStack's trust model (the scenarios' histories are written by hand; signing is compared
  -- nowhere here, it has its own suite in spec/security)
  for s in wire.to_server_sent_events(ai.chat({ trustHistory = true, adapter = adapter, tools = tools,
    messages = json.copy(sc.messages),
    threadId = sc.threadId, runId = sc.runId, parentRunId = sc.parentRunId, resume = json.copy(sc.resume) })) do
    out[#out + 1] = json.decode(s:sub(7))
  end
  return { wire = out, calls = json.decode(json.encode(calls)) }
end

--- Normalize a wire list for comparison: no timestamps; no MESSAGES_SNAPSHOT (returned apart: the Lua engine
--- does not emit it); TOOL_CALL_RESULT without messageId and metadata other than the output-error state; usage
--- items without `model`.
function M.normalize(list)
  local out, snapshots = {}, 0
  for _, e in ipairs(list) do
    if e.type == "MESSAGES_SNAPSHOT" then
      snapshots = snapshots + 1
    else
      e = json.copy(e)
      e.timestamp = nil
      if e.type == "TOOL_CALL_RESULT" then
        e.messageId = nil
        local state = type(e.metadata) == "table" and type(e.metadata.tanstack) == "table" and e.metadata.tanstack.state
        e.metadata = state and { tanstack = { state = state } } or nil
      end
      if type(e.usage) == "table" then for _, u in ipairs(e.usage) do u.model = nil end end
      out[#out + 1] = e
    end
  end
  return out, snapshots
end

return M
