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
      local env = "CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef CLOUDFLARE_API_KEY=rock-key CLOUDFLARE_API_BASE_URL=" ..
        util.quote(emu.url .. "/client/v4") .. " CLOUDFLARE_AI_GATEWAY_BASE_URL=" .. util.quote(emu.url .. "/v1")
      local got = util.must("env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 sh -c " ..
        util.quote('eval "$(luarocks --lua-version=' .. v .. ' --tree=' .. tree .. ' path)" && ' .. env .. " " ..
          lua .. " " .. script_dir .. "/my_script.lua"))
      assert.matches("You said: rock%?", got)
      assert.truthy(got:find("core from " .. tree .. "/lib/lua/" .. v .. "/tanstack/ai/core.so", 1, true), got)
    end)
  end

  -- make rock-install installs the Lua 5.4 rock, then the LuaJIT one (as the README's order): LuaRocks' wrapper
  -- <tree>/bin/cf-ai then runs `lua5.1`, which cannot run the library. The command finds LuaJIT or
  -- Lua 5.4 itself, whatever `luarocks path` (of either version, or none) the shell has.
  local function cf_ai(path_v, command, extra_env)
    local env = "CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef CLOUDFLARE_API_KEY=rock-key CLOUDFLARE_API_BASE_URL=" ..
      util.quote(emu.url .. "/client/v4") .. " XDG_DATA_HOME=" .. util.quote(script_dir) .. " " .. (extra_env or "")
    local eval = path_v and ('eval "$(luarocks --lua-version=' .. path_v .. ' --tree=' .. tree .. ' path)" && ') or ""
    return util.sh("env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u CF_AI_LUA sh -c " ..
      util.quote(eval .. env .. " " .. command) .. " 2>&1")
  end

  it("the installed cf-ai chats though the last rock installed was LuaJIT's (its wrapper runs lua5.1)", function()
    assert.equals(0, status, out)
    assert.truthy(util.must("cat " .. tree .. "/bin/cf-ai"):find("lua5.1", 1, true), "the wrapper runs lua5.1")
    for _, v in ipairs({ false, "5.4", "5.1" }) do
      local got, rc = cf_ai(v, tree .. "/bin/cf-ai chat rock order")
      assert.equals(0, rc, got)
      assert.equals("Hello from the Workers AI emulator! You said: rock order\n", got)
    end
  end)

  it("the other order: the Lua 5.4 rock's cf-ai, run as its wrapper would, with LuaJIT's luarocks path", function()
    assert.equals(0, status, out)
    local script = tree .. "/lib/luarocks/rocks-5.4/cloudflare-tanstack-ai/scm-1/bin/cf-ai"
    local got, rc = cf_ai("5.1", "lua5.4 " .. script .. " chat other order")
    assert.equals(0, rc, got)
    assert.equals("Hello from the Workers AI emulator! You said: other order\n", got)
  end)

  it("carries the emulator: cf-ai --emulator works from the tree, and says so when node is missing", function()
    assert.equals(0, status, out)
    -- no account id: the emulator's default one (a made-up id would be refused: --emulator is strict)
    local got, rc = cf_ai(nil, "CLOUDFLARE_ACCOUNT_ID= " .. tree .. "/bin/cf-ai --emulator chat no account")
    assert.equals(0, rc, got)
    assert.equals("Hello from the Workers AI emulator! You said: no account\n", got)
    -- a PATH with the interpreters but no node
    local bin = util.tmpdir()
    for _, b in ipairs({ "sh", "lua5.1", "lua5.4", "luajit", "mkdir", "ls", "cat", "rm" }) do
      util.sh("ln -s \"$(command -v " .. b .. ")\" " .. bin .. "/" .. b)
    end
    got, rc = cf_ai(nil, "PATH=" .. bin .. " " .. tree .. "/bin/cf-ai --emulator chat hi")
    util.rm(bin)
    assert.equals(1, rc, got)
    assert.truthy(got:find("--emulator needs Node.js", 1, true), got)
    assert.truthy(io.open(tree .. "/lib/luarocks/rocks-5.4/cloudflare-tanstack-ai/scm-1/doc/cf_ai.txt"),
      "the :help page")
  end)
end)
