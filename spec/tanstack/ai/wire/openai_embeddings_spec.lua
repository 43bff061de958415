-- OpenAI's Embeddings API at the edge: the request read with its limits, the answer in OpenAI's list shape
-- (https://platform.openai.com/docs/api-reference/embeddings/object), base64 as float32 little-endian bytes (what
-- the official SDKs request by default and decode), and GET /v1/models' list shape.
local emb = require("tanstack.ai.wire.openai_embeddings")
local json = require("tanstack.ai.json")
local core = require("tanstack.ai.core")

describe("tanstack.ai.wire.openai_embeddings", function()
  it("reads a string or an array of strings, the encoding and dimensions", function()
    local r = assert(emb.parse_request('{"model":"text-embedding-3-small","input":"hello"}'))
    assert.same({ "hello" }, r.input)
    assert.equals("float", r.encodingFormat)
    r = assert(emb.parse_request('{"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":2}'))
    assert.same({ "a", "b" }, r.input)
    assert.equals("base64", r.encodingFormat)
    assert.equals(2, r.dimensions)
  end)

  it("refuses what it cannot serve, naming the param, in OpenAI's error shape", function()
    local cases = {
      { '{"input":"x"}', "model" },
      { '{"model":"m"}', "input" },
      { '{"model":"m","input":""}', "input" },
      { '{"model":"m","input":[1,2,3]}', "input" },
      { '{"model":"m","input":[]}', "input" },
      { '{"model":"m","input":"x","encoding_format":"int8"}', "encoding_format" },
      { '{"model":"m","input":"x","dimensions":0}', "dimensions" },
    }
    for _, c in ipairs(cases) do
      local r, err = emb.parse_request(c[1])
      assert.is_nil(r, c[1])
      assert.equals(400, err.status)
      assert.equals(c[2], err.param, c[1])
    end
    local _, err = emb.parse_request("not json")
    assert.equals("invalid_json", err.code)
    _, err = emb.parse_request('{"model":"m","input":"' .. string.rep("x", 100) .. '"}', { maxBodyBytes = 50 })
    assert.equals(413, err.status)
    _, err = emb.parse_request(json.encode({ model = "m", input = { "a", "b", "c" } }), { maxInputs = 2 })
    assert.equals("limit_exceeded", err.code)
    _, err = emb.parse_request(json.encode({ model = "m", input = string.rep("y", 11) }), { maxInputBytes = 10 })
    assert.equals("limit_exceeded", err.code)
  end)

  it("answers in OpenAI's list shape; base64 is float32 little-endian", function()
    local res = { embeddings = { { 0.5, -1, 2 }, { 0.25, 0, 1 } } }
    local out = emb.to_response(res, { model = "text-embedding-3-small", promptTokens = 4 })
    assert.equals("list", out.object)
    assert.equals("text-embedding-3-small", out.model)
    assert.same({ object = "embedding", index = 1, embedding = { 0.25, 0, 1 } }, out.data[2])
    assert.same({ prompt_tokens = 4, total_tokens = 4 }, out.usage)
    local b = emb.to_response(res, { encodingFormat = "base64", dimensions = 2 })
    local bytes = core.base64_decode(b.data[1].embedding)
    -- 0.5 = 0x3F000000, -1 = 0xBF800000 (IEEE 754 binary32), little-endian
    assert.equals("\0\0\0\63\0\0\128\191", bytes)
    local decoded = json.decode(json.encode(emb.to_response({ embeddings = { {} } }, {})))
    assert.equals("list", decoded.object)
  end)

  it("models_list: OpenAI's model list", function()
    local l = emb.models_list({ { id = "a" }, { id = "b" } }, 1700000000)
    assert.equals("list", l.object)
    assert.same({ id = "a", object = "model", created = 1700000000, owned_by = "router" }, l.data[1])
    assert.truthy(json.encode(emb.models_list({})):find('"data":[]', 1, true))
  end)
end)
