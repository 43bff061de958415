-- tanstack.ai.router.store: the state-store interface of the breaker and the limiter.
local store = require("tanstack.ai.router.store")

local function fake_dict()
  local d = { data = {}, ttls = {} }
  function d:get(k) return self.data[k] end
  function d:set(k, v, ttl) self.data[k] = v; self.ttls[k] = ttl; return true end
  function d:delete(k) self.data[k] = nil end
  function d:add(k, v, ttl)
    if self.data[k] ~= nil then return false, "exists" end
    self.data[k] = v; self.ttls[k] = ttl
    return true
  end
  function d:incr(k, n, init, ttl)
    if self.data[k] == nil then
      if init == nil then return nil, "not found" end
      self.data[k] = init
      self.ttls[k] = ttl
    end
    self.data[k] = self.data[k] + n
    return self.data[k]
  end
  return d
end

describe("router.store", function()
  it("memory: get, set, incr from init, delete", function()
    local s = store.memory()
    assert.is_nil(s:get("a"))
    assert.equals(5, s:incr("a", 5, 0))
    assert.equals(7, s:incr("a", 2, 0))
    s:set("b", 3)
    assert.equals(3, s:get("b"))
    s:delete("a")
    assert.is_nil(s:get("a"))
  end)

  it("shared: the dict's own methods, ttl passed through", function()
    local d = fake_dict()
    local s = store.shared(d)
    assert.equals(4, s:incr("k", 4, 0, 60))
    assert.equals(60, d.ttls.k)
    s:set("x", 1, 9)
    assert.equals(9, d.ttls.x)
    assert.equals(1, s:get("x"))
    s:delete("x")
    assert.is_nil(s:get("x"))
  end)

  it("of: a given store, a named lua_shared_dict, else memory", function()
    local mine = store.memory()
    assert.equals(mine, store.of({ store = mine }, "health"))
    assert.is_nil(store.of({}, "health").shared)
    local d = fake_dict()
    _G.ngx = { get_phase = function() return "content" end, shared = { router_health = d } }
    local ok, s = pcall(store.of, { dict = "router_health" }, "health")
    _G.ngx = nil
    assert.is_true(ok)
    assert.equals(d, s.dict)
    assert.has_error(function() store.of({ dict = "missing" }, "limits") end,
      "router: limits.dict 'missing' is not a lua_shared_dict")
  end)

  it("memory: add is set-if-absent, keys expire, and the table is bounded", function()
    local t = 100
    local s = store.memory({ maxKeys = 2, clock = function() return t end })
    assert.is_true(s:add("a", "p", 10))
    assert.same({ false, "p" }, { s:add("a", "q", 10) })
    assert.truthy(s:set("b", 1, 5))
    assert.same({ nil, "full" }, { s:add("c", "x", 10) })
    t = 106 -- b expired: swept to make room
    assert.is_true(s:add("c", "x", 10))
    assert.is_nil(s:get("b"))
    assert.equals(2, s:size())
    t = 200
    assert.is_nil(s:get("a"))
  end)

  it("reserve: admits while used < limit, taking at most what is left (memory and shared), never over-admits", function()
    for _, s in ipairs({ store.memory(), store.shared(fake_dict()) }) do
      s:set("prev", 40, 60)
      assert.same({ true, 20, 30 }, { s:reserve("cur", "prev", 0.5, 30, 100, 60) }) -- 0 + 40 * 0.5 = 20 used
      assert.same({ true, 50, 45 }, { s:reserve("cur", "prev", 0.5, 45, 100, 60) })
      assert.same({ true, 95, 5 }, { s:reserve("cur", "prev", 0.5, 50, 100, 60) }) -- 45 short: the last 5
      assert.same({ false, 100 }, { s:reserve("cur", "prev", 0.5, 1, 100, 60) })
      assert.equals(80, s:get("cur")) -- the refused reservation was taken back
      assert.equals(70, s:incr("cur", -10, 0)) -- a settlement
    end
  end)

  it("shared: add answers with the value already there", function()
    local s = store.shared(fake_dict())
    assert.is_true(s:add("k", "v", 5))
    assert.same({ false, "v" }, { s:add("k", "w", 5) })
  end)
end)
