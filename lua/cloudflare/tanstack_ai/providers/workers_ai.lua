-- Workers AI: Cloudflare's own models, over REST, a binding, or AI Gateway (the "workers-ai" slug). Its key is
-- the Cloudflare API token; what each model takes and answers is in workers_ai/catalog.lua.
return {
  name = "workers-ai", label = "Workers AI", slug = "workers-ai", wire = "workers-ai",
  constructor = { snake = "workers_ai", camel = "WorkersAi" }, -- create_workers_ai_chat / createWorkersAiChat
  gateway_only = false, -- REST and bindings too; outside a binding it needs the Cloudflare key
  auth_header = "authorization", -- "Bearer <token>"
  key_env = { "CLOUDFLARE_API_KEY", "CLOUDFLARE_API_TOKEN" },
  activities = { "chat", "image", "transcription", "tts", "summarize", "embedding" },
  models = { chat = "@cf/meta/llama-4-scout-17b-16e-instruct", image = "@cf/stabilityai/stable-diffusion-xl-base-1.0",
    tts = "@cf/deepgram/aura-2-en", transcription = "@cf/openai/whisper-large-v3-turbo",
    summarize = "@cf/facebook/bart-large-cnn", embedding = "@cf/baai/bge-base-en-v1.5" },
}
