-- tanstack.ai.wire.agui: the AG-UI writer's Encoder (iterate and batches over one source). The event -> chunk
-- mapping is spec/tanstack/ai/wire_spec.lua's (through the tanstack.ai.wire name); the byte equality of batches
-- and per-event writes is spec/tanstack/ai/coalesce_spec.lua's.
local agui = require("tanstack.ai.wire.agui")
local json = require("tanstack.ai.json")

local function ev(t, extra)
  local e = { type = t, timestamp = 1 }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

describe("wire.agui encoded", function()
  it("a source that raises ends with exactly one RUN_ERROR, and is canceled", function()
    local canceled = 0
    local n = 0
    local src = { next = function() n = n + 1 if n == 1 then return ev("RUN_STARTED") end error("boom") end,
      cancel = function() canceled = canceled + 1 end }
    local iterate = agui.encoded(src, agui.encode_ndjson, { logErrors = false })
    assert.equals("RUN_STARTED", json.decode(iterate()).type)
    local last = json.decode(iterate())
    assert.equals("RUN_ERROR", last.type)
    assert.is_nil(iterate())
    assert.equals(1, canceled)
  end)

  it("after the source's own RUN_ERROR a failure adds no second one", function()
    local list = { ev("RUN_ERROR", { message = "m" }) }
    local i = 0
    local src = function()
      i = i + 1
      if list[i] then return list[i] end
      error("late failure")
    end
    local iterate = agui.encoded(src, agui.encode_ndjson, { logErrors = false })
    assert.equals("RUN_ERROR", json.decode(iterate()).type)
    assert.is_nil(iterate())
  end)

  it("batches: every ready event in one piece; a non-event ends the piece with a RUN_ERROR", function()
    local evs = { ev("RUN_STARTED"), ev("TEXT_MESSAGE_CONTENT", { messageId = "m", delta = "a" }), 42 }
    local _, _, batches = agui.encoded(evs, agui.encode_ndjson, { logErrors = false })
    local piece = batches()
    local lines = {}
    for line in piece:gmatch("[^\n]+") do lines[#lines + 1] = json.decode(line) end
    assert.equals(3, #lines)
    assert.equals("RUN_ERROR", lines[3].type)
    assert.is_nil(batches())
  end)

  it("log_error: a function sink gets the line; false: nothing", function()
    local got
    agui.log_error({ logErrors = function(l) got = l end }, "detail")
    assert.matches("the error: detail$", got)
    got = nil
    agui.log_error({ logErrors = false }, "x")
    assert.is_nil(got)
  end)
end)
