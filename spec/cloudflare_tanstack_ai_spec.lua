-- lua/cloudflare_tanstack_ai.lua: the deprecated name of the Neovim plugin's module, run outside Neovim with a
-- stub `vim` holding what the shim calls (deprecate on Neovim 0.8+, else notify + log.levels). It must return
-- require("cf_ai")'s table and warn exactly once (require caches what the shim returns). In a real headless
-- Neovim the shim runs in spec/nvim/plugin_spec.lua.
local SHIM = "cloudflare_tanstack_ai"

describe("cloudflare_tanstack_ai (the deprecated shim)", function()
  local saved_vim, saved_shim

  before_each(function()
    saved_vim, saved_shim = rawget(_G, "vim"), package.loaded[SHIM]
    package.loaded[SHIM] = nil
  end)

  after_each(function()
    rawset(_G, "vim", saved_vim)
    package.loaded[SHIM] = saved_shim
  end)

  -- cf_ai loaded while `vim` is absent is its plain-Lua table (cf_ai/init.lua); the shim must hand back that
  -- very table, not load a second copy
  local function plugin()
    assert.is_nil(rawget(_G, "vim"))
    return require("cf_ai")
  end

  it("on Neovim 0.8+: one vim.deprecate call naming the new module, and the cf_ai table", function()
    local cf_ai = plugin()
    local calls = {}
    rawset(_G, "vim", { deprecate = function(...) calls[#calls + 1] = { ... } end,
      notify = function() error("notify must not be used when deprecate exists") end,
      log = { levels = { WARN = 3 } } })
    local m = require(SHIM)
    assert.equal(cf_ai, m)
    assert.equal(require("cf_ai"), m)
    assert.equal(1, #calls)
    assert.same({ 'require("cloudflare_tanstack_ai")', 'require("cf_ai")', "0.3.0", "cf_ai", false }, calls[1])
    -- a second require is served from package.loaded: no second warning
    assert.equal(m, require(SHIM))
    assert.equal(1, #calls)
  end)

  it("on older Neovim (no vim.deprecate): one WARN notification naming cf_ai", function()
    local cf_ai = plugin()
    local notes = {}
    rawset(_G, "vim", { notify = function(msg, level) notes[#notes + 1] = { msg, level } end,
      log = { levels = { WARN = 3, ERROR = 4 } } })
    assert.equal(cf_ai, require(SHIM))
    require(SHIM)
    assert.equal(1, #notes)
    assert.equal(3, notes[1][2])
    assert.truthy(notes[1][1]:find('require("cloudflare_tanstack_ai") is deprecated: use require("cf_ai")', 1, true),
      notes[1][1])
  end)

  it("outside Neovim (no vim): no warning, and still the cf_ai table", function()
    local cf_ai = plugin()
    assert.equal(cf_ai, require(SHIM))
    assert.is_nil(rawget(_G, "vim"))
  end)
end)
