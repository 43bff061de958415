-- tanstack.ai.schema directly: a Lua JSON Schema cannot say whether `{}` is [] or {}; schema.lua marks the
-- keywords that are arrays and those that are maps, so the request bodies tanstack.ai.json encodes are valid
-- JSON Schema (an empty `required` as [], empty `properties` as {}).
local schema = require("tanstack.ai.schema")
local json = require("tanstack.ai.json")

local enc = json.encode

describe("schema.normalize", function()
  it("encodes an empty required as [] and empty properties as {}", function()
    assert.equals('{"properties":{},"required":[],"type":"object"}',
      enc(schema.normalize({ type = "object", properties = {}, required = {} })))
    -- the unmarked table encodes `required` as an object, which no JSON Schema validator accepts
    assert.equals('{"properties":{},"required":{},"type":"object"}',
      enc({ type = "object", properties = {}, required = {} }))
  end)

  it("marks every array keyword and every map keyword, however empty", function()
    local s = schema.normalize({ enum = {}, anyOf = {}, oneOf = {}, allOf = {}, prefixItems = {}, examples = {},
      ["$defs"] = {}, definitions = {}, patternProperties = {}, dependentSchemas = {} })
    assert.equals('{"$defs":{},"allOf":[],"anyOf":[],"definitions":{},"dependentSchemas":{},"enum":[],'
      .. '"examples":[],"oneOf":[],"patternProperties":{},"prefixItems":[]}', enc(s))
  end)

  it("walks nested schemas: properties, items, array members and $defs", function()
    local s = schema.normalize({
      type = "object",
      properties = {
        tags = { type = "array", items = { type = "string", enum = {} } },
        address = { type = "object", properties = {}, required = {} },
        pair = { type = "array", items = { { type = "object", properties = {} }, { type = "number" } } },
        either = { anyOf = { { type = "object", required = {} }, { type = "null" } } },
      },
      required = { "tags" },
      ["$defs"] = { empty = { type = "object", properties = {}, required = {} } },
    })
    assert.equals('{"$defs":{"empty":{"properties":{},"required":[],"type":"object"}},'
      .. '"properties":{"address":{"properties":{},"required":[],"type":"object"},'
      .. '"either":{"anyOf":[{"required":[],"type":"object"},{"type":"null"}]},'
      .. '"pair":{"items":[{"properties":{},"type":"object"},{"type":"number"}],"type":"array"},'
      .. '"tags":{"items":{"enum":[],"type":"string"},"type":"array"}},'
      .. '"required":["tags"],"type":"object"}', enc(s))
  end)

  it("keeps a list of types as an array", function()
    assert.equals('{"type":["string","null"]}', enc(schema.normalize({ type = { "string", "null" } })))
  end)

  it("a property named like a keyword is a property, not a keyword", function()
    -- properties.required is a schema (an object), not the `required` list
    assert.equals('{"properties":{"required":{"type":"boolean"}},"type":"object"}',
      enc(schema.normalize({ type = "object", properties = { required = { type = "boolean" } } })))
    -- the same in every map keyword: its entries are schemas, whatever they are called
    assert.equals('{"$defs":{"enum":{"required":[]}},"definitions":{"oneOf":{"required":[]}},'
      .. '"dependentSchemas":{"required":{"required":[]}},"patternProperties":{"anyOf":{"required":[]}}}',
      enc(schema.normalize({ ["$defs"] = { enum = { required = {} } }, definitions = { oneOf = { required = {} } },
        dependentSchemas = { required = { required = {} } }, patternProperties = { anyOf = { required = {} } } })))
  end)

  it("returns a copy and leaves the caller's tables untouched", function()
    local input = { type = "object", properties = { a = { type = { "string", "null" } } }, required = {} }
    local out = schema.normalize(input)
    assert.are_not.equals(input, out)
    assert.is_nil(getmetatable(input.required))
    assert.is_nil(getmetatable(input.properties))
    assert.is_nil(getmetatable(input.properties.a.type))
    assert.are_not.equals(input.properties.a.type, out.properties.a.type)
    assert.same({ type = "object", properties = { a = { type = { "string", "null" } } }, required = {} }, input)
  end)

  it("keeps scalar keywords as they are", function()
    local s = schema.normalize({ type = "string", minLength = 2, description = "d", default = "x",
      additionalProperties = false })
    assert.equals('{"additionalProperties":false,"default":"x","description":"d","minLength":2,"type":"string"}',
      enc(s))
  end)

  it("nil stays nil; anything else that is not a table raises", function()
    assert.is_nil(schema.normalize(nil))
    for _, bad in ipairs({ "object", 42, true }) do
      local ok, err = pcall(schema.normalize, bad)
      assert.is_false(ok)
      assert.equals("a JSON Schema must be a table", err)
    end
  end)
end)

describe("schema.tool_input", function()
  it("no schema: an empty object schema", function()
    assert.equals('{"properties":{},"required":[],"type":"object"}', enc(schema.tool_input(nil)))
  end)

  it("an object schema gets properties {} and required [] when it has none", function()
    assert.equals('{"properties":{},"required":[],"type":"object"}', enc(schema.tool_input({ type = "object" })))
    assert.equals('{"properties":{"city":{"type":"string"}},"required":[],"type":"object"}',
      enc(schema.tool_input({ type = "object", properties = { city = { type = "string" } } })))
  end)

  it("properties without a type imply an object", function()
    assert.equals('{"properties":{"n":{"type":"number"}},"required":["n"],"type":"object"}',
      enc(schema.tool_input({ properties = { n = { type = "number" } }, required = { "n" } })))
  end)

  it("a schema of another type is marked but gets no object defaults", function()
    assert.equals('{"enum":["a","b"],"type":"string"}',
      enc(schema.tool_input({ type = "string", enum = { "a", "b" } })))
    assert.equals('{"anyOf":[{"type":"string"},{"type":"null"}]}',
      enc(schema.tool_input({ anyOf = { { type = "string" }, { type = "null" } } })))
  end)
end)
