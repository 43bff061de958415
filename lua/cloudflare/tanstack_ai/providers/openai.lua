-- OpenAI through AI Gateway: Chat Completions, images, speech to text, text to speech, embeddings.
return {
  name = "openai", label = "OpenAI", slug = "openai", wire = "openai",
  constructor = { snake = "openai", camel = "OpenAi" }, -- create_openai_chat / createOpenAiChat
  gateway_only = true,
  auth_header = "authorization", -- "Bearer <key>"
  key_env = { "OPENAI_API_KEY" },
  activities = { "chat", "summarize", "image", "transcription", "tts", "embedding" },
  models = { chat = "gpt-4o-mini", summarize = "gpt-4o-mini", image = "gpt-image-1", tts = "gpt-4o-mini-tts",
    transcription = "whisper-1", embedding = "text-embedding-3-small" },
  chat_path = "chat/completions",
  images_path = "images/generations",
  transcriptions_path = "audio/transcriptions",
  speech_path = "audio/speech",
  embeddings_path = "embeddings", -- OpenAI's Embeddings API (gateway/embedding.lua)
  image_api = "images", -- images/generations
  speech_api = "speech", -- audio/speech: JSON in, audio bytes out
  default_voice = "alloy",
  -- dall-e answers with URLs unless asked; gpt-image models always answer base64 and reject the field
  image_response_format = function(model) return model:match("^dall%-e") and "b64_json" or nil end,
  -- Chat Completions: newer OpenAI models reject max_tokens; max_completion_tokens works for all
  max_tokens_key = "max_completion_tokens",
  -- reasoning models reject sampling parameters (TanStack strips them too)
  no_sampling = function(model) return model:match("^o%d") ~= nil or model:match("^gpt%-5") ~= nil end,
}
