-- The state store across hosts: Redis, through Debian's lua-nginx-redis (OpenResty's lua-resty-redis, required as
-- "nginx.redis"; it has set_timeout, not set_timeouts). The same interface as router/store.lua (get, set, incr,
-- delete, add, reserve): every nginx instance pointed at the same Redis shares limits, target health, the usage
-- counters and the once-only ledger. Kong's and APISIX's rate-limiting plugins offer the same choice.
--
-- Atomic where it matters, by server-side scripts (EVALSHA, loaded once per connection pool, EVAL's fallback
-- on NOSCRIPT): incr with an initial value and a ttl on creation, reserve (the limiter's check-and-add), and the
-- ledger's set-if-absent that answers with the value already there. Every key is namespaced (opts.prefix) and
-- expires (the callers pass a ttl). Connections go back to the cosocket pool (set_keepalive).
--
-- When Redis is down nothing waits long: every command has a short timeout (opts.timeout, 250 ms), and after a
-- failure this worker skips Redis for opts.backoff seconds (1 s), answering nil, err at once. What a failure
-- means is the caller's (docs/security.md).
local host = require("tanstack.ai.host")

local type, tostring, tonumber, error, setmetatable, pcall = type, tostring, tonumber, error, setmetatable, pcall
local ceil = math.ceil

local _M = {}

_M.DEFAULTS = { port = 6379, db = 0, prefix = "tsai:", timeout = 250, poolSize = 32, keepalive = 60000,
  backoff = 1 }

-- incr with init and ttl (INCRBYFLOAT has no "initial value", and the ttl applies only on creation, like
-- lua_shared_dict's incr): KEYS[1]; ARGV n, init, ttl_ms
local INCR = [[
local v = redis.call('GET', KEYS[1])
local n = tonumber(ARGV[1])
if v then
  v = tonumber(v) + n
  redis.call('SET', KEYS[1], tostring(v), 'KEEPTTL')
else
  v = tonumber(ARGV[2]) + n
  if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], tostring(v), 'PX', ARGV[3])
  else redis.call('SET', KEYS[1], tostring(v)) end
end
return tostring(v)
]]

-- reserve: KEYS cur, prev; ARGV weight, n, limit, ttl_ms -> { 1, used, taken } | { 0, used }
local RESERVE = [[
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local used = cur + tonumber(redis.call('GET', KEYS[2]) or '0') * tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
if used >= limit then return { 0, tostring(used) } end
local taken = math.min(tonumber(ARGV[2]), limit - used)
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[1], tostring(cur + taken), 'PX', ARGV[4])
else redis.call('SET', KEYS[1], tostring(cur + taken), 'KEEPTTL') end
return { 1, tostring(used), tostring(taken) }
]]

-- set-if-absent, answering with the value already there: KEYS[1]; ARGV value, ttl_ms -> { 1 } | { 0, value }
local ADD = [[
local ok
if tonumber(ARGV[2]) > 0 then ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
else ok = redis.call('SET', KEYS[1], ARGV[1], 'NX') end
if ok then return { 1 } end
return { 0, redis.call('GET', KEYS[1]) }
]]

_M.SCRIPTS = { incr = INCR, reserve = RESERVE, add = ADD }

--- "redis://[:password@]host[:port][/db]" (also rediss-less plain host:port) -> { host, port, db, password }, or
--- nil, message (never echoing the password).
function _M.parse_url(url)
  if type(url) ~= "string" then return nil, "REDIS_URL must be a string" end
  local rest = url:match("^redis://(.+)$")
  if not rest then return nil, "REDIS_URL must start with redis:// (rediss:// is not supported)" end
  local auth, hostport = rest:match("^(.*)@([^@]*)$")
  if not auth then hostport = rest end
  local password
  if auth then password = auth:match("^[^:]*:(.*)$") or auth end
  local hostname, port, db = hostport:match("^([%w%.%-]+):?(%d*)/?(%d*)$")
  if not hostname then
    hostname, port, db = hostport:match("^%[([%x:]+)%]:?(%d*)/?(%d*)$")
  end
  if not hostname then return nil, "REDIS_URL: expected redis://host:port/db" end
  return { host = hostname, port = tonumber(port) or _M.DEFAULTS.port, db = tonumber(db) or _M.DEFAULTS.db,
    password = password ~= "" and password or nil }
end

local Redis = {}
Redis.__index = Redis
Redis.__tostring = function(self) return "tanstack.ai.router.store_redis(" .. self.host .. ":" .. self.port .. ")" end

--- new{ url = "redis://...", or host, port, db, password; prefix = "tsai:", timeout = 250 (ms), poolSize = 32,
---      keepalive = 60000 (ms idle in the pool), backoff = 1 (s), driver = the nginx.redis module, clock }
function _M.new(opts)
  if type(opts) ~= "table" then error("store_redis.new{ url = 'redis://127.0.0.1:6379/0' }", 2) end
  local conn = opts
  if opts.url then
    local c, err = _M.parse_url(opts.url)
    if not c then error("store_redis: " .. err, 2) end
    conn = c
  end
  if type(conn.host) ~= "string" then error("store_redis: host (or url) is required", 2) end
  local d = _M.DEFAULTS
  return setmetatable({
    host = conn.host, port = conn.port or d.port, db = conn.db or d.db, password = conn.password,
    prefix = opts.prefix or d.prefix, timeout = opts.timeout or d.timeout, pool_size = opts.poolSize or d.poolSize,
    keepalive = opts.keepalive or d.keepalive, backoff = opts.backoff or d.backoff,
    driver = opts.driver, clock = opts.clock or host.now, down_until = 0, shas = {}, redis = true,
  }, Redis)
