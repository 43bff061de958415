-- Facts about the AI Gateway third-party providers: gateway slug, wire format (tanstack/ai/formats), endpoints
-- (the path after the slug, identical in gateway URLs and universal entries), extra headers, request quirks,
-- and what each can do. Adapters read these; nothing else in the code branches on a provider's name.
local gemini = require("tanstack.ai.formats.gemini")

local _M = {}

_M.ANTHROPIC_VERSION = "2023-06-01"

_M.providers = {
  openai = {
    name = "openai", label = "OpenAI", slug = "openai", wire = "openai",
    chat_path = "chat/completions",
    images_path = "images/generations",
    transcriptions_path = "audio/transcriptions",
    speech_path = "audio/speech",
    -- dall-e answers with URLs unless asked; gpt-image models always answer base64 and reject the field
    image_response_format = function(model) return model:match("^dall%-e") and "b64_json" or nil end,
    -- Chat Completions: newer OpenAI models reject max_tokens; max_completion_tokens works for all
    max_tokens_key = "max_completion_tokens",
    -- reasoning models reject sampling parameters (TanStack strips them too)
    no_sampling = function(model) return model:match("^o%d") ~= nil or model:match("^gpt%-5") ~= nil end,
    kinds = { chat = true, summarize = true, image = true, transcription = true, tts = true },
  },
  anthropic = {
    name = "anthropic", label = "Anthropic", slug = "anthropic", wire = "anthropic",
    chat_path = "v1/messages",
    headers = function(cfg) return { ["anthropic-version"] = cfg.anthropic_version or _M.ANTHROPIC_VERSION } end,
    kinds = { chat = true, summarize = true },
  },
  gemini = {
    name = "gemini", label = "Gemini", slug = "google-ai-studio", wire = "gemini",
    kinds = { chat = true, summarize = true, image = true, tts = true },
  },
  grok = {
    name = "grok", label = "Grok", slug = "grok", wire = "openai",
    chat_path = "v1/chat/completions",
    images_path = "v1/images/generations",
    image_response_format = function() return "b64_json" end,
    image_size = "xAI image models take no size; use modelOptions.aspect_ratio",
    kinds = { chat = true, summarize = true, image = true },
  },
  openrouter = {
    name = "openrouter", label = "OpenRouter", slug = "openrouter", wire = "openai",
    chat_path = "v1/chat/completions",
    -- OpenRouter makes images through chat completions (modalities), not an images endpoint
    images_via_chat = true,
    image_size = "OpenRouter image models take no size; use modelOptions.image_config = { aspect_ratio = ... }",
    kinds = { chat = true, summarize = true, image = true },
  },
}

--- The facts for a provider name; raises on an unknown one (a programming error in this library).
function _M.get(name)
  local p = _M.providers[name]
  if not p then error("unknown gateway provider '" .. tostring(name) .. "'", 2) end
  return p
end

--- The chat endpoint for a request body: path (after the slug), query, and whether the answer streams.
--- Applies the provider's request quirks to the body (max_tokens spelling, no sampling for reasoning models).
function _M.chat_endpoint(p, model, body, options)
  if p.wire == "gemini" then -- streaming is chosen by the endpoint, not the body
    local stream = options.outputSchema == nil and options.stream ~= false
    local path, query = gemini.endpoint(model, stream)
    return path, query, stream
  end
  if p.max_tokens_key and options.maxTokens ~= nil then
    body.max_tokens = nil
    body[p.max_tokens_key] = options.maxTokens
  end
  if p.no_sampling and p.no_sampling(model) then
    body.temperature, body.top_p = nil, nil
  end
  return p.chat_path, nil, body.stream == true
end

--- Extra request headers a provider needs (anthropic-version), as a new table.
function _M.headers(p, cfg)
  return p.headers and p.headers(cfg) or {}
end

return _M
