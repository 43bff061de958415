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

  it("reserve: parallel requests cannot share the same unspent budget; settle replaces the reservation", function()
    local t = 10
    local l = limiter.new({ tokensPerMinute = 40, clock = function() return t end })
    local admitted = {}
    for i = 1, 30 do -- 30 requests at once, each may cost 68 tokens (the issue's reproduction: all were admitted)
      local adm = l:reserve("c", 68)
      if adm then admitted[#admitted + 1] = adm end
      assert.is_true(i > 1 or adm ~= nil)
    end
    assert.equals(1, #admitted)
    assert.same({ 40, 0, 50, 40 }, { admitted[1].limit, admitted[1].remaining, admitted[1].reset,
      admitted[1].reserved })
    local _, refused = l:reserve("c", 1)
    assert.same({ false, "tokens", 50, 0 }, { refused.ok, refused.reason, refused.retry_after, refused.remaining })
    l:settle(admitted[1], 12) -- it used 12: 28 left
    l:settle(admitted[1], 99) -- once
    assert.equals(12, (l:usage("c")))
    local adm = l:reserve("c", 10)
    assert.same({ 10, 18 }, { adm.reserved, adm.remaining })
  end)

  it("the default reservation admits ordinary chats under a budget of a few thousand tokens", function()
    local l = limiter.new({ tokensPerMinute = 2000, clock = function() return 0 end })
    local amount, prompt = limiter.estimate({ messages = { { role = "user", content = "What is the capital of France?" } } })
    assert.is_true(prompt > 0 and prompt < 30)
    assert.equals(prompt + limiter.DEFAULT_MAX_OUTPUT, amount)
    for _ = 1, 3 do assert.truthy(l:reserve("c", amount)) end
    local with_max, p2 = limiter.estimate({ maxTokens = 100, messages = { { role = "user", content = "hi" } } })
    assert.equals(p2 + 100, with_max)
  end)

  it("a cap on concurrent runs per consumer, given back on settle", function()
    local l = limiter.new({ concurrent = 2 })
    local a, b = l:reserve("c", 5), l:reserve("c", 5)
    assert.truthy(a and b)
    local none, refused = l:reserve("c", 5)
    assert.is_nil(none)
    assert.same({ "concurrency", 2 }, { refused.reason, refused.concurrent_limit })
    assert.truthy(l:reserve("other", 5))
    l:settle(a, 3)
    assert.truthy(l:reserve("c", 5))
  end)

  it("a store that fails: admitted without a reservation (open, the default) or refused (closed)", function()
    local broken = { get = function() return nil, "down" end, incr = function() return nil, "down" end,
      reserve = function() return nil, "down" end, set = function() return nil, "down" end, delete = function() end }
    local open = limiter.new({ tokensPerMinute = 10, concurrent = 1, store = broken })
    local adm = open:reserve("c", 5)
    assert.is_true(adm.degraded)
    local closed = limiter.new({ tokensPerMinute = 10, store = broken, onStoreError = "closed" })
    local none, refused = closed:reserve("c", 5)
    assert.is_nil(none)
    assert.equals("store", refused.reason)
    assert.has_error(function() limiter.new({ tokensPerMinute = 1, onStoreError = "maybe" }) end)
  end)
end)
