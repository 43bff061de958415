-- The providers this package reaches: Workers AI and the AI Gateway third-party providers, one file each
-- (providers/<name>.lua) holding every fact about it: gateway slug, label, wire format (tanstack/ai/formats),
-- paths, auth header, the activities it offers, default models, the environment variable of its key, its request
-- quirks and the names of its constructors. The constructors (cloudflare/tanstack_ai/init.lua), the gateway
-- adapters, the CLI and the Neovim plugin read them here; nothing else branches on a provider's name.
--
-- A provider file's fields:
--   name, label, slug          "openai", "OpenAI", the AI Gateway path segment ("google-ai-studio")
--   wire                       the wire format module (tanstack.ai.formats.<wire>)
--   constructor                { snake, camel }: create_<snake>_<activity>, create<Camel><Activity>
--   gateway_only               third-party providers work only through AI Gateway
--   auth_header, key_env       where the provider's key goes ("authorization": "Bearer <key>"), and the
--                              environment variables it is usually exported in (first set wins)
--   activities, models         what it offers (chat, summarize, image, transcription, tts, embedding) and the
--                              default model of each
--   chat_path, images_path, transcriptions_path, speech_path   endpoints after the slug
--   image_api, speech_api      which request form the image / tts adapter uses ("images", "chat",
--                              "generate_content"; "speech", "generate_content")
--   quirks                     headers(cfg), chat_endpoint(model, body, options), max_tokens_key,
--                              no_sampling(model), image_response_format(model), image_size, default_voice, ...
local ipairs, pairs, error, tostring, require = ipairs, pairs, error, tostring, require

local _M = {}

-- in the order constructors, usage texts and error messages list them
local FILES = { "workers_ai", "openai", "anthropic", "gemini", "grok", "openrouter" }

-- activity -> the last word of its camelCase constructor name
local ACTIVITY_CAMEL = { chat = "Chat", summarize = "Summarize", image = "Image", transcription = "Transcription",
  tts = "Tts", embedding = "Embedding" }

_M.list = {}
local by_name, by_slug = {}, {}
for i, file in ipairs(FILES) do
  local p = require("cloudflare.tanstack_ai.providers." .. file)
  local offers = {}
  for _, a in ipairs(p.activities) do offers[a] = true end
  p.offers = offers
  _M.list[i] = p
  by_name[p.name] = p
  by_name[file] = p -- "workers_ai" as well as "workers-ai"
  by_slug[p.slug] = p
end

--- The provider of a name ("workers-ai", "openai", ...); raises on an unknown one (a programming error).
function _M.get(name)
  local p = by_name[name]
  if not p then error("unknown provider '" .. tostring(name) .. "' (one of " .. _M.names() .. ")", 2) end
  return p
end

--- The provider of a name, or nil (for input from people: the CLI, the plugin's setup{}).
function _M.find(name)
  return by_name[name]
end

--- The provider of an AI Gateway slug ("google-ai-studio"), or nil.
function _M.by_slug(slug)
  return by_slug[slug]
end

--- The provider names, comma-separated, in the order of the list.
function _M.names()
  local names = {}
  for i, p in ipairs(_M.list) do names[i] = p.name end
  return table.concat(names, ", ")
end

--- The constructor names of a provider's activity: "create_openai_chat", "createOpenAiChat".
function _M.constructor_names(p, activity)
  return "create_" .. p.constructor.snake .. "_" .. activity,
    "create" .. p.constructor.camel .. ACTIVITY_CAMEL[activity]
end

--- Every constructor: { snake, camel, provider, activity }, in the order of the list.
function _M.constructors()
  local out = {}
  for _, p in ipairs(_M.list) do
    for _, activity in ipairs(p.activities) do
      local snake, camel = _M.constructor_names(p, activity)
      out[#out + 1] = { snake = snake, camel = camel, provider = p, activity = activity }
    end
  end
  return out
end

--- The provider's key from the environment: value, variable name; nil when none of its variables is set.
--- getenv: os.getenv or a stand-in.
function _M.key_from_env(p, getenv)
  for _, name in ipairs(p.key_env) do
    local v = getenv(name)
    if v ~= nil and v ~= "" then return v, name end
  end
  return nil
end

--- The chat endpoint for a request body: path (after the slug), query, and whether the answer streams.
--- Applies the provider's request quirks to the body (max_tokens spelling, no sampling for reasoning models).
function _M.chat_endpoint(p, model, body, options)
  if p.chat_endpoint then return p.chat_endpoint(model, body, options) end
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
  local h = {}
  if p.headers then for k, v in pairs(p.headers(cfg)) do h[k] = v end end
  return h
end

--- The provider's auth header for a key (nil key: none, for BYOK / unified billing), into `h`. A slug no file
--- names takes a bearer token in authorization (as most providers behind AI Gateway do).
function _M.auth(slug, key, h)
  if key then
    local p = by_slug[slug]
    local name = p and p.auth_header or "authorization"
    h[name] = name == "authorization" and ("Bearer " .. key) or key
  end
  return h
end

return _M
