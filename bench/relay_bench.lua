-- Relay benchmark: one nginx worker (the example config) relaying the same upstream SSE stream (the emulator's
-- Workers AI /ai/v1/chat/completions answer of N text deltas, written in large batches) three ways:
--   proxy   nginx's own proxy_pass of the upstream bytes (proxy_buffering off): the floor
--   agui    POST /api/chat: the router + ai.chat -> TanStack's AG-UI SSE (chat.lua)
--   openai  POST /v1/chat/completions (stream): the router + ai.chat -> OpenAI chat.completion.chunk SSE (openai.lua)
--   ts      TanStack's TypeScript server on Node (@cloudflare/tanstack-ai createWorkersAiChat + @tanstack/ai chat()
--           + toServerSentEventsResponse: spec/openresty/client/ts-relay.mjs) -> AG-UI SSE; CPU of the node process.
--           Skipped when spec/openresty/node_modules lacks @cloudflare/tanstack-ai (make openresty-setup).
-- For each: the worker's CPU time (from /proc: its threads' run time, so the emulator and the client are not counted)
-- per upstream event, and events per second of wall time as the client (curl) sees them; then the ratios to the floor.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/lua5.4/?.so;;' lua5.4 bench/relay_bench.lua [N] [runs]
-- Needs nginx + libnginx-mod-http-lua, node (the emulator), curl, and `make LUA=luajit` (the C core nginx loads).
local emulator = require("helpers.emulator")
local nginx = require("openresty.nginx")
local json = require("tanstack.ai.json")

local N = tonumber(arg and arg[1]) or 20000
local RUNS = tonumber(arg and arg[2]) or 5
local q, run, read_file = nginx._internal.q, nginx._internal.run, nginx._internal.read_file

local TICKS = tonumber(run("getconf CLK_TCK"):match("%d+")) or 100

