-- Media bytes: the WAV header laid over raw PCM, and media types sniffed from magic bytes.
local media = require("tanstack.ai.media")

local function le(s, i, n) -- little-endian unsigned at byte i (1-based), n bytes
  local v = 0
  for k = n, 1, -1 do v = v * 256 + s:byte(i + k - 1) end
  return v
end

describe("media", function()
  it("wraps PCM in the canonical 44-byte RIFF/WAVE header", function()
    local pcm = string.rep("\1\2", 100)
    local w = media.wav(pcm, 24000)
    assert.equal(44 + 200, #w)
    assert.equal("RIFF", w:sub(1, 4))
    assert.equal(36 + 200, le(w, 5, 4))
    assert.equal("WAVEfmt ", w:sub(9, 16))
    assert.equal(16, le(w, 17, 4))     -- fmt chunk size
    assert.equal(1, le(w, 21, 2))      -- PCM
    assert.equal(1, le(w, 23, 2))      -- mono
    assert.equal(24000, le(w, 25, 4))  -- sample rate
    assert.equal(48000, le(w, 29, 4))  -- byte rate
    assert.equal(2, le(w, 33, 2))      -- block align
    assert.equal(16, le(w, 35, 2))     -- bits
    assert.equal("data", w:sub(37, 40))
    assert.equal(200, le(w, 41, 4))
    assert.equal(pcm, w:sub(45))
    local st = media.wav_header(10, 44100, 2, 16)
    assert.equal(176400, le(st, 29, 4))
    assert.equal(4, le(st, 33, 2))
  end)

  it("sniffs images and audio from their first bytes, nil for anything else", function()
    local cases = {
      ["\137PNG\r\n\26\n...."] = "image/png",
      ["\255\216\255\224"] = "image/jpeg",
      ["RIFF\0\0\0\0WEBPVP8 "] = "image/webp",
      ["RIFF\0\0\0\0WAVEfmt "] = "audio/wav",
      ["ID3\3\0\0\0"] = "audio/mpeg",
      ["\255\251\144\0"] = "audio/mpeg",
      ["OggS\0\2"] = "audio/ogg",
      ["fLaC\0\0"] = "audio/flac",
      ["\26\69\223\163\1"] = "audio/webm",
      ["\0\0\0\32ftypM4A "] = "audio/mp4",
    }
    for bytes, want in pairs(cases) do assert.equal(want, media.sniff(bytes), want) end
    assert.is_nil(media.sniff("hello world"))
    assert.is_nil(media.sniff(""))
    assert.is_nil(media.sniff("\255\16")) -- not an MPEG frame sync
  end)
end)
