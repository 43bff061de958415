-- A real redis-server (Debian's) on loopback for one test: started on a free port with no persistence, stopped by
-- :stop(), bounded waits everywhere. Also the driver the Redis store uses outside nginx in the unit specs:
-- Debian's nginx.redis (lua-resty-redis) loaded over a LuaSocket shim of ngx.socket.tcp (the module reads
-- ngx.socket.tcp and ngx.null when it is required; the shim is removed right after).
--
--   local redis = require("helpers.redis")
--   local r = redis.start()          -- r.port, r.url, r:cli("GET", "k"), r:stop(), r:start_again()
--   local driver = redis.driver()    -- pass as store_redis.new{ driver = driver }
local shell = require("helpers.shell")

local run, exec_ok, q, sleep = shell.run, shell.exec_ok, shell.quote, shell.sleep

local M = {}

function M.available()
  return exec_ok("command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1")
end

local function free_port()
  local socket = require("socket")
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end
M.free_port = free_port

local Server = {}
Server.__index = Server

function Server:launch()
  local dir = os.tmpname()
  os.remove(dir)
  assert(exec_ok("mkdir -p " .. q(dir)))
  self.dir = dir
  -- `timeout` bounds it if the test process dies; --save '' and no appendonly: nothing written to disk
  local pid = run("cd " .. q(dir) .. " && timeout -s TERM 900 redis-server --port " .. self.port
    .. " --bind 127.0.0.1 --save '' --appendonly no --daemonize no >" .. q(dir .. "/out.log") .. " 2>&1 & echo $!")
  self.pid = tonumber(pid:match("%d+"))
  for _ = 1, 100 do
    if self:cli("PING"):match("PONG") then return self end
    sleep(0.05)
  end
  error("redis-server did not start: " .. tostring(shell.read_file(dir .. "/out.log")))
end

--- Start redis-server on a free loopback port.
function M.start()
  assert(M.available(), "redis-server is missing: apt-get install redis-server (scripts/setup.sh)")
  local self = setmetatable({ port = free_port() }, Server)
  self.url = "redis://127.0.0.1:" .. self.port .. "/0"
  return self:launch()
end

--- redis-cli on this server: its output.
function Server:cli(...)
  local cmd = "timeout 5 redis-cli -h 127.0.0.1 -p " .. self.port
  for _, a in ipairs({ ... }) do cmd = cmd .. " " .. q(a) end
  return run(cmd .. " 2>&1")
end

--- Stop it (SHUTDOWN NOSAVE, then the process group); waits at most ~5 s.
function Server:stop()
  if not self.pid then return end
  self:cli("SHUTDOWN", "NOSAVE")
  for _ = 1, 50 do
    if not exec_ok("kill -0 " .. self.pid .. " 2>/dev/null") then break end
    sleep(0.1)
  end
  exec_ok("kill -KILL " .. self.pid .. " 2>/dev/null")
  self.pid = nil
  if self.dir then exec_ok("rm -rf " .. q(self.dir)) end
end

--- Start it again on the same port (after stop).
function Server:start_again()
  return self:launch()
end

-- ngx.socket.tcp over LuaSocket: what nginx.redis calls (connect, send, receive a line or n bytes, settimeout,
-- setkeepalive, getreusedtimes, close).
local function tcp()
  local socket = require("socket")
  local s = socket.tcp()
  local o = {}
  function o.connect(_, h, p) return s:connect(h, p) end
  function o.settimeout(_, ms) s:settimeout(ms / 1000) end
  function o.send(_, data)
    if type(data) == "table" then data = table.concat(data) end
    return s:send(data)
  end
  function o.receive(_, pat)
    local r, err = s:receive(pat or "*l")
    return r, err
  end
  function o.setkeepalive() s:close() return 1 end
  function o.getreusedtimes() return 0 end
  function o.close() s:close() return 1 end
  return o
end

M.NULL = setmetatable({}, { __tostring = function() return "null" end })

local driver
--- nginx.redis, loaded with the shim as `ngx` (then the global is removed again).
function M.driver()
  if driver then return driver end
  local had = rawget(_G, "ngx")
  _G.ngx = { socket = { tcp = tcp }, null = M.NULL, config = {} }
  package.loaded["nginx.redis"] = nil
  local saved = package.path
  package.path = "/usr/share/lua/5.1/?.lua;" .. package.path
  local ok, mod = pcall(require, "nginx.redis")
  package.path = saved
  package.loaded["nginx.redis"] = nil
  _G.ngx = had
  assert(ok, tostring(mod))
  driver = mod
  return driver
end

return M
