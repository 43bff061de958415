-- tanstack.ai.events: AG-UI event construction (type, timestamp, model on every event) and TanStack-style ids.
local events = require("tanstack.ai.events")

describe("events", function()
  it("id: '<prefix>-' and 16 lowercase hex digits, 'chatcmpl' by default, never the same twice", function()
    assert.matches("^chatcmpl%-%x+$", events.id())
    local seen = {}
    for _ = 1, 200 do
      local id = events.id("run")
      assert.matches("^run%-" .. string.rep("[0-9a-f]", 16) .. "$", id)
      assert.is_nil(seen[id])
      seen[id] = true
    end
  end)

  it("new: the type, a millisecond timestamp and the model on the given fields", function()
    local before = events.now_ms()
    local fields = { delta = "hi", messageId = "m1" }
    local e = events.new("TEXT_MESSAGE_CONTENT", "@cf/m", fields)
    assert.equal(fields, e) -- the fields table itself: no copy on the hot path
    assert.same({ type = "TEXT_MESSAGE_CONTENT", model = "@cf/m", delta = "hi", messageId = "m1",
      timestamp = e.timestamp }, e)
    assert.is_true(e.timestamp >= before and e.timestamp <= events.now_ms())
    assert.is_true(e.timestamp > 1.6e12) -- ms since the epoch, not seconds
  end)

  it("new: a timestamp or a model already in the fields wins", function()
    local e = events.new("RUN_STARTED", "default-model", { timestamp = 5, model = "own" })
    assert.equal(5, e.timestamp)
    assert.equal("own", e.model)
    assert.equal("RUN_STARTED", e.type)
  end)

  it("new: without fields, a fresh table each time; without a model, none", function()
    local a, b = events.new("RUN_FINISHED"), events.new("RUN_FINISHED")
    assert.are_not.equal(a, b)
    assert.is_nil(a.model)
    assert.equal("RUN_FINISHED", a.type)
  end)

  it("random_hex: n random bytes as 2n hex digits", function()
    assert.matches("^" .. string.rep("%x", 10) .. "$", events.random_hex(5))
    assert.are_not.equal(events.random_hex(16), events.random_hex(16))
  end)
end)
