-- cf.binding (cloudflare.tanstack_ai.binding), the REST-backed stand-in for a Worker's env.AI, against the
-- emulator: AI:run (JSON, bytes, streams, gateway options, raw responses, errors), AI:gateway(id),
-- gateway:get_url and gateway:run (the universal endpoint).
local cf = require("cloudflare.tanstack_ai")
local json = require("tanstack.ai.json")
local emulator = require("helpers.emulator")

local TOKEN, CF_TOKEN = "wai-token-binding-1", "cf-aig-token-binding-2"
local CHAT = "@cf/meta/llama-3.1-8b-instruct-fp8"
local SDXL = "@cf/stabilityai/stable-diffusion-xl-base-1.0"

local emu

local function new_ai(extra)
  local c = { accountId = "0123456789abcdef0123456789abcdef", apiKey = TOKEN, cfApiKey = CF_TOKEN,
    apiBaseUrl = emu.url .. "/client/v4", gatewayBaseUrl = emu.url .. "/v1" }
  for k, v in pairs(extra or {}) do c[k] = v end
  return cf.binding(c)
end

local function drain(iter)
  local parts = {}
  for _ = 1, 10000 do
    local chunk, err = iter()
    assert.is_nil(err)
    if chunk == nil then break end
    parts[#parts + 1] = chunk
  end
  return table.concat(parts)
end

-- The text of a Workers AI native SSE stream.
local function native_text(sse)
  local out = {}
  for data in sse:gmatch("data: ([^\n]*)") do
    if data ~= "[DONE]" then
      local v = json.decode(data)
      if v and type(v.response) == "string" then out[#out + 1] = v.response end
    end
  end
  return table.concat(out)
end

local function err_of(fn)
  local ok, e = pcall(fn)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

describe("cf.binding", function()
  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("needs REST credentials", function()
    assert.matches("cf.binding: needs { accountId, apiKey }", err_of(function()
      cf.binding({ accountId = "0123456789abcdef0123456789abcdef", gatewayId = "gw", apiKey = TOKEN })
    end), 1, true)
  end)

  describe("AI:run", function()
    it("returns the JSON result without the envelope", function()
      local AI = new_ai()
      local r, err = AI:run(CHAT, { prompt = "hi there" })
      assert.is_nil(err)
      assert.equal("Hello from the Workers AI emulator! You said: hi there", r.response)
      assert.is_nil(r.result)
      assert.is_nil(r.success)
      assert.equal(2, r.usage.prompt_tokens)

      local reqs = emu:requests()
      assert.equal(1, #reqs)
      local req = reqs[1]
      assert.equal("POST", req.method)
      assert.equal("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/run/" .. CHAT, req.path)
      assert.equal("Bearer " .. TOKEN, req.headers.authorization)
      assert.equal("application/json", req.headers["content-type"])
      assert.is_nil(req.headers["cf-aig-authorization"])
      assert.same({ prompt = "hi there" }, req.json)
      assert.same({}, req.query)

      assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", AI.lastRequestId)
      assert.equal(200, AI.lastRequestHttpStatusCode)
      assert.is_nil(AI.aiGatewayLogId)
    end)

    it("returns a binary model's bytes", function()
      local bytes, err = new_ai():run(SDXL, { prompt = "a cat" })
      assert.is_nil(err)
      assert.equal("string", type(bytes))
      assert.equal("\137PNG\r\n\26\n", bytes:sub(1, 8))
      assert.truthy(#bytes > 8)
      assert.equal("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/run/" .. SDXL, emu:last_request().path)
    end)

    it("sends a binary input as the raw body and the other inputs as query parameters", function()
      local audio = string.rep("\0\1\2\3", 25)
      local r, err = new_ai():run("@cf/deepgram/nova-3", { audio = { body = audio, contentType = "audio/wav" },
        detect_language = true })
      assert.is_nil(err)
      assert.equal("transcribed 100 bytes", r.results.channels[1].alternatives[1].transcript)
      assert.equal("en", r.results.channels[1].detected_language)
      local req = emu:last_request()
      assert.equal("audio/wav", req.headers["content-type"])
      assert.same({ detect_language = "true" }, req.query)
      assert.equal("100", req.headers["content-length"])
      assert.equal(string.rep("AAECAwABAgMAAQID", 8) .. "AAECAw==", req.body_base64)
    end)

    it("returns a stream as an iterator and a closer", function()
      local iter, close = new_ai():run(CHAT, { prompt = "hi", stream = true })
      assert.equal("function", type(iter))
      assert.equal("function", type(close))
      local sse = drain(iter)
      assert.equal("Hello from the Workers AI emulator! You said: hi", native_text(sse))
      assert.equal("data: [DONE]\n\n", sse:sub(-14))
      assert.is_nil(iter())
      local req = emu:last_request()
      assert.is_true(req.json.stream)
      assert.equal("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/run/" .. CHAT, req.path)
    end)

    it("stops a stream early with the closer", function()
      emu:next({ drip_ms = 300 })
      local iter, close = new_ai():run(CHAT, { prompt = "one two three four five", stream = true })
      local first = iter()
      assert.matches("^data: ", first)
      close()
      local recs = emu:wait_for(function(r) return r[1] and r[1].closed_early == true end, 10)
      assert.truthy(recs, "the emulator saw the client go away")
    end)

    it("sends options.gateway to the gateway URL with the cf-aig-* headers", function()
      local AI = new_ai()
      local r, err = AI:run(CHAT, { prompt = "via gateway" }, { gateway = { id = "gw1", skipCache = true,
        cacheTtl = 3600, cacheKey = "ck-1", metadata = { user = "u1", n = 2 }, collectLog = false, eventId = "ev-9",
        requestTimeoutMs = 5000 } })
      assert.is_nil(err)
      assert.equal("Hello from the Workers AI emulator! You said: via gateway", r.response)
      local req = emu:last_request()
      assert.equal("/v1/0123456789abcdef0123456789abcdef/gw1/workers-ai/" .. CHAT, req.path)
      assert.equal("Bearer " .. TOKEN, req.headers.authorization)
      assert.equal("Bearer " .. CF_TOKEN, req.headers["cf-aig-authorization"])
      assert.equal("true", req.headers["cf-aig-skip-cache"])
      assert.equal("3600", req.headers["cf-aig-cache-ttl"])
      assert.equal("ck-1", req.headers["cf-aig-cache-key"])
      assert.equal('{"n":2,"user":"u1"}', req.headers["cf-aig-metadata"])
      assert.equal("false", req.headers["cf-aig-collect-log"])
      assert.equal("ev-9", req.headers["cf-aig-event-id"])
      assert.equal("5000", req.headers["cf-aig-request-timeout"])
      assert.same({ prompt = "via gateway" }, req.json)
      assert.same({}, req.query) -- the gateway options are headers, not query parameters
      assert.matches("^[0-9A-HJKMNP-TV-Z]+$", AI.aiGatewayLogId)
      assert.equal(26, #AI.aiGatewayLogId)
    end)

    it("sends no gateway token without cfApiKey, so an authenticated gateway refuses", function()
      local AI = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = TOKEN, gatewayBaseUrl = emu.url .. "/v1" })
      local r, err = AI:run(CHAT, { prompt = "x" }, { gateway = { id = "authgw" } })
      assert.is_nil(r)
      assert.equal(401, err.status)
      assert.equal(2009, err.code)
      assert.is_nil(emu:last_request().headers["cf-aig-authorization"])
      local ok = new_ai():run(CHAT, { prompt = "y" }, { gateway = { id = "authgw" } })
      assert.equal("Hello from the Workers AI emulator! You said: y", ok.response)
    end)

    it("sends extraHeaders and scalar options as query parameters", function()
      local r, err = new_ai():run(CHAT, { prompt = "q" }, { extraHeaders = { ["X-Session-Affinity"] = "s-1" },
        queueRequest = true, prefix = "ignored" })
      assert.is_nil(err)
      assert.equal("queued", r.status)
      assert.equal(CHAT, r.model)
      local req = emu:last_request()
      assert.equal("s-1", req.headers["x-session-affinity"])
      assert.same({ queueRequest = "true" }, req.query)
    end)

    it("returns the raw response with returnRawResponse", function()
      local AI = new_ai()
      local raw = AI:run(CHAT, { prompt = "raw" }, { returnRawResponse = true })
      assert.equal(200, raw.status)
      assert.equal("application/json", raw.headers["content-type"])
      assert.equal(AI.lastRequestId, raw.headers["cf-ai-req-id"])
      assert.equal("function", type(raw.body))
      assert.equal("function", type(raw.close))
      local v = json.decode(drain(raw.body))
      raw.close()
      assert.is_true(v.success)
      assert.equal("Hello from the Workers AI emulator! You said: raw", v.result.response)
    end)

    it("returns an error status as it is with returnRawResponse", function()
      emu:next({ status = 429, code = 3040 })
      local raw = new_ai():run(CHAT, { prompt = "x" }, { returnRawResponse = true })
      assert.equal(429, raw.status)
      local v = json.decode(drain(raw.body))
      raw.close()
      assert.is_false(v.success)
      assert.equal(3040, v.errors[1].code)
    end)

    it("returns nil, err with the status and code of an error answer, without retrying", function()
      local AI = new_ai()
      emu:next({ status = 429, code = 3040 })
      local r, err = AI:run(CHAT, { prompt = "x" })
      assert.is_nil(r)
      assert.equal(429, err.status)
      assert.equal(3040, err.code)
      assert.equal("http", err.kind)
      assert.equal("workers-ai", err.provider)
      assert.is_true(err.retryable)
      assert.equal(429, AI.lastRequestHttpStatusCode)
      assert.equal(1, #emu:requests())

      emu:next({ status = 400 })
      r, err = AI:run(CHAT, { prompt = "x" })
      assert.is_nil(r)
      assert.equal(400, err.status)
      assert.equal(5006, err.code)
      assert.is_false(err.retryable)
    end)

    it("turns a 200 answer with success = false into nil, err", function()
      emu:next({ json = { success = false, result = json.null, errors = { { code = 5006, message = "bad thing" } } } })
      local r, err = new_ai():run(CHAT, { prompt = "x" })
      assert.is_nil(r)
      assert.equal(5006, err.code)
      assert.equal("bad thing", err.message)
      assert.equal(200, err.status)
    end)

    it("fails with kind decode on invalid JSON", function()
      emu:next({ raw = "{not json", content_type = "application/json" })
      local r, err = new_ai():run(CHAT, { prompt = "x" })
      assert.is_nil(r)
      assert.equal("decode", err.kind)
    end)

    it("refuses bad arguments", function()
      local AI = new_ai()
      assert.matches("AI:run: model must be a non%-empty string", err_of(function() AI:run("", {}) end))
      assert.matches("AI:run: inputs must be a table", err_of(function() AI:run(CHAT, "hi") end))
      assert.equal(0, #emu:requests())
    end)
  end)

  describe("AI:gateway", function()
    it("refuses a bad id", function()
      local AI = new_ai()
      for id, why in pairs({ ["bad id"] = "must not contain whitespace", ["a/b"] = "must not contain '/'",
        [""] = "must be a non-empty string", ["gw?x=1"] = "must not contain '?'", [42] = "must be a non-empty string",
        [".."] = "must not contain a '..' path segment", ["../../x?y="] = "must not contain '?'" }) do
        assert.matches("AI:gateway: id " .. why, err_of(function() AI:gateway(id) end), 1, true)
      end
      assert.matches("AI:gateway: id must be a non-empty string", err_of(function() AI:gateway() end), 1, true)
      assert.equal(0, #emu:requests())
    end)

    it("get_url gives the gateway URL, with the provider when given", function()
      local g = new_ai():gateway("my-gw_1.x")
      assert.equal(emu.url .. "/v1/0123456789abcdef0123456789abcdef/my-gw_1.x/openai", g:get_url("openai"))
      assert.equal(emu.url .. "/v1/0123456789abcdef0123456789abcdef/my-gw_1.x", g:get_url())
      assert.equal(emu.url .. "/v1/0123456789abcdef0123456789abcdef/my-gw_1.x/anthropic", g:getUrl("anthropic"))
      local g2 = new_ai({ gatewayBaseUrl = emu.url .. "/v1//" }):gateway("gw")
      assert.equal(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/google-ai-studio", g2:get_url("google-ai-studio"))
    end)
  end)

  describe("gateway:run", function()
    local function wai_entry(prompt, extra)
      local e = { provider = "workers-ai", endpoint = CHAT, headers = { authorization = "Bearer " .. TOKEN },
        query = { prompt = prompt } }
      for k, v in pairs(extra or {}) do e.query[k] = v end
      return e
    end

    it("posts one entry to the universal endpoint and returns status, headers and body", function()
      local g = new_ai():gateway("authgw")
      local res, err = g:run(wai_entry("u1"))
      assert.is_nil(err)
      assert.equal(200, res.status)
      assert.equal("0", res.headers["cf-aig-step"])
      assert.equal("string", type(res.body))
      local v = json.decode(res.body)
      assert.equal("Hello from the Workers AI emulator! You said: u1", v.result.response)

      local req = emu:last_request()
      assert.equal("/v1/0123456789abcdef0123456789abcdef/authgw", req.path)
      assert.equal("POST", req.method)
      assert.equal("application/json", req.headers["content-type"])
      assert.equal("Bearer " .. CF_TOKEN, req.headers["cf-aig-authorization"])
      assert.is_nil(req.headers.authorization)
      assert.same({ { provider = "workers-ai", endpoint = CHAT, headers = { authorization = "Bearer " .. TOKEN },
        query = { prompt = "u1" } } }, req.json)
      assert.equal(1, #req.universal_steps)
      assert.equal("/v1/0123456789abcdef0123456789abcdef/authgw/workers-ai/" .. CHAT, req.universal_steps[1].path)
      assert.equal(200, req.universal_steps[1].status)
    end)

    it("sends the gateway options and extraHeaders on the outer request", function()
      local g = new_ai():gateway("gw2")
      assert(g:run(wai_entry("o"), { gateway = { skipCache = true, cacheTtl = 120, eventId = "e-1" },
        extraHeaders = { ["X-Trace"] = "t1" } }))
      local h = emu:last_request().headers
      assert.equal("true", h["cf-aig-skip-cache"])
      assert.equal("120", h["cf-aig-cache-ttl"])
      assert.equal("e-1", h["cf-aig-event-id"])
      assert.equal("t1", h["x-trace"])
    end)

    it("posts an array of entries in order, and the gateway falls back", function()
      emu:next({ status = 500 }) -- step 0 fails
      local g = new_ai():gateway("gw3")
      local first = { provider = "openai", endpoint = "chat/completions", headers = { authorization = "Bearer sk-x" },
        query = { model = "gpt-4o-mini", messages = { { role = "user", content = "a" } } } }
      local res, err = g:run({ first, wai_entry("fallback") })
      assert.is_nil(err)
      assert.equal(200, res.status)
      assert.equal("1", res.headers["cf-aig-step"])
      assert.equal("Hello from the Workers AI emulator! You said: fallback", json.decode(res.body).result.response)
      local req = emu:last_request()
      assert.equal(2, #req.json)
      assert.equal("openai", req.json[1].provider)
      assert.equal("chat/completions", req.json[1].endpoint)
      assert.equal("workers-ai", req.json[2].provider)
      assert.equal(2, #req.universal_steps)
      assert.equal(500, req.universal_steps[1].status)
      assert.equal(200, req.universal_steps[2].status)
    end)

    it("returns a streamed answer as an iterator body", function()
      local res, err = new_ai():gateway("gw4"):run(wai_entry("s", { stream = true }))
      assert.is_nil(err)
      assert.equal(200, res.status)
      assert.equal("function", type(res.body))
      assert.equal("function", type(res.close))
      local sse = drain(res.body)
      res.close()
      assert.equal("Hello from the Workers AI emulator! You said: s", native_text(sse))
    end)

    it("returns an error answer as a response (status and body), not as nil, err", function()
      local AI = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = TOKEN, gatewayBaseUrl = emu.url .. "/v1" })
      local res, err = AI:gateway("authgw"):run(wai_entry("x"))
      assert.is_nil(err)
      assert.equal(401, res.status)
      local v = json.decode(res.body)
      assert.is_false(v.success)
      assert.equal(2009, v.error[1].code)
    end)

    it("refuses something that is not an entry", function()
      local g = new_ai():gateway("gw5")
      assert.matches("gateway:run: expected a universal entry or an array of them", err_of(function() g:run("x") end), 1, true)
      assert.equal(0, #emu:requests())
    end)
  end)
end)

describe("cf.binding gateway credentials", function()
  it("a Workers AI entry without authorization gets the binding's key; another provider's entry never does", function()
    local sent
    local transport = { request = function(req)
      sent = req
      return { status = 200, headers = { ["content-type"] = "application/json" },
        read = function() return nil end, close = function() end, body = "{}" }
    end }
    local AI = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = "binding-key-123456", transport = transport })
    local gw = AI:gateway("gw")
    assert.is_truthy(gw:run({
      { provider = "workers-ai", endpoint = "@cf/m", headers = {}, query = { prompt = "a" } },
      { provider = "openai", endpoint = "chat/completions", headers = {}, query = { model = "x" } },
      { provider = "workers-ai", endpoint = "@cf/m", headers = { Authorization = "Bearer own-key" }, query = {} },
    }))
    local entries = json.decode(sent.body)
    assert.equals("Bearer binding-key-123456", entries[1].headers.authorization)
    assert.is_nil(entries[2].headers.authorization)
    assert.equals("Bearer own-key", entries[3].headers.Authorization)
    assert.is_nil(entries[3].headers.authorization)
  end)
end)
