-- cloudflare.tanstack_ai.workers_ai.media: the Workers AI image, transcription, speech, summarization and embedding
-- adapters, built with the public constructors (cf.create_workers_ai_*) in REST mode over a scripted transport:
-- what each sends for the model's input form (from the catalog), and how each answer shape is read.
-- (catalog_adapters_spec.lua and catalog_models_spec.lua beside this file run every model against the emulator.)
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local core = require("tanstack.ai.core")
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local media = require("cloudflare.tanstack_ai.workers_ai.media")
local stub = require("helpers.stub_transport")

local SDXL = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
local PNG = "\137PNG\r\n\26\n\0\0\0\rIHDR\0\0\0\1"
local MP3 = "ID3\3\0\0\0\0\0\0" .. string.rep("\255\251\144\0", 4)
local WAV = "RIFF\36\0\0\0WAVEfmt \16\0\0\0"

local function envelope(result) return stub.json({ result = result, success = true, errors = {}, messages = {} }) end

-- A transport answering `answers` and the config of REST mode over it.
local function rest(...)
  local t = stub.new({ ... })
  return t, { accountId = "acct", apiKey = "key-123456", transport = t, maxRetries = 0 }
end

local function url_of(t, i) return t.requests[i or 1].url end

describe("workers_ai media: image", function()
  it("sends the prompt and the size as width and height, modelOptions first, to /ai/run/<model>", function()
    local t, cfg = rest(stub.bytes(PNG, "image/png"))
    local res = assert(ai.generate_image({ adapter = cf.create_workers_ai_image(SDXL, cfg), prompt = "a cat",
      size = "512x768", modelOptions = { num_steps = 4, prompt = "ignored", seed = 7 } }))
    assert.equal("https://api.cloudflare.com/client/v4/accounts/acct/ai/run/" .. SDXL, url_of(t))
    assert.same({ prompt = "a cat", width = 512, height = 768, num_steps = 4, seed = 7 }, t:json(1))
    assert.equal(core.base64_encode(PNG), res.images[1].b64Json)
    assert.equal(PNG, res.images[1].bytes)
    assert.equal(SDXL, res.model)
    assert.matches("^img%-%x+$", res.id)
  end)

  it("a model whose input has no width leaves the size out; a model the catalog lacks takes it", function()
    local req = media.image_request("@cf/black-forest-labs/flux-1-schnell", { prompt = "p", size = "256x256" })
    assert.same({ prompt = "p" }, req.json)
    local unknown = media.image_request("@cf/someone/newer-model", { prompt = "p", size = "64x32" })
    assert.same({ prompt = "p", width = 64, height = 32 }, unknown.json)
  end)

  it("refuses a size that is not WIDTHxHEIGHT", function()
    local ok, err = pcall(media.image_request, SDXL, { prompt = "p", size = "big" })
    assert.is_false(ok)
    assert.matches("generate_image: size must be WIDTHxHEIGHT (got big)", err, 1, true)
  end)

  it("source image and mask bytes become byte arrays where the schema wants arrays", function()
    local req = media.image_request("@cf/runwayml/stable-diffusion-v1-5-inpainting",
      { prompt = "p", modelOptions = { image = "\0\1\255", mask = "" } })
    assert.equal("[0,1,255]", json.encode(req.json.image))
    assert.equal("[]", json.encode(req.json.mask))
    -- a model the catalog lacks: arrays too (the common form)
    assert.same({ 65 }, media.image_request("@cf/x/y", { prompt = "p", modelOptions = { image = "A" } }).json.image)
  end)

  it("reads a base64 answer ({image}) as well as bytes, and makes one request per image", function()
    local t, cfg = rest(envelope({ image = core.base64_encode("one") }), envelope({ image = core.base64_encode("two") }))
    local res = assert(ai.generate_image({ adapter = cf.create_workers_ai_image("@cf/black-forest-labs/flux-1-schnell",
      cfg), prompt = "p", numberOfImages = 2 }))
    assert.equal(2, #t.requests)
    assert.equal("one", res.images[1].bytes)
    assert.equal("two", res.images[2].bytes)
  end)

  it("an answer without an image is an error naming the model and the task", function()
    local _, cfg = rest(envelope({ response = "I am a chat model" }))
    local res, err = ai.generate_image({ adapter = cf.create_workers_ai_image("@cf/meta/llama-3.1-8b-instruct", cfg),
      prompt = "p" })
    assert.is_nil(res)
    assert.is_true(errors.is_error(err))
    assert.equal("wrong_model_task", err.code)
    assert.is_false(err.retryable)
    assert.equal("Workers AI image: the answer of @cf/meta/llama-3.1-8b-instruct has no image (got JSON without " ..
      "it); is @cf/meta/llama-3.1-8b-instruct a text-to-image model?", err.message)
  end)

  it("an HTTP error comes back as nil, err after one request", function()
    local t, cfg = rest(stub.json({ success = false, errors = { { code = 5007, message = "No such model" } } }, 400))
    local res, err = ai.generate_image({ adapter = cf.create_workers_ai_image(SDXL, cfg), prompt = "p" })
    assert.is_nil(res)
    assert.equal(400, err.status)
    assert.equal(1, #t.requests)
  end)
end)

describe("workers_ai media: wrong_answer", function()
  it("says what came instead", function()
    local function msg(res) return media.wrong_answer("L", "audio", "@cf/m", "text-to-speech", res).message end
    assert.equal("L: the answer of @cf/m has no audio (got bytes of image/png); is @cf/m a text-to-speech model?",
      msg({ bytes = "x", content_type = "image/png" }))
    assert.matches("(got bytes of an unknown type)", msg({ bytes = "x" }), 1, true)
    assert.matches("(got an empty answer)", msg({}), 1, true)
    assert.matches("(got nothing)", msg(nil), 1, true)
    assert.equal("workers-ai", media.wrong_answer("L", "a", "m", "t", nil).provider)
  end)
end)

describe("workers_ai media: transcription", function()
  it("the input form per model: bytes, base64, or an audio object", function()
    assert.equal("bytes", media.transcription_form("@cf/openai/whisper"))
    assert.equal("base64", media.transcription_form("@cf/openai/whisper-large-v3-turbo"))
    assert.equal("deepgram", media.transcription_form("@cf/deepgram/nova-3"))
    assert.equal("base64", media.transcription_form("@cf/someone/newer-whisper"))
  end)

  it("bytes form: the raw audio as the body; words mapped", function()
    local t, cfg = rest(envelope({ text = "hello", words = { { word = "hello", start = 0, ["end"] = 0.5 } } }))
    local res = assert(ai.generate_transcription({ adapter = cf.create_workers_ai_transcription("@cf/openai/whisper",
      cfg), audio = MP3 }))
    assert.equal(MP3, t.requests[1].body)
    assert.equal("application/octet-stream", t.requests[1].headers["content-type"])
    assert.equal("hello", res.text)
    assert.same({ { word = "hello", start = 0, ["end"] = 0.5 } }, res.words)
    assert.matches("^transcription%-%x+$", res.id)
  end)

  it("base64 form: audio, language and the prompt as initial_prompt; segments, their words, language, duration",
    function()
      local t, cfg = rest(envelope({ text = "hi there", transcription_info = { language = "en", duration = 1.5 },
        segments = { { start = 0, ["end"] = 1, text = "hi", words = { { word = "hi", start = 0, ["end"] = 0.4 } } },
          { start = 1, ["end"] = 1.5, text = "there", words = { { word = "there", start = 1, ["end"] = 1.5 } } } } }))
      local res = assert(ai.generate_transcription({ adapter = cf.create_workers_ai_transcription(
        "@cf/openai/whisper-large-v3-turbo", cfg), audio = MP3, language = "en", prompt = "names: Ada",
        modelOptions = { beam_size = 2 } }))
      assert.same({ audio = core.base64_encode(MP3), language = "en", initial_prompt = "names: Ada", beam_size = 2 },
        t:json(1))
      assert.equal("en", res.language)
      assert.equal(1.5, res.duration)
      assert.same({ { start = 0, ["end"] = 1, text = "hi" }, { start = 1, ["end"] = 1.5, text = "there" } },
        res.segments)
      assert.same({ "hi", "there" }, { res.words[1].word, res.words[2].word })
    end)

  it("an option the model's schema refuses raises before sending", function()
    local t, cfg = rest(envelope({ text = "x" }))
    local ok, err = pcall(ai.generate_transcription, { adapter = cf.create_workers_ai_transcription(
      "@cf/openai/whisper-large-v3-turbo", cfg), audio = MP3, modelOptions = { beam_size = "two" } })
    assert.is_false(ok)
    assert.matches("Workers AI transcription: beam_size of @cf/openai/whisper-large-v3-turbo must be a number " ..
      "(got string)", err, 1, true)
    assert.equal(0, #t.requests)
  end)

  it("Deepgram: raw bytes with their sniffed type, options as query parameters; the transcript mapped", function()
    local t, cfg = rest(envelope({ metadata = { duration = 2.25 }, results = { channels = { {
      detected_language = "en", alternatives = { { transcript = "Hello, world.", words = {
        { word = "hello", punctuated_word = "Hello,", start = 0, ["end"] = 0.5, confidence = 0.9 } } } } } } } }))
    local res = assert(ai.generate_transcription({ adapter = cf.create_workers_ai_transcription("@cf/deepgram/nova-3",
      cfg), audio = MP3, language = "en" }))
    local r = t.requests[1]
    assert.equal(MP3, r.body)
    assert.equal("audio/mpeg", r.headers["content-type"])
    assert.matches("/ai/run/@cf/deepgram/nova%-3%?language=en$", r.url)
    assert.equal("Hello, world.", res.text)
    assert.equal("en", res.language)
    assert.equal(2.25, res.duration)
    assert.same({ { word = "Hello,", start = 0, ["end"] = 0.5, confidence = 0.9 } }, res.words)
  end)

  it("Deepgram: modelOptions become query parameters", function()
    -- the options are checked against the schema with audio standing in as the object the model is sent
    local t, cfg = rest(envelope({ results = { channels = { { alternatives = { { transcript = "x" } } } } } }))
    assert(ai.generate_transcription({ adapter = cf.create_workers_ai_transcription("@cf/deepgram/nova-3", cfg),
      audio = MP3, modelOptions = { punctuate = true } }))
    assert.matches("punctuate=true", t.requests[1].url, 1, true)
    assert.equal(MP3, t.requests[1].body)
  end)

  it("audio-object models (nova-3, nemotron) take any modelOptions, {} included; a wrong one is still named",
    function()
      for _, model in ipairs({ "@cf/deepgram/nova-3", "@cf/nvidia/nemotron-speech-streaming-en-0.6b" }) do
        local t, cfg = rest(envelope({ results = { channels = { { alternatives = { { transcript = "x" } } } } } }))
        local res = assert(ai.generate_transcription({ adapter = cf.create_workers_ai_transcription(model, cfg),
          audio = MP3, modelOptions = {} }))
        assert.equal("x", res.text)
        assert.matches("/ai/run/" .. model:gsub("%p", "%%%0") .. "$", t.requests[1].url)
      end
      local _, cfg = rest()
      local ok, err = pcall(ai.generate_transcription, { adapter = cf.create_workers_ai_transcription(
        "@cf/deepgram/nova-3", cfg), audio = MP3, modelOptions = { punctuate = "yes" } })
      assert.is_false(ok)
      assert.matches("punctuate of @cf/deepgram/nova-3 must be a boolean (got string)", tostring(err), 1, true)
    end)
end)

describe("workers_ai media: transcription", function()
  it("a realtime model is refused at construction", function()
    local ok, err = pcall(cf.create_workers_ai_transcription, "@cf/deepgram/flux", { accountId = "a", apiKey = "k" })
    assert.is_false(ok)
    assert.matches("createWorkersAiTranscription: @cf/deepgram/flux is a realtime (websocket) model", err, 1, true)
  end)

  it("an answer without a transcript is an error naming the task", function()
    local _, cfg = rest(envelope({ summary = "x" }))
    local res, err = ai.generate_transcription({ adapter = cf.create_workers_ai_transcription("@cf/openai/whisper",
      cfg), audio = MP3 })
    assert.is_nil(res)
    assert.equal("wrong_model_task", err.code)
    assert.matches("is @cf/openai/whisper a speech recognition model?", err.message, 1, true)
  end)
end)

describe("workers_ai media: speech", function()
  it("Aura: text, speaker and the format as encoding and container; the bytes' type read from them", function()
    local t, cfg = rest(stub.bytes(WAV .. string.rep("\0", 8), "audio/wav"))
    local res = assert(ai.generate_speech({ adapter = cf.create_workers_ai_tts("@cf/deepgram/aura-1", cfg),
      text = "hi", voice = "asteria", format = "wav" }))
    assert.same({ text = "hi", speaker = "asteria", encoding = "linear16", container = "wav" }, t:json(1))
    assert.equal("wav", res.format)
    assert.equal("audio/wav", res.contentType)
    assert.equal(WAV .. string.rep("\0", 8), res.bytes)
    assert.equal(core.base64_encode(res.bytes), res.audio)
  end)

  it("every TanStack format maps to an Aura encoding", function()
    for fmt, f in pairs(media.AURA_FORMAT) do
      assert.is_string(f.encoding, fmt)
      assert.matches("^audio/", f.content_type, fmt)
    end
    assert.equal("mp3", media.AURA_FORMAT.mp3.encoding)
    assert.equal("none", media.AURA_FORMAT.pcm.container)
  end)

  it("bare PCM is labelled audio/pcm; unsniffable mp3 bytes take the format's type", function()
    local _, cfg = rest(stub.bytes("\1\2\3\4", "application/octet-stream"))
    local res = assert(ai.generate_speech({ adapter = cf.create_workers_ai_tts("@cf/deepgram/aura-1", cfg),
      text = "hi", format = "pcm" }))
    assert.equal("audio/pcm", res.contentType)
    assert.equal("pcm", res.format)
    local _, cfg2 = rest(stub.bytes("\1\2\3\4", "application/octet-stream"))
    local res2 = assert(ai.generate_speech({ adapter = cf.create_workers_ai_tts("@cf/deepgram/aura-1", cfg2),
      text = "hi" }))
    assert.equal("audio/mpeg", res2.contentType)
    assert.equal("mp3", res2.format)
  end)

  it("a format Aura lacks raises before sending", function()
    local t, cfg = rest(stub.bytes(MP3, "audio/mpeg"))
    local ok, err = pcall(ai.generate_speech, { adapter = cf.create_workers_ai_tts("@cf/deepgram/aura-1", cfg),
      text = "hi", format = "midi" })
    assert.is_false(ok)
    assert.matches("generate_speech: format 'midi' is not supported by @cf/deepgram/aura-1", err, 1, true)
    assert.equal(0, #t.requests)
  end)

  it("MeloTTS: prompt and lang; the audio from base64 JSON; only mp3", function()
    local t, cfg = rest(envelope({ audio = core.base64_encode(MP3) }))
    local a = cf.create_workers_ai_tts("@cf/myshell-ai/melotts", cfg)
    local res = assert(ai.generate_speech({ adapter = a, text = "bonjour", modelOptions = { lang = "fr" } }))
    assert.same({ prompt = "bonjour", lang = "fr" }, t:json(1))
    assert.equal(MP3, res.bytes)
    assert.equal("audio/mpeg", res.contentType)
    local ok, err = pcall(ai.generate_speech, { adapter = a, text = "x", format = "wav" })
    assert.is_false(ok)
    assert.matches("format 'wav' is not supported by @cf/myshell-ai/melotts (allowed: mp3)", err, 1, true)
  end)

  it("audio that is not base64 is a decode error; no audio at all names the task", function()
    local _, cfg = rest(envelope({ audio = "***not base64***" }))
    local res, err = ai.generate_speech({ adapter = cf.create_workers_ai_tts("@cf/myshell-ai/melotts", cfg), text = "x" })
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    assert.equal("Workers AI TTS: audio is not valid base64", err.message)
    local _, cfg2 = rest(envelope({ text = "no audio" }))
    local _, err2 = ai.generate_speech({ adapter = cf.create_workers_ai_tts("@cf/myshell-ai/melotts", cfg2),
      text = "x" })
    assert.equal("wrong_model_task", err2.code)
  end)
end)

describe("workers_ai media: summarize and embed", function()
  it("summarize: input_text and max_length; the summary back", function()
    local t, cfg = rest(envelope({ summary = "short" }))
    local res = assert(ai.summarize({ adapter = cf.create_workers_ai_summarize("@cf/facebook/bart-large-cnn", cfg),
      text = "a long text", maxLength = 30 }))
    assert.same({ input_text = "a long text", max_length = 30 }, t:json(1))
    assert.equal("short", res.summary)
    assert.equal("@cf/facebook/bart-large-cnn", res.model)
  end)

  it("summarize: an answer without a summary names the task", function()
    local _, cfg = rest(envelope({ response = "x" }))
    local res, err = ai.summarize({ adapter = cf.create_workers_ai_summarize("@cf/facebook/bart-large-cnn", cfg),
      text = "t" })
    assert.is_nil(res)
    assert.matches("a summarization model?", err.message, 1, true)
  end)

  it("embed: the input as text; native rows and OpenAI-shaped rows alike, with the shape", function()
    local t, cfg = rest(envelope({ shape = { 2, 3 }, data = { { 0.1, 0.2, 0.3 }, { 0.4, 0.5, 0.6 } } }),
      envelope({ data = { { embedding = { 1, 2 } } } }))
    local a = cf.create_workers_ai_embedding("@cf/baai/bge-base-en-v1.5", cfg)
    local res = assert(ai.embed({ adapter = a, input = { "a", "b" } }))
    assert.same({ text = { "a", "b" } }, t:json(1))
    assert.same({ { 0.1, 0.2, 0.3 }, { 0.4, 0.5, 0.6 } }, res.embeddings)
    assert.same({ 2, 3 }, res.shape)
    local res2 = assert(ai.embed({ adapter = a, text = "one" }))
    assert.same({ text = "one" }, t:json(2))
    assert.same({ { 1, 2 } }, res2.embeddings)
  end)

  it("embed: an answer without data names the task", function()
    local _, cfg = rest(envelope({ response = "x" }))
    local res, err = ai.embed({ adapter = cf.create_workers_ai_embedding("@cf/baai/bge-base-en-v1.5", cfg),
      input = "t" })
    assert.is_nil(res)
    assert.matches("a text embeddings model?", err.message, 1, true)
  end)

  it("adapters carry their kind, provider and model", function()
    local cfg = { accountId = "acct", apiKey = "key-123456" }
    for ctor, kind in pairs({ create_workers_ai_image = "image", create_workers_ai_transcription = "transcription",
      create_workers_ai_tts = "tts", create_workers_ai_embedding = "embedding" }) do
      local a = cf[ctor]("@cf/x/y", cfg)
      assert.equal(kind, a.kind)
      assert.equal("workers-ai", a.name)
      assert.equal("@cf/x/y", a.model)
    end
  end)
end)
