-- cloudflare.tanstack_ai.gateway.transcription: OpenAI speech to text through AI Gateway (audio/transcriptions,
-- multipart/form-data), through the module's public functions: parts() (the form fields), result() (a JSON or
-- verbose_json answer -> TanStack's transcription result) and an adapter's transcribe() over a scripted transport.
-- The form's encoding is RFC 7578 (multipart/form-data); OpenAI's fields are its createTranscription request.
-- Against the emulator in both gateway modes (the form as the server parsed it): providers_spec.lua beside this.
local config = require("cloudflare.tanstack_ai.config")
local transcription = require("cloudflare.tanstack_ai.gateway.transcription")
local stub = require("helpers.stub_transport")

local MP3 = "ID3\3\0\0\0\0\0\0" .. string.rep("\255\251\144\100" .. string.rep("\0", 60), 4)
local WAV = "RIFF\36\0\0\0WAVEfmt \16\0\0\0\1\0\1\0\128\62\0\0\0\125\0\0\2\0\16\0data\0\0\0\0"

local function adapter(model, answers)
  local t = stub.new(answers)
  local cfg = config.resolve({ accountId = "acct", gatewayId = "gw", apiKey = "sk-123456", transport = t,
    maxRetries = 0 }, { label = "t", gateway_only = true })
  return transcription.new("openai", model, cfg), t
end

local function by_name(parts)
  local out = {}
  for _, p in ipairs(parts) do
    if out[p.name] then
      if type(out[p.name]) ~= "table" or out[p.name].name then out[p.name] = { out[p.name] } end
      table.insert(out[p.name], p)
    else
      out[p.name] = p
    end
  end
  return out
end

