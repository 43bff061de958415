-- tanstack.ai.structured directly: the one parser every wire format's structured-output reader ends in.
-- It returns data plus the raw JSON text, or nil plus an error value (never raises on model output).
local structured = require("tanstack.ai.structured")
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")

describe("structured.parse", function()
  it("decodes JSON text and returns the text it read as the raw form", function()
    local text = '{"name":"Ada","tags":["x"],"age":36}'
    local data, raw = structured.parse(text, "p")
    assert.same({ name = "Ada", tags = { "x" }, age = 36 }, data)
    assert.equals(text, raw)
  end)

  it("an already decoded table is returned as is, with its JSON encoding as the raw form", function()
    local t = { b = 1, a = { true } }
    local data, raw = structured.parse(t, "p")
    assert.equals(t, data)
    assert.equals('{"a":[true],"b":1}', raw)
  end)

  it("no content (nil or JSON null) is a provider error naming what was asked for", function()
    local function check(content)
      local data, err = structured.parse(content, "acme")
      assert.is_nil(data)
      assert.is_true(errors.is_error(err))
      assert.same({ "structured output returned no content", "provider", "acme", false },
        { err.message, err.kind, err.provider, err.retryable })
    end
    check(nil)
    check(json.null)
    local _, err = structured.parse(nil, "acme", "Gemini structured output")
    assert.equals("Gemini structured output returned no content", err.message)
  end)

  it("text that is not JSON is a decode error carrying the decoder's message", function()
    local data, err = structured.parse("Sure! Here is the JSON: {", "acme")
    assert.is_nil(data)
    assert.is_true(errors.is_error(err))
    assert.equals("decode", err.kind)
    assert.equals("acme", err.provider)
    assert.is_false(err.retryable)
    local _, derr = json.decode("Sure! Here is the JSON: {")
    assert.equals("structured output is not a JSON object: " .. derr, err.message)
  end)

  it("JSON that is not an object or array (a string, a number) is refused with the text itself", function()
    local data, err = structured.parse('"just text"', "acme", "summary")
    assert.is_nil(data)
    assert.equals('summary is not a JSON object: "just text"', err.message)
    assert.equals("decode", err.kind)
    local _, err2 = structured.parse("42", "acme")
    assert.equals("structured output is not a JSON object: 42", err2.message)
  end)

  it("content of another type (a number from a binding) is refused, not raised on", function()
    local data, err = structured.parse(7, "acme")
    assert.is_nil(data)
    assert.equals("structured output is not a JSON object: 7", err.message)
    assert.equals("decode", err.kind)
  end)
end)
