-- Helpers of the packaging tests (spec/packaging/*_test.lua, make test-packaging): shell commands with their exit
-- status, temporary directories, a free port, what a build left in the checkout. Lua 5.1 and 5.4.
local shell = require("helpers.shell")

local M = {}

M.root = shell.run("pwd"):gsub("%s+$", "")
M.quote = shell.quote
M.read_file = shell.read_file

--- Run a shell command (stdout and stderr together); returns the output and the exit status.
function M.sh(cmd)
  local out = shell.run("(" .. cmd .. ") 2>&1; echo \"__status=$?\"")
  local status = tonumber(out:match("__status=(%d+)%s*$"))
  return out:gsub("__status=%d+%s*$", ""), status
end

--- Run a shell command; raise with its output unless it exits with 0. Returns the output.
function M.must(cmd)
  local out, status = M.sh(cmd)
  if status ~= 0 then error("command failed (" .. tostring(status) .. "): " .. cmd .. "\n" .. out, 2) end
  return out
end

--- A new empty directory (removed by M.rm).
function M.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  M.must("mkdir -p " .. M.quote(d))
  return d
end

function M.rm(path)
  if path and path:match("^/tmp/") then shell.exec_ok("rm -rf " .. M.quote(path)) end
end

--- A TCP port nothing listens on now, on 127.0.0.1.
function M.free_port()
  local socket = require("socket")
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

--- One GET over HTTP/1.0 to 127.0.0.1:port; the body, or nil.
function M.get(port, path)
  local socket = require("socket")
  local c = socket.tcp()
  c:settimeout(5)
  if not c:connect("127.0.0.1", port) then c:close() return nil end
  c:send("GET " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
  local data, _, partial = c:receive("*a")
  c:close()
  data = data or partial
  return data and data:match("\r\n\r\n(.*)$")
end

--- The checkout's files a build could leave behind: everything git reports outside build/ (ignored files too),
--- minus the directories other tools own (fuzz-out/, node_modules/). A set of "XY path" lines.
function M.checkout_state()
  local set = {}
  for line in shell.run("git status --porcelain --ignored"):gmatch("[^\n]+") do
    local path = line:sub(4)
    if not (path:match("^build/") or path:match("^fuzz%-out/") or path:match("node_modules/")) then
      set[line] = true
    end
  end
  return set
end

--- Lines of `after` that are not in `before` and name a build product (an object, a shared library, a rock, the
--- tanstack/ directory of an in-place LuaRocks build). Other new lines are other people's work in progress.
function M.new_build_products(before, after)
  local out = {}
  for line in pairs(after) do
    local path = line:sub(4)
    if not before[line] and (path:match("%.o$") or path:match("%.so$") or path:match("%.rock$")
        or path:match("^tanstack/") or path:match("^csrc/.*%.o")) then
      out[#out + 1] = line
    end
  end
  table.sort(out)
  return out
end

--- The environment assignments of the `export NAME=value` lines in a text, as "NAME='value' ..." for a shell.
function M.exports(text)
  local vars, list = {}, {}
  for name, value in text:gmatch("\nexport ([%w_]+)=([^\n]*)") do
    vars[name] = value
    list[#list + 1] = name .. "=" .. M.quote(value)
  end
  return vars, table.concat(list, " ")
end

return M
