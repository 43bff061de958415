-- onProgress(done, total, phase): the transport reports an upload and a download between its waits.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local emulator = require("helpers.emulator")

describe("progress", function()
  local emu
  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  local function config()
    return { accountId = "0123456789abcdef0123456789abcdef", apiKey = "key-123456", apiBaseUrl = emu.url .. "/client/v4", maxRetries = 0 }
  end

  it("a transcription reports its upload up to the whole file, then the answer's download", function()
    local audio = "ID3\3\0\0\0\0\0\0" .. string.rep("\255\251\144\0", 300000) -- 1.2 MB
    local seen = {}
    local res, err = ai.generate_transcription({ adapter = cf.create_workers_ai_transcription("@cf/openai/whisper",
      config()), audio = audio, onProgress = function(done, total, phase)
        seen[#seen + 1] = { done = done, total = total, phase = phase }
      end })
    assert.is_nil(err)
    assert.is_string(res.text)
    local last_up, downs = nil, 0
    for i, p in ipairs(seen) do
      if p.phase == "upload" then
        assert.equals(0, downs, "uploads come before downloads")
        if last_up then assert.is_true(p.done >= last_up.done, "upload progress only grows") end
        last_up = p
      else
        assert.equals("download", p.phase)
        downs = downs + 1
      end
      assert.is_true(p.done <= p.total or p.total == 0, "step " .. i)
    end
    assert.is_truthy(last_up, "no upload progress")
    assert.equals(#audio, last_up.total)
    assert.is_true(downs >= 1)
  end)

  it("an image reports the download of its bytes", function()
    local seen = {}
    local res = assert(ai.generate_image({ adapter = cf.create_workers_ai_image(
      "@cf/stabilityai/stable-diffusion-xl-base-1.0", config()), prompt = "a cat",
      onProgress = function(done, total, phase) seen[#seen + 1] = { done, total, phase } end }))
    local last = seen[#seen]
    assert.equals("download", last[3])
    assert.equals(#res.images[1].bytes, last[1])
  end)

  it("is an option like the others: checked, and absent means no callback", function()
    assert.has_error(function()
      ai.generate_image({ adapter = { generate_images = function() end }, prompt = "p", onProgress = 5 })
    end)
    assert.is_nil(require("tanstack.ai.http").current_progress())
  end)
end)
