-- Where the router keeps its counters: the one state-store interface the breaker and the limiter use.
--   store:get(key) -> number|nil        store:set(key, value, ttl?)
--   store:incr(key, n, init, ttl?) -> the new value (init: the value a missing key starts from)
--   store:delete(key)
-- Two stores ship: a Lua table (per worker / per process) and a lua_shared_dict (per host: every worker of the
-- host sees the same counts; tanstack.ai.host finds it). A store across hosts (Redis, ...) is a third table with
-- the same four methods, passed as `store` wherever a `dict` name is accepted.
local host = require("tanstack.ai.host")

local type, tostring, error, setmetatable = type, tostring, error, setmetatable

local _M = {}

local Local = {}
Local.__index = Local

--- A store in a Lua table (ttl is ignored: the callers remove what they no longer read).
function _M.memory()
  return setmetatable({ data = {} }, Local)
end

function Local:get(key) return self.data[key] end
function Local:set(key, value) self.data[key] = value end
function Local:delete(key) self.data[key] = nil end
function Local:incr(key, n, init)
  local v = (self.data[key] or init or 0) + n
  self.data[key] = v
  return v
end

local Shared = {}
Shared.__index = Shared

--- A store over a lua_shared_dict (ngx.shared.DICT: get, set, incr, delete with the same meaning).
function _M.shared(dict)
  return setmetatable({ dict = dict, shared = true }, Shared)
end

function Shared:get(key) return (self.dict:get(key)) end
function Shared:set(key, value, ttl) self.dict:set(key, value, ttl) end
function Shared:delete(key) self.dict:delete(key) end
function Shared:incr(key, n, init, ttl) return (self.dict:incr(key, n, init, ttl)) end

--- The store of a breaker's or limiter's options: opts.store (any table with the four methods), else the
--- lua_shared_dict opts.dict names (raises when nginx has none by that name: a configuration error), else memory.
--- what: the option's name for the error ("health", "limits").
function _M.of(opts, what)
  if type(opts.store) == "table" then return opts.store end
  if opts.dict then
    local d = host.shared_dict(opts.dict)
    if not d then error("router: " .. what .. ".dict '" .. tostring(opts.dict) .. "' is not a lua_shared_dict", 4) end
    return _M.shared(d)
  end
  return _M.memory()
end

return _M
