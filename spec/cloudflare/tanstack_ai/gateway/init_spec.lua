-- cloudflare.tanstack_ai.gateway (gateway/init.lua): the cf-aig-* option headers, a config's cache headers, the gateway token,
-- each provider's auth header, query strings, gateway URLs and universal entries.
local gateway = require("cloudflare.tanstack_ai.gateway")
local config = require("cloudflare.tanstack_ai.config")

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local function gateway_cfg(extra)
  local user = { accountId = "acct", gatewayId = "gw", apiKey = "prov-key-1" }
  for k, v in pairs(extra or {}) do user[k] = v end
  return config.resolve(user, { label = "t", needs_provider_key = true })
end

describe("cloudflare.tanstack_ai.gateway", function()
  describe("option_headers", function()
    it("maps every option to its cf-aig-* header", function()
      local h = gateway.option_headers({
        skipCache = true, cacheTtl = 3600, cacheKey = "ck-1", metadata = { user = "u1" },
        collectLog = true, eventId = "ev-42", requestTimeoutMs = 5000,
      })
      assert.same({
        ["cf-aig-skip-cache"] = "true",
        ["cf-aig-cache-ttl"] = "3600",
        ["cf-aig-cache-key"] = "ck-1",
        ["cf-aig-metadata"] = '{"user":"u1"}',
        ["cf-aig-collect-log"] = "true",
        ["cf-aig-event-id"] = "ev-42",
        ["cf-aig-request-timeout"] = "5000",
      }, h)
    end)

    it("writes false booleans as false", function()
      assert.same({ ["cf-aig-skip-cache"] = "false", ["cf-aig-collect-log"] = "false" },
        gateway.option_headers({ skipCache = false, collectLog = false }))
    end)

    it("writes cacheTtl as an integer", function()
      assert.equal("120", gateway.option_headers({ cacheTtl = 120.0 })["cf-aig-cache-ttl"])
      assert.equal("2592000", gateway.option_headers({ cacheTtl = 2592000 })["cf-aig-cache-ttl"])
    end)

    it("writes metadata as JSON with sorted keys, numbers and booleans kept", function()
      local h = gateway.option_headers({ metadata = { user = "u1", tier = 2, beta = true } })
      assert.equal('{"beta":true,"tier":2,"user":"u1"}', h["cf-aig-metadata"])
    end)

    it("stringifies a numeric event id", function()
      assert.equal("7", gateway.option_headers({ eventId = 7 })["cf-aig-event-id"])
    end)

    it("adds nothing for absent options and ignores unknown ones", function()
      assert.same({}, gateway.option_headers({}))
      assert.same({}, gateway.option_headers({ id = "gw", somethingElse = true }))
    end)

    it("writes into the table given and returns it", function()
      local h = { authorization = "Bearer x" }
      local out = gateway.option_headers({ skipCache = true }, h)
      assert.equal(h, out)
      assert.same({ authorization = "Bearer x", ["cf-aig-skip-cache"] = "true" }, h)
    end)
  end)

  describe("cache_headers", function()
    it("takes skipCache, cacheTtl, customCacheKey and metadata from a resolved config", function()
      local cfg = gateway_cfg({ skipCache = true, cacheTtl = 600, customCacheKey = "my-key", metadata = { run = "r1" } })
      local h = gateway.cache_headers(cfg, {})
      assert.same({
        ["cf-aig-skip-cache"] = "true",
        ["cf-aig-cache-ttl"] = "600",
        ["cf-aig-cache-key"] = "my-key",
        ["cf-aig-metadata"] = '{"run":"r1"}',
      }, h)
    end)

    it("accepts the snake_case spellings too", function()
      local cfg = gateway_cfg({ skip_cache = false, cache_ttl = 60, custom_cache_key = "k2" })
      assert.same({ ["cf-aig-skip-cache"] = "false", ["cf-aig-cache-ttl"] = "60", ["cf-aig-cache-key"] = "k2" },
        gateway.cache_headers(cfg, {}))
    end)

    it("adds nothing for a config without gateway options", function()
      local h = { ["content-type"] = "application/json" }
      gateway.cache_headers(gateway_cfg(), h)
      assert.same({ ["content-type"] = "application/json" }, h)
    end)

    it("never adds the provider key or the gateway token", function()
      local h = gateway.cache_headers(gateway_cfg({ cfApiKey = "cf-tok-1", skipCache = true }), {})
      assert.equal(1, count(h))
      assert.is_nil(h.authorization)
      assert.is_nil(h["cf-aig-authorization"])
    end)
  end)

  describe("gateway_auth", function()
    it("sends the gateway token as a bearer cf-aig-authorization", function()
      local h = gateway.gateway_auth("cf-tok-1", {})
      assert.same({ ["cf-aig-authorization"] = "Bearer cf-tok-1" }, h)
    end)

    it("adds nothing without a token", function()
      local h = { x = "1" }
      assert.equal(h, gateway.gateway_auth(nil, h))
      assert.same({ x = "1" }, h)
    end)
  end)

  describe("provider_auth", function()
    local cases = {
      { "workers-ai", "authorization", "Bearer K1" },
      { "openai", "authorization", "Bearer K1" },
      { "grok", "authorization", "Bearer K1" },
      { "openrouter", "authorization", "Bearer K1" },
      { "anthropic", "x-api-key", "K1" },
      { "google-ai-studio", "x-goog-api-key", "K1" },
      { "groq", "authorization", "Bearer K1" }, -- a provider not in the table: bearer
    }
    for _, c in ipairs(cases) do
      it(c[1] .. " takes its key in " .. c[2], function()
        local h = gateway.provider_auth(c[1], "K1", {})
        assert.same({ [c[2]] = c[3] }, h)
      end)
    end

    it("adds no header without a key (BYOK / unified billing)", function()
      for _, c in ipairs(cases) do
        local h = { keep = "me" }
        assert.equal(h, gateway.provider_auth(c[1], nil, h))
        assert.same({ keep = "me" }, h, c[1])
      end
    end)
  end)

  describe("query_string", function()
    it("is empty for nil and for an empty table", function()
      assert.equal("", gateway.query_string(nil))
      assert.equal("", gateway.query_string({}))
    end)

    it("sorts the keys", function()
      assert.equal("?alpha=1&beta=2&gamma=3", gateway.query_string({ gamma = "3", alpha = "1", beta = "2" }))
    end)

    it("escapes keys and values, keeping unreserved characters and @ / :", function()
      assert.equal("?q=a%20b%26c%3Dd%2Be%3F%23", gateway.query_string({ q = "a b&c=d+e?#" }))
      assert.equal("?model=@cf/meta/x-1.0_y~z:v", gateway.query_string({ model = "@cf/meta/x-1.0_y~z:v" }))
      assert.equal("?a%20b=%C3%A9", gateway.query_string({ ["a b"] = "\195\169" }))
    end)

    it("repeats the key for each array element", function()
      assert.equal("?a=0&tag=x&tag=y%20z", gateway.query_string({ tag = { "x", "y z" }, a = "0" }))
    end)

    it("writes booleans and integers as text", function()
      assert.equal("?n=3&queueRequest=true&raw=false", gateway.query_string({ queueRequest = true, raw = false, n = 3 }))
    end)

    it("adds nothing for an empty array", function()
      assert.equal("", gateway.query_string({ tag = {} }))
      assert.equal("?b=1", gateway.query_string({ a = {}, b = 1 }))
    end)
  end)

  describe("url", function()
    it("builds {base}/{account}/{gateway}[/{provider}[/{endpoint}]]", function()
      assert.equal("https://gateway.ai.cloudflare.com/v1/acct/gw", gateway.url("https://gateway.ai.cloudflare.com/v1", "acct", "gw"))
      assert.equal("https://gateway.ai.cloudflare.com/v1/acct/gw/openai",
        gateway.url("https://gateway.ai.cloudflare.com/v1", "acct", "gw", "openai"))
      assert.equal("http://127.0.0.1:9/v1/acct/gw/workers-ai/@cf/meta/llama-3.1-8b-instruct",
        gateway.url("http://127.0.0.1:9/v1", "acct", "gw", "workers-ai", "@cf/meta/llama-3.1-8b-instruct"))
      assert.equal("https://g/v1/a/b/google-ai-studio/v1beta/models/gemini-2.0-flash:generateContent",
        gateway.url("https://g/v1", "a", "b", "google-ai-studio", "v1beta/models/gemini-2.0-flash:generateContent"))
    end)
  end)

  describe("entry", function()
    it("builds a universal entry", function()
      local headers, query = { authorization = "Bearer k" }, { prompt = "p" }
      local e = gateway.entry("workers-ai", "@cf/x/y", headers, query)
      assert.same({ provider = "workers-ai", endpoint = "@cf/x/y", headers = headers, query = query }, e)
      assert.equal(headers, e.headers)
      assert.equal(query, e.query)
    end)
  end)
end)
