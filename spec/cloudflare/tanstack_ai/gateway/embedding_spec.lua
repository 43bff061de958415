-- cloudflare.tanstack_ai.gateway.embedding: OpenAI's Embeddings API through AI Gateway
-- (https://platform.openai.com/docs/api-reference/embeddings/create), over a scripted transport and against the
-- emulator's gateway (openai/embeddings), through cf.create_openai_embedding and ai.embed.
local config = require("cloudflare.tanstack_ai.config")
local embedding = require("cloudflare.tanstack_ai.gateway.embedding")
local stub = require("helpers.stub_transport")
local emulator = require("helpers.emulator")
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")

local GW = "https://gateway.ai.cloudflare.com/v1/acct/gw/"

local function adapter(model, answers)
  local t = stub.new(answers)
  local cfg = config.resolve({ accountId = "acct", gatewayId = "gw", apiKey = "sk-123456", transport = t,
    maxRetries = 0 }, { label = "t", gateway_only = true })
  return embedding.new("openai", model, cfg), t
end

describe("gateway embedding: OpenAI embeddings", function()
  it("posts model, input, float encoding and modelOptions; vectors and usage come back", function()
    local a, t = adapter("text-embedding-3-small", { stub.json({ object = "list", model = "text-embedding-3-small",
      data = { { object = "embedding", index = 0, embedding = { 0.1, 0.2 } },
        { object = "embedding", index = 1, embedding = { 0.3, 0.4 } } },
      usage = { prompt_tokens = 5, total_tokens = 5 } }) })
    assert.equal("embedding", a.kind)
    assert.equal("OpenAIEmbeddingAdapter(text-embedding-3-small)", tostring(a))
    local res = assert(a:embed({ input = { "a", "b" }, modelOptions = { dimensions = 2 } }))
    assert.equal(GW .. "openai/embeddings", t.requests[1].url)
    assert.same({ model = "text-embedding-3-small", input = { "a", "b" }, encoding_format = "float", dimensions = 2 },
      t:json(1))
    assert.same({ { 0.1, 0.2 }, { 0.3, 0.4 } }, res.embeddings)
    assert.same({ inputTokens = 5 }, res.usage)
  end)

  it("an answer without data is an error, not a crash", function()
    local a = adapter("m", { stub.json({ object = "list" }) })
    local res, err = a:embed({ input = "x" })
    assert.is_nil(res)
    assert.truthy(tostring(err.message):find("no data", 1, true))
  end)

  it("through the emulator's gateway, with cf.create_openai_embedding and ai.embed", function()
    local emu = emulator.shared()
    local a = cf.create_openai_embedding("text-embedding-3-small", { accountId = "acct", gatewayId = "gw",
      apiKey = "sk-test", gatewayBaseUrl = emu.url .. "/v1" })
    local res = assert(ai.embed({ adapter = a, input = { "first", "second" } }))
    assert.equal(2, #res.embeddings)
    assert.is_true(#res.embeddings[1] > 0)
    local req = emu:last_request()
    assert.truthy(req.path:find("/v1/acct/gw/openai/embeddings", 1, true), req.path)
  end)
end)
