-- A raw-bytes HTTP server for the transport conformance cases (spec/openresty/transport_cases.lua): it answers
-- GET /?raw=<name> with the canned responses of cases.raw_scripts[name], byte for byte (malformed framing
-- included): the n-th request naming a script on a connection gets its n-th response (cases.raw_response), and the
-- connection closes after the script's last one. Inside nginx the same scripts are served by
-- spec/openresty/conformance_ngx.lua on a raw downstream socket; this one serves the libcurl transport's run.
--   local raw = require("tanstack.ai.transport.raw_server")  -- (spec/ on package.path)
--   local srv = raw.start()  -> srv.url (".../?raw="), srv:stop()
-- Runs as its own process (LuaSocket, select() over the connections); it exits with its parent or after a minute
-- idle.
local M = {}

local function serve(root, out_file, parent_pid)
  package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;" .. package.path
  local socket = require("socket")
  local cases = require("openresty.transport_cases")
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  local f = assert(io.open(out_file, "w"))
  f:write("RAW LISTENING ", port, "\n")
  f:close()
  server:settimeout(0)

  local conns, list = {}, {} -- socket -> { buf, counts }; list: the sockets for select()

  local function drop(c)
    c:close()
    conns[c] = nil
    for i = #list, 1, -1 do if list[i] == c then table.remove(list, i) end end
  end

  -- Answers every complete request head buffered on c; false once c is closed.
  local function answer(c, st)
    while true do
      local a, b = st.buf:find("\r?\n\r?\n")
      if not a then return true end
      local request_line = st.buf:match("^[^\r\n]*")
      st.buf = st.buf:sub(b + 1)
      local bytes, last = cases.raw_response(request_line, st.counts)
      c:settimeout(5)
      local ok = c:send(bytes)
      c:settimeout(0)
      if not ok or last then
        drop(c)
        return false
      end
    end
  end

  local function parent_alive()
    local ok = os.execute("kill -0 " .. parent_pid .. " 2>/dev/null")
    return ok == true or ok == 0
  end

  local last_activity = socket.gettime()
  while socket.gettime() - last_activity < 60 do
    local readable = socket.select({ server, (unpack or table.unpack)(list) }, nil, 0.5)
    for _, r in ipairs(readable) do
      last_activity = socket.gettime()
      if r == server then
        local c = server:accept()
        if c then
          c:settimeout(0)
          conns[c] = { buf = "", counts = {} }
          list[#list + 1] = c
        end
      elseif conns[r] then
        local data, err, partial = r:receive(65536)
        local st = conns[r]
        st.buf = st.buf .. (data or partial or "")
        if answer(r, st) and err == "closed" then drop(r) end
      end
    end
    if #readable == 0 and not parent_alive() then break end
  end
end

if select(1, ...) == "--serve" then
  local _, root, out_file, parent_pid = ...
  serve(root, out_file, parent_pid)
  return
end

local Server = {}
Server.__index = Server

function M.start()
  local shell = require("helpers.shell")
  local src = debug.getinfo(1, "S").source:sub(2)
  local root = src:match("^(.*)/spec/tanstack/ai/transport/[^/]*$") or "."
  if root:sub(1, 1) ~= "/" then root = shell.run("pwd"):gsub("%s+$", "") .. "/" .. root end
  local out = os.tmpname()
  -- plain lua5.4 with LuaSocket, without the sanitizer preload of `make asan`, and with the C core built for it
  -- (tanstack.ai.json needs it; the caller's LUA_CPATH may name LuaJIT's or the sanitizer's build)
  local cpath = "LUA_CPATH=" .. shell.quote(root .. "/build/lua5.4/?.so;;") .. " "
  local pid = tonumber(shell.run("env -u LD_PRELOAD " .. cpath .. "lua5.4 " .. shell.quote(src) .. " --serve " .. shell.quote(root)
    .. " " .. shell.quote(out) .. " $PPID >/dev/null 2>&1 </dev/null & echo $!"):match("%d+"))
  assert(pid, "could not start the raw server")
  local port
  for _ = 1, 200 do
    port = (shell.read_file(out) or ""):match("RAW LISTENING (%d+)")
    if port then break end
    shell.sleep(0.05)
  end
  os.remove(out)
  if not port then
    shell.exec_ok("kill " .. pid .. " 2>/dev/null")
    error("the raw server did not start")
  end
  return setmetatable({ pid = pid, url = "http://127.0.0.1:" .. port .. "/?raw=" }, Server)
end

function Server:stop()
  if self.stopped then return end
  self.stopped = true
  require("helpers.shell").exec_ok("kill " .. self.pid .. " 2>/dev/null")
end

return M
