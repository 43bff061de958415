-- Shared pieces of the bench/ scripts (not part of the library): clocks, medians, /proc readings, the request every
-- streaming benchmark makes, and the "BENCH <key> <value>" lines bench/run.lua collects.
--   package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
--   local B = require("benchlib")
local core = require("tanstack.ai.core")

local B = {}

B.MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8"
B.ACCOUNT = "0123456789abcdef0123456789abcdef"
B.KEY = "bench-key"

-- the interpreter running this script, as make names it (build/<name>/...)
B.interp = rawget(_G, "jit") and "luajit" or "lua5.4"

-- the repository (bench/..), absolute
do
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then dir = (os.getenv("PWD") or ".") .. "/" .. dir end
  B.root = dir:gsub("/bench$", "")
end

--- One figure for the driver: BENCH <key> <value>.
function B.emit(key, value)
  if type(value) == "number" then value = string.format("%.6g", value) end
  io.stdout:write("BENCH ", key, " ", tostring(value), "\n")
  io.stdout:flush()
end

function B.say(fmt, ...)
  io.stdout:write(string.format(fmt, ...), "\n")
  io.stdout:flush()
end

--- CPU seconds of this process.
B.cpu = os.clock

--- Wall-clock milliseconds (monotonic).
B.wall_ms = core.monotonic_ms

function B.median(list)
  local t = {}
  for i = 1, #list do t[i] = list[i] end
  table.sort(t)
  local n = #t
  if n == 0 then return nil end
  if n % 2 == 1 then return t[(n + 1) / 2] end
  return (t[n / 2] + t[n / 2 + 1]) / 2
end

-- the test harness's process and file helpers (spec/helpers/shell.lua): one copy
local shell = require("helpers.shell")
B.read_file, B.q, B.sh = shell.read_file, shell.quote, shell.run

--- A field of /proc/self/status in KiB (VmRSS, VmHWM, ...).
function B.status_kb(field)
  local s = B.read_file("/proc/self/status") or ""
  return tonumber(s:match(field .. ":%s*(%d+)"))
end


--- The Workers AI REST adapter against the emulator. maxResponseBytes (default 64 MiB) lifted to 1 TiB: the
--- benchmarks stream up to a million events (235 MiB).
function B.adapter(emu_url)
  local cf = require("cloudflare.tanstack_ai")
  return cf.create_workers_ai_chat(B.MODEL, { accountId = B.ACCOUNT, apiKey = B.KEY,
    apiBaseUrl = emu_url .. "/client/v4", maxResponseBytes = 1099511627776 })
end

B.MESSAGES = { { role = "user", content = "bench" } }

--- The upstream endpoint and the exact body ai.chat sends there (the curl comparisons make the same request).
function B.chat_url(emu_url)
  return emu_url .. "/client/v4/accounts/" .. B.ACCOUNT .. "/ai/v1/chat/completions"
end

function B.chat_body(emu)
  emu:next({ events = 1 })
  local ai = require("tanstack.ai")
  for _ in ai.chat({ adapter = B.adapter(emu.url), messages = B.MESSAGES }) do end
  local r = assert(emu:last_request("/chat/completions"), "the emulator recorded no chat request")
  return r.body
end

--- One SSE stream of n text deltas, fetched whole with the C core's HTTP client (no ai.chat).
function B.fetch_stream(emu, n, body)
  emu:next({ events = n })
  local req = core.http_request({ method = "POST", url = B.chat_url(emu.url),
    headers = { ["content-type"] = "application/json", authorization = "Bearer " .. B.KEY }, body = body })
  assert(req:response())
  local bytes = assert(req:read_all())
  req:close()
  return bytes
end

return B
