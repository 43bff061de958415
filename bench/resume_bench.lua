-- Resume matching at scale (no network): a history with N pending tool calls of a client tool and a resume batch
-- answering every one, for N = 1k, 5k, 10k: the matching alone, and the whole tool phase of the resumed run.
-- Prints milliseconds and time per call relative to the 1k run: linear matching keeps it flat (quadratic matching
-- made it grow with N: 11.5k calls took 3.5 s).
--   lua5.4 bench/resume_bench.lua     (paths as in `make bench`)
local ai = require("tanstack.ai")
local tool_phase = require("tanstack.ai.tool_phase")
local tools_mod = require("tanstack.ai.tools")
local messages = require("tanstack.ai.messages")

local clock = os.clock

local notify = ai.tool_definition({ name = "notify", description = "n",
  inputSchema = { type = "object", properties = { i = { type = "number" } } } }):client()

local interrupts = require("tanstack.ai.interrupts")

-- matching alone: the calls pending in the history, paired with the resume batch (what was quadratic)
local function match(history, resume, tool)
  local t0 = clock()
  local pend = tool_phase.pending_calls(history)
  local records = {}
  for i, tc in ipairs(pend) do
    records[i] = { interruptId = "client_tool_" .. tc.id, kind = "client", toolCallId = tc.id, tool = tool }
  end
  local errs = interrupts.validate({ threadId = "t", interruptedRunId = "run-1" }, records, resume)
  assert(#errs == 0)
  return (clock() - t0) * 1000
end

local function run(n)
  local tcs, resume = {}, {}
  for i = 1, n do
    local id = "call_" .. i
    tcs[i] = { id = id, type = "function", ["function"] = { name = "notify", arguments = '{"i":' .. i .. '}' } }
    resume[i] = { interruptId = "client_tool_" .. id, status = "resolved", payload = { ok = i } }
  end
  local history = messages.normalize({ { role = "user", content = "go" },
    { role = "assistant", content = "", toolCalls = tcs } })
  local match_ms = match(history, resume, notify)
  local out = 0
  local run_flags = { started = false, done = false }
  local phase = tool_phase.new({ opts = { resume = resume, parentRunId = "run-1", messages = {} }, history = history,
    by_name = tools_mod.index({ notify }), has_tools = true, run_id = "run-2", thread_id = "t", model = "m",
    push = function() out = out + 1 end, run = run_flags })
  local t0 = clock()
  phase.start_run()
  local ms = (clock() - t0) * 1000
  assert(out == n, "expected one TOOL_CALL_RESULT per call, got " .. out)
  return ms, match_ms
end

run(200) -- warm up
local base, base_match = run(1000)
print(string.format("%-8s %12s %10s %14s %10s", "calls", "matching ms", "vs 1k/N", "whole run ms", "vs 1k/N"))
for _, n in ipairs({ 1000, 5000, 10000 }) do
  local ms, mms = base, base_match
  if n ~= 1000 then ms, mms = run(n) end
  print(string.format("%-8d %12.1f %9.2fx %14.1f %9.2fx", n, mms, (mms / n) / (base_match / 1000), ms,
    (ms / n) / (base / 1000)))
end
print("(whole run: matching, executing each answer, TOOL_CALL_RESULT events and tool messages)")
print(_VERSION)
