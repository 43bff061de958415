-- Where the edge keeps its state: the one state-store interface the breaker, the limiter and the once-only ledger
-- (tanstack/ai/signing.lua) use.
--   store:get(key) -> value|nil [, err]   store:set(key, value, ttl?)   store:delete(key)
--   store:incr(key, n, init, ttl?) -> the new value | nil, err (init: the value a missing key starts from; ttl
--     applies when the key is created). A negative n settles a reservation.
--   store:add(key, value, ttl?) -> true | false, the value already there | nil, err: set-if-absent, atomic.
--   store:reserve(key, prev_key, prev_weight, n, limit, ttl?) -> true, used, taken | false, used | nil, err:
--     atomically, used = key + prev_key * prev_weight; while used < limit, key grows by taken = min(n, limit - used)
--     (admitted, reserving at most what is left). Never over-admits.
-- Values are numbers or strings. Errors (a store that is down) are `nil, err`: the callers decide what a failure
-- means (docs/security.md: limits fail open or closed, the ledger fails closed for tools with side effects).
-- Three stores ship: a Lua table (per process, bounded), a lua_shared_dict (per host: every worker of the host
-- sees the same state; tanstack.ai.host finds it) and Redis (across hosts: tanstack/ai/router/store_redis.lua).
local host = require("tanstack.ai.host")

local type, tostring, error, setmetatable, pairs = type, tostring, error, setmetatable, pairs

local _M = {}

_M.MEMORY_MAX_KEYS = 10000

local Memory = {}
Memory.__index = Memory

--- A store in a Lua table: per process, with expiry, at most opts.maxKeys keys (default 10000; a new key past it
--- is refused with nil, "full" once the expired ones are swept). opts.clock: seconds (default host.now).
function _M.memory(opts)
  opts = opts or {}
  return setmetatable({ data = {}, exp = {}, n = 0, max = opts.maxKeys or _M.MEMORY_MAX_KEYS,
    clock = opts.clock or host.now }, Memory)
end

function Memory:live(key)
  local v = self.data[key]
  if v == nil then return nil end
  local e = self.exp[key]
  if e and e <= self.clock() then
    self:delete(key)
    return nil
  end
  return v
end

function Memory:sweep()
  local now = self.clock()
  for k, e in pairs(self.exp) do
    if e <= now then self:delete(k) end
  end
end

-- room for a new key? (expired ones are swept first when the table is full)
function Memory:room(key)
  if self.data[key] ~= nil or self.n < self.max then return true end
  self:sweep()
  return self.n < self.max
end

function Memory:put(key, value, ttl)
  if self.data[key] == nil then self.n = self.n + 1 end
  self.data[key] = value
  self.exp[key] = (ttl and ttl > 0) and self.clock() + ttl or nil
end

function Memory:get(key) return self:live(key) end
function Memory:set(key, value, ttl)
  if not self:room(key) then return nil, "full" end
  self:put(key, value, ttl)
  return true
end
function Memory:delete(key)
  if self.data[key] ~= nil then self.n = self.n - 1 end
  self.data[key], self.exp[key] = nil, nil
end
function Memory:incr(key, n, init, ttl)
  local cur = self:live(key)
  if cur == nil then
    if not self:room(key) then return nil, "full" end
    self:put(key, (init or 0) + n, ttl)
    return (init or 0) + n
  end
  self.data[key] = cur + n
  return cur + n
end
function Memory:add(key, value, ttl)
  local cur = self:live(key)
  if cur ~= nil then return false, cur end
  if not self:room(key) then return nil, "full" end
  self:put(key, value, ttl)
  return true
end
function Memory:reserve(key, prev_key, weight, n, limit, ttl)
  local used = (self:live(key) or 0) + (self:live(prev_key) or 0) * weight
  if used >= limit then return false, used end
  local taken = limit - used
  if n < taken then taken = n end
  local v, err = self:incr(key, taken, 0, ttl)
  if v == nil then return nil, err end
  return true, used, taken
end
--- the number of keys held (tests)
function Memory:size() return self.n end

local Shared = {}
Shared.__index = Shared

--- A store over a lua_shared_dict (ngx.shared.DICT: get, set, add, incr, delete with the same meaning).
function _M.shared(dict)
  return setmetatable({ dict = dict, shared = true }, Shared)
end

function Shared:get(key) return (self.dict:get(key)) end
function Shared:set(key, value, ttl)
  local ok, err = self.dict:set(key, value, ttl)
  if not ok then return nil, err end
  return true
end
function Shared:delete(key) self.dict:delete(key) end
function Shared:incr(key, n, init, ttl) return self.dict:incr(key, n, init, ttl) end
function Shared:add(key, value, ttl)
  local ok, err = self.dict:add(key, value, ttl)
  if ok then return true end
  if err == "exists" then return false, self.dict:get(key) end
  return nil, err
end
-- The dict has no compare-and-set: the reservation is added first (incr is atomic across workers) and taken back
-- when it does not fit. A concurrent reader may see the brief overshoot and refuse: never an over-admission.
function Shared:reserve(key, prev_key, weight, n, limit, ttl)
  local v, err = self.dict:incr(key, n, 0, ttl)
  if v == nil then return nil, err end
  local used = v - n + (self.dict:get(prev_key) or 0) * weight
  if used >= limit then
    self.dict:incr(key, -n, 0)
    return false, used
  end
  local taken = limit - used
  if n < taken then taken = n end
  if taken < n then self.dict:incr(key, taken - n, 0) end
  return true, used, taken
end

--- The store of a breaker's, limiter's or ledger's options: opts.store (any table with the methods above), else
--- the lua_shared_dict opts.dict names (raises when nginx has none by that name: a configuration error), else
--- memory. what: the option's name for the error ("health", "limits").
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
