-- Google AI Studio (Gemini) through AI Gateway: generateContent for chat, images and speech; Imagen's predict.
-- Its differences from the OpenAI-shaped providers are hooks and fields here, read by the generic adapters.
return {
  name = "gemini", label = "Gemini", slug = "google-ai-studio", wire = "gemini",
  constructor = { snake = "gemini", camel = "Gemini" },
  gateway_only = true,
  auth_header = "x-goog-api-key", -- the key itself
  key_env = { "GEMINI_API_KEY" },
  activities = { "chat", "summarize", "image", "tts" },
  models = { chat = "gemini-2.5-flash", summarize = "gemini-2.5-flash", image = "imagen-4.0-generate-001",
    tts = "gemini-2.5-flash-preview-tts" },
  image_api = "generate_content", -- generateContent with responseModalities IMAGE; imagen-* models: :predict
  speech_api = "generate_content", -- generateContent with responseModalities AUDIO: base64 16-bit PCM
  default_voice = "Kore",
  pcm_rate = 24000, -- Hz, when the answer's mimeType names none
  -- streaming is chosen by the endpoint (streamGenerateContent?alt=sse), not by the body
  chat_endpoint = function(model, _, options)
    local stream = options.outputSchema == nil and options.stream ~= false
    local path, query = require("tanstack.ai.adapter").format("gemini").endpoint(model, stream)
    return path, query, stream
  end,
}
