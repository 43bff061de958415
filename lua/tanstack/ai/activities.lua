-- The non-chat activities: check the options, call the adapter, return its result (or nil, err).
-- Images and speech get `bytes` beside their base64 (media.with_bytes: decoded once, on first use).
local media = require("tanstack.ai.media")
local options = require("tanstack.ai.options")
local http = require("tanstack.ai.http")

local type, ipairs = type, ipairs

local _M = {}

-- The adapter's method, with opts.onProgress(done, total, phase) as the progress callback of its requests.
local function call(opts, method)
  local a = opts.adapter
  if opts.onProgress then return http.with_progress(opts.onProgress, a[method], a, opts) end
  return a[method](a, opts)
end

--- ai.summarize{ adapter, text, maxLength, style, focus, temperature, modelOptions }
--- -> { id, model, summary, usage } | nil, err
function _M.summarize(opts)
  opts = options.check("summarize", opts)
  return opts.adapter:summarize(opts)
end

--- ai.generate_image{ adapter, prompt, numberOfImages, size, modelOptions }
--- -> { id, model, images = {{ b64Json, bytes } | { url }} } | nil, err
function _M.generate_image(opts)
  opts = options.check("generate_image", opts)
  local res, err = call(opts, "generate_images")
  if res and type(res.images) == "table" then
    for _, img in ipairs(res.images) do if type(img) == "table" then media.with_bytes(img) end end
  end
  return res, err
end

--- ai.generate_transcription{ adapter, audio, language, prompt, responseFormat, modelOptions }
--- -> { id, model, text, language, duration, segments, words } | nil, err
function _M.generate_transcription(opts)
  opts = options.check("generate_transcription", opts)
  return call(opts, "transcribe")
end

--- ai.generate_speech{ adapter, text, voice, format, speed, modelOptions }
--- -> { id, model, audio, bytes, format, contentType } | nil, err
function _M.generate_speech(opts)
  opts = options.check("generate_speech", opts)
  local res, err = call(opts, "generate_speech")
  if type(res) == "table" then media.with_bytes(res) end
  return res, err
end

--- ai.embed{ adapter, input = string | {strings}, modelOptions } -> { id, model, embeddings = {{...}}, usage }
function _M.embed(opts)
  opts = options.check("embed", opts)
  if opts.input == nil and opts.text == nil then
    options.raise("embed: options.input is required (a string or an array of strings)")
  end
  return opts.adapter:embed(opts)
end

return _M
