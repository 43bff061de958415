-- tanstack.ai.activities: the non-chat activities check their options (options.lua), call the adapter's method
-- and hand back its result or nil, err; images and speech get a lazy `bytes` beside their base64; onProgress
-- reaches the transport of the requests the activity makes.
local activities = require("tanstack.ai.activities")
local core = require("tanstack.ai.core")
local errors = require("tanstack.ai.errors")
local json = require("tanstack.ai.json")
local cf = require("cloudflare.tanstack_ai")
local stub = require("helpers.stub_transport")

local PNG = "\137PNG\r\n\26\n\0\0\0\rIHDR"

-- An adapter with one method that records the options it got and answers `res, err`.
local function fake(method, res, err)
  local a = { seen = {} }
  a[method] = function(self, opts)
    self.seen[#self.seen + 1] = opts
    return res, err
  end
  return a
end

describe("activities", function()
  it("summarize: canonical options reach the adapter, its result comes back as is", function()
    local res = { id = "s", model = "m", summary = "short" }
    local a = fake("summarize", res)
    assert.equal(res, activities.summarize({ adapter = a, text = "long", max_length = 20, style = "concise" }))
    local o = a.seen[1]
    assert.equal("long", o.text)
    assert.equal(20, o.maxLength) -- snake_case read into the canonical name
    assert.is_nil(o.max_length)
    assert.equal(a, o.adapter)
  end)

  it("every activity raises on bad options before calling the adapter", function()
    local cases = {
      { "summarize", "summarize", { text = "" } },
      { "generate_image", "generate_images", { prompt = "p", numberOfImages = 11 } },
      { "generate_transcription", "transcribe", { audio = "" } },
      { "generate_speech", "generate_speech", { text = "t", speed = 5 } },
      { "embed", "embed", { input = 5 } },
      { "generate_image", "generate_images", { prompt = "p", sise = "1x1" } },
    }
    for _, c in ipairs(cases) do
      local a = fake(c[2], {})
      c[3].adapter = a
      local ok, err = pcall(activities[c[1]], c[3])
      assert.is_false(ok, c[1])
      assert.matches("^" .. c[1]:gsub("_", "%%_") .. ": ", (tostring(err):gsub("^[^:]+:%d+: ", "")))
      assert.equal(0, #a.seen, c[1])
    end
  end)

  it("refuses an adapter without the activity's method, naming what it needs", function()
    local ok, err = pcall(activities.generate_image, { adapter = fake("summarize", {}), prompt = "p" })
    assert.is_false(ok)
    assert.matches("generate_image: options.adapter must be an image adapter (an object with a generate_images " ..
      "method)", err, 1, true)
  end)

  it("embed: input or text is required", function()
    local a = fake("embed", { embeddings = {} })
    local ok, err = pcall(activities.embed, { adapter = a })
    assert.is_false(ok)
    assert.matches("embed: options.input is required (a string or an array of strings)", err, 1, true)
    assert.equal(0, #a.seen)
    assert.same({ embeddings = {} }, activities.embed({ adapter = a, text = "x" }))
    assert.same({ embeddings = {} }, activities.embed({ adapter = a, input = { "a", "b" } }))
  end)

  it("generate_image: each image gets its bytes, decoded from b64Json on first use and kept out of JSON", function()
    local res = { id = "i", model = "m", images = { { b64Json = core.base64_encode(PNG) }, { url = "https://x/y" } } }
    local out = activities.generate_image({ adapter = fake("generate_images", res), prompt = "p" })
    assert.equal(PNG, out.images[1].bytes)
    assert.is_nil(out.images[2].bytes)
    assert.equal("https://x/y", out.images[2].url)
    assert.is_nil(json.decode(json.encode(out)).images[1].bytes) -- TanStack's shape only
    local keys = {}
    for k in pairs(out.images[1]) do keys[#keys + 1] = k end
    assert.same({ "b64Json" }, keys)
  end)

  it("generate_speech: the result gets its audio's bytes", function()
    local res = { id = "s", model = "m", audio = core.base64_encode("RIFF....WAVE"), format = "wav",
      contentType = "audio/wav" }
    local out = activities.generate_speech({ adapter = fake("generate_speech", res), text = "hi" })
    assert.equal("RIFF....WAVE", out.bytes)
  end)
end)

describe("activities", function()
  it("hands back the adapter's nil, err unchanged", function()
    local e = errors.new({ message = "boom", kind = "provider" })
    for _, c in ipairs({ { "generate_image", "generate_images", { prompt = "p" } },
      { "generate_speech", "generate_speech", { text = "t" } },
      { "generate_transcription", "transcribe", { audio = "abc" } },
      { "summarize", "summarize", { text = "t" } }, { "embed", "embed", { input = "t" } } }) do
      c[3].adapter = fake(c[2], nil, e)
      local res, err = activities[c[1]](c[3])
      assert.is_nil(res, c[1])
      assert.equal(e, err, c[1])
    end
  end)
end)

describe("activities: onProgress", function()
  it("reaches the transport of the activity's requests, and only those", function()
    local t = stub.new({ stub.bytes(PNG, "image/png") })
    local adapter = cf.create_workers_ai_image("@cf/stabilityai/stable-diffusion-xl-base-1.0",
      { accountId = "acct", apiKey = "key-123456", transport = t, maxRetries = 0 })
    local seen = {}
    local res = assert(activities.generate_image({ adapter = adapter, prompt = "a cat",
      onProgress = function(done, total, phase) seen[#seen + 1] = { done, total, phase } end }))
    assert.equal(PNG, res.images[1].bytes)
    assert.is_function(t.requests[1].on_progress)
    t.requests[1].on_progress(3, 10, "download")
    assert.same({ { 3, 10, "download" } }, seen)
    assert(activities.generate_image({ adapter = adapter, prompt = "a dog" }))
    assert.is_nil(t.requests[2].on_progress)
  end)

  it("is cleared when the adapter raises", function()
    local a = { generate_images = function() error("adapter bug", 0) end }
    local ok, err = pcall(activities.generate_image, { adapter = a, prompt = "p", onProgress = function() end })
    assert.is_false(ok)
    assert.equal("adapter bug", err)
    local t = stub.new({ stub.bytes(PNG, "image/png") })
    local adapter = cf.create_workers_ai_image("@cf/stabilityai/stable-diffusion-xl-base-1.0",
      { accountId = "acct", apiKey = "key-123456", transport = t, maxRetries = 0 })
    assert(activities.generate_image({ adapter = adapter, prompt = "a dog" }))
    assert.is_nil(t.requests[1].on_progress)
  end)
end)
