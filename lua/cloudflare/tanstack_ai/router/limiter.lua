-- Tokens per minute per consumer: a sliding window over two fixed windows (the current one, and the previous one
-- weighted by how much of it still overlaps). A run is admitted while the consumer's estimate is under the limit;
-- its input + output tokens are counted when it ends (a run may therefore overshoot once, as with every token
-- limiter that cannot know an answer's length in advance). State: a lua_shared_dict when `dict` is set (per host,
-- shared by the workers), else a Lua table (per worker / per process). Never across hosts: that is AI Gateway's
-- rate limiting (docs/openresty.md).
local type, tostring, floor = type, tostring, math.floor
local health = require("cloudflare.tanstack_ai.router.breaker")

local _M = {}

local Limiter = {}
Limiter.__index = Limiter

--- new{ tokensPerMinute = N (or a function(consumer) -> N|nil for per-consumer limits), window = 60 (seconds),
---      dict = "name" (optional), clock = fn }
function _M.new(opts)
  local self = setmetatable({
    limit = opts.tokensPerMinute or opts.tokens_per_minute,
    window = opts.window or 60,
    clock = opts.clock or health.now,
    local_state = {},
  }, Limiter)
  if type(self.limit) ~= "number" and type(self.limit) ~= "function" then
    error("router: limits.tokensPerMinute must be a number or a function", 3)
  end
  if opts.dict then
    local ngx = rawget(_G, "ngx")
    local d = type(ngx) == "table" and ngx.shared and ngx.shared[opts.dict]
    if not d then error("router: limits.dict '" .. tostring(opts.dict) .. "' is not a lua_shared_dict", 3) end
    self.dict = d
  end
  return self
end

local function get(self, key)
  if self.dict then return self.dict:get(key) or 0 end
  return self.local_state[key] or 0
end

local function add(self, key, n, ttl)
  if self.dict then
    self.dict:incr(key, n, 0, ttl)
    return
  end
  self.local_state[key] = (self.local_state[key] or 0) + n
end

local function limit_for(self, consumer)
  if type(self.limit) == "function" then return self.limit(consumer) end
  return self.limit
end

--- The consumer's estimated tokens in the last window, and the limit.
function Limiter:usage(consumer)
  local t = self.clock()
  local w = floor(t / self.window)
  local into = (t - w * self.window) / self.window
  local key = "l:" .. tostring(consumer) .. ":"
  local cur, prev = get(self, key .. w), get(self, key .. (w - 1))
  return cur + prev * (1 - into), limit_for(self, consumer), (w + 1) * self.window - t
end

--- May the consumer start a run? true, or false and the seconds to wait (Retry-After).
function Limiter:admit(consumer)
  local used, limit, left = self:usage(consumer)
  if limit == nil or used < limit then return true end
  -- when the current window ends, the previous one's weight starts falling: retry then at the latest
  local wait = left
  if wait < 1 then wait = 1 end
  return false, floor(wait + 0.999)
end

--- Count a finished run's tokens.
function Limiter:charge(consumer, tokens)
  if type(tokens) ~= "number" or tokens <= 0 then return end
  local w = floor(self.clock() / self.window)
  add(self, "l:" .. tostring(consumer) .. ":" .. w, tokens, self.window * 2 + 1)
  if not self.dict then self.local_state["l:" .. tostring(consumer) .. ":" .. (w - 2)] = nil end
end

return _M
