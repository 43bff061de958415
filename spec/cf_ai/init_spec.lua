-- lua/cf_ai/init.lua outside Neovim (a rock's smoke test, plain Lua): it loads, and each of its functions says
-- where it runs. Inside Neovim every command, the options and the messages are tested by spec/nvim/plugin_spec.lua
-- (headless Neovim against the emulator).
describe("cf_ai (outside Neovim)", function()
  it("loads, and names the function a program tried to use", function()
    assert.is_nil(rawget(_G, "vim"))
    local plugin = require("cf_ai")
    local ok, err = pcall(function() return plugin.setup end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("cf_ai.setup: this is the Neovim plugin: use it inside Neovim", 1, true), err)
  end)

  it("the deprecated module name is the same module", function()
    assert.equal(require("cf_ai"), require("cloudflare_tanstack_ai"))
  end)
end)
