-- Target health for the router (a circuit breaker): a target failing `failures` times in a row is skipped for
-- `cooldown` seconds, then tried again (one success clears it). The counts live in a store (router/store.lua):
-- per worker by default, per host in a lua_shared_dict when `dict` names one, or any store passed as `store`.
-- Nothing here crosses hosts unless the store does (docs/openresty.md).
-- (Named breaker, not health: Neovim's :checkhealth runs every lua/**/health.lua it finds.)
local host = require("tanstack.ai.host")
local store_mod = require("tanstack.ai.router.store")

local setmetatable = setmetatable

local _M = {}

local Breaker = {}
Breaker.__index = Breaker
_M.Breaker = Breaker

--- Seconds since the epoch (the default clock of the breaker and the limiter).
_M.now = host.now

--- new{ failures = 3, cooldown = 30 (seconds), dict = "name" of a lua_shared_dict or store = a store (optional),
---      clock = fn }
function _M.new(opts)
  opts = opts or {}
  return setmetatable({
    failures = opts.failures or 3,
    cooldown = opts.cooldown or 30,
    clock = opts.clock or host.now,
    store = store_mod.of(opts, "health"),
  }, Breaker)
end

--- Is the target skipped now?
function Breaker:down(key)
  local until_t = self.store:get("h:down:" .. key)
  return until_t ~= nil and until_t > self.clock()
end

--- A failure that counts against the target (retryable, a timeout, a refused connection). True when it opened
--- the breaker.
function Breaker:failure(key)
  -- every key expires (a shared store, Redis, keeps nothing forever): a count older than an hour starts over
  local n = self.store:incr("h:fail:" .. key, 1, 0, 3600)
  if n and n >= self.failures then
    self.store:set("h:down:" .. key, self.clock() + self.cooldown, self.cooldown + 1)
    self.store:set("h:fail:" .. key, 0, 3600)
    return true
  end
  return false
end

--- A success: the target's count and cool-down are cleared.
function Breaker:success(key)
  self.store:delete("h:fail:" .. key)
  self.store:delete("h:down:" .. key)
end

--- { fails, down = bool } for a target (tests, status pages)
function Breaker:state(key)
  return { fails = self.store:get("h:fail:" .. key) or 0, down = self:down(key) }
end

return _M
