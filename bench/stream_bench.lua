-- Streaming throughput: a 100k-event chat stream from the local emulator through ai.chat, against an
-- in-process floor measured in the same run on the very same bytes (SSE framing + JSON decode, no HTTP,
-- no translation). Prints µs/event for both, the ratio, and memory sampled as the stream grows.
--   make bench            (BENCH_EVENTS=100000 by default)
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local core = require("tanstack.ai.core")
local cjson = require("cjson")
local emulator = require("helpers.emulator")

local N = tonumber(os.getenv("BENCH_EVENTS")) or 100000
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 3

local emu = emulator.start()
local base = emu.url .. "/client/v4"
local model = "@cf/meta/llama-3.1-8b-instruct"

-- CPU time of this process: the emulator runs in another process, and the machine may be shared
local function now() return os.clock() end
local clock_name = "cpu"

-- 1. the exact bytes the emulator sends for this stream
emu:next({ events = N })
local req = core.http_request({ method = "POST", url = base .. "/accounts/a/ai/v1/chat/completions",
  headers = { ["content-type"] = "application/json", authorization = "Bearer x" },
  body = '{"model":"' .. model .. '","stream":true,"messages":[{"role":"user","content":"bench"}]}' })
assert(req:response())
local body = assert(req:read_all())
req:close()

-- split like the network would (16 KiB reads)
local pieces = {}
for i = 1, #body, 16384 do pieces[#pieces + 1] = body:sub(i, i + 16383) end

local function floor_run()
  local t0 = now()
  local p = core.sse_parser()
  local decode = cjson.decode
  local n = 0
  for i = 1, #pieces do
    local evs = p:feed(pieces[i])
    for j = 1, #evs do
      local d = evs[j].data
      if d ~= "[DONE]" then decode(d) end
      n = n + 1
    end
  end
  return now() - t0, n
end

local function e2e_run()
  emu:next({ events = N })
  local adapter = cf.create_workers_ai_chat(model, { accountId = "a", apiKey = "x", apiBaseUrl = base })
  collectgarbage("collect")
  local t0 = now()
  local text_events = 0
  for ev in ai.chat({ adapter = adapter, messages = { { role = "user", content = "bench" } } }) do
    if ev.type == "TEXT_MESSAGE_CONTENT" then text_events = text_events + 1 end
  end
  return now() - t0, text_events
end

-- live memory (after a full collection) at each tenth of the stream: flat if nothing accumulates
local function memory_run()
  emu:next({ events = N })
  local adapter = cf.create_workers_ai_chat(model, { accountId = "a", apiKey = "x", apiBaseUrl = base })
  collectgarbage("collect")
  local start = collectgarbage("count")
  local samples, n = {}, 0
  for _ in ai.chat({ adapter = adapter, messages = { { role = "user", content = "bench" } } }) do
    n = n + 1
    if n % (N / 10) == 0 then
      collectgarbage("collect")
      samples[#samples + 1] = collectgarbage("count") - start
    end
  end
  return samples
end

local floor_best, e2e_best = math.huge, math.huge
local floor_events, e2e_events
for _ = 1, ROUNDS do
  local ft, fe = floor_run()
  if ft < floor_best then floor_best, floor_events = ft, fe end
  local et, ee = e2e_run()
  if et < e2e_best then e2e_best, e2e_events = et, ee end
end
local samples = memory_run()

print(string.format("bench: %d text events, %.1f MiB of SSE, best of %d rounds (%s clock)", e2e_events,
  #body / 1048576, ROUNDS, clock_name))
print(string.format("  floor (SSE framing + JSON decode, in-process): %7.3f us/event", floor_best * 1e6 / floor_events))
print(string.format("  ai.chat end to end (HTTP + framing + decode + AG-UI events): %7.3f us/event",
  e2e_best * 1e6 / e2e_events))
print(string.format("  ratio end-to-end / floor: %.2fx (target <= 1.5x)", (e2e_best / e2e_events) / (floor_best / floor_events)))
local parts = {}
for i, kb in ipairs(samples) do parts[i] = string.format("%.0f", kb) end
print("  live Lua heap above the start at each tenth of the stream, after a full GC (KiB): " .. table.concat(parts, " "))
emu:stop()
