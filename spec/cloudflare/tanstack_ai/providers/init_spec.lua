-- cloudflare.tanstack_ai.providers: the list, get / find / by_slug, the generated constructor names (exactly the
-- names the package always exported), keys from the environment, the chat endpoint quirks and the auth header.
local providers = require("cloudflare.tanstack_ai.providers")
local cf = require("cloudflare.tanstack_ai")

-- The constructors before they were generated from the provider files (cloudflare/tanstack_ai/init.lua's
-- CONSTRUCTORS table): the names must stay exactly these.
local NAMES = {
  { "create_workers_ai_chat", "createWorkersAiChat" },
  { "create_workers_ai_image", "createWorkersAiImage" },
  { "create_workers_ai_transcription", "createWorkersAiTranscription" },
  { "create_workers_ai_tts", "createWorkersAiTts" },
  { "create_workers_ai_summarize", "createWorkersAiSummarize" },
  { "create_workers_ai_embedding", "createWorkersAiEmbedding" },
  { "create_openai_chat", "createOpenAiChat" },
  { "create_openai_summarize", "createOpenAiSummarize" },
  { "create_openai_image", "createOpenAiImage" },
  { "create_openai_transcription", "createOpenAiTranscription" },
  { "create_openai_tts", "createOpenAiTts" },
  { "create_openai_embedding", "createOpenAiEmbedding" }, -- /v1/embeddings through AI Gateway
  { "create_anthropic_chat", "createAnthropicChat" },
  { "create_anthropic_summarize", "createAnthropicSummarize" },
  { "create_gemini_chat", "createGeminiChat" },
  { "create_gemini_summarize", "createGeminiSummarize" },
  { "create_gemini_image", "createGeminiImage" },
  { "create_gemini_tts", "createGeminiTts" },
  { "create_grok_chat", "createGrokChat" },
  { "create_grok_summarize", "createGrokSummarize" },
  { "create_grok_image", "createGrokImage" },
  { "create_openrouter_chat", "createOpenRouterChat" },
  { "create_openrouter_summarize", "createOpenRouterSummarize" },
  { "create_openrouter_image", "createOpenRouterImage" },
}

