-- Where this code runs: inside nginx (OpenResty's lua-nginx-module), and in which phase; the one place that asks.
-- Everything else calls these functions instead of probing the `ngx` global itself.
local rawget, type = rawget, type

local _M = {}

--- The `ngx` table when running inside nginx, else nil.
function _M.ngx()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.get_phase) == "function" then return ngx end
  return nil
end

--- True inside nginx.
function _M.is_nginx()
  return _M.ngx() ~= nil
end

--- The current nginx phase ("content", "timer", ...) or nil outside nginx.
function _M.phase()
  local ngx = _M.ngx()
  if not ngx then return nil end
  local ok, phase = pcall(ngx.get_phase)
  return ok and phase or nil
end

--- True where cosockets may be used (lua-nginx-module: rewrite, access, content, timer, ssl_cert, ssl_session_fetch).
local COSOCKET_PHASES = { rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true }
function _M.cosockets()
  local p = _M.phase()
  return p ~= nil and COSOCKET_PHASES[p] == true
end

--- A shared dict by name (lua_shared_dict), or nil outside nginx / when not configured.
function _M.shared_dict(name)
  local ngx = _M.ngx()
  local shared = ngx and ngx.shared
  return shared and name and shared[name] or nil
end

--- Seconds since the epoch (ngx.now inside nginx: no system call; else the C core's clock via events.now_ms).
function _M.now()
  local ngx = _M.ngx()
  if ngx and type(ngx.now) == "function" then return ngx.now() end
  return require("tanstack.ai.events").now_ms() / 1000
end

--- Log at error level inside nginx (ngx.log); outside nginx, to stderr when `fallback` is true.
function _M.log_error(fallback, ...)
  local ngx = _M.ngx()
  if ngx and type(ngx.log) == "function" and ngx.ERR ~= nil then
    ngx.log(ngx.ERR, ...)
  elseif fallback then
    local parts = { ... }
    for i = 1, #parts do parts[i] = tostring(parts[i]) end
    io.stderr:write(table.concat(parts), "\n")
  end
end

return _M
