-- Test harness for the local Cloudflare / AI Gateway emulator (spec/emulator/server.js).
--
--   local emulator = require("helpers.emulator")
--   local emu = emulator.start()          -- or emulator.shared()
--   emu.url, emu.port, emu.pid
--   emu:next({ status = 429, retry_after = 1 })   -- queue a scenario
--   emu:requests(), emu:last_request(), emu:reset(), emu:stop()
--
-- Runs under Lua 5.1/LuaJIT and Lua 5.4. Depends only on lua-cjson, LuaSocket (else the curl executable) and
-- node (never on the project's own C module).

local cjson = require("cjson")

local M = {}

local shell = require("helpers.shell")
local shell_quote, read_file, write_file = shell.quote, shell.read_file, shell.write_file
local sleep, run, exec_ok = shell.sleep, shell.run, shell.exec_ok

-- Is the process alive? Zombies count as dead: when the shell that launched node has
-- exited, node is re-parented to PID 1, which in containers often never reaps it.
local function alive(pid)
  pid = tostring(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if f then
    local stat = f:read("*a") or ""
    f:close()
    local state = stat:match("%)%s+(%a)")
    return state ~= "Z" and state ~= "X"
  end
  if io.open("/proc/self/stat", "r") then return false end -- Linux, no such pid
  return exec_ok("kill -0 " .. pid .. " 2>/dev/null")
end

-- Directory of this file, made absolute.
local function this_dir()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) == "@" then src = src:sub(2) end
  local dir = src:match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then
    local pwd = os.getenv("PWD") or run("pwd"):gsub("%s+$", "")
    dir = pwd .. "/" .. dir
  end
  return dir
end

M.server_path = this_dir() .. "/../emulator/server.js"

local function find_node()
  local env = os.getenv("NODE")
  if env and env ~= "" then return env end
  local p = run("command -v node 2>/dev/null || command -v nodejs 2>/dev/null"):gsub("%s+$", "")
  p = p:match("^[^\n]*")
  if p == nil or p == "" then error("emulator: node (or nodejs) executable not found") end
  return p
end

local Emulator = {}
Emulator.__index = Emulator

-- Well-formed credentials for the specs: the emulator refuses (as Cloudflare does) an account id that is not 32 hex
-- digits, a request without a bearer key and a @cf/ model the catalog does not list (spec/emulator/lib/strict.js).
M.ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
M.API_KEY = "emulator-test-key-0123456789"
M.MODEL = "@cf/meta/llama-4-scout-17b-16e-instruct"

-- Workers AI REST settings pointing at this emulator (config keys of cloudflare.tanstack_ai), merged with extra.
function Emulator:config(extra)
  local c = { accountId = M.ACCOUNT_ID, apiKey = M.API_KEY, apiBaseUrl = self.url .. "/client/v4" }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

-- The REST path of an account's endpoint: emu:rest_path("ai/run/@cf/...") -> "/client/v4/accounts/<id>/ai/run/..."
function Emulator:rest_path(rest)
  return "/client/v4/accounts/" .. M.ACCOUNT_ID .. "/" .. rest
end

local function tmpname()
  local n = os.tmpname()
  return n
end

-- Start a new emulator process. opts: idle_exit (s, default 300), port (default 0),
-- parent_pid (default: the calling Lua process), timeout (s to wait for LISTENING, 10),
-- node (path of the node binary), args (more arguments, shell syntax: "--api-key k", or "--lenient" for a spec
-- that needs an emulator without refusals).
function M.start(opts)
  opts = opts or {}
  local node = opts.node or find_node()
  local out_file = tmpname()
  local err_file = tmpname()
  local idle = opts.idle_exit or 300
  local parent = opts.parent_pid and tostring(opts.parent_pid) or "$PPID"
  local cmd = shell_quote(node) .. " " .. shell_quote(M.server_path)
    .. " --port " .. tostring(opts.port or 0)
    .. " --parent-pid " .. parent
    .. " --idle-exit " .. tostring(idle)
    .. (opts.args and (" " .. opts.args) or "")
    .. " >" .. shell_quote(out_file) .. " 2>" .. shell_quote(err_file) .. " </dev/null & echo $!"
  local pid = run(cmd):match("(%d+)")
  if not pid then error("emulator: could not start node") end
  local deadline = os.time() + (opts.timeout or 10)
  local url
  local tries = 0
  while true do
    local data = read_file(out_file) or ""
    url = data:match("EMULATOR LISTENING (http://127%.0%.0%.1:%d+)")
    if url then break end
    tries = tries + 1
    if os.time() > deadline or (tries > 20 and not alive(pid)) then
      local err = read_file(err_file) or ""
      exec_ok("kill " .. pid .. " 2>/dev/null")
      os.remove(out_file)
      os.remove(err_file)
      error("emulator: did not start within " .. tostring(opts.timeout or 10) .. "s: " .. err)
    end
    sleep(0.05)
  end
  local self = setmetatable({
    url = url,
    port = tonumber(url:match(":(%d+)$")),
    pid = tonumber(pid),
    out_file = out_file,
    err_file = err_file,
    stopped = false,
  }, Emulator)
  return self
end

-- One control request over LuaSocket (in process: a curl process per call made the suite spend most of its time
-- spawning processes). HTTP/1.0, so the emulator closes the connection after its answer. nil when LuaSocket is absent.
local ok_socket, socket = pcall(require, "socket")
local function socket_call(port, method, path, body)
  if not ok_socket then return nil end
  local c = socket.tcp()
  c:settimeout(30)
  local ok, err = c:connect("127.0.0.1", port)
  if not ok then c:close() return nil, err end
  body = body or ""
  c:send(method .. " " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" ..
    "Content-Length: " .. #body .. "\r\n\r\n" .. body)
  local data, rerr, partial = c:receive("*a")
  c:close()
  data = data or partial
  if not data then return nil, rerr end
  return (data:match("\r\n\r\n(.*)$") or "")
end

-- Low-level control call; returns the decoded JSON answer (or raw text on decode failure).
function Emulator:control(method, path, body)
  if self.stopped then error("emulator: already stopped") end
  if body ~= nil and type(body) ~= "string" then body = cjson.encode(body) end
  local answer = socket_call(self.port, method, path, body)
  if answer then
    local ok, decoded = pcall(cjson.decode, answer)
    if ok then return decoded end
    error("emulator: control call " .. method .. " " .. path .. " failed: " .. answer)
  end
  local cmd = "curl -sS --max-time 30 -X " .. method
  local tmp
  if body ~= nil then
    tmp = tmpname()
    write_file(tmp, body)
    cmd = cmd .. " -H 'content-type: application/json' --data-binary @" .. shell_quote(tmp)
  end
  cmd = cmd .. " " .. shell_quote(self.url .. path) .. " 2>&1"
  local out = run(cmd)
  if tmp then os.remove(tmp) end
  local ok, decoded = pcall(cjson.decode, out)
  if ok then return decoded end
  error("emulator: control call " .. method .. " " .. path .. " failed: " .. out)
end

-- All recorded requests (array, oldest first). Optional substring filter on the path.
function Emulator:requests(match)
  local path = "/__emulator/requests"
  if match then
    path = path .. "?match=" .. tostring(match):gsub("[^%w%-%._~/@]", function(c)
      return string.format("%%%02X", string.byte(c))
    end)
  end
  return self:control("GET", path)
end

function Emulator:last_request(match)
  local r = self:requests(match)
  return r[#r]
end

-- Clear recorded requests and queued scenarios.
function Emulator:reset()
  return self:control("POST", "/__emulator/reset", "{}")
end

-- Queue a scenario (table) or a list of scenarios, consumed FIFO by matching requests.
function Emulator:next(scenario)
  return self:control("POST", "/__emulator/next", scenario or {})
end

-- Poll the records until predicate(records) is truthy (default timeout 5 s).
-- Returns the records, or nil + records on timeout.
function Emulator:wait_for(predicate, timeout)
  local steps = math.floor((timeout or 5) / 0.05)
  local recs
  for _i = 0, steps do
    recs = self:requests()
    if predicate(recs) then return recs end
    sleep(0.05)
  end
  return nil, recs
end

-- The emulator's stderr so far (debugging aid).
function Emulator:stderr()
  return read_file(self.err_file) or ""
end

-- Shut the process down and wait for it to exit. Idempotent.
function Emulator:stop()
  if self.stopped then return end
  self.stopped = true
  run("curl -sS --max-time 2 -X POST " .. shell_quote(self.url .. "/__emulator/shutdown") .. " >/dev/null 2>&1")
  local pid = tostring(self.pid)
  local gone = false
  for _i = 1, 60 do
    if not alive(pid) then gone = true break end
    sleep(0.05)
  end
  if not gone then
    exec_ok("kill " .. pid .. " 2>/dev/null")
    for _i = 1, 40 do
      if not alive(pid) then break end
      sleep(0.05)
    end
  end
  os.remove(self.out_file)
  os.remove(self.err_file)
end

-- One instance per Lua process, started lazily, stopped when the Lua state closes
-- (busted exits with os.exit(code, true)); the node side also exits when this process
-- disappears (--parent-pid) or after the idle timeout.
local shared_instance
local shared_sentinel

local function on_close()
  if shared_instance and not shared_instance.stopped then
    pcall(shared_instance.stop, shared_instance)
  end
end

function M.shared()
  if shared_instance and not shared_instance.stopped then return shared_instance end
  shared_instance = M.start()
  if not shared_sentinel then
    if newproxy then
      shared_sentinel = newproxy(true)
      getmetatable(shared_sentinel).__gc = on_close
    else
      shared_sentinel = setmetatable({}, { __gc = on_close })
    end
  end
  return shared_instance
end

M.alive = alive
M._internal = { shell_quote = shell_quote }

return M
