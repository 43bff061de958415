-- cloudflare.tanstack_ai: the adapter constructors for Workers AI and the AI Gateway providers, and cf.binding
-- (a REST-backed stand-in for a Worker's env.AI). snake_case names with TanStack's camelCase spellings beside.
local config = require("cloudflare.tanstack_ai.config")
local raise = require("tanstack.ai.options").raise -- a mistake, reported at the caller's line

local ipairs = ipairs

local _M = { _VERSION = "0.2.0" }

-- The model becomes part of URL paths (Workers AI's /ai/run/{model}, Gemini's models/{model}:...): the one
-- identifier check of config.lua, before anything is sent.
local function check_model(label, model)
  config.check_identifier(label, "model", model, true)
end

-- Workers AI adapters: module, and the function of it that builds the adapter (model, resolved config).
local function workers_ai(model, cfg, kind)
  if kind == "chat" then return require("cloudflare.tanstack_ai.workers_ai.chat").new(model, cfg) end
  return require("cloudflare.tanstack_ai.workers_ai.media")[kind](model, cfg)
end

-- Gateway providers: chat, image, transcription and tts adapters, and summarize on top of chat (as TanStack).
local GATEWAY_MODULES = {
  chat = "cloudflare.tanstack_ai.gateway.chat",
  image = "cloudflare.tanstack_ai.gateway.image",
  transcription = "cloudflare.tanstack_ai.gateway.transcription",
  tts = "cloudflare.tanstack_ai.gateway.tts",
}
local function gateway_provider(model, cfg, kind, provider)
  local p = require("cloudflare.tanstack_ai.gateway.catalog").get(provider)
  if not p.kinds[kind] then raise(p.label .. " has no " .. kind .. " adapter") end
  if kind == "summarize" then
    local chat = require(GATEWAY_MODULES.chat).new(provider, model, cfg)
    return require("tanstack.ai.summarize").new(chat, p.label)
  end
  return require(GATEWAY_MODULES[kind]).new(provider, model, cfg)
end

-- Every constructor: snake_case name, camelCase name, function, provider (nil: Workers AI).
local CONSTRUCTORS = {
  { "create_workers_ai_chat", "createWorkersAiChat", "chat" },
  { "create_workers_ai_image", "createWorkersAiImage", "image" },
  { "create_workers_ai_transcription", "createWorkersAiTranscription", "transcription" },
  { "create_workers_ai_tts", "createWorkersAiTts", "tts" },
  { "create_workers_ai_summarize", "createWorkersAiSummarize", "summarize" },
  { "create_workers_ai_embedding", "createWorkersAiEmbedding", "embed" },
  { "create_openai_chat", "createOpenAiChat", "chat", "openai" },
  { "create_openai_summarize", "createOpenAiSummarize", "summarize", "openai" },
  { "create_openai_image", "createOpenAiImage", "image", "openai" },
  { "create_openai_transcription", "createOpenAiTranscription", "transcription", "openai" },
  { "create_openai_tts", "createOpenAiTts", "tts", "openai" },
  { "create_anthropic_chat", "createAnthropicChat", "chat", "anthropic" },
  { "create_anthropic_summarize", "createAnthropicSummarize", "summarize", "anthropic" },
  { "create_gemini_chat", "createGeminiChat", "chat", "gemini" },
  { "create_gemini_summarize", "createGeminiSummarize", "summarize", "gemini" },
  { "create_gemini_image", "createGeminiImage", "image", "gemini" },
  { "create_gemini_tts", "createGeminiTts", "tts", "gemini" },
  { "create_grok_chat", "createGrokChat", "chat", "grok" },
  { "create_grok_summarize", "createGrokSummarize", "summarize", "grok" },
  { "create_grok_image", "createGrokImage", "image", "grok" },
  { "create_openrouter_chat", "createOpenRouterChat", "chat", "openrouter" },
  { "create_openrouter_summarize", "createOpenRouterSummarize", "summarize", "openrouter" },
  { "create_openrouter_image", "createOpenRouterImage", "image", "openrouter" },
}

for _, c in ipairs(CONSTRUCTORS) do
  local label, kind, provider = c[2], c[3], c[4]
  local f = function(model, cfg)
    check_model(label, model)
    -- third-party providers only work through AI Gateway; Workers AI needs a key outside a binding
    local resolved = config.resolve(cfg, { label = label, gateway_only = provider ~= nil,
      needs_provider_key = provider == nil })
    if provider then return gateway_provider(model, resolved, kind, provider) end
    return workers_ai(model, resolved, kind)
  end
  _M[c[1]], _M[label] = f, f
end

--- cf.binding{ accountId, apiKey, [cfApiKey], [apiBaseUrl], [gatewayBaseUrl], ... }: env.AI for plain Lua.
function _M.binding(cfg)
  return require("cloudflare.tanstack_ai.binding").new(cfg)
end

return _M
