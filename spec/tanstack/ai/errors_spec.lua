-- tanstack.ai.errors and the error path of tanstack.ai.http against hostile peers: Retry-After of any shape,
-- a bounded secret registry, the public form of an error, and error bodies read only as far as an error keeps.
local errors = require("tanstack.ai.errors")
local http = require("tanstack.ai.http")
local json = require("tanstack.ai.json")

local function clock_ms() return os.clock() * 1000 end

describe("Retry-After", function()
  it("reads delta-seconds and IMF-fixdate", function()
    assert.equals(0, errors.parse_retry_after("0"))
    assert.equals(120, errors.parse_retry_after(" 120 "))
    local soon = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 30)
    local d = errors.parse_retry_after(soon)
    assert.is_true(d >= 28 and d <= 31, tostring(d))
    assert.equals(0, errors.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")) -- in the past
  end)

  it("never raises, whatever the peer sends: garbage is nil, absurd values are capped", function()
    local cap = errors.RETRY_AFTER_MAX
    local cases = {
      -- os.time raised "field 'year' is out-of-bound" / "is not an integer" on these
      { "Fri, 31 Dec 3000000000 23:59:59 GMT", nil },
      { "Fri, 31 Dec 99999999999999999999 23:59:59 GMT", nil },
      { "Fri, 31 Dec 9999 23:59:59 GMT", cap },
      { "99999999999999999999", cap },
      { "86401", cap },
      { "1e999", nil }, { "0x10", nil }, { "-5", nil }, { "inf", nil }, { "nan", nil }, { "1.5", nil },
      { "", nil }, { "soon", nil }, { ("9"):rep(10000), nil },
      { "Sun, 99 Foo 2020 99:99:99 GMT", nil }, { "Sun, 31 Feb 2020 25:00:00 GMT", nil },
      { "Sunday, 06-Nov-94 08:49:37 GMT", nil }, { "Sun Nov  6 08:49:37 1994", nil },
    }
    for _, c in ipairs(cases) do
      local ok, v = pcall(errors.parse_retry_after, c[1])
      assert.is_true(ok, c[1]:sub(1, 60) .. ": " .. tostring(v))
      assert.equals(c[2], v, c[1]:sub(1, 60))
    end
    for _, v in ipairs({ {}, 5, true }) do assert.is_nil(errors.parse_retry_after(v)) end
  end)

  it("a 429 with any Retry-After becomes an error value, and the wait stays bounded", function()
    for _, ra in ipairs({ "Fri, 31 Dec 3000000000 23:59:59 GMT", "99999999999", "garbage", "-1" }) do
      local e = errors.from_http(429, { ["retry-after"] = ra }, "busy", "p", json.decode)
      assert.equals(429, e.status)
      assert.is_true(e.retry_after == nil or e.retry_after <= errors.RETRY_AFTER_MAX)
      assert.is_true(http.backoff_ms(0, e.retry_after) <= 60000)
    end
    local nan = 0 / 0
    local d = http.backoff_ms(0, nan)
    assert.is_true(d == d and d <= 250) -- NaN is ignored: the jittered backoff
  end)
end)

describe("the secret registry", function()
  it("keeps the most recent SECRETS_MAX secrets, and a re-registered one stays", function()
    local keep = "long-lived-key-0001"
    errors.register_secret(keep)
    for i = 1, 10 * errors.SECRETS_MAX do
      errors.register_secret(string.format("tenant-key-%08d", i))
      if i % 8 == 0 then errors.register_secret(keep) end -- in use: request.lua registers it on every send
    end
    assert.equals(errors.SECRETS_MAX, errors.secret_count())
    assert.equals("[REDACTED] and [REDACTED]",
      errors.redact(keep .. " and " .. string.format("tenant-key-%08d", 10 * errors.SECRETS_MAX)))
    -- an old one fell out; bearer tokens are scrubbed by pattern whatever the registry holds
    assert.equals("tenant-key-00000001", errors.redact("tenant-key-00000001"))
    assert.equals("Authorization: Bearer [REDACTED]", errors.redact("Authorization: Bearer tenant-key-00000001"))
  end)

  it("60k registered keys do not slow an error down", function()
    local function per_error_ms()
      local n = 200
      local t0 = clock_ms()
      for i = 1, n do
        errors.new({ message = "upstream said: invalid key sk-" .. i .. " for account abc", kind = "http",
          status = 401, body = ("x"):rep(2000) })
      end
      return (clock_ms() - t0) / n
    end
    local before = per_error_ms()
    for i = 1, 60000 do errors.register_secret(string.format("key-%08d-abcdefghijklmnop", i)) end
    local after = per_error_ms()
    assert.equals(errors.SECRETS_MAX, errors.secret_count())
    -- unbounded, this took 6-11 ms per error; bounded it is the cost of SECRETS_MAX plain finds
    assert.is_true(after < 1, string.format("%.3f ms per error with 60k keys registered (%.3f before)", after, before))
  end)
end)

