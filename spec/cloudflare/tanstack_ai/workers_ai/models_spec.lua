-- cloudflare.tanstack_ai.workers_ai.models: a Workers AI model's catalog entry, the refusal of a model this API
-- cannot drive, and the local check of the options its schema constrains (types, enums, ranges, lengths, required
-- fields), naming the option, the model and what is allowed. Synthetic entries pin each rule; the real catalog
-- is walked model by model in catalog_models_spec.lua and catalog_adapters_spec.lua beside this file.
local models = require("cloudflare.tanstack_ai.workers_ai.models")
local catalog = require("cloudflare.tanstack_ai.workers_ai.catalog")
local json = require("tanstack.ai.json")

local function entry(fields) return { fields = fields } end

-- one entry with a field of every rule check knows
local E = entry({
  prompt = { type = "string", required = true, min_length = 1, max_length = 5 },
  steps = { type = "number", integer = true, minimum = 1, maximum = 8 },
  strength = { type = "number", minimum = 0 },
  voice = { type = "string", enum = { "a", "b" } },
  image = { type = "array" },
  audio = { type = "string|bytes" },
  meta = { type = "object" },
  free = { type = "any" },
  multipart = { type = "object", required = true },
})

describe("workers_ai models", function()
  it("entry: the catalog's entry of a model, nil for one it lacks", function()
    assert.equal(models.catalog, catalog)
    local e = models.entry("@cf/stabilityai/stable-diffusion-xl-base-1.0")
    assert.equal(catalog.models["@cf/stabilityai/stable-diffusion-xl-base-1.0"], e)
    assert.equal("text-to-image", e.task)
    assert.is_nil(models.entry("@cf/nobody/newer-than-the-catalog"))
    assert.is_nil(models.entry("stable-diffusion-xl-base-1.0")) -- the full name only
  end)

  it("unusable: a realtime model is refused with the batch models to use instead", function()
    local msg = models.unusable("@cf/deepgram/flux", models.entry("@cf/deepgram/flux"))
    assert.matches("^@cf/deepgram/flux is a realtime %(websocket%) model", msg)
    assert.matches("@cf/openai/whisper-large-v3-turbo", msg, 1, true)
    assert.equal("@cf/m cannot be driven by this adapter: no chat input",
      models.unusable("@cf/m", { unusable = "no chat input", fields = {} }))
    assert.is_nil(models.unusable("@cf/openai/whisper", models.entry("@cf/openai/whisper")))
    assert.is_nil(models.unusable("@cf/unknown", nil))
  end)

  it("has: a field of the typed input; a model without an entry has every field of the common form", function()
    local e = entry({ prompt = { type = "string" } })
    assert.is_true(models.has(e, "prompt"))
    assert.is_false(models.has(e, "width"))
    assert.is_true(models.has(nil, "width"))
  end)
end)

