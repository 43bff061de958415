-- Recorded Workers AI streams replayed through framing + translator, split at every byte offset:
-- the events must not depend on where the network cut the bytes.
local turn = require("tanstack.ai.turn")
local workers_ai = require("cloudflare.tanstack_ai.workers_ai.format")

local DIR = "spec/fixtures/workers_ai/"

local function read(name)
  local f = assert(io.open(DIR .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- events without the fields that are generated per run (timestamps, ids)
local function run(pieces)
  local i = 0
  local p = turn.new(function()
    return { status = 200, headers = { ["content-type"] = "text/event-stream" },
      read = function() i = i + 1 return pieces[i] end }
  end, { format = workers_ai, model = "m", runId = "r", threadId = "t" })
  local out, ids, n = {}, {}, 0
  local function stable(id)
    if id == nil then return nil end
    if not ids[id] then n = n + 1; ids[id] = "id" .. n end
    return ids[id]
  end
  while true do
    local ev = p.next()
    if not ev then break end
    ev.timestamp = nil
    ev.messageId = stable(ev.messageId)
    ev.toolCallId = stable(ev.toolCallId)
    ev.stepId = stable(ev.stepId)
    ev.parentMessageId = stable(ev.parentMessageId)
    out[#out + 1] = ev
  end
  return out
end

local function split_everywhere(name, check)
  local bytes = read(name)
  local whole = run({ bytes })
  check(whole)
  for cut = 1, #bytes - 1 do
    assert.same(whole, run({ bytes:sub(1, cut), bytes:sub(cut + 1) }), name .. " cut at " .. cut)
  end
  local singles = {}
  for k = 1, #bytes do singles[k] = bytes:sub(k, k) end
  assert.same(whole, run(singles), name .. " one byte at a time")
end

local function types(evs)
  local t = {}
  for i, e in ipairs(evs) do t[i] = e.type end
  return table.concat(t, " ")
end

describe("recorded Workers AI streams split at every byte", function()
  it("native text, CRLF events, a comment, a tool call and the usage trailer", function()
    split_everywhere("native_text_tools.sse", function(evs)
      assert.equal("RUN_STARTED TEXT_MESSAGE_START TEXT_MESSAGE_CONTENT TEXT_MESSAGE_CONTENT TEXT_MESSAGE_CONTENT " ..
        "TOOL_CALL_START TOOL_CALL_ARGS TOOL_CALL_END TEXT_MESSAGE_END RUN_FINISHED", types(evs))
      assert.equal("wörld é", evs[5].delta)
      assert.same({ city = "Lisbon" }, evs[8].input)
      assert.equal(14, evs[10].usage.totalTokens)
      assert.equal("tool_calls", evs[10].finishReason)
    end)
  end)

  it("OpenAI chunks: reasoning, args before the name, a repeated backend id, trailer usage", function()
    split_everywhere("openai_reasoning_tools.sse", function(evs)
      assert.equal("RUN_STARTED STEP_STARTED STEP_FINISHED TEXT_MESSAGE_START TEXT_MESSAGE_CONTENT " ..
        "TOOL_CALL_START TOOL_CALL_ARGS TOOL_CALL_ARGS TOOL_CALL_START TOOL_CALL_ARGS TOOL_CALL_END TOOL_CALL_END " ..
        "TEXT_MESSAGE_END RUN_FINISHED", types(evs))
      assert.equal("get_weather", evs[6].toolCallName)
      assert.equal('{"ci', evs[7].delta)
      assert.are_not.equal(evs[6].toolCallId, evs[9].toolCallId)
      assert.same({ city = "Paris" }, evs[11].input)
      assert.equal(29, evs[14].usage.totalTokens)
    end)
  end)

  it("a BOM and bare CR line ends are read; a truncated end (no [DONE], no finish reason) is cut short", function()
    split_everywhere("openai_truncated_bom_cr.sse", function(evs)
      -- the text that arrived is kept, then one RUN_ERROR says the answer was cut short (real streams get cut:
      -- a clean "stop" here would hide a lost tail)
      assert.equal("RUN_STARTED TEXT_MESSAGE_START TEXT_MESSAGE_CONTENT TEXT_MESSAGE_CONTENT RUN_ERROR", types(evs))
      assert.equal("ated", evs[4].delta)
      assert.equal("stream_cut_short", evs[5].code)
    end)
  end)

  it('finish_reason "error" on a chunk with text (OpenAI and native): that text, then RUN_ERROR; nothing after', function()
    for _, name in ipairs({ "openai_finish_error.sse", "native_finish_error.sse" }) do
      split_everywhere(name, function(evs)
        assert.equal("RUN_STARTED TEXT_MESSAGE_START TEXT_MESSAGE_CONTENT TEXT_MESSAGE_CONTENT TEXT_MESSAGE_CONTENT " ..
          "RUN_ERROR", types(evs), name)
        assert.equal(" wor", evs[5].delta)
        assert.equal("finish_reason_error", evs[6].code)
      end)
    end
  end)
end)
