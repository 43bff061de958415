-- One ingress for both wires (tanstack.ai.edge.ingress): the AG-UI reader (chat_params_from_request_body) and the
-- OpenAI reader (openai_compat.parse_request) refuse the same hostile bodies, each in its protocol's words. Before
-- the edge was one layer the OpenAI reader had no nesting limit and took a marked [] for an object.
local json = require("tanstack.ai.json")
local wire = require("tanstack.ai.wire")
local compat = require("tanstack.ai.openai_compat")

local function agui(extra)
  local b = { threadId = "t", runId = "r", tools = json.array(), context = json.array(),
    messages = { { id = "u1", role = "user", content = "hi" } } }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

local function openai(extra)
  local b = { model = "m", messages = { { role = "user", content = "hi" } } }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

local function nest(n)
  return string.rep('{"a":', n) .. "1" .. string.rep("}", n)
end

describe("one ingress, two wires", function()
  it("a body over maxBodyBytes: 413 from both, before decoding", function()
    local pad = ("x"):rep(1048577)
    local _, e1 = wire.chat_params_from_request_body(json.encode(agui({ forwardedProps = { p = pad } })))
    local _, e2 = compat.parse_request(json.encode(openai({ user = pad })))
    assert.equals(413, e1.status)
    assert.equals(413, e2.status)
    assert.equals("request_too_large", e1.code)
    assert.equals("request_too_large", e2.code)
  end)

  it("nesting deeper than 64: refused by both (the text and a caller's table)", function()
    local deep = nest(80)
    local _, e1 = wire.chat_params_from_request_body('{"threadId":"t","runId":"r","messages":[],"tools":[],' ..
      '"context":[],"forwardedProps":' .. deep .. "}")
    local _, e2 = compat.parse_request('{"model":"m","messages":[{"role":"user","content":"hi"}],"x":' .. deep .. "}")
    assert.equals("maxDepth", e1.limit)
    assert.equals(400, e2.status)
    assert.equals("limit_exceeded", e2.code)
    local t = json.decode(deep)
    _, e2 = compat.parse_request(openai({ metadata = t }))
    assert.equals("limit_exceeded", e2.code)
  end)

  it("a top-level array is not a request for either", function()
    local _, e1 = wire.chat_params_from_request_body("[]")
    local _, e2 = compat.parse_request("[]")
    assert.equals(400, e1.status)
    assert.equals(400, e2.status)
  end)

  it("an array where an object belongs, or a mixed table: refused by both", function()
    local _, e1 = wire.chat_params_from_request_body(agui({ tools = { { name = "f", description = "d",
      parameters = json.array({}) } } }))
    local _, e2 = compat.parse_request(openai({ tools = { { type = "function",
      ["function"] = { name = "f", parameters = json.array({}) } } } }))
    assert.matches("parameters must be an object", e1.message)
    assert.matches("parameters must be an object", e2.message)
    _, e1 = wire.chat_params_from_request_body(agui({ messages = { { "x", id = "u1", role = "user", content = "hi" } } }))
    _, e2 = compat.parse_request(openai({ messages = { { "x", role = "user", content = "hi" } } }))
    assert.matches("must be an object", e1.message)
    assert.matches("must be an object", e2.message)
  end)

  it("a limit that is not a positive integer is a programmer error in both", function()
    assert.has_error(function() wire.chat_params_from_request_body("{}", { maxMessages = 0 }) end)
    assert.has_error(function() compat.parse_request("{}", { maxMessages = 0 }) end)
  end)
end)
