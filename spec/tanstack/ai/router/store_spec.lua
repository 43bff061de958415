-- tanstack.ai.router.store: the state-store interface of the breaker and the limiter.
local store = require("tanstack.ai.router.store")

local function fake_dict()
  local d = { data = {}, ttls = {} }
  function d:get(k) return self.data[k] end
  function d:set(k, v, ttl) self.data[k] = v; self.ttls[k] = ttl; return true end
  function d:delete(k) self.data[k] = nil end
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
end)
