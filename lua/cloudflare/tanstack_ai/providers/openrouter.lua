-- OpenRouter through AI Gateway: Chat Completions; images through chat completions (modalities).
return {
  name = "openrouter", label = "OpenRouter", slug = "openrouter", wire = "openai",
  constructor = { snake = "openrouter", camel = "OpenRouter" },
  gateway_only = true,
  auth_header = "authorization", -- "Bearer <key>"
  key_env = { "OPENROUTER_API_KEY" },
  activities = { "chat", "summarize", "image" },
  models = { chat = "openai/gpt-4o-mini", summarize = "openai/gpt-4o-mini",
    image = "google/gemini-2.5-flash-image-preview" },
  chat_path = "v1/chat/completions",
  -- OpenRouter makes images through chat completions (modalities), not an images endpoint
  image_api = "chat",
  image_size = "OpenRouter image models take no size; use modelOptions.image_config = { aspect_ratio = ... }",
}