describe("gateway transcription", function()
  it("parts: the file (type sniffed, named for it), model, response_format and the options as form fields", function()
    local parts, fmt = transcription.parts("whisper-1", { audio = MP3, language = "en", prompt = "Names: Ada",
      modelOptions = { temperature = 0, timestamp_granularities = { "word", "segment" }, flag = true,
        extra = { a = 1 } } })
    assert.equal("verbose_json", fmt) -- whisper models default to verbose_json (segments, words)
    assert.same({ name = "file", filename = "audio.mp3", content_type = "audio/mpeg", data = MP3 }, parts[1])
    assert.same({ name = "model", value = "whisper-1" }, parts[2])
    assert.same({ name = "response_format", value = "verbose_json" }, parts[3])
    local f = by_name(parts)
    assert.equal("en", f.language.value)
    assert.equal("Names: Ada", f.prompt.value)
    assert.equal("0", f.temperature.value)
    assert.equal("true", f.flag.value)
    assert.equal('{"a":1}', f.extra.value)
    -- an array is repeated under name[] (OpenAI's timestamp_granularities[])
    local g = f["timestamp_granularities[]"]
    assert.same({ "word", "segment" }, { g[1].value, g[2].value })
  end)

  it("parts: other models default to json; WAV is sniffed; filename and contentType from modelOptions win", function()
    local parts, fmt = transcription.parts("gpt-4o-transcribe", { audio = WAV })
    assert.equal("json", fmt)
    assert.equal("audio.wav", parts[1].filename)
    assert.equal("audio/wav", parts[1].content_type)
    parts = transcription.parts("whisper-1", { audio = "unknown bytes", responseFormat = "srt",
      modelOptions = { filename = "talk.ogg", contentType = "audio/ogg" } })
    assert.equal("talk.ogg", parts[1].filename)
    assert.equal("audio/ogg", parts[1].content_type)
    assert.equal("srt", by_name(parts).response_format.value)
    assert.is_nil(by_name(parts).filename) -- describes the file, not a form field
    -- bytes nothing recognizes are sent as MP3 (OpenAI reads the format from the name)
    assert.equal("audio.mp3", transcription.parts("whisper-1", { audio = "????" })[1].filename)
  end)

  it("parts: refuses a response format OpenAI does not have", function()
    assert.has_error(function() transcription.parts("whisper-1", { audio = MP3, responseFormat = "xml" }) end,
      "generate_transcription: options.responseFormat must be json, text, srt, verbose_json or vtt (got xml)")
  end)

  it("result: verbose_json's text, language, duration, segments and words; duration usage as billed seconds", function()
    local r = transcription.result({ text = "hello world", language = "english", duration = "1.5",
      segments = { { id = 0, start = 0, ["end"] = 1.5, text = "hello world", tokens = { 1, 2 } } },
      words = { { word = "hello", start = 0, ["end"] = 0.5 } }, usage = { type = "duration", seconds = 2 } })
    assert.equal("hello world", r.text)
    assert.equal("english", r.language)
    assert.equal(1.5, r.duration)
    assert.same({ { id = 0, start = 0, ["end"] = 1.5, text = "hello world" } }, r.segments)
    assert.same({ { word = "hello", start = 0, ["end"] = 0.5 } }, r.words)
    assert.same({ promptTokens = 0, completionTokens = 0, totalTokens = 0,
      billed = { quantity = 2, unit = "seconds" } }, r.usage)
    local plain = transcription.result({ text = "hi" })
    assert.is_nil(plain.segments)
    assert.is_nil(plain.usage)
  end)

  it("transcribe: one multipart POST to audio/transcriptions through the gateway", function()
    local a, t = adapter("whisper-1", { stub.json({ text = "transcribed", language = "english", duration = 1 }) })
    assert.equal("transcription", a.kind)
    assert.equal("OpenAITranscriptionAdapter(whisper-1)", tostring(a))
    local res = assert(a:transcribe({ audio = MP3, language = "en" }))
    assert.equal("transcribed", res.text)
    assert.equal("whisper-1", res.model)
    assert.matches("^transcription", res.id)
    local req = t.requests[1]
    assert.equal("https://gateway.ai.cloudflare.com/v1/acct/gw/openai/audio/transcriptions", req.url)
    local ct
    for k, v in pairs(req.headers) do if k:lower() == "content-type" then ct = v end end
    local boundary = ct:match("^multipart/form%-data; boundary=(.+)$")
    assert.truthy(boundary, ct)
    -- RFC 7578: each field a part with its Content-Disposition name; the file with filename and its type
    assert.truthy(req.body:find('Content-Disposition: form-data; name="file"; filename="audio.mp3"\r\n' ..
      "Content-Type: audio/mpeg\r\n\r\n" .. MP3 .. "\r\n", 1, true))
    assert.truthy(req.body:find('name="model"\r\n\r\nwhisper-1\r\n', 1, true))
    assert.truthy(req.body:find('name="language"\r\n\r\nen\r\n', 1, true))
    assert.equal("--" .. boundary .. "--\r\n", req.body:sub(-(#boundary + 6)))
  end)

  it("transcribe: a text answer (responseFormat text) is the body, trailing whitespace trimmed", function()
    local a = adapter("whisper-1", { stub.bytes("plain words\n\n", "text/plain") })
    local res = assert(a:transcribe({ audio = MP3, responseFormat = "text" }))
    assert.equal("plain words", res.text)
    assert.equal("whisper-1", res.model)
  end)

  it("transcribe: JSON without text is a provider error; a bad format raises at the caller", function()
    local a, t = adapter("whisper-1", { stub.json({ result = "?" }) })
    local res, err = a:transcribe({ audio = MP3 })
    assert.is_nil(res)
    assert.equal("provider", err.kind)
    assert.equal("OpenAI transcription: the response has no text", err.message)
    assert.equal(1, #t.requests)
    assert.has_error(function() a:transcribe({ audio = MP3, responseFormat = "xml" }) end,
      "generate_transcription: options.responseFormat must be json, text, srt, verbose_json or vtt (got xml)")
    assert.equal(1, #t.requests)
  end)
end)
