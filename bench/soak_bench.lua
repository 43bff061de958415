-- A soak (not a timed test): the example's nginx (examples/openresty/nginx.conf, two workers, its own route table)
-- in front of the emulator takes SHORT non-streaming chats and STREAMS streamed ones on POST /v1/chat/completions
-- (bench/soak_client.mjs, 32 in flight over keep-alive), and the workers' RSS (VmRSS) and open file descriptors
-- (/proc/<pid>/fd) are read before, during (every 2 s) and after. Flat is the goal: docs/openresty.md, "A soak".
--   make LUA=luajit all && make all && make openresty-setup
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
--     lua5.4 bench/soak_bench.lua [SHORT=100000] [STREAMS=10000]
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local emulator = require("helpers.emulator")
local nginx = require("openresty.nginx")

local SHORT = tonumber(arg and arg[1]) or 100000
local STREAMS = tonumber(arg and arg[2]) or 10000
local root, q, sh = B.root, B.q, B.sh

local emu = emulator.start()
local conf = assert(B.read_file(root .. "/examples/openresty/nginx.conf")):gsub("worker_processes 1;",
  "worker_processes 2;")
local srv = nginx.start({ base = conf, max_seconds = 3600, env = {
  CLOUDFLARE_ACCOUNT_ID = B.ACCOUNT, CLOUDFLARE_API_KEY = B.KEY, CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4" } })

local function workers()
  local master = (B.read_file(srv.prefix .. "/logs/nginx.pid") or ""):match("%d+")
  local out = {}
  for pid in sh("pgrep -P " .. master):gmatch("%d+") do out[#out + 1] = pid end
  return out
end

-- RSS (KiB) and open descriptors, summed over the workers.
local function sample()
  local rss, fds = 0, 0
  for _, pid in ipairs(workers()) do
    local status = B.read_file("/proc/" .. pid .. "/status") or ""
    rss = rss + (tonumber(status:match("VmRSS:%s*(%d+)")) or 0)
    fds = fds + (tonumber(sh("ls /proc/" .. pid .. "/fd 2>/dev/null | wc -l"):match("%d+")) or 0)
  end
  return rss, fds
end

local function load(n, kind)
  local out = os.tmpname()
  sh("node " .. q(root .. "/bench/soak_client.mjs") .. " " .. q(srv.url .. "/v1/chat/completions") .. " " .. n
    .. " 32 " .. kind .. " > " .. q(out) .. " 2>&1 & echo $!")
  local samples = {}
  while true do
    local text = B.read_file(out) or ""
    if text:find("}\n?$") then
      os.remove(out)
      return require("tanstack.ai.json").decode(text:match("([^\n]+)\n*$")), samples
    end
    local rss, fds = sample()
    samples[#samples + 1] = { rss = rss, fds = fds }
    os.execute("sleep 2")
  end
end

local function summary(name, samples)
  local lo, hi, flo, fhi = math.huge, 0, math.huge, 0
  for _, s in ipairs(samples) do
    lo, hi = math.min(lo, s.rss), math.max(hi, s.rss)
    flo, fhi = math.min(flo, s.fds), math.max(fhi, s.fds)
  end
  B.say("%-28s RSS %6d - %6d KiB   fds %3d - %3d   (%d samples)", name, lo, hi, flo, fhi, #samples)
end

local function soak()
  -- warm-up (the routers, the JIT, the pools), then the baseline
  load(2000, "short")
  local rss0, fds0 = sample()
  B.say("workers: %s; before: RSS %d KiB, %d fds", table.concat(workers(), ","), rss0, fds0)
  -- the short requests in five rounds: a leak grows round after round, a heap that settles does not
  local s1, ok1, ms1 = {}, 0, 0
  for round = 1, 5 do
    local r, s = load(math.ceil(SHORT / 5), "short")
    ok1, ms1 = ok1 + r.ok, ms1 + r.ms
    for _, x in ipairs(s) do s1[#s1 + 1] = x end
    local rss, fds = sample()
    B.say("  round %d: %d requests, %d ok; after it: RSS %d KiB, %d fds", round, math.ceil(SHORT / 5), r.ok, rss, fds)
    B.emit("soak.rss_round" .. round .. "_kb", rss)
  end
  local rss1, fds1 = sample()
  B.say("%d short requests: %d ok in %.1f s", SHORT, ok1, ms1 / 1000)
  summary("during the short requests", s1)
  B.say("after them: RSS %d KiB, %d fds", rss1, fds1)
  local r2, s2 = load(STREAMS, "stream")
  local rss2, fds2 = sample()
  B.say("%d streams: %d ok, %d ended with [DONE], in %.1f s", STREAMS, r2.ok, r2.ended, r2.ms / 1000)
  summary("during the streams", s2)
  B.say("after them: RSS %d KiB, %d fds", rss2, fds2)
  B.say("RSS after / before: %.2f; fds after - before: %d", rss2 / rss0, fds2 - fds0)
  B.emit("soak.rss_before_kb", rss0)
  B.emit("soak.rss_after_kb", rss2)
  B.emit("soak.fds_before", fds0)
  B.emit("soak.fds_after", fds2)
end

-- nginx and the emulator stop whatever happens
local ok, err = pcall(soak)
srv:stop()
emu:stop()
if not ok then error(err, 0) end
