-- tanstack.ai.wire.openai_request: OpenAI's request over the shared ingress. The stricter of the two wires'
-- checks now applies here too: nesting depth (maxDepth) and what counts as an object or an array.
local req = require("tanstack.ai.wire.openai_request")
local json = require("tanstack.ai.json")

local function body(extra)
  local b = { model = "m", messages = { { role = "user", content = "hi" } } }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

describe("wire.openai_request", function()
  it("a body nested deeper than maxDepth is a 400 (it had no depth limit)", function()
    local deep = {}
    local cur = deep
    for _ = 1, 70 do cur.x = {} cur = cur.x end
    local _, err = req.parse_request(body({ metadata = deep }))
    assert.equals(400, err.status)
    assert.equals("limit_exceeded", err.code)
    assert.truthy(req.parse_request(body({ metadata = deep }), { maxDepth = 100 }))
    assert.equals(64, req.LIMITS.maxDepth)
    local text = '{"model":"m","messages":[{"role":"user","content":"hi"}],"x":' .. string.rep("[", 70) ..
      string.rep("]", 70) .. "}"
    _, err = req.parse_request(text)
    assert.equals("limit_exceeded", err.code)
  end)

  it("an array where an object belongs is refused (it let a marked [] through)", function()
    local _, err = req.parse_request(body({ tools = { { type = "function",
      ["function"] = { name = "f", parameters = json.array({}) } } } }))
    assert.equals(400, err.status)
    assert.matches("parameters must be an object", err.message)
    _, err = req.parse_request(body({ response_format = json.array({}) }))
    assert.matches("response_format.type", err.message)
    _, err = req.parse_request(json.array({}))
    assert.matches("the body must be a JSON object", err.message)
  end)

  it("n is checked before the messages are converted; limits are validated", function()
    local _, err = req.parse_request(body({ n = 2, messages = { { role = "nobody" } } }))
    assert.equals("n", err.param)
    assert.has_error(function() req.parse_request(body(), { maxTools = -1 }) end)
    _, err = req.parse_request(json.encode(body()), { maxBodyBytes = 5 })
    assert.equals(413, err.status)
  end)

  it("settings: temperature, max_completion_tokens over max_tokens, response_format text dropped", function()
    local r = assert(req.parse_request(body({ temperature = 0.5, max_tokens = 9, max_completion_tokens = 7,
      response_format = { type = "text" }, top_p = 0.9 })))
    assert.equals(0.5, r.temperature)
    assert.equals(7, r.maxTokens)
    assert.same({ top_p = 0.9 }, r.modelOptions)
    assert.equals("text", r.responseFormat.type)
  end)
end)
