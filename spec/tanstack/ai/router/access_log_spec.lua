-- The edge's JSON access line: only its named fields (never the run's context, messages or keys), an outcome for
-- every request (ok, error, refused, client_gone), the time in UTC.
local access_log = require("tanstack.ai.router.access_log")
local json = require("tanstack.ai.json")

describe("tanstack.ai.router.access_log", function()
  it("writes the record's named fields and nothing of its context", function()
    local rec = { requestId = "req-1", endpoint = "openai", consumer = "alice", route = "default", target = "primary",
      model = "@cf/m", status = 200, ok = true, inputTokens = 3, outputTokens = 4, ttftMs = 120, latencyMs = 300,
      cacheStatus = "MISS", context = { authorization = "Bearer sk-secret", messages = { "hi" } },
      attempts = { { target = "primary" } } }
    local line = access_log.line(rec, nil, 1700000000.25)
    assert.falsy(line:find("sk-secret", 1, true))
    assert.falsy(line:find("\n", 1, true))
    local v = json.decode(line)
    assert.equals("req-1", v.requestId)
    assert.equals("ok", v.outcome)
    assert.equals(120, v.ttftMs)
    assert.equals("MISS", v.cacheStatus)
    assert.equals("2023-11-14T22:13:20.250Z", v.time)
    assert.is_nil(v.context)
    assert.is_nil(v.attempts)
  end)

  it("outcomes: refused, error, client_gone; extra fields win; fallbacks are listed", function()
    local v = json.decode(access_log.line({ status = 429, error = "rate_limit_exceeded", consumer = "bob" }))
    assert.equals("refused", v.outcome)
    v = json.decode(access_log.line({ status = 502, target = "t", error = 500,
      attempts = { { target = "a", error = "500" }, { target = "t", error = "500" } } }))
    assert.equals("error", v.outcome)
    assert.equals("500", v.error)
    assert.same({ "a:500", "t:500" }, v.attempts)
    v = json.decode(access_log.line({ status = 499, target = "t", consumer = "session:abc" },
      { consumer = "browser:1234" }))
    assert.equals("client_gone", v.outcome)
    assert.equals("browser:1234", v.consumer)
  end)
end)
