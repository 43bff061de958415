-- Cost as the work grows: the CPU time of one ai.chat (this process only; the emulator is another) at three sizes
-- of each dimension, to see that it stays linear:
--   history   a conversation of n messages (up to BENCH_SCALE_HISTORY=1000), answered in one short turn
--   tools     n tool definitions sent with the request (up to BENCH_SCALE_TOOLS=100)
--   turns     an agent loop of n model turns, n-1 of them calling a server tool (up to BENCH_SCALE_TURNS=50)
--   result    one tool call whose result is n bytes, fed back to the model (up to BENCH_SCALE_RESULT_KIB=1024 KiB)
-- Sizes n/10, n/2, n; per size the median of BENCH_SCALE_ROUNDS (5) calls. "Linear" is read from the marginal
-- costs: slope(n/2 -> n) / slope(n/10 -> n/2) is 1 for a straight line and 2.5 for a quadratic one; the target is
-- <= 1.5. The figures are CPU µs per call and per unit, so docs/performance.md can draw the curve.
--   make bench (bench/run.lua)     BENCH_ONLY=scale
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local ai = require("tanstack.ai")
local emulator = require("helpers.emulator")

local function envn(name, default) return tonumber(os.getenv(name)) or default end
local ROUNDS = envn("BENCH_SCALE_ROUNDS", 5)
local MAX = { history = envn("BENCH_SCALE_HISTORY", 1000), tools = envn("BENCH_SCALE_TOOLS", 100),
  turns = envn("BENCH_SCALE_TURNS", 50), result = envn("BENCH_SCALE_RESULT_KIB", 1024) }

local emu = emulator.start()
local adapter = B.adapter(emu.url)

local function history(n)
  local msgs = {}
  for i = 1, n - 1 do
    msgs[i] = { role = i % 2 == 1 and "user" or "assistant", content = "message " .. i .. " of the conversation" }
  end
  msgs[n] = { role = "user", content = "and now?" }
  return msgs
end

local function tool(i, result)
  return ai.tool_definition({ name = "tool_" .. i, description = "Tool number " .. i .. " of the bench",
    inputSchema = { type = "object", properties = { city = { type = "string", description = "a city" },
      days = { type = "integer", minimum = 1, maximum = 14 } }, required = { "city" } },
  }):server(function() return result or { ok = true } end)
end

-- each dimension: the chat options for size n, and what the emulator answers
local CASES = {
  history = function(n)
    emu:next({})
    return { messages = history(n) }
  end,
  tools = function(n)
    local tools = {}
    for i = 1, n do tools[i] = tool(i) end
    emu:next({})
    return { tools = tools, messages = B.MESSAGES }
  end,
  turns = function(n)
    if n > 1 then emu:next({ tool_calls = { { name = "tool_1", arguments = { city = "Paris" } } }, times = n - 1 }) end
    emu:next({})
    return { tools = { tool(1) }, maxIterations = n, messages = B.MESSAGES }
  end,
  result = function(n)
    emu:next({ tool_calls = { { name = "tool_1", arguments = { city = "Paris" } } } })
    emu:next({})
    return { tools = { tool(1, string.rep("x", n * 1024)) }, messages = B.MESSAGES }
  end,
}

local function once(dim, n)
  local opts = CASES[dim](n)
  opts.adapter, opts.stream = adapter, false
  collectgarbage("collect")
  local c0 = B.cpu()
  local text, err = ai.chat(opts)
  local cpu = B.cpu() - c0
  assert(type(text) == "string", dim .. " " .. n .. ": " .. tostring(err))
  return cpu
end

local UNIT = { history = "messages", tools = "tools", turns = "turns", result = "KiB" }
for _, dim in ipairs({ "history", "tools", "turns", "result" }) do
  local top = MAX[dim]
  local sizes = { math.max(1, math.floor(top / 10)), math.max(2, math.floor(top / 2)), top }
  local cost = {}
  once(dim, sizes[1]) -- warm-up
  for k, n in ipairs(sizes) do
    local list = {}
    for r = 1, ROUNDS do list[r] = once(dim, n) end
    cost[k] = B.median(list) * 1e6
  end
  local s1 = (cost[2] - cost[1]) / (sizes[2] - sizes[1])
  local s2 = (cost[3] - cost[2]) / (sizes[3] - sizes[2])
  local bend = s1 > 0 and s2 / s1 or nil
  B.say("%s: %s CPU µs per call at %d / %d / %d %s: %.0f / %.0f / %.0f; per unit %.2f then %.2f (bend %s)", B.interp,
    dim, sizes[1], sizes[2], sizes[3], UNIT[dim], cost[1], cost[2], cost[3], s1, s2,
    bend and string.format("%.2fx", bend) or "?")
  for k, n in ipairs(sizes) do B.emit("scale." .. dim .. "." .. k .. "_n", n) B.emit("scale." .. dim .. "." .. k .. "_us",
    cost[k]) end
  if bend then B.emit("scale." .. dim .. ".bend", bend) end
end
emu:stop()
