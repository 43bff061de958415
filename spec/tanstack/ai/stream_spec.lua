-- tanstack.ai.stream: the object ai.chat{ stream = true } returns, over a producer { next, close, pending }.
-- Each test drives a Stream over a scripted producer that counts its calls: when the producer is asked for the
-- next event, when it is closed (once, whatever path ends the stream), what text() and collect() drain.
-- (The engine behind ai.chat's producer: chat_spec.lua; pending() through a real turn: coalesce_spec.lua.)
local stream = require("tanstack.ai.stream")
local errors = require("tanstack.ai.errors")

-- A producer handing out `events` in order; counts next() calls (also after the end) and close() calls.
local function producer(events, with_pending)
  local p = { i = 0, nexts = 0, closes = 0 }
  p.next = function()
    p.nexts = p.nexts + 1
    p.i = p.i + 1
    return events[p.i]
  end
  p.close = function() p.closes = p.closes + 1 end
  if with_pending then p.pending = function() return #events - p.i end end
  return p
end

local function text(delta) return { type = "TEXT_MESSAGE_CONTENT", delta = delta, messageId = "m1" } end
local START, FINISH = { type = "RUN_STARTED", runId = "r" }, { type = "RUN_FINISHED", runId = "r", finishReason = "stop" }

describe("tanstack.ai.stream", function()
  it("hands out the producer's events in order; at the end closes it once and never asks it again", function()
    local p = producer({ START, text("a"), FINISH })
    local s = stream.new(p)
    assert.equal(START, s:next())
    assert.equal("a", s:next().delta)
    assert.equal(FINISH, s:next())
    assert.equal(0, p.closes)
    assert.is_nil(s:next())
    assert.equal(1, p.closes)
    assert.is_true(s.closed)
    assert.is_nil(s:next())
    assert.is_nil(s:next())
    assert.equal(4, p.nexts) -- three events and the one nil; a closed stream does not call the producer
    assert.equal(1, p.closes)
  end)

  it("is its own iterator (for ev in stream) and has iter() for the generic for", function()
    local seen = {}
    for ev in stream.new(producer({ START, text("x"), FINISH })) do seen[#seen + 1] = ev.type end
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_CONTENT", "RUN_FINISHED" }, seen)
    seen = {}
    local p = producer({ START, FINISH })
    for ev in stream.new(p):iter() do seen[#seen + 1] = ev.type end
    assert.same({ "RUN_STARTED", "RUN_FINISHED" }, seen)
    assert.equal(1, p.closes)
  end)

  if _VERSION == "Lua 5.4" then
    it("iter(): a break out of the loop closes the producer at once (Lua 5.4's to-be-closed value)", function()
      local p = producer({ START, text("a"), text("b"), FINISH })
      for ev in stream.new(p):iter() do
        if ev.type == "TEXT_MESSAGE_CONTENT" then break end
      end
      assert.equal(1, p.closes)
      assert.equal(2, p.nexts)
    end)

    it("a stream dropped unfinished is closed by the garbage collector", function()
      local p = producer({ START, text("a"), FINISH })
      do
        local s = stream.new(p)
        s:next()
      end
      collectgarbage()
      collectgarbage()
      assert.equal(1, p.closes)
    end)
  end

  it("cancel() closes the producer once (idempotent), close is the same method, and next() is then nil", function()
    local p = producer({ START, text("a"), FINISH })
    local s = stream.new(p)
    s:next()
    s:cancel()
    s:cancel()
    s:close()
    assert.equal(1, p.closes)
    assert.is_nil(s:next())
    assert.equal(1, p.nexts)
    assert.equal(stream.Stream.cancel, stream.Stream.close)
    -- a producer without close: cancel is still safe
    local bare = stream.new({ next = function() return nil end })
    bare:cancel()
    assert.is_true(bare.closed)
  end)

  it("pending(): the producer's count; 0 without producer.pending or once closed", function()
    local s = stream.new(producer({ START, text("a"), FINISH }, true))
    assert.equal(3, s:pending())
    s:next()
    assert.equal(2, s:pending())
    s:cancel()
    assert.equal(0, s:pending())
    assert.equal(0, stream.new(producer({ START })):pending())
  end)

  it("text(): the TEXT_MESSAGE_CONTENT deltas of every turn, joined; other events are skipped", function()
    local p = producer({ START, text("Hel"), { type = "TOOL_CALL_START", toolCallId = "c" }, text("lo"), FINISH,
      START, text(", world"), FINISH })
    assert.equal("Hello, world", stream.new(p):text())
    assert.equal(1, p.closes)
    assert.equal("", stream.new(producer({ START, FINISH })):text())
  end)

  it("text(): a RUN_ERROR gives nil and the error value, and closes the producer without reading further", function()
    local err = errors.new({ message = "upstream broke", status = 502, code = "bad_gateway", kind = "http" })
    local p = producer({ START, text("partial"), { type = "RUN_ERROR", message = "upstream broke", error = err },
      text("never read"), FINISH })
    local out, e = stream.new(p):text()
    assert.is_nil(out)
    assert.is_true(errors.is_error(e))
    assert.equal(502, e.status)
    assert.equal("upstream broke", e.message)
    assert.equal(1, p.closes)
    assert.equal(3, p.nexts)
    -- a RUN_ERROR without an error table: its message and code become the error
    local _, e2 = stream.new(producer({ START, { type = "RUN_ERROR", message = "nope", code = "x_code" } })):text()
    assert.is_true(errors.is_error(e2))
    assert.equal("nope", e2.message)
    assert.equal("x_code", e2.code)
  end)

  it("collect(): every event in order, then the producer is closed", function()
    local p = producer({ START, text("a"), FINISH })
    local evs = stream.new(p):collect()
    assert.same({ START, text("a"), FINISH }, evs)
    assert.equal(1, p.closes)
  end)
end)
