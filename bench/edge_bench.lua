-- The edge under load: one nginx worker (the example config) in front of bench/edge_upstream.mjs (a Workers AI
-- OpenAI-format stream whose pace the request names). Two figures, each beside nginx's own proxy_pass where it has one:
--   streams  S slow AG-UI streams (POST /api/chat) opened at RATE per second, each E text deltas D ms apart, held by
--            this process (tanstack.ai.async tasks over core.http_request): how many complete, the worker's RSS per
--            open stream (its VmRSS once every stream has had its first token, minus before) and its CPU per stream
--            (schedstat over the whole run). Each stream holds two connections in the worker (client + upstream):
--            worker_connections and worker_rlimit_nofile are set to 2.1 S + 256, and S is cut to what the open-file
--            limit (ulimit -n) allows, said in the output.
--   ttfb     the time the edge adds to the first token: the upstream writes one text delta 5 ms after the head and
--            records when (CLOCK_MONOTONIC, the clock core.monotonic_ms reads); a client reads the stream and notes
--            when the first token's bytes arrive; added = client - upstream, P probes one after the other on each of
--            /relay/proxy (proxy_pass), /api/chat (AG-UI) and /v1/chat/completions (OpenAI), while another process
--            holds K slow streams open through the same worker. p50 and p99.
--   make bench (bench/run.lua)   BENCH_EDGE_STREAMS=10000 BENCH_EDGE_EVENTS=20 BENCH_EDGE_DRIP_MS=500
--                                BENCH_EDGE_RATE=2000 BENCH_TTFB_OPEN=1000 BENCH_TTFB_PROBES=300
--   lua5.4 bench/edge_bench.lua [streams|ttfb]...      (default: both)
-- Needs nginx + libnginx-mod-http-lua, node, and `make LUA=luajit` (the C core nginx loads).
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local core = require("tanstack.ai.core")
local async = require("tanstack.ai.async")
local json = require("tanstack.ai.json")

local function envn(name, default) return tonumber(os.getenv(name)) or default end

local MODEL = "@cf/meta/llama-3.1-8b-instruct"
local BODIES = {
  agui = function(content)
    return json.encode({ threadId = "t", runId = "r", state = {}, messages = { { id = "m", role = "user",
      content = content } }, tools = {}, context = {}, forwardedProps = {} })
  end,
  openai = function(content)
    return json.encode({ model = "gpt-4o-mini", stream = true, messages = { { role = "user", content = content } } })
  end,
  proxy = function(content)
    return json.encode({ model = MODEL, stream = true, messages = { { role = "user", content = content } } })
  end,
}
local PATHS = { agui = "/api/chat", openai = "/v1/chat/completions", proxy = "/relay/proxy" }
-- the bytes that say "a text delta arrived" on each wire
local TOKEN = { agui = "TEXT_MESSAGE_CONTENT", openai = '"content":"tok ', proxy = '"content":"tok ' }
local HEADERS = { ["content-type"] = "application/json", accept = "text/event-stream" }

--- One stream held in a task: counts its text deltas; on_first() at the first. Returns true when it ended cleanly
--- with `want` deltas.
local function hold_one(url, body, want, on_first, token)
  local pat = token:gsub("%p", "%%%0")
  local req = core.http_request({ method = "POST", url = url, headers = HEADERS, body = body })
  local status, err = async.await(function() return req:response(false) end, req)
  if status ~= 200 then req:close() return "status " .. tostring(status) .. " " .. tostring(status and "" or err) end
  local n, tail = 0, ""
  while true do
    local data, rerr = async.await(function() return req:read(false) end, req)
    if data == nil then req:close() return rerr == nil and (n == want or ("%d deltas of %d"):format(n, want)) or rerr end
    local chunk = tail .. data
    local before = n
    for _ in chunk:gmatch(pat) do n = n + 1 end
    tail = chunk:sub(-24)
    n = n - select(2, tail:gsub(pat, "")) -- counted again with the next chunk
    if before == 0 and n > 0 and on_first then on_first() end
  end
end

--- Hold count AG-UI streams (events deltas drip ms apart) opened at rate per second; on_open(state) once every stream
--- has had its first token (or failed) or the first has ended cleanly. Returns the state (ok, failures, opened,
--- finished): st when given (other tasks may watch it).
local function hold(url, count, events, drip, rate, on_open, st, mode)
  st, mode = st or {}, mode or "agui"
  st.opened, st.finished, st.ok, st.bad = 0, 0, 0, nil
  local body = BODIES[mode]("slow " .. events .. " " .. drip)
  local t0 = B.wall_ms()
  async.spawn(function()
    for i = 1, count do
      while (i - 1) * 1000 / rate > B.wall_ms() - t0 do async.sleep(1) end
      async.spawn(function()
        local r = hold_one(url, body, events, function() st.opened = st.opened + 1 end, TOKEN[mode])
        st.finished = st.finished + 1
        if r == true then st.ok = st.ok + 1 elseif not st.bad then st.bad = tostring(r) end
      end)
    end
  end)
  async.spawn(function()
    while st.opened + (st.finished - st.ok) < count and st.ok == 0 do async.sleep(5) end
    on_open(st)
  end)
  async.run()
  return st
