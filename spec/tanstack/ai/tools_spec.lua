-- tanstack.ai.tools: TanStack's toolDefinition (a definition, then :server(fn) or :client()) and the tools list
-- check (tables with unique names).
local tools = require("tanstack.ai.tools")

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return err
end

describe("tools.definition", function()
  it("keeps every field of the config and marks the side", function()
    local schema = { type = "object", properties = { city = { type = "string" } } }
    local d = tools.definition({ name = "get_weather", description = "the weather", inputSchema = schema,
      needsApproval = true, custom = 1 })
    assert.equal("get_weather", d.name)
    assert.equal("the weather", d.description)
    assert.equal(schema, d.inputSchema)
    assert.is_true(d.needsApproval)
    assert.equal(1, d.custom)
    assert.equal("definition", d.__toolSide)
    assert.is_nil(d.execute)
  end)

  it("server(fn) and client() make new tools and leave the definition as it was", function()
    local d = tools.definition({ name = "t", description = "d" })
    local fn = function(input) return input.x end
    local srv = d:server(fn)
    local cli = d:client()
    assert.equal("server", srv.__toolSide)
    assert.equal(fn, srv.execute)
    assert.equal("t", srv.name)
    assert.equal("client", cli.__toolSide)
    assert.is_nil(cli.execute)
    assert.equal("definition", d.__toolSide)
    assert.is_nil(d.execute)
    assert.are_not.equal(srv, d)
    assert.equal("server", srv:client():server(fn).__toolSide) -- a tool is still a definition
  end)

  it("takes names of 1 to 64 letters, digits, '_', '-', '.' or ':'", function()
    for _, ok in ipairs({ "a", "get_weather", "ns:tool-1.v2", string.rep("x", 64) }) do
      assert.equal(ok, tools.definition({ name = ok, description = "" }).name)
    end
    for _, bad in ipairs({ "", string.rep("x", 65), "has space", "slash/y", "q?", "é", "a\0b" }) do
      assert.matches("name must be 1%-64 characters", err_of(tools.definition, { name = bad, description = "" }))
    end
    assert.matches("name must be", err_of(tools.definition, { description = "" }))
    assert.matches("name must be", err_of(tools.definition, { name = 5, description = "" }))
  end)

  it("refuses a config that is not a table, a missing description and a schema that is not a table", function()
    assert.matches("tool_definition needs a table", err_of(tools.definition, "get_weather"))
    assert.matches("tool_definition 'x': description must be a string",
      err_of(tools.definition, { name = "x" }), 1, true)
    assert.matches("tool_definition 'x': inputSchema must be a JSON Schema table",
      err_of(tools.definition, { name = "x", description = "", inputSchema = "{}" }), 1, true)
  end)

  it("server() without a function names the tool", function()
    local d = tools.definition({ name = "x", description = "" })
    assert.matches("tool 'x': server(fn) needs a function", err_of(d.server, d, "not a function"), 1, true)
  end)

  it("reports a mistake at the caller's line", function()
    local err = err_of(function() tools.definition({ name = "bad name", description = "" }) end)
    assert.matches("tools_spec%.lua:%d+:", err)
  end)
end)

describe("tools.index", function()
  it("maps names to tools; nil gives an empty map", function()
    local a = tools.definition({ name = "a", description = "" })
    local b = tools.definition({ name = "b", description = "" }):client()
    assert.same({ a = a, b = b }, tools.index({ a, b }))
    assert.equal(a, tools.index({ a, b }).a)
    assert.same({}, tools.index(nil))
    assert.same({}, tools.index({}))
  end)

  it("refuses duplicate names, nameless entries and a list that is not a table", function()
    local a = tools.definition({ name = "a", description = "" })
    assert.matches("duplicate tool name 'a'", err_of(tools.index, { a, a:client() }), 1, true)
    assert.matches("tools[2] must be a tool with a name", err_of(tools.index, { a, { description = "" } }), 1, true)
    assert.matches("tools[1] must be a tool with a name", err_of(tools.index, { "a" }), 1, true)
    assert.matches("tools must be an array", err_of(tools.index, "a"))
  end)
end)
