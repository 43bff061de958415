-- Many slow streams at once in one Lua process through tanstack.ai.async: S tasks (default 1000), each an ai.chat
-- stream of E text deltas that the emulator drips D ms apart (drip_ms). Checks that every stream completes with all its
-- events, and reports the wall time of the S streams against one stream alone, the connections the emulator saw, and
-- the memory each stream in flight costs: the live Lua heap (collectgarbage("count") after a full collection) and the
-- RSS (/proc/self/status) once every stream has had its first event, minus the same with none in flight, divided by
-- the streams open then. Goal: <= 32 KB per stream.
--   make bench (bench/run.lua, with ulimit -n raised)   BENCH_STREAMS=1000 BENCH_SLOW_EVENTS=20 BENCH_SLOW_DRIP_MS=500
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local ai = require("tanstack.ai")
local async = require("tanstack.ai.async")
local emulator = require("helpers.emulator")

local S = tonumber(os.getenv("BENCH_STREAMS")) or 1000
local E = tonumber(os.getenv("BENCH_SLOW_EVENTS")) or 20
local D = tonumber(os.getenv("BENCH_SLOW_DRIP_MS")) or 500

local nofile = tonumber(((B.read_file("/proc/self/limits") or ""):match("Max open files%s+(%d+)")))
if nofile and nofile < S + 64 then
  B.say("note: the open-file limit is %d (ulimit -n) for %d streams: some may fail to connect", nofile, S)
end

local emu = emulator.start()
local adapter = B.adapter(emu.url)

local opened, finished = 0, 0
local function stream()
  local n, last = 0, nil
  for ev in ai.chat({ adapter = adapter, messages = B.MESSAGES }) do
    if ev.type == "TEXT_MESSAGE_CONTENT" then
      n = n + 1
      if n == 1 then opened = opened + 1 end
    end
    last = ev.type
  end
  finished = finished + 1
  if n == E and last == "RUN_FINISHED" then return true end
  return ("%d events of %d, last %s"):format(n, E, tostring(last))
end

local function run(count, sample_it)
  emu:reset()
  emu:next({ events = E, drip_ms = D, times = count })
  opened, finished = 0, 0
  local tasks = {}
  local sample
  local w0, c0 = B.wall_ms(), B.cpu()
  for i = 1, count do tasks[i] = async.spawn(stream) end
  if sample_it then
    -- the sampler: once every stream has had its first event (or the first one has ended), measure
    async.spawn(function()
      while opened < count and finished == 0 do async.sleep(10) end
      collectgarbage("collect")
      sample = { heap = collectgarbage("count"), rss = B.status_kb("VmRSS"), at = B.wall_ms() - w0,
        open = count - finished }
    end)
  end
  async.run()
  local wall, cpu = (B.wall_ms() - w0) / 1000, B.cpu() - c0
  local ok, bad = 0, nil
  for i = 1, count do
    local t = tasks[i]
    if t.ok and t.result == true then ok = ok + 1
    elseif not bad then bad = tostring(t.ok and t.result or t.err) end
  end
  return { wall = wall, cpu = cpu, ok = ok, bad = bad, sample = sample }
end

-- one stream alone, then the baseline with nothing in flight
local one = run(1)
collectgarbage("collect")
local base_heap, base_rss = collectgarbage("count"), B.status_kb("VmRSS")
local many = run(S, true)
local conns = {}
local nconn = 0
for _, r in ipairs(emu:requests("/chat/completions")) do
  if r.conn_id and not conns[r.conn_id] then conns[r.conn_id], nconn = true, nconn + 1 end
end
local heap_kb = many.sample and (many.sample.heap - base_heap) / many.sample.open
local rss_kb = many.sample and (many.sample.rss - base_rss) / many.sample.open

B.say("%s: %d concurrent streams (async tasks, one libcurl multi handle), each %d deltas %d ms apart", B.interp, S, E, D)
B.say("  one stream alone: %.2f s wall; %d at once: %.2f s wall (%.2fx), %.2f s CPU; %d/%d complete over %d connections%s",
  one.wall, S, many.wall, many.wall / one.wall, many.cpu, many.ok, S, nconn,
  many.bad and ("; first failure: " .. many.bad) or "")
if many.sample then
  B.say("  with %d streams open (at %.2f s): Lua heap +%.1f KiB/stream, RSS +%.1f KiB/stream (goal <= 32)",
    many.sample.open, many.sample.at / 1000, heap_kb, rss_kb)
end
B.emit("conc.streams", S)
B.emit("conc.ok", many.ok)
B.emit("conc.connections", nconn)
B.emit("conc.one_wall_s", one.wall)
B.emit("conc.wall_s", many.wall)
B.emit("conc.cpu_s", many.cpu)
B.emit("conc.wall_ratio", many.wall / one.wall)
if heap_kb then
  B.emit("conc.heap_kib", heap_kb)
  B.emit("conc.rss_kib", rss_kb)
  B.emit("conc.open_at_sample", many.sample.open)
end
emu:stop()