end

-- `lua edge_bench.lua hold <url> <count> <events> <drip> <rate>`: the background holder of the ttfb figure
if arg[1] == "hold" then
  local st = hold(arg[2], tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6]), function(st)
    io.stdout:write("OPEN ", st.opened - st.finished, "\n")
    io.stdout:flush()
  end)
  io.stdout:write("DONE ", st.ok, " ", tostring(st.bad), "\n")
  return
end

local nginx = require("openresty.nginx")
local q, run, read_file = nginx._internal.q, nginx._internal.run, nginx._internal.read_file

local want = {}
for i = 1, #arg do want[arg[i]] = true end
if next(want) == nil then want = { streams = true, ttfb = true } end

local S = envn("BENCH_EDGE_STREAMS", 10000)
local E, D, RATE = envn("BENCH_EDGE_EVENTS", 20), envn("BENCH_EDGE_DRIP_MS", 500), envn("BENCH_EDGE_RATE", 2000)
local K, P = envn("BENCH_TTFB_OPEN", 1000), envn("BENCH_TTFB_PROBES", 300)

-- the open-file limit this process (and the nginx it starts) runs under: each stream is two descriptors in the worker
local nofile = tonumber(((read_file("/proc/self/limits") or ""):match("Max open files%s+(%d+)"))) or 1024
-- two descriptors per stream, a tenth more connection slots (nginx reuses, and warns, when its free list runs dry
-- while closed connections linger: streams were reset with exactly 2 S + 64) and 256 for the rest
local function slots(n) return math.ceil(2.1 * n) + 256 end
local fit = math.floor((nofile - 256) / 2.1)
local S_run = math.min(S, fit)
local conns = slots(math.max(S_run, K))

-- the upstream
local up_out = os.tmpname()
local up_pid = run("cd " .. q(B.root) .. " && (node bench/edge_upstream.mjs $PPID >" .. q(up_out) .. " 2>&1 & echo $!)"):match("%d+")
local up_url
for _ = 1, 100 do
  local port = (read_file(up_out) or ""):match("LISTENING (%d+)")
  if port then up_url = "http://127.0.0.1:" .. port break end
  nginx._internal.sleep(0.05)
end
assert(up_url, "bench/edge_upstream.mjs did not start: " .. tostring(read_file(up_out)))

local conf = assert(read_file(nginx.root .. "/examples/openresty/nginx.conf"))
local n
-- BENCH_EDGE_SOCKET_BUFFER=16k: try another lua_socket_buffer_size than the example's (what a stream's RSS is made of)
if os.getenv("BENCH_EDGE_SOCKET_BUFFER") then
  conf = conf:gsub("lua_socket_buffer_size %w+;", "lua_socket_buffer_size " .. os.getenv("BENCH_EDGE_SOCKET_BUFFER")
    .. ";", 1)
end
conf, n = conf:gsub("worker_connections %d+;", "worker_connections " .. conns .. ";", 1)
assert(n == 1, "the example sets worker_connections")
conf = conf:gsub("worker_processes 1;", "worker_processes 1;\nworker_rlimit_nofile " .. math.min(nofile, conns)
  .. ";", 1)
conf, n = conf:gsub("        location = /healthz {", table.concat({
  "        location = /relay/proxy {",
  "            proxy_pass " .. up_url .. "/client/v4/accounts/bench-account/ai/v1/chat/completions;",
  "            proxy_http_version 1.1;",
  "            proxy_buffering off;",
  "        }",
  -- BENCH_EDGE_PROFILE=file: LuaJIT's sampling profiler (jit.p) over the streams part, its report in that file
  "        location = /bench/profile {",
  "            content_by_lua_block { local p = require(\"jit.p\") if ngx.var.arg_stop then p.stop() else "
    .. "p.start(\"Fl3i1\", ngx.var.arg_file) end ngx.print(\"ok\") }",
  "        }",
  "        location = /bench/heap {",
  "            content_by_lua_block { collectgarbage() ngx.print(collectgarbage(\"count\")) }",
  "        }",
  "        location = /healthz {",
}, "\n"), 1)
assert(n == 1)
local srv = nginx.start({ base = conf, env = {
  CLOUDFLARE_ACCOUNT_ID = "bench-account", CLOUDFLARE_API_KEY = "bench-key",
  CLOUDFLARE_API_BASE_URL = up_url .. "/client/v4", CHAT_MODEL = MODEL,
} })

