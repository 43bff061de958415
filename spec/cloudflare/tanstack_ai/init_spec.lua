-- cloudflare.tanstack_ai: the package's front module. Its constructors come from the provider files
-- (providers/<name>.lua): every one under both spellings, checking the model and resolving the config once, then
-- building the right module's adapter (Workers AI chat or media; the gateway's chat, image, transcription, tts;
-- summarize over the gateway chat). Requests go to a scripted transport (spec/helpers/stub_transport.lua) so the
-- URL each adapter reaches is seen without a server. Every provider end to end: gateway/providers_spec.lua and
-- workers_ai/modes_spec.lua; the messages users see: user_errors_spec.lua.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local providers = require("cloudflare.tanstack_ai.providers")
local stub = require("helpers.stub_transport")

local THIS = "init_spec.lua"

local KIND = { chat = "text", summarize = "summarize", image = "image", transcription = "transcription", tts = "tts",
  embedding = "embedding" }

local function openai_answer(text)
  return stub.json({ id = "x", object = "chat.completion", model = "m", choices = { { index = 0,
    message = { role = "assistant", content = text }, finish_reason = "stop" } },
    usage = { prompt_tokens = 1, completion_tokens = 1, total_tokens = 2 } })
end

describe("cloudflare.tanstack_ai", function()
  it("exports every provider file's constructor under its snake and camel names, the same function", function()
    local n = 0
    for _, c in ipairs(providers.constructors()) do
      n = n + 1
      assert.is_function(cf[c.snake], c.snake)
      assert.equal(cf[c.snake], cf[c.camel], c.camel)
    end
    assert.equal(24, n) -- 23, and create_openai_embedding
    local exported = 0
    for k, v in pairs(cf) do
      if type(v) == "function" and k:match("^create") then exported = exported + 1 end
    end
    assert.equal(2 * n, exported) -- nothing else starting with create
    assert.matches("^%d+%.%d+%.%d+$", cf._VERSION)
  end)

  it("each constructor builds an adapter of its activity's kind for the model", function()
    for _, c in ipairs(providers.constructors()) do
      local cfg = c.provider.gateway_only and { accountId = "acct", gatewayId = "gw", apiKey = "k-123456" }
        or { accountId = "acct", apiKey = "k-123456" }
      local a = cf[c.snake]("some-model", cfg)
      assert.equal(KIND[c.activity], a.kind, c.snake)
      assert.equal("some-model", a.model, c.snake)
    end
  end)

  it("refuses a model that is no safe URL path identifier, at the caller's line, before anything is sent", function()
    local t = stub.new({ openai_answer("x") })
    for _, bad in ipairs({ "", "../../accounts/other", "m?x=1", "a b", "m#frag", "/leading" }) do
      local ok, err = pcall(cf.create_workers_ai_chat, bad, { accountId = "acct", apiKey = "k-123456", transport = t })
      assert.is_false(ok, bad)
      assert.matches(THIS .. ":%d+: createWorkersAiChat: model ", tostring(err))
    end
    local ok, err = pcall(cf.create_openai_chat, 42, { accountId = "acct", gatewayId = "gw" })
    assert.is_false(ok)
    assert.matches("createOpenAiChat: model must be a non%-empty string", tostring(err))
    -- a catalog model name with '/', '@' and ':' is fine
    assert.equal("@cf/meta/llama-3.1-8b-instruct:fast",
      cf.create_workers_ai_chat("@cf/meta/llama-3.1-8b-instruct:fast", { accountId = "acct", apiKey = "k-123456" }).model)
    assert.equal(0, #t.requests)
  end)

  it("Workers AI chat in REST mode posts to the account's /ai/v1/chat/completions", function()
    local t = stub.new({ openai_answer("hi back") })
    local a = cf.createWorkersAiChat("@cf/meta/llama-3.1-8b-instruct", { accountId = "acct", apiKey = "k-123456",
      transport = t, maxRetries = 0 })
    assert.equal("hi back", ai.chat({ adapter = a, stream = false, messages = { { role = "user", content = "hi" } } }))
    assert.equal("https://api.cloudflare.com/client/v4/accounts/acct/ai/v1/chat/completions", t.requests[1].url)
    assert.equal("@cf/meta/llama-3.1-8b-instruct", t:json(1).model)
  end)

  it("a gateway provider's chat goes through AI Gateway to the provider's path, with its auth header", function()
    local t = stub.new({ openai_answer("from openai") })
    local a = cf.create_openai_chat("gpt-4o", { accountId = "acct", gatewayId = "gw", apiKey = "sk-123456",
      transport = t, maxRetries = 0 })
    assert.equal("from openai", ai.chat({ adapter = a, stream = false, messages = { { role = "user", content = "x" } } }))
    assert.equal("https://gateway.ai.cloudflare.com/v1/acct/gw/openai/chat/completions", t.requests[1].url)
    local h = {}
    for k, v in pairs(t.requests[1].headers) do h[k:lower()] = v end
    assert.equal("Bearer sk-123456", h.authorization)
  end)

  it("third-party providers refuse the plain modes, naming the way out", function()
    assert.has_error(function() cf.create_grok_chat("grok-4", { accountId = "a", apiKey = "k-123456" }) end,
      "createGrokChat: third-party providers only work through AI Gateway: set gatewayId (with accountId) " ..
      "or binding = AI:gateway(\"id\")")
  end)

  it("a gateway provider's summarize is the summarizer over its chat adapter", function()
    local t = stub.new({ openai_answer("short") })
    local a = cf.create_openrouter_summarize("openai/gpt-4o", { accountId = "acct", gatewayId = "gw", transport = t,
      maxRetries = 0 })
    assert.equal("summarize", a.kind)
    local res = assert(ai.summarize({ adapter = a, text = "a long text", maxLength = 10 }))
    assert.equal("short", res.summary)
    assert.equal("https://gateway.ai.cloudflare.com/v1/acct/gw/openrouter/v1/chat/completions", t.requests[1].url)
  end)

  it("binding{...} is the REST-backed env.AI: run() and gateway(id)", function()
    local AI = cf.binding({ accountId = "acct", apiKey = "k-123456" })
    assert.is_function(AI.run)
    assert.is_function(AI.gateway)
    assert.has_error(function() cf.binding({ accountId = "acct", apiKey = "k-123456", nope = 1 }) end)
  end)
end)
