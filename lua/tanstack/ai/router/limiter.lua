-- Tokens per minute per consumer: a sliding window over two fixed windows (the current one, and the previous one
-- weighted by how much of it still overlaps), and an optional cap on a consumer's concurrent runs.
--
-- Admission reserves what a request may cost (its prompt estimate plus its maximum output: maxTokens, else
-- defaultMaxOutput) atomically in the store (store:reserve), and settles on completion: the reservation is
-- replaced by what the run used (Run:account()). A request is admitted while the consumer's budget has room, and
-- reserves at most what is left of it: parallel requests cannot all be admitted on the same unspent budget (the
-- first ones take it), and a lone request larger than the budget still runs on an empty one.
-- State: a store (router/store.lua): a lua_shared_dict when `dict` is set (per host), a `store` given
-- (Redis: across hosts), else a Lua table (per process). A store that fails: admitted (onStoreError = "open",
-- the default) or refused with 503 ("closed").
local host = require("tanstack.ai.host")
local store_mod = require("tanstack.ai.router.store")
local json = require("tanstack.ai.json")

local type, tostring, floor, ceil, error, setmetatable = type, tostring, math.floor, math.ceil, error, setmetatable
local max = math.max

local _M = {}

_M.DEFAULT_MAX_OUTPUT = 512   -- the output a request without maxTokens reserves (tokens)
_M.SLOT_TTL = 900             -- a concurrency slot a crashed worker never gave back expires (s)

local Limiter = {}
Limiter.__index = Limiter
_M.Limiter = Limiter

--- new{ tokensPerMinute = N (or a function(consumer) -> N|nil for per-consumer limits), window = 60 (seconds),
---      concurrent = N (or a function(consumer) -> N|nil: runs at once per consumer; default none),
---      defaultMaxOutput = 512, onStoreError = "open" | "closed", dict = "name" or store = a store (optional),
---      clock = fn }
function _M.new(opts)
  local self = setmetatable({
    limit = opts.tokensPerMinute or opts.tokens_per_minute,
    concurrent = opts.concurrent,
    window = opts.window or 60,
    default_max_output = opts.defaultMaxOutput or _M.DEFAULT_MAX_OUTPUT,
    fail_closed = opts.onStoreError == "closed",
    clock = opts.clock or host.now,
  }, Limiter)
  if self.limit == nil and self.concurrent ~= nil then self.limit = function() return nil end end
  if type(self.limit) ~= "number" and type(self.limit) ~= "function" then
    error("router: limits.tokensPerMinute must be a number or a function", 3)
  end
  if opts.onStoreError ~= nil and opts.onStoreError ~= "open" and opts.onStoreError ~= "closed" then
    error("router: limits.onStoreError must be \"open\" or \"closed\"", 3)
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

--- A request's reservation: its prompt estimate (about 4 bytes a token over the messages and system prompts)
--- plus its maximum output. chat_opts: ai.chat's options.
function _M.estimate(chat_opts, default_max_output)
  chat_opts = chat_opts or {}
  local text = json.try_encode({ chat_opts.messages or {}, chat_opts.systemPrompts or {} }) or ""
  local prompt = ceil(#text / 4)
  return prompt + (chat_opts.maxTokens or default_max_output or _M.DEFAULT_MAX_OUTPUT), prompt
end

local function value_of(v, consumer)
  if type(v) == "function" then return v(consumer) end
  return v
end

-- A store failure during admission: admitted without a reservation (open) or refused (closed).
local function store_failed(self, adm, err)
  host.log_error(false, "router: limits store failed: ", tostring(err))
  if self.fail_closed then
    adm.ok, adm.reason, adm.retry_after = false, "store", 1
    return nil, adm
  end
  adm.degraded = true
  return adm
end

-- The consumer's concurrency slot: true, or false when the cap is reached (nil, err: the store failed).
local function take_slot(self, adm, consumer)
  local cap = value_of(self.concurrent, consumer)
  if cap == nil then return true end
  local key = "c:" .. tostring(consumer)
  local n, err = self.store:incr(key, 1, 0, _M.SLOT_TTL)
  if n == nil then return nil, err end
  if n > cap then
    self.store:incr(key, -1, 0)
    adm.ok, adm.reason, adm.retry_after, adm.concurrent_limit = false, "concurrency", 1, cap
    return false
  end
  adm.slot = key
  return true
end

--- Admit a request that may cost `amount` tokens: the admission, or nil and the refused admission. An admission
--- is { ok, consumer, limit, remaining, reset (seconds until the window turns), reserved, retry_after (when
--- refused), reason ("tokens", "concurrency", "store") }: what rate-limit headers are made of (limit, remaining,
--- reset). Settle it with Limiter:settle once the run is over.
function Limiter:reserve(consumer, amount)
  local t = self.clock()
  local w = floor(t / self.window)
  local into = (t - w * self.window) / self.window
  local adm = { ok = true, consumer = consumer, reserved = 0, reset = ceil((w + 1) * self.window - t) }
  local slot, err = take_slot(self, adm, consumer)
  if slot == nil then return store_failed(self, adm, err) end
  if slot == false then return nil, adm end
  local limit = limit_for(self, consumer)
  if limit == nil then return adm end
  amount = max(ceil(amount or 0), 1)
  local key = "l:" .. tostring(consumer) .. ":"
  local ok, used, taken = self.store:reserve(key .. w, key .. (w - 1), 1 - into, amount, limit, self.window * 2 + 1)
  adm.limit = limit
  if ok == nil then
    self:release(adm)
    return store_failed(self, adm, used)
  end
  if not ok then
    self:release(adm)
    adm.ok, adm.reason, adm.remaining = false, "tokens", max(0, floor(limit - used))
    -- when the current window ends, the previous one's weight starts falling: retry then at the latest
    adm.retry_after = max(1, adm.reset)
    return nil, adm
  end
  adm.reserved, adm.key, adm.remaining = taken, key .. w, max(0, floor(limit - used - taken))
  return adm
end

-- Give a concurrency slot back.
function Limiter:release(adm)
  if adm.slot then
    self.store:incr(adm.slot, -1, 0)
    adm.slot = nil
  end
end

--- Settle an admission with what the run used (tokens): the reservation is replaced by it. Once.
function Limiter:settle(adm, tokens)
  if type(adm) ~= "table" or adm.settled then return end
  adm.settled = true
  self:release(adm)
  if adm.key then
    local d = (type(tokens) == "number" and tokens or 0) - adm.reserved
    if d ~= 0 then self.store:incr(adm.key, d, 0, self.window * 2 + 1) end
  end
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