local function cpu_s(pid)
  local total = 0
  for tid in run("ls /proc/" .. pid .. "/task 2>/dev/null"):gmatch("%d+") do
    total = total + (tonumber((read_file("/proc/" .. pid .. "/task/" .. tid .. "/schedstat") or ""):match("^(%d+)"))
      or 0)
  end
  return total / 1e9
end
local function rss_kib(pid) return tonumber((read_file("/proc/" .. pid .. "/status") or ""):match("VmRSS:%s*(%d+)")) end

-- the worker's live Lua heap in KiB, after a full collection (a blocking request: the holder's tasks wait meanwhile)
local function lua_heap()
  local req = core.http_request({ url = srv.url .. "/bench/heap" })
  local status = req:response()
  local v = status == 200 and tonumber(req:read_all())
  req:close()
  return v
end

local function streams(worker)
  B.say("streams: %d wanted, %d run (ulimit -n %d; worker_connections %d: two per stream and slack), each %d deltas "
    .. "%d ms apart, opened at %d/s", S, S_run, nofile, conns, E, D, RATE)
  -- warm the worker (code paths, the first upstream connections) before the baseline
  hold(srv.url .. PATHS.agui, 20, 2, 0, 1000, function() end)
  local profile = os.getenv("BENCH_EDGE_PROFILE")
  local function prof(q_) local r = core.http_request({ url = srv.url .. "/bench/profile?" .. q_ }) r:response() r:close() end
  if profile then prof("file=" .. profile) end
  local heap0 = lua_heap()
  local function fds() return tonumber(run("ls /proc/" .. worker .. "/fd | wc -l"):match("%d+")) or 0 end
  local function streams_open(d) return math.floor(math.max(d, 0) / 2) end
  local rss0, fd0, cpu0, w0 = rss_kib(worker), fds(), cpu_s(worker), B.wall_ms()
  -- the streams open in the worker are its descriptors beyond the idle ones, two per stream: sampled 4 times a
  -- second, the sample with the most open is the one reported (a loaded machine may not open them all at once)
  local st, sample, heap_at = {}, nil, nil
  async.spawn(function()
    while not (st.finished and st.finished >= S_run) do
      local open = streams_open(fds() - fd0)
      if not sample or open > sample.open then
        sample = { rss = rss_kib(worker), open = open, at = (B.wall_ms() - w0) / 1000 }
      end
      async.sleep(250)
    end
  end)
  hold(srv.url .. PATHS.agui, S_run, E, D, RATE, function()
    local open = streams_open(fds() - fd0)
    heap_at = { heap = lua_heap(), open = open }
  end, st)
  local cpu, wall = cpu_s(worker) - cpu0, (B.wall_ms() - w0) / 1000
  if profile then prof("stop=1") end
  local per = (sample.rss - rss0) / math.max(sample.open, 1)
  B.say("  %d/%d complete in %.1f s%s; at most %d open in the worker (at %.1f s): its RSS +%.1f KiB per open stream "
    .. "(%d -> %d KiB); its CPU %.2f s in all, %.0f us per stream", st.ok, S_run, wall,
    st.bad and ("; first failure: " .. st.bad) or "", sample.open, sample.at, per, rss0, sample.rss, cpu,
    cpu / S_run * 1e6)
  B.emit("edge.streams_wanted", S)
  B.emit("edge.streams", S_run)
  B.emit("edge.nofile", nofile)
  B.emit("edge.ok", st.ok)
  B.emit("edge.open_at_sample", sample.open)
  local heap = heap_at and heap_at.heap and heap0 and (heap_at.heap - heap0) / math.max(heap_at.open, 1)
  if heap then B.say("  the worker's Lua heap once every stream had its first token: +%.1f KiB per open stream "
    .. "(%.0f -> %.0f KiB, %d open)", heap, heap0, heap_at.heap, heap_at.open) end
  B.emit("edge.rss_kib", per)
  if heap then B.emit("edge.heap_kib", heap) end
  B.emit("edge.cpu_us", cpu / S_run * 1e6)
  -- the same streams through proxy_pass: what nginx itself costs per stream and per open stream
  collectgarbage("collect")
  local prss0, pfd0, pcpu0, pw0 = rss_kib(worker), fds(), cpu_s(worker), B.wall_ms()
  local pst, psample = {}, nil
  async.spawn(function()
    while not (pst.finished and pst.finished >= S_run) do
      local open = streams_open(fds() - pfd0)
      if not psample or open > psample.open then psample = { rss = rss_kib(worker), open = open } end
      async.sleep(250)
    end
  end)
  hold(srv.url .. PATHS.proxy, S_run, E, D, RATE, function() end, pst, "proxy")
  local pcpu = cpu_s(worker) - pcpu0
  -- RSS the relay run left mapped is reused here: the growth beyond it, per open stream (a floor, not a measure)
  local pper = (math.max(psample.rss - prss0, 0)) / math.max(psample.open, 1)
  B.say("  proxy_pass, the same streams: %d/%d complete in %.1f s; at most %d open; RSS +%.1f KiB per open stream "
    .. "beyond what the relay run left; CPU %.2f s in all, %.0f us per stream", pst.ok, S_run,
    (B.wall_ms() - pw0) / 1000, psample.open, pper, pcpu, pcpu / S_run * 1e6)
  B.emit("edge.proxy_ok", pst.ok)
  B.emit("edge.proxy_cpu_us", pcpu / S_run * 1e6)
