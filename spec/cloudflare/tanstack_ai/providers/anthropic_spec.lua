-- providers/anthropic.lua: Anthropic's facts and its anthropic-version header.
local p = require("cloudflare.tanstack_ai.providers.anthropic")

describe("cloudflare.tanstack_ai.providers.anthropic", function()
  it("names its slug, wire, path, key and defaults", function()
    assert.same({ "anthropic", "anthropic", "anthropic", "x-api-key", "v1/messages" },
      { p.name, p.slug, p.wire, p.auth_header, p.chat_path })
    assert.same({ "ANTHROPIC_API_KEY" }, p.key_env)
    assert.same({ "chat", "summarize" }, p.activities)
    assert.equal("claude-sonnet-4-5", p.models.chat)
  end)

  it("sends anthropic-version, the config's own when it has one", function()
    assert.same({ ["anthropic-version"] = "2023-06-01" }, p.headers({}))
    assert.same({ ["anthropic-version"] = "2024-10-22" }, p.headers({ anthropic_version = "2024-10-22" }))
  end)
end)
