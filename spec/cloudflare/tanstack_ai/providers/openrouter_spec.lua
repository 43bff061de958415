-- providers/openrouter.lua: OpenRouter's facts: images through chat completions.
local p = require("cloudflare.tanstack_ai.providers.openrouter")

describe("cloudflare.tanstack_ai.providers.openrouter", function()
  it("names its slug, wire, path, key and defaults", function()
    assert.same({ "openrouter", "openrouter", "openai", "authorization", "v1/chat/completions" },
      { p.name, p.slug, p.wire, p.auth_header, p.chat_path })
    assert.same({ "OPENROUTER_API_KEY" }, p.key_env)
    assert.equal("openai/gpt-4o-mini", p.models.chat)
  end)

  it("makes images through chat completions, with no size", function()
    assert.equal("chat", p.image_api)
    assert.is_nil(p.images_path)
    assert.truthy(p.image_size:find("image_config", 1, true))
  end)
end)
