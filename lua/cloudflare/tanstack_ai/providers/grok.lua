-- xAI (Grok) through AI Gateway: Chat Completions and images/generations under v1/.
return {
  name = "grok", label = "Grok", slug = "grok", wire = "openai",
  constructor = { snake = "grok", camel = "Grok" },
  gateway_only = true,
  auth_header = "authorization", -- "Bearer <key>"
  key_env = { "XAI_API_KEY" },
  activities = { "chat", "summarize", "image" },
  models = { chat = "grok-4", summarize = "grok-4", image = "grok-2-image" },
  chat_path = "v1/chat/completions",
  images_path = "v1/images/generations",
  image_api = "images",
  image_response_format = function() return "b64_json" end,
  image_size = "xAI image models take no size; use modelOptions.aspect_ratio",
}
