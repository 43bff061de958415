-- tanstack.ai.router.limiter: tokens per minute per consumer over a store.
local limiter = require("tanstack.ai.router.limiter")
local store = require("tanstack.ai.router.store")

describe("router.limiter", function()
  it("sliding window over two fixed windows", function()
    local t = 0
    local l = limiter.new({ tokensPerMinute = 100, clock = function() return t end })
    l:charge("c", 100)
    assert.is_false((l:admit("c")))
    t = 90 -- half of the previous window still counts: 50
    assert.is_true((l:admit("c")))
    l:charge("c", 50)
    assert.is_false((l:admit("c")))
  end)

  it("answers the seconds to wait, a per-consumer limit function, and drops windows it no longer reads", function()
    local t = 30
    local s = store.memory()
    local l = limiter.new({ tokensPerMinute = function(c) return c == "vip" and 1000 or 10 end, store = s,
      clock = function() return t end })
    l:charge("c", 10)
    local ok, wait = l:admit("c")
    assert.is_false(ok)
    assert.equals(30, wait)
    assert.is_true((l:admit("vip")))
    assert.equals(10, s:get("l:c:0"))
    t = 150 -- window 2: window 0 is two back
    l:charge("c", 1)
    assert.is_nil(s:get("l:c:0"))
    assert.equals(1, s:get("l:c:2"))
  end)

  it("raises without a limit", function()
    assert.has_error(function() limiter.new({}) end, "router: limits.tokensPerMinute must be a number or a function")
  end)
end)
