-- Streaming cost per event: a chat stream of N text deltas from the local emulator (Workers AI, OpenAI format)
-- through ai.chat, against the in-memory floor measured in the same run on the very same bytes: the SSE parser fed
-- 16 KiB pieces (what the network hands over), cjson.decode of each event and one event table per text delta (type,
-- messageId, model, timestamp, delta: what a consumer gets), no HTTP. CPU time of this process (the emulator is
-- another process), median of the rounds; then the live heap as the stream grows.
--   make bench  (bench/run.lua runs it on Lua 5.4 and LuaJIT)      BENCH_EVENTS=100000 BENCH_ROUNDS=5
--   lua5.4 bench/stream_bench.lua                                  (LUA_PATH / LUA_CPATH as make sets them)
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local ai = require("tanstack.ai")
local core = require("tanstack.ai.core")
local cjson = require("cjson")
local emulator = require("helpers.emulator")

local N = tonumber(os.getenv("BENCH_EVENTS")) or 100000
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 5

local emu = emulator.start()
local body = B.chat_body(emu)

-- 1. the exact bytes the emulator sends for this stream, split like the network would (16 KiB reads)
local sse = B.fetch_stream(emu, N, body)
local pieces = {}
for i = 1, #sse, 16384 do pieces[#pieces + 1] = sse:sub(i, i + 16383) end

local sink -- keeps the last event alive so the table is really built
local function floor_run()
  collectgarbage("collect")
  local t0 = B.cpu()
  local p = core.sse_parser()
  local decode, now_ms, model = cjson.decode, core.now_ms, B.MODEL
  local mid = "msg-0123456789abcdef"
  local n = 0
  for i = 1, #pieces do
    local evs = p:feed(pieces[i])
    for j = 1, #evs do
      local d = evs[j].data
      if d ~= "[DONE]" then
        local c = decode(d).choices[1]
        local delta = c and c.delta and c.delta.content
        if delta and delta ~= "" then
          sink = { type = "TEXT_MESSAGE_CONTENT", messageId = mid, model = model, timestamp = now_ms(),
            delta = delta }
          n = n + 1
        end
      end
    end
  end
  return B.cpu() - t0, n
end

local function chat_run()
  emu:next({ events = N })
  local adapter = B.adapter(emu.url)
  collectgarbage("collect")
  local w0, t0 = B.wall_ms(), B.cpu()
  local n, last = 0, nil
  for ev in ai.chat({ adapter = adapter, messages = B.MESSAGES }) do
    if ev.type == "TEXT_MESSAGE_CONTENT" then n = n + 1 end
    last = ev.type
  end
  assert(last == "RUN_FINISHED", "the stream ended with " .. tostring(last))
  return B.cpu() - t0, n, (B.wall_ms() - w0) / 1000
end

-- live memory (after a full collection) at each tenth of the stream: flat if nothing accumulates
local function memory_run()
  emu:next({ events = N })
  local adapter = B.adapter(emu.url)
  collectgarbage("collect")
  local start = collectgarbage("count")
  local samples, n, step = {}, 0, math.max(1, math.floor(N / 10))
  for ev in ai.chat({ adapter = adapter, messages = B.MESSAGES }) do
    if ev.type == "TEXT_MESSAGE_CONTENT" then
      n = n + 1
      if n % step == 0 then
        collectgarbage("collect")
        samples[#samples + 1] = collectgarbage("count") - start
      end
    end
  end
  return samples
end

chat_run() -- warm-up (connection, JIT)
local floor_t, chat_t, chat_w = {}, {}, {}
local floor_n, chat_n
for r = 1, ROUNDS do
  floor_t[r], floor_n = floor_run()
  chat_t[r], chat_n, chat_w[r] = chat_run()
end
assert(sink and sink.delta, "the floor built no event")
assert(floor_n == N and chat_n == N, ("expected %d text events, floor %d, ai.chat %d"):format(N, floor_n, chat_n))
local floor_us = B.median(floor_t) * 1e6 / N
local chat_us = B.median(chat_t) * 1e6 / N
local wall_us = B.median(chat_w) * 1e6 / N
local samples = memory_run()
local heap_max = 0
local parts = {}
for i, kb in ipairs(samples) do
  parts[i] = string.format("%.0f", kb)
  if kb > heap_max then heap_max = kb end
end

B.say("%s: %d text events, %.1f MiB of SSE, CPU time, median of %d rounds", B.interp, N, #sse / 1048576, ROUNDS)
B.say("  floor (SSE parser + cjson.decode + one event table, in memory): %7.3f us/event", floor_us)
B.say("  ai.chat end to end (HTTP + framing + decode + AG-UI events):   %7.3f us/event (wall %.3f)", chat_us, wall_us)
B.say("  ratio ai.chat / floor: %.2fx (target <= 1.0x)", chat_us / floor_us)
B.say("  live Lua heap above the start at each tenth of the stream, after a full GC (KiB): %s",
  table.concat(parts, " "))
B.emit("stream.events", N)
B.emit("stream.sse_mib", #sse / 1048576)
B.emit("stream.floor_us", floor_us)
B.emit("stream.chat_us", chat_us)
B.emit("stream.chat_wall_us", wall_us)
B.emit("stream.ratio", chat_us / floor_us)
B.emit("stream.heap_max_kib", heap_max)
emu:stop()
