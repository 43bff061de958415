-- providers/gemini.lua: Google AI Studio's facts and its hooks (streaming by endpoint, generateContent media).
local p = require("cloudflare.tanstack_ai.providers.gemini")

describe("cloudflare.tanstack_ai.providers.gemini", function()
  it("names its slug, wire, key, defaults and media request forms", function()
    assert.same({ "gemini", "google-ai-studio", "gemini", "x-goog-api-key" }, { p.name, p.slug, p.wire, p.auth_header })
    assert.same({ "GEMINI_API_KEY" }, p.key_env)
    assert.same({ "generate_content", "generate_content" }, { p.image_api, p.speech_api })
    assert.same({ "Kore", 24000 }, { p.default_voice, p.pcm_rate })
    assert.equal("imagen-4.0-generate-001", p.models.image)
    assert.is_nil(p.chat_path) -- the chat endpoint depends on the model: chat_endpoint
  end)

  it("streams through streamGenerateContent?alt=sse unless told not to or asked for structured output", function()
    local body = { contents = {} }
    local path, query, stream = p.chat_endpoint("gemini-2.5-pro", body, {})
    assert.same({ "v1beta/models/gemini-2.5-pro:streamGenerateContent", { alt = "sse" }, true },
      { path, query, stream })
    assert.same({ contents = {} }, body)
    path, query, stream = p.chat_endpoint("gemini-2.5-pro", body, { outputSchema = { type = "object" } })
    assert.same({ "v1beta/models/gemini-2.5-pro:generateContent", false }, { path, stream })
    assert.is_nil(query)
  end)
end)
