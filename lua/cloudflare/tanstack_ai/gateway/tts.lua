-- Text to speech through AI Gateway:
--   OpenAI  audio/speech (JSON in, audio bytes out)
--   Gemini  generateContent with responseModalities AUDIO: base64 16-bit PCM, wrapped in a WAV header
-- Result: { id, model, audio = <base64>, format, contentType }.
local adapter = require("tanstack.ai.adapter")
local providers = require("cloudflare.tanstack_ai.providers")
local request = require("cloudflare.tanstack_ai.request")
local json, errors, media = adapter.json, adapter.errors, adapter.media
local gemini = adapter.format("gemini")
local raise = adapter.raise -- a mistake, reported at the caller's line

local setmetatable, type, pairs, ipairs, tostring, tonumber = setmetatable, type, pairs, ipairs, tostring, tonumber

local _M = {}

-- OpenAI response_format -> content type of the bytes that come back
local OPENAI_FORMATS = { mp3 = "audio/mpeg", opus = "audio/opus", aac = "audio/aac", flac = "audio/flac",
  wav = "audio/wav", pcm = "audio/pcm" }
_M.OPENAI_FORMATS = OPENAI_FORMATS

local function copy(t)
  local o = {}
  if type(t) == "table" then for k, v in pairs(t) do o[k] = v end end
  return o
end

local function openai_speech(self, opts)
  local p, model = self.provider, self.model
  local fmt = opts.format or "mp3"
  if not OPENAI_FORMATS[fmt] then
    raise("generate_speech: options.format must be one of mp3, opus, aac, flac, wav, pcm (got " .. tostring(fmt) .. ")")
  end
  local body = copy(opts.modelOptions)
  body.model = model
  body.input = opts.text
  body.voice = opts.voice or body.voice or p.default_voice
  body.response_format = fmt
  if opts.speed ~= nil then body.speed = opts.speed end
  local r, err = request.call(self.config, { provider = p.slug, gateway_path = p.speech_path, body = body,
    label = p.label .. " speech" })
  if not r then return nil, err end
  if r.bytes == nil or r.bytes == "" then
    return nil, errors.new({ message = p.label .. " speech: expected audio bytes, got " ..
      (r.value ~= nil and "JSON" or "an empty body"), kind = "provider", provider = p.slug })
  end
  local ct = r.content_type
  if type(ct) ~= "string" or not ct:match("^audio/") then ct = OPENAI_FORMATS[fmt] end
  return { id = adapter.id("speech"), model = model, audio = adapter.base64_encode(r.bytes), format = fmt,
    contentType = ct }
end

local function gemini_speech(self, opts)
  local p, model = self.provider, self.model
  local fmt = opts.format or "wav"
  if fmt ~= "wav" and fmt ~= "pcm" then
    raise("generate_speech: Gemini speech is PCM audio; options.format must be 'wav' or 'pcm' (got " ..
      tostring(fmt) .. ")")
  end
  if opts.speed ~= nil then
    raise("generate_speech: options.speed is not supported by Gemini speech (ask for the pace in the text)")
  end
  local body = gemini.build_request({ messages = { { role = "user", content = opts.text } },
    modelOptions = opts.modelOptions })
  local gen = body.generationConfig or {}
  gen.responseModalities = json.array({ "AUDIO" })
  if opts.voice ~= nil or gen.speechConfig == nil then
    local sc = copy(gen.speechConfig)
    sc.voiceConfig = { prebuiltVoiceConfig = { voiceName = opts.voice or p.default_voice } }
    gen.speechConfig = sc
  end
  body.generationConfig = gen
  local r, err = request.call(self.config, { provider = p.slug, gateway_path = gemini.endpoint(model, false),
    body = body, label = p.label .. " speech" })
  if not r then return nil, err end
  local v = r.value
  local cand = type(v) == "table" and type(v.candidates) == "table" and v.candidates[1] or nil
  local content = type(cand) == "table" and type(cand.content) == "table" and cand.content or {}
  local pcm, rate = {}, nil
  for _, part in ipairs(type(content.parts) == "table" and content.parts or {}) do
    local d = part.inlineData
    if type(d) == "table" and type(d.data) == "string" then
      local bytes = adapter.base64_decode(d.data)
      if not bytes then
        return nil, errors.new({ message = "Gemini speech: audio is not valid base64", kind = "decode",
          provider = p.slug })
      end
      pcm[#pcm + 1] = bytes
      rate = rate or tonumber(type(d.mimeType) == "string" and d.mimeType:match("rate=(%d+)") or nil)
    end
  end
  if #pcm == 0 then
    return nil, errors.new({ message = "Gemini speech: the response has no audio (is " .. model ..
      " a TTS model?)", kind = "provider", provider = p.slug, body = json.try_encode(v) })
  end
  rate = rate or p.pcm_rate
  local raw = table.concat(pcm)
  if fmt == "pcm" then
    return { id = adapter.id("speech"), model = model, audio = adapter.base64_encode(raw), format = "pcm",
      contentType = "audio/L16;rate=" .. rate }
  end
  return { id = adapter.id("speech"), model = model, audio = adapter.base64_encode(media.wav(raw, rate, 1, 16)),
    format = "wav", contentType = "audio/wav" }
end

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a) return a.provider.label .. "TTSAdapter(" .. a.model .. ")" end

-- the request form a provider's speech_api names (providers/<name>.lua)
local SPEECH_APIS = { speech = openai_speech, generate_content = gemini_speech }

function Adapter:generate_speech(opts)
  return SPEECH_APIS[self.provider.speech_api](self, opts)
end

function _M.new(provider, model, cfg)
  local p = providers.get(provider)
  return setmetatable({ kind = "tts", name = p.name, model = model, config = cfg, provider = p }, Adapter)
end

return _M
