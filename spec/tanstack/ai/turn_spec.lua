-- tanstack.ai.turn: one model turn. The Turn object (start, read, step, close) behind a tanstack.ai.queue producer.
local turn = require("tanstack.ai.turn")
local json = require("tanstack.ai.json")
local formats = require("tanstack.ai.formats")

local function sse(v) return "data: " .. (type(v) == "string" and v or json.encode(v)) .. "\n\n" end
local function chunk(d, finish)
  return sse({ id = "c1", object = "chat.completion.chunk", created = 1, model = "m",
    choices = { { index = 0, delta = d and { content = d } or {}, finish_reason = finish or json.null } } })
end

-- An SSE response whose reads hand out `reads` one by one; res.reads counts them, res.closed says it was closed.
local function stream(reads)
  local res = { status = 200, headers = { ["content-type"] = "text/event-stream" }, reads = 0, closed = false }
  function res.read()
    res.reads = res.reads + 1
    return reads[res.reads]
  end
  function res.close() res.closed = true end
  return res
end

local function ctx() return { format = formats.get("openai"), model = "m", runId = "r", threadId = "t" } end

describe("turn.new", function()
  it("opens nothing before the first event is asked for, then reads one piece per step", function()
    local opened = 0
    local res = stream({ chunk("a") .. chunk("b"), chunk(nil, "stop") .. sse("[DONE]") })
    local p = turn.new(function() opened = opened + 1 return res end, ctx())
    assert.equal(0, opened)
    assert.equal("RUN_STARTED", p.next().type)
    assert.equal(1, opened)
    assert.equal(0, res.reads)
    assert.equal("TEXT_MESSAGE_START", p.next().type)
    assert.equal(1, res.reads)
    -- the rest of that read is ready without another read
    assert.equal(2, p.pending())
    assert.equal("a", p.next().delta)
    assert.equal("b", p.next().delta)
    assert.equal(1, res.reads)
    local rest = {}
    for ev in p.next do rest[#rest + 1] = ev.type end
    assert.same({ "TEXT_MESSAGE_END", "RUN_FINISHED" }, rest)
    assert.is_true(res.closed)
  end)

  it("closes the response when closed early; next() then ends", function()
    local res = stream({ chunk("a"), chunk("b") })
    local p = turn.new(function() return res end, ctx())
    p.next()
    p.next()
    p.close()
    assert.is_true(res.closed)
    assert.is_nil(p.next())
    assert.equal(0, p.pending())
  end)

  it("decodes a whole JSON answer (the one reader) into the same events", function()
    local body = json.encode({ choices = { { index = 0, message = { role = "assistant", content = "whole" },
      finish_reason = "stop" } } })
    local p = turn.new(function() return { status = 200, headers = { ["content-type"] = "application/json" },
      body = body } end, ctx())
    local got = {}
    for ev in p.next do got[#got + 1] = ev end
    assert.equal("RUN_STARTED", got[1].type)
    assert.equal("whole", got[3].delta)
    assert.equal("RUN_FINISHED", got[#got].type)
  end)

  it("ends with RUN_ERROR (kind decode) on invalid JSON, and (network) when the request fails", function()
    local p = turn.new(function() return { status = 200, headers = { ["content-type"] = "application/json" },
      body = "{nope" } end, ctx())
    local evs = {}
    for ev in p.next do evs[#evs + 1] = ev end
    assert.equal("RUN_ERROR", evs[#evs].type)
    assert.equal("decode", evs[#evs].error.kind)
    p = turn.new(function() return nil, "refused" end, ctx())
    evs = {}
    for ev in p.next do evs[#evs + 1] = ev end
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, { evs[1].type, evs[2].type })
    assert.equal("network", evs[2].error.kind)
  end)

  it("keeps read_all for 0.2 callers: it is the one reader's", function()
    assert.equal(require("tanstack.ai.http").read_all, turn.read_all)
  end)
end)
