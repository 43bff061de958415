-- A tracer for "the walk" (docs/architecture.md): which source files one request enters, and which calls cross between the two
-- Lua packages (tanstack.ai <-> cloudflare.tanstack_ai). Runs inside an nginx worker (LuaJIT: the JIT is turned off
-- while tracing, so that every call reaches the hook) or in a plain interpreter.
--
--   walk.start(root)   -- root: the repository's absolute path
--   ... the request ...
--   local report = walk.stop()   -- { lua = {file...}, c = {file...}, edges = {"a.lua -> b.lua:fn"...} }
--
-- C files: a C function of the core is named by its Lua name and mapped to the csrc/l_*.c file whose luaL_Reg
-- table lists that name (methods: the file that makes the metatable, by its TAI_MT_* name); each l_*.c then
-- brings the .c files of the headers it includes (transitively), as the code it calls lives there.
local M = {}

local sethook, getinfo = debug.sethook, debug.getinfo
local root, seen_src, seen_cfun, edges

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function package_of(src)
  if src:find("/lua/tanstack/ai/", 1, true) then return "tanstack.ai" end
  if src:find("/lua/cloudflare/tanstack_ai/", 1, true) then return "cloudflare.tanstack_ai" end
  return nil
end

local function rel(src)
  src = src:gsub("^@", "")
  local i = src:find("/lua/", 1, true) or src:find("/examples/", 1, true)
  return i and src:sub(i + 1) or src
end

local function hook()
  local callee = getinfo(2, "Sf")
  if not callee then return end
  if callee.what == "C" then
    seen_cfun[callee.func] = true
    return
  end
  local src = callee.source
  if src:sub(1, 1) ~= "@" or not (src:find("/lua/tanstack/", 1, true) or src:find("/lua/cloudflare/", 1, true)
    or src:find("/examples/", 1, true)) then return end -- the project's files only (not resty.core, not this file)
  seen_src[src] = true
  local caller = getinfo(3, "S")
  if not caller or caller.source:sub(1, 1) ~= "@" then return end
  local a, b = package_of(caller.source), package_of(src)
  if a and b and a ~= b then
    edges[rel(caller.source) .. " -> " .. rel(src) .. ":" .. callee.linedefined] = callee.func
  end
end

function M.start(repo_root)
  root = repo_root
  seen_src, seen_cfun, edges = {}, {}, {}
  if rawget(_G, "jit") then jit.off(); jit.flush() end
  sethook(hook, "c")
end

-- name -> file for the core's functions, and method-name sets per l_*.c
local function c_tables()
  local funcs, methods = {}, {}
  local p = io.popen("ls " .. root .. "/csrc/l_*.c")
  for path in p:lines() do
    local text = read(path) or ""
    local file = path:match("([^/]+)$")
    for block_name, block in text:gmatch("luaL_Reg%s+([%w_]+)%[%]%s*=%s*(%b{})") do
      for name in block:gmatch('{%s*"([%w_]+)"') do
        if block_name == "methods" then
          methods[file] = methods[file] or {}
          methods[file][name] = true
        else
          funcs[name] = file
        end
      end
    end
  end
  p:close()
  return funcs, methods
end

local function includes_closure(files)
  local out, todo = {}, {}
  for f in pairs(files) do todo[#todo + 1] = f end
  while #todo > 0 do
    local f = table.remove(todo)
    if not out[f] then
      out[f] = true
      for h in (read(root .. "/csrc/" .. f) or ""):gmatch('#include%s+"([%w_]+)%.h"') do
        local c = h .. ".c"
        if read(root .. "/csrc/" .. c) then todo[#todo + 1] = c end
      end
    end
  end
  return out
end

local function c_files()
  local funcs = c_tables()
  local by_value = {}
  local core = package.loaded["tanstack.ai.core"]
  if type(core) == "table" then
    for k, v in pairs(core) do if funcs[k] then by_value[v] = funcs[k] end end
  end
  -- methods: the registry's metatables by name (l_core.h's TAI_MT_* strings), each made in one l_*.c file
  local mt_file = {}
  local names = {}
  for macro, name in (read(root .. "/csrc/l_core.h") or ""):gmatch('#define%s+(TAI_MT_[%w_]+)%s+"([^"]+)"') do
    names[macro] = name
  end
  local p = io.popen("ls " .. root .. "/csrc/l_*.c")
  for path in p:lines() do
    for macro in (read(path) or ""):gmatch("metatable%(L, (TAI_MT_[%w_]+)") do
      if names[macro] then mt_file[names[macro]] = path:match("([^/]+)$") end
    end
  end
  p:close()
  local registry = debug.getregistry()
  for name, file in pairs(mt_file) do
    local mt = registry[name]
    if type(mt) == "table" then
      for _, t in ipairs({ mt, type(mt.__index) == "table" and mt.__index or {} }) do
        for _, v in pairs(t) do if type(v) == "function" then by_value[v] = file end end
      end
    end
  end
  local entered = {}
  for fn in pairs(seen_cfun) do
    if by_value[fn] then entered[by_value[fn]] = true end
  end
  return includes_closure(entered)
end

local function sorted(set, map)
  local out = {}
  for k in pairs(set) do out[#out + 1] = map and map(k) or k end
  table.sort(out)
  return out
end

-- The functions tanstack.ai publishes to adapters: tanstack.ai.adapter's, those of the tables it re-exports (json,
-- errors, media, ...) and of the wire formats adapter.format(name) hands out.
local function interface_functions()
  local set = {}
  local function add(t)
    for _, v in pairs(t) do if type(v) == "function" then set[v] = true end end
  end
  local adapter = package.loaded["tanstack.ai.adapter"]
  if type(adapter) ~= "table" then return set end
  add(adapter)
  for _, v in pairs(adapter) do if type(v) == "table" then add(v) end end
  for name, mod in pairs(package.loaded) do
    if type(name) == "string" and name:find("^tanstack%.ai%.formats%.") and type(mod) == "table" then add(mod) end
  end
  return set
end

function M.stop()
  sethook()
  if rawget(_G, "jit") then jit.on() end
  local c = c_files()
  local api = interface_functions()
  local list = {}
  for e, fn in pairs(edges) do
    -- a call from the provider package into tanstack.ai outside what it publishes is marked
    local outside = e:find("^lua/cloudflare/") and not api[fn]
    list[#list + 1] = e .. (outside and "  [outside the interface]" or "")
  end
  table.sort(list)
  return { lua = sorted(seen_src, rel), c = sorted(c), edges = list }
end

return M
