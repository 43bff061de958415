-- make dist: the source rock of the release rockspec from a clean `git archive` of HEAD; its rockspec lists every
-- module of the tree it carries; LuaRocks installs it for Lua 5.4 and for LuaJIT (against LuaJIT's headers) without
-- a network and without touching the checkout. (make test-packaging)
local util = require("packaging.util")

local VERSION = util.must("lua5.4 scripts/gen_rockspec.lua --version"):gsub("%s+$", "")
local NAME = "cloudflare-tanstack-ai-" .. VERSION .. "-1"
local ROCK = "build/dist/" .. NAME .. ".src.rock"
local SRCDIR = "cloudflare-tanstack-ai-lua/"

describe("make dist", function()
  local out, status, entries, rockspec, tree, before

  setup(function()
    before = util.checkout_state()
    out, status = util.sh("make --no-print-directory dist")
    entries = {}
    if status == 0 then
      for line in util.must("unzip -Z1 " .. ROCK):gmatch("[^\n]+") do entries[line] = true end
      rockspec = util.must("unzip -p " .. ROCK .. " " .. NAME .. ".rockspec")
    end
    tree = util.tmpdir()
  end)

  teardown(function() util.rm(tree) end)

  it("writes " .. ROCK, function()
    assert.equals(0, status, out)
    assert.matches("dist: " .. ROCK:gsub("%p", "%%%0") .. " from %x+", out)
  end)

  it("holds the release rockspec and HEAD's tree, file for file", function()
    assert.equals(0, status, out)
    assert.is_true(entries[NAME .. ".rockspec"], "the rockspec at the top of the rock")
    assert.equals(util.must("git show HEAD:rockspec/" .. NAME .. ".rockspec"), rockspec)
    local head, n = {}, 0
    for f in util.must("git ls-tree -r --name-only HEAD"):gmatch("[^\n]+") do
      head[f] = true
      n = n + 1
      assert.is_true(entries[SRCDIR .. f], f .. " of HEAD is in the rock")
    end
    for e in pairs(entries) do
      if e ~= NAME .. ".rockspec" and e:sub(-1) ~= "/" then
        assert.is_true(head[e:sub(#SRCDIR + 1)] == true and e:sub(1, #SRCDIR) == SRCDIR, e .. " is a file of HEAD")
      end
    end
    assert.is_true(n > 100)
    for _, f in ipairs({ "LICENSE", "CHANGELOG.md", "README.md" }) do assert.is_true(head[f], f) end
  end)

  it("has a rockspec that lists every Lua module and C source of the tree it carries, and nothing else", function()
    assert.equals(0, status, out)
    local listed = {}
    for file in rockspec:gmatch('"(lua/[^"]+%.lua)"') do listed[file] = true end
    for file in rockspec:gmatch('"(csrc/[^"/]+%.c)"') do listed[file] = true end
    local carried = {}
    for e in pairs(entries) do
      local f = e:sub(#SRCDIR + 1)
      if e:sub(1, #SRCDIR) == SRCDIR and (f:match("^lua/.+%.lua$") or f:match("^csrc/[^/]+%.c$")) then
        carried[f] = true
      end
    end
    assert.same(carried, listed)
    assert.truthy(rockspec:find('version = "' .. VERSION .. '-1"', 1, true))
    assert.truthy(rockspec:find('tag = "v' .. VERSION .. '"', 1, true))
  end)

  it("installs with LuaRocks for Lua 5.4 and for LuaJIT (LuaJIT's headers), offline, and every module loads", function()
    assert.equals(0, status, out)
    local rock = util.root .. "/" .. ROCK
    local spec_file = tree .. "/" .. NAME .. ".rockspec"
    local f = assert(io.open(spec_file, "w"))
    f:write(rockspec)
    f:close()
    local inc = util.must("pkg-config --variable=includedir luajit"):gsub("%s+$", "")
    -- from outside the checkout: LuaRocks unpacks and builds the rock in a directory of its own
    local b54 = util.must("cd " .. tree .. " && luarocks --lua-version=5.4 --tree=" .. tree ..
      " install --deps-mode=none " .. rock)
    assert.truthy(b54:find("cloudflare-tanstack-ai " .. VERSION .. "-1 is now installed", 1, true), b54)
    local bjit = util.must("cd " .. tree .. " && luarocks --lua-version=5.1 --tree=" .. tree ..
      " install --deps-mode=none " .. rock .. " LUA_INCDIR=" .. inc)
    assert.truthy(bjit:find("-I" .. inc .. " -c csrc/l_core.c", 1, true), bjit)
    local s54 = util.must("cd / && lua5.4 " .. util.root .. "/scripts/rock_smoke.lua " .. tree .. " 5.4 " .. spec_file)
    assert.matches("loads %d+ modules", s54)
    local sjit = util.must("cd / && luajit " .. util.root .. "/scripts/rock_smoke.lua " .. tree .. " 5.1 " .. spec_file)
    assert.matches("LuaJIT .* loads %d+ modules", sjit)
  end)

  it("leaves the checkout as it was", function()
    assert.same({}, util.new_build_products(before, util.checkout_state()))
    assert.is_nil(io.open("build/dist/tmp"), "the staging directory is removed")
  end)
end)
