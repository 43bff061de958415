-- tanstack.ai.wire.openai: the Chunks writer's state (tool indexes, the model named once, the end of a source
-- without RUN_FINISHED). Chunk shapes: spec/tanstack/ai/openai_compat_spec.lua; batches: coalesce_spec.lua.
local openai = require("tanstack.ai.wire.openai")
local json = require("tanstack.ai.json")

local function datas(list)
  local out = {}
  for _, s in ipairs(list) do
    for d in s:gmatch("data: ([^\n]+)\n\n") do out[#out + 1] = d end
  end
  return out
end

describe("wire.openai Chunks", function()
  it("indexes tool calls in the order they start; the model function is called once", function()
    local calls = 0
    local c = openai.chunks({
      { type = "TOOL_CALL_START", toolCallId = "a", toolCallName = "f" },
      { type = "TOOL_CALL_START", toolCallId = "b", toolCallName = "g" },
      { type = "TOOL_CALL_ARGS", toolCallId = "b", delta = "{}" },
      { type = "RUN_FINISHED", finishReason = "tool_calls" },
    }, { model = function() calls = calls + 1 return "m" end, id = "x", created = 1 })
    local out = {}
    for s in function() return c:iterate() end do out[#out + 1] = s end
    assert.same({ a = 0, b = 1 }, c.tool_index)
    assert.equals(1, calls)
    assert.equals("m", c.model)
    local d = datas(out)
    assert.equals("[DONE]", d[#d])
    local args = json.decode(d[4])
    assert.equals(1, args.choices[1].delta.tool_calls[1].index)
    assert.is_true(c.done)
  end)

  it("a source that ends without RUN_FINISHED still closes the answer", function()
    local c = openai.chunks({ { type = "TEXT_MESSAGE_CONTENT", delta = "hi" } }, { model = "m" })
    local pieces = {}
    for piece in function() return c:batches() end do pieces[#pieces + 1] = piece end
    local out = datas(pieces)
    assert.equals("assistant", json.decode(out[1]).choices[1].delta.role)
    assert.equals("hi", json.decode(out[2]).choices[1].delta.content)
    assert.equals("[DONE]", out[3])
    assert.equals(3, #out)
  end)

  it("a source that raises: one error chunk, and the source is canceled", function()
    local canceled = false
    local c = openai.chunks({ next = function() error("upstream gone") end, cancel = function() canceled = true end })
    local out = datas({ c:iterate() })
    assert.is_table(json.decode(out[1]).error)
    assert.is_nil(c:iterate())
    assert.is_true(canceled)
  end)

  it("status_of: the client's own 4xx, 504 for timeouts, else 502", function()
    assert.equals(404, openai.status_of(openai.error(404, "no", "x")))
    assert.equals(504, openai.status_of({ kind = "timeout" }))
    assert.equals(400, openai.status_of({ status = 422 }))
    assert.equals(502, openai.status_of({ status = 401 }))
    assert.equals(500, openai.status_of("text"))
  end)

  it("to_sse_response: the table outside nginx, SSE headers, the chunks as body", function()
    local real = rawget(_G, "ngx")
    rawset(_G, "ngx", nil)
    local res = openai.to_sse_response({ { type = "RUN_FINISHED" } }, { model = "m", headers = { ["X-Id"] = "1" } })
    rawset(_G, "ngx", real)
    assert.equals(200, res.status)
    assert.equals("text/event-stream", res.headers["Content-Type"])
    assert.equals("1", res.headers["x-id"])
    local all = {}
    for s in res.body do all[#all + 1] = s end
    assert.equals("data: [DONE]\n\n", all[#all])
    assert.is_function(res.cancel)
  end)
end)
