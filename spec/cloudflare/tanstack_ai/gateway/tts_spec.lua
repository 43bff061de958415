-- cloudflare.tanstack_ai.gateway.tts: text to speech through AI Gateway, built with new(provider, model, resolved
-- config) over a scripted transport: OpenAI's audio/speech (JSON in, audio bytes out) and Gemini's generateContent
-- with AUDIO output (base64 16-bit PCM, wrapped in a WAV header: RIFF/WAVE, fmt chunk of PCM = 1, data chunk).
-- Result: { id, model, audio = <base64>, format, contentType }. Both providers in both gateway modes against the
-- emulator: providers_spec.lua beside this file.
local config = require("cloudflare.tanstack_ai.config")
local tts = require("cloudflare.tanstack_ai.gateway.tts")
local core = require("tanstack.ai.core")
local stub = require("helpers.stub_transport")

local GW = "https://gateway.ai.cloudflare.com/v1/acct/gw/"

local function adapter(provider, model, answers)
  local t = stub.new(answers)
  local cfg = config.resolve({ accountId = "acct", gatewayId = "gw", apiKey = "sk-123456", transport = t,
    maxRetries = 0 }, { label = "t", gateway_only = true })
  return tts.new(provider, model, cfg), t
end

local function le(s, i, n)
  local v = 0
  for k = n, 1, -1 do v = v * 256 + s:byte(i + k - 1) end
  return v
end

local function gemini_audio(parts)
  local list = {}
  for i, p in ipairs(parts) do list[i] = { inlineData = { mimeType = p[2], data = core.base64_encode(p[1]) } } end
  return stub.json({ candidates = { { content = { role = "model", parts = list } } } })
end

