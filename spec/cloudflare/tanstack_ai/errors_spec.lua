-- cloudflare.tanstack_ai.errors: the classifier for Cloudflare's error shapes (API envelope, AI Gateway,
-- internalCode, a code inside the message), is_payload, from_payload and from_binding.
local cf_errors = require("cloudflare.tanstack_ai.errors")
local errors = require("tanstack.ai.errors")
local json = require("tanstack.ai.json")

describe("cloudflare.tanstack_ai.errors", function()
  describe("classify", function()
    it("reads the Cloudflare API shape {success=false, errors=[{code, message}]}", function()
      local f = { message = "HTTP 404", status = 404 }
      cf_errors.classify(f, { success = false, result = json.null,
        errors = { { code = 7003, message = "No route for that URI" } }, messages = {} })
      assert.equal("No route for that URI", f.message)
      assert.equal(7003, f.code)
      assert.equal(404, f.status)
      assert.is_nil(f.retryable)
    end)

    it("reads the AI Gateway shape {error=[{code, message}]}", function()
      local f = { message = "HTTP 401" }
      cf_errors.classify(f, { success = false, result = {}, error = { { code = 2009, message = "Unauthorized" } } })
      assert.equal("Unauthorized", f.message)
      assert.equal(2009, f.code)
      assert.is_nil(f.retryable)
    end)

    it("takes the first entry when several errors are reported", function()
      local f = {}
      cf_errors.classify(f, { errors = { { code = 5006, message = "first" }, { code = 7003, message = "second" } } })
      assert.equal("first", f.message)
      assert.equal(5006, f.code)
    end)

    it("stringifies a non-string message", function()
      local f = {}
      cf_errors.classify(f, { errors = { { code = 1, message = 42 } } })
      assert.equal("42", f.message)
    end)

    it("uses internalCode when no error entry carries a code", function()
      local f = { message = "InferenceUpstreamError" }
      cf_errors.classify(f, { internalCode = 3040 })
      assert.equal(3040, f.code)
      assert.is_true(f.retryable)
      assert.equal("InferenceUpstreamError", f.message)
    end)

    it("prefers the error entry's code over internalCode", function()
      local f = {}
      cf_errors.classify(f, { errors = { { code = 5006, message = "bad input" } }, internalCode = 3040 })
      assert.equal(5006, f.code)
      assert.is_nil(f.retryable)
    end)

    it("finds a known Workers AI code inside the message", function()
      local f = { message = "InferenceUpstreamError: 3040: Capacity temporarily exceeded, please try again." }
      cf_errors.classify(f, nil)
      assert.equal(3040, f.code)
      assert.is_true(f.retryable)

      local g = { message = "AiError: 5007: No such model @cf/nope or task" }
      cf_errors.classify(g, "not a table")
      assert.equal(5007, g.code)
      assert.is_nil(g.retryable)
    end)

    it("ignores numbers in the message that are not known codes, and keeps looking", function()
      local f = { message = "line 1234: something; then 3036: daily limit" }
      cf_errors.classify(f, nil)
      assert.equal(3036, f.code)
      assert.is_nil(f.retryable) -- 3036 maps to 429, but only 3040 is retryable on its own

      local g = { message = "9999: unknown code" }
      cf_errors.classify(g, nil)
      assert.is_nil(g.code)
      assert.is_nil(g.retryable)
    end)

    it("does not look in the message when a code is already known", function()
      local f = { message = "3040: Capacity temporarily exceeded", code = 5006 }
      cf_errors.classify(f, nil)
      assert.equal(5006, f.code)
      assert.is_nil(f.retryable)
    end)

    it("marks 3040 retryable whether it is a number or a numeric string", function()
      local f = {}
      cf_errors.classify(f, { errors = { { code = "3040", message = "Capacity" } } })
      assert.equal("3040", f.code)
      assert.is_true(f.retryable)
    end)

    it("drives errors.from_http for a Workers AI 429 answer", function()
      local body = '{"result":null,"success":false,"errors":[{"code":3040,"message":"Capacity temporarily exceeded"}],'
        .. '"messages":[]}'
      local e = errors.from_http(429, { ["retry-after"] = "7" }, body, "workers-ai", json.decode, cf_errors.classify)
      assert.equal(429, e.status)
      assert.equal(3040, e.code)
      assert.equal("Capacity temporarily exceeded", e.message)
      assert.equal("workers-ai", e.provider)
      assert.equal("http", e.kind)
      assert.equal(7, e.retry_after)
      assert.is_true(e.retryable)
    end)

    it("makes a 200-status error with code 3040 retryable through from_http", function()
      local body = '{"errors":[{"code":3040,"message":"Capacity"}],"success":false}'
      local e = errors.from_http(200, {}, body, "workers-ai", json.decode, cf_errors.classify)
      assert.is_true(e.retryable)
      local e2 = errors.from_http(400, {}, '{"errors":[{"code":5006,"message":"bad"}],"success":false}', "workers-ai",
        json.decode, cf_errors.classify)
      assert.is_false(e2.retryable)
      assert.equal(5006, e2.code)
    end)
  end)

  describe("is_payload", function()
    it("is true for the API envelope with success = false", function()
      assert.is_true(cf_errors.is_payload({ success = false, errors = { { code = 1, message = "m" } } }))
      assert.is_true(cf_errors.is_payload({ success = false }))
    end)

    it("is true for the generic error shapes", function()
      assert.is_true(cf_errors.is_payload({ error = { { code = 2005, message = "m" } } }))
      assert.is_true(cf_errors.is_payload({ error = { message = "m", type = "invalid_request_error" } }))
      assert.is_true(cf_errors.is_payload({ type = "error", error = { type = "overloaded_error" } }))
    end)

    it("is false for results", function()
      assert.is_false(cf_errors.is_payload({ success = true, result = { response = "hi" }, errors = {} }))
      assert.is_false(cf_errors.is_payload({ response = "hi" }))
      assert.is_false(cf_errors.is_payload({ error = json.null, result = {} }))
      assert.is_false(cf_errors.is_payload("success=false"))
      assert.is_false(cf_errors.is_payload(nil))
    end)
  end)

  describe("from_payload", function()
    it("turns an envelope with success = false into a provider error that is not retried", function()
      local e = cf_errors.from_payload({ success = false, errors = { { code = 3040, message = "Capacity" } } }, "workers-ai")
      assert.is_true(errors.is_error(e))
      assert.equal("provider", e.kind)
      assert.equal("workers-ai", e.provider)
      assert.equal(3040, e.code)
      assert.equal("Capacity", e.message)
      assert.is_false(e.retryable)
      assert.is_nil(e.status)
    end)

    it("reads the gateway shape", function()
      local e = cf_errors.from_payload({ error = { { code = 2009, message = "Unauthorized" } } }, "openai")
      assert.equal(2009, e.code)
      assert.equal("Unauthorized", e.message)
      assert.equal("openai", e.provider)
    end)
  end)

  describe("from_binding", function()
    it("maps a Workers AI code to its HTTP status and retries capacity errors", function()
      local e = cf_errors.from_binding({ code = 3040, message = "Capacity temporarily exceeded" })
      assert.is_true(errors.is_error(e))
      assert.equal(429, e.status)
      assert.equal(3040, e.code)
      assert.is_true(e.retryable)
      assert.equal("provider", e.kind)
      assert.equal("workers-ai", e.provider)
      assert.equal("Capacity temporarily exceeded", e.message)
    end)

    it("uses the code map for every mapped code", function()
      local cases = {
        { 5007, 400, false }, { 5004, 400, false }, { 3039, 400, false }, { 3003, 400, false },
        { 5018, 403, false }, { 5016, 403, false }, { 3023, 403, false }, { 3041, 403, false },
        { 5019, 405, false }, { 5005, 405, false }, { 3042, 404, false }, { 3006, 413, false },
        { 3007, 408, true }, { 3008, 408, true }, { 3036, 429, true }, { 3040, 429, true },
      }
      for _, c in ipairs(cases) do
        local e = cf_errors.from_binding({ code = c[1], message = "m" })
        assert.equal(c[2], e.status, "code " .. c[1])
        assert.equal(c[3], e.retryable, "code " .. c[1])
      end
    end)

    it("leaves an unknown code without a status and not retryable", function()
      local e = cf_errors.from_binding({ code = 9999, message = "odd" })
      assert.is_nil(e.status)
      assert.equal(9999, e.code)
      assert.is_false(e.retryable)
    end)

    it("keeps a status the error already has", function()
      local e = cf_errors.from_binding({ status = 503, message = "unavailable" })
      assert.equal(503, e.status)
      assert.is_true(e.retryable)
      local e2 = cf_errors.from_binding({ status = 400, code = 3040, message = "odd" })
      assert.equal(400, e2.status)
      assert.is_true(e2.retryable) -- 3040 is retryable whatever the status
    end)

    it("wraps a string with the provider given (default workers-ai)", function()
      local e = cf_errors.from_binding("boom")
      assert.equal("boom", e.message)
      assert.equal("workers-ai", e.provider)
      assert.equal("provider", e.kind)
      assert.is_nil(e.status)
      assert.is_false(e.retryable)
      assert.equal("openai", cf_errors.from_binding("boom", "openai").provider)
    end)

    it("returns an error value unchanged apart from status and retryability", function()
      local orig = errors.new({ message = "x", code = 3040, kind = "provider" })
      local e = cf_errors.from_binding(orig)
      assert.equal(orig, e)
      assert.equal(429, e.status)
      assert.is_true(e.retryable)
    end)

    it("reads the code inside a raised message (what env.AI.run throws)", function()
      local e = cf_errors.from_binding("InferenceUpstreamError: 3040: Capacity temporarily exceeded, please try again.")
      assert.equal(3040, e.code)
      assert.equal(429, e.status)
      assert.is_true(e.retryable)
    end)
  end)
end)
