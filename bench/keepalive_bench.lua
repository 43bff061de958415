-- Small chats one after the other over keep-alive: R sequential ai.chat{stream = false} calls (the emulator's default
-- short answer, one adapter, libcurl reusing its connection), requests per second of wall time, median of the rounds;
-- with --curl also curl making the same R requests (same endpoint, same headers and body) in ONE invocation, so over
-- one connection (curl --config with R urls, keep-alive on). The emulator records each request's connection: the
-- connections used are reported for both.
--   make bench (bench/run.lua)     BENCH_REQUESTS=2000 BENCH_KEEPALIVE_ROUNDS=3
--   lua5.4 bench/keepalive_bench.lua [--curl]
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local ai = require("tanstack.ai")
local emulator = require("helpers.emulator")

local R = tonumber(os.getenv("BENCH_REQUESTS")) or 2000
local ROUNDS = tonumber(os.getenv("BENCH_KEEPALIVE_ROUNDS")) or 3
local with_curl = arg and arg[1] == "--curl"

local emu = emulator.start()
local body = B.chat_body(emu)
local adapter = B.adapter(emu.url)
local expected = ai.chat({ adapter = adapter, stream = false, messages = B.MESSAGES })
assert(type(expected) == "string" and #expected > 0, "no answer")

local function connections()
  local seen, n, reqs = {}, 0, 0
  for _, r in ipairs(emu:requests("/chat/completions")) do
    reqs = reqs + 1
    if r.conn_id and not seen[r.conn_id] then seen[r.conn_id], n = true, n + 1 end
  end
  return n, reqs
end

local function ours()
  emu:reset()
  local w0, c0 = B.wall_ms(), B.cpu()
  for _ = 1, R do
    local text, err = ai.chat({ adapter = adapter, stream = false, messages = B.MESSAGES })
    if text ~= expected then error("ai.chat: " .. tostring(err or text), 0) end
  end
  local wall, cpu = (B.wall_ms() - w0) / 1000, B.cpu() - c0
  local conns, reqs = connections()
  assert(reqs == R, "the emulator saw " .. reqs .. " requests")
  return wall, cpu, conns
end

local function curl()
  local cfg, bodyf, stat = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(bodyf, "wb"))
  f:write(body)
  f:close()
  f = assert(io.open(cfg, "wb"))
  local url = 'url = "' .. B.chat_url(emu.url) .. '"\n'
  f:write(url:rep(R))
  f:close()
  emu:reset()
  local out = B.sh(B.q(B.root .. "/build/bench/runstat") .. " " .. B.q(stat) .. " curl -s --keepalive"
    .. " -H 'content-type: application/json' -H " .. B.q("authorization: Bearer " .. B.KEY) .. " --data-binary @"
    .. B.q(bodyf) .. " --config " .. B.q(cfg) .. " 2>&1")
  local s = B.read_file(stat) or ""
  os.remove(cfg)
  os.remove(bodyf)
  os.remove(stat)
  local done = select(2, out:gsub("data: %[DONE%]", ""))
  assert(s:match("status=0") and done == R, "curl: " .. s .. " " .. done .. " answers of " .. R)
  local conns, reqs = connections()
  assert(reqs == R, "the emulator saw " .. reqs .. " requests from curl")
  return tonumber(s:match("wall_us=(%d+)")) / 1e6, tonumber(s:match("cpu_us=(%d+)")) / 1e6, conns
end

for _ = 1, math.min(R, 100) do ai.chat({ adapter = adapter, stream = false, messages = B.MESSAGES }) end -- warm-up
local walls, cpus, conns = {}, {}, 0
local cwalls, ccpus, cconns = {}, {}, 0
for i = 1, ROUNDS do
  walls[i], cpus[i], conns = ours()
  if with_curl then cwalls[i], ccpus[i], cconns = curl() end
end
local rps = R / B.median(walls)
B.say("%s: %d sequential ai.chat{stream = false} over keep-alive, median of %d rounds: %.0f req/s "
  .. "(%.0f us CPU/request, %d connection%s)", B.interp, R, ROUNDS, rps, B.median(cpus) / R * 1e6, conns,
  conns == 1 and "" or "s")
B.emit("ka.requests", R)
B.emit("ka.rps", rps)
B.emit("ka.cpu_us", B.median(cpus) / R * 1e6)
B.emit("ka.connections", conns)
if with_curl then
  local crps = R / B.median(cwalls)
  B.say("curl: the same %d requests in one invocation: %.0f req/s (%.0f us CPU/request, %d connection%s)", R, crps,
    B.median(ccpus) / R * 1e6, cconns, cconns == 1 and "" or "s")
  B.emit("ka.curl_rps", crps)
  B.emit("ka.curl_cpu_us", B.median(ccpus) / R * 1e6)
  B.emit("ka.curl_connections", cconns)
end
emu:stop()