describe("workers_ai models: check", function()
  it("nil for a model without an entry, and for inputs that fit", function()
    assert.is_nil(models.check("@cf/x", nil, { anything = "goes" }, "L"))
    assert.is_nil(models.check("@cf/x", E, { prompt = "hi", steps = 8, strength = 0, voice = "b", image = { 1 },
      audio = "\0\1", meta = {}, free = true }, "L"))
    assert.is_nil(models.check("@cf/x", E, { prompt = "12345", steps = 1, strength = 1e9 }, "L"))
  end)

  it("a missing required field, named (multipart is the form, never required of the caller)", function()
    assert.equal("L: @cf/x requires prompt", models.check("@cf/x", E, {}, "L"))
    assert.equal("L: @cf/x requires text (prompt)", models.check("@cf/x", E, {}, "L", { prompt = "text" }))
  end)

  it("a value of the wrong type", function()
    assert.equal("L: steps of @cf/x must be a number (got string)",
      models.check("@cf/x", E, { prompt = "p", steps = "4" }, "L"))
    assert.equal("L: image of @cf/x must be a array (got string)",
      models.check("@cf/x", E, { prompt = "p", image = "bytes" }, "L"))
    assert.equal("L: audio of @cf/x must be a string|bytes (got number)",
      models.check("@cf/x", E, { prompt = "p", audio = 1 }, "L"))
  end)

  it("an integer field given a fraction", function()
    assert.equal("L: steps of @cf/x must be an integer (got 2.5)",
      models.check("@cf/x", E, { prompt = "p", steps = 2.5 }, "L"))
  end)

  it("a number out of range, either side, with the range", function()
    assert.equal("L: steps 9 is out of range for @cf/x (allowed: 1 to 8)",
      models.check("@cf/x", E, { prompt = "p", steps = 9 }, "L"))
    assert.equal("L: steps 0 is out of range for @cf/x (allowed: 1 to 8)",
      models.check("@cf/x", E, { prompt = "p", steps = 0 }, "L"))
    assert.equal("L: strength -1 is out of range for @cf/x (allowed: 0 to any)",
      models.check("@cf/x", E, { prompt = "p", strength = -1 }, "L"))
  end)

  it("a value outside an enum, with the allowed values, under the caller's option name", function()
    assert.equal("L: speaker (voice) 'c' is not accepted by @cf/x (allowed: a, b)",
      models.check("@cf/x", E, { prompt = "p", voice = "c" }, "L", { voice = "speaker" }))
  end)

  it("a string too short or too long", function()
    assert.equal("L: prompt of @cf/x must be 1 to 5 characters long (got 0)",
      models.check("@cf/x", E, { prompt = "" }, "L"))
    assert.equal("L: prompt of @cf/x must be 1 to 5 characters long (got 6)",
      models.check("@cf/x", E, { prompt = "123456" }, "L"))
  end)

  it("counts a string's length in characters, as JSON Schema's minLength / maxLength do", function()
    -- JSON Schema Validation, section 6.3.1: the length of a string is its number of characters (code points)
    assert.is_nil(models.check("@cf/x", E, { prompt = "\195\169\195\169\195\169" }, "L")) -- 3 (6 bytes)
    assert.is_nil(models.check("@cf/x", E, { prompt = "\240\159\152\128\226\130\172ab\195\169" }, "L")) -- 5
    assert.equal("L: prompt of @cf/x must be 1 to 5 characters long (got 6)",
      models.check("@cf/x", E, { prompt = "\240\159\152\128\226\130\172abc\195\169" }, "L"))
  end)

  it("names the first problem in field order, the same every time", function()
    local inputs = { prompt = "p", steps = 99, voice = "zzz", strength = -5 }
    local first = models.check("@cf/x", E, inputs, "L")
    assert.matches("^L: steps 99", first)
    for _ = 1, 5 do assert.equal(first, models.check("@cf/x", E, inputs, "L")) end
  end)
end)

describe("workers_ai models: check", function()
  it("constraints_only: no types, no required fields, json.null skipped; enums, ranges and lengths still",
    function()
      assert.is_nil(models.check("@cf/x", E, { steps = "4", voice = json.null }, "L", nil, true))
      assert.equal("L: steps 9 is out of range for @cf/x (allowed: 1 to 8)",
        models.check("@cf/x", E, { steps = 9 }, "L", nil, true))
      assert.equal("L: voice 'c' is not accepted by @cf/x (allowed: a, b)",
        models.check("@cf/x", E, { voice = "c" }, "L", nil, true))
    end)

  it("a real entry: SDXL's height range and its required prompt", function()
    local name = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
    local sdxl = models.entry(name)
    assert.equal("Workers AI image: size (height) 128 is out of range for " .. name .. " (allowed: 256 to 2048)",
      models.check(name, sdxl, { prompt = "x", width = 512, height = 128 }, "Workers AI image",
        { width = "size", height = "size" }))
    assert.equal("Workers AI image: " .. name .. " requires prompt",
      models.check(name, sdxl, {}, "Workers AI image"))
  end)
end)
