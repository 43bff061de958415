-- tanstack.ai.signing: a signed tool call id is "call_" <10 hex nonce> "_" <24 hex MAC>, the MAC being
-- HMAC-SHA256 (RFC 2104) of the canonical JSON of {v, thread, nonce, name, args} truncated to 96 bits, compared
-- in constant time. A MAC's properties: any changed byte of what it covers fails, another key fails, the same
-- inputs however serialized pass. (spec/security/tool_calls_spec.lua attacks it through ai.chat.)
local signing = require("tanstack.ai.signing")
local core = require("tanstack.ai.core")
local json = require("tanstack.ai.json")
local store = require("tanstack.ai.router.store")

local SECRET = "a-signing-secret-of-32-bytes-ok!"

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- flip one hex digit at position i of a string
local function flip(s, i)
  local c = s:sub(i, i)
  return s:sub(1, i - 1) .. (c == "0" and "1" or "0") .. s:sub(i + 1)
end

describe("signing", function()
  local s
  before_each(function() s = signing.new(SECRET) end)

  it("signs a 40-character id of the documented form", function()
    local id = s:sign("t1", "get_weather", { city = "Paris" })
    assert.equal(40, #id) -- the longest tool call id OpenAI accepts
    assert.matches("^call_%x%x%x%x%x%x%x%x%x%x_" .. string.rep("%x", 24) .. "$", id)
    assert.is_nil(id:find("%u")) -- lowercase hex
  end)

  it("is HMAC-SHA256 of the canonical JSON of {args, name, nonce, thread, v}, truncated to 96 bits", function()
    local id = s:sign("thread-7", "f", { b = { 2, 3 }, a = "x" })
    local nonce, mac = id:match("^call_(%x+)_(%x+)$")
    local msg = '{"args":{"a":"x","b":[2,3]},"name":"f","nonce":"' .. nonce .. '","thread":"thread-7","v":1}'
    assert.equal(hex(core.hmac_sha256(SECRET, msg)):sub(1, 24), mac)
    assert.equal(1, signing.VERSION)
  end)

  it("draws a fresh nonce per call: two signatures of the same call differ, both verify", function()
    local a = s:sign("t", "f", { x = 1 })
    local b = s:sign("t", "f", { x = 1 })
    assert.are_not.equal(a, b)
    assert.is_true(s:verify("t", a, "f", { x = 1 }))
    assert.is_true(s:verify("t", b, "f", { x = 1 }))
  end)

  it("verifies the same arguments however a client re-serialized them", function()
    local args = { a = 1, b = { 2, 3 }, c = { d = "e" } }
    local id = s:sign("t", "f", args)
    assert.is_true(s:verify("t", id, "f", json.decode('{ "c": {"d":"e"}, "b": [2, 3], "a": 1 }')))
    assert.is_true(s:verify("t", id, "f", json.decode('{"a":1.0,"b":[2,3],"c":{"d":"e"}}'))) -- 1.0 is 1 in JSON
    local empty = s:sign("t", "f", json.object())
    assert.is_true(s:verify("t", empty, "f", json.decode("{}")))
    assert.is_true(s:verify("t", empty, "f", {}))
  end)

  it("fails when one byte of the thread, the name or the arguments changed", function()
    local args = { city = "Paris", days = 3, tags = { "a", "b" } }
    local id = s:sign("thread-1", "get_weather", args)
    assert.is_true(s:verify("thread-1", id, "get_weather", args))
    assert.is_false(s:verify("thread-2", id, "get_weather", args))
    assert.is_false(s:verify("thread-1 ", id, "get_weather", args))
    assert.is_false(s:verify("", id, "get_weather", args))
    assert.is_false(s:verify("thread-1", id, "get_weatheR", args))
    assert.is_false(s:verify("thread-1", id, "get_weather", { city = "Pariz", days = 3, tags = { "a", "b" } }))
    assert.is_false(s:verify("thread-1", id, "get_weather", { city = "Paris", days = 4, tags = { "a", "b" } }))
    assert.is_false(s:verify("thread-1", id, "get_weather", { city = "Paris", days = "3", tags = { "a", "b" } }))
    assert.is_false(s:verify("thread-1", id, "get_weather", { city = "Paris", days = 3, tags = { "b", "a" } }))
    assert.is_false(s:verify("thread-1", id, "get_weather", { city = "Paris", days = 3 }))
    assert.is_false(s:verify("thread-1", id, "get_weather",
      { city = "Paris", days = 3, tags = { "a", "b" }, extra = true }))
  end)

  it("fails when one hex digit of the nonce or of the MAC changed, or the id was cut or extended", function()
    local args = { q = "x" }
    local id = s:sign("t", "f", args)
    for _, i in ipairs({ 6, 15, 17, 28, 40 }) do -- nonce first/last, MAC first/middle/last
      assert.is_false(s:verify("t", flip(id, i), "f", args), "digit " .. i)
    end
    assert.is_false(s:verify("t", id:sub(1, 39), "f", args))
    assert.is_false(s:verify("t", id .. "0", "f", args))
    assert.is_false(s:verify("t", id:upper():gsub("^CALL", "call"), "f", args))
    assert.is_false(s:verify("t", " " .. id, "f", args))
  end)

  it("fails under another secret", function()
    local id = s:sign("t", "f", { a = 1 })
    assert.is_false(signing.new("another-secret-of-32-bytes-long!"):verify("t", id, "f", { a = 1 }))
    assert.is_false(signing.new(SECRET .. "x"):verify("t", id, "f", { a = 1 }))
    assert.is_true(signing.new(SECRET):verify("t", id, "f", { a = 1 })) -- stateless: any signer of the secret
  end)
end)

describe("signing", function()
  local s
  before_each(function() s = signing.new(SECRET) end)

  it("treats a missing thread as the empty thread", function()
    local id = s:sign(nil, "f", { a = 1 })
    assert.is_true(s:verify("", id, "f", { a = 1 }))
    assert.is_true(s:verify(nil, s:sign("", "f", { a = 1 }), "f", { a = 1 }))
    assert.is_false(s:verify("t", id, "f", { a = 1 }))
  end)

  it("answers false, never raising, for ids and inputs it did not sign", function()
    local id = s:sign("t", "f", { a = 1 })
    for _, bad in ipairs({ "call_1", "", "call_" .. string.rep("0", 10) .. "_" .. string.rep("0", 24),
      "call_zzzzzzzzzz_" .. string.rep("0", 24) }) do
      assert.is_false(s:verify("t", bad, "f", { a = 1 }))
    end
    assert.is_false(s:verify("t", nil, "f", { a = 1 }))
    assert.is_false(s:verify("t", 42, "f", { a = 1 }))
    assert.is_false(s:verify("t", id, nil, { a = 1 }))
    assert.is_false(s:verify("t", id, "f", '{"a":1}')) -- the arguments decoded, not their text
    assert.is_false(s:verify("t", id, "f", { a = 0 / 0 })) -- not JSON: false, not an error
  end)

  it("compares the MAC with the C core's constant-time comparison, whose answer it returns", function()
    local args = { a = 1 }
    local id = s:sign("t", "f", args)
    local real = core.timing_safe_equal
    local seen = {}
    core.timing_safe_equal = function(a, b)
      seen[#seen + 1] = { a, b }
      return real(a, b)
    end
    local ok_good = s:verify("t", id, "f", args)
    local ok_bad = s:verify("t", flip(id, 40), "f", args)
    core.timing_safe_equal = function() return true end
    local forced = s:verify("t", flip(id, 40), "f", args)
    core.timing_safe_equal = real
    assert.is_true(ok_good)
    assert.is_false(ok_bad)
    assert.is_true(forced) -- the decision is the constant-time comparison's, not a Lua ==
    assert.equal(2, #seen)
    assert.equal(id:sub(-24), seen[1][1])
    assert.equal(id:sub(-24), seen[1][2])
    assert.equal(flip(id, 40):sub(-24), seen[2][2])
  end)

  it("refuses a secret shorter than 16 bytes or not a string, naming the option", function()
    for _, bad in ipairs({ "short", string.rep("x", 15), 12345678901234567890, {} }) do
      local ok, err = pcall(signing.new, bad)
      assert.is_false(ok)
      assert.matches("signingSecret must be a string of at least 16 bytes", err, 1, true)
    end
    assert.is_table(signing.new(string.rep("x", 16)))
    assert.equal(16, signing.MIN_SECRET_BYTES)
  end)

  it("never shows the secret in tostring", function()
    local signer = signing.new(SECRET)
    assert.is_nil(tostring(signer):find(SECRET, 1, true))
    assert.equal("tanstack.ai.signing.signer", tostring(signer))
  end)

  it("without a secret, one random secret serves the whole process", function()
    local a, b = signing.new(), signing.new()
    local id = a:sign("t", "f", { x = 1 })
    assert.is_true(b:verify("t", id, "f", { x = 1 }))
    assert.is_false(signing.new(SECRET):verify("t", id, "f", { x = 1 }))
  end)

  it("tells a call signed under another secret from a tampered one (the nonce's fingerprint)", function()
    local id = s:sign("t1", "get_weather", { city = "Paris" })
    assert.equals(s.fp, id:sub(6, 7))
    local other = signing.new("another-secret-of-32-bytes-long!")
    assert.same({ false, "secret" }, { other:verify("t1", id, "get_weather", { city = "Paris" }) })
    assert.same({ false, "tampered" }, { s:verify("t1", id, "get_weather", { city = "Rome" }) })
    assert.same({ false, "unsigned" }, { s:verify("t1", "call_abc", "get_weather", { city = "Paris" }) })
    assert.is_true(s:verify("t1", id, "get_weather", { city = "Paris" }))
  end)

  it("binds a call to the server-issued conversation when there is one", function()
    local id = s:sign("t1", "delete_file", { path = "a" }, "session-a")
    assert.is_true(s:verify("t1", id, "delete_file", { path = "a" }, "session-a"))
    assert.same({ false, "tampered" }, { s:verify("t1", id, "delete_file", { path = "a" }, "session-b") })
    assert.same({ false, "tampered" }, { s:verify("t1", id, "delete_file", { path = "a" }) })
    -- without a conversation the MAC is the one documented above (no conversation field)
    local plain = s:sign("t1", "delete_file", { path = "a" })
    assert.same({ false, "tampered" }, { s:verify("t1", plain, "delete_file", { path = "a" }, "session-a") })
  end)

  it("duplicate_keys: a key repeated inside one object (escapes decoded), not across objects", function()
    assert.is_true(signing.duplicate_keys([[{"path":"a","path":"b"}]]))
    assert.is_true(signing.duplicate_keys([[{"p\u0061th":"a","path":"b"}]]))
    assert.is_true(signing.duplicate_keys([[{"x":{"a":1,"a":2}}]]))
    assert.is_true(signing.duplicate_keys([=[[{"a":1},{"b":[1,{"c":1,"c":1}]}]]=]))
    assert.is_false(signing.duplicate_keys([[{"a":{"a":1},"b":[{"a":1},{"a":2}]}]]))
    assert.is_false(signing.duplicate_keys([[{"a":"a","b":"a,\"a\":1"}]]))
    assert.is_false(signing.duplicate_keys([[{"a":"{\"a\":1,\"a\":2}"}]]))
    assert.is_false(signing.duplicate_keys("{}"))
    assert.is_false(signing.duplicate_keys(nil))
  end)
end)

-- signing.ledger: the once-only ledger of server tool calls and the approvals the server issued, over any
-- state store (router/store.lua).

describe("signing.ledger", function()
  it("claims a call once; the second claim gets the recorded outcome (and whether it failed)", function()
    local l = signing.ledger({ store = store.memory() })
    assert.equals("run", l:claim("call_1"))
    assert.equals("busy", l:claim("call_1")) -- running, no outcome yet
    l:record("call_1", '{"ok":true}', false)
    assert.same({ "done", '{"ok":true}', false }, { l:claim("call_1") })
    assert.equals("run", l:claim("call_2"))
    l:record("call_2", '{"error":"x"}', true)
    assert.same({ "done", '{"error":"x"}', true }, { l:claim("call_2") })
  end)

  it("a result too large to keep is answered with a note", function()
    local l = signing.ledger({ store = store.memory() })
    l:claim("c")
    l:record("c", string.rep("x", signing.MAX_RECORDED + 1))
    local state, content, failed = l:claim("c")
    assert.equals("done", state)
    assert.matches("too large to keep", content)
    assert.is_true(failed)
  end)

  it("approvals: valid for the run that asked, until approvalTtl", function()
    local t = 1000
    local l = signing.ledger({ store = store.memory({ clock = function() return t end }), approvalTtl = 60 })
    assert.same({ false, "expired" }, { l:approval("c", "run-1") }) -- never issued
    l:issue("c", "run-1")
    assert.is_true(l:approval("c", "run-1"))
    assert.same({ false, "wrong_run" }, { l:approval("c", "run-2") })
    t = 1061
    assert.same({ false, "expired" }, { l:approval("c", "run-1") })
  end)

  it("a store that fails: nil, err (the caller fails closed for side effects)", function()
    local down = { add = function() return nil, "down" end, get = function() return nil, "down" end,
      set = function() return nil, "down" end }
    local l = signing.ledger({ store = down })
    assert.same({ nil, "down" }, { l:claim("c") })
    assert.same({ nil, "down" }, { l:approval("c", "r") })
  end)

  it("side effects: sideEffects = true, or needsApproval unless sideEffects = false", function()
    assert.is_true(signing.has_side_effects({ sideEffects = true }))
    assert.is_true(signing.has_side_effects({ needsApproval = true }))
    assert.is_false(signing.has_side_effects({ needsApproval = true, sideEffects = false }))
    assert.is_false(signing.has_side_effects({}))
  end)

  it("without a store: one bounded per-process store", function()
    assert.equals(signing.ledger().store, signing.ledger().store)
    assert.equals(signing.MAX_KEYS, signing.default_store().max)
  end)
end)
