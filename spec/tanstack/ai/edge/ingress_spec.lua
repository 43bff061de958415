-- tanstack.ai.edge.ingress: the request limits, body reading and shape checks both wires share. The two wires
-- used to disagree on what an object and an array are (wire.lua vs openai_compat.lua); the strictest reading
-- of both is kept here, and each case below is one either wire let through before.
local ingress = require("tanstack.ai.edge.ingress")
local json = require("tanstack.ai.json")

describe("edge.ingress shapes", function()
  it("an array: a sequence 1..n, or empty unless marked as an object", function()
    assert.is_true(ingress.is_array({ 1, 2 }))
    assert.is_true(ingress.is_array({}))
    assert.is_true(ingress.is_array(json.array({})))
    assert.is_true(ingress.is_array({ json.null, 2 }))
    assert.is_false(ingress.is_array(json.object()))          -- {} the caller marked as an object
    assert.is_false(ingress.is_array({ 1, 2, x = 3 }))         -- openai_compat's check said yes
    assert.is_false(ingress.is_array({ [1] = 1, [3] = 3 }))    -- sparse
    assert.is_false(ingress.is_array({ a = 1 }))
    assert.is_false(ingress.is_array("[]"))
  end)

  it("an object: string keys, or empty unless marked as an array", function()
    assert.is_true(ingress.is_object({ a = 1 }))
    assert.is_true(ingress.is_object({}))
    assert.is_true(ingress.is_object(json.object()))
    assert.is_false(ingress.is_object(json.array({})))   -- [] marked as an array: openai_compat's check said yes
    assert.is_false(ingress.is_object({ 1, 2 }))
    assert.is_false(ingress.is_object({ "x", role = "user" })) -- wire.lua's check said yes
    assert.is_false(ingress.is_object({ [2] = "x" }))          -- wire.lua's check said yes (a sparse array)
    assert.is_false(ingress.is_object(5))
  end)
end)

describe("edge.ingress.limits", function()
  local D = { maxA = 10, maxB = 20 }
  it("defaults, overridden in either spelling", function()
    assert.same({ maxA = 10, maxB = 20 }, ingress.limits(D, nil, nil, "f"))
    assert.same({ maxA = 3, maxB = 4 }, ingress.limits(D, { maxA = 3, max_b = 4 }, { maxB = "max_b" }, "f"))
  end)
  it("raises on a limit that is not a positive integer, naming it", function()
    for _, bad in ipairs({ 0, -1, 1.5, 0 / 0, "5" }) do
      assert.has_error(function() ingress.limits(D, { maxA = bad }, nil, "f") end)
    end
    local ok, err = pcall(ingress.limits, D, { maxB = 0 }, nil, "myfn")
    assert.is_false(ok)
    assert.matches("myfn: opts.maxB must be a positive integer", err)
  end)
end)

describe("edge.ingress.decode", function()
  local L = { maxBodyBytes = 100, maxDepth = 3 }
  it("decodes text and passes tables through", function()
    assert.same({ a = 1 }, ingress.decode('{"a":1}', L))
    local t = { b = 2 }
    assert.equals(t, ingress.decode(t, L))
    assert.equals(5, ingress.decode("5", L)) -- any JSON value: the wire says it must be an object
  end)
  it("names what is wrong: size, json, array, depth, values", function()
    assert.same({ nil, "size", 101 }, { ingress.decode(string.rep(" ", 101), L) })
    local _, reason, detail = ingress.decode("{nope", L)
    assert.equals("json", reason)
    assert.is_string(detail)
    assert.same({ nil, "array" }, { ingress.decode(" [1]", L) })
    assert.same({ nil, "depth" }, { ingress.decode('{"a":{"b":{"c":{}}}}', L) })
    assert.equals(ingress.decode('{"a":{"b":{"c":1}}}', L).a.b.c, 1)
    local shared = {}
    local wide = {}
    for i = 1, 200 do wide[i] = shared end
    assert.same({ nil, "values" }, { ingress.decode({ w = wide }, L) })
  end)

  it("request_id: a client's id when it is safe, else nginx's, else a random one", function()
    assert.equals("abc-123_x.y:z", ingress.request_id("abc-123_x.y:z"))
    assert.equals("0123abcd", ingress.request_id("bad id\r\nx: y", "0123abcd"))
    assert.equals("0123abcd", ingress.request_id(string.rep("a", 129), "0123abcd"))
    local id = ingress.request_id(nil)
    assert.truthy(id:match("^%x+$") and #id == 32)
    assert.are_not.equal(id, ingress.request_id(""))
  end)
end)
