-- tanstack.ai.formats: the wire-format interface (build_request, decode_event, decode_body, structured) and the
-- lookup of a format by name.
local formats = require("tanstack.ai.formats")

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return err
end

local function complete(name)
  local noop = function() end
  return { name = name, build_request = noop, decode_event = noop, decode_body = noop, structured = noop }
end

describe("formats", function()
  it("get: the built-in formats by name, each implementing the interface", function()
    for _, name in ipairs({ "openai", "anthropic", "gemini" }) do
      local f = formats.get(name)
      assert.equal(require("tanstack.ai.formats." .. name), f)
      assert.equal(name, f.name)
      for _, fn in ipairs({ "build_request", "decode_event", "decode_body", "structured" }) do
        assert.is_function(f[fn], name .. "." .. fn)
      end
    end
  end)

  it("the optional parts, where a format has them, have the documented types", function()
    for _, name in ipairs({ "openai", "anthropic", "gemini" }) do
      local f = formats.get(name)
      if f.new_state ~= nil then assert.is_function(f.new_state) end
      if f.finish ~= nil then assert.is_function(f.finish) end
      if f.pick ~= nil then assert.is_function(f.pick) end
      if f.done_marker ~= nil then assert.is_string(f.done_marker) end
    end
    assert.equal("[DONE]", formats.get("openai").done_marker)
  end)

  it("get: an unknown name raises", function()
    assert.has_error(function() formats.get("no_such_format") end)
  end)

  it("check: returns a complete format as is", function()
    local f = complete("mine")
    assert.equal(f, formats.check(f))
  end)

  it("check: names the format and the first missing function", function()
    for _, missing in ipairs({ "build_request", "decode_event", "decode_body", "structured" }) do
      local f = complete("mine")
      f[missing] = nil
      assert.matches("wire format 'mine' has no " .. missing .. " function", err_of(formats.check, f), 1, true)
      f[missing] = "not a function"
      assert.matches("has no " .. missing .. " function", err_of(formats.check, f), 1, true)
    end
    local nameless = complete(nil)
    nameless.structured = nil
    assert.matches("wire format 'nil' has no structured function", err_of(formats.check, nameless), 1, true)
  end)

  it("check: refuses what is not a table, naming its type, at the caller's line", function()
    local err = err_of(function() formats.check("openai") end)
    assert.matches("a wire format must be a table, got string", err, 1, true)
    assert.matches("init_spec%.lua:%d+:", err)
  end)
end)
