-- tanstack.ai.router.store_redis against a real redis-server on loopback (started here), through Debian's
-- nginx.redis over a LuaSocket shim of the cosocket API (spec/helpers/redis.lua): the same store interface as
-- the local stores, atomic scripts, namespaced and expiring keys, short failures when Redis is down.
local redis_helper = require("helpers.redis")
local store_redis = require("tanstack.ai.router.store_redis")

describe("router.store_redis", function()
  local srv, s

  setup(function()
    srv = redis_helper.start()
  end)
  teardown(function()
    if srv then srv:stop() end
  end)
  before_each(function()
    srv:cli("FLUSHALL")
    s = store_redis.new({ url = srv.url, driver = redis_helper.driver(), prefix = "t:" })
  end)

  it("parses REDIS_URL without ever printing the password", function()
    assert.same({ host = "127.0.0.1", port = 6380, db = 2 }, store_redis.parse_url("redis://127.0.0.1:6380/2"))
    local c = store_redis.parse_url("redis://:s3cr3t@cache.internal/1")
    assert.same({ host = "cache.internal", port = 6379, db = 1, password = "s3cr3t" }, c)
    local _, err = store_redis.parse_url("http://x")
    assert.matches("redis://", err)
    local ok, e = pcall(store_redis.new, { url = "redis://:s3cr3t@" })
    assert.is_false(ok)
    assert.is_nil(tostring(e):find("s3cr3t", 1, true))
    assert.is_nil(tostring(store_redis.new({ url = "redis://:s3cr3t@h:1/0" })):find("s3cr3t", 1, true))
  end)

  it("get, set with a ttl, delete: keys under the prefix", function()
    assert.is_nil(s:get("a"))
    assert.truthy(s:set("a", 12, 60))
    assert.equals(12, s:get("a"))
    assert.equals("12", srv:cli("GET", "t:a"):match("%S+"))
    local pttl = tonumber(srv:cli("PTTL", "t:a"):match("%-?%d+"))
    assert.is_true(pttl > 55000 and pttl <= 60000)
    s:set("b", "r:text")
    assert.equals("r:text", s:get("b"))
    s:delete("a")
    assert.is_nil(s:get("a"))
  end)

  it("incr: from init, ttl only on creation, negative amounts (a settlement)", function()
    assert.equals(5, s:incr("n", 5, 0, 30))
    assert.equals(8, s:incr("n", 3, 0, 999))
    local pttl = tonumber(srv:cli("PTTL", "t:n"):match("%-?%d+"))
    assert.is_true(pttl > 25000 and pttl <= 30000)
    assert.equals(6, s:incr("n", -2, 0))
    assert.equals(11, s:incr("m", 1, 10))
  end)

  it("add: set-if-absent answers with the value already there", function()
    assert.is_true(s:add("once", "p", 60))
    local ok, cur = s:add("once", "other", 60)
    assert.is_false(ok)
    assert.equals("p", cur)
    assert.is_true(tonumber(srv:cli("PTTL", "t:once"):match("%-?%d+")) > 0)
  end)

  it("reserve: admits while used + n <= limit, counting the previous window by its weight", function()
    s:set("prev", 40, 60)
    assert.same({ true, 20 }, { s:reserve("cur", "prev", 0.5, 30, 100, 60) }) -- 0 + 40*0.5 = 20; 20+30 <= 100
    assert.same({ true, 50 }, { s:reserve("cur", "prev", 0.5, 50, 100, 60) })
    assert.same({ false, 100 }, { s:reserve("cur", "prev", 0.5, 1, 100, 60) })
    assert.equals(80, s:get("cur"))
  end)

  it("scripts come back after Redis forgets them (SCRIPT FLUSH: EVALSHA's NOSCRIPT, then EVAL)", function()
    assert.equals(1, s:incr("x", 1, 0))
    srv:cli("SCRIPT", "FLUSH")
    assert.equals(2, s:incr("x", 1, 0))
  end)

  it("Redis down: nil, err at once (no hang), a backoff, then back when it is", function()
    local port = redis_helper.free_port()
    local t = 100
    local down = store_redis.new({ host = "127.0.0.1", port = port, driver = redis_helper.driver(),
      clock = function() return t end })
    local t0 = os.clock()
    local v, err = down:incr("k", 1, 0)
    assert.is_nil(v)
    assert.matches("redis", err)
    local again, err2 = down:add("k", "p", 1)
    assert.is_nil(again)
    assert.matches("backing off", err2)
    assert.is_true(os.clock() - t0 < 1)
    t = 102
    local _, err3 = down:get("k")
    assert.is_nil(err3 and err3:find("backing off", 1, true))
  end)
end)
