-- Starting headless Neovim with the plugin from this checkout (spec/nvim/*_spec.lua).
local shell = require("helpers.shell")
local cjson = require("cjson")

local M = {}

function M.have_nvim()
  return shell.run("command -v nvim 2>/dev/null") ~= ""
end

function M.root()
  local src = debug.getinfo(1, "S").source:sub(2)
  local dir = src:match("^(.*)/spec/nvim/") or "."
  if dir:sub(1, 1) ~= "/" then dir = os.getenv("PWD") .. "/" .. dir end
  return dir
end

-- The environment of a user who exported the credentials (the emulator stands in for Cloudflare).
function M.env(emu, extra)
  local env = {
    CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef",
    CLOUDFLARE_API_KEY = "nvim-secret-key-123",
    CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4",
    CLOUDFLARE_AI_GATEWAY_BASE_URL = emu.url .. "/v1",
    CF_TEST_EMU = emu.url,
  }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

local function env_prefix(env)
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. shell.quote(v) end
  table.sort(parts)
  return "env " .. table.concat(parts, " ")
end

-- The nvim command line: the checkout on 'runtimepath' (as lazy.nvim or packer put it), its plugin/ file
-- sourced, then `script` (a file under spec/nvim/) run. plugin = false: a bare editor.
function M.command(script, env, opts)
  opts = opts or {}
  local root = M.root()
  local cmd = { env_prefix(env), "nvim --headless -u NONE -i NONE -n" }
  if opts.pre then cmd[#cmd + 1] = "--cmd " .. shell.quote(opts.pre) end
  if opts.plugin ~= false then
    cmd[#cmd + 1] = "--cmd " .. shell.quote("set rtp^=" .. root)
    cmd[#cmd + 1] = "--cmd " .. shell.quote("runtime plugin/cf_ai.lua")
  end
  cmd[#cmd + 1] = "-c " .. shell.quote("luafile " .. root .. "/spec/nvim/" .. script)
  return table.concat(cmd, " ")
end

-- Run script in nvim (at most `limit` s) and return the JSON report it wrote to $CF_TEST_OUT.
function M.run(script, env, opts)
  local out = os.tmpname()
  local plain = { CF_TEST_OUT = out }
  for k, v in pairs(env) do plain[k] = v end
  local log = os.tmpname()
  shell.exec_ok("cd " .. shell.quote(M.root()) .. " && timeout " .. ((opts and opts.limit) or 60) .. " " ..
    M.command(script, plain, opts) .. " >" .. shell.quote(log) .. " 2>&1 </dev/null")
  local text = shell.read_file(out)
  local stderr = shell.read_file(log) or ""
  os.remove(out)
  os.remove(log)
  local ok, report = pcall(cjson.decode, text or "")
  assert(ok and type(report) == "table", "nvim wrote no report; its output:\n" .. stderr)
  return report
end

return M
