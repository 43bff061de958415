-- tanstack.ai.json: JSON text per RFC 8259 (the grammar of section 2-7, UTF-8 of section 8.1), with the library's
-- own promises on top: [] and {} told apart by markers, sorted keys, numbers that round-trip, integers as integers.
-- (spec/tanstack/ai/json_errors_spec.lua holds the first assertions on this module, beside the errors ones.)
local json = require("tanstack.ai.json")

local has_integers = math.type ~= nil

local function nested(depth, open, close)
  return string.rep(open, depth) .. string.rep(close, depth)
end

describe("json.decode", function()
  -- Found while writing this spec; lua-cjson 2.1.0 reads more than RFC 8259's grammar allows.
  it("reads every value RFC 8259 section 3 allows at the top level, not only objects and arrays", function()
    assert.equal(1, json.decode("1"))
    assert.equal("x", json.decode('"x"'))
    assert.is_true(json.decode("true"))
    assert.is_false(json.decode("false"))
    assert.equal(json.null, json.decode("null"))
    assert.same({}, json.decode("[]"))
  end)

  it("keeps null as json.null, distinct from a missing key", function()
    local v = json.decode('{"a":null,"b":[null,1]}')
    assert.equal(json.null, v.a)
    assert.equal(json.null, v.b[1])
    assert.equal(1, v.b[2])
    assert.is_nil(v.c)
  end)

  it("skips the four whitespace characters of section 2, and nothing else", function()
    assert.same({ 1, 2 }, json.decode(" \t\n\r[ 1 ,\t2\r\n] \n"))
    for _, bad in ipairs({ "\f1", "\v1", "\0001", "\239\187\1911" --[[ a BOM ]] }) do
      local v, err = json.decode(bad)
      assert.is_nil(v, string.format("%q", bad))
      assert.is_string(err)
    end
  end)

  it("decodes string escapes (section 7), surrogate pairs included, into UTF-8", function()
    assert.equal('"\\/\b\f\n\r\t', json.decode('"\\"\\\\\\/\\b\\f\\n\\r\\t"'))
    assert.equal("A\0B", json.decode('"\\u0041\\u0000B"'))
    assert.equal("\195\169", json.decode('"\\u00e9"'))
    assert.equal("\226\130\172", json.decode('"\\u20AC"'))
    assert.equal("\240\159\152\128", json.decode('"\\ud83d\\ude00"')) -- U+1F600 from its UTF-16 pair
  end)

  it("returns nil and a message for text that is not JSON, never raising", function()
    for _, bad in ipairs({ "", " ", "{bad", "[1,]", '{"a":1,}', "{'a':1}", '{"a" 1}', "[1 2]", "tru", "nul",
      ".5", "-", "--1", "1.0e+", '"\\x41"', '"unterminated', "1 x", "true false", "[1]]", "//c\n1", "/*c*/1",
      '{"a":1}{}', '"\\ud800"' }) do
      local ok, v, err = pcall(json.decode, bad)
      assert.is_true(ok, string.format("%q raised", bad))
      assert.is_nil(v, string.format("%q decoded", bad))
      assert.is_string(err, string.format("%q", bad))
    end
  end)

  it("refuses a value that is not a string with a message naming its type", function()
    for _, x in ipairs({ 1, true, {} }) do
      local v, err = json.decode(x)
      assert.is_nil(v)
      assert.equal("expected a JSON string, got " .. type(x), err)
    end
    local v, err = json.decode(nil)
    assert.is_nil(v)
    assert.equal("expected a JSON string, got nil", err)
  end)

  it("reads the number grammar of section 6: sign, fraction and exponent in either case", function()
    assert.equal(-12, json.decode("-12"))
    assert.equal(0.5, json.decode("0.5"))
    assert.equal(100, json.decode("1E2"))
    assert.equal(100, json.decode("1e+2"))
    assert.equal(0.01, json.decode("1e-2"))
    assert.equal(-0.25, json.decode("-2.5e-1"))
  end)
end)

