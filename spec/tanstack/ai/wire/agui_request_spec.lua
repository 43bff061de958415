-- tanstack.ai.wire.agui_request: the RunAgentInput reader, step by step (the full validation matrix is
-- spec/tanstack/ai/wire_spec.lua's and spec/security/request_body_spec.lua's through tanstack.ai.wire).
local req = require("tanstack.ai.wire.agui_request")
local json = require("tanstack.ai.json")

local function body(extra)
  local b = { threadId = "t", runId = "r", messages = { { id = "1", role = "user", content = "hi" } }, tools = {},
    context = {} }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

describe("wire.agui_request", function()
  it("the checks run in order: body, ids, messages, tools, context, resume", function()
    local _, err = req.chat_params_from_request_body(body({ runId = 5, tools = "x" }))
    assert.matches("runId must be a string", err.message)
    _, err = req.chat_params_from_request_body(body({ tools = "x", context = "y" }))
    assert.matches("tools must be an array", err.message)
    _, err = req.chat_params_from_request_body(body({ context = "y", resume = "z" }))
    assert.matches("context must be an array", err.message)
    _, err = req.chat_params_from_request_body(body({ resume = "z" }))
    assert.matches("resume must be an array", err.message)
  end)

  it("a top-level array text and a marked array table are not a RunAgentInput", function()
    local _, err = req.chat_params_from_request_body("[]")
    assert.matches("body must be a JSON object", err.message)
    _, err = req.chat_params_from_request_body(json.array({}))
    assert.matches("body must be a JSON object", err.message)
  end)

  it("limits from REQUEST_LIMITS, overridable, validated", function()
    local _, err = req.chat_params_from_request_body(json.encode(body()), { maxBodyBytes = 10 })
    assert.equals(413, err.status)
    assert.equals("maxBodyBytes", err.limit)
    _, err = req.chat_params_from_request_body(body({ forwardedProps = { a = { b = { c = {} } } } }), { max_depth = 3 })
    assert.equals("maxDepth", err.limit)
    assert.has_error(function() req.chat_params_from_request_body(body(), { maxTools = 0 }) end)
    assert.equals(128, req.REQUEST_LIMITS.maxTools)
  end)

  it("without resume the params have none; with it, each answer", function()
    local p = assert(req.chat_params_from_request_body(body()))
    assert.is_nil(p.resume)
    p = assert(req.chat_params_from_request_body(body({ resume = { { interruptId = "i", status = "resolved" } } })))
    assert.same({ { interruptId = "i", status = "resolved" } }, p.resume)
  end)
end)
