-- Small process and file helpers for the test harnesses (emulator, nginx, TLS server).
-- Lua 5.1 and 5.4; no dependencies.
local M = {}

--- Run a shell command and return its standard output.
function M.run(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return out
end

--- Run a shell command; true when it exited with 0 (os.execute differs between 5.1 and 5.2+).
function M.exec_ok(cmd)
  local a, _, c = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true and (c == 0 or c == nil)
end

--- Quote a string for /bin/sh.
function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- A file's bytes, or nil when it cannot be read.
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local d = f:read("*a")
  f:close()
  return d
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function M.sleep(seconds)
  os.execute("sleep " .. string.format("%.3f", seconds))
end

return M
