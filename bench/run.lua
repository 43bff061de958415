-- make bench: every figure of the performance report in one run, each beside what it is compared with, Lua 5.4 and
-- LuaJIT side by side. Runs the sub-benchmarks of bench/ one after the other (one at a time: the machine has 2
-- cores), shows their own output as they go, collects their "BENCH <key> <value>" lines, then prints one table with
-- the ratios and whether each meets its target (a missed target is reported, never a failure), draws the chart and
-- writes the figures under build/bench/:
--   build/bench/figures.txt   every BENCH line of the run (interpreter, key, value)
--   build/bench/stream.dat, rss.dat, chart data; build/bench/bench.svg, the chart (gnuplot, bench/chart.gp)
--   build/bench/summary.md    the table of docs/performance.md
-- After a full run (no BENCH_ONLY) the chart is copied to docs/bench.svg and the table replaces the part of
-- docs/performance.md between <!-- bench:begin --> and <!-- bench:end --> (BENCH_DOCS=0 leaves both).
--
-- Knobs (environment):
--   BENCH_ONLY=stream,ts,...                   a subset (default: all; the words are below)
--   BENCH_EVENTS=100000 BENCH_ROUNDS=5          stream_bench.lua (floor vs ai.chat), BENCH_TS_ROUNDS=3 ts_stream.mjs
--   BENCH_RSS_EVENTS=10000,100000,1000000       rss_bench.lua
--   BENCH_STREAMS=1000 BENCH_SLOW_EVENTS=20 BENCH_SLOW_DRIP_MS=500   concurrent_bench.lua
--   BENCH_REQUESTS=2000 BENCH_KEEPALIVE_ROUNDS=3  keepalive_bench.lua
--   BENCH_B64_MIB=10 BENCH_B64_ROUNDS=9         base64_bench.c, base64_lua.lua
--   BENCH_REQUIRE_RUNS=20                       require_bench.lua
--   BENCH_RELAY_EVENTS=20000 BENCH_RELAY_RUNS=3 relay_bench.lua (when nginx is installed)
--   BENCH_EDGE_STREAMS=10000 BENCH_EDGE_EVENTS=20 BENCH_EDGE_DRIP_MS=500 BENCH_EDGE_RATE=2000
--   BENCH_TTFB_OPEN=1000 BENCH_TTFB_PROBES=300   edge_bench.lua: slow streams through one nginx worker, first-token time
--   BENCH_SCALE_HISTORY=1000 BENCH_SCALE_TOOLS=100 BENCH_SCALE_TURNS=50 BENCH_SCALE_RESULT_KIB=1024
--   BENCH_SCALE_ROUNDS=5                        scale_bench.lua: cost against the size of the work
-- BENCH_ONLY words: stream,ts,rss,concurrent,keepalive,base64,require,relay,edge,scale
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")

local root, q = B.root, B.q
local INTERPS = { "lua5.4", "luajit" }
local NAMES = { ["lua5.4"] = "Lua 5.4", luajit = "LuaJIT" }
local only = {}
for w in (os.getenv("BENCH_ONLY") or ""):gmatch("[%w_]+") do only[w] = true end
local function wanted(name) return next(only) == nil or only[name] end
local function env(name, default) local v = os.getenv(name) if v and v ~= "" then return v end return default end

local LUA_PATH = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;;"
local function lua_cmd(interp, script, args)
  return "cd " .. q(root) .. " && LUA_PATH=" .. q(LUA_PATH) .. " LUA_CPATH=" .. q(root .. "/build/" .. interp .. "/?.so;;")
    .. " " .. interp .. " " .. q(script) .. (args and (" " .. args) or "")
end

local function first_line(cmd)
  return (B.sh(cmd .. " 2>&1"):match("[^\n]*") or ""):gsub("%s+$", "")
end

local t_start = B.wall_ms()
os.execute("mkdir -p " .. q(root .. "/build/bench"))

-- the machine and the versions, for the record
local cpu_model = ((B.read_file("/proc/cpuinfo") or ""):match("model name%s*:%s*([^\n]+)") or "unknown CPU")
  :gsub("%s+", " ")
