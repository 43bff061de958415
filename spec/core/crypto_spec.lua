-- SHA-256, HMAC-SHA256 and the constant-time comparison of the C core (OpenSSL's libcrypto). Lua 5.1 syntax.
local core = require("tanstack.ai.core")

local function unhex(s)
  return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function bytes_from(first, last)
  local t = {}
  for i = first, last do t[#t + 1] = string.char(i) end
  return table.concat(t)
end

describe("core.hmac_sha256", function()
  -- RFC 4231, section 4 (HMAC-SHA-256 results); case 5 tests truncated output, which is the caller's business
  local vectors = {
    { name = "test case 1", key = string.rep("\11", 20), data = "Hi There",
      mac = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
    { name = "test case 2 (a key shorter than the output)", key = "Jefe", data = "what do ya want for nothing?",
      mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
    { name = "test case 3 (50 bytes 0xdd)", key = string.rep("\170", 20), data = string.rep("\221", 50),
      mac = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
    { name = "test case 4 (key 0x01..0x19)", key = bytes_from(1, 25), data = string.rep("\205", 50),
      mac = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
    { name = "test case 6 (a key larger than the block)", key = string.rep("\170", 131),
      data = "Test Using Larger Than Block-Size Key - Hash Key First",
      mac = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
    { name = "test case 7 (key and data larger than the block)", key = string.rep("\170", 131),
      data = "This is a test using a larger than block-size key and a larger than block-size data. The key needs "
        .. "to be hashed before being used by the HMAC algorithm.",
      mac = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
  }

  for _, v in ipairs(vectors) do
    it("gives RFC 4231 " .. v.name, function()
      local mac = core.hmac_sha256(v.key, v.data)
      assert.equal(32, #mac)
      assert.equal(v.mac, hex(mac))
      assert.equal(unhex(v.mac), mac)
    end)
  end

  it("keeps every byte of key and data (NUL included) and accepts empty ones", function()
    assert.equal("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", hex(core.hmac_sha256("", "")))
    assert.are_not.equal(core.hmac_sha256("k\0a", "d"), core.hmac_sha256("k\0b", "d"))
    assert.are_not.equal(core.hmac_sha256("k", "d\0a"), core.hmac_sha256("k", "d\0b"))
    local big = string.rep("x", 1024 * 1024 + 7)
    assert.equal(32, #core.hmac_sha256(big, big))
  end)

  it("raises unless both arguments are strings", function()
    assert.has_error(function() core.hmac_sha256("k") end)
    assert.has_error(function() core.hmac_sha256(nil, "d") end)
    assert.has_error(function() core.hmac_sha256(123, "d") end)
    assert.has_error(function() core.hmac_sha256("k", {}) end)
  end)
end)

describe("core.timing_safe_equal", function()
  it("is true for equal strings, binary and empty included", function()
    assert.is_true(core.timing_safe_equal("", ""))
    assert.is_true(core.timing_safe_equal("abc", "abc"))
    local all = bytes_from(0, 255)
    assert.is_true(core.timing_safe_equal(all, all .. ""))
    local mac = core.hmac_sha256("key", "data")
    assert.is_true(core.timing_safe_equal(mac, core.hmac_sha256("key", "data")))
  end)

  it("is false when any byte differs, wherever it is", function()
    local a = string.rep("a", 64)
    for i = 1, 64 do
      local b = a:sub(1, i - 1) .. "b" .. a:sub(i + 1)
      assert.is_false(core.timing_safe_equal(a, b), "differs at " .. i)
    end
    assert.is_false(core.timing_safe_equal("a\0b", "a\0c"))
  end)

  it("is false when the lengths differ, a prefix included", function()
    assert.is_false(core.timing_safe_equal("abc", "abcd"))
    assert.is_false(core.timing_safe_equal("abcd", "abc"))
    assert.is_false(core.timing_safe_equal("", "a"))
    assert.is_false(core.timing_safe_equal("a\0", "a"))
  end)

  it("returns a boolean and raises unless both arguments are strings", function()
    assert.equal("boolean", type(core.timing_safe_equal("a", "a")))
    assert.has_error(function() core.timing_safe_equal("a") end)
    assert.has_error(function() core.timing_safe_equal(nil, "a") end)
    assert.has_error(function() core.timing_safe_equal(1, 1) end)
  end)
end)

describe("core.sha256", function()
  it("matches the FIPS 180-2 vectors (appendix B)", function()
    assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex(core.sha256("abc")))
    assert.equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      hex(core.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
    assert.equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
      hex(core.sha256(string.rep("a", 1000000))))
  end)
  it("hashes the empty string and binary bytes", function()
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex(core.sha256("")))
    assert.equal(32, #core.sha256(bytes_from(0, 255)))
    assert.are_not.equal(core.sha256("a\0b"), core.sha256("a\0c"))
  end)
  it("raises unless the argument is a string", function()
    assert.has_error(function() core.sha256() end)
    assert.has_error(function() core.sha256(123) end)
  end)
end)
