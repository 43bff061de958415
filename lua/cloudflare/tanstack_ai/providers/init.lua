-- The AI Gateway third-party adapters: one constructor per (function, provider), checked against the
-- capability table in catalog.lua (the seed's "Supported Capabilities").
local catalog = require("cloudflare.tanstack_ai.providers.catalog")

local _M = {}

local MODULES = {
  chat = "cloudflare.tanstack_ai.providers.chat",
  image = "cloudflare.tanstack_ai.providers.image",
  transcription = "cloudflare.tanstack_ai.providers.transcription",
  tts = "cloudflare.tanstack_ai.providers.tts",
}

--- kind: "chat" | "summarize" | "image" | "transcription" | "tts"; provider: a catalog name;
--- cfg: a resolved gateway config (config.resolve with gateway_only).
function _M.create(kind, provider, model, cfg)
  local p = catalog.get(provider)
  if not p.kinds[kind] then error(p.label .. " has no " .. kind .. " adapter", 2) end
  if kind == "summarize" then -- built on the provider's chat adapter, as TanStack does
    local chat = require(MODULES.chat).new(provider, model, cfg)
    return require("cloudflare.tanstack_ai.providers.summarize").new(chat)
  end
  return require(MODULES[kind]).new(provider, model, cfg)
end

return _M