-- CPU time of a process: the run time of each of its threads in ns (/proc/<pid>/task/*/schedstat, the scheduler's
-- own sum), else utime + stime in clock ticks (10 ms: 0.5 us per event at 20 000 events)
local clock, min_cpu = "schedstat, ns", 0
local function cpu_seconds(pid)
  local total, found = 0, false
  for tid in run("ls /proc/" .. pid .. "/task 2>/dev/null"):gmatch("%d+") do
    local ns = tonumber((read_file("/proc/" .. pid .. "/task/" .. tid .. "/schedstat") or ""):match("^(%d+)"))
    if ns then total, found = total + ns, true end
  end
  if found then return total / 1e9 end
  clock = "/proc/<pid>/stat at " .. TICKS .. " ticks/s: a floor under 1 tick is shown as 1 tick"
  min_cpu = 1 / TICKS
  local stat = read_file("/proc/" .. pid .. "/stat")
  assert(stat, "no /proc/" .. pid .. "/stat")
  -- fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15
  local rest = stat:match("%) (.*)$")
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  return (tonumber(f[12]) + tonumber(f[13])) / TICKS
end

local function now()
  return tonumber(run("date +%s.%N")) or os.time()
end

local emu = emulator.start()
local conf = assert(read_file(nginx.root .. "/examples/openresty/nginx.conf"))
local upstream = emu.url .. "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions"
local n
conf, n = conf:gsub("        location = /healthz {", table.concat({
  "        location = /relay/proxy {",
  "            proxy_pass " .. upstream .. ";",
  "            proxy_http_version 1.1;",
  "            proxy_buffering off;",
  "            proxy_set_header Authorization \"Bearer bench-key\";",
  "        }",
  "        location = /healthz {",
}, "\n"), 1)
assert(n == 1)
assert(conf:find("worker_processes 1;", 1, true), "the example runs one worker")
local srv = nginx.start({ base = conf, env = {
  CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef", CLOUDFLARE_API_KEY = "bench-key",
  CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4", CHAT_MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8",
} })

local ts_pid, ts_url
if read_file(nginx.root .. "/spec/openresty/node_modules/@cloudflare/tanstack-ai/package.json") then
  local out = os.tmpname()
  ts_pid = run("cd " .. q(nginx.root .. "/spec/openresty/client") .. " && (timeout 900 node ts-relay.mjs "
    .. q(emu.url) .. " >" .. q(out) .. " 2>&1 & echo $!)"):match("%d+")
  for _ = 1, 100 do
    local port = (read_file(out) or ""):match("LISTENING (%d+)")
    if port then ts_url = "http://127.0.0.1:" .. port .. "/" break end
    nginx._internal.sleep(0.1)
  end
  os.remove(out)
  -- `timeout` runs node as its child: measure node itself
  local child = ts_pid and run("pgrep -P " .. ts_pid):match("%d+")
  if ts_url and child then ts_pid = child else ts_url = nil end
end

local ok, err = pcall(function()
  local master = assert(read_file(srv.prefix .. "/logs/nginx.pid")):match("%d+")
  local worker = run("pgrep -P " .. master):match("%d+")
  assert(worker, "no nginx worker")

  local bodies = {
    proxy = json.encode({ model = "@cf/meta/llama-3.1-8b-instruct-fp8", stream = true,
      messages = { { role = "user", content = "bench" } } }),
    agui = json.encode({ threadId = "t", runId = "r", state = {}, messages = { { id = "m", role = "user",
      content = "bench" } }, tools = {}, context = {}, forwardedProps = {} }),
    openai = json.encode({ model = "gpt-4o-mini", stream = true, messages = { { role = "user", content = "bench" } } }),
  }
  bodies.ts = bodies.agui
  local paths = { proxy = "/relay/proxy", agui = "/api/chat", openai = "/v1/chat/completions" }
  local body_file = os.tmpname()
  local out_file = os.tmpname()

  local function once(mode)
    emu:next({ events = N })
    local f = assert(io.open(body_file, "wb"))
    f:write(bodies[mode])
    f:close()
    local pid = mode == "ts" and ts_pid or worker
    local url = mode == "ts" and ts_url or srv.url .. paths[mode]
    local c0, t0 = cpu_seconds(pid), now()
    run("curl -s -N --max-time 300 -H 'content-type: application/json' --data-binary @" .. q(body_file) .. " -o "
      .. q(out_file) .. " " .. q(url))
    local t1, c1 = now(), cpu_seconds(pid)
    local out = read_file(out_file) or ""
    local events = 0
    for _ in out:gmatch("data: ") do events = events + 1 end
    assert(events >= N, mode .. ": the client got " .. events .. " events for " .. N .. " upstream events")
    return c1 - c0, t1 - t0, #out
  end

  local results = {}
  local modes = { "proxy", "agui", "openai" }
  if ts_url then modes[#modes + 1] = "ts" end
  for _, mode in ipairs(modes) do
    once(mode) -- warm-up (connections, JIT)
    local cpu, wall, bytes = {}, {}, 0
    for i = 1, RUNS do
      cpu[i], wall[i], bytes = once(mode)
    end
    table.sort(cpu)
    table.sort(wall)
    local med = math.floor((RUNS + 1) / 2)
    results[mode] = { cpu = cpu[med], wall = wall[med], bytes = bytes }
  end
  os.remove(body_file)
  os.remove(out_file)

  print(string.format("relay benchmark: one nginx worker, %d upstream SSE events per request, median of %d runs",
    N, RUNS))
  print(string.format("%-8s %14s %14s %14s %12s %10s", "relay", "CPU us/event", "events/s", "client bytes",
    "CPU x floor", "wall x"))
  local floor = results.proxy
  for _, mode in ipairs(modes) do
    local r = results[mode]
    print(string.format("%-8s %14.3f %14.0f %14d %12.1f %10.1f", mode, r.cpu / N * 1e6, N / r.wall, r.bytes,
      r.cpu / math.max(floor.cpu, min_cpu), r.wall / floor.wall))
  end
  -- for bench/run.lua's table (it leaves these lines out of the verbatim copy)
  for _, mode in ipairs(modes) do
    print(string.format("BENCH relay.%s_us %.6g", mode, results[mode].cpu / N * 1e6))
  end
  print("(CPU time: " .. clock .. ")")
end)
srv:stop()
if ts_pid then run("kill " .. ts_pid .. " 2>/dev/null; true") end
emu:stop()
if not ok then error(err, 0) end
