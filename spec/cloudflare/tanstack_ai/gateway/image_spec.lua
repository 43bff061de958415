-- cloudflare.tanstack_ai.gateway.image: image generation through AI Gateway in each provider's own form
-- (OpenAI / Grok images/generations, OpenRouter chat completions with image modalities, Gemini generateContent and
-- Imagen's predict), built with new(provider, model, resolved config) over a scripted transport: the request sent,
-- how many, and how each answer shape becomes { id, model, images = {{ b64Json } | { url }}, usage }.
-- Every provider in both gateway modes against the emulator: providers_spec.lua beside this file.
local config = require("cloudflare.tanstack_ai.config")
local image = require("cloudflare.tanstack_ai.gateway.image")
local stub = require("helpers.stub_transport")

local GW = "https://gateway.ai.cloudflare.com/v1/acct/gw/"

local function adapter(provider, model, answers)
  local t = stub.new(answers)
  local cfg = config.resolve({ accountId = "acct", gatewayId = "gw", apiKey = "sk-123456", transport = t,
    maxRetries = 0 }, { label = "t", gateway_only = true })
  return image.new(provider, model, cfg), t
end

local function chat_image(url)
  return stub.json({ choices = { { index = 0, message = { role = "assistant", content = "",
    images = { { type = "image_url", image_url = { url = url } } } } } } })
end

local function gemini_image(data)
  return stub.json({ candidates = { { content = { parts = { { text = "here" },
    { inlineData = { mimeType = "image/png", data = data } } } } } },
    usageMetadata = { promptTokenCount = 4, candidatesTokenCount = 6, totalTokenCount = 10 } })
end

describe("gateway image", function()
  it("new: an image adapter of the provider; tostring names it and the model", function()
    local a = adapter("openai", "gpt-image-1", {})
    assert.equal("image", a.kind)
    assert.equal("openai", a.name)
    assert.equal("gpt-image-1", a.model)
    assert.equal("OpenAIImageAdapter(gpt-image-1)", tostring(a))
  end)

  it("images/generations (OpenAI): modelOptions, model, prompt, n and size; b64_json, url and revised prompt read", function()
    local a, t = adapter("openai", "gpt-image-1", { stub.json({ data = {
      { b64_json = "QUJD", revised_prompt = "a cat, in space" }, { url = "https://img.example/2.png" } },
      usage = { input_tokens = 5, output_tokens = 7, total_tokens = 12 } }) })
    local res = assert(a:generate_images({ prompt = "a cat", numberOfImages = 2, size = "1024x1024",
      modelOptions = { quality = "low", prompt = "overridden", n = 9 } }))
    assert.equal(GW .. "openai/images/generations", t.requests[1].url)
    assert.same({ model = "gpt-image-1", prompt = "a cat", n = 2, size = "1024x1024", quality = "low" }, t:json(1))
    assert.same({ { b64Json = "QUJD", revisedPrompt = "a cat, in space" }, { url = "https://img.example/2.png" } },
      res.images)
    assert.equal("gpt-image-1", res.model)
    assert.matches("^img", res.id)
    assert.is_table(res.usage)
  end)

  it("asks dall-e and Grok for b64_json (the provider file's image_response_format), gpt-image never", function()
    local a, t = adapter("openai", "dall-e-3", { stub.json({ data = { { b64_json = "QQ==" } } }) })
    a:generate_images({ prompt = "x" })
    assert.equal("b64_json", t:json(1).response_format)
    assert.equal(1, t:json(1).n)
    local g, gt = adapter("grok", "grok-2-image", { stub.json({ data = { { b64_json = "QQ==" } } }) })
    g:generate_images({ prompt = "x" })
    assert.equal(GW .. "grok/v1/images/generations", gt.requests[1].url)
    assert.equal("b64_json", gt:json(1).response_format)
    local o, ot = adapter("openai", "gpt-image-1", { stub.json({ data = { { b64_json = "QQ==" } } }) })
    o:generate_images({ prompt = "x", modelOptions = { response_format = "url" } })
    assert.equal("url", ot:json(1).response_format) -- the caller's own choice stays
  end)

  it("refuses a size for providers that take none, before sending", function()
    local g, t = adapter("grok", "grok-2-image", {})
    assert.has_error(function() g:generate_images({ prompt = "x", size = "1024x1024" }) end,
      "generate_image: options.size is not supported: xAI image models take no size; use modelOptions.aspect_ratio")
    local o = adapter("openrouter", "google/gemini-2.5-flash-image", {})
    assert.has_error(function() o:generate_images({ prompt = "x", size = "512x512" }) end)
    assert.equal(0, #t.requests)
  end)

  it("an answer without images is a provider error naming the model", function()
    local a = adapter("openai", "gpt-4o", { stub.json({ data = {} }) })
    local res, err = a:generate_images({ prompt = "x" })
    assert.is_nil(res)
    assert.equal("provider", err.kind)
    assert.equal("openai", err.provider)
    assert.equal("OpenAI image: the response has no image (is gpt-4o an image model?)", err.message)
  end)

  it("OpenRouter: chat completions with image modalities, asked again until enough images", function()
    local a, t = adapter("openrouter", "google/gemini-2.5-flash-image", {
      chat_image("data:image/png;base64,AAAA"), chat_image("https://cdn.example/i.png") })
    local res = assert(a:generate_images({ prompt = "a lighthouse", numberOfImages = 2,
      modelOptions = { image_config = { aspect_ratio = "16:9" } } }))
    assert.equal(2, #t.requests)
    assert.equal(GW .. "openrouter/v1/chat/completions", t.requests[1].url)
    local b = t:json(1)
    assert.same({ { role = "user", content = "a lighthouse" } }, b.messages)
    assert.same({ "image", "text" }, b.modalities)
    assert.is_false(b.stream)
    assert.same({ aspect_ratio = "16:9" }, b.image_config)
    assert.same({ { b64Json = "AAAA" }, { url = "https://cdn.example/i.png" } }, res.images)
    -- an answer with no images list: the error, after the images asked so far
    local e = adapter("openrouter", "m", { stub.json({ choices = { { message = { content = "sorry" } } } }) })
    local none, err = e:generate_images({ prompt = "x" })
    assert.is_nil(none)
    assert.equal("openrouter", err.provider)
  end)

  it("Gemini: generateContent with IMAGE output, the size as an aspect ratio, one call per image", function()
    local a, t = adapter("gemini", "gemini-2.5-flash-image", { gemini_image("AAA="), gemini_image("BBB=") })
    local res = assert(a:generate_images({ prompt = "a robot", size = "1536x1024", numberOfImages = 2 }))
    assert.equal(2, #t.requests)
    assert.equal(GW .. "google-ai-studio/v1beta/models/gemini-2.5-flash-image:generateContent", t.requests[1].url)
    local b = t:json(1)
    assert.same({ { role = "user", parts = { { text = "a robot" } } } }, b.contents)
    assert.same({ "IMAGE" }, b.generationConfig.responseModalities)
    assert.same({ aspectRatio = "3:2" }, b.generationConfig.imageConfig)
    assert.same({ { b64Json = "AAA=" }, { b64Json = "BBB=" } }, res.images)
    assert.is_table(res.usage)
    local none, err = adapter("gemini", "gemini-2.5-flash", { stub.json({ candidates = { { content = {
      parts = { { text = "no picture" } } } } } }) }):generate_images({ prompt = "x" })
    assert.is_nil(none)
    assert.equal("Gemini image: the response has no image (is gemini-2.5-flash an image model?)", err.message)
  end)

  it("Gemini Imagen models: :predict with sampleCount and aspectRatio, predictions read", function()
    local a, t = adapter("gemini", "imagen-4.0-generate-001", { stub.json({ predictions = {
      { bytesBase64Encoded = "AQID" }, { bytesBase64Encoded = "BAUG" } } }) })
    local res = assert(a:generate_images({ prompt = "a bridge", numberOfImages = 2, size = "1024x768" }))
    assert.equal(1, #t.requests)
    assert.equal(GW .. "google-ai-studio/v1beta/models/imagen-4.0-generate-001:predict", t.requests[1].url)
    assert.same({ instances = { { prompt = "a bridge" } }, parameters = { sampleCount = 2, aspectRatio = "4:3" } },
      t:json(1))
    assert.same({ { b64Json = "AQID" }, { b64Json = "BAUG" } }, res.images)
    -- 3:2 is a Gemini ratio but not an Imagen one
    assert.has_error(function() a:generate_images({ prompt = "x", size = "1536x1024" }) end,
      "generate_image: size 1536x1024 is aspect ratio 3:2; this model takes 1:1, 3:4, 4:3, 9:16, 16:9")
  end)

  it("aspect_ratio: WIDTHxHEIGHT reduced by the gcd, checked against the allowed list", function()
    assert.equal("16:9", image.aspect_ratio("1920x1080", { "1:1", "16:9" }, "l"))
    assert.equal("1:1", image.aspect_ratio("7x7", { "1:1" }, "l"))
    assert.has_error(function() image.aspect_ratio("1000x10", { "1:1" }, "lbl") end,
      "lbl: size 1000x10 is aspect ratio 100:1; this model takes 1:1")
    -- a zero side names the size (it used to fail inside string.format with a bare Lua error)
    for _, bad in ipairs({ "0x0", "0x10", "10x0", "axb" }) do
      assert.has_error(function() image.aspect_ratio(bad, { "1:1" }, "lbl") end,
        "lbl: size " .. bad .. " is not WIDTHxHEIGHT with both sides above 0")
    end
  end)
end)
