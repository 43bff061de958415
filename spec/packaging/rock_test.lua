-- make rock-install: the development rock for Lua 5.4 and LuaJIT, built from a copy, so the checkout stays as it
-- was; the installed modules serve a user's script. (make test-packaging; a few builds, about 30 s.)
local util = require("packaging.util")
local emulator = require("helpers.emulator")

local SCRIPT = [[
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local core = require("tanstack.ai.core")
local adapter = cf.create_workers_ai_chat("@cf/meta/llama-4-scout-17b-16e-instruct")
local text = assert(ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "rock?" } } }))
print(text)
print("core from " .. package.searchpath("tanstack.ai.core", package.cpath) .. " version " .. core.version)
]]

describe("make rock-install", function()
  local tree, emu, script_dir
  local before, out, status

  setup(function()
    tree = util.tmpdir()
    before = util.checkout_state()
    out, status = util.sh("make --no-print-directory rock-install ROCK_TREE=" .. util.quote(tree))
    emu = emulator.start()
    script_dir = util.tmpdir()
    local f = assert(io.open(script_dir .. "/my_script.lua", "w"))
    f:write(SCRIPT)
    f:close()
  end)

  teardown(function()
    if emu then emu:stop() end
    util.rm(tree)
    util.rm(script_dir)
  end)

  it("installs for Lua 5.4 and LuaJIT, each loading every module from the tree", function()
    assert.equals(0, status, out)
    assert.matches("Lua 5%.4 loads %d+ modules from " .. tree:gsub("%p", "%%%0"), out)
    assert.matches("LuaJIT [%d.%-%w]+ loads %d+ modules from " .. tree:gsub("%p", "%%%0"), out)
    assert.truthy(io.open(tree .. "/lib/lua/5.4/tanstack/ai/core.so"), "the Lua 5.4 core")
    assert.truthy(io.open(tree .. "/lib/lua/5.1/tanstack/ai/core.so"), "the LuaJIT core")
  end)

  it("compiles the LuaJIT core against LuaJIT's headers", function()
    local inc = util.must("pkg-config --variable=includedir luajit"):gsub("%s+$", "")
    assert.truthy(out:find("-I" .. inc .. " -c csrc/l_core.c", 1, true), "gcc ... -I" .. inc .. " in:\n" .. out)
  end)

  it("leaves the checkout as it was (no tanstack/, no csrc/*.o, git status unchanged)", function()
    assert.same({}, util.new_build_products(before, util.checkout_state()))
    assert.is_nil(io.open("tanstack/ai/core.so"))
    assert.equals("", util.must("ls csrc/*.o 2>/dev/null || true"))
    assert.is_nil(io.open("build/rock-src/lua"), "the build copy is removed")
  end)

  for _, case in ipairs({ { "lua5.4", "5.4" }, { "luajit", "5.1" } }) do
    local lua, v = case[1], case[2]
    it("serves a script run by " .. lua .. " in the checkout's root, with luarocks path", function()
      assert.equals(0, status, out)
      local env = "CLOUDFLARE_ACCOUNT_ID=rock-acct CLOUDFLARE_API_KEY=rock-key CLOUDFLARE_API_BASE_URL=" ..
        util.quote(emu.url .. "/client/v4") .. " CLOUDFLARE_AI_GATEWAY_BASE_URL=" .. util.quote(emu.url .. "/v1")
      local got = util.must("env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 sh -c " ..
        util.quote('eval "$(luarocks --lua-version=' .. v .. ' --tree=' .. tree .. ' path)" && ' .. env .. " " ..
          lua .. " " .. script_dir .. "/my_script.lua"))
      assert.matches("You said: rock%?", got)
      assert.truthy(got:find("core from " .. tree .. "/lib/lua/" .. v .. "/tanstack/ai/core.so", 1, true), got)
    end)
  end
end)
