-- lua/cf_ai/health.lua outside Neovim: it loads, and check() says it runs under :checkhealth. The checks
-- themselves (each section, a bare :checkhealth without failures) run in spec/nvim/plugin_spec.lua.
describe("cf_ai.health (outside Neovim)", function()
  it("loads; check() points to :checkhealth", function()
    local health = require("cf_ai.health")
    local ok, err = pcall(health.check)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("cf_ai.health: run it with :checkhealth in Neovim", 1, true), err)
  end)
end)
