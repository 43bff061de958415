-- The non-chat activities: check the options, call the adapter, return its result (or nil, err).
-- Images and speech get `bytes` beside their base64 (media.with_bytes: decoded once, on first use).
local media = require("tanstack.ai.media")

local type, error, ipairs = type, error, ipairs

local _M = {}

local function need(opts, kind, method, label)
  if type(opts) ~= "table" then error(label .. ": options must be a table", 3) end
  local a = opts.adapter
  if type(a) ~= "table" or type(a[method]) ~= "function" then
    error(label .. ": options.adapter must be a " .. kind .. " adapter", 3)
  end
  return a
end

--- ai.summarize{ adapter, text, maxLength, style, focus } -> { id, model, summary, usage }
function _M.summarize(opts)
  local a = need(opts, "summarize", "summarize", "summarize")
  if type(opts.text) ~= "string" or opts.text == "" then error("summarize: options.text must be a non-empty string", 2) end
  return a:summarize(opts)
end

--- ai.generate_image{ adapter, prompt, numberOfImages, size, modelOptions } -> { id, model, images = {{ b64Json }} }
function _M.generate_image(opts)
  local a = need(opts, "image", "generate_images", "generate_image")
  if type(opts.prompt) ~= "string" or opts.prompt == "" then error("generate_image: options.prompt must be a non-empty string", 2) end
  if opts.size ~= nil and (type(opts.size) ~= "string" or not opts.size:match("^%d+x%d+$")) then
    error("generate_image: options.size must look like '1024x768'", 2)
  end
  local n = opts.numberOfImages
  if n ~= nil and (type(n) ~= "number" or n < 1 or n > 10 or n % 1 ~= 0) then
    error("generate_image: options.numberOfImages must be an integer from 1 to 10", 2)
  end
  local res, err = a:generate_images(opts)
  if res and type(res.images) == "table" then
    for _, img in ipairs(res.images) do if type(img) == "table" then media.with_bytes(img) end end
  end
  return res, err
end

--- ai.generate_transcription{ adapter, audio, language, prompt, responseFormat, modelOptions }
function _M.generate_transcription(opts)
  local a = need(opts, "transcription", "transcribe", "generate_transcription")
  if type(opts.audio) ~= "string" or opts.audio == "" then
    error("generate_transcription: options.audio must be a non-empty string of bytes", 2)
  end
  return a:transcribe(opts)
end

--- ai.generate_speech{ adapter, text, voice, format, speed, modelOptions } -> { id, model, audio, format, contentType }
function _M.generate_speech(opts)
  local a = need(opts, "tts", "generate_speech", "generate_speech")
  if type(opts.text) ~= "string" or opts.text == "" then error("generate_speech: options.text must be a non-empty string", 2) end
  local res, err = a:generate_speech(opts)
  if type(res) == "table" then media.with_bytes(res) end
  return res, err
end

--- ai.embed{ adapter, input = string | {strings} } -> { id, model, embeddings = {{...}}, usage }
function _M.embed(opts)
  local a = need(opts, "embedding", "embed", "embed")
  local input = opts.input or opts.text
  if type(input) ~= "string" and type(input) ~= "table" then
    error("embed: options.input must be a string or an array of strings", 2)
  end
  return a:embed(opts)
end

return _M
