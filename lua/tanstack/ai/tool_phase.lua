-- The tool phase of ai.chat's agent loop: what runs between model turns. Executes the server tools a turn asked
-- for, pauses the run with TanStack's interrupt terminal for calls the server cannot finish alone (a client tool,
-- a needsApproval tool not yet approved), and, before the first turn of a resumed run, applies the answers of
-- the interrupted run (`resume`, approvals in UIMessage parts, client tool results in the history).
-- TanStack semantics: a failing tool becomes {"error": message} for the model and the loop goes on.
local json = require("tanstack.ai.json")
local events = require("tanstack.ai.events")
local interrupts = require("tanstack.ai.interrupts")
local deltas = require("tanstack.ai.deltas")
local core = require("tanstack.ai.core")
local host = require("tanstack.ai.host")
local signing = require("tanstack.ai.signing")

local type, pairs, ipairs, pcall, tostring, setmetatable = type, pairs, ipairs, pcall, tostring, setmetatable
local concat = table.concat

local _M = {}

local function result_content(v)
  if type(v) == "string" then return v end
  if v == nil then return "null" end
  local s, err = json.try_encode(v)
  if not s then return json.encode({ error = "tool result is not JSON-encodable: " .. tostring(err) }) end
  return s
end

-- A failing tool's detail (an internal host:port, a file position) goes to the server log under an error id;
-- the model and the browser get a generic message with that id. A tool that means its message for them raises a
-- table { message = "...", public = true }.
local function run_tool(tool, call, input, ctx)
  local ok, res = pcall(tool.execute, input, { toolCallId = call.id, context = ctx.context })
  if not ok then
    if type(res) == "table" and res.public == true and type(res.message) == "string" then
      return json.encode({ error = res.message }), true
    end
    local detail = type(res) == "table" and (res.message or json.try_encode(res)) or tostring(res)
    local eid = "err_" .. core.random_hex(6)
    host.log_error(ctx.logErrors == true, "tool ", tostring(call.name), " (call ", tostring(call.id), ") failed [",
      eid, "]: ", tostring(detail))
    return json.encode({ error = "The tool " .. tostring(call.name) .. " failed (error id " .. eid .. ")" }), true
  end
  return result_content(res), false
end