end

--- One probe: added ms between the upstream writing the first token and this client reading it.
local function probe(mode, id)
  local req = core.http_request({ method = "POST", url = srv.url .. PATHS[mode], headers = HEADERS,
    body = BODIES[mode]("probe " .. id .. " 5") })
  assert(req:response() == 200, mode .. ": not 200")
  local seen, at = "", nil
  while true do
    local data = req:read()
    if not data then break end
    if not at then
      seen = seen .. data
      if seen:find(TOKEN[mode], 1, true) then at = core.monotonic_ms() end
    end
  end
  req:close()
  assert(at, mode .. ": no text delta in " .. seen:sub(1, 300))
  local g = core.http_request({ url = up_url .. "/__first?id=" .. id })
  assert(g:response() == 200, "the upstream has no time for probe " .. id)
  local t_up = tonumber(g:read_all())
  g:close()
  return at - t_up
end

local function pct(list, p)
  local t = {}
  for i = 1, #list do t[i] = list[i] end
  table.sort(t)
  return t[math.max(1, math.ceil(#t * p))]
end

local function ttfb()
  local hold_out = os.tmpname()
  -- the holder's streams outlast the probes (600 deltas D ms apart); it is killed after them
  local hold_pid = run("cd " .. q(B.root) .. " && (" .. B.interp .. " bench/edge_bench.lua hold "
    .. q(srv.url .. PATHS.agui) .. " " .. K .. " 600 " .. D .. " " .. RATE .. " >" .. q(hold_out) .. " 2>&1 & echo $!)")
    :match("%d+")
  local open
  for _ = 1, 1200 do
    open = tonumber((read_file(hold_out) or ""):match("OPEN (%d+)"))
    if open then break end
    nginx._internal.sleep(0.05)
  end
  assert(open, "the holder did not open its streams: " .. tostring(read_file(hold_out)))
  B.say("ttfb: %d probes per path, one at a time, with %d streams held open through the worker by another process",
    P, open)
  local id = 0
  for _, mode in ipairs({ "proxy", "agui", "openai" }) do
    local list = {}
    for _ = 1, 5 do id = id + 1 probe(mode, "w" .. id) end -- warm-up
    for i = 1, P do
      id = id + 1
      list[i] = probe(mode, tostring(id))
    end
    local p50, p99 = pct(list, 0.5), pct(list, 0.99)
    B.say("  %-7s first token, upstream write -> client read: p50 %.3f ms, p99 %.3f ms, max %.3f ms", mode, p50, p99,
      pct(list, 1))
    B.emit("ttfb." .. mode .. "_p50_ms", p50)
    B.emit("ttfb." .. mode .. "_p99_ms", p99)
  end
  B.emit("ttfb.open", open)
  run("kill " .. hold_pid .. " 2>/dev/null; true")
  os.remove(hold_out)
end

local ok, err = pcall(function()
  local master = assert(read_file(srv.prefix .. "/logs/nginx.pid")):match("%d+")
  local worker = run("pgrep -P " .. master):match("%d+")
  assert(worker, "no nginx worker")
  if want.streams then streams(worker) end
  if want.ttfb then ttfb() end
end)
-- what the worker complained about (a refused or reset stream is explained here)
do
  local seen, shown = {}, 0
  for line in srv:error_log():gmatch("[^\n]+") do
    local what = line:match("%[(%a+)%]")
    if what and what ~= "notice" and what ~= "info" then
      local key = line:gsub("^%S+ %S+ ", ""):gsub("%d+#%d+: %*?%d* ?", ""):sub(1, 160)
      if not seen[key] and shown < 5 then seen[key], shown = true, shown + 1 B.say("  nginx: %s", key) end
    end
  end
end
srv:stop()
run("kill " .. up_pid .. " 2>/dev/null; true")
os.remove(up_out)
if not ok then error(err, 0) end
