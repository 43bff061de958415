-- Peak RSS of a process that does nothing but stream, against curl doing the same transfer: for each N (text deltas
-- of one Workers AI stream from the emulator), bench/rss_stream.lua on Lua 5.4 and on LuaJIT, and
-- `curl -s -N -o /dev/null` with the same request, each run under build/bench/runstat (the kernel's ru_maxrss of the
-- child, as /usr/bin/time -f %M). Flat = the peak at the largest N over the peak at the smallest.
--   make bench (bench/run.lua)      BENCH_RSS_EVENTS=10000,100000,1000000
--   lua5.4 bench/rss_bench.lua [N,N,...]      (after make bench has built build/bench/runstat)
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local emulator = require("helpers.emulator")

local list = {}
for n in ((arg and arg[1]) or os.getenv("BENCH_RSS_EVENTS") or "10000,100000,1000000"):gmatch("%d+") do
  list[#list + 1] = tonumber(n)
end
local root, q = B.root, B.q
local runstat = root .. "/build/bench/runstat"
assert(io.open(runstat), "no " .. runstat .. " (make bench builds it)")
local LUA_PATH = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;;"

local emu = emulator.start()
local body = B.chat_body(emu)
local body_file, stat_file = os.tmpname(), os.tmpname()
local f = assert(io.open(body_file, "wb"))
f:write(body)
f:close()

local function measure(who, n)
  emu:next({ events = n })
  local cmd
  if who == "curl" then
    cmd = q(runstat) .. " " .. q(stat_file) .. " curl -s -N -o /dev/null -w '%{size_download}' --max-time 600"
      .. " -H 'content-type: application/json' -H " .. q("authorization: Bearer " .. B.KEY)
      .. " --data-binary @" .. q(body_file) .. " " .. q(B.chat_url(emu.url))
  else
    cmd = "LUA_PATH=" .. q(LUA_PATH) .. " LUA_CPATH=" .. q(root .. "/build/" .. who .. "/?.so;;") .. " "
      .. q(runstat) .. " " .. q(stat_file) .. " " .. who .. " " .. q(root .. "/bench/rss_stream.lua") .. " "
      .. q(emu.url) .. " " .. n
  end
  local out = B.sh(cmd .. " 2>&1")
  local s = B.read_file(stat_file) or ""
  local r = { wall = tonumber(s:match("wall_us=(%d+)")), cpu = tonumber(s:match("cpu_us=(%d+)")),
    rss = tonumber(s:match("maxrss_kb=(%d+)")), status = tonumber(s:match("status=(%d+)")) }
  if r.status ~= 0 or not r.rss then error(who .. " for " .. n .. " events failed: " .. s .. out, 0) end
  if who == "curl" then
    r.bytes = tonumber(out:match("(%d+)%s*$"))
    assert(r.bytes and r.bytes > n * 100, "curl received " .. tostring(r.bytes) .. " bytes for " .. n .. " events")
  end
  return r
end

local whos = { "lua5.4", "luajit", "curl" }
local res = {}
B.say("peak RSS of one stream, process by process (runstat: ru_maxrss), KiB")
B.say("%10s %12s %12s %12s %10s %10s   %s", "events", "Lua 5.4", "LuaJIT", "curl", "5.4/curl", "JIT/curl",
  "CPU s: 5.4 / JIT / curl")
for _, n in ipairs(list) do
  res[n] = {}
  for _, who in ipairs(whos) do
    res[n][who] = measure(who, n)
    B.emit("rss." .. who .. "." .. n, res[n][who].rss)
    B.emit("rss_cpu." .. who .. "." .. n, res[n][who].cpu / 1e6)
  end
  local r = res[n]
  B.say("%10d %12d %12d %12d %9.2fx %9.2fx   %.2f / %.2f / %.2f", n, r["lua5.4"].rss, r.luajit.rss, r.curl.rss,
    r["lua5.4"].rss / r.curl.rss, r.luajit.rss / r.curl.rss, r["lua5.4"].cpu / 1e6, r.luajit.cpu / 1e6,
    r.curl.cpu / 1e6)
end
local lo, hi = list[1], list[#list]
for _, who in ipairs(whos) do
  B.say("  %-7s peak at %d events / at %d: %.2fx", who, hi, lo, res[hi][who].rss / res[lo][who].rss)
end
B.emit("rss.events", table.concat(list, ","))
os.remove(body_file)
os.remove(stat_file)
emu:stop()