describe("json.decode", function()
  -- Found while writing this spec; lua-cjson 2.1.0 reads more than RFC 8259's grammar allows.
  it("gives integral numbers as Lua integers where the VM has them, others as floats", function()
    if not has_integers then return end
    local v = json.decode('{"n":42,"e":1e2,"f":1.5,"big":1e300,"list":[3,{"deep":7}]}')
    assert.equal("integer", math.type(v.n))
    assert.equal("integer", math.type(v.e))
    assert.equal("float", math.type(v.f))
    assert.equal("float", math.type(v.big))
    assert.equal("integer", math.type(v.list[1]))
    assert.equal("integer", math.type(v.list[2].deep))
    local deep = json.decode(string.rep("[", 50) .. "7" .. string.rep("]", 50))
    for _ = 1, 50 do deep = deep[1] end
    assert.equal("integer", math.type(deep))
    assert.equal("integer", math.type(json.decode("42")))
    assert.equal("float", math.type(json.decode("4.25")))
  end)

  it("stops at a nesting depth of 1000 with nil, err instead of exhausting the C stack", function()
    assert.is_table(json.decode(nested(1000, "[", "]")))
    local v, err = json.decode(nested(1001, "[", "]"))
    assert.is_nil(v)
    assert.matches("nested", err)
    local ok, v2 = pcall(json.decode, string.rep('{"a":', 100000) .. "1" .. string.rep("}", 100000))
    assert.is_true(ok)
    assert.is_nil(v2)
  end)

  it("decode_fast raises on what decode answers nil, err for", function()
    assert.same({ a = 1 }, json.decode_fast('{"a":1}'))
    assert.has_error(function() json.decode_fast("{bad") end)
  end)

  it("refuses numbers outside the grammar of section 6 (NaN, Infinity, hex, leading zeros, '+', '1.')", function()
    for _, bad in ipairs({ "NaN", "nan", "Infinity", "-inf", "0x10", "01", "+1", "1.", "-.5", ".5", "1.e5", "0.",
      "-01", "1e", "1e+", "-", '{"a":[1,2.]}', '{"state":{"x":NaN}}', "[-Infinity]" }) do
      local v, err = json.decode(bad)
      assert.is_nil(v, bad)
      assert.is_string(err, bad)
      assert.matches("at character %d+$", err)
    end
    assert.equal("invalid number at character 3", select(2, json.decode("1.")))
    assert.equal("invalid number at character 11", select(2, json.decode('{"a":[1,2.]}')))
    -- every form the grammar does allow still reads
    for text, x in pairs({ ["0"] = 0, ["-0"] = 0, ["0.5"] = 0.5, ["-1.25e+2"] = -125, ["1E3"] = 1000, ["10"] = 10,
      ["2e-3"] = 0.002, ["1e308"] = 1e308, ["1.7976931348623157e308"] = 1.7976931348623157e308, ["1e-400"] = 0 }) do
      assert.equal(x, json.decode(text), text)
    end
  end)

  it("refuses a number beyond the double range (section 6 lets an implementation limit it): it would be inf",
    function()
      for _, bad in ipairs({ "1e400", "-1e400", "1.8e308", "[0, 2E+999]", string.rep("9", 400) }) do
        local v, err = json.decode(bad)
        assert.is_nil(v, bad)
        assert.matches("^number out of range at character %d+$", err)
      end
    end)

  it("refuses an unescaped control character inside a string (section 7: U+0000 to U+001F MUST be escaped)",
    function()
      for _, bad in ipairs({ '"a\tb"', '"\1"', '"line\nbreak"', '["ok","\31"]', '{"a\rb":1}' }) do
        local v, err = json.decode(bad)
        assert.is_nil(v, string.format("%q", bad))
        assert.matches("^unescaped control character in a string at character %d+$", err)
      end
      local v, err = json.decode('{"k":"\0"}') -- cjson's own refusal
      assert.is_nil(v)
      assert.is_string(err)
      assert.equal("unescaped control character in a string at character 3", select(2, json.decode('"a\tb"')))
      -- escaped, and as whitespace between tokens (section 2), they are fine
      assert.equal("a\tb\n", json.decode('"a\\tb\\n"'))
      assert.same({ a = { 1, 2 } }, json.decode('{\n\t"a" :\r\n [1,\n 2]\n}\n'))
    end)

  it("decode_fast (upstream stream events) refuses what cjson can without a second pass: NaN, Infinity, hex",
    function()
      for _, bad in ipairs({ "NaN", '{"x":Infinity}', "[-inf]", "0x10", "01" }) do
        assert.has_error(function() json.decode_fast(bad) end, nil, bad)
      end
    end)

  it("the edge: a posted AG-UI body with NaN or 1e400 in its state is a bad_request, not a crash in json.encode",
    function()
      local ai = require("tanstack.ai")
      local good = '{"threadId":"t","runId":"r","messages":[{"id":"1","role":"user","content":"hi"}],"tools":[],' ..
        '"context":[],"forwardedProps":{},"state":{"x":1}}'
      assert.is_table(ai.chat_params_from_request_body(good))
      for _, v in ipairs({ "NaN", "Infinity", "1e400", "01" }) do
        local params, err = ai.chat_params_from_request_body((good:gsub('"x":1', '"x":' .. v)))
        assert.is_nil(params, v)
        assert.equal("bad_request", err.kind)
      end
    end)
end)

