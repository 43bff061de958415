-- OpenAI speech to text through AI Gateway: audio/transcriptions as multipart/form-data (OpenAI's API takes
-- nothing else). In gateway binding mode the multipart body cannot ride in a universal entry: request.lua
-- posts it to the binding's gateway URL instead.
local adapter = require("tanstack.ai.adapter")
local providers = require("cloudflare.tanstack_ai.providers")
local request = require("cloudflare.tanstack_ai.request")
local json, errors, media = adapter.json, adapter.errors, adapter.media
local openai = adapter.format("openai")
local raise = adapter.raise -- a mistake, reported at the caller's line

local setmetatable, type, pairs, ipairs, tostring, error, tonumber = setmetatable, type, pairs, ipairs, tostring,
  error, tonumber

local _M = {}

-- media type -> the file extension OpenAI reads the format from
local EXT = { ["audio/mpeg"] = "mp3", ["audio/wav"] = "wav", ["audio/ogg"] = "ogg", ["audio/flac"] = "flac",
  ["audio/webm"] = "webm", ["audio/mp4"] = "m4a" }

local FORMATS = { json = true, text = true, srt = true, verbose_json = true, vtt = true }

-- modelOptions keys that describe the file rather than being form fields
local FILE_KEYS = { filename = true, contentType = true }

local function sniff(audio)
  local t = media.sniff(audio)
  if t and EXT[t] then return t end
  return nil
end

local function field_value(v)
  if type(v) == "boolean" then return v and "true" or "false" end
  if type(v) == "table" then return json.encode(v) end
  return tostring(v)
end

--- The multipart parts for a request (exposed for tests).
function _M.parts(model, opts)
  local mo = type(opts.modelOptions) == "table" and opts.modelOptions or {}
  local ct = mo.contentType or sniff(opts.audio) or "audio/mpeg"
  local filename = mo.filename or ("audio." .. (EXT[ct] or "mp3"))
  local fmt = opts.responseFormat or mo.response_format or (model:match("^whisper") and "verbose_json" or "json")
  if not FORMATS[fmt] then
    error("generate_transcription: options.responseFormat must be json, text, srt, verbose_json or vtt (got " ..
      tostring(fmt) .. ")", 0)
  end
  local parts = {
    { name = "file", filename = filename, content_type = ct, data = opts.audio },
    { name = "model", value = model },
    { name = "response_format", value = fmt },
  }
  if opts.language then parts[#parts + 1] = { name = "language", value = opts.language } end
  if opts.prompt then parts[#parts + 1] = { name = "prompt", value = opts.prompt } end
  local keys = {}
  for k in pairs(mo) do
    if not FILE_KEYS[k] and k ~= "response_format" and k ~= "model" and k ~= "file" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = mo[k]
    if type(v) == "table" and json.is_array(v) then -- timestamp_granularities[] = word, segment
      local name = k:sub(-2) == "[]" and k or (k .. "[]")
      for _, x in ipairs(v) do parts[#parts + 1] = { name = name, value = field_value(x) } end
    else
      parts[#parts + 1] = { name = k, value = field_value(v) }
    end
  end
  return parts, fmt
end

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  if u.type == "duration" and tonumber(u.seconds) then
    return { promptTokens = 0, completionTokens = 0, totalTokens = 0,
      billed = { quantity = tonumber(u.seconds), unit = "seconds" } }
  end
  return openai.media_usage(u)
end

--- A JSON / verbose_json answer -> TanStack's transcription result fields.
function _M.result(v)
  local out = { text = v.text, language = v.language, duration = tonumber(v.duration), usage = usage_of(v.usage) }
  if type(v.segments) == "table" then
    local segs = {}
    for i, s in ipairs(v.segments) do
      segs[i] = { id = s.id, start = s.start, ["end"] = s["end"], text = s.text }
    end
    out.segments = segs
  end
  if type(v.words) == "table" then
    local words = {}
    for i, w in ipairs(v.words) do words[i] = { word = w.word, start = w.start, ["end"] = w["end"] } end
    out.words = words
  end
  return out
end

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a) return a.provider.label .. "TranscriptionAdapter(" .. a.model .. ")" end

function Adapter:transcribe(opts)
  local p, cfg, model = self.provider, self.config, self.model
  local ok, parts, fmt = pcall(_M.parts, model, opts)
  if not ok then raise(parts) end
  local body, content_type = adapter.multipart_encode(parts)
  if not body then return nil, errors.new({ message = tostring(content_type), kind = "internal" }) end
  local d = { provider = p.slug, gateway_path = p.transcriptions_path, body = body, content_type = content_type,
    label = p.label .. " transcription" }
  local r, err = request.call(cfg, d)
  if not r then return nil, err end
  local out
  if r.value ~= nil then
    if type(r.value) ~= "table" or type(r.value.text) ~= "string" then
      return nil, errors.new({ message = d.label .. ": the response has no text", kind = "provider",
        provider = p.slug, body = json.try_encode(r.value) })
    end
    out = _M.result(r.value)
  else
    local text = r.bytes or ""
    if fmt == "text" then text = text:gsub("%s+$", "") end
    out = { text = text }
  end
  out.id, out.model = adapter.id("transcription"), model
  return out
end

function _M.new(provider, model, cfg)
  local p = providers.get(provider)
  return setmetatable({ kind = "transcription", name = p.name, model = model, config = cfg, provider = p }, Adapter)
end

return _M
