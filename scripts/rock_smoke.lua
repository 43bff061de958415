-- The installed rock loads: every module the rockspec lists, from the rock tree, under this interpreter.
--   lua5.4 scripts/rock_smoke.lua TREE 5.4 ROCKSPEC
--   luajit scripts/rock_smoke.lua TREE 5.1 ROCKSPEC
-- package.path / cpath become the tree's, then the system's (lua-cjson), never the checkout's: a module found
-- anywhere but in the tree is an error. Lua 5.1 (LuaJIT) and 5.4.
local tree, v, rockspec_file = arg[1], arg[2], arg[3]
assert(tree and v and rockspec_file, "usage: rock_smoke.lua TREE LUA_VERSION ROCKSPEC")

local function fail(msg)
  io.stderr:write("rock-install: " .. msg .. "\n")
  os.exit(1)
end

local function system_paths(p)
  local out = {}
  for entry in p:gmatch("[^;]+") do
    if not entry:match("^%./") and not entry:match("^%.%?") then out[#out + 1] = entry end
  end
  return table.concat(out, ";")
end
package.path = tree .. "/share/lua/" .. v .. "/?.lua;" .. tree .. "/share/lua/" .. v .. "/?/init.lua;" ..
  system_paths(package.path)
package.cpath = tree .. "/lib/lua/" .. v .. "/?.so;" .. system_paths(package.cpath)

local spec = {}
local chunk
if setfenv then
  chunk = assert(loadfile(rockspec_file))
  setfenv(chunk, spec)
else
  chunk = assert(loadfile(rockspec_file, "t", spec))
end
chunk()

local names = {}
for name in pairs(spec.build.modules) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local where = package.searchpath(name, package.path) or package.searchpath(name, package.cpath)
  if not where then fail(name .. " is not installed in " .. tree) end
  if where:sub(1, #tree + 1) ~= tree .. "/" then fail(name .. " loads from " .. where .. ", not from " .. tree) end
  local ok, err = pcall(require, name)
  if not ok then fail("require('" .. name .. "') under " .. (jit and jit.version or _VERSION) .. ": " .. tostring(err)) end
end

local core = require("tanstack.ai.core")
print(string.format("rock-install: %s loads %d modules from %s (tanstack.ai %s, cloudflare.tanstack_ai %s, core %s)",
  jit and jit.version or _VERSION, #names, tree, require("tanstack.ai")._VERSION,
  require("cloudflare.tanstack_ai")._VERSION, tostring(core.version)))
