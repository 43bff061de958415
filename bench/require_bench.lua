-- require time of the two modules in a fresh interpreter, Lua 5.4 and LuaJIT: K fresh processes per case
-- (interleaved) under build/bench/runstat, medians. Two readings of the same runs:
--   in-process: the CPU time of the require call itself (os.clock around it, in the fresh interpreter)
--   whole process: the process's wall and CPU time minus an empty interpreter's (`<lua> -e ''`)
-- The first is precise (microseconds); the second includes loading core.so and exiting, and carries the noise of
-- starting a process on a shared machine.
--   make bench (bench/run.lua)     BENCH_REQUIRE_RUNS=20
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")

local K = tonumber(os.getenv("BENCH_REQUIRE_RUNS")) or 20
local root, q = B.root, B.q
local runstat = root .. "/build/bench/runstat"
local stat = os.tmpname()
local LUA_PATH = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"
local cases = { "", "tanstack.ai", "cloudflare.tanstack_ai" }

local function once(interp, module)
  local code = "local c = os.clock() " .. (module ~= "" and ("require('" .. module .. "') ") or "")
    .. "io.write(string.format('%.6f', os.clock() - c))"
  local out = B.sh("LUA_PATH=" .. q(LUA_PATH) .. " LUA_CPATH=" .. q(root .. "/build/" .. interp .. "/?.so;;") .. " "
    .. q(runstat) .. " " .. q(stat) .. " " .. interp .. " -e " .. q(code) .. " 2>&1")
  local s = B.read_file(stat) or ""
  assert(s:match("status=0"), interp .. " -e " .. code .. ": " .. s .. out)
  return tonumber(out:match("^([%d.]+)")) * 1000, tonumber(s:match("wall_us=(%d+)")) / 1000,
    tonumber(s:match("cpu_us=(%d+)")) / 1000
end

B.say("require in a fresh interpreter, median of %d processes (ms)", K)
B.say("%-8s %-24s %14s %22s %22s", "", "module", "in-process CPU", "process wall - empty", "process CPU - empty")
for _, interp in ipairs({ "lua5.4", "luajit" }) do
  local inproc, wall, cpu = {}, {}, {}
  for _, m in ipairs(cases) do inproc[m], wall[m], cpu[m] = {}, {}, {} end
  for i = 1, K do
    for _, m in ipairs(cases) do inproc[m][i], wall[m][i], cpu[m][i] = once(interp, m) end
  end
  local w0, c0 = B.median(wall[""]), B.median(cpu[""])
  B.say("%-8s %-24s %14s %22.2f %22.2f", interp, "(empty interpreter)", "", w0, c0)
  for i = 2, #cases do
    local m = cases[i]
    local ip, w, c = B.median(inproc[m]), B.median(wall[m]) - w0, B.median(cpu[m]) - c0
    B.say("%-8s %-24s %14.2f %22.2f %22.2f", interp, m, ip, w, c)
    B.emit("require." .. interp .. "." .. m .. ".inproc_ms", ip)
    B.emit("require." .. interp .. "." .. m .. ".wall_ms", w)
    B.emit("require." .. interp .. "." .. m .. ".cpu_ms", c)
  end
  B.emit("require." .. interp .. ".empty.wall_ms", w0)
end
os.remove(stat)