describe("gateway tts: OpenAI audio/speech", function()
  it("posts model, input, voice, response_format, speed and modelOptions; the bytes come back base64", function()
    local a, t = adapter("openai", "gpt-4o-mini-tts", { stub.bytes("ID3audio", "audio/mpeg") })
    assert.equal("tts", a.kind)
    assert.equal("OpenAITTSAdapter(gpt-4o-mini-tts)", tostring(a))
    local res = assert(a:generate_speech({ text = "Hello", voice = "nova", speed = 1.25,
      modelOptions = { instructions = "cheerful", input = "overridden" } }))
    assert.equal(GW .. "openai/audio/speech", t.requests[1].url)
    assert.same({ model = "gpt-4o-mini-tts", input = "Hello", voice = "nova", response_format = "mp3", speed = 1.25,
      instructions = "cheerful" }, t:json(1))
    assert.equal("ID3audio", core.base64_decode(res.audio))
    assert.equal("mp3", res.format)
    assert.equal("audio/mpeg", res.contentType)
    assert.equal("gpt-4o-mini-tts", res.model)
    assert.matches("^speech", res.id)
  end)

  it("the default voice is the provider file's (alloy); modelOptions.voice when the caller gives none", function()
    local a, t = adapter("openai", "tts-1", { stub.bytes("x", "audio/mpeg") })
    a:generate_speech({ text = "a" })
    assert.equal("alloy", t:json(1).voice)
    a:generate_speech({ text = "a", modelOptions = { voice = "echo" } })
    assert.equal("echo", t:json(2).voice)
  end)

  it("the content type: the answer's audio/* one, else the one of the format asked", function()
    local a = adapter("openai", "tts-1", { stub.bytes("RIFF....", "application/octet-stream") })
    local res = assert(a:generate_speech({ text = "a", format = "wav" }))
    assert.equal("audio/wav", res.contentType)
    local b = adapter("openai", "tts-1", { stub.bytes("OggS", "audio/ogg") })
    assert.equal("audio/ogg", b:generate_speech({ text = "a", format = "opus" }).contentType)
    for fmt, ct in pairs({ mp3 = "audio/mpeg", opus = "audio/opus", aac = "audio/aac", flac = "audio/flac",
      wav = "audio/wav", pcm = "audio/pcm" }) do
      assert.equal(ct, tts.OPENAI_FORMATS[fmt])
    end
  end)

  it("refuses an unknown format before sending; a JSON or empty answer is a provider error", function()
    local a, t = adapter("openai", "tts-1", { stub.json({ status = "queued" }), stub.bytes("", "audio/mpeg") })
    assert.has_error(function() a:generate_speech({ text = "a", format = "ogg" }) end,
      "generate_speech: options.format must be one of mp3, opus, aac, flac, wav, pcm (got ogg)")
    assert.equal(0, #t.requests)
    local res, err = a:generate_speech({ text = "a" })
    assert.is_nil(res)
    assert.equal("OpenAI speech: expected audio bytes, got JSON", err.message)
    assert.equal("openai", err.provider)
    res, err = a:generate_speech({ text = "a" })
    assert.is_nil(res)
    assert.equal("OpenAI speech: expected audio bytes, got an empty body", err.message)
  end)
end)

describe("gateway tts: Gemini generateContent AUDIO", function()
  local PCM1, PCM2 = "\1\0\2\0\3\0", "\4\0\5\0"

  it("asks for AUDIO with the voice by name; the PCM parts joined in a 44-byte WAV header at the answer's rate", function()
    local a, t = adapter("gemini", "gemini-2.5-flash-preview-tts", { gemini_audio({
      { PCM1, "audio/L16;codec=pcm;rate=16000" }, { PCM2, "audio/L16;codec=pcm;rate=16000" } }) })
    local res = assert(a:generate_speech({ text = "Hello world", voice = "Puck" }))
    assert.equal(GW .. "google-ai-studio/v1beta/models/gemini-2.5-flash-preview-tts:generateContent", t.requests[1].url)
    local b = t:json(1)
    assert.same({ { role = "user", parts = { { text = "Hello world" } } } }, b.contents)
    assert.same({ "AUDIO" }, b.generationConfig.responseModalities)
    assert.same({ voiceConfig = { prebuiltVoiceConfig = { voiceName = "Puck" } } }, b.generationConfig.speechConfig)
    assert.equal("wav", res.format)
    assert.equal("audio/wav", res.contentType)
    local w = core.base64_decode(res.audio)
    assert.equal(44 + #PCM1 + #PCM2, #w)
    assert.equal("RIFF", w:sub(1, 4))
    assert.equal(#w - 8, le(w, 5, 4))
    assert.equal("WAVEfmt ", w:sub(9, 16))
    assert.equal(16, le(w, 17, 4))
    assert.equal(1, le(w, 21, 2)) -- PCM
    assert.equal(1, le(w, 23, 2)) -- mono
    assert.equal(16000, le(w, 25, 4)) -- the rate the answer's mimeType named
    assert.equal(32000, le(w, 29, 4)) -- byte rate = rate * 2
    assert.equal(2, le(w, 33, 2)) -- block align
    assert.equal(16, le(w, 35, 2))
    assert.equal("data", w:sub(37, 40))
    assert.equal(#PCM1 + #PCM2, le(w, 41, 4))
    assert.equal(PCM1 .. PCM2, w:sub(45))
  end)

  it("format pcm: the raw samples, content type audio/L16 with the rate (24000 Hz when the answer names none)", function()
    local a, t = adapter("gemini", "gemini-2.5-flash-preview-tts", { gemini_audio({ { PCM1, "audio/L16" } }) })
    local res = assert(a:generate_speech({ text = "x", format = "pcm" }))
    assert.equal("pcm", res.format)
    assert.equal("audio/L16;rate=24000", res.contentType)
    assert.equal(PCM1, core.base64_decode(res.audio))
    -- no voice given: the provider file's default voice
    assert.equal("Kore", t:json(1).generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName)
  end)

  it("modelOptions' own speechConfig is kept when no voice is given", function()
    local a, t = adapter("gemini", "gemini-2.5-flash-preview-tts", { gemini_audio({ { PCM1, "audio/L16" } }) })
    local multi = { multiSpeakerVoiceConfig = { speakerVoiceConfigs = { { speaker = "A" } } } }
    a:generate_speech({ text = "x", modelOptions = { generationConfig = { speechConfig = multi } } })
    local sc = t:json(1).generationConfig.speechConfig
    assert.same(multi, sc)
  end)

  it("refuses formats and options Gemini speech cannot honour, before sending", function()
    local a, t = adapter("gemini", "gemini-2.5-flash-preview-tts", {})
    assert.has_error(function() a:generate_speech({ text = "x", format = "mp3" }) end,
      "generate_speech: Gemini speech is PCM audio; options.format must be 'wav' or 'pcm' (got mp3)")
    assert.has_error(function() a:generate_speech({ text = "x", speed = 2 }) end,
      "generate_speech: options.speed is not supported by Gemini speech (ask for the pace in the text)")
    assert.equal(0, #t.requests)
  end)

  it("an answer without audio, or with audio that is not base64, is an error naming the model", function()
    local a = adapter("gemini", "gemini-2.5-flash", { stub.json({ candidates = { { content = {
      parts = { { text = "I cannot speak" } } } } } }),
      stub.json({ candidates = { { content = { parts = { { inlineData = { mimeType = "audio/L16", data = "!!!" } } } } } } }) })
    local res, err = a:generate_speech({ text = "x" })
    assert.is_nil(res)
    assert.equal("Gemini speech: the response has no audio (is gemini-2.5-flash a TTS model?)", err.message)
    assert.equal("google-ai-studio", err.provider)
    res, err = a:generate_speech({ text = "x" })
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    assert.equal("Gemini speech: audio is not valid base64", err.message)
  end)
end)
