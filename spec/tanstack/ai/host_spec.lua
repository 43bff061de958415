local host = require("tanstack.ai.host")

describe("tanstack.ai.host", function()
  local saved
  before_each(function() saved = rawget(_G, "ngx") end)
  after_each(function() rawset(_G, "ngx", saved) end)

  it("outside nginx: no ngx, no phase, no cosockets, no shared dict; now() from the C core's clock", function()
    rawset(_G, "ngx", nil)
    assert.is_nil(host.ngx())
    assert.is_false(host.is_nginx())
    assert.is_nil(host.phase())
    assert.is_false(host.cosockets())
    assert.is_nil(host.shared_dict("x"))
    local t = host.now()
    assert.is_true(math.abs(t - os.time()) < 5)
  end)

  it("a table named ngx without get_phase is not nginx", function()
    rawset(_G, "ngx", { shared = { x = {} } })
    assert.is_false(host.is_nginx())
    assert.is_nil(host.shared_dict("x"))
  end)

  it("inside nginx: the phase decides cosockets; dicts and the clock come from ngx", function()
    local phase = "init"
    local dict = {}
    local logged
    rawset(_G, "ngx", { get_phase = function() return phase end, shared = { limits = dict },
      now = function() return 42.5 end, ERR = 4, log = function(_, ...) logged = table.concat({ ... }) end })
    assert.is_true(host.is_nginx())
    assert.is_false(host.cosockets())
    phase = "content"
    assert.is_true(host.cosockets())
    assert.are.equal(dict, host.shared_dict("limits"))
    assert.is_nil(host.shared_dict("other"))
    assert.are.equal(42.5, host.now())
    host.log_error(false, "a", 1)
    assert.are.equal("a1", logged)
  end)
end)