describe("cloudflare.tanstack_ai.providers", function()
  it("lists the six providers in order, each file's fields complete", function()
    local names = {}
    for i, p in ipairs(providers.list) do
      names[i] = p.name
      for _, f in ipairs({ "name", "label", "slug", "wire", "auth_header" }) do
        assert.is_string(p[f], p.name .. "." .. f)
      end
      assert.is_table(p.key_env, p.name)
      assert.is_true(#p.key_env >= 1, p.name)
      for _, a in ipairs(p.activities) do
        assert.is_true(p.offers[a], p.name .. " " .. a)
        assert.is_string(p.models[a], p.name .. " has no default " .. a .. " model")
      end
    end
    assert.same({ "workers-ai", "openai", "anthropic", "gemini", "grok", "openrouter" }, names)
    assert.equal("workers-ai, openai, anthropic, gemini, grok, openrouter", providers.names())
  end)

  it("get raises on an unknown name; find returns nil; both take workers_ai and workers-ai", function()
    assert.equal("OpenAI", providers.get("openai").label)
    assert.equal(providers.get("workers-ai"), providers.get("workers_ai"))
    local ok, err = pcall(providers.get, "groq")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("unknown provider 'groq' (one of workers-ai, openai", 1, true), err)
    assert.is_nil(providers.find("groq"))
    assert.equal("Gemini", providers.find("gemini").label)
  end)

  it("finds a provider by its gateway slug", function()
    assert.equal("gemini", providers.by_slug("google-ai-studio").name)
    assert.equal("workers-ai", providers.by_slug("workers-ai").name)
    assert.is_nil(providers.by_slug("gemini"))
  end)

  it("generates exactly the constructor names the package always had, and the package exports them", function()
    local got = {}
    for _, c in ipairs(providers.constructors()) do got[#got + 1] = c.snake .. " " .. c.camel end
    local want = {}
    for _, n in ipairs(NAMES) do want[#want + 1] = n[1] .. " " .. n[2] end
    table.sort(got)
    table.sort(want)
    assert.same(want, got)
    for _, n in ipairs(NAMES) do
      assert.is_function(cf[n[1]], n[1])
      assert.equal(cf[n[1]], cf[n[2]], n[2])
    end
    assert.is_nil(cf.create_anthropic_image)
    -- OpenAI has embeddings (through AI Gateway); Anthropic has no embeddings API
    assert.is_function(cf.create_openai_embedding)
    assert.is_nil(cf.create_anthropic_embedding)
  end)

  it("reads a provider's key from the first of its environment variables that is set", function()
    local env = { CLOUDFLARE_API_TOKEN = "tok", OPENAI_API_KEY = "" }
    local function getenv(k) return env[k] end
    assert.same({ "tok", "CLOUDFLARE_API_TOKEN" }, { providers.key_from_env(providers.get("workers-ai"), getenv) })
    env.CLOUDFLARE_API_KEY = "key"
    assert.same({ "key", "CLOUDFLARE_API_KEY" }, { providers.key_from_env(providers.get("workers-ai"), getenv) })
    assert.is_nil(providers.key_from_env(providers.get("openai"), getenv)) -- empty counts as unset
    env.XAI_API_KEY = "x"
    assert.equal("x", (providers.key_from_env(providers.get("grok"), getenv)))
  end)

  describe("chat_endpoint", function()
    it("applies the max_tokens spelling and drops sampling for reasoning models (OpenAI)", function()
      local p = providers.get("openai")
      local body = { max_tokens = 10, temperature = 0.5, top_p = 0.9, stream = true }
      local path, query, stream = providers.chat_endpoint(p, "o3-mini", body, { maxTokens = 10 })
      assert.equal("chat/completions", path)
      assert.is_nil(query)
      assert.is_true(stream)
      assert.same({ max_completion_tokens = 10, stream = true }, body)
      body = { temperature = 0.5 }
      assert.is_false(select(3, providers.chat_endpoint(p, "gpt-4o", body, {})))
      assert.same({ temperature = 0.5 }, body)
    end)

    it("leaves other providers' bodies alone", function()
      local body = { max_tokens = 5, temperature = 1, stream = true }
      assert.equal("v1/chat/completions", providers.chat_endpoint(providers.get("grok"), "grok-4", body,
        { maxTokens = 5 }))
      assert.same({ max_tokens = 5, temperature = 1, stream = true }, body)
    end)

    it("lets Gemini choose streaming by the endpoint", function()
      local p = providers.get("gemini")
      local path, query, stream = providers.chat_endpoint(p, "gemini-2.5-flash", {}, {})
      assert.equal("v1beta/models/gemini-2.5-flash:streamGenerateContent", path)
      assert.same({ alt = "sse" }, query)
      assert.is_true(stream)
      path, query, stream = providers.chat_endpoint(p, "gemini-2.5-flash", {}, { stream = false })
      assert.equal("v1beta/models/gemini-2.5-flash:generateContent", path)
      assert.is_nil(query)
      assert.is_false(stream)
      assert.is_false(select(3, providers.chat_endpoint(p, "g", {}, { outputSchema = {} })))
    end)
  end)

  it("adds a provider's own headers (anthropic-version, overridable by the config)", function()
    local a = providers.get("anthropic")
    assert.same({ ["anthropic-version"] = "2023-06-01" }, providers.headers(a, {}))
    assert.same({ ["anthropic-version"] = "2024-01-01" }, providers.headers(a, { anthropic_version = "2024-01-01" }))
    assert.same({}, providers.headers(providers.get("openai"), {}))
  end)

  it("puts the key in each provider's auth header; a slug no file names takes a bearer token", function()
    assert.same({ authorization = "Bearer k" }, providers.auth("openai", "k", {}))
    assert.same({ ["x-api-key"] = "k" }, providers.auth("anthropic", "k", {}))
    assert.same({ ["x-goog-api-key"] = "k" }, providers.auth("google-ai-studio", "k", {}))
    assert.same({ authorization = "Bearer k" }, providers.auth("groq", "k", {}))
    assert.same({}, providers.auth("anthropic", nil, {}))
  end)
end)
