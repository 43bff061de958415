-- cloudflare-tanstack-ai for Neovim: :CfAiAsk, :CfAiChat, :'<,'>CfAiSelection, :CfAiCancel (and :checkhealth
-- cf_ai). Options: require("cf_ai").setup({...}); the commands work without it (Workers AI, credentials from
-- CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_KEY).
if vim.g.loaded_cf_ai then return end
vim.g.loaded_cf_ai = true -- luacheck: ignore 122

-- From a checkout (lazy.nvim / packer with build = "make LUA=luajit"): the C core is in build/luajit/ beside
-- this directory. Installed as a rock, it is on package.cpath already.
local src = debug.getinfo(1, "S").source
if src:sub(1, 1) == "@" then
  local root = vim.fn.fnamemodify(src:sub(2), ":p:h:h")
  local so = root .. "/build/luajit/?.so"
  if vim.fn.filereadable(root .. "/build/luajit/tanstack/ai/core.so") == 1 and not package.cpath:find(so, 1, true) then
    package.cpath = so .. ";" .. package.cpath
  end
end

require("cf_ai").create_commands()
