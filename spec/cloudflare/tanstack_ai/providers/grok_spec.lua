-- providers/grok.lua: xAI's facts: v1/ paths, base64 images, no size.
local p = require("cloudflare.tanstack_ai.providers.grok")

describe("cloudflare.tanstack_ai.providers.grok", function()
  it("names its slug, wire, paths, key and defaults", function()
    assert.same({ "grok", "grok", "openai", "authorization" }, { p.name, p.slug, p.wire, p.auth_header })
    assert.same({ "XAI_API_KEY" }, p.key_env)
    assert.same({ "v1/chat/completions", "v1/images/generations", "images" }, { p.chat_path, p.images_path, p.image_api })
    assert.same({ "chat", "summarize", "image" }, p.activities)
    assert.equal("grok-2-image", p.models.image)
  end)

  it("always asks for base64 images and refuses a size", function()
    assert.equal("b64_json", p.image_response_format("grok-2-image"))
    assert.truthy(p.image_size:find("aspect_ratio", 1, true))
  end)
end)
