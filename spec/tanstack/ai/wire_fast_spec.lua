-- The relay's hot path writes a plain TEXT_MESSAGE_CONTENT byte for byte as the generic encoder does, and leaves
-- every other event to it.
local json = require("tanstack.ai.json")
local wire = require("tanstack.ai.wire")

local function generic(ev) return json.encode(wire.to_wire_chunk(ev)) end

describe("wire: the text-delta fast path", function()
  it("equals the generic encoding for plain text deltas, whatever the text", function()
    local samples = { "", "hello", "quote \" backslash \\ slash /", "line\nbreak\ttab", "\0\1\31\127",
      "ünïcødé ✓ 🙂", string.rep("x", 5000) }
    math.randomseed(7)
    for _ = 1, 200 do
      local t = {}
      for i = 1, math.random(0, 40) do t[i] = string.char(math.random(0, 255)) end
      samples[#samples + 1] = table.concat(t)
    end
    for _, delta in ipairs(samples) do
      for _, model in ipairs({ "m", nil }) do
        local ev = { type = "TEXT_MESSAGE_CONTENT", timestamp = 1764650000123, model = model,
          messageId = "msg-0123456789abcdef", delta = delta }
        local fast = wire.plain_content_json(ev)
        assert.is_string(fast)
        assert.equals(generic(ev), fast)
        assert.equals("data: " .. fast .. "\n\n", wire.encode_sse(ev))
        assert.equals(fast .. "\n", wire.encode_ndjson(ev))
      end
    end
  end)

  it("leaves anything else to the generic path", function()
    local base = { type = "TEXT_MESSAGE_CONTENT", timestamp = 1, messageId = "m", delta = "d" }
    local function with(k, v) local e = {} for x, y in pairs(base) do e[x] = y end e[k] = v return e end
    assert.is_nil(wire.plain_content_json(with("metadata", { a = 1 })))
    assert.is_nil(wire.plain_content_json(with("extra", true)))
    assert.is_nil(wire.plain_content_json(with("timestamp", 1.5)))
    assert.is_nil(wire.plain_content_json(with("delta", 5)))
    assert.is_nil(wire.plain_content_json(with("type", "TOOL_CALL_ARGS")))
    -- and those still encode as before
    local ev = with("extra", true)
    assert.equals("data: " .. generic(ev) .. "\n\n", wire.encode_sse(ev))
    assert.matches('"extra":true', wire.encode_sse(ev))
  end)
end)
