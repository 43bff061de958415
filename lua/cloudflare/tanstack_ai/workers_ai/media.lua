-- Workers AI image, transcription, speech, summarization and embedding adapters.
-- Per-model facts are tables; the request for each path is built from them, and each answer shape is
-- detected from the response (binary or JSON, enveloped or not), never assumed.
local ai = require("tanstack.ai.adapter")
local request = require("cloudflare.tanstack_ai.request")
local models = require("cloudflare.tanstack_ai.workers_ai.models")
local json, errors, media = ai.json, ai.errors, ai.media
local raise = ai.raise -- a mistake, reported at the caller's line

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

local function image_b64(result, label, model)
  if result.bytes then return ai.base64_encode(result.bytes) end
  local v = result.value
  if type(v) == "table" then
    local img = v.image or v.b64_json or (type(v.images) == "table" and v.images[1]) or nil
    if type(img) == "string" then return img end
  end
  return nil, _M.wrong_answer(label, "image", model, "text-to-image", result)
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- A multipart model (FLUX.2): every input a form field, bytes (input_image_0.., image, mask) as files.
local function multipart_request(inputs, label)
  local parts = {}
  for _, k in ipairs(sorted_keys(inputs)) do
    local v = inputs[k]
    if type(v) == "string" and (k:match("^input_image") or k == "image" or k == "mask") then
      local ct = media.sniff(v) or "application/octet-stream"
      parts[#parts + 1] = { name = k, filename = k .. "." .. (ct:match("/(%w+)$") or "bin"), content_type = ct,
        data = v }
    elseif type(v) == "table" then
      parts[#parts + 1] = { name = k, value = json.encode(v) }
    elseif type(v) == "boolean" then
      parts[#parts + 1] = { name = k, value = v and "true" or "false" }
    else
      parts[#parts + 1] = { name = k, value = tostring(v) }
    end
  end
  local body, ct = ai.multipart_encode(parts)
  if not body then return nil, errors.new({ message = label .. ": " .. tostring(ct), kind = "internal" }) end
  return { raw = body, content_type = ct, binding_inputs = { multipart = { body = body, contentType = ct } },
    label = label }
end

--- The request of one image: the model's input form and fields from the catalog (a model it lacks: JSON with
--- prompt, width and height). Source image and mask bytes (modelOptions.image / mask, strings) go as the byte
--- arrays the JSON schemas take, or as files of a multipart model. Raises on an option the schema refuses.
function _M.image_request(model, opts)
  local entry = models.entry(model)
  local label = "Workers AI image"
  local multipart = entry ~= nil and entry.input == "multipart"
  local managed = { prompt = opts.prompt }
  if opts.size then
    local w, h = tostring(opts.size):match("^(%d+)x(%d+)$")
    if not w then raise("generate_image: size must be WIDTHxHEIGHT (got " .. tostring(opts.size) .. ")") end
    -- a multipart model (FLUX.2) takes width and height as form fields
    if multipart or models.has(entry, "width") then managed.width, managed.height = tonumber(w), tonumber(h) end
  end
  local inputs = with_options(opts.modelOptions, managed)
  if not multipart then
    for _, k in ipairs({ "image", "mask" }) do
      local f = entry and entry.fields[k]
      if type(inputs[k]) == "string" and (not entry or (f and f.type:find("array", 1, true))) then
        inputs[k] = byte_array(inputs[k])
      end
    end
  end
  local msg = not multipart and models.check(model, entry, inputs, label, { width = "size", height = "size" })
  if msg then raise(msg) end
  if multipart then return multipart_request(inputs, label) end
  return { json = inputs, label = label }
end

function _M.image(model, cfg)
  return adapter("image", model, cfg, {
    generate_images = function(self, opts)
      local req, rerr = _M.image_request(model, opts)
      if not req then return nil, rerr end
      local images = {}
      for i = 1, opts.numberOfImages or 1 do
        local res, err = run(cfg, model, req)
        if not res then return nil, err end
        local b64, ierr = image_b64(res, req.label, model)
        if not b64 then return nil, ierr end
        images[i] = { b64Json = b64 }
      end
      return { id = ai.id("img"), model = model, images = images }
    end,
  })
end

---------------------------------------------------------------------------------------------------
-- Transcription
---------------------------------------------------------------------------------------------------

-- Input form per model, from the catalog: "bytes" (raw body / byte array), "base64" (JSON string),
-- "audio-object" (raw bytes with their content type, options as query parameters; {audio = {body, contentType}}
-- for a binding). A model the catalog lacks takes the common form, base64.
local function transcription_form(model)
  local e = models.entry(model)
  if e == nil then return "base64" end
  if e.input == "audio-object" then return "deepgram" end
  return e.input
end
_M.transcription_form = transcription_form

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
  local entry = models.entry(model)
  local refused = models.unusable(model, entry)
  if refused then raise("createWorkersAiTranscription: " .. refused) end
  local form = transcription_form(model)
  return adapter("transcription", model, cfg, {
    transcribe = function(self, opts)
      local audio = opts.audio
      local mo = opts.modelOptions
      local req = { label = "Workers AI transcription" }
      if type(mo) == "table" and form ~= "bytes" then
        local probe = {}
        for k, v in pairs(mo) do probe[k] = v end
        -- audio stands in as the form the model is sent: a string (base64), or {body, contentType} for an
        -- audio-object model (Deepgram), whose schema types audio as an object
        if probe.audio == nil then probe.audio = form == "deepgram" and { body = "", contentType = "" } or "" end
        if opts.language then probe.language = opts.language end
        local msg = models.check(model, entry, probe, req.label)
        if msg then raise(msg) end
      end
      if form == "bytes" then
        req.raw, req.content_type = audio, "application/octet-stream"
        req.json = with_options(mo, { audio = byte_array(audio) })
      elseif form == "base64" then
        local managed = { audio = ai.base64_encode(audio) }
        if models.has(entry, "language") then managed.language = opts.language end
        if models.has(entry, "initial_prompt") then managed.initial_prompt = opts.prompt end
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
        gi.audio = { body = ai.base64_encode(audio), contentType = ct }
        req.entry_inputs = gi
      end
      local res, err = run(cfg, model, req)
      if not res then return nil, err end
      local mapped = map_transcription(res.value)
      if not mapped then
        return nil, _M.wrong_answer("Workers AI transcription", "transcript", model, "speech recognition", res)
      end
      mapped.id, mapped.model = ai.id("transcription"), model
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

-- The catalog says which form a speech model takes: {prompt, lang} (MeloTTS) or {text, speaker, encoding,
-- container} (Aura); a model it lacks takes the Aura form.
function _M.tts(model, cfg)
  local entry = models.entry(model)
  local prompt_form = entry ~= nil and entry.fields.prompt ~= nil and entry.fields.text == nil
  local label = "Workers AI TTS"
  return adapter("tts", model, cfg, {
    generate_speech = function(self, opts)
      local fmt = opts.format or "mp3"
      local inputs
      if prompt_form then
        if opts.format and opts.format ~= "mp3" and not models.has(entry, "encoding") then
          raise("generate_speech: format '" .. tostring(fmt) .. "' is not supported by " .. model ..
            " (allowed: mp3)")
        end
        local managed = { prompt = opts.text }
        if models.has(entry, "lang") then managed.lang = opts.language end
        inputs = with_options(opts.modelOptions, managed)
      else
        local f = AURA_FORMAT[fmt]
        if not f then raise("generate_speech: format '" .. tostring(fmt) .. "' is not supported by " .. model) end
        local managed = { text = opts.text, speaker = opts.voice }
        if models.has(entry, "encoding") then managed.encoding = f.encoding end
        if models.has(entry, "container") then managed.container = f.container end
        inputs = with_options(opts.modelOptions, managed)
      end
      local msg = models.check(model, entry, inputs, label, { speaker = "voice", encoding = "format",
        container = "format", prompt = "text", text = "text", lang = "language" })
      if msg then raise(msg) end
      local res, err = run(cfg, model, { json = inputs, label = "Workers AI TTS" })
      if not res then return nil, err end
      local bytes
      if res.bytes then
        bytes = res.bytes
      elseif type(res.value) == "table" and type(res.value.audio) == "string" then
        bytes = ai.base64_decode(res.value.audio)
        if not bytes then
          return nil, errors.new({ message = "Workers AI TTS: audio is not valid base64", kind = "decode" })
        end
      else
        return nil, _M.wrong_answer("Workers AI TTS", "audio", model, "text-to-speech", res)
      end
      local ct = media.sniff(bytes) or (AURA_FORMAT[fmt] and AURA_FORMAT[fmt].content_type) or "audio/mpeg"
      if fmt == "pcm" and not media.sniff(bytes) then ct = "audio/pcm" end
      return { id = ai.id("speech"), model = model, audio = ai.base64_encode(bytes),
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
      local entry = models.entry(model)
      local inputs = with_options(opts.modelOptions, { input_text = opts.text, max_length = opts.maxLength })
      local msg = models.check(model, entry, inputs, "Workers AI summarize", { input_text = "text",
        max_length = "maxLength" })
      if msg then raise(msg) end
      local res, err = run(cfg, model, { json = inputs, label = "Workers AI summarize" })
      if not res then return nil, err end
      local v = res.value
      if type(v) ~= "table" or type(v.summary) ~= "string" then
        return nil, _M.wrong_answer("Workers AI summarize", "summary", model, "summarization", res)
      end
      return { id = ai.id("summary"), model = model, summary = v.summary }
    end,
  })
end

function _M.embed(model, cfg)
  return adapter("embedding", model, cfg, {
    embed = function(self, opts)
      local input = opts.input or opts.text
      local inputs = with_options(opts.modelOptions, { text = input })
      local msg = models.check(model, models.entry(model), inputs, "Workers AI embedding", { text = "input" })
      if msg then raise(msg) end
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
      return { id = ai.id("embedding"), model = model, embeddings = out, shape = v.shape }
    end,
  })
end

return _M
