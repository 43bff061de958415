-- cloudflare.tanstack_ai: adapter constructors for Workers AI and the AI Gateway providers, and
-- cf.binding (a REST-backed stand-in for the Worker's env.AI). snake_case with the seed's camelCase aliases.
local config = require("cloudflare.tanstack_ai.config")

local type, error = type, error

local _M = { _VERSION = "0.1.0" }

local function check_model(label, model)
  if type(model) ~= "string" or model == "" then error(label .. ": model must be a non-empty string", 3) end
  if model:find("[\r\n%z]") then error(label .. ": model must not contain CR, LF or NUL", 3) end
end

-- constructor(label, module, opts): (model, cfg) -> adapter
local function constructor(label, mod, opts)
  return function(model, cfg)
    check_model(label, model)
    local resolved = config.resolve(cfg, { label = label, gateway_only = opts.gateway_only,
      needs_provider_key = opts.needs_provider_key })
    return require(mod).new(model, resolved, opts)
  end
end

_M.create_workers_ai_chat = constructor("createWorkersAiChat", "cloudflare.tanstack_ai.workers_ai.chat",
  { needs_provider_key = true })

local function media(kind)
  return function(model, resolved) return require("cloudflare.tanstack_ai.workers_ai.media")[kind](model, resolved) end
end
local function media_constructor(label, kind)
  return function(model, cfg)
    check_model(label, model)
    local resolved = config.resolve(cfg, { label = label, needs_provider_key = true })
    return media(kind)(model, resolved)
  end
end

_M.create_workers_ai_image = media_constructor("createWorkersAiImage", "image")
_M.create_workers_ai_transcription = media_constructor("createWorkersAiTranscription", "transcription")
_M.create_workers_ai_tts = media_constructor("createWorkersAiTts", "tts")
_M.create_workers_ai_summarize = media_constructor("createWorkersAiSummarize", "summarize")
_M.create_workers_ai_embedding = media_constructor("createWorkersAiEmbedding", "embed")

_M.createWorkersAiChat = _M.create_workers_ai_chat
_M.createWorkersAiImage = _M.create_workers_ai_image
_M.createWorkersAiTranscription = _M.create_workers_ai_transcription
_M.createWorkersAiTts = _M.create_workers_ai_tts
_M.createWorkersAiSummarize = _M.create_workers_ai_summarize
_M.createWorkersAiEmbedding = _M.create_workers_ai_embedding

--- cf.binding{ accountId, apiKey, [cfApiKey], [apiBaseUrl], [gatewayBaseUrl], ... }: env.AI for plain Lua.
function _M.binding(cfg)
  return require("cloudflare.tanstack_ai.binding").new(cfg)
end

-- BEGIN gateway providers
-- Third-party providers through AI Gateway (gateway binding or gateway REST only).
local ipairs = ipairs

local function gateway_constructor(label, kind, provider)
  return function(model, cfg)
    check_model(label, model)
    local resolved = config.resolve(cfg, { label = label, gateway_only = true })
    return require("cloudflare.tanstack_ai.providers").create(kind, provider, model, resolved)
  end
end

local GATEWAY_CONSTRUCTORS = {
  -- snake_case, camelCase (as the seed spells it), function, provider
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
for _, c in ipairs(GATEWAY_CONSTRUCTORS) do
  _M[c[1]] = gateway_constructor(c[2], c[3], c[4])
  _M[c[2]] = _M[c[1]]
end
-- END gateway providers

return _M
