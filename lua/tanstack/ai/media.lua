-- Media bytes: the raw bytes beside a result's base64, what a file is (sniffed from its magic bytes), and raw
-- PCM -> a playable WAV file.
local core = require("tanstack.ai.core")

local char, floor = string.char, math.floor
local ipairs, rawget, type, setmetatable, getmetatable = ipairs, rawget, type, setmetatable, getmetatable
local unpack = table.unpack or unpack -- luacheck: ignore (5.1 global)

local _M = {}

-- `bytes` beside a base64 field (an image's b64Json, a speech result's audio), decoded once on first use. Kept in
-- a weak side table, so pairs() and JSON encoding of the result still see TanStack's shape only.
local decoded = setmetatable({}, { __mode = "k" })
local BASE64_FIELD = { "b64Json", "audio" }
local bytes_mt = {
  __index = function(t, k)
    if k ~= "bytes" then return nil end
    local b = decoded[t]
    if b == nil then
      for _, f in ipairs(BASE64_FIELD) do
        local src = rawget(t, f)
        if type(src) == "string" then b = core.base64_decode(src) break end
      end
      decoded[t] = b or false
    end
    return b or nil
  end,
}

--- Give a result table (or an image entry) a lazy `bytes` field; `bytes` when the raw bytes are already known.
function _M.with_bytes(t, bytes)
  if getmetatable(t) == nil then setmetatable(t, bytes_mt) end
  if bytes ~= nil then decoded[t] = bytes end
  return t
end

local function le(n, bytes)
  local t = {}
  for i = 1, bytes do
    t[i] = n % 256
    n = floor(n / 256)
  end
  return char(unpack(t))
end

---------------------------------------------------------------------------------------------------
-- WAV: the canonical 44-byte RIFF header before 16-bit little-endian PCM (some TTS models answer with bare
-- PCM). Built with string.char so it runs on Lua 5.1/LuaJIT (no string.pack).
---------------------------------------------------------------------------------------------------

--- The WAV header alone, for data_len bytes of PCM.
function _M.wav_header(data_len, rate, channels, bits)
  channels = channels or 1
  bits = bits or 16
  local block = floor(channels * bits / 8)
  return "RIFF" .. le(36 + data_len, 4) .. "WAVE"
    .. "fmt " .. le(16, 4) .. le(1, 2) .. le(channels, 2) .. le(rate, 4) .. le(rate * block, 4)
    .. le(block, 2) .. le(bits, 2)
    .. "data" .. le(data_len, 4)
end

--- PCM bytes -> WAV bytes. rate in Hz (Gemini: 24000), mono 16-bit by default.
function _M.wav(pcm, rate, channels, bits)
  return _M.wav_header(#pcm, rate, channels, bits) .. pcm
end

--- A media type from magic bytes (the response's word is not always there or right), or nil.
function _M.sniff(bytes)
  local b4 = bytes:sub(1, 4)
  if bytes:sub(1, 8) == "\137PNG\r\n\26\n" then return "image/png" end
  if bytes:sub(1, 3) == "\255\216\255" then return "image/jpeg" end
  if b4 == "RIFF" and bytes:sub(9, 12) == "WEBP" then return "image/webp" end
  if b4 == "RIFF" and bytes:sub(9, 12) == "WAVE" then return "audio/wav" end
  if bytes:sub(1, 3) == "ID3" or (bytes:byte(1) == 255 and (bytes:byte(2) or 0) >= 224) then return "audio/mpeg" end
  if b4 == "OggS" then return "audio/ogg" end
  if b4 == "fLaC" then return "audio/flac" end
  if b4 == "\26\69\223\163" then return "audio/webm" end
  if bytes:sub(5, 8) == "ftyp" then return "audio/mp4" end
  return nil
end

return _M
