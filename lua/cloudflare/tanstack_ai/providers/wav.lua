-- Raw PCM -> a playable WAV file (the canonical 44-byte RIFF header). Gemini TTS answers with bare
-- 16-bit little-endian PCM. Built with string.char so it runs on Lua 5.1/LuaJIT (no string.pack).
local char, floor = string.char, math.floor
local unpack = table.unpack or unpack -- luacheck: ignore (5.1 global)

local _M = {}

local function le(n, bytes)
  local t = {}
  for i = 1, bytes do
    t[i] = n % 256
    n = floor(n / 256)
  end
  return char(unpack(t))
end

--- The header alone, for data_len bytes of PCM.
function _M.header(data_len, rate, channels, bits)
  channels = channels or 1
  bits = bits or 16
  local block = floor(channels * bits / 8)
  return "RIFF" .. le(36 + data_len, 4) .. "WAVE"
    .. "fmt " .. le(16, 4) .. le(1, 2) .. le(channels, 2) .. le(rate, 4) .. le(rate * block, 4)
    .. le(block, 2) .. le(bits, 2)
    .. "data" .. le(data_len, 4)
end

--- PCM bytes -> WAV bytes. rate in Hz (Gemini: 24000), mono 16-bit by default.
function _M.wrap(pcm, rate, channels, bits)
  return _M.header(#pcm, rate, channels, bits) .. pcm
end

return _M
