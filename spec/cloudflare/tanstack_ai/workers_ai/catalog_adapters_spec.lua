-- What the catalog changes in the adapters: options checked before sending (naming the option, the model and
-- what is allowed), the binding's inputs cut to the model's typed input, FLUX.2's multipart form, realtime
-- models refused, unknown models in the task's common form.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local chat = require("cloudflare.tanstack_ai.workers_ai.chat")
local media = require("cloudflare.tanstack_ai.workers_ai.media")
local emulator = require("helpers.emulator")

local TOKEN = "wai-token-abcdef123"

describe("Workers AI adapters from the catalog", function()
  local emu, cfg
  setup(function() emu = emulator.shared() end)
  before_each(function()
    emu:reset()
    cfg = { binding = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = TOKEN, apiBaseUrl = emu.url .. "/client/v4" }) }
  end)

  it("checks ranges before sending, naming the option, the model and the range", function()
    local a = cf.create_workers_ai_image("@cf/stabilityai/stable-diffusion-xl-base-1.0", cfg)
    assert.has_error(function()
      ai.generate_image({ adapter = a, prompt = "x", modelOptions = { num_steps = 30 } })
    end, "Workers AI image: num_steps 30 is out of range for @cf/stabilityai/stable-diffusion-xl-base-1.0 " ..
      "(allowed: any to 20)")
    assert.has_error(function()
      ai.generate_image({ adapter = a, prompt = "x", size = "128x128" })
    end, "Workers AI image: size (height) 128 is out of range for @cf/stabilityai/stable-diffusion-xl-base-1.0 " ..
      "(allowed: 256 to 2048)")
    local flux = cf.create_workers_ai_image("@cf/black-forest-labs/flux-1-schnell", cfg)
    assert.has_error(function()
      ai.generate_image({ adapter = flux, prompt = "x", modelOptions = { steps = 9 } })
    end, "Workers AI image: steps 9 is out of range for @cf/black-forest-labs/flux-1-schnell (allowed: any to 8)")
    assert.equal(0, #emu:requests())
  end)

  it("checks enums: an Aura voice the model lacks names the voices it has", function()
    local a = cf.create_workers_ai_tts("@cf/deepgram/aura-2-en", cfg)
    local ok, err = pcall(ai.generate_speech, { adapter = a, text = "hi", voice = "nobody" })
    assert.is_false(ok)
    assert.matches("voice (speaker) 'nobody' is not accepted by @cf/deepgram/aura-2-en (allowed: asteria, arcas",
      err, 1, true)
    assert.equal(0, #emu:requests())
  end)

  it("image-to-image: source image bytes go as the byte array the schema takes", function()
    local a = cf.create_workers_ai_image("@cf/runwayml/stable-diffusion-v1-5-inpainting", cfg)
    local res, err = ai.generate_image({ adapter = a, prompt = "x", modelOptions = { image = "\1\2\3", mask = "\0\255" } })
    assert.is_table(res, tostring(err))
    local inputs = emu:last_request().json
    assert.same({ 1, 2, 3 }, inputs.image)
    assert.same({ 0, 255 }, inputs.mask)
  end)

  it("FLUX.2 takes a multipart form; input images go as files", function()
    local req = media.image_request("@cf/black-forest-labs/flux-2-klein-4b",
      { prompt = "a fox", size = "256x256", modelOptions = { steps = 4, input_image_0 = "\137PNG\r\n\26\n...." } })
    assert.matches("^multipart/form%-data; boundary=", req.content_type)
    assert.equal(req.raw, req.binding_inputs.multipart.body)
    assert.matches('name="input_image_0"; filename="input_image_0.png"', req.raw, 1, true)
    assert.matches('name="prompt"\r\n\r\na fox\r\n', req.raw, 1, true)
    assert.matches('name="steps"\r\n\r\n4\r\n', req.raw, 1, true)
  end)

  it("refuses a realtime model up front", function()
    assert.has_error(function() cf.create_workers_ai_transcription("@cf/deepgram/flux", cfg) end)
    local ok, err = pcall(cf.create_workers_ai_transcription, "@cf/deepgram/flux", cfg)
    assert.is_false(ok)
    assert.matches("realtime (websocket) model", err, 1, true)
  end)

  it("binding inputs: only the typed fields; guided_json where only that is offered; no stream for a guard", function()
    local body = { model = "m", messages = { { role = "user", content = "x" } }, stream = true,
      stream_options = { include_usage = true }, lora = "x", seed = 1 }
    local fp8 = chat.binding_inputs("@cf/meta/llama-3.1-8b-instruct-fp8", body)
    assert.is_nil(fp8.stream_options)
    assert.is_nil(fp8.lora)
    assert.is_nil(fp8.model)
    assert.equal(1, fp8.seed)
    assert.is_true(fp8.stream)
    local guard = chat.binding_inputs("@cf/meta/llama-guard-3-8b", body)
    assert.is_nil(guard.stream)
    assert.is_nil(guard.seed)
    local unknown = chat.binding_inputs("@cf/newco/new-model", body)
    assert.same({ include_usage = true }, unknown.stream_options) -- the common form: the whole body
    local schema = { type = "object" }
    local g = chat.binding_inputs("@cf/google/gemma-3-12b-it", { messages = {}, response_format = {
      type = "json_schema", json_schema = { name = "s", schema = schema } } })
    assert.same(schema, g.guided_json)
    assert.is_nil(g.response_format)
    local none, err = chat.binding_inputs("@cf/meta/llama-3.2-11b-vision-instruct", { messages = {},
      response_format = { type = "json_schema", json_schema = { schema = schema } } })
    assert.is_nil(none)
    assert.matches("offers neither response_format nor guided_json", err.message, 1, true)
  end)

  it("checks a chat option the model's typings constrain before any request", function()
    local a = cf.create_workers_ai_chat("@cf/openai/gpt-oss-120b", cfg)
    local evs = ai.chat({ adapter = a, messages = { { role = "user", content = "x" } },
      modelOptions = { service_tier = "fastest" } }):collect()
    assert.equal("RUN_ERROR", evs[#evs].type)
    assert.matches("service_tier 'fastest' is not accepted by @cf/openai/gpt-oss-120b (allowed: auto, default, flex",
      evs[#evs].message, 1, true)
    assert.equal(0, #emu:requests())
  end)

  it("a vision model with a top-level image gets the first image part's bytes", function()
    local v = chat.binding_inputs("@cf/meta/llama-3.2-11b-vision-instruct", { messages = { { role = "user",
      content = { { type = "text", text = "what is this?" },
        { type = "image_url", image_url = { url = "data:image/png;base64,AQID" } } } } } })
    assert.same({ 1, 2, 3 }, v.image)
    assert.equal("what is this?", v.messages[1].content)
  end)

  it("structured output through the binding sends guided_json to a model that offers only that", function()
    local a = cf.create_workers_ai_chat("@cf/google/gemma-3-12b-it", cfg)
    local data, err = ai.chat({ adapter = a, messages = { { role = "user", content = "x" } },
      outputSchema = { type = "object", properties = { ok = { type = "boolean" } }, required = { "ok" } } })
    assert.same({ ok = true }, data, tostring(err))
    local inputs = emu:last_request().json
    assert.is_table(inputs.guided_json)
    assert.is_nil(inputs.response_format)
  end)

  it("a guard model is asked without streaming and still streams its answer as events", function()
    local a = cf.create_workers_ai_chat("@cf/meta/llama-guard-3-8b", cfg)
    local evs = ai.chat({ adapter = a, messages = { { role = "user", content = "hi" } } }):collect()
    assert.equal("RUN_FINISHED", evs[#evs].type)
    assert.is_nil(emu:last_request().json.stream)
  end)

  it("an unknown model takes the task's common form", function()
    local a = cf.create_workers_ai_transcription("@cf/newco/asr-9", cfg)
    local res, err = ai.generate_transcription({ adapter = a, audio = "RIFF....WAVE" })
    assert.is_nil(res) -- the emulator does not know it; what matters is the body
    assert.is_table(err)
    assert.is_string(emu:last_request().json.audio)
  end)
end)
