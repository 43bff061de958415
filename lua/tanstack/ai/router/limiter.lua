-- Tokens per minute per consumer: a sliding window over two fixed windows (the current one, and the previous one
-- weighted by how much of it still overlaps). A run is admitted while the consumer's estimate is under the limit;
-- its input + output tokens are counted when it ends (a run may therefore overshoot once, as with every token
-- limiter that cannot know an answer's length in advance). State: a store (router/store.lua): a lua_shared_dict
-- when `dict` is set (per host, shared by the workers), a `store` given, else a Lua table (per worker / per
-- process). Never across hosts unless the store is: that is AI Gateway's rate limiting (docs/openresty.md).
local host = require("tanstack.ai.host")
local store_mod = require("tanstack.ai.router.store")

local type, tostring, floor, error, setmetatable = type, tostring, math.floor, error, setmetatable

local _M = {}

local Limiter = {}
Limiter.__index = Limiter
_M.Limiter = Limiter

--- new{ tokensPerMinute = N (or a function(consumer) -> N|nil for per-consumer limits), window = 60 (seconds),
---      dict = "name" or store = a store (optional), clock = fn }
function _M.new(opts)
  local self = setmetatable({
    limit = opts.tokensPerMinute or opts.tokens_per_minute,
    window = opts.window or 60,
    clock = opts.clock or host.now,
  }, Limiter)
  if type(self.limit) ~= "number" and type(self.limit) ~= "function" then
    error("router: limits.tokensPerMinute must be a number or a function", 3)
  end
  self.store = store_mod.of(opts, "limits")
  return self
end

local function limit_for(self, consumer)
  if type(self.limit) == "function" then return self.limit(consumer) end
  return self.limit
end

--- The consumer's estimated tokens in the last window, the limit, and the seconds left in the current window.
function Limiter:usage(consumer)
  local t = self.clock()
  local w = floor(t / self.window)
  local into = (t - w * self.window) / self.window
  local key = "l:" .. tostring(consumer) .. ":"
  local cur, prev = self.store:get(key .. w) or 0, self.store:get(key .. (w - 1)) or 0
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
  local key = "l:" .. tostring(consumer) .. ":"
  self.store:incr(key .. w, tokens, 0, self.window * 2 + 1)
  -- a window no estimate reads any more (a shared dict's entries also expire by their ttl)
  self.store:delete(key .. (w - 2))
end

return _M
