-- cloudflare.tanstack_ai.request: a request description turned into a REST call, a gateway URL call, a
-- universal entry for a gateway binding or a binding run, with the retry loop, and whole answers read.
-- The network is stood in for by transport stubs and fake bindings; the module itself is never stubbed.
local config = require("cloudflare.tanstack_ai.config")
local request = require("cloudflare.tanstack_ai.request")
local errors = require("tanstack.ai.errors")
local json = require("tanstack.ai.json")

local MODEL = "@cf/meta/llama-3.1-8b-instruct"
local API = "https://api.example.test/client/v4"
local GW = "https://gw.example.test/v1"
local KEY, CF_KEY = "prov-key-123", "cf-aig-key-456"

local function resolve(user, gateway_only)
  return config.resolve(user, { label = "t", needs_provider_key = not gateway_only, gateway_only = gateway_only })
end

local function merge(a, b)
  local o = {}
  for k, v in pairs(a) do o[k] = v end
  for k, v in pairs(b or {}) do o[k] = v end
  return o
end

local function rest_cfg(extra)
  return resolve(merge({ accountId = "acct", apiKey = KEY, apiBaseUrl = API }, extra))
end

local function gw_cfg(extra, gateway_only)
  return resolve(merge({ accountId = "acct", gatewayId = "gw1", apiKey = KEY, gatewayBaseUrl = GW }, extra), gateway_only)
end

-- A Workers AI chat description.
local function chat_desc(extra)
  return merge({
    provider = "workers-ai", model = MODEL, label = "Workers AI chat",
    body = { messages = { { role = "user", content = "hi" } } },
    rest_path = "/ai/run/" .. MODEL, gateway_path = MODEL,
  }, extra)
end

