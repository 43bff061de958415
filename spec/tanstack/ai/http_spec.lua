-- tanstack.ai.http: the transport choice, the retry loop's backoff, and the one reader of answers.
local http = require("tanstack.ai.http")

describe("http.transport", function()
  it("takes an explicit transport, else libcurl outside nginx", function()
    local t = { request = function() end }
    assert.equal(t, http.transport(t))
    assert.equal(require("tanstack.ai.transport.curl"), http.transport(nil))
  end)
end)

describe("http.backoff_ms", function()
  it("honours Retry-After up to 60 s, else jitters under 250 ms * 2^n, at most 2 s", function()
    assert.equal(3000, http.backoff_ms(0, 3))
    assert.equal(60000, http.backoff_ms(0, 1e9))
    for n = 0, 6 do
      local d = http.backoff_ms(n)
      assert.is_true(d >= 0 and d <= math.min(250 * 2 ^ n, 2000))
    end
  end)
end)

describe("http.with_retries", function()
  it("returns a 2xx at once and an error value for a non-retryable status", function()
    local n = 0
    local res = http.with_retries(function() n = n + 1 return { status = 204, headers = {} } end, {})
    assert.equal(204, res.status)
    assert.equal(1, n)
    local r, err = http.with_retries(function()
      return { status = 400, headers = { ["content-type"] = "application/json" }, body = '{"error":"bad"}' }
    end, { provider = "p" })
    assert.is_nil(r)
    assert.equal(400, err.status)
    assert.equal(1, err.attempts)
    assert.equal("p", err.provider)
  end)
end)

describe("http.read_whole", function()
  it("unwraps JSON, keeps other bytes with their type, and reads an error report as nil, err", function()
    local opts = { unwrap = function(v) return v.result or v end,
      payload_error = function(v) if v.error then return { message = v.error } end end }
    local r = assert(http.read_whole({ headers = { ["content-type"] = "application/json" },
      body = '{"result":[1,2]}' }, opts))
    assert.same({ 1, 2 }, r.value)
    r = assert(http.read_whole({ headers = { ["content-type"] = "audio/mpeg" }, body = "ID3" }, opts))
    assert.equal("ID3", r.bytes)
    assert.equal("audio/mpeg", r.content_type)
    local none, err = http.read_whole({ headers = { ["content-type"] = "application/json" },
      body = '{"error":"quota"}' }, opts)
    assert.is_nil(none)
    assert.equal("quota", err.message)
    -- a binding's decoded value needs no read
    r = assert(http.read_whole({ value = { ok = true } }))
    assert.is_true(r.value.ok)
  end)

  it("as_stream turns a whole SSE string into one read", function()
    local res = http.as_stream({ body = "data: x\n\n" })
    assert.is_nil(res.body)
    assert.equal("data: x\n\n", res.read())
    assert.is_nil(res.read())
  end)
end)
