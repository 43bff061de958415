-- Target health for the router: a target failing `failures` times in a row is skipped for `cooldown` seconds,
-- then tried again (one success clears it). State lives per worker (a Lua table), or per host in a
-- lua_shared_dict when `dict` names one (every worker of the host then sees the same counts).
-- Nothing here crosses hosts: several hosts each keep their own view (docs/openresty.md).
local type, tostring = type, tostring

local _M = {}

local Health = {}
Health.__index = Health

local function now()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.now) == "function" then return ngx.now() end
  return require("tanstack.ai.events").now_ms() / 1000
end
_M.now = now

--- new{ failures = 3, cooldown = 30 (seconds), dict = "name" of a lua_shared_dict (optional), clock = fn }
function _M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    failures = opts.failures or 3,
    cooldown = opts.cooldown or 30,
    clock = opts.clock or now,
    local_state = {},
  }, Health)
  if opts.dict then
    local ngx = rawget(_G, "ngx")
    local d = type(ngx) == "table" and ngx.shared and ngx.shared[opts.dict]
    if not d then error("router: health.dict '" .. tostring(opts.dict) .. "' is not a lua_shared_dict", 3) end
    self.dict = d
  end
  return self
end

--- Is the target skipped now?
function Health:down(key)
  if self.dict then
    local until_t = self.dict:get("h:down:" .. key)
    return until_t ~= nil and until_t > self.clock()
  end
  local s = self.local_state[key]
  return s ~= nil and s.down_until ~= nil and s.down_until > self.clock()
end

--- A failure that counts against the target (retryable, a timeout, a refused connection).
function Health:failure(key)
  if self.dict then
    local n = self.dict:incr("h:fail:" .. key, 1, 0)
    if n and n >= self.failures then
      self.dict:set("h:down:" .. key, self.clock() + self.cooldown, self.cooldown + 1)
      self.dict:set("h:fail:" .. key, 0)
      return true
    end
    return false
  end
  local s = self.local_state[key] or { fails = 0 }
  self.local_state[key] = s
  s.fails = s.fails + 1
  if s.fails >= self.failures then
    s.down_until = self.clock() + self.cooldown
    s.fails = 0
    return true
  end
  return false
end

function Health:success(key)
  if self.dict then
    self.dict:delete("h:fail:" .. key)
    self.dict:delete("h:down:" .. key)
    return
  end
  self.local_state[key] = nil
end

--- { fails, down = bool } for a target (tests, status pages)
function Health:state(key)
  if self.dict then
    return { fails = self.dict:get("h:fail:" .. key) or 0, down = self:down(key) }
  end
  local s = self.local_state[key]
  return { fails = s and s.fails or 0, down = self:down(key) }
end

return _M
