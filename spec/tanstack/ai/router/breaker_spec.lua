-- tanstack.ai.router.breaker: a target's circuit breaker over a store (per process here; a shared dict in
-- spec/openresty/router_nginx_test.lua).
local breaker = require("tanstack.ai.router.breaker")
local store = require("tanstack.ai.router.store")

describe("router.breaker", function()
  it("N failures -> down for the cool-down; a success clears", function()
    local t = 0
    local h = breaker.new({ failures = 3, cooldown = 5, clock = function() return t end })
    h:failure("k"); h:failure("k")
    assert.is_false(h:down("k"))
    assert.is_true(h:failure("k"))
    assert.is_true(h:down("k"))
    t = 6
    assert.is_false(h:down("k"))
    h:failure("k"); h:success("k"); h:failure("k"); h:failure("k")
    assert.is_false(h:down("k"))
    assert.same({ fails = 2, down = false }, h:state("k"))
  end)

  it("keeps its counts in the store it is given", function()
    local s = store.memory()
    local t = 100
    local h = breaker.new({ failures = 1, cooldown = 10, store = s, clock = function() return t end })
    h:failure("r/a")
    assert.equals(110, s:get("h:down:r/a"))
    local other = breaker.new({ failures = 1, cooldown = 10, store = s, clock = function() return t end })
    assert.is_true(other:down("r/a")) -- a second breaker over the same store sees it
    other:success("r/a")
    assert.is_false(h:down("r/a"))
  end)

  it("a dict that nginx does not have is a configuration error", function()
    assert.has_error(function() breaker.new({ dict = "nope" }) end,
      "router: health.dict 'nope' is not a lua_shared_dict")
  end)
end)
