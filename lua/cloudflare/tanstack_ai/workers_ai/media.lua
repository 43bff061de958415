-- Workers AI image, transcription, speech, summarization and embedding adapters.
-- Per-model facts are tables; the request for each path is built from them, and each answer shape is
-- detected from the response (binary or JSON, enveloped or not), never assumed.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local core = require("tanstack.ai.core")
local media = require("tanstack.ai.media")
local request = require("cloudflare.tanstack_ai.request")
local raise = require("tanstack.ai.options").raise -- a mistake, reported at the caller's line

local type, pairs, ipairs, tonumber, setmetatable = type, pairs, ipairs, tonumber, setmetatable

local _M = {}

--- The error for an answer without what the adapter asked for: most often a model of another task
--- ("@cf/meta/llama-3.1-8b-instruct" given to the image adapter). Names the model and the task.
function _M.wrong_answer(label, what, model, task, res)
  local got = res and (res.bytes and ("bytes of " .. tostring(res.content_type or "an unknown type"))
    or (type(res.value) == "table" and "JSON without it") or "an empty answer") or "nothing"
  return errors.new({ message = label .. ": the answer of " .. tostring(model) .. " has no " .. what .. " (got " ..
    got .. "); is " .. tostring(model) .. " a " .. task .. " model?", kind = "provider", code = "wrong_model_task",
    provider = "workers-ai", retryable = false })
end

-- modelOptions first, managed fields win
local function with_options(model_options, managed)
  local o = {}
  if type(model_options) == "table" then for k, v in pairs(model_options) do o[k] = v end end
  for k, v in pairs(managed) do o[k] = v end
  return o
end

local function adapter(kind, model, cfg, methods)
  local a = { kind = kind, name = "workers-ai", model = model, config = cfg }
  for k, f in pairs(methods) do a[k] = f end
  return setmetatable(a, { __tostring = function() return "WorkersAi" .. kind .. "Adapter(" .. model .. ")" end })
end

-- A Workers AI model run, described once for every mode (request.lua): req.json (the inputs), req.raw +
-- content_type + query (the raw-bytes form of the REST paths), req.binding_inputs / req.entry_inputs (the plain
-- binding's and the universal entry's forms when they differ from json), req.label.
-- Returns { value = <decoded JSON> } or { bytes, content_type }, or nil, err.
local function run(cfg, model, req)
  return request.call(cfg, {
    provider = "workers-ai", model = model, label = req.label,
    rest_path = "/ai/run/" .. model, gateway_path = model, entry_endpoint = model,
    body = req.raw or req.json, content_type = req.raw and req.content_type, query = req.raw and req.query,
    binding_inputs = req.binding_inputs or req.json, entry_body = req.entry_inputs or req.json,
  })
end

local function byte_array(bytes)
  local a = json.array()
  for i = 1, #bytes do a[i] = bytes:byte(i) end
  return a
end

---------------------------------------------------------------------------------------------------
-- Image
---------------------------------------------------------------------------------------------------

-- models whose schema rejects width/height (additionalProperties: false)
local NO_SIZE = { ["@cf/black-forest-labs/flux-1-schnell"] = true }

local function image_b64(result, label, model)
  if result.bytes then return core.base64_encode(result.bytes) end
  local v = result.value
  if type(v) == "table" then
    local img = v.image or v.b64_json or (type(v.images) == "table" and v.images[1]) or nil
    if type(img) == "string" then return img end
  end
  return nil, _M.wrong_answer(label, "image", model, "text-to-image", result)
end

function _M.image(model, cfg)
  return adapter("image", model, cfg, {
    generate_images = function(self, opts)
      local inputs = with_options(opts.modelOptions, { prompt = opts.prompt })
      if opts.size and not NO_SIZE[model] then
        local w, h = opts.size:match("^(%d+)x(%d+)$")
        inputs.width, inputs.height = tonumber(w), tonumber(h)
      end
      local images = {}
      for i = 1, opts.numberOfImages or 1 do
        local res, err = run(cfg, model, { json = inputs, label = "Workers AI image" })
        if not res then return nil, err end
        local b64, ierr = image_b64(res, "Workers AI image", model)
        if not b64 then return nil, ierr end
        images[i] = { b64Json = b64 }
      end
      return { id = events.id("img"), model = model, images = images }
    end,
  })
