-- tanstack.ai.adapter: the interface a provider package uses. The pipeline (send with the one retry loop, call,
-- stream), the one reader, and the helpers it names.
local adapter = require("tanstack.ai.adapter")
local json = require("tanstack.ai.json")

local function sse(v) return "data: " .. (type(v) == "string" and v or json.encode(v)) .. "\n\n" end
local function text_chunk(d, finish)
  return sse({ id = "c1", object = "chat.completion.chunk", created = 1, model = "m",
    choices = { { index = 0, delta = d and { content = d } or {}, finish_reason = finish or json.null } } })
end

-- A transport answering from a script: answers[i] is the response to the i-th request (a table) or an error string.
local function scripted_transport(answers)
  local t = { name = "scripted", seen = {} }
  function t.request(req)
    t.seen[#t.seen + 1] = req
    local a = answers[#t.seen]
    if type(a) == "string" then return nil, a end
    return a
  end
  return t
end

local function whole(status, ct, body, extra)
  local h = { ["content-type"] = ct }
  for k, v in pairs(extra or {}) do h[k] = v end
  return { status = status, headers = h, body = body }
end

-- Hooks that describe every request as an HTTP request to https://example.test/<path>.
local function url_hooks(extra)
  local h = {
    send = function(_, d) return { method = "POST", url = "https://example.test/" .. d.path, body = d.body } end,
    classify = function() end,
  }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local function drain(p)
  local out = {}
  for ev in p.next do out[#out + 1] = ev end
  return out
end

local function types(evs)
  local t = {}
  for i, e in ipairs(evs) do t[i] = e.type end
  return t
end

describe("adapter.pipeline:send", function()
  it("hands a described HTTP request to the transport and returns the 2xx response", function()
    local t = scripted_transport({ whole(200, "application/json", '{"ok":true}') })
    local p = adapter.pipeline({ transport = t }, url_hooks())
    local res = assert(p:send({ path = "v1/x", body = "b", provider = "test" }))
    assert.equal(200, res.status)
    assert.equal(1, #t.seen)
    assert.equal("https://example.test/v1/x", t.seen[1].url)
    assert.equal("b", t.seen[1].body)
  end)

  it("retries a retryable status once per max_retries, honouring Retry-After", function()
    local t = scripted_transport({ whole(503, "text/plain", "busy", { ["retry-after"] = "0" }),
      whole(200, "application/json", "{}") })
    local p = adapter.pipeline({ transport = t, max_retries = 1 }, url_hooks())
    assert.truthy(p:send({ path = "a", provider = "test" }))
    assert.equal(2, #t.seen)
  end)

  it("gives up after max_retries with the error, its attempts and the description's label", function()
    local t = scripted_transport({ whole(503, "text/plain", "busy", { ["retry-after"] = "0" }),
      whole(503, "text/plain", "busy", { ["retry-after"] = "0" }) })
    local p = adapter.pipeline({ transport = t, max_retries = 1 }, url_hooks())
    local res, err = p:send({ path = "a", provider = "test", label = "Test chat" })
    assert.is_nil(res)
    assert.equal(503, err.status)
    assert.equal(2, err.attempts)
    assert.equal("Test chat", err.label)
    assert.equal("test", err.provider)
  end)

  it("takes a response from the send hook as is (a binding): the transport is not asked", function()
    local t = scripted_transport({})
    local p = adapter.pipeline({ transport = t }, {
      send = function() return { status = 200, headers = {}, value = { answer = 42 } } end,
    })
    local res = assert(p:send({ provider = "test" }))
    assert.equal(42, res.value.answer)
    assert.equal(0, #t.seen)
  end)

  it("sends nothing when prepare refuses the description", function()
    local t = scripted_transport({ whole(200, "application/json", "{}") })
    local p = adapter.pipeline({ transport = t }, url_hooks({
      prepare = function(_, d) return adapter.errors.new({ message = "bad " .. d.path, kind = "config" }) end,
    }))
    local res, err = p:send({ path = "x", label = "L" })
    assert.is_nil(res)
    assert.equal("bad x", err.message)
    assert.equal(0, #t.seen)
  end)

  it("raises when the hooks have no send function", function()
    assert.has_error(function() adapter.pipeline({}, {}) end, "adapter.pipeline: hooks.send must be a function")
  end)
end)

describe("adapter.pipeline:call", function()
  local function call_with(res, hooks)
    local p = adapter.pipeline({ transport = scripted_transport({ res }) }, url_hooks(hooks))
    return p:call({ path = "x", provider = "test", label = "Test" })
  end

  it("decodes a JSON answer and removes the provider's envelope", function()
    local r = assert(call_with(whole(200, "application/json", '{"success":true,"result":{"n":1}}'),
      { unwrap = function(v) return v.result end }))
    assert.same({ n = 1 }, r.value)
  end)

  it("turns an error report inside a 2xx JSON answer into nil, err", function()
    local r, err = call_with(whole(200, "application/json", '{"oops":1}'), {
      payload_error = function(v, provider)
        if v.oops then return adapter.errors.new({ message = "oops from " .. provider, kind = "provider" }) end
      end,
    })
    assert.is_nil(r)
    assert.equal("oops from test", err.message)
  end)

  it("returns other answers as bytes with their content type", function()
    local r = assert(call_with(whole(200, "image/png", "\137PNG")))
    assert.equal("\137PNG", r.bytes)
    assert.equal("image/png", r.content_type)
  end)

  it("names the request in an invalid JSON error (kind decode)", function()
    local r, err = call_with(whole(200, "application/json", "{nope"))
    assert.is_nil(r)
    assert.equal("decode", err.kind)
    assert.truthy(err.message:find("^Test: invalid JSON response"))
  end)
end)

describe("adapter.pipeline:stream", function()
  local openai = adapter.format("openai")

  it("turns an SSE answer into AG-UI events", function()
    local body = text_chunk("Hel") .. text_chunk("lo") .. text_chunk(nil, "stop") .. sse("[DONE]")
    local p = adapter.pipeline({ transport = scripted_transport({ whole(200, "text/event-stream", body) }) },
      url_hooks())
    local evs = drain(p:stream({ path = "x", provider = "test" }, { format = openai, model = "m", runId = "r1" }))
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_END", "RUN_FINISHED" }, types(evs))
    assert.equal("Hel", evs[3].delta)
    assert.equal("r1", evs[1].runId)
    assert.equal("stop", evs[6].finishReason)
  end)

  it("turns a whole JSON answer into the same event form", function()
    local body = json.encode({ id = "c", object = "chat.completion", model = "m",
      choices = { { index = 0, message = { role = "assistant", content = "Hi" }, finish_reason = "stop" } } })
    local p = adapter.pipeline({ transport = scripted_transport({ whole(200, "application/json", body) }) },
      url_hooks())
    local evs = drain(p:stream({ path = "x", provider = "test" }, { format = openai, model = "m" }))
    assert.equal("RUN_STARTED", evs[1].type)
    assert.equal("Hi", evs[3].delta)
    assert.equal("RUN_FINISHED", evs[#evs].type)
  end)

  it("ends a failed request with RUN_STARTED and one RUN_ERROR", function()
    local p = adapter.pipeline({ transport = scripted_transport({ "connection refused" }), max_retries = 0 },
      url_hooks())
    local evs = drain(p:stream({ path = "x", provider = "test" }, { format = openai, model = "m" }))
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, types(evs))
    assert.truthy(evs[2].message:find("connection refused", 1, true))
  end)

  it("uses the provider's own opener when given one", function()
    local p = adapter.pipeline({}, url_hooks())
    local evs = drain(p:stream(nil, { format = openai, model = "m", open = function()
      return { status = 200, headers = { ["content-type"] = "text/event-stream" },
        body = text_chunk("x") .. text_chunk(nil, "stop") .. sse("[DONE]") }
    end }))
    assert.equal("x", evs[3].delta)
  end)
end)

describe("adapter's reader", function()
  it("read_all reads a string body, chunks, or nothing", function()
    assert.equal("abc", adapter.read_all({ body = "abc" }))
    local parts = { "a", "b" }
    assert.equal("ab", adapter.read_all({ read = function() return table.remove(parts, 1) end }))
    assert.equal("", adapter.read_all({}))
    local b, err = adapter.read_all({ read = function() return nil, "reset" end })
    assert.is_nil(b)
    assert.equal("network", err.kind)
  end)

  it("answer_kind tells a value, SSE, JSON and bytes apart, streamed or not", function()
    assert.equal("value", adapter.answer_kind({ value = {} }))
    assert.equal("sse", adapter.answer_kind({ headers = { ["content-type"] = "text/event-stream" } }))
    assert.equal("json", adapter.answer_kind({ headers = { ["content-type"] = "application/json" } }))
    assert.equal("json", adapter.answer_kind({ headers = { ["content-type"] = "application/x-ndjson" } }))
    assert.equal("sse", adapter.answer_kind({ headers = { ["content-type"] = "application/x-ndjson" },
      read = function() end }, true))
    assert.equal("json", adapter.answer_kind({ headers = {}, body = "{}" }, true))
    assert.equal("bytes", adapter.answer_kind({ headers = { ["content-type"] = "audio/mpeg" }, body = "x" }))
  end)

  it("decoded reads and decodes a JSON answer, or says why not", function()
    local closed = false
    local r = assert(adapter.decoded({ status = 200, headers = {}, body = '{"a":1}',
      close = function() closed = true end }))
    assert.equal(1, r.value.a)
    assert.is_true(closed)
    local bad, err = adapter.decoded({ status = 200, headers = {}, body = "nope" })
    assert.is_nil(bad)
    assert.equal("decode", err.kind)
  end)
end)

describe("adapter's helpers", function()
  it("names a wire format by name and checks it", function()
    assert.equal("openai", adapter.format("openai").name)
    assert.is_function(adapter.format("anthropic").decode_event)
    assert.has_error(function() adapter.format("no-such-format") end)
  end)

  it("re-exports json, errors, media, ids, base64 and multipart", function()
    assert.equal('{"a":1}', adapter.json.encode({ a = 1 }))
    assert.equal("config", adapter.errors.new({ message = "m", kind = "config" }).kind)
    assert.equal("image/png", adapter.media.sniff("\137PNG\r\n\26\n...."))
    assert.truthy(adapter.id("img"):find("^img"))
    assert.equal("aGk=", adapter.base64_encode("hi"))
    assert.equal("hi", adapter.base64_decode("aGk="))
    local body, ct = adapter.multipart_encode({ { name = "f", data = "v" } })
    assert.truthy(ct:find("^multipart/form%-data; boundary="))
    assert.truthy(body:find('name="f"', 1, true))
  end)

  it("parse_structured parses JSON text and raise reports at the caller", function()
    local v, text = adapter.parse_structured('{"x":2}', "test", "T")
    assert.equal(2, v.x)
    assert.equal('{"x":2}', text)
    assert.has_error(function() adapter.raise("nope") end, "nope")
  end)

  it("summarizer builds summarize on a chat adapter", function()
    local s = adapter.summarizer({ model = "m", kind = "text", name = "x" }, "X")
    assert.is_table(s)
    assert.equal("summarize", s.kind)
    assert.equal("m", s.model)
    assert.is_function(s.summarize)
  end)
end)

describe("adapter.fetch", function()
  it("downloads every byte of a 2xx answer and closes it", function()
    local closed = false
    local parts = { "ab", "cd" }
    local t = scripted_transport({ { status = 200, headers = { ["content-type"] = "image/png" },
      read = function() return table.remove(parts, 1) end, close = function() closed = true end } })
    local bytes, res = adapter.fetch({ method = "GET", url = "https://example.test/i.png" }, { transport = t })
    assert.equal("abcd", bytes)
    assert.equal(200, res.status)
    assert.is_true(closed)
    assert.equal("GET", t.seen[1].method)
  end)

  it("is nil, err for a non-2xx answer", function()
    local t = scripted_transport({ whole(404, "text/plain", "gone") })
    local bytes, err = adapter.fetch({ method = "GET", url = "https://example.test/x" },
      { transport = t, max_retries = 0 })
    assert.is_nil(bytes)
    assert.equal(404, err.status)
  end)
end)
