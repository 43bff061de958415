-- Deprecated: the Neovim plugin's module is `cf_ai` now (beside the library's `cloudflare.tanstack_ai`, the old
-- name was easy to confuse). This shim keeps configs that say require("cloudflare_tanstack_ai") working: it
-- warns (once: require caches what it returns) and returns the same module.
-- luacheck: globals vim
if type(vim) == "table" then
  if vim.deprecate then -- Neovim 0.8 and newer
    vim.deprecate('require("cloudflare_tanstack_ai")', 'require("cf_ai")', "0.3.0", "cf_ai", false)
  else
    vim.notify('cf-ai: require("cloudflare_tanstack_ai") is deprecated: use require("cf_ai") (the same module)',
      vim.log.levels.WARN)
  end
end
return require("cf_ai")
