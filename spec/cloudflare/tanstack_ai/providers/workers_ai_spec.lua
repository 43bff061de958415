-- providers/workers_ai.lua: Workers AI's facts: every activity, the Cloudflare key, not only through a gateway.
local p = require("cloudflare.tanstack_ai.providers.workers_ai")

describe("cloudflare.tanstack_ai.providers.workers_ai", function()
  it("names its slug, key variables and constructor prefix", function()
    assert.same({ "workers-ai", "workers-ai", "authorization", false }, { p.name, p.slug, p.auth_header, p.gateway_only })
    assert.same({ "CLOUDFLARE_API_KEY", "CLOUDFLARE_API_TOKEN" }, p.key_env)
    assert.same({ snake = "workers_ai", camel = "WorkersAi" }, p.constructor)
  end)

  it("offers every activity, each with a default @cf model", function()
    assert.same({ "chat", "image", "transcription", "tts", "summarize", "embedding" }, p.activities)
    for _, a in ipairs(p.activities) do assert.truthy(p.models[a]:match("^@cf/"), a) end
    assert.equal("@cf/meta/llama-4-scout-17b-16e-instruct", p.models.chat)
  end)
end)