-- What the browser is told for each refusal reason (never blaming the user for the server's configuration), and
-- what the server log says.
local REFUSALS = {
  secret = { log = "signed under another secret (a misconfigured or rotated signing secret)",
    say = "This conversation's tool calls were issued under another server configuration and can no longer be "
      .. "verified; nothing was run. Send your message again to continue." },
  tampered = { log = "tampered history (another thread, conversation, tool or arguments)" },
  unsigned = { log = "not issued by this server" },
  duplicate_keys = { log = "its arguments repeat a key",
    say = "The tool call's arguments repeat a key; it was not run." },
  expired = { log = "expired approval (older than approvalTtl, or never issued here)",
    say = "This approval has expired; ask again to run the tool." },
  wrong_run = { log = "approval posted for another run than the one that asked for it",
    say = "This approval belongs to another run; ask again to run the tool." },
  executed = { log = "already executed" },
  store = { log = "the state store is unavailable and the tool has side effects",
    say = "The tool could not be run safely right now (the server's state is unavailable); try again later." },
}
_M.REFUSALS = REFUSALS

-- A call's input: the adapter's parsed input, else its arguments text (TanStack: trim() || '{}', then
-- JSON.parse; null or a scalar becomes {}). nil, message when the text is not JSON.
local function call_input(c)
  if type(c.input) == "table" then return c.input end
  local s = type(c.args) == "string" and c.args:match("^%s*(.-)%s*$") or ""
  if s == "" then s = "{}" end
  local v = json.decode(s)
  if v == nil then return nil, "Failed to parse tool arguments as JSON: " .. s end
  if signing.duplicate_keys(s) then return nil, "Tool arguments repeat a key; refused", "duplicate_keys" end
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

-- Every assistant tool call by id (one pass: resume matching stays linear in the size of the history).
local function calls_by_id(history)
  local out = {}
  for _, m in ipairs(history) do
    if m.role == "assistant" and m.toolCalls then
      for _, tc in ipairs(m.toolCalls) do
        if out[tc.id] == nil then out[tc.id] = tc end
      end
    end
  end
  return out
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

-- A tool that opts in to arguments edited by the approver (TanStack's approval UI can send editedArgs).
local function accepts_edits(tool)
  return tool.allowEditedArgs == true or tool.allow_edited_args == true
end

local function denial_content(r, denied)
  if denied ~= nil then return result_content(denied) end
  if type(r) == "table" and not r.approved and r.payload ~= nil then return result_content(r.payload) end
  return json.encode({ error = "User declined tool execution" })
end

_M.pending_calls = pending_calls
_M.call_input = call_input
_M.part_approvals = part_approvals

-- The ids a resume names for calls the pending list lacks (calls the client already finished in the history,
-- its output or a denial, still belong to the batch): added to `calls` (seen: ids already in it).
local function add_resumed_calls(history, resume, calls, seen)
  local by_id = calls_by_id(history)
  for _, r in ipairs(resume) do
    local id = type(r) == "table" and type(r.interruptId) == "string" and
      (r.interruptId:match("^client_tool_(.+)$") or r.interruptId:match("^approval_(.+)$")) or nil
    local tc = id and by_id[id]
    if tc and not seen[id] and not provider_executed(tc) then
      seen[id] = true
      calls[#calls + 1] = tc
    end
  end
end

---@class tanstack.ai.ToolPhase
---@field opts table         the chat options (resume, parentRunId, state, context)
---@field history table      the run's ModelMessages (appended to)
---@field by_name table      tools by name
---@field answers table      approvals, clientResults, cancelled, denied: answers for calls the server could not
---                          finish alone (by toolCallId)
---@field run_events table   the run's own events (deltas.run): RUN_STARTED once, RUN_ERROR
local Phase = {}
Phase.__index = Phase

--- A tool phase for one run. ctx: opts (the chat options: resume, parentRunId, state, context), history (the
--- ModelMessages, appended to), by_name (tools by name), has_tools, run_id, thread_id, model,
--- push(event) (the run's event queue), run (shared flags: started, done, interrupted; refused: the refusals),
--- verify(tc, input) -> ok, reason (nil: trust the history, TanStack's model; else every call that may run from it
--- must verify, and edited arguments are taken only by tools with allowEditedArgs), ledger (signing.ledger: each
--- signed call runs once, approvals are bound to their run and expire; nil with verify nil).
--- Returns the phase: methods run_start(), turn_end(turn_state) -> continue?, number of calls;
--- execute_calls(calls); and the same as plain functions start_run, after_turn, execute.
function _M.new(ctx)
  local opts = ctx.opts
  local self = setmetatable({
    opts = opts, history = ctx.history, by_name = ctx.by_name, has_tools = ctx.has_tools,
    run_id = ctx.run_id, thread_id = ctx.thread_id, model = ctx.model, push = ctx.push, run = ctx.run,
    verify = ctx.verify, ledger = ctx.ledger, parent_run_id = opts.parentRunId or opts.parent_run_id, resume = opts.resume,
    answers = { approvals = part_approvals(opts.messages), clientResults = {}, cancelled = {}, denied = {} },
    placeholder_at = nil, -- toolCallId -> index of its approval placeholder in history (see push_result)
    run_events = deltas.run({ runId = ctx.run_id, threadId = ctx.thread_id, emit = ctx.push, run = ctx.run }),
  }, Phase)
  self.start_run = function() return self:run_start() end
  self.after_turn = function(s) return self:turn_end(s) end
  self.execute = function(calls) return self:execute_calls(calls) end
  return self
end

-- A refused call: logged server-side with its id and reason, noted in run.refused.
function Phase:note_refusal(id, reason)
  local r = REFUSALS[reason] or { log = tostring(reason) }
  host.log_error(self.opts.logErrors == true, "tool call ", tostring(id), " refused: ", r.log)
  local list = self.run.refused or {}
  self.run.refused = list
  list[#list + 1] = { id = id, reason = reason }
end

-- The result of a refused call: what the browser and the model are told.
function Phase:refused_result(c, reason)
  self:note_refusal(c.id, reason)
  local r = REFUSALS[reason]
  return json.encode({ error = r and r.say or "This tool call was refused" }), true
end

-- Run a server tool at most once per call id (the ledger): the recorded outcome for a call that already ran.
function Phase:run_once(tool, c, input)
  local ledger = self.ledger
  if ledger == nil then return run_tool(tool, c, input, self.opts) end
  local state, recorded, failed = ledger:claim(c.id)
  if state == "run" then
    local content, f = run_tool(tool, c, input, self.opts)
    ledger:record(c.id, content, f)
    return content, f
  elseif state == "done" then
    self:note_refusal(c.id, "executed")
    return recorded, failed
  elseif state == "busy" then
    self:note_refusal(c.id, "executed")
    return json.encode({ error = "This tool call already ran" }), true
  end
  -- the store failed: a tool with side effects must not risk a second run (fail closed)
  if signing.has_side_effects(tool) then return self:refused_result(c, "store") end
  return run_tool(tool, c, input, self.opts)
end

-- Whether any call of the batch waits for an approval: then nothing else with a server effect runs.
function Phase:gated(calls)
  local answers = self.answers
  for _, c in ipairs(calls) do
    local t = self.by_name[c.name]
    if t and t.needsApproval and answers.approvals[c.id] == nil and not answers.cancelled[c.id] then return true end
  end
  return false
end

-- One call of a batch: a result (content, failed), or "approval" / "client" with its input, or nothing (gated).
function Phase:execute_one(c, gated)
  local tool = self.by_name[c.name]
  if tool == nil then return json.encode({ error = "Unknown tool: " .. c.name }), true end
  local answers = self.answers
  local decision = answers.approvals[c.id]
  local client_side = type(tool.execute) ~= "function"
  if gated and not (tool.needsApproval and decision == nil) and not (client_side and not tool.needsApproval) then
    return nil -- skipped until the approvals are in
  end
  if answers.cancelled[c.id] then return json.encode({ error = "Tool execution cancelled" }), true end
  if c.dup then return self:refused_result(c, "duplicate_keys") end
  local input, perr = call_input(c)
  if input == nil then return json.encode({ error = perr }), true end
  if tool.needsApproval then
    if decision == nil then return nil, nil, "approval", input end
    if not is_approved(decision) then return denial_content(decision, answers.denied[c.id]), true end
    if self.ledger and not client_side then
      -- an approval counts only for the run that asked for it, within approvalTtl
      local ok, why = self.ledger:approval(c.id, self.parent_run_id)
      if not ok then return self:refused_result(c, why or "store") end
    end
    local edited = edited_args(decision)
    if edited ~= nil and self.verify and not accepts_edits(tool) then
      -- the approver may not change what the model asked for unless the tool says so
      return json.encode({ error = "Tool " .. c.name .. " does not accept edited arguments" }), true
    end
    input = edited or input
  end
  if client_side then
    local r = answers.clientResults[c.id]
    if r then return result_content(r.value), false end
    return nil, nil, "client", input
  end
  return self:run_once(tool, c, input)
end

--- executeToolCalls: run what the server can run; collect the calls waiting for an approval or the client.
--- calls: { id, name, args (text), input? }. Returns results { id, name, content, failed }, and the approval
--- and client requests { id, name, input, tool }.
function Phase:execute_calls(calls)
  local results, need_approval, need_client = {}, {}, {}
  local gated = self:gated(calls)
  for _, c in ipairs(calls) do
    local content, failed, waits, input = self:execute_one(c, gated)
    if content ~= nil then
      results[#results + 1] = { id = c.id, name = c.name, content = content, failed = failed }
    elseif waits then
      local list = waits == "approval" and need_approval or need_client
      list[#list + 1] = { id = c.id, name = c.name, input = input, tool = self.by_name[c.name] }
    end
  end
  return results, need_approval, need_client
end

--- A TOOL_CALL_RESULT, and the tool message for the next turn (replacing an approval placeholder).
function Phase:push_result(r, message_id)
  local ev = events.new("TOOL_CALL_RESULT", self.model, { toolCallId = r.id, toolName = r.name,
    messageId = message_id or r.id, content = r.content, role = "tool" })
  if r.failed then ev.state = "output-error" end
  self.push(ev)
  local history = self.history
  local msg = { role = "tool", toolCallId = r.id, content = r.content }
  local placeholder_at = self.placeholder_at
  if placeholder_at == nil then -- indexed once: results stay linear in the size of the history
    placeholder_at = {}
    for i, m in ipairs(history) do
      if m.role == "tool" and m.toolCallId and placeholder_at[m.toolCallId] == nil and is_placeholder(m) then
        placeholder_at[m.toolCallId] = i
      end
    end
    self.placeholder_at = placeholder_at
  end
  local i = placeholder_at[r.id]
  if i then
    placeholder_at[r.id] = false
    history[i] = msg
    return
  end
  history[#history + 1] = msg
end

--- The interrupt terminal: RUN_FINISHED (the turn's own, or a synthetic one) with the interrupt outcome.
function Phase:interrupt(finish_ev, need_approval, need_client)
  local run_id, opts = self.run_id, self.opts
  self.run_events:start()
  if opts.state ~= nil then self.push(events.new("STATE_SNAPSHOT", nil, { snapshot = opts.state })) end
  local list = json.array()
  for _, q in ipairs(need_approval) do
    list[#list + 1] = interrupts.approval(q.tool, q.id, q.name, q.input, run_id)
    if self.ledger then self.ledger:issue(q.id, run_id) end
  end
  for _, q in ipairs(need_client) do
    list[#list + 1] = interrupts.client_tool(q.tool, q.id, q.name, q.input, run_id)
  end
  local ev = {}
  if finish_ev then
    for k, v in pairs(finish_ev) do ev[k] = v end
  else
    ev = events.new("RUN_FINISHED", self.model, { runId = run_id, threadId = self.thread_id,
      finishReason = "tool_calls" })
  end
  ev.timestamp = events.now_ms()
  ev.outcome = { type = "interrupt", interrupts = list }
  self.push(ev)
  self.run.interrupted = ev.outcome
  self.run.done = true
end

-- A resume that does not fit the interrupted run: one RUN_ERROR naming each problem.
function Phase:fail_resume(errs)
  local message, code = interrupts.failure(errs)
  self.run_events:error(message, code, { ["tanstack:interruptErrors"] = json.array(errs) })
  self.run.done = true
end

-- The records a resume is validated against: approvals first, then client tools (the interrupted batch).
function Phase:resume_records(calls)
  local by_name, named = self.by_name, {}
  for _, r in ipairs(self.resume) do named[r.interruptId] = true end
  local records, client_exec = {}, {}
  for _, tc in ipairs(calls) do
    local tool = by_name[tc["function"].name]
    if tool then
      if type(tool.execute) ~= "function" and named["client_tool_" .. tc.id] then client_exec[tc.id] = true end
      if tool.needsApproval and not client_exec[tc.id] then
        records[#records + 1] = { interruptId = "approval_" .. tc.id, kind = "approval", toolCallId = tc.id,
          tool = tool }
      end
    end
  end
  for _, tc in ipairs(calls) do
    local tool = by_name[tc["function"].name]
    if tool and type(tool.execute) ~= "function" and (not tool.needsApproval or client_exec[tc.id]) then
      records[#records + 1] = { interruptId = "client_tool_" .. tc.id, kind = "client", toolCallId = tc.id,
        tool = tool }
    end
  end
  return records
end

--- applyEphemeralInterruptResume: rebuild the interrupted batch from the history, validate the answers.
function Phase:apply_resume()
  local resume, history = self.resume, self.history
  if type(resume) ~= "table" or #resume == 0 then return true end
  local parent_run_id = self.parent_run_id
  if type(parent_run_id) ~= "string" or parent_run_id == "" then
    self:fail_resume(interrupts.missing_parent_error(self.thread_id, self.run_id, resume))
    return false
  end
  local calls, seen = pending_calls(history), {}
  for _, tc in ipairs(calls) do seen[tc.id] = true end
  add_resumed_calls(history, resume, calls, seen)
  local records = self:resume_records(calls)
  local errs, st = interrupts.validate({ threadId = self.thread_id, interruptedRunId = parent_run_id }, records,
    resume)
  if #errs > 0 then
    self:fail_resume(errs)
    return false
  end
  local answers = self.answers
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

--- Every call that may run from the posted history (pending, or named by the resume) must be one this server
--- issued, with these arguments, in this thread (a signed id, see signing.lua); otherwise nothing runs and the
--- run ends with one RUN_ERROR naming the calls.
function Phase:verify_history()
  local verify, history, resume = self.verify, self.history, self.resume
  if not verify then return true end
  local check = pending_calls(history)
  if type(resume) == "table" and #resume > 0 then
    local seen = {}
    for _, tc in ipairs(check) do seen[tc.id] = true end
    add_resumed_calls(history, resume, check, seen)
  end
  local bad, other = {}, false
  for _, tc in ipairs(check) do
    local input, _, why = call_input({ args = tc["function"].arguments })
    local ok = false
    if input ~= nil then ok, why = verify(tc, input) end
    if not ok then
      bad[#bad + 1] = tostring(tc.id)
      why = why or "tampered"
      self:note_refusal(tc.id, why)
      if why ~= "secret" then other = true end
    end
  end
  if #bad == 0 then return true end
  local message = "the history holds tool calls this server did not issue, or whose arguments changed: " ..
    concat(bad, ", ", 1, math.min(#bad, 5)) .. (#bad > 5 and ", ..." or "") .. "; nothing was run"
  -- the server's own misconfiguration (a secret that differs between workers or hosts) is not the user's fault
  if not other then message = REFUSALS.secret.say end
  self.run_events:start()
  self.run_events:error(message, "invalid_tool_call")
  self.run.done = true
  return false
end

--- Before the first model turn: answers to the interrupted run, then the calls pending in the history
--- (checkForPendingToolCalls).
function Phase:run_start()
  if not self:verify_history() then return end
  if not self:apply_resume() then return end
  local pend = pending_calls(self.history)
  if #pend == 0 then return end
  local calls = {}
  for i, tc in ipairs(pend) do
    calls[i] = { id = tc.id, name = tc["function"].name, args = tc["function"].arguments }
  end
  local results, need_approval, need_client = self:execute_calls(calls)
  for _, r in ipairs(results) do self:push_result(r, nil) end
  if #need_approval > 0 or #need_client > 0 then self:interrupt(nil, need_approval, need_client) end
end

-- The turn's finished calls as the assistant message of the history (its text, calls and reasoning).
function Phase:record_turn(s, calls)
  local tcs = {}
  for i, c in ipairs(calls) do
    local args = concat(c.args)
    -- the text the user saw repeats a key: the decoded input (the last value) is not what it shows
    if signing.duplicate_keys(args) then c.dup = true end
    if type(c.input) == "table" then args = json.encode(c.input) end
    c.args = args
    tcs[i] = { id = c.id, type = "function", ["function"] = { name = c.name, arguments = args },
      metadata = c.metadata }
  end
  local thinking
  if s.signature or #s.reasoning > 0 then
    thinking = { { content = concat(s.reasoning), signature = s.signature } }
  end
  local history = self.history
  history[#history + 1] = { role = "assistant", content = concat(s.text), toolCalls = tcs, thinking = thinking }
end

--- After a turn: run its server tool calls. Returns true when results were added and another turn may
--- follow; false when the run ends here (no calls, an error, or an interrupt).
--- s: the turn's { text, reasoning, signature, order (calls: id, name, args, input, metadata, ended), finish,
--- errored, message_id, held (its RUN_FINISHED, held back until this phase decides) }.
function Phase:turn_end(s)
  local held = s.held
  s.held = nil
  local calls = {}
  if not s.errored and s.finish == "tool_calls" and self.has_tools then
    for _, c in ipairs(s.order) do if c.ended and c.name ~= "" then calls[#calls + 1] = c end end
  end
  if #calls == 0 then
    if held then self.push(held) end
    return false
  end
  self:record_turn(s, calls)
  local results, need_approval, need_client = self:execute_calls(calls)
  if #need_approval > 0 or #need_client > 0 then
    -- server tools of the batch ran first; the run pauses for the rest
    for _, r in ipairs(results) do self:push_result(r, s.message_id) end
    self:interrupt(held, need_approval, need_client)
    return false
  end
  if held then self.push(held) end
  for _, r in ipairs(results) do self:push_result(r, s.message_id) end
  return true, #calls
end

return _M
