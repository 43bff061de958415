-- Bytes beside base64, and integers that stay integers.
local ai = require("tanstack.ai")
local json = require("tanstack.ai.json")
local media = require("tanstack.ai.media")

describe("bytes beside base64", function()
  local PNG = "\137PNG\r\n\26\n" .. string.rep("\0\1\2\255", 8)

  it("ai.base64_encode / ai.base64_decode round-trip binary", function()
    local b64 = ai.base64_encode(PNG)
    assert.equals("iVBORw0KGgo", b64:sub(1, 11))
    assert.equals(PNG, ai.base64_decode(b64))
  end)

  it("an image entry gets bytes decoded once, invisible to pairs and JSON", function()
    local img = media.with_bytes({ b64Json = ai.base64_encode(PNG) })
    assert.equals(PNG, img.bytes)
    assert.equals(img.bytes, img.bytes)
    local keys = {}
    for k in pairs(img) do keys[#keys + 1] = k end
    assert.same({ "b64Json" }, keys)
    assert.same({ b64Json = ai.base64_encode(PNG) }, json.decode(json.encode(img)))
    -- a URL image has no bytes; known bytes are kept as given
    assert.is_nil(media.with_bytes({ url = "https://x/y.png" }).bytes)
    assert.equals("raw", media.with_bytes({ b64Json = "cmF3" }, "raw").bytes)
  end)

  it("generate_image and generate_speech results carry bytes", function()
    local image_adapter = { generate_images = function() return { id = "i", model = "m",
      images = { { b64Json = ai.base64_encode(PNG) }, { url = "https://x" } } } end }
    local res = ai.generate_image({ adapter = image_adapter, prompt = "p" })
    assert.equals(PNG, res.images[1].bytes)
    assert.is_nil(res.images[2].bytes)
    local mp3 = "ID3\3\0\0\0\0\0\0" .. string.rep("\255\251\144\0", 4)
    local tts = { generate_speech = function() return { id = "s", model = "m", audio = ai.base64_encode(mp3),
      format = "mp3", contentType = "audio/mpeg" } end }
    assert.equals(mp3, ai.generate_speech({ adapter = tts, text = "hi" }).bytes)
  end)
end)

describe("integers stay integers", function()
  it("json.decode gives integral numbers as integers on Lua 5.3+, other numbers as floats", function()
    local v = json.decode('{"age":42,"h":1.5,"n":[1,2.0,3e2],"big":1e300,"neg":-7}')
    assert.equals(42, v.age)
    assert.equals(1.5, v.h)
    if math.type then
      assert.equals("integer", math.type(v.age))
      assert.equals("integer", math.type(v.n[2]))
      assert.equals("integer", math.type(v.n[3]))
      assert.equals("integer", math.type(v.neg))
      assert.equals("float", math.type(v.h))
      assert.equals("float", math.type(v.big))
      assert.equals("42", tostring(v.age))
      assert.equals("integer", math.type(json.decode("7")))
    end
  end)
end)
