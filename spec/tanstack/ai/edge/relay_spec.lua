-- tanstack.ai.edge.relay: the stream source, headers and the response both wires write.
local relay = require("tanstack.ai.edge.relay")

describe("edge.relay.source", function()
  it("an array: pull in order, ready counts what is left", function()
    local pull, cancel, ready = relay.source({ "a", "b", "c" })
    assert.equals(3, ready())
    assert.equals("a", pull())
    assert.equals(2, ready())
    pull(); pull()
    assert.is_nil(pull())
    assert.equals(0, ready())
    cancel()
  end)

  it("a stream object: next, pending, and a protected cancel (cancel or close)", function()
    local s = { i = 0, canceled = 0 }
    function s:next() self.i = self.i + 1; return self.i <= 2 and self.i or nil end
    function s:pending() return 7 end
    function s:close() self.canceled = self.canceled + 1; error("close failed") end
    local pull, cancel, ready = relay.source(s)
    assert.equals(1, pull())
    assert.equals(7, ready())
    assert.has_no.errors(cancel)
    assert.equals(1, s.canceled)
  end)

  it("an iterator function: ready is unknown (0); anything else raises", function()
    local pull, _, ready = relay.source(function() return "x" end)
    assert.equals("x", pull())
    assert.equals(0, ready())
    assert.has_error(function() relay.source(42) end,
      "wire: expected a stream (ai.chat's), an iterator function or an array of events, got number")
  end)
end)

describe("edge.relay responses", function()
  local real
  before_each(function() real = rawget(_G, "ngx") end)
  after_each(function() rawset(_G, "ngx", real) end)

  it("headers: lower-case, extra wins, any spelling on lookup", function()
    local h = relay.headers(relay.SSE_HEADERS, { ["Cache-Control"] = "no-store", ["X-A"] = "1", [1] = "ignored" })
    assert.equals("no-store", h["cache-control"])
    assert.equals("text/event-stream", h["Content-Type"])
    assert.equals("1", h["x-a"])
    assert.is_nil(rawget(h, 1))
  end)

  it("respond: the table outside a content phase, or when told not to write", function()
    rawset(_G, "ngx", nil)
    local res = { status = 200, headers = {}, body = function() end }
    assert.equals(res, relay.respond(res, nil))
    rawset(_G, "ngx", { get_phase = function() return "access" end })
    assert.is_false(relay.in_content_phase())
    assert.equals(res, relay.respond(res, nil))
    rawset(_G, "ngx", { get_phase = function() return "content" end })
    assert.is_true(relay.in_content_phase())
    assert.equals(res, relay.respond(res, nil, false))
  end)

  it("respond in a content phase writes the batches through ngx_response", function()
    local printed = {}
    rawset(_G, "ngx", { get_phase = function() return "content" end, header = {}, headers_sent = false,
      on_abort = function() return 1 end, send_headers = function() return 1 end,
      print = function(s) printed[#printed + 1] = s return 1 end, flush = function() return 1 end })
    local pieces = { "ab", "c" }
    local i = 0
    local ok = relay.respond({ status = 200, headers = {}, body = function() return "per-event" end },
      function() i = i + 1 return pieces[i] end)
    assert.is_true(ok)
    assert.same({ "ab", "c" }, printed)
  end)

  it("ratelimit_headers: OpenAI's x-ratelimit-*-tokens from an admission; Retry-After on a refusal", function()
    local h = relay.ratelimit_headers({ ok = true, limit = 20000, remaining = 19000, reset = 12 })
    assert.same({ ["x-ratelimit-limit-tokens"] = "20000", ["x-ratelimit-remaining-tokens"] = "19000",
      ["x-ratelimit-reset-tokens"] = "12s" }, h)
    h = relay.ratelimit_headers({ ok = false, limit = 20, remaining = 0, reset = 3, retry_after = 3 })
    assert.equals("3", h["retry-after"])
    assert.equals("0", h["x-ratelimit-remaining-tokens"])
    assert.same({}, relay.ratelimit_headers(nil))
    assert.same({}, relay.ratelimit_headers({ ok = true, reserved = 0 })) -- concurrency only: no token budget
  end)
end)
