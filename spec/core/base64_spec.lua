-- base64 and random helpers of the C core. Lua 5.1 syntax.
local core = require("tanstack.ai.core")

local function all_bytes()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end

local function random_string(n)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

describe("core.base64_encode / base64_decode", function()
  local vectors = {
    { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
  }

  it("matches the RFC 4648 test vectors", function()
    for _, v in ipairs(vectors) do
      assert.equal(v[2], core.base64_encode(v[1]))
      assert.equal(v[1], core.base64_decode(v[2]))
    end
  end)

  it("round-trips all 256 byte values at every length", function()
    local s = all_bytes()
    assert.equal(s, core.base64_decode(core.base64_encode(s)))
    for n = 0, 256 do
      local sub = s:sub(1, n)
      local enc = core.base64_encode(sub)
      assert.equal(0, #enc % 4)
      assert.equal(sub, core.base64_decode(enc))
    end
  end)

  it("round-trips random binary (with NULs)", function()
    math.randomseed(12345)
    for _ = 1, 200 do
      local s = random_string(math.random(0, 300))
      assert.equal(s, core.base64_decode(core.base64_encode(s)))
    end
    local big = random_string(100000) .. "\0\0\0"
    assert.equal(big, core.base64_decode(core.base64_encode(big)))
  end)

  it("uses the standard alphabet with padding", function()
    assert.equal("+/8=", core.base64_encode("\251\255"))
    assert.equal("AA==", core.base64_encode("\0"))
  end)

  it("accepts the URL-safe alphabet", function()
    assert.equal("\251\255", core.base64_decode("-_8="))
    assert.equal("\251\255", core.base64_decode("-_8"))
    assert.equal("\251\255", core.base64_decode("+/8"))
  end)

  it("accepts missing padding", function()
    assert.equal("foob", core.base64_decode("Zm9vYg"))
    assert.equal("fooba", core.base64_decode("Zm9vYmE"))
  end)

  it("skips CR/LF line breaks", function()
    assert.equal("foobar", core.base64_decode("Zm9v\r\nYmFy\r\n"))
    assert.equal("foobar", core.base64_decode("Zm9v\nYmFy"))
    local s = random_string(1000)
    local enc = core.base64_encode(s)
    local wrapped = {}
    for i = 1, #enc, 76 do wrapped[#wrapped + 1] = enc:sub(i, i + 75) end
    assert.equal(s, core.base64_decode(table.concat(wrapped, "\r\n")))
  end)

  it("rejects invalid input with nil, 'invalid base64 ...'", function()
    local bad = {
      "Zm9v YmFy", "Zm9v\tYmFy", " Zm9v", "Z", "Zm9vY", "Zh==", "Zm9=", "Zg=", "Zg===",
      "Zm9v=", "====", "Zg==Zg==", "Zm*v", "=Zg", "Zm9vYmFy=", "Zg\0=", "Zm9v.", "\255\255",
    }
    for _, s in ipairs(bad) do
      local out, err = core.base64_decode(s)
      assert.is_nil(out, ("accepted %q"):format(s))
      assert.matches("^invalid base64", err)
    end
  end)

  it("raises on non-string arguments", function()
    assert.has_error(function() core.base64_encode() end)
    assert.has_error(function() core.base64_decode({}) end)
  end)
end)

describe("core.random_hex / random_bytes", function()
  it("returns lowercase hex of 2n characters", function()
    for _, n in ipairs({ 0, 1, 8, 16, 33 }) do
      local h = core.random_hex(n)
      assert.equal(2 * n, #h)
      assert.is_nil(h:find("[^0-9a-f]"))
    end
  end)

  it("returns n raw bytes", function()
    assert.equal(0, #core.random_bytes(0))
    assert.equal(64, #core.random_bytes(64))
  end)

  it("does not repeat", function()
    local seen = {}
    for _ = 1, 1000 do
      local h = core.random_hex(16)
      assert.is_nil(seen[h])
      seen[h] = true
    end
  end)

  -- small draws come from a pool refilled by one RAND_bytes call (csrc/l_util.c, fill_random): across many refills
  -- no bytes are handed out twice, and none of the wiped (zeroed) ones
  it("draws of every size across many pool refills neither repeat nor hand out wiped bytes", function()
    local seen, zeros, total = {}, 0, 0
    for round = 1, 400 do
      for n = 1, 70 do
        local b = core.random_bytes(n)
        assert.equal(n, #b)
        if n >= 8 then
          assert.is_nil(seen[b], "a repeated draw in round " .. round)
          seen[b] = true
        end
        local _, z = b:gsub("%z", "")
        zeros, total = zeros + z, total + n
      end
    end
    -- 994,000 bytes: about total / 256 zeros if random (3,883), far more if wiped bytes came back
    assert.is_true(zeros < total / 256 * 1.2, zeros .. " zero bytes of " .. total)
  end)

  it("raises on bad counts", function()
    assert.has_error(function() core.random_hex(-1) end)
    assert.has_error(function() core.random_hex(1.5) end)
    assert.has_error(function() core.random_bytes("x") end)
    assert.has_error(function() core.random_bytes(1e12) end)
  end)
end)

describe("core.sleep_ms", function()
  it("sleeps", function()
    local ok, socket = pcall(require, "socket")
    local t0 = ok and socket.gettime()
    core.sleep_ms(50)
    core.sleep_ms(0)
    core.sleep_ms(-5)
    if ok then assert.is_true(socket.gettime() - t0 >= 0.045) end
    assert.has_error(function() core.sleep_ms("x") end)
  end)
end)

describe("core.version", function()
  it("is a semver string", function()
    assert.matches("^%d+%.%d+%.%d+$", core.version)
  end)
end)

describe("clocks", function()
  it("now_ms is wall time in milliseconds and monotonic_ms moves forward across a sleep", function()
    local wall = core.now_ms()
    assert.is_true(math.abs(wall / 1000 - os.time()) < 2)
    local a = core.monotonic_ms()
    core.sleep_ms(30)
    local b = core.monotonic_ms()
    assert.is_true(b - a >= 25, tostring(b - a))
    assert.is_true(b - a < 2000)
  end)
end)
