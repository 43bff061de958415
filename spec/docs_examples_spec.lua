-- Every ```lua example in README.md and docs/*.md runs, against the emulator (credentials and base URLs from the
-- environment, as a user's would be). Two kinds of block run elsewhere, and here only compile: a block for nginx
-- (spec/openresty/nginx_test.lua serves the nginx.conf of docs/openresty.md) and a block for Neovim (the plugin's
-- setup, lazy.nvim / packer specs: spec/nvim/plugin_spec.lua runs them inside Neovim).
local emulator = require("helpers.emulator")
local env = require("helpers.env")
local docs = require("helpers.docs")

local load_chunk = function(code, name, env_table)
  if setfenv then
    local fn, err = loadstring(code, name)
    if fn then setfenv(fn, env_table) end
    return fn, err
  end
  return load(code, name, "t", env_table)
end

-- every Lua block of every page: { page, code, line }
local function all_blocks()
  local out, per_page = {}, {}
  for _, page in ipairs(docs.pages()) do
    local list = docs.blocks(page, "lua")
    per_page[page] = #list
    for _, b in ipairs(list) do out[#out + 1] = { page = page, code = b.code, line = b.line } end
  end
  return out, per_page
end

-- A Neovim block compiles here (spec/nvim/plugin_spec.lua runs it inside Neovim).
local function check_neovim(code, where)
  assert.is_function(load_chunk(code, where, {}))
end

-- A block for nginx compiles here, and every ai.* / cf.* name it uses exists (spec/openresty/nginx_test.lua serves
-- the nginx.conf of docs/openresty.md in real nginx).
local function check_nginx(code, where)
  assert.is_function(load_chunk(code, where, {}))
  local ai, cf = require("tanstack.ai"), require("cloudflare.tanstack_ai")
  for name in code:gmatch("[^%w_%.]ai%.([%a_][%w_]*)") do assert.is_function(ai[name], "ai." .. name) end
  for name in code:gmatch("[^%w_%.]cf%.([%a_][%w_]*)") do assert.is_function(cf[name], "cf." .. name) end
end

-- What an example sees instead of the real io: files it writes go to temporary files (recorded in `written`),
-- "speech.mp3" reads as a small MP3, io.write and print are recorded in `printed`.
local function sandbox_io(printed, written)
  return setmetatable({
    open = function(path, mode)
      if path == "speech.mp3" then
        return { read = function() return "ID3\3\0\0\0\0\0\0" .. string.rep("\255\251\144\0", 64) end,
          close = function() end }
      end
      if mode and mode:find("w", 1, true) then
        local tmp = os.tmpname()
        written[path] = tmp
        return io.open(tmp, mode)
      end
      return io.open(path, mode)
    end,
    write = function(...) for _, v in ipairs({ ... }) do printed[#printed + 1] = tostring(v) end end,
  }, { __index = io })
end

local function sandbox_for(printed, written)
  return setmetatable({
    print = function(...)
      local t = {}
      for k = 1, select("#", ...) do t[k] = tostring((select(k, ...))) end
      printed[#printed + 1] = table.concat(t, "\t")
    end,
    io = sandbox_io(printed, written),
  }, { __index = _G })
end

-- Run one example against the emulator, with the environment and the names a reader's program would have.
local function run_example(emu, code, where, sandbox)
  local ai = require("tanstack.ai")
  local cf = require("cloudflare.tanstack_ai")
  env.with({
    CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef", CLOUDFLARE_API_KEY = "readme-key-123456",
    CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4", CLOUDFLARE_AI_GATEWAY_BASE_URL = emu.url .. "/v1",
  }, function() -- only the variables the docs name
    -- names the examples share, as a reader's program would have them (docs/development.md lists them)
    sandbox.ai, sandbox.cf = ai, cf
    sandbox.AI = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = "readme-key-123456" })
    sandbox.adapter = cf.create_workers_ai_chat("@cf/meta/llama-4-scout-17b-16e-instruct", {})
    sandbox.gw = sandbox.AI:gateway("my-gateway-id")
    local fn, err = load_chunk(code, where, sandbox)
    assert.is_function(fn, err)
    local ok, rerr = pcall(fn)
    assert.is_true(ok, tostring(rerr))
  end)
end

-- The files an example wrote are what their names say.
local function check_written(written)
  local media = require("tanstack.ai.media")
  local WANT = { png = "image/png", mp3 = "audio/mpeg", wav = "audio/wav" }
  for path, tmp in pairs(written) do
    local f = assert(io.open(tmp, "rb"))
    local bytes = f:read("*a")
    f:close()
    os.remove(tmp)
    local ext = path:match("%.(%w+)$")
    assert.is_true(#bytes > 16, path .. " is empty")
    if WANT[ext] then assert.equals(WANT[ext], media.sniff(bytes), path) end
  end
end

local function check_block(emu, code, where)
  if docs.is_neovim(code) then return check_neovim(code, where) end
  if docs.is_nginx(code) then return check_nginx(code, where) end
  emu:reset()
  local printed, written = {}, {}
  run_example(emu, code, where, sandbox_for(printed, written))
  local out = table.concat(printed, "\n")
  check_written(written)
  if code:find("summary = \"short\"", 1, true) then assert.matches("short", out) end
  if code:find("ai.embed", 1, true) then assert.matches("2\t768", out) end
  if code:find("b64Json", 1, true) then assert.is_true(#out > 20) end
  -- every example that talks to a model reached the emulator
  if code:find("ai%.") and not code:find("error%(") then
    assert.is_true(#emu:requests() > 0, where .. " sent no request")
  end
end

describe("documentation examples", function()
  local emu
  setup(function() emu = emulator.shared() end)

  local list, per_page = all_blocks()
  it("has examples to run, in the README and in the docs", function()
    assert.is_true(per_page["README.md"] >= 2, "README.md: " .. tostring(per_page["README.md"]))
    assert.is_true(#list >= 25, #list .. " blocks")
    local runnable = 0
    for _, b in ipairs(list) do
      if not docs.is_neovim(b.code) and not docs.is_nginx(b.code) then runnable = runnable + 1 end
    end
    assert.is_true(runnable >= 20, runnable .. " runnable blocks")
  end)

  for _, block in ipairs(list) do
    local where = block.page .. ":" .. block.line
    it(where .. " runs: " .. (block.code:match("[^\n]+") or ""), function() check_block(emu, block.code, where) end)
  end
end)