describe("the public form of an error", function()
  local P = errors.PUBLIC_MESSAGES

  it("replaces what an upstream, a transport or Lua wrote with a fixed message; keeps code and status", function()
    local cases = {
      { errors.new({ message = "connect to 10.0.0.7:8443 failed: Connection refused", kind = "connect" }),
        P.network, "connect" },
      { errors.new({ message = "idle timeout after 120000 ms (peer 10.1.2.3:443)", kind = "timeout" }), P.timeout,
        "timeout" },
      { errors.from_http(401, {}, '{"error":{"message":"Incorrect API key sk-abc","code":"invalid_api_key"}}', "openai",
        json.decode), P.auth, "invalid_api_key" },
      { errors.from_http(429, {}, "<html>rate limited by upstream-lb-7.internal:8080</html>", "p", json.decode),
        P.rate_limited, "429" },
      { errors.from_http(500, {}, "Traceback: /srv/app/x.py line 3", "p", json.decode), P.upstream, "500" },
      { errors.from_http(404, {}, "", "p", json.decode), P.not_found, "404" },
      { errors.from_http(400, {}, '{"error":{"message":"bad","code":"a code with spaces"}}', "p", json.decode),
        P.rejected, "400" },
      { errors.from_payload({ error = { message = "upstream exploded at /opt/x.lua:3:" } }, "p"), P.provider, "provider" },
      { errors.new({ message = "response exceeds 1000 bytes", kind = "too_large" }), P.too_large, "too_large" },
      { errors.new({ message = "invalid JSON: Expected value at 1", kind = "decode" }), P.decode, "decode" },
      { "/work/main/lua/tanstack/ai/turn.lua:123: attempt to index a nil value", P.internal, nil },
    }
    for i, c in ipairs(cases) do
      local message, code = errors.public(c[1])
      assert.equals(c[2], message, "case " .. i)
      assert.equals(c[3], code, "case " .. i)
    end
  end)

  it("keeps a message the application raised on purpose and the client's own validation errors", function()
    assert.same({ "synthetic failure at event 4", "synthetic" },
      { errors.public({ message = "synthetic failure at event 4", code = "synthetic" }) })
    local m = errors.public({ message = "/srv/app/handler.lua:12: quota exceeded for this user" })
    assert.equals("quota exceeded for this user", m)
    local bad = errors.new({ message = "Request body exceeds a limit: messages has 2 entries, more than 1 (maxMessages)",
      kind = "bad_request", status = 400, code = "limit_exceeded" })
    assert.same({ bad.message, "limit_exceeded" }, { errors.public(bad) })
  end)

  it("detail() keeps everything for the log, secrets scrubbed", function()
    errors.register_secret("detail-secret-9876")
    local e = errors.from_http(502, {}, "bad gateway from 10.0.0.9:8080 key detail-secret-9876", "openai", json.decode)
    local d = errors.detail(e)
    assert.truthy(d:find("10.0.0.9:8080", 1, true))
    assert.truthy(d:find("HTTP 502", 1, true))
    assert.is_nil(d:find("detail-secret-9876", 1, true))
  end)
end)

describe("an error body is read only as far as the error keeps", function()
  it("reads at most ERROR_BODY_MAX bytes of an endless 500, then closes", function()
    local reads, closed = 0, 0
    local chunk = ("e"):rep(16384)
    local res = { status = 500, headers = { ["content-type"] = "text/plain" },
      read = function() reads = reads + 1; return chunk end, close = function() closed = closed + 1 end }
    local err = http.http_error(res, "p")
    assert.equals(500, err.status)
    assert.is_true(reads * #chunk <= http.ERROR_BODY_MAX + #chunk, "read " .. reads .. " chunks")
    assert.equals(1, closed)
    assert.is_true(#err.body <= 4096)
  end)

  it("a huge body string is cut, and a JSON error report still reads", function()
    local big = '{"error":{"message":"quota","code":"q"}}' .. (" "):rep(10 * 1024 * 1024)
    local err = http.http_error({ status = 429, headers = {}, body = big }, "p")
    assert.equals(429, err.status)
    assert.is_true(#err.body <= 4096)
    err = http.http_error({ status = 400, headers = {}, body = '{"error":{"message":"quota","code":"q"}}' }, "p")
    assert.equals("quota", err.message)
    assert.equals("q", err.code)
  end)

  it("with_retries stops reading a retried error's body at the bound too", function()
    local reads = 0
    local chunk = ("x"):rep(65536)
    local attempts = 0
    local _, err = http.with_retries(function()
      attempts = attempts + 1
      return { status = 503, headers = { ["retry-after"] = "0" }, read = function() reads = reads + 1; return chunk end,
        close = function() end }
    end, { max_retries = 1, transport = { name = "stub" } })
    assert.equals(503, err.status)
    assert.equals(2, attempts)
    assert.equals(2, reads)
  end)
end)