-- A transport stub: answers from the list in turn (the last one repeats) and records each request.
local function stub(answers)
  local t = { calls = {} }
  function t.request(req)
    t.calls[#t.calls + 1] = req
    local a = answers[#t.calls] or answers[#answers]
    local closed = false
    return { status = a.status, headers = a.headers or {}, body = a.body,
      close = function() closed = true; t.closed = (t.closed or 0) + 1 end, is_closed = function() return closed end }
  end
  return t
end

local JSON_CT = { ["content-type"] = "application/json" }

local function count_prefix(h, prefix)
  local n = 0
  for k in pairs(h) do if k:sub(1, #prefix) == prefix then n = n + 1 end end
  return n
end

describe("cloudflare.tanstack_ai.request", function()
  describe("rest_request in rest mode", function()
    it("posts the JSON body to the account API with the bearer key", function()
      local cfg = rest_cfg()
      assert.equal("rest", cfg.mode)
      local d = chat_desc()
      local req = request.rest_request(cfg, d)
      assert.equal("POST", req.method)
      assert.equal(API .. "/accounts/acct/ai/run/" .. MODEL, req.url)
      assert.same({ authorization = "Bearer " .. KEY, ["content-type"] = "application/json" }, req.headers)
      assert.equal('{"messages":[{"content":"hi","role":"user"}]}', req.body)
      assert.equal(config.DEFAULT_TIMEOUT, req.timeout)
      assert.equal(config.DEFAULT_CONNECT_TIMEOUT, req.connect_timeout)
      assert.equal(config.DEFAULT_IDLE_TIMEOUT, req.idle_timeout)
      assert.is_nil(req.ca_file)
    end)

    it("asks for SSE when the description streams", function()
      local req = request.rest_request(rest_cfg(), chat_desc({ stream = true }))
      assert.equal("text/event-stream", req.headers.accept)
      assert.is_nil(request.rest_request(rest_cfg(), chat_desc()).headers.accept)
    end)

    it("sends session affinity only when the description asks and the config has one", function()
      local with = rest_cfg({ sessionAffinity = "sess-1" })
      assert.equal("sess-1", request.rest_request(with, chat_desc({ session = true })).headers["x-session-affinity"])
      assert.is_nil(request.rest_request(with, chat_desc()).headers["x-session-affinity"])
      assert.is_nil(request.rest_request(rest_cfg(), chat_desc({ session = true })).headers["x-session-affinity"])
    end)

    it("appends the query, honours the method, and passes timeouts and ca_file from the config", function()
      local cfg = rest_cfg({ timeout = 1234, connectTimeout = 55, idleTimeout = 66, caFile = "/etc/ca.pem" })
      local req = request.rest_request(cfg, chat_desc({ method = "PUT", query = { queueRequest = true, b = "x y" } }))
      assert.equal("PUT", req.method)
      assert.equal(API .. "/accounts/acct/ai/run/" .. MODEL .. "?b=x%20y&queueRequest=true", req.url)
      assert.equal(1234, req.timeout)
      assert.equal(55, req.connect_timeout)
      assert.equal(66, req.idle_timeout)
      assert.equal("/etc/ca.pem", req.ca_file)
    end)

    it("sends a raw body with its content type (octet-stream when none)", function()
      local bytes = "RIFF\0\0\0\0WAVE"
      local req = request.rest_request(rest_cfg(), chat_desc({ body = bytes, content_type = "audio/wav" }))
      assert.equal(bytes, req.body)
      assert.equal("audio/wav", req.headers["content-type"])
      local req2 = request.rest_request(rest_cfg(), chat_desc({ body = bytes }))
      assert.equal("application/octet-stream", req2.headers["content-type"])
    end)

    it("copies the description's headers without changing them, and adds the config's headers", function()
      local dh = { ["x-provider"] = "p" }
      local req = request.rest_request(rest_cfg({ headers = { ["x-extra"] = "e" } }), chat_desc({ headers = dh, stream = true }))
      assert.equal("p", req.headers["x-provider"])
      assert.equal("e", req.headers["x-extra"])
      assert.same({ ["x-provider"] = "p" }, dh)
    end)
  end)

  describe("rest_request in gateway REST mode", function()
    it("posts to {base}/{acct}/{gw}/{provider}/{path}?query with the key and cf-aig-* headers", function()
      local cfg = gw_cfg({ cfApiKey = CF_KEY, skipCache = true, cacheTtl = 3600, customCacheKey = "ck1",
        metadata = { user = "u1" } })
      assert.equal("gateway_rest", cfg.mode)
      local req = request.rest_request(cfg, chat_desc({ query = { queueRequest = true } }))
      assert.equal("POST", req.method)
      assert.equal(GW .. "/acct/gw1/workers-ai/" .. MODEL .. "?queueRequest=true", req.url)
      assert.same({
        authorization = "Bearer " .. KEY,
        ["content-type"] = "application/json",
        ["cf-aig-authorization"] = "Bearer " .. CF_KEY,
        ["cf-aig-skip-cache"] = "true",
        ["cf-aig-cache-ttl"] = "3600",
        ["cf-aig-cache-key"] = "ck1",
        ["cf-aig-metadata"] = '{"user":"u1"}',
      }, req.headers)
      assert.equal('{"messages":[{"content":"hi","role":"user"}]}', req.body)
    end)

    it("sends no cf-aig-* header when the config has no gateway token or options", function()
      local req = request.rest_request(gw_cfg(), chat_desc())
      assert.equal(0, count_prefix(req.headers, "cf-aig-"))
      assert.equal("Bearer " .. KEY, req.headers.authorization)
    end)

    it("sends only the gateway token when there is no provider key", function()
      local cfg = resolve({ accountId = "acct", gatewayId = "gw1", cfApiKey = CF_KEY, gatewayBaseUrl = GW })
      local req = request.rest_request(cfg, chat_desc())
      assert.is_nil(req.headers.authorization)
      assert.equal("Bearer " .. CF_KEY, req.headers["cf-aig-authorization"])
    end)

    local providers = {
      { "anthropic", "v1/messages", "x-api-key", KEY },
      { "google-ai-studio", "v1beta/models/gemini-2.0-flash:generateContent", "x-goog-api-key", KEY },
      { "openai", "v1/chat/completions", "authorization", "Bearer " .. KEY },
      { "grok", "v1/chat/completions", "authorization", "Bearer " .. KEY },
      { "openrouter", "v1/chat/completions", "authorization", "Bearer " .. KEY },
    }
    for _, p in ipairs(providers) do
      it(p[1] .. " gets its key in " .. p[3], function()
        local cfg = gw_cfg({ cfApiKey = CF_KEY }, true)
        local d = { provider = p[1], label = "x", body = { a = 1 }, gateway_path = p[2], stream = true,
          headers = p[1] == "anthropic" and { ["anthropic-version"] = "2023-06-01" } or nil }
        local req = request.rest_request(cfg, d)
        assert.equal(GW .. "/acct/gw1/" .. p[1] .. "/" .. p[2], req.url)
        local want = { ["content-type"] = "application/json", accept = "text/event-stream",
          ["cf-aig-authorization"] = "Bearer " .. CF_KEY, [p[3]] = p[4] }
        if p[1] == "anthropic" then want["anthropic-version"] = "2023-06-01" end
        assert.same(want, req.headers)
      end)
    end
  end)

  describe("rest_request with an explicit gateway URL (a gateway binding's get_url)", function()
    it("appends the gateway path and query and adds the provider key and cache headers", function()
      local cfg = resolve({ binding = { run = function() end }, apiKey = KEY, skipCache = true })
      assert.equal("gateway_binding", cfg.mode)
      local req = request.rest_request(cfg, { provider = "openai", gateway_path = "audio/transcriptions",
        query = { x = "1" }, body = "--b\r\n", content_type = "multipart/form-data; boundary=b" },
        "https://gw.example.test/v1/acct/gwb/openai")
      assert.equal("https://gw.example.test/v1/acct/gwb/openai/audio/transcriptions?x=1", req.url)
      assert.same({ authorization = "Bearer " .. KEY, ["content-type"] = "multipart/form-data; boundary=b",
        ["cf-aig-skip-cache"] = "true" }, req.headers)
      assert.equal("--b\r\n", req.body)
    end)
  end)

  describe("universal_entry", function()
    local function gb_cfg(extra, gateway_only)
      return resolve(merge({ binding = { run = function() end }, apiKey = KEY }, extra), gateway_only)
    end

    it("has the provider, the gateway path + query as endpoint, the headers and the body as query", function()
      local cfg = gb_cfg({ skipCache = true, cacheTtl = 120, customCacheKey = "k", metadata = { m = "1" },
        sessionAffinity = "s-9" })
      local body = { messages = { { role = "user", content = "hi" } } }
      local e = request.universal_entry(cfg, chat_desc({ body = body, query = { b = "2", a = "1" }, session = true,
        headers = { ["x-h"] = "v" } }))
      assert.equal("workers-ai", e.provider)
      assert.equal(MODEL .. "?a=1&b=2", e.endpoint)
      assert.same({
        ["x-h"] = "v",
        ["content-type"] = "application/json",
        authorization = "Bearer " .. KEY,
        ["cf-aig-skip-cache"] = "true",
        ["cf-aig-cache-ttl"] = "120",
        ["cf-aig-cache-key"] = "k",
        ["cf-aig-metadata"] = '{"m":"1"}',
        ["x-session-affinity"] = "s-9",
      }, e.headers)
      assert.equal(body, e.query)
    end)

    it("lets entry_endpoint and entry_body win", function()
      local inputs = { prompt = "p" }
      local e = request.universal_entry(gb_cfg(), chat_desc({ gateway_path = "v1/chat/completions", query = { z = 1 },
        entry_endpoint = MODEL, entry_body = inputs }))
      assert.equal(MODEL, e.endpoint)
      assert.equal(inputs, e.query)
    end)

    it("uses the provider's auth header", function()
      local cfg = gb_cfg({}, true)
      local a = request.universal_entry(cfg, { provider = "anthropic", gateway_path = "v1/messages", body = {} })
      assert.same({ ["content-type"] = "application/json", ["x-api-key"] = KEY }, a.headers)
      local g = request.universal_entry(cfg, { provider = "google-ai-studio", gateway_path = "v1beta/models/m:generateContent",
        body = {} })
      assert.same({ ["content-type"] = "application/json", ["x-goog-api-key"] = KEY }, g.headers)
    end)

    it("has no session header without session, and no provider key without apiKey", function()
      local cfg = resolve({ binding = { run = function() end }, sessionAffinity = "s" }, true)
      local e = request.universal_entry(cfg, { provider = "openai", gateway_path = "v1/chat/completions", body = {} })
      assert.same({ ["content-type"] = "application/json" }, e.headers)
    end)

    it("is nil for a raw body", function()
      assert.is_nil(request.universal_entry(gb_cfg(), chat_desc({ body = "bytes", content_type = "audio/wav" })))
    end)
  end)

  describe("send in gateway binding mode", function()
    it("runs the universal entry on the binding and returns its response", function()
      local seen, seen_self, nargs
      local b = {}
      b.run = function(self, ...)
        seen_self, nargs, seen = self, select("#", ...), (...)
        return { status = 200, headers = { ["Content-Type"] = "application/json", ["CF-AIG-Log-Id"] = "L1" },
          body = '{"success":true,"result":{"response":"ok"},"errors":[]}' }
      end
      local cfg = resolve({ binding = b, apiKey = KEY, cacheTtl = 300 })
      local d = chat_desc()
      local res, err = request.send(cfg, d)
      assert.is_nil(err)
      assert.equal(b, seen_self)
      assert.equal(1, nargs)
      assert.same(request.universal_entry(cfg, d), seen)
      assert.same({ provider = "workers-ai", endpoint = MODEL, query = d.body,
        headers = { ["content-type"] = "application/json", authorization = "Bearer " .. KEY, ["cf-aig-cache-ttl"] = "300" } },
        seen)
      assert.equal(200, res.status)
      assert.equal("L1", res.headers["cf-aig-log-id"])
      local out = request.read(res, d.label, d.provider)
      assert.same({ response = "ok" }, out.value)
    end)

    it("turns a binding's stream body, table body and missing status into the response shape", function()
      local iter = function() return nil end
      local answers = {
        { status = "201", headers = { ["Content-Type"] = "text/event-stream" }, body = iter, close = function() end },
        { body = { result = { x = 1 }, success = true } },
      }
      local i = 0
      local b = { run = function() i = i + 1; return answers[i] end }
      local cfg = resolve({ binding = b, apiKey = KEY })
      local r1 = request.send(cfg, chat_desc())
      assert.equal(201, r1.status)
      assert.equal(iter, r1.read)
      assert.equal(answers[1].close, r1.close)
      assert.equal("text/event-stream", r1.headers["content-type"])
      local r2 = request.send(cfg, chat_desc())
      assert.equal(200, r2.status)
      assert.same({ result = { x = 1 }, success = true }, r2.value)
      assert.same({ x = 1 }, request.read(r2, "l", "workers-ai").value)
    end)

    it("retries a 503 answer from the binding, then succeeds", function()
      local calls = 0
      local b = { run = function()
        calls = calls + 1
        if calls == 1 then
          return { status = 503, headers = JSON_CT, body = '{"success":false,"error":[{"code":2005,"message":"down"}]}' }
        end
        return { status = 200, headers = JSON_CT, body = '{"ok":true}' }
      end }
      local res, err = request.send(resolve({ binding = b, apiKey = KEY }), chat_desc())
      assert.is_nil(err)
      assert.equal(2, calls)
      assert.equal(200, res.status)
    end)

    it("reports what the binding raises, returns instead of a response, or returns wrongly", function()
      local cfg = resolve({ binding = { run = function() error({ message = "exploded" }) end }, apiKey = KEY, maxRetries = 0 })
      local res, err = request.send(cfg, chat_desc())
      assert.is_nil(res)
      assert.equal("exploded", err.message)
      assert.equal("provider", err.kind)
      assert.equal("workers-ai", err.provider)
      assert.equal("Workers AI chat", err.label)

      cfg = resolve({ binding = { run = function() return nil, "no answer" end }, apiKey = KEY, maxRetries = 0 })
      res, err = request.send(cfg, chat_desc())
      assert.is_nil(res)
      assert.equal("no answer", err.message)

      cfg = resolve({ binding = { run = function() return "a string" end }, apiKey = KEY, maxRetries = 0 })
      res, err = request.send(cfg, chat_desc())
      assert.is_nil(res)
      assert.equal("gateway binding returned a string, expected a response table", err.message)
      assert.equal("provider", err.kind)
    end)

    it("posts a raw body over REST to the binding's get_url", function()
      local ran, url_for = 0, nil
      local b = {
        run = function() ran = ran + 1 end,
        get_url = function(self, provider) url_for = provider; return "https://gw.example.test/v1/acct/gwb/" .. provider end,
      }
      local t = stub({ { status = 200, headers = JSON_CT, body = '{"text":"transcribed"}' } })
      local cfg = resolve({ binding = b, apiKey = KEY, transport = t, customCacheKey = "ck" }, true)
      local d = { provider = "openai", label = "OpenAI transcription", gateway_path = "audio/transcriptions",
        body = "--bnd\r\ncontent\r\n--bnd--\r\n", content_type = "multipart/form-data; boundary=bnd" }
      local out, err = request.call(cfg, d)
      assert.is_nil(err)
      assert.same({ text = "transcribed" }, out.value)
      assert.equal(0, ran)
      assert.equal("openai", url_for)
      assert.equal(1, #t.calls)
      local req = t.calls[1]
      assert.equal("POST", req.method)
      assert.equal("https://gw.example.test/v1/acct/gwb/openai/audio/transcriptions", req.url)
      assert.equal(d.body, req.body)
      assert.same({ authorization = "Bearer " .. KEY, ["content-type"] = "multipart/form-data; boundary=bnd",
        ["cf-aig-cache-key"] = "ck" }, req.headers)
    end)

    it("uses getUrl (the camelCase spelling) too", function()
      local b = { run = function() end, getUrl = function(_, provider) return "https://g.test/v1/a/b/" .. provider end }
      local t = stub({ { status = 200, headers = { ["content-type"] = "audio/mpeg" }, body = "ID3" } })
      local cfg = resolve({ binding = b, apiKey = KEY, transport = t })
      local out = assert(request.call(cfg, chat_desc({ body = "bytes", content_type = "audio/wav" })))
      assert.equal("https://g.test/v1/a/b/workers-ai/" .. MODEL, t.calls[1].url)
      assert.equal("ID3", out.bytes)
      assert.equal("audio/mpeg", out.content_type)
    end)

    it("fails with kind config for a raw body when the binding has no get_url", function()
      local ran = 0
      local t = stub({ { status = 200, body = "" } })
      local cfg = resolve({ binding = { run = function() ran = ran + 1 end }, apiKey = KEY, transport = t })
      local res, err = request.send(cfg, chat_desc({ label = "Workers AI transcription", body = "RIFF",
        content_type = "audio/wav" }))
      assert.is_nil(res)
      assert.equal("config", err.kind)
      assert.is_false(err.retryable)
      assert.equal(1, err.attempts)
      assert.equal("workers-ai", err.provider)
      assert.matches("^Workers AI transcription: a raw or multipart body cannot travel", err.message)
      assert.matches("has no get_url", err.message, 1, true)
      assert.equal(0, ran)
      assert.equal(0, #t.calls)
    end)
  end)

  describe("send in plain binding mode", function()
    local function fake(run)
      return { run = run, gateway = function() end }
    end

    it("calls run(model, body, nil) and wraps a table result as JSON", function()
      local args
      local b = fake(function(self, model, inputs, options)
        args = { self = self, model = model, inputs = inputs, options = options }
        return { response = "hello" }
      end)
      local cfg = resolve({ binding = b })
      assert.equal("binding", cfg.mode)
      local d = chat_desc()
      local res, err = request.send(cfg, d)
      assert.is_nil(err)
      assert.equal(b, args.self)
      assert.equal(MODEL, args.model)
      assert.equal(d.body, args.inputs)
      assert.is_nil(args.options)
      assert.same({ status = 200, headers = { ["content-type"] = "application/json" }, value = { response = "hello" } }, res)
      assert.same({ response = "hello" }, request.read(res, d.label, d.provider).value)
    end)

    it("passes binding_inputs instead of the body", function()
      local got
      local cfg = resolve({ binding = fake(function(_, _, inputs) got = inputs; return {} end) })
      local inputs = { prompt = "native" }
      request.send(cfg, chat_desc({ binding_inputs = inputs }))
      assert.equal(inputs, got)
    end)

    it("sends x-session-affinity in options.extraHeaders when the description asks and the config has one", function()
      local got = {}
      local cfg = resolve({ binding = fake(function(_, _, _, options) got[#got + 1] = options or false; return {} end),
        sessionAffinity = "sess-77" })
      request.send(cfg, chat_desc({ session = true }))
      request.send(cfg, chat_desc())
      assert.same({ extraHeaders = { ["x-session-affinity"] = "sess-77" } }, got[1])
      assert.is_false(got[2])
      local cfg2 = resolve({ binding = fake(function(_, _, _, options) got[3] = options or false; return {} end) })
      request.send(cfg2, chat_desc({ session = true }))
      assert.is_false(got[3])
    end)

    it("turns a string result into bytes", function()
      local cfg = resolve({ binding = fake(function() return "\137PNG\r\n" end) })
      local res = assert(request.send(cfg, chat_desc()))
      assert.same({ status = 200, headers = { ["content-type"] = "application/octet-stream" }, body = "\137PNG\r\n",
        binary = true }, res)
      local out = request.read(res, "img", "workers-ai")
      assert.equal("\137PNG\r\n", out.bytes)
      assert.equal("application/octet-stream", out.content_type)
    end)

    it("turns a function result into an SSE stream, with the closer the binding returns", function()
      local iter = function() return nil end
      local closer = function() end
      local cfg = resolve({ binding = fake(function() return iter, closer end) })
      local res = assert(request.send(cfg, chat_desc({ stream = true })))
      assert.equal(200, res.status)
      assert.equal("text/event-stream", res.headers["content-type"])
      assert.equal(iter, res.read)
      assert.equal(closer, res.close)

      local cfg2 = resolve({ binding = fake(function() return iter end) })
      local res2 = assert(request.send(cfg2, chat_desc({ stream = true })))
      assert.equal(iter, res2.read)
      assert.is_nil(res2.close)
    end)

    it("turns a raw response table (returnRawResponse) into the response shape", function()
      local cfg = resolve({ binding = fake(function()
        return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = '{"result":{"a":1},"success":true}' }
      end) })
      local res = assert(request.send(cfg, chat_desc()))
      assert.equal(200, res.status)
      assert.equal("application/json", res.headers["content-type"])
      assert.equal('{"result":{"a":1},"success":true}', res.body)
      assert.same({ a = 1 }, request.read(res, "l", "workers-ai").value)
    end)

    it("retries a binding that returns nil, {code = 3040} up to maxRetries", function()
      local calls = 0
      local cfg = resolve({ binding = fake(function() calls = calls + 1; return nil, { code = 3040, message = "Capacity" } end),
        maxRetries = 2 })
      local res, err = request.send(cfg, chat_desc())
      assert.is_nil(res)
      assert.equal(3, calls)
      assert.equal(3, err.attempts)
      assert.equal(3040, err.code)
      assert.equal(429, err.status)
      assert.equal("Workers AI chat", err.label)

      calls = 0
      local cfg0 = resolve({ binding = fake(function() calls = calls + 1; return nil, { code = 3040, message = "C" } end),
        maxRetries = 0 })
      assert.is_nil((request.send(cfg0, chat_desc())))
      assert.equal(1, calls)
    end)

    it("retries nil, {code = 3040} and then returns the result", function()
      local calls = 0
      local cfg = resolve({ binding = fake(function()
        calls = calls + 1
        if calls == 1 then return nil, { code = 3040, message = "Capacity" } end
        return { response = "second" }
      end) })
      local res, err = request.send(cfg, chat_desc())
      assert.is_nil(err)
      assert.equal(2, calls)
      assert.same({ response = "second" }, res.value)
    end)

    it("does not retry a binding error with a client code", function()
      local calls = 0
      local cfg = resolve({ binding = fake(function() calls = calls + 1; return nil, { code = 5007, message = "No such model" } end) })
      local res, err = request.send(cfg, chat_desc())
      assert.is_nil(res)
      assert.equal(1, calls)
      assert.equal(400, err.status)
      assert.equal(5007, err.code)
      assert.is_false(err.retryable)
    end)

    it("retries a binding that raises a table with code 3040", function()
      local calls = 0
      local cfg = resolve({ binding = fake(function() calls = calls + 1; error({ code = 3040, message = "Capacity" }) end),
        maxRetries = 1 })
      local res, err = request.send(cfg, chat_desc())
      assert.is_nil(res)
      assert.equal(2, calls)
      assert.equal(3040, err.code)
    end)

    it("retries a binding that raises \"3040: Capacity temporarily exceeded\"", function()
      local calls = 0
      local cfg = resolve({ binding = fake(function()
        calls = calls + 1
        error("3040: Capacity temporarily exceeded", 0)
      end), maxRetries = 2 })
      local res, err = request.send(cfg, chat_desc())
      assert.is_nil(res)
      assert.equal(3, calls)
      assert.equal(3040, err.code)
      assert.equal(429, err.status)
      assert.is_true(err.retryable)
    end)
  end)

  describe("send over REST with retries", function()
    it("retries a 503 and then succeeds (two transport calls)", function()
      local t = stub({
        { status = 503, headers = JSON_CT, body = '{"success":false,"errors":[{"code":3043,"message":"Internal"}]}' },
        { status = 200, headers = JSON_CT, body = '{"success":true,"result":{"response":"done"},"errors":[]}' },
      })
      local cfg = rest_cfg({ transport = t })
      local out, err = request.call(cfg, chat_desc())
      assert.is_nil(err)
      assert.same({ response = "done" }, out.value)
      assert.equal(2, #t.calls)
      assert.equal(t.calls[1].url, t.calls[2].url)
      assert.equal(API .. "/accounts/acct/ai/run/" .. MODEL, t.calls[2].url)
      assert.equal(t.calls[1].body, t.calls[2].body)
      assert.equal(2, t.closed) -- the failed answer and the successful one were both closed
    end)

    it("does not retry a 400 and reports its code", function()
      local t = stub({ { status = 400, headers = JSON_CT,
        body = '{"success":false,"errors":[{"code":5006,"message":"bad input"}],"result":null}' } })
      local res, err = request.send(rest_cfg({ transport = t }), chat_desc())
      assert.is_nil(res)
      assert.equal(1, #t.calls)
      assert.equal(400, err.status)
      assert.equal(5006, err.code)
      assert.equal("bad input", err.message)
      assert.equal("Workers AI chat", err.label)
      assert.equal("workers-ai", err.provider)
      assert.is_false(err.retryable)
    end)

    it("stops after maxRetries retries", function()
      local t = stub({ { status = 500, headers = JSON_CT, body = '{"success":false,"errors":[{"code":3043,"message":"x"}]}' } })
      local res, err = request.send(gw_cfg({ transport = t, maxRetries = 1 }), chat_desc())
      assert.is_nil(res)
      assert.equal(2, #t.calls)
      assert.equal(500, err.status)
      assert.equal(2, err.attempts)
      assert.equal(GW .. "/acct/gw1/workers-ai/" .. MODEL, t.calls[1].url)
    end)
  end)

  describe("read", function()
    local function res_of(ct, body)
      local closed = 0
      local r = { status = 200, headers = ct and { ["content-type"] = ct } or {}, body = body }
      r.close = function() closed = closed + 1 end
      return r, function() return closed end
    end

    it("turns {success=false, errors=[{code, message}]} into nil, err with the code", function()
      local res = res_of("application/json", '{"success":false,"errors":[{"code":5006,"message":"bad input"}],"result":null}')
      local out, err = request.read(res, "Workers AI chat", "workers-ai")
      assert.is_nil(out)
      assert.is_true(errors.is_error(err))
      assert.equal(5006, err.code)
      assert.equal("bad input", err.message)
      assert.equal("provider", err.kind)
      assert.equal("workers-ai", err.provider)
    end)

    it("turns a gateway error shape in a 200 answer into nil, err", function()
      local _, err = request.read(res_of("application/json", '{"error":[{"code":2005,"message":"gw failed"}]}'), "l", "openai")
      assert.equal(2005, err.code)
      assert.equal("gw failed", err.message)
    end)

    it("unwraps {success=true, result=...} and keeps the headers", function()
      local res = res_of("application/json; charset=utf-8", '{"success":true,"result":{"response":"hi"},"errors":[]}')
      local out, err = request.read(res, "l", "workers-ai")
      assert.is_nil(err)
      assert.same({ response = "hi" }, out.value)
      assert.equal(res.headers, out.headers)
    end)

    it("returns a JSON answer without envelope as it is", function()
      local out = request.read(res_of("application/json", '{"choices":[{"index":0}]}'), "l", "openai")
      assert.same({ choices = { { index = 0 } } }, out.value)
    end)

    it("returns bytes and the content type for a non-JSON answer, and closes it", function()
      local res, closed = res_of("image/png", "\137PNG\r\n\26\n")
      local out = request.read(res, "img", "workers-ai")
      assert.same({ bytes = "\137PNG\r\n\26\n", content_type = "image/png", headers = res.headers }, out)
      assert.equal(1, closed())
      local out2 = request.read(res_of(nil, "abc"), "x", "workers-ai")
      assert.equal("abc", out2.bytes)
      assert.is_nil(out2.content_type)
    end)

    it("reads a chunked body through res.read", function()
      local chunks = { '{"success":true,', '"result":[1,2]}' }
      local i = 0
      local res = { status = 200, headers = JSON_CT, read = function() i = i + 1; return chunks[i] end }
      local out = request.read(res, "l", "workers-ai")
      assert.same({ 1, 2 }, out.value)
    end)

    it("fails with kind decode on invalid JSON", function()
      local out, err = request.read(res_of("application/json", "{not json"), "Workers AI chat", "workers-ai")
      assert.is_nil(out)
      assert.equal("decode", err.kind)
      assert.equal("workers-ai", err.provider)
      assert.equal("{not json", err.body)
      assert.matches("^Workers AI chat: invalid JSON response", err.message)
    end)

    it("fails with kind decode on invalid JSON when the description has no label", function()
      local ok, out, err = pcall(request.read, res_of("application/json", "{not json"), nil, "workers-ai")
      assert.is_true(ok)
      assert.is_nil(out)
      assert.equal("decode", err.kind)
    end)

    it("reports a read error", function()
      local res = { status = 200, headers = JSON_CT, read = function() return nil, "connection reset" end }
      local out, err = request.read(res, "l", "workers-ai")
      assert.is_nil(out)
      assert.equal("connection reset", err.message)
      assert.equal("network", err.kind)
    end)

    it("uses a decoded value from a binding without reading", function()
      local res = { status = 200, headers = JSON_CT, value = { success = false, errors = { { code = 3040, message = "cap" } } } }
      local out, err = request.read(res, "l", "workers-ai")
      assert.is_nil(out)
      assert.equal(3040, err.code)
      assert.is_false(err.retryable)
      local ok = request.read({ status = 200, headers = JSON_CT, value = { result = "r", success = true } }, "l", "w")
      assert.equal("r", ok.value)
    end)
  end)

  describe("unwrap", function()
    it("strips the envelope of a successful answer", function()
      assert.same({ a = 1 }, request.unwrap({ success = true, result = { a = 1 }, errors = {}, messages = {} }))
      assert.equal("text", request.unwrap({ success = true, result = "text" }))
      assert.is_false(request.unwrap({ success = true, result = false }))
    end)

    it("strips it when only errors marks the envelope", function()
      assert.equal(5, request.unwrap({ result = 5, errors = {} }))
    end)

    it("keeps a failed envelope", function()
      local v = { success = false, result = { a = 1 }, errors = { { code = 1 } } }
      assert.equal(v, request.unwrap(v))
    end)

    it("keeps a table whose result is not an envelope's", function()
      local v = { result = { a = 1 } }
      assert.equal(v, request.unwrap(v))
      local w = { success = true }
      assert.equal(w, request.unwrap(w))
      local x = { response = "hi" }
      assert.equal(x, request.unwrap(x))
    end)

    it("returns non-tables as they are", function()
      assert.equal("s", request.unwrap("s"))
      assert.equal(3, request.unwrap(3))
      assert.is_nil(request.unwrap(nil))
    end)
  end)

  describe("from_binding_response", function()
    it("refuses a body that is neither string, table nor function", function()
      local res, err = request.from_binding_response({ status = 200, body = 42 })
      assert.is_nil(res)
      assert.equal("gateway binding response body must be a string or an iterator", err.message)
    end)

    it("lower-cases header names and reads a numeric status", function()
      local res = request.from_binding_response({ status = "404", headers = { ["X-Thing"] = "1" }, body = "nf" })
      assert.same({ status = 404, headers = { ["x-thing"] = "1" }, body = "nf" }, res)
    end)
  end)

  it("json encodes the body once per attempt, identically", function()
    local t = stub({ { status = 502, body = "" }, { status = 200, headers = JSON_CT, body = "{}" } })
    local d = chat_desc({ body = { b = json.array({}), a = "x" } })
    assert(request.send(rest_cfg({ transport = t }), d))
    assert.equal('{"a":"x","b":[]}', t.calls[1].body)
    assert.equal(t.calls[1].body, t.calls[2].body)
  end)
end)

describe("request as the pipeline's hook table", function()
  it("one pipeline per resolved config, made once and shared", function()
    local cfg = rest_cfg()
    local p = request.pipeline(cfg)
    assert.equal(p, request.pipeline(cfg))
    assert.are_not.equal(p, request.pipeline(rest_cfg()))
    assert.equal(request.HOOKS, p.hooks)
  end)

  it("send describes a REST call as data (the pipeline hands it to the transport)", function()
    local req = request.HOOKS.send(rest_cfg(), { provider = "workers-ai", model = MODEL, body = { a = 1 },
      rest_path = "/ai/run/" .. MODEL, stream = true })
    assert.equal(API .. "/accounts/acct/ai/run/" .. MODEL, req.url)
    assert.equal("POST", req.method)
    assert.equal("Bearer " .. KEY, req.headers.authorization)
    assert.equal("text/event-stream", req.headers.accept)
    assert.same({ a = 1 }, json.decode(req.body))
  end)

  it("send runs a plain binding and hands back its answer as a response", function()
    local ran
    local binding = { run = function(_, model, inputs) ran = { model, inputs } return { response = "hi" } end,
      gateway = function() end }
    local res = request.HOOKS.send(resolve({ binding = binding }), { provider = "workers-ai", model = MODEL,
      body = { prompt = "x" } })
    assert.is_nil(res.url)
    assert.same({ response = "hi" }, res.value)
    assert.same({ MODEL, { prompt = "x" } }, ran)
  end)

  it("prepare refuses a model that cannot be placed in a URL path", function()
    local err = request.HOOKS.prepare(rest_cfg(), { model = "../x", label = "L", provider = "workers-ai" })
    assert.equal("config", err.kind)
    assert.truthy(err.message:find("^L: "))
    assert.is_nil(request.HOOKS.prepare(rest_cfg(), { model = MODEL }))
  end)

  it("unwrap and payload_error are Cloudflare's envelope rules (errors.lua)", function()
    assert.same({ n = 1 }, request.HOOKS.unwrap({ success = true, result = { n = 1 } }))
    assert.equal(request.unwrap, request.HOOKS.unwrap)
    local err = request.HOOKS.payload_error({ success = false, errors = { { code = 7000, message = "No route" } } },
      "workers-ai")
    assert.truthy(err.message:find("No route", 1, true))
    assert.is_nil(request.HOOKS.payload_error({ result = {} }, "workers-ai"))
  end)
end)

describe("cloudflare.tanstack_ai uses tanstack.ai only through tanstack.ai.adapter", function()
  -- the files of the pipeline's share (router/, init.lua, gateway/init.lua and gateway/catalog.lua follow)
  local files = { "request", "binding", "config", "errors", "workers_ai/chat", "workers_ai/format",
    "workers_ai/media", "workers_ai/models", "gateway/chat", "gateway/image", "gateway/transcription",
    "gateway/tts" }
  for _, f in ipairs(files) do
    it(f .. ".lua", function()
      local fh = assert(io.open("lua/cloudflare/tanstack_ai/" .. f .. ".lua"))
      local src = fh:read("*a")
      fh:close()
      for name in src:gmatch('require%(?%s*"(tanstack%.ai[%w_.]*)"') do
        assert.equal("tanstack.ai.adapter", name)
      end
    end)
  end

  it("the wire format workers_ai/format.lua loads no I/O module", function()
    local saved = {}
    for _, m in ipairs({ "cloudflare.tanstack_ai.workers_ai.format", "cloudflare.tanstack_ai.request" }) do
      saved[m] = package.loaded[m]
      package.loaded[m] = nil
    end
    require("cloudflare.tanstack_ai.workers_ai.format")
    local loaded = package.loaded["cloudflare.tanstack_ai.request"]
    for m, v in pairs(saved) do package.loaded[m] = v end
    assert.is_nil(loaded)
  end)

  it("a config nothing uses any more is collected with its pipeline (no ephemerons on LuaJIT: found by the soak)", function()
    local gone = setmetatable({}, { __mode = "v" })
    do
      local cfg = config.resolve({ accountId = "acct", apiKey = "k" }, { label = "t" })
      local p = request.pipeline(cfg)
      assert.equals(p, request.pipeline(cfg)) -- made once per config while it lives
      gone[1] = cfg
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(gone[1], "the pipelines cache kept a dead config alive")
  end)
end)
