-- providers/openai.lua: OpenAI's facts and quirks.
local p = require("cloudflare.tanstack_ai.providers.openai")

describe("cloudflare.tanstack_ai.providers.openai", function()
  it("names its slug, wire, paths, key and defaults", function()
    assert.same({ "openai", "openai", "openai", "authorization" }, { p.name, p.slug, p.wire, p.auth_header })
    assert.same({ "OPENAI_API_KEY" }, p.key_env)
    assert.same({ "chat/completions", "images/generations", "audio/transcriptions", "audio/speech" },
      { p.chat_path, p.images_path, p.transcriptions_path, p.speech_path })
    assert.same({ "images", "speech", "alloy" }, { p.image_api, p.speech_api, p.default_voice })
    assert.equal("gpt-4o-mini", p.models.chat)
    assert.equal("whisper-1", p.models.transcription)
  end)

  it("asks dall-e for base64 and leaves gpt-image models alone", function()
    assert.equal("b64_json", p.image_response_format("dall-e-3"))
    assert.is_nil(p.image_response_format("gpt-image-1"))
  end)

  it("drops sampling for reasoning models only", function()
    assert.is_true(p.no_sampling("o3-mini"))
    assert.is_true(p.no_sampling("gpt-5"))
    assert.is_false(p.no_sampling("gpt-4o"))
    assert.equal("max_completion_tokens", p.max_tokens_key)
  end)
end)