local machine = {
  date = os.date("!%Y-%m-%d %H:%M UTC"),
  host = first_line("uname -srm"),
  cpu = cpu_model,
  cores = first_line("nproc"),
  load = ((B.read_file("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)") or "?"),
  commit = first_line("cd " .. q(root) .. " && git rev-parse --short HEAD"),
  dirty = B.sh("cd " .. q(root) .. " && git status --porcelain -- csrc lua 2>/dev/null") ~= "",
  lua = first_line("lua5.4 -v"):match("^(Lua %S+)") or "lua5.4",
  luajit = first_line("luajit -v"):match("^(LuaJIT %S+)") or "luajit", node = "node " .. first_line("node --version"),
  curl = first_line("curl --version"):match("^(curl %S+)") or "curl",
  openssl = first_line("openssl version"):match("^(OpenSSL %S+)") or "OpenSSL",
}
B.say("make bench: %s, %s, %s (%s cores), load %s at the start", machine.date, machine.host, machine.cpu,
  machine.cores, machine.load)
B.say("  commit %s%s; %s, %s, %s, %s, %s", machine.commit,
  machine.dirty and " + uncommitted changes in csrc/ or lua/" or "", machine.lua, machine.luajit, machine.node,
  machine.curl, machine.openssl)

-- R[who][key]: who is an interpreter name, or "all" for the scripts that run several programs themselves
local R = { all = {} }
for _, i in ipairs(INTERPS) do R[i] = {} end
local notes = {}   -- what did not run, and why
local figures = {} -- every BENCH line, in order
local relay_text

--- Run one sub-benchmark: its output shown indented as it comes, its BENCH lines collected under who.
local function run(title, who, cmd)
  B.say("\n== %s", title)
  local p = assert(io.popen(cmd .. " 2>&1", "r"))
  local lines = {}
  for line in p:lines() do
    local key, value = line:match("^BENCH (%S+) (%S+)$")
    if key then
      R[who][key] = tonumber(value) or value
      figures[#figures + 1] = who .. " " .. key .. " " .. value
    else
      lines[#lines + 1] = line
      io.stdout:write("  ", line, "\n")
      io.stdout:flush()
    end
  end
  local ok, _, code = p:close()
  if ok == true or (ok == 0) then return true, lines end
  notes[#notes + 1] = title .. ": failed (exit " .. tostring(code or ok) .. ")"
  B.say("  !! %s failed (exit %s): its figures are missing below", title, tostring(code or ok))
  return false, lines
end

local function has(cmd)
  local r = os.execute("command -v " .. cmd .. " >/dev/null 2>&1")
  return r == true or r == 0
end
local function exists(path)
  local fh = io.open(path, "rb")
  if fh then fh:close() end
  return fh ~= nil
end

-- 6. base64: C against OpenSSL, then the Lua API
if wanted("base64") then
  local exe = root .. "/build/bench/base64_bench"
  if exists(exe) then
    run("base64: csrc/base64.c vs OpenSSL (C)", "all", q(exe) .. " " .. env("BENCH_B64_MIB", "10") .. " "
      .. env("BENCH_B64_ROUNDS", "9"))
  else
    notes[#notes + 1] = "base64 (C): no build/bench/base64_bench (make bench builds it)"
  end
  for _, i in ipairs(INTERPS) do run("base64: ai.base64_encode / ai.base64_decode, " .. NAMES[i], i,
    lua_cmd(i, "bench/base64_lua.lua")) end
end

-- 7. require time
if wanted("require") then run("require time", "all", lua_cmd("lua5.4", "bench/require_bench.lua")) end

-- 1. ai.chat vs the in-memory floor
if wanted("stream") then
  for _, i in ipairs(INTERPS) do run("streaming: ai.chat vs the in-memory floor, " .. NAMES[i], i,
    lua_cmd(i, "bench/stream_bench.lua")) end
end

-- 2. the TypeScript reference on the same stream
if wanted("ts") then
  local N = env("BENCH_EVENTS", "100000")
  if not exists(root .. "/bench/node_modules/@tanstack/ai/package.json") then
    notes[#notes + 1] = "TypeScript reference: skipped (bench/node_modules missing: npm ci --prefix bench failed?)"
    B.say("\n== TypeScript reference: skipped, bench/node_modules is missing (make bench runs npm ci --prefix bench)")
  else
    local emulator = require("helpers.emulator")
    local emu = emulator.start()
    run("TypeScript reference: @tanstack/ai chat() + @cloudflare/tanstack-ai (Node)", "all",
      "cd " .. q(root) .. " && node bench/ts_stream.mjs " .. q(emu.url) .. " " .. N .. " " .. env("BENCH_TS_ROUNDS", "3"))
    emu:stop()
  end
end

-- 3. peak RSS against curl
if wanted("rss") then run("peak RSS: one stream per process, vs curl", "all", lua_cmd("lua5.4", "bench/rss_bench.lua")) end

-- 4. many slow streams at once
if wanted("concurrent") then
  for _, i in ipairs(INTERPS) do
    run("concurrent slow streams through tanstack.ai.async, " .. NAMES[i], i, lua_cmd(i, "bench/concurrent_bench.lua"))
  end
end

-- 5. small chats over keep-alive vs curl
if wanted("keepalive") then
  for _, i in ipairs(INTERPS) do run("keep-alive: sequential ai.chat{stream = false}" .. (i == "lua5.4" and
    " and curl" or "") .. ", " .. NAMES[i], i, lua_cmd(i, "bench/keepalive_bench.lua", i == "lua5.4" and "--curl"
    or nil)) end
end

-- 8. the nginx relay (bench/relay_bench.lua), its table verbatim
if wanted("relay") then
  if has("nginx") then
    local ok, lines = run("relay: bench/relay_bench.lua", "all", lua_cmd("lua5.4", "bench/relay_bench.lua",
      env("BENCH_RELAY_EVENTS", "20000") .. " " .. env("BENCH_RELAY_RUNS", "3")))
    if ok then relay_text = table.concat(lines, "\n") end
  else
    notes[#notes + 1] = "relay: skipped (no nginx)"
    B.say("\n== relay: skipped, nginx is not installed")
  end
end

-- 9, 10. slow streams through one nginx worker, and the time the edge adds to the first token
if wanted("edge") then
  if has("nginx") then
    run("edge: bench/edge_bench.lua (one nginx worker, the client in Lua 5.4)", "all",
      lua_cmd("lua5.4", "bench/edge_bench.lua"))
  else
    notes[#notes + 1] = "edge: skipped (no nginx)"
    B.say("\n== edge: skipped, nginx is not installed")
  end
end

-- 11. cost against the size of the work
if wanted("scale") then
  for _, i in ipairs(INTERPS) do run("cost as the work grows, " .. NAMES[i], i, lua_cmd(i, "bench/scale_bench.lua")) end
end

---------------------------------------------------------------------------------------------------------------------
-- the combined table
---------------------------------------------------------------------------------------------------------------------
local A, L54, LJ = R.all, R["lua5.4"], R.luajit

local function f(v, fmt)
  if type(v) ~= "number" then return "–" end
  return string.format(fmt or "%.2f", v)
end
local function ratio(a, b) if type(a) == "number" and type(b) == "number" and b > 0 then return a / b end end
local function x(v) return v and string.format("%.2fx", v) or "–" end
local function both(a, b) return a .. " / " .. b end
-- a target check per interpreter: "✓ meets" / "✗ misses" ("–" when the figure is missing)
local function mark(vals, pass)
  local out = {}
  for i = 1, 2 do
    local v = vals[i]
    out[i] = v == nil and "–" or (pass(v) and "✓ meets" or "✗ misses")
  end
  return table.concat(out, " / ")
end

local rows = {} -- { figure, Lua 5.4, LuaJIT, compared with, ratio, target }
local section_on = true
local function row(...) if section_on then rows[#rows + 1] = { ... } end end
-- a section: its short title (the table of docs/performance.md, whose text above explains each) and the long one (the terminal)
-- (name: the BENCH_ONLY word; a section that did not run is left out with its rows)
local function section(name, title, long)
  section_on = wanted(name)
  if section_on then rows[#rows + 1] = { section = title, long = long or title } end
end
local function count(n) -- 10000 -> 10k, 1000000 -> 1M
  if n >= 1000000 and n % 1000000 == 0 then return string.format("%dM", math.floor(n / 1000000)) end
  if n >= 1000 and n % 1000 == 0 then return string.format("%dk", math.floor(n / 1000)) end
  return tostring(n)
end

section("stream", "1. streaming, CPU µs per text delta (" .. f(L54["stream.events"] or LJ["stream.events"], "%d") .. " deltas)",
  "1. streaming ai.chat, CPU µs per text delta (" .. f(L54["stream.events"] or LJ["stream.events"], "%d")
  .. " deltas, Workers AI OpenAI-format SSE from the emulator) vs the in-memory floor on the same bytes "
  .. "(SSE parser + cjson.decode + one event table, no HTTP)")
do
  local r1, r2 = ratio(L54["stream.chat_us"], L54["stream.floor_us"]), ratio(LJ["stream.chat_us"], LJ["stream.floor_us"])
  row("ai.chat / in-memory floor",
    f(L54["stream.chat_us"], "%.3f"), f(LJ["stream.chat_us"], "%.3f"),
    "floor " .. both(f(L54["stream.floor_us"], "%.3f"), f(LJ["stream.floor_us"], "%.3f")), both(x(r1), x(r2)),
    "≤ 1.0x: " .. mark({ r1, r2 }, function(v) return v <= 1.0 end))
end
section("ts", "2. the TypeScript reference, CPU µs per text delta", "2. the TypeScript reference on the same stream: "
  .. "@tanstack/ai chat() + @cloudflare/tanstack-ai createWorkersAiChat on Node, CPU µs per text delta")
do
  local ts = A["ts.cpu_us"]
  local r1, r2 = ratio(ts, L54["stream.chat_us"]), ratio(ts, LJ["stream.chat_us"])
  row("TS chat() on Node / ai.chat", f(L54["stream.chat_us"], "%.3f"),
    f(LJ["stream.chat_us"], "%.3f"), "TS " .. f(ts, "%.1f") .. (A["ts.wall_us"] and (" (wall " .. f(A["ts.wall_us"], "%.1f")
    .. ")") or ""), both(x(r1), x(r2)), "≥ 20x: " .. mark({ r1, r2 }, function(v) return v >= 20 end))
end
local rss_list = {}
for n in tostring(A["rss.events"] or ""):gmatch("%d+") do rss_list[#rss_list + 1] = tonumber(n) end
section("rss", "3. peak RSS of a process doing one stream, MiB", "3. peak RSS of a process doing only one stream, MiB, vs "
  .. "curl -s -N -o /dev/null with the same request")
for _, n in ipairs(rss_list) do
  local a, b, c = A["rss.lua5.4." .. n], A["rss.luajit." .. n], A["rss.curl." .. n]
  local r1, r2 = ratio(a, c), ratio(b, c)
  row(count(n) .. " deltas: ai.chat / curl", f(a and a / 1024, "%.1f"), f(b and b / 1024, "%.1f"),
    "curl " .. f(c and c / 1024, "%.1f"), both(x(r1), x(r2)), "≤ 2x: " .. mark({ r1, r2 }, function(v) return v <= 2 end))
end
if #rss_list >= 2 then
  local lo, hi = rss_list[1], rss_list[#rss_list]
  local function g(w) return ratio(A["rss." .. w .. "." .. hi], A["rss." .. w .. "." .. lo]) end
  row("flat: peak at " .. count(hi) .. " / at " .. count(lo), x(g("lua5.4")), x(g("luajit")), "curl " .. x(g("curl")),
    "", "≤ 1.10x: " .. mark({ g("lua5.4"), g("luajit") }, function(v) return v <= 1.10 end))
end
section("concurrent", "4. " .. f(L54["conc.streams"] or LJ["conc.streams"], "%d") .. " concurrent slow streams",
  "4. " .. f(L54["conc.streams"] or LJ["conc.streams"], "%d") .. " concurrent slow streams in one process "
  .. "(tanstack.ai.async), each " .. env("BENCH_SLOW_EVENTS", "20") .. " deltas " .. env("BENCH_SLOW_DRIP_MS", "500")
  .. " ms apart")
do
  local S1, S2 = L54["conc.streams"], LJ["conc.streams"]
  local function okstr(t) return t["conc.ok"] and (f(t["conc.ok"], "%d") .. "/" .. f(t["conc.streams"], "%d")
    .. " (" .. f(t["conc.connections"], "%d") .. " conn.)") or "–" end
  row("streams completed (connections seen)", okstr(L54), okstr(LJ), "", "",
    "all: " .. mark({ L54["conc.ok"] and L54["conc.ok"] == S1, LJ["conc.ok"] and LJ["conc.ok"] == S2 },
      function(v) return v end))
  row("wall s: all at once / one alone", f(L54["conc.wall_s"]), f(LJ["conc.wall_s"]),
    "one stream " .. both(f(L54["conc.one_wall_s"]), f(LJ["conc.one_wall_s"])),
    both(x(L54["conc.wall_ratio"]), x(LJ["conc.wall_ratio"])), "")
  row("CPU s for all the streams", f(L54["conc.cpu_s"]), f(LJ["conc.cpu_s"]), "", "", "")
  row("Lua heap KiB per open stream", f(L54["conc.heap_kib"], "%.1f"), f(LJ["conc.heap_kib"], "%.1f"),
    "open at the sample: " .. both(f(L54["conc.open_at_sample"], "%d"), f(LJ["conc.open_at_sample"], "%d")), "",
    "≤ 32: " .. mark({ L54["conc.heap_kib"], LJ["conc.heap_kib"] }, function(v) return v <= 32 end))
  row("RSS KiB per open stream", f(L54["conc.rss_kib"], "%.1f"), f(LJ["conc.rss_kib"], "%.1f"), "", "",
    "≤ 32: " .. mark({ L54["conc.rss_kib"], LJ["conc.rss_kib"] }, function(v) return v <= 32 end))
end
section("keepalive", "5. small chats over keep-alive (" .. f(L54["ka.requests"] or LJ["ka.requests"], "%d") .. " sequential)",
  "5. small chats over keep-alive: " .. f(L54["ka.requests"] or LJ["ka.requests"], "%d")
  .. " sequential ai.chat{stream = false} vs curl making the same requests over one connection")
do
  local c = A["ka.curl_rps"] or L54["ka.curl_rps"]
  row("req/s: ai.chat / curl", f(L54["ka.rps"], "%.0f"),
    f(LJ["ka.rps"], "%.0f"), "curl " .. f(c, "%.0f") .. " (" .. f(L54["ka.curl_connections"], "%d") .. " conn.)",
    both(x(ratio(L54["ka.rps"], c)), x(ratio(LJ["ka.rps"], c))),
    "≥ 1.0x: " .. mark({ ratio(L54["ka.rps"], c), ratio(LJ["ka.rps"], c) }, function(v) return v >= 1.0 end))
  row("CPU µs per request (connections)", f(L54["ka.cpu_us"], "%.0f") .. " (" .. f(L54["ka.connections"], "%d")
    .. " conn.)", f(LJ["ka.cpu_us"], "%.0f") .. " (" .. f(LJ["ka.connections"], "%d") .. " conn.)",
    "curl " .. f(L54["ka.curl_cpu_us"], "%.0f"), both(x(ratio(L54["ka.cpu_us"], L54["ka.curl_cpu_us"])),
    x(ratio(LJ["ka.cpu_us"], L54["ka.curl_cpu_us"]))), "")
end
section("base64", "6. base64 of " .. f(A["b64.mib"], "%.0f") .. " MiB, MiB/s", "6. base64 of " .. f(A["b64.mib"], "%.0f")
  .. " MiB, MiB/s of binary data (CPU time): C against OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock, then the Lua API")
row("C encode: csrc/base64.c / OpenSSL", f(A["b64.enc_ours"], "%.0f"), "(C)",
  "OpenSSL " .. f(A["b64.enc_ssl"], "%.0f"), x(ratio(A["b64.enc_ours"], A["b64.enc_ssl"])), "")
row("C decode: csrc/base64.c / OpenSSL", f(A["b64.dec_ours"], "%.0f"), "(C)",
  "OpenSSL " .. f(A["b64.dec_ssl"], "%.0f"), x(ratio(A["b64.dec_ours"], A["b64.dec_ssl"])), "")
row("ai.base64_encode / the C call", f(L54["b64lua.enc"], "%.0f"), f(LJ["b64lua.enc"], "%.0f"),
  "C " .. f(A["b64.enc_ours"], "%.0f"), both(x(ratio(L54["b64lua.enc"], A["b64.enc_ours"])),
  x(ratio(LJ["b64lua.enc"], A["b64.enc_ours"]))), "")
row("ai.base64_decode / the C call", f(L54["b64lua.dec"], "%.0f"), f(LJ["b64lua.dec"], "%.0f"),
  "C " .. f(A["b64.dec_ours"], "%.0f"), both(x(ratio(L54["b64lua.dec"], A["b64.dec_ours"])),
  x(ratio(LJ["b64lua.dec"], A["b64.dec_ours"]))), "")
section("require", "7. require in a fresh interpreter, CPU ms", "7. require in a fresh interpreter: CPU ms of the call, and "
  .. "the whole process's wall ms minus an empty interpreter's, medians of " .. env("BENCH_REQUIRE_RUNS", "20")
  .. " processes")
for _, m in ipairs({ "tanstack.ai", "cloudflare.tanstack_ai" }) do
  local function k(i, what) return A["require." .. i .. "." .. m .. "." .. what] end
  row('require("' .. m .. '")', f(k("lua5.4", "inproc_ms")), f(k("luajit", "inproc_ms")), "process wall "
    .. both(f(k("lua5.4", "wall_ms"), "%+.2f"), f(k("luajit", "wall_ms"), "%+.2f")), "", "")
end

section("relay", "8. the nginx relay, worker CPU µs per event (" .. env("BENCH_RELAY_EVENTS", "20000") .. " events)",
  "8. the nginx relay, one worker's CPU µs per upstream event (" .. env("BENCH_RELAY_EVENTS", "20000") .. " events, "
  .. "median of " .. env("BENCH_RELAY_RUNS", "3") .. " runs) against nginx's own proxy_pass of the same stream, "
  .. "same run; nginx runs LuaJIT")
for _, w in ipairs({ { "agui", "AG-UI (/api/chat)" }, { "openai", "OpenAI chunks (/v1/chat/completions)" } }) do
  local v, p = A["relay." .. w[1] .. "_us"], A["relay.proxy_us"]
  local r = ratio(v, p)
  row(w[2] .. " / proxy_pass", "(nginx: LuaJIT)", f(v, "%.3f"), "proxy_pass " .. f(p, "%.3f"), x(r),
    "≤ 3x: " .. mark({ r }, function(z) return z <= 3 end):gsub(" / –$", ""))
end
section("edge", "9. slow streams through one nginx worker", "9. " .. f(A["edge.streams"], "%d") .. " slow AG-UI "
  .. "streams through one nginx worker (wanted " .. f(A["edge.streams_wanted"], "%d") .. "; ulimit -n "
  .. f(A["edge.nofile"], "%d") .. ": two descriptors per stream), opened at " .. env("BENCH_EDGE_RATE", "2000")
  .. "/s, each " .. env("BENCH_EDGE_EVENTS", "20") .. " deltas " .. env("BENCH_EDGE_DRIP_MS", "500") .. " ms apart")
do
  local wanted_n, ran, okn = A["edge.streams_wanted"], A["edge.streams"], A["edge.ok"]
  row("streams completed / wanted", "(nginx: LuaJIT)", okn and (f(okn, "%d") .. "/" .. f(wanted_n, "%d")) or "–",
    ran and ran < (wanted_n or 0) and ("only " .. f(ran, "%d") .. " fit ulimit -n") or "", "",
    "all: " .. mark({ okn and okn == wanted_n }, function(v) return v end):gsub(" / –$", ""))
  row("worker RSS KiB per open stream", "(nginx: LuaJIT)", f(A["edge.rss_kib"], "%.1f"),
    "peak open in the worker: " .. f(A["edge.open_at_sample"], "%d"), "",
    "≤ 24: " .. mark({ A["edge.rss_kib"] }, function(v) return v <= 24 end):gsub(" / –$", ""))
  row("worker CPU µs per stream", "(nginx: LuaJIT)", f(A["edge.cpu_us"], "%.0f"),
    "proxy_pass " .. f(A["edge.proxy_cpu_us"], "%.0f"), x(ratio(A["edge.cpu_us"], A["edge.proxy_cpu_us"])), "reported")
end
section("edge", "10. time the edge adds to the first token, ms", "10. time the edge adds to the first token: the "
  .. "upstream's write of it to the client's read of it, ms, " .. env("BENCH_TTFB_PROBES", "300") .. " probes per "
  .. "path with " .. f(A["ttfb.open"], "%d") .. " slow streams open through the same worker")
for _, w in ipairs({ { "agui", "AG-UI" }, { "openai", "OpenAI chunks" } }) do
  local p99 = A["ttfb." .. w[1] .. "_p99_ms"]
  row(w[2] .. ": p99 (p50)", "(nginx: LuaJIT)", f(p99, "%.3f") .. " (" .. f(A["ttfb." .. w[1] .. "_p50_ms"], "%.3f")
    .. ")", "proxy_pass " .. f(A["ttfb.proxy_p99_ms"], "%.3f") .. " (" .. f(A["ttfb.proxy_p50_ms"], "%.3f") .. ")",
    x(ratio(p99, A["ttfb.proxy_p99_ms"])), "p99 < 1 ms: " .. mark({ p99 }, function(v) return v < 1 end)
    :gsub(" / –$", ""))
end
section("scale", "11. cost as the work grows, CPU µs per ai.chat at n/10, n/2, n", "11. cost as the work grows: "
  .. "CPU µs of one ai.chat{stream = false} at n/10, n/2 and n; bend = the marginal cost per unit from n/2 to n over "
  .. "that from n/10 to n/2 (1 = a straight line, 2.5 = a quadratic)")
for _, d in ipairs({ { "history", "history, messages" }, { "tools", "tools" }, { "turns", "agent turns" },
  { "result", "tool result, KiB" } }) do
  local function pts(t)
    if not t["scale." .. d[1] .. ".3_us"] then return "–" end
    return f(t["scale." .. d[1] .. ".1_us"], "%.0f") .. " / " .. f(t["scale." .. d[1] .. ".2_us"], "%.0f") .. " / "
      .. f(t["scale." .. d[1] .. ".3_us"], "%.0f")
  end
  local n = L54["scale." .. d[1] .. ".1_n"] or LJ["scale." .. d[1] .. ".1_n"]
  local label = d[2] .. " " .. (n and (f(n, "%d") .. "/" .. f(L54["scale." .. d[1] .. ".2_n"] or LJ["scale." .. d[1]
    .. ".2_n"], "%d") .. "/" .. f(L54["scale." .. d[1] .. ".3_n"] or LJ["scale." .. d[1] .. ".3_n"], "%d")) or "")
  local b1, b2 = L54["scale." .. d[1] .. ".bend"], LJ["scale." .. d[1] .. ".bend"]
  row(label, pts(L54), pts(LJ), "bend " .. both(x(b1), x(b2)), "",
    "linear, bend ≤ 1.5: " .. mark({ b1, b2 }, function(v) return v <= 1.5 end))
end

local W = { 40, 22, 22, 30, 15 }
local function pad(s, w)
  s = tostring(s)
  local len = select(2, s:gsub("[^\128-\191]", "")) -- characters, not bytes
  if len >= w then return s end
  return s .. string.rep(" ", w - len)
end
machine.load_end = (B.read_file("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)") or "?"
B.say("\n== summary (%s, %s, %s cores, load %s at the start and %s at the end; CPU times unless wall is said)",
  machine.date, machine.cpu, machine.cores, machine.load, machine.load_end)
B.say("%s %s %s %s %s %s", pad("figure", W[1]), pad("Lua 5.4", W[2]), pad("LuaJIT", W[3]), pad("compared with", W[4]),
  pad("ratio 5.4 / JIT", W[5]), "target")
for _, r in ipairs(rows) do
  if r.section then B.say("-- %s", r.long)
  else B.say("%s %s %s %s %s %s", pad(r[1], W[1]), pad(r[2], W[2]), pad(r[3], W[3]), pad(r[4], W[4]), pad(r[5], W[5]),
    r[6]) end
end
if relay_text then
  B.say("-- 8. the nginx relay (bench/relay_bench.lua %s %s), verbatim:", env("BENCH_RELAY_EVENTS", "20000"),
    env("BENCH_RELAY_RUNS", "3"))
  for line in (relay_text .. "\n"):gmatch("([^\n]*)\n") do B.say("   %s", line) end
end
for _, n in ipairs(notes) do B.say("note: %s", n) end

---------------------------------------------------------------------------------------------------------------------
-- the files: figures, chart data, chart, the table of docs/performance.md
---------------------------------------------------------------------------------------------------------------------
local out = root .. "/build/bench/"
local function write(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
end
write(out .. "figures.txt", "# make bench " .. machine.date .. ": <who> <key> <value>\n" .. table.concat(figures, "\n")
  .. "\n")

local subtitle = string.format("%s, %s, %s cores, commit %s%s", machine.date, machine.cpu, machine.cores,
  machine.commit, machine.dirty and "+" or "")
local chart_ok = false
local stream_rows = {
  { "floor", L54["stream.floor_us"], 1, "Lua 5.4" }, { "ai.chat", L54["stream.chat_us"], 2, "Lua 5.4" },
  { "floor", LJ["stream.floor_us"], 1, "LuaJIT" }, { "ai.chat", LJ["stream.chat_us"], 2, "LuaJIT" },
  { "TS chat()", A["ts.cpu_us"], 3, "Node" },
}
local sd = { "# what, CPU us per text delta, colour, where" }
for _, s in ipairs(stream_rows) do
  if type(s[2]) == "number" then sd[#sd + 1] = string.format('"%s" %.4f %d "%s"', s[1], s[2], s[3], s[4]) end
end
write(out .. "stream.dat", table.concat(sd, "\n") .. "\n")
local rd = { "# events peak-RSS-MiB: lua5.4 luajit curl" }
for _, n in ipairs(rss_list) do
  local function mib(w) local v = A["rss." .. w .. "." .. n] return v and string.format("%.2f", v / 1024) or "NaN" end
  local label = n >= 1000000 and (n / 1000000 .. "M") or n >= 1000 and (n / 1000 .. "k") or tostring(n)
  rd[#rd + 1] = string.format('"%s" %s %s %s', (label:gsub("%.0", "")), mib("lua5.4"), mib("luajit"), mib("curl"))
end
write(out .. "rss.dat", table.concat(rd, "\n") .. "\n")
if #sd > 1 and #rd > 1 then
  if has("gnuplot") then
    local cmd = "gnuplot -e " .. q(string.format("stream_dat='%s'; rss_dat='%s'; out='%s'; subtitle='%s'",
      out .. "stream.dat", out .. "rss.dat", out .. "bench.svg", subtitle:gsub("'", ""))) .. " " .. q(root
      .. "/bench/chart.gp") .. " 2>&1"
    local msg = B.sh(cmd)
    chart_ok = exists(out .. "bench.svg") and not msg:find("error")
    if not chart_ok then notes[#notes + 1] = "chart: gnuplot failed: " .. msg end
  else
    notes[#notes + 1] = "chart: skipped (gnuplot is not installed: apt-get install gnuplot-nox)"
  end
else
  notes[#notes + 1] = "chart: skipped (the streaming or RSS figures are missing)"
end

-- the block of docs/performance.md (the chart beside it: docs/bench.svg)
local md = {}
md[#md + 1] = string.format("Run of %s on %s (%s, %s cores, load %s at the start, %s at the end), commit %s%s; %s, %s, "
  .. "%s, %s, %s.", machine.date, machine.host, machine.cpu, machine.cores, machine.load, machine.load_end, machine.commit,
  machine.dirty and " with uncommitted changes in csrc/ or lua/" or "", machine.lua, machine.luajit, machine.node,
  machine.curl, machine.openssl)
md[#md + 1] = ""
if chart_ok then
  md[#md + 1] = "![make bench: CPU time per streamed event and peak RSS per stream](bench.svg)"
  md[#md + 1] = ""
end
md[#md + 1] = "| figure | Lua 5.4 | LuaJIT | compared with | ratio 5.4 / JIT | target |"
md[#md + 1] = "|---|---|---|---|---|---|"
for _, r in ipairs(rows) do
  if r.section then md[#md + 1] = "| **" .. r.section .. "** | | | | | |"
  else md[#md + 1] = "| " .. table.concat({ r[1], r[2], r[3], r[4], r[5], r[6] }, " | "):gsub("|%s+|", "| |") .. " |" end
end
if relay_text then
  md[#md + 1] = ""
  md[#md + 1] = "8. The nginx relay (`bench/relay_bench.lua " .. env("BENCH_RELAY_EVENTS", "20000") .. " "
    .. env("BENCH_RELAY_RUNS", "3") .. "`, same run):"
  md[#md + 1] = ""
  md[#md + 1] = "```text"
  md[#md + 1] = relay_text
  md[#md + 1] = "```"
end
if #notes > 0 then
  md[#md + 1] = ""
  for _, n in ipairs(notes) do md[#md + 1] = "- " .. n end
end
local block = table.concat(md, "\n") .. "\n"
write(out .. "summary.md", block)

if next(only) ~= nil then
  B.say("\nBENCH_ONLY is set: docs/bench.svg and docs/performance.md keep the last full run's chart and table")
elseif env("BENCH_DOCS", "1") ~= "0" then
  local done = {}
  if chart_ok then
    os.execute("mkdir -p " .. q(root .. "/docs") .. " && cp " .. q(out .. "bench.svg") .. " " .. q(root .. "/docs/bench.svg"))
    done[#done + 1] = "docs/bench.svg"
  end
  local page = root .. "/docs/performance.md"
  local text = B.read_file(page) or ""
  local pos, after = text:find("<!-- bench:begin -->\n", 1, true)
  local stop = after and text:find("<!-- bench:end -->", after, true)
  if pos and stop then
    write(page, text:sub(1, after) .. block .. text:sub(stop))
    done[#done + 1] = "docs/performance.md's table"
  else
    B.say("\ndocs/performance.md has no <!-- bench:begin --> / <!-- bench:end --> block: the table is in " ..
      "build/bench/summary.md")
  end
  if #done > 0 then B.say("\n%s updated from this run (BENCH_DOCS=0 leaves them)", table.concat(done, " and ")) end
end
for _, n in ipairs(notes) do if n:match("^chart") then B.say("note: %s", n) end end
B.say("figures: build/bench/figures.txt, build/bench/summary.md%s; %.0f s in all", chart_ok and ", build/bench/bench.svg"
  or "", (B.wall_ms() - t_start) / 1000)
