-- cloudflare.tanstack_ai: the adapter constructors for Workers AI and the AI Gateway providers, and cf.binding
-- (a REST-backed stand-in for a Worker's env.AI). snake_case names with TanStack's camelCase spellings beside.
-- Which constructors exist, and their names, come from the provider files (providers/<name>.lua).
local config = require("cloudflare.tanstack_ai.config")
local providers = require("cloudflare.tanstack_ai.providers")
local raise = require("tanstack.ai.adapter").raise -- a mistake, reported at the caller's line

local ipairs = ipairs

local _M = { _VERSION = "0.2.0" }

-- The model becomes part of URL paths (Workers AI's /ai/run/{model}, Gemini's models/{model}:...): the one
-- identifier check of config.lua, before anything is sent.
local function check_model(label, model)
  config.check_identifier(label, "model", model, true)
end

-- Workers AI adapters: the chat module, or the media module's function of the activity.
local WORKERS_AI_MEDIA = { image = "image", transcription = "transcription", tts = "tts", summarize = "summarize",
  embedding = "embed" }
local function workers_ai(model, cfg, activity)
  if activity == "chat" then return require("cloudflare.tanstack_ai.workers_ai.chat").new(model, cfg) end
  return require("cloudflare.tanstack_ai.workers_ai.media")[WORKERS_AI_MEDIA[activity]](model, cfg)
end

-- Gateway providers: chat, image, transcription, tts and embedding adapters, and summarize on top of chat (as
-- TanStack).
local GATEWAY_MODULES = {
  chat = "cloudflare.tanstack_ai.gateway.chat",
  image = "cloudflare.tanstack_ai.gateway.image",
  transcription = "cloudflare.tanstack_ai.gateway.transcription",
  tts = "cloudflare.tanstack_ai.gateway.tts",
  embedding = "cloudflare.tanstack_ai.gateway.embedding",
}
local function gateway_provider(model, cfg, activity, p)
  if activity == "summarize" then
    local chat = require(GATEWAY_MODULES.chat).new(p.name, model, cfg)
    return require("tanstack.ai.adapter").summarizer(chat, p.label)
  end
  return require(GATEWAY_MODULES[activity]).new(p.name, model, cfg)
end

local function constructor(label, activity, p)
  return function(model, cfg)
    check_model(label, model)
    -- a catalog model of another task: said now, naming the constructor to use (not at the first call)
    local wrong = not p.gateway_only and require("cloudflare.tanstack_ai.workers_ai.models").task_mismatch(model,
      activity)
    if wrong then raise(label .. ": " .. wrong) end
    -- third-party providers only work through AI Gateway; Workers AI needs a key outside a binding
    local resolved = config.resolve(cfg, { label = label, gateway_only = p.gateway_only,
      needs_provider_key = not p.gateway_only })
    if p.gateway_only then return gateway_provider(model, resolved, activity, p) end
    return workers_ai(model, resolved, activity)
  end
end

-- Every constructor under both names: create_openai_chat and createOpenAiChat are the same function.
for _, c in ipairs(providers.constructors()) do
  local f = constructor(c.camel, c.activity, c.provider)
  _M[c.snake], _M[c.camel] = f, f
end

--- cf.binding{ accountId, apiKey, [cfApiKey], [apiBaseUrl], [gatewayBaseUrl], ... }: env.AI for plain Lua.
function _M.binding(cfg)
  return require("cloudflare.tanstack_ai.binding").new(cfg)
end

return _M
