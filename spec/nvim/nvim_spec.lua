-- Neovim: a chat streams on the editor's own loop (vim.loop) without blocking it.
local emulator = require("helpers.emulator")
local cjson = require("cjson")

local function have_nvim()
  local p = io.popen("command -v nvim 2>/dev/null")
  local s = p:read("*a")
  p:close()
  return s ~= ""
end

local function repo()
  local src = debug.getinfo(1, "S").source:sub(2)
  local dir = src:match("^(.*)/spec/nvim/") or "."
  if dir:sub(1, 1) ~= "/" then dir = os.getenv("PWD") .. "/" .. dir end
  return dir
end

describe("Neovim", function()
  it("streams a chat through async.attach_uv while the editor loop keeps running", function()
    if not have_nvim() then
      pending("nvim is not installed")
      return
    end
    local emu = emulator.shared()
    emu:reset()
    emu:next({ drip_ms = 60, text = "one two three four five six seven eight" })
    local root = repo()
    local out = os.tmpname()
    local lua_path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;/usr/share/lua/5.1/?.lua;;"
    local lua_cpath = root .. "/build/luajit/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;"
    local cmd = string.format(
      "cd %q && timeout 30 nvim --headless -u NONE -i NONE --cmd %q -c %q >/dev/null 2>&1",
      root,
      string.format("lua package.path=%q..package.path; package.cpath=%q..package.cpath; _G.arg_out=%q; _G.arg_url=%q",
        lua_path, lua_cpath, out, emu.url .. "/client/v4"),
      "luafile spec/nvim/chat_in_nvim.lua")
    os.execute(cmd)
    local f = io.open(out, "r")
    local report = f and cjson.decode(f:read("*a"))
    if f then f:close() end
    os.remove(out)
    assert.is_table(report, "nvim wrote no report")
    assert.is_true(report.ok, tostring(report.err))
    assert.equal("one two three four five six seven eight", report.text)
    -- the stream took ~8 x 60 ms; a 20 ms timer on the same loop kept firing meanwhile
    assert.is_true(report.ticks_during_stream >= 5, "ticks during stream: " .. tostring(report.ticks_during_stream))
  end)
end)