end

local function null_to_nil(v)
  if type(v) == "string" or type(v) == "number" then return v end
  return nil
end

function Redis:connect()
  if self.down_until > self.clock() then return nil, "redis: unavailable (backing off after a failure)" end
  local driver = self.driver
  if driver == nil then
    driver = require("nginx.redis")
    self.driver = driver
  end
  local red, err = driver:new()
  if not red then return nil, err end
  red:set_timeout(self.timeout)
  local ok
  ok, err = red:connect(self.host, self.port, { pool = "tsai:" .. self.host .. ":" .. self.port .. ":" .. self.db,
    pool_size = self.pool_size })
  if not ok then return nil, err end
  local reused = red.get_reused_times and red:get_reused_times() or 0
  if (reused or 0) == 0 then
    if self.password then
      ok, err = red:auth(self.password)
      if not ok then red:close() return nil, "AUTH failed (check the password of REDIS_URL)" end
    end
    if self.db ~= 0 then
      ok, err = red:select(self.db)
      if not ok then red:close() return nil, err end
    end
  end
  return red
end

-- One command on a pooled connection: fn(red) -> res, err. A failure closes the connection and backs off.
function Redis:call(fn)
  local red, err = self:connect()
  if not red then
    self:failed(err)
    return nil, "redis: " .. tostring(err)
  end
  local ok, res, e = pcall(fn, red)
  if not ok or (not res and e ~= nil) then
    pcall(red.close, red)
    local why = ok and e or res
    self:failed(why)
    return nil, "redis: " .. tostring(why)
  end
  red:set_keepalive(self.keepalive, self.pool_size)
  return res, e
end

function Redis:failed(err)
  local until_t = self.clock() + self.backoff
  if self.down_until < until_t then
    if self.down_until <= self.clock() then host.log_error(false, "store_redis: ", tostring(err)) end
    self.down_until = until_t
  end
end

-- EVALSHA of a script (loaded once per store), EVAL's fallback when Redis lost it (NOSCRIPT: a restart, a flush).
local function script(self, red, name, nkeys, ...)
  local src = _M.SCRIPTS[name]
  local sha = self.shas[name]
  if sha then
    local res, err = red:evalsha(sha, nkeys, ...)
    if res then return res end
    if not tostring(err):find("NOSCRIPT", 1, true) then return nil, err end
  end
  local loaded = red:script("load", src)
  if type(loaded) == "string" then self.shas[name] = loaded end
  return red:eval(src, nkeys, ...)
end

local function ms(ttl)
  if type(ttl) ~= "number" or ttl <= 0 then return 0 end
  return ceil(ttl * 1000)
end

-- The limiter's two window keys ("l:<consumer>:<window>") share a hash tag, so that the reserve script's two keys
-- live in one slot of a Redis Cluster; every other key is one key per command.
function Redis:key(k)
  local c, w = k:match("^l:(.*):(%-?%d+)$")
  if c then return self.prefix .. "l:{" .. c .. "}:" .. w end
  return self.prefix .. k
end

function Redis:get(key)
  local v, err = self:call(function(red) return red:get(self:key(key)) end)
  v = null_to_nil(v)
  if v == nil then return nil, err end
  return tonumber(v) or v
end

function Redis:set(key, value, ttl)
  local t = ms(ttl)
  return self:call(function(red)
    if t > 0 then return red:set(self:key(key), tostring(value), "PX", t) end
    return red:set(self:key(key), tostring(value))
  end)
end

function Redis:delete(key)
  return self:call(function(red) return red:del(self:key(key)) end)
end

function Redis:incr(key, n, init, ttl)
  local v, err = self:call(function(red)
    return script(self, red, "incr", 1, self:key(key), tostring(n), tostring(init or 0), tostring(ms(ttl)))
  end)
  if null_to_nil(v) == nil then return nil, err or "redis: no reply" end
  return tonumber(v)
end

function Redis:add(key, value, ttl)
  local r, err = self:call(function(red)
    return script(self, red, "add", 1, self:key(key), tostring(value), tostring(ms(ttl)))
  end)
  if type(r) ~= "table" then return nil, err or "redis: no reply" end
  if tonumber(r[1]) == 1 then return true end
  local v = null_to_nil(r[2])
  return false, v and (tonumber(v) or v) or nil
end

function Redis:reserve(key, prev_key, weight, n, limit, ttl)
  local r, err = self:call(function(red)
    return script(self, red, "reserve", 2, self:key(key), self:key(prev_key), tostring(weight), tostring(n),
      tostring(limit), tostring(ms(ttl)))
  end)
  if type(r) ~= "table" then return nil, err or "redis: no reply" end
  if tonumber(r[1]) ~= 1 then return false, tonumber(r[2]) or 0 end
  return true, tonumber(r[2]) or 0, tonumber(r[3]) or 0
end

return _M