describe("json.encode", function()
  it("escapes what section 7 requires in strings, and the result decodes to the same bytes", function()
    assert.equal('"a\\"b\\\\c"', json.encode('a"b\\c'))
    for b = 0, 31 do
      local s = json.encode(string.char(b))
      assert.is_nil(s:find("%c"), "raw control character " .. b)
      assert.equal(string.char(b), json.decode(s))
    end
    local all = {}
    for b = 0, 127 do all[#all + 1] = string.char(b) end
    all = table.concat(all) .. "\195\169\226\130\172\240\159\152\128"
    assert.equal(all, json.decode(json.encode(all)))
    assert.equal(json.encode("x"), json.encode_string("x"))
  end)

  it("writes integers without a fraction and floats with the digits that read back the same number", function()
    assert.equal("[0,-5,123456789012,9007199254740992,-9007199254740992]",
      json.encode({ 0, -5, 123456789012, 2 ^ 53, -2 ^ 53 }))
    assert.equal("1.5", json.encode(1.5))
    assert.equal("0.1", json.encode(0.1))
    for _, x in ipairs({ 0.1, 1 / 3, 2 / 3, 1e-7, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, 2 ^ 63, 0.1 + 0.2 }) do
      local s = json.encode(x)
      assert.matches("^%-?%d+%.?%d*[eE]?[-+]?%d*$", s) -- section 6's grammar, no "inf" or "nan"
      assert.equal(x, json.decode(s), s)
    end
  end)

  it("refuses NaN and the infinities (section 6: not permitted), as an error naming the value", function()
    for _, x in ipairs({ 0 / 0, 1 / 0, -1 / 0 }) do
      local ok, err = pcall(json.encode, { n = x })
      assert.is_false(ok)
      assert.matches("^cannot encode .* as JSON$", err)
    end
    local v, err = json.try_encode({ 1 / 0 })
    assert.is_nil(v)
    assert.equal("cannot encode inf as JSON", err)
  end)

  it("sorts object keys bytewise, so equal tables give equal bytes", function()
    assert.equal('{"1":3,"B":1,"_":4,"a":2}', json.encode({ a = 2, B = 1, ["1"] = 3, _ = 4 }))
    local a, b = {}, {}
    for i = 1, 50 do a["k" .. i] = i end
    for i = 50, 1, -1 do b["k" .. i] = i end
    assert.equal(json.encode(a), json.encode(b))
  end)

  it("writes a table with holes or other keys as an object with string keys", function()
    assert.equal('{"1":"a","3":"b"}', json.encode({ [1] = "a", [3] = "b" }))
    assert.equal('{"1":1,"x":2}', json.encode({ 1, x = 2 }))
    assert.equal('{"1.5":true}', json.encode({ [1.5] = true }))
  end)

  it("tells [] from {} with markers, whatever the table holds", function()
    assert.equal("{}", json.encode({}))
    assert.equal("[]", json.encode(json.array()))
    assert.equal("{}", json.encode(json.object()))
    assert.equal('{"1":1,"2":2}', json.encode(json.object({ 1, 2 })))
    assert.equal("[1,2]", json.encode(json.array({ 1, 2 })))
    assert.equal("[null,1,null]", json.encode({ json.null, 1, json.null }))
  end)

  it("leaves out object members whose value is a function or a thread, but refuses one in an array", function()
    assert.equal('{"b":1}', json.encode({ a = print, b = 1, c = coroutine.create(print) }))
    local ok, err = pcall(json.encode, { 1, print })
    assert.is_false(ok)
    assert.equal("cannot encode a function as JSON", err)
  end)
end)

describe("json.encode", function()
  it("refuses a key that is neither a string nor a number, and a cycle, with a message", function()
    local ok, err = pcall(json.encode, { [true] = 1 })
    assert.is_false(ok)
    assert.equal("cannot encode JSON: object key of type boolean", err)
    local t = {}
    t.self = t
    local v, cerr = json.try_encode(t)
    assert.is_nil(v)
    assert.matches("nesting too deep", cerr)
  end)

  it("round-trips nested values exactly (empty arrays aside: decoding cannot mark them, see the header)", function()
    local v = { name = "x", list = json.array({ 1, 2.5, "three", false, json.null, json.object(), { "" } }),
      nested = { deep = { deeper = { 1 } } } }
    assert.equal(json.encode(v), json.encode(json.decode(json.encode(v))))
  end)

  it("writes only UTF-8 text (section 8.1: JSON text MUST be UTF-8)", function()
    local s = json.encode("\255")
    assert.is_truthy(s == '"\\u00ff"' or s == '"\239\191\189"' or s == nil)
    assert.equal('"\239\191\189"', s)
  end)

  it("writes each maximal ill-formed subsequence as one U+FFFD (Unicode 15 section 3.9, as browsers decode)",
    function()
      local R = "\239\191\189"
      local cases = {
        { "a\128b", "a" .. R .. "b" },                   -- a lone continuation byte
        { "\195", R }, { "\195a", R .. "a" },             -- a sequence cut short (a delta split in a character)
        { "\226\130", R }, { "\240\159\152x", R .. "x" }, -- cut short after 2 and 3 of its bytes: one U+FFFD
        { "\192\175", R .. R }, { "\224\128\128", R .. R .. R }, -- overlong forms
        { "\237\160\128", R .. R .. R },                  -- a UTF-16 surrogate (U+D800)
        { "\244\144\128\128", R .. R .. R .. R },          -- above U+10FFFF
        { "\245\255", R .. R },
        { "ok \195\169\226\130\172\240\159\152\128 \244\143\191\191", "ok \195\169\226\130\172\240\159\152\128 \244\143\191\191" },
      }
      for _, c in ipairs(cases) do
        local s = json.encode(c[1])
        assert.equal('"' .. c[2] .. '"', s, string.format("%q", c[1]))
        assert.equal(c[2], json.decode(s))
        assert.equal(s, json.encode_string(c[1]))
      end
      -- keys too; the result is always text a strict reader takes
      assert.equal('{"k' .. R .. '":"v' .. R .. '"}', json.encode({ ["k\255"] = "v\128" }))
      if utf8 then
        for _ = 1, 3000 do -- random bytes, leaning to the lead and continuation bytes of UTF-8
          local b = {}
          for i = 1, math.random(0, 12) do
            b[i] = string.char(math.random(2) == 1 and math.random(0x80, 0xF5) or math.random(0, 255))
          end
          local s = json.encode(table.concat(b))
          assert.is_number(utf8.len(s), string.format("%q", s))
          assert.is_string(json.decode(s))
        end
      end
    end)

  it("escapes strings byte for byte as lua-cjson does (the bytes recorded requests and caches compare)", function()
    local cjson = require("cjson")
    for b = 0, 127 do
      assert.equal(cjson.encode(string.char(b)), json.encode_string(string.char(b)), b)
    end
    local text = "Hello, \"world\" / back\\slash\ttab\n \195\169t\195\169 \226\130\172 \240\159\152\128\127"
    assert.equal(cjson.encode(text), json.encode_string(text))
    assert.equal(cjson.encode(string.rep(text, 500)), json.encode_string(string.rep(text, 500)))
    assert.equal('""', json.encode_string(""))
  end)
end)

describe("json helpers", function()
  it("is_array: a sequence without other keys, or a marked table", function()
    assert.is_true(json.is_array({ 1, 2, 3 }))
    assert.is_false(json.is_array({}))
    assert.is_true(json.is_array(json.array()))
    assert.is_false(json.is_array(json.object({ 1 })))
    assert.is_false(json.is_array({ 1, 2, x = 3 }))
    assert.is_false(json.is_array({ [2] = 1 }))
    assert.is_false(json.is_array("[]"))
  end)

  it("copy is deep, independent and keeps the markers", function()
    local src = { a = json.array(), b = { c = { 1 } }, o = json.object() }
    local c = json.copy(src)
    c.b.c[1] = 2
    assert.equal(1, src.b.c[1])
    assert.equal("[]", json.encode(c.a))
    assert.equal("{}", json.encode(c.o))
    assert.equal(5, json.copy(5))
  end)

  it("int gives an integral float as an integer where the VM has them and leaves the rest", function()
    if has_integers then
      assert.equal("integer", math.type(json.int(3.0)))
    end
    assert.equal(3, json.int(3.0))
    assert.equal(1.5, json.int(1.5))
    assert.equal("3", json.int("3"))
    assert.is_nil(json.int(nil))
  end)
end)