end

---------------------------------------------------------------------------------------------------
-- Transcription
---------------------------------------------------------------------------------------------------

-- Input format per model: "bytes" (raw body / byte array), "base64" (JSON string), "deepgram" (raw + query)
local TRANSCRIPTION_INPUT = {
  ["@cf/openai/whisper"] = "bytes",
  ["@cf/openai/whisper-tiny-en"] = "bytes",
  ["@cf/openai/whisper-large-v3-turbo"] = "base64",
  ["@cf/deepgram/nova-3"] = "deepgram",
}
_M.TRANSCRIPTION_INPUT = TRANSCRIPTION_INPUT

local function words_of(list)
  if type(list) ~= "table" then return nil end
  local out = {}
  for i, w in ipairs(list) do
    out[i] = { word = w.punctuated_word or w.word, start = w.start, ["end"] = w["end"], confidence = w.confidence }
  end
  return out
end

local function map_transcription(v)
  if type(v) ~= "table" then return nil end
  -- Deepgram (nova-3)
  if type(v.results) == "table" then
    local ch = type(v.results.channels) == "table" and v.results.channels[1] or {}
    local alt = type(ch.alternatives) == "table" and ch.alternatives[1] or {}
    local md = type(v.metadata) == "table" and v.metadata or {}
    return { text = alt.transcript or "", language = ch.detected_language or alt.languages and alt.languages[1],
      duration = md.duration, words = words_of(alt.words) }
  end
  if type(v.text) ~= "string" then return nil end
  local out = { text = v.text, words = words_of(v.words) }
  local info = v.transcription_info
  if type(info) == "table" then out.language, out.duration = info.language, info.duration end
  if type(v.segments) == "table" then
    local segs, words = {}, {}
    for i, s in ipairs(v.segments) do
      segs[i] = { start = s.start, ["end"] = s["end"], text = s.text }
      for _, w in ipairs(words_of(s.words) or {}) do words[#words + 1] = w end
    end
    out.segments = segs
    if not out.words and #words > 0 then out.words = words end
  end
  return out
end

function _M.transcription(model, cfg)
  local form = TRANSCRIPTION_INPUT[model] or "base64"
  return adapter("transcription", model, cfg, {
    transcribe = function(self, opts)
      local audio = opts.audio
      local mo = opts.modelOptions
      local req = { label = "Workers AI transcription" }
      if form == "bytes" then
        req.raw, req.content_type = audio, "application/octet-stream"
        req.json = with_options(mo, { audio = byte_array(audio) })
      elseif form == "base64" then
        local managed = { audio = core.base64_encode(audio), language = opts.language, initial_prompt = opts.prompt }
        req.json = with_options(mo, managed)
      else -- deepgram: raw bytes with their content type, options as query parameters
        local ct = (type(mo) == "table" and mo.contentType) or media.sniff(audio) or "audio/mpeg"
        local q = {}
        if type(mo) == "table" then for k, v in pairs(mo) do if k ~= "contentType" then q[k] = v end end end
        if opts.language then q.language = opts.language end
        req.raw, req.content_type, req.query = audio, ct, q
        local bi = {}
        for k, v in pairs(q) do bi[k] = v end
        bi.audio = { body = audio, contentType = ct }
        req.binding_inputs = bi
        local gi = {}
        for k, v in pairs(q) do gi[k] = v end
        gi.audio = { body = core.base64_encode(audio), contentType = ct }
        req.entry_inputs = gi
      end
      local res, err = run(cfg, model, req)
      if not res then return nil, err end
      local mapped = map_transcription(res.value)
      if not mapped then
        return nil, _M.wrong_answer("Workers AI transcription", "transcript", model, "speech recognition", res)
      end
      mapped.id, mapped.model = events.id("transcription"), model
      return mapped
    end,
  })
end

---------------------------------------------------------------------------------------------------
-- Text to speech
---------------------------------------------------------------------------------------------------

-- TanStack format -> Aura encoding/container, and the content type of the bytes that come back
local AURA_FORMAT = {
  mp3 = { encoding = "mp3", content_type = "audio/mpeg" },
  wav = { encoding = "linear16", container = "wav", content_type = "audio/wav" },
  pcm = { encoding = "linear16", container = "none", content_type = "audio/pcm" },
  opus = { encoding = "opus", container = "ogg", content_type = "audio/ogg" },
  ogg = { encoding = "opus", container = "ogg", content_type = "audio/ogg" },
  aac = { encoding = "aac", content_type = "audio/aac" },
  flac = { encoding = "flac", content_type = "audio/flac" },
  mulaw = { encoding = "mulaw", container = "wav", content_type = "audio/wav" },
  alaw = { encoding = "alaw", container = "wav", content_type = "audio/wav" },
}
_M.AURA_FORMAT = AURA_FORMAT

local FORMAT_OF_TYPE = { ["audio/mpeg"] = "mp3", ["audio/wav"] = "wav", ["audio/ogg"] = "opus",
  ["audio/aac"] = "aac", ["audio/flac"] = "flac", ["audio/pcm"] = "pcm", ["audio/webm"] = "webm" }

function _M.tts(model, cfg)
  local is_melo = model:find("melotts", 1, true) ~= nil
  return adapter("tts", model, cfg, {
    generate_speech = function(self, opts)
      local fmt = opts.format or "mp3"
      local inputs
      if is_melo then
        inputs = with_options(opts.modelOptions, { prompt = opts.text, lang = opts.language })
      else
        local f = AURA_FORMAT[fmt]
        if not f then raise("generate_speech: format '" .. tostring(fmt) .. "' is not supported by " .. model) end
        inputs = with_options(opts.modelOptions, { text = opts.text, speaker = opts.voice, encoding = f.encoding,
          container = f.container })
      end
      local res, err = run(cfg, model, { json = inputs, label = "Workers AI TTS" })
      if not res then return nil, err end
      local bytes
      if res.bytes then
        bytes = res.bytes
      elseif type(res.value) == "table" and type(res.value.audio) == "string" then
        bytes = core.base64_decode(res.value.audio)
        if not bytes then
          return nil, errors.new({ message = "Workers AI TTS: audio is not valid base64", kind = "decode" })
        end
      else
        return nil, _M.wrong_answer("Workers AI TTS", "audio", model, "text-to-speech", res)
      end
      local ct = media.sniff(bytes) or (AURA_FORMAT[fmt] and AURA_FORMAT[fmt].content_type) or "audio/mpeg"
      if fmt == "pcm" and not media.sniff(bytes) then ct = "audio/pcm" end
      return { id = events.id("speech"), model = model, audio = core.base64_encode(bytes),
        format = FORMAT_OF_TYPE[ct] or fmt, contentType = ct }
    end,
  })
end

---------------------------------------------------------------------------------------------------
-- Summarization and embeddings
---------------------------------------------------------------------------------------------------

function _M.summarize(model, cfg)
  return adapter("summarize", model, cfg, {
    summarize = function(self, opts)
      local inputs = with_options(opts.modelOptions, { input_text = opts.text, max_length = opts.maxLength })
      local res, err = run(cfg, model, { json = inputs, label = "Workers AI summarize" })
      if not res then return nil, err end
      local v = res.value
      if type(v) ~= "table" or type(v.summary) ~= "string" then
        return nil, _M.wrong_answer("Workers AI summarize", "summary", model, "summarization", res)
      end
      return { id = events.id("summary"), model = model, summary = v.summary }
    end,
  })
end

function _M.embed(model, cfg)
  return adapter("embedding", model, cfg, {
    embed = function(self, opts)
      local input = opts.input or opts.text
      local inputs = with_options(opts.modelOptions, { text = input })
      local res, err = run(cfg, model, { json = inputs, label = "Workers AI embedding" })
      if not res then return nil, err end
      local v = res.value
      local data = type(v) == "table" and v.data or nil
      if type(data) ~= "table" then
        return nil, _M.wrong_answer("Workers AI embedding", "embeddings", model, "text embeddings", res)
      end
      -- OpenAI-shaped ({data = {{embedding}}}) or native ({shape, data = {{...}}})
      local out = {}
      for i, row in ipairs(data) do out[i] = type(row) == "table" and row.embedding or row end
      return { id = events.id("embedding"), model = model, embeddings = out, shape = v.shape }
    end,
  })
end

return _M
