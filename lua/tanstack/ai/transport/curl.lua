-- The libcurl transport (plain Lua 5.4 / LuaJIT outside nginx): moves bytes, knows no protocol.
-- request(req) -> { status, headers, read, close, info } | nil, err
--   req: method, url, headers (map), body, timeout, connect_timeout, idle_timeout (ms), ca_file
local core = require("tanstack.ai.core")
local errors = require("tanstack.ai.errors")

local _M = { name = "curl" }

local function failure(msg, kind)
  return errors.new({ message = msg or "request failed", kind = kind or "network" })
end

function _M.request(req)
  local h = core.http_request({
    method = req.method or "POST",
    url = req.url,
    headers = req.headers,
    body = req.body,
    timeout = req.timeout,
    connect_timeout = req.connect_timeout,
    idle_timeout = req.idle_timeout,
    ca_file = req.ca_file,
  })
  local status, headers, kind = h:response()
  if not status then
    h:close()
    return nil, failure(headers, kind)
  end
  local res = { status = status, headers = headers }
  function res.read()
    local chunk, msg, k = h:read()
    if chunk == nil and msg then return nil, failure(msg, k) end
    return chunk
  end
  function res.close() h:close() end
  function res.info() return h:info() end
  res.handle = h
  return res
end

function _M.sleep(ms)
  if core.sleep_ms then return core.sleep_ms(ms) end
  -- fallback: let libcurl's poll wait (returns early only on socket activity of other transfers)
  local deadline = os.clock() + ms / 1000
  repeat core.http_wait(math.max(1, math.floor(ms))) until os.clock() >= deadline or true
end

return _M
