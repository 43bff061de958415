-- The generated Workers AI catalog matches its pinned sources (scripts/catalog/sources), and says what those
-- sources say about the models the issue names.
local catalog = require("cloudflare.tanstack_ai.workers_ai.catalog")
local json = require("tanstack.ai.json")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("Workers AI catalog", function()
  it("is exactly what scripts/catalog/gen_catalog.lua makes of the pinned sources", function()
    local text, jtext = assert(loadfile("scripts/catalog/gen_catalog.lua"))("--text")
    assert.equal(text, read("lua/cloudflare/tanstack_ai/workers_ai/catalog.lua"))
    assert.equal(jtext, read("spec/emulator/catalog.json")) -- the emulator's copy
    assert.same(catalog.models, json.decode(jtext).models)
  end)

  local typings = json.decode(read("scripts/catalog/sources/workers-types.json"))
  local docs = json.decode(read("scripts/catalog/sources/cloudflare-docs.json"))

  it("lists every typed model once: in one of the six tasks or excluded with a reason", function()
    assert.equal(catalog.typings_version, typings.version)
    for name in pairs(typings.models) do
      assert.is_true((catalog.models[name] ~= nil) ~= (catalog.excluded[name] ~= nil), name)
    end
    local per = {}
    for _, e in pairs(catalog.models) do per[e.task] = (per[e.task] or 0) + 1 end
    for _, t in ipairs({ "text-generation", "text-to-image", "speech-recognition", "text-to-speech",
      "summarization", "text-embeddings" }) do
      assert.is_true((per[t] or 0) > 0, t)
    end
  end)

  it("takes the task and constraints of a model from its docs page where the sources have one", function()
    for name, d in pairs(docs.models) do
      local e = assert(catalog.models[name], name)
      assert.is_truthy(e.docs:find(d.commit, 1, true))
      for field, p in pairs(d.input.properties or {}) do
        local f = e.fields[field]
        if f and p.maximum then assert.equal(p.maximum, f.maximum, name .. " " .. field) end
        if f and p.minimum then assert.equal(p.minimum, f.minimum, name .. " " .. field) end
      end
    end
  end)

  it("every field of a model is a field of its typed input", function()
    for name, e in pairs(catalog.models) do
      if e.docs_only then goto continue end
      local known = {}
      for _, v in ipairs(typings.models[name].inputs) do for k in pairs(v) do known[k] = true end end
      for k in pairs(e.fields) do assert.is_true(known[k], name .. " " .. k) end
      ::continue::
    end
  end)

  it("knows the forms the issue names", function()
    local M = catalog.models
    for _, n in ipairs({ "flux-2-dev", "flux-2-klein-4b", "flux-2-klein-9b" }) do
      assert.equal("multipart", M["@cf/black-forest-labs/" .. n].input)
    end
    assert.is_true(M["@cf/deepgram/flux"].realtime)
    assert.equal("realtime", M["@cf/deepgram/flux"].input)
    for _, n in ipairs({ "@cf/google/gemma-3-12b-it", "@cf/mistralai/mistral-small-3.1-24b-instruct",
      "@cf/qwen/qwq-32b" }) do
      assert.is_nil(M[n].fields.response_format, n)
      assert.is_truthy(M[n].fields.guided_json, n)
      assert.equal("guided_json", M[n].structured)
    end
    -- the typings of llama-3.2-11b-vision-instruct offer neither
    assert.is_nil(M["@cf/meta/llama-3.2-11b-vision-instruct"].structured)
    local guard = M["@cf/meta/llama-guard-3-8b"]
    assert.is_false(guard.streaming)
    assert.is_false(guard.function_calling)
    -- its response_format is {type?: string} (no json_schema member): JSON mode only
    assert.equal("json_object", guard.structured)
    local n_schema = 0
    for _, e in pairs(M) do if e.structured == "response_format" then n_schema = n_schema + 1 end end
    assert.is_true(n_schema > 50, "every other response_format takes a json_schema")
    assert.is_nil(M["@cf/meta/llama-3.1-8b-instruct-fp8"].fields.stream_options)
    assert.same({ "messages", "responses" }, M["@cf/openai/gpt-oss-120b"].forms)
    assert.is_true(M["@cf/meta/llama-3.2-11b-vision-instruct"].vision)
    assert.is_true(M["@cf/meta/llama-3.3-70b-instruct-fp8-fast"].lora)
    assert.equal("bytes", M["@cf/openai/whisper"].input)
    assert.equal("base64", M["@cf/openai/whisper-large-v3-turbo"].input)
    assert.equal("audio-object", M["@cf/deepgram/nova-3"].input)
    assert.same({ "prompt" }, (function() local k = {} for f, d in pairs(M["@cf/myshell-ai/melotts"].fields)
      do if d.required then k[#k + 1] = f end end return k end)())
    assert.equal(8, M["@cf/black-forest-labs/flux-1-schnell"].fields.steps.maximum)
    assert.is_nil(M["@cf/black-forest-labs/flux-1-schnell"].fields.width)
    assert.same({ "none", "wav", "ogg" }, M["@cf/deepgram/aura-2-en"].fields.container.enum)
    assert.equal("image/jpeg", M["@cf/leonardo/phoenix-1.0"].content_type)
    -- models on Cloudflare's pages that the typings lack
    assert.is_true(M["@cf/runwayml/stable-diffusion-v1-5-img2img"].docs_only)
    assert.equal("image/png", M["@cf/runwayml/stable-diffusion-v1-5-img2img"].content_type)
    assert.same({ "mean", "cls" }, M["@cf/baai/omni-bge-base-en-v1.5"].fields.pooling.enum)
    assert.matches("not a chat", M["@cf/cloudflare/clef"].unusable)
  end)
end)
