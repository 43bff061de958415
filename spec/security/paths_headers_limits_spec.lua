-- The edge is hostile: nothing from outside picks a URL path, smuggles a header or grows an answer past the
-- documented limit. Each attack is tried and refused before anything is sent: the transport stub (or the
-- emulator, for cf.binding) records no request.
local cf = require("cloudflare.tanstack_ai")
local config = require("cloudflare.tanstack_ai.config")
local request = require("cloudflare.tanstack_ai.request")
local errors = require("tanstack.ai.errors")
local ai = require("tanstack.ai")
local env = require("helpers.env")
local emulator = require("helpers.emulator")

local M = "@cf/meta/llama-3.1-8b-instruct-fp8"

-- A transport stub that records every request and answers a Workers AI chat completion.
local function stub()
  local t = { calls = {} }
  function t.request(req)
    t.calls[#t.calls + 1] = req
    return { status = 200, headers = { ["content-type"] = "application/json" },
      body = '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}',
      close = function() end }
  end
  return t
end

local function err_of(fn)
  local ok, e = pcall(fn)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

-- The four config shapes that send over REST (the binding shapes never build a URL from the config).
local function rest(t, extra)
  local c = { accountId = "acct", apiKey = "k", transport = t }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end
local function gw_rest(t, extra)
  local c = { accountId = "acct", gatewayId = "gw", apiKey = "k", transport = t }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

local REAL_MODELS = {
  "@cf/meta/llama-3.1-8b-instruct-fp8", "@cf/black-forest-labs/flux-1-schnell", "anthropic/claude-sonnet-4",
  "openai/gpt-4o:online", "gpt-4o-mini", "gemini-2.5-flash", "models/gemini-2.0-flash", "claude-3-5-haiku-20241022",
  "meta-llama/llama-3.3-70b-instruct:free", "@hf/thebloke/deepseek-coder-6.7b-base-awq", "dall-e-3",
  "@cf/baai/bge-base-en-v1.5", "@cf/meta/llama-4-scout-17b-16e-instruct", "grok-4", "claude-sonnet-4-5",
}

-- Attack -> the words of the refusal.
local MODEL_ATTACKS = {
  { "../../../../user/tokens", "model must not contain a '..' path segment" },
  { "x?y=1", "model must not contain '?'" },
  { "x#frag", "model must not contain '#'" },
  { "a//b", "model must not contain an empty path segment ('//')" },
  { "%2e%2e/x", "model must not contain '%'" },
  { "./x", "model must not contain a '.' path segment" },
  { "/abs", "model must not start or end with '/'" },
  { "x/", "model must not start or end with '/'" },
  { "a b", "model must not contain whitespace" },
  { "a\r\nHost: evil", "model must not contain control or non-ASCII characters (byte 0x0D)" },
  { "caf\195\169", "model must not contain control or non-ASCII characters (byte 0xC3)" },
  { "a\\..\\b", "model must not contain '\\'" },
  { "..;/x", "model must contain only letters, digits and - . _ ~ @ : + (found ';')" },
  { "", "model must be a non-empty string" },
}

describe("path-safe identifiers", function()
  it("every real model name passes the one check", function()
    local models = require("cloudflare.tanstack_ai.workers_ai.models")
    for _, m in ipairs(REAL_MODELS) do
      assert.is_nil(config.identifier_problem(m, true), m)
      local t = stub()
      local other_task = models.task_mismatch(m, "chat")
      if other_task then -- a catalog model of another task: refused when built, naming its constructor
        local ok, err = pcall(cf.create_workers_ai_chat, m, rest(t))
        assert.is_false(ok)
        assert.truthy(tostring(err):find(other_task, 1, true), tostring(err))
        m = "@cf/meta/llama-3.2-1b-instruct"
      end
      local adapter = cf.create_workers_ai_chat(m, rest(t))
      assert.equals(m, adapter.model)
      local text, err = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "hi" } } })
      assert.is_nil(err)
      assert.equals("ok", text)
      assert.equals(1, #t.calls)
    end
    for _, m in ipairs(REAL_MODELS) do
      local t = stub()
      cf.create_openai_chat(m, gw_rest(t))
      cf.create_gemini_chat(m, gw_rest(t))
      assert.equals(0, #t.calls)
    end
  end)

  for _, a in ipairs(MODEL_ATTACKS) do
    it("refuses the model " .. config.shown(a[1]) .. " at construction, in every mode", function()
      local t = stub()
      local fake_ai = { run = function() error("binding reached") end, gateway = function() end }
      local fake_gw = { run = function() error("binding reached") end }
      for _, build in ipairs({
        function() return cf.create_workers_ai_chat(a[1], rest(t)) end,
        function() return cf.create_workers_ai_chat(a[1], gw_rest(t)) end,
        function() return cf.create_workers_ai_image(a[1], rest(t)) end,
        function() return cf.create_workers_ai_chat(a[1], { binding = fake_ai }) end,
        function() return cf.create_workers_ai_tts(a[1], { binding = fake_gw, apiKey = "k" }) end,
        function() return cf.create_openai_chat(a[1], gw_rest(t)) end,
        function() return cf.create_gemini_image(a[1], gw_rest(t)) end,
        function() return cf.create_anthropic_summarize(a[1], gw_rest(t)) end,
      }) do
        local msg = err_of(build)
        assert.truthy(msg:find(a[2], 1, true), msg)
      end
      assert.equals(0, #t.calls)
    end)
  end

  it("a model set on an adapter after construction is refused per call (nil, err): nothing is sent", function()
    local t = stub()
    local adapter = cf.create_workers_ai_chat(M, rest(t))
    adapter.model = "../../../../user/tokens"
    local text, err = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "hi" } } })
    assert.is_nil(text)
    assert.equals("config", err.kind)
    assert.is_false(err.retryable)
    assert.truthy(err.message:find("model must not contain a '..' path segment", 1, true), err.message)
    local gemini = cf.create_gemini_chat("gemini-2.5-flash", gw_rest(t))
    gemini.model = "x?y=1"
    local r, gerr = ai.chat({ adapter = gemini, stream = false, messages = { { role = "user", content = "hi" } } })
    assert.is_nil(r)
    assert.truthy(gerr.message:find("model must not contain '?'", 1, true), gerr.message)
    assert.equals(0, #t.calls)
    -- the same description through request.send directly
    local cfg = config.resolve(rest(t), { label = "t" })
    local res, serr = request.send(cfg, { provider = "workers-ai", model = "a//b", label = "Workers AI chat",
      body = {}, rest_path = "/ai/run/a//b" })
    assert.is_nil(res)
    assert.equals("Workers AI chat: model must not contain an empty path segment ('//') (got \"a//b\")", serr.message)
    assert.equals(0, #t.calls)
  end)

  it("refuses account ids and gateway ids from the config, naming the field", function()
    local t = stub()
    assert.matches([[createWorkersAiChat: config.accountId must not contain a '..' path segment (got "..")]],
      err_of(function() cf.create_workers_ai_chat(M, rest(t, { accountId = ".." })) end), 1, true)
    assert.matches("config.accountId must not contain a '.' path segment",
      err_of(function() cf.create_workers_ai_chat(M, rest(t, { accountId = "." })) end), 1, true)
    assert.matches("config.accountId must not contain '/'",
      err_of(function() cf.create_workers_ai_chat(M, rest(t, { accountId = "acct/../x" })) end), 1, true)
    assert.matches("config.accountId must not contain a '..' path segment",
      err_of(function() cf.create_openai_chat(M, gw_rest(t, { accountId = ".." })) end), 1, true)
    assert.matches("createOpenAiChat: config.gatewayId must not contain '?' (got \"../../x?y=\")",
      err_of(function() cf.create_openai_chat(M, gw_rest(t, { gatewayId = "../../x?y=" })) end), 1, true)
    assert.matches("config.gatewayId must not contain a '..' path segment",
      err_of(function() cf.create_workers_ai_chat(M, gw_rest(t, { gatewayId = ".." })) end), 1, true)
    assert.matches("cf.binding: config.accountId must not contain a '..' path segment",
      err_of(function() cf.binding({ accountId = "..", apiKey = "k", transport = t }) end), 1, true)
    assert.equals(0, #t.calls)
  end)

  it("refuses CLOUDFLARE_ACCOUNT_ID from the environment in REST and in gateway REST mode", function()
    local t = stub()
    for _, v in ipairs({ "..", "../../x", "a?b", "a#b", "%2e%2e", "a b" }) do
      env.with({ CLOUDFLARE_ACCOUNT_ID = v, CLOUDFLARE_API_KEY = "k" }, function()
        local m1 = err_of(function() cf.create_workers_ai_chat(M, { transport = t }) end)
        assert.truthy(m1:find("createWorkersAiChat: CLOUDFLARE_ACCOUNT_ID (config.accountId) must not", 1, true), m1)
        local m2 = err_of(function() cf.create_openai_chat(M, { gatewayId = "gw", apiKey = "k", transport = t }) end)
        assert.truthy(m2:find("createOpenAiChat: CLOUDFLARE_ACCOUNT_ID (config.accountId) must not", 1, true), m2)
        local m3 = err_of(function() cf.create_workers_ai_chat(M, { gatewayId = "gw", apiKey = "k", transport = t }) end)
        assert.truthy(m3:find("CLOUDFLARE_ACCOUNT_ID (config.accountId) must not", 1, true), m3)
      end)
    end
    assert.equals(0, #t.calls)
    env.with({ CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef" }, function()
      assert.equals("gateway_rest", cf.create_openai_chat(M, { gatewayId = "gw", apiKey = "k" }).config.mode)
    end)
  end)

  describe("cf.binding (against the emulator)", function()
    local emu
    setup(function() emu = emulator.shared() end)
    before_each(function() emu:reset() end)

    local function new_ai()
      return cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = "wai-token", apiBaseUrl = emu.url .. "/client/v4",
        gatewayBaseUrl = emu.url .. "/v1" })
    end

    it("AI:run refuses a bad model per call with nil, err; nothing reaches the emulator", function()
      local AI = new_ai()
      for _, a in ipairs(MODEL_ATTACKS) do
        if a[1] ~= "" then
          local r, err = AI:run(a[1], { prompt = "hi" })
          assert.is_nil(r)
          assert.equals("config", err.kind)
          assert.truthy(err.message:find("AI:run: " .. a[2], 1, true), err.message)
        end
      end
      local r, err = AI:run(M, { prompt = "hi" }, { gateway = { id = "../../x?y=" } })
      assert.is_nil(r)
      assert.equals("AI:run: options.gateway.id must not contain '?' (got \"../../x?y=\")", err.message)
      assert.equals(0, #emu:requests())
      -- and a real model still goes out
      assert.is_table((AI:run(M, { prompt = "hi" })))
      assert.equals(1, #emu:requests())
    end)

    it("AI:gateway refuses a bad id at construction", function()
      local AI = new_ai()
      assert.matches("AI:gateway: id must not contain '?' (got \"../../x?y=\")",
        err_of(function() AI:gateway("../../x?y=") end), 1, true)
      assert.matches("AI:gateway: id must not contain a '..' path segment",
        err_of(function() AI:gateway("..") end), 1, true)
      assert.equals(0, #emu:requests())
    end)

    it("refuses per-call headers with control characters", function()
      local AI = new_ai()
      local r, err = AI:run(M, { prompt = "hi" }, { extraHeaders = { ["x-a"] = "v\r\nx-injected: 1" } })
      assert.is_nil(r)
      assert.equals("AI:run: header x-a must not contain control characters (byte 0x0D)", err.message)
      r, err = AI:run(M, { prompt = "hi" }, { gateway = { id = "gw", cacheKey = "k\1" } })
      assert.is_nil(r)
      assert.equals("AI:run: header cf-aig-cache-key must not contain control characters (byte 0x01)", err.message)
      local g = AI:gateway("gw")
      r, err = g:run({ provider = "openai", endpoint = "chat/completions", headers = {}, query = {} },
        { extraHeaders = { ["bad header"] = "x" } })
      assert.is_nil(r)
      assert.truthy(err.message:find('gateway:run: header "bad header" is not a valid header name', 1, true))
      assert.equals(0, #emu:requests())
    end)
  end)
end)

describe("header values in the config", function()
  local function gw(extra)
    local c = { accountId = "a", gatewayId = "g", apiKey = "k" }
    for k, v in pairs(extra) do c[k] = v end
    return function() cf.create_workers_ai_chat(M, c) end
  end

  it("refuses every control character but HTAB, naming the field", function()
    for _, b in ipairs({ 0, 1, 8, 10, 11, 12, 13, 27, 31, 127 }) do
      local c = string.char(b)
      local why = string.format("must not contain control characters (byte 0x%02X)", b)
      assert.truthy(err_of(gw({ customCacheKey = "a" .. c })):find("config.customCacheKey " .. why, 1, true))
      assert.truthy(err_of(gw({ sessionAffinity = "a" .. c })):find("config.sessionAffinity " .. why, 1, true))
      assert.truthy(err_of(gw({ apiKey = "k" .. c })):find("config.apiKey " .. why, 1, true))
      assert.truthy(err_of(gw({ cfApiKey = "k" .. c })):find("config.cfApiKey " .. why, 1, true))
      assert.truthy(err_of(gw({ anthropicVersion = "v" .. c })):find("config.anthropicVersion " .. why, 1, true))
      assert.truthy(err_of(gw({ headers = { ["x-h"] = "v" .. c } })):find("config.headers.x-h " .. why, 1, true))
      assert.truthy(err_of(gw({ metadata = { user = "u" .. c } })):find("config.metadata.user " .. why, 1, true))
      assert.truthy(err_of(gw({ metadata = { ["u" .. c] = "u" } })):find("config.metadata key ", 1, true))
    end
    -- HTAB is allowed in a header value (RFC 9110 field-value)
    assert.has_no.errors(gw({ customCacheKey = "a\tb", headers = { ["x-h"] = "a\tb" } }))
  end)

  it("refuses header names that are not tokens", function()
    for _, k in ipairs({ "x h", "x:h", "x\r\nh", "", "x(h)" }) do
      assert.truthy(err_of(gw({ headers = { [k] = "v" } })):find("is not a valid header name", 1, true), k)
    end
  end)

  it("refuses CLOUDFLARE_API_KEY with a control character", function()
    env.with({ CLOUDFLARE_ACCOUNT_ID = "acct", CLOUDFLARE_API_KEY = "k\27[2J" }, function()
      assert.truthy(err_of(function() cf.create_workers_ai_chat(M) end)
        :find("config.apiKey (CLOUDFLARE_API_KEY) must not contain control characters (byte 0x1B)", 1, true))
    end)
  end)
end)

describe("base URLs", function()
  local function with_base(field, url, extra)
    local c = { accountId = "a", gatewayId = "g", apiKey = "k", [field] = url }
    for k, v in pairs(extra or {}) do c[k] = v end
    return function() return cf.create_workers_ai_chat(M, c) end
  end

  it("allows https:// anywhere and http:// to loopback hosts only", function()
    for _, u in ipairs({ "https://api.cloudflare.com/client/v4", "https://gw.example:8443/v1/", "http://127.0.0.1:8787",
      "http://127.1.2.3/v1", "http://localhost:80/x", "http://LOCALHOST", "http://[::1]:8080/v1" }) do
      assert.has_no.errors(with_base("apiBaseUrl", u), u)
      assert.has_no.errors(with_base("gatewayBaseUrl", u), u)
    end
  end)

  it("refuses http:// to other hosts unless allowInsecureHttp = true", function()
    for _, u in ipairs({ "http://api.example.com/client/v4", "http://10.0.0.1", "http://127.0.0.1.evil.example/",
      "http://localhost.evil.example", "http://0x7f.0.0.1", "http://[::2]/" }) do
      local msg = err_of(with_base("apiBaseUrl", u))
      assert.truthy(msg:find("createWorkersAiChat: config.apiBaseUrl uses plain http:// to ", 1, true), msg)
      assert.truthy(msg:find("which is not a loopback host (127.0.0.0/8, ::1, localhost); use https:// or set " ..
        "allowInsecureHttp = true", 1, true), msg)
      assert.truthy(err_of(with_base("gatewayBaseUrl", u)):find("config.gatewayBaseUrl uses plain http://", 1, true))
      assert.has_no.errors(with_base("apiBaseUrl", u, { allowInsecureHttp = true }))
      assert.has_no.errors(with_base("gatewayBaseUrl", u, { allow_insecure_http = true }))
    end
    assert.truthy(err_of(with_base("apiBaseUrl", "https://x", { allowInsecureHttp = "yes" }))
      :find("config.allowInsecureHttp must be a boolean", 1, true))
  end)

  it("refuses user information, queries, fragments, dot segments and other schemes", function()
    local cases = {
      { "https://user@api.example.com", "must not contain user information (user@host)" },
      { "https://user:secret@api.example.com/v1", "must not contain user information (user@host)" },
      { "https://api.example.com@evil.example/", "must not contain user information (user@host)" },
      { "http://127.0.0.1@evil.example/", "must not contain user information (user@host)" },
      { "https://api.example.com/v1?x=1", "must not contain a query or fragment" },
      { "https://api.example.com/v1#x", "must not contain a query or fragment" },
      { "https://api.example.com/v1/../x", "must not contain a '..' path segment" },
      { "https://api.example.com//v1", "must not contain an empty path segment" },
      { "ftp://api.example.com", "must be an https:// URL" },
      { "api.example.com", "must be an https:// URL" },
      { "https://api.example.com/v 1", "must not contain whitespace" },
      { "https://api.example.com\\@evil.example", "'\\'" },
      { "https://:443/v1", "has no host" },
      { "https://api.example.com:99999999/", "has an invalid port" },
    }
    for _, c in ipairs(cases) do
      local msg = err_of(with_base("gatewayBaseUrl", c[1], { allowInsecureHttp = true }))
      assert.truthy(msg:find(c[2], 1, true), c[1] .. " -> " .. msg)
      assert.is_nil(msg:find("secret", 1, true)) -- a password in the URL is never echoed
    end
  end)

  it("checks CLOUDFLARE_API_BASE_URL and CLOUDFLARE_AI_GATEWAY_BASE_URL like the config", function()
    local t = stub()
    env.with({ CLOUDFLARE_API_BASE_URL = "http://api.example.com/client/v4" }, function()
      assert.truthy(err_of(function() cf.create_workers_ai_chat(M, rest(t)) end)
        :find("createWorkersAiChat: CLOUDFLARE_API_BASE_URL uses plain http:// to api.example.com", 1, true))
      -- allowInsecureHttp applies to the environment's URLs too
      assert.equals("http://api.example.com/client/v4",
        cf.create_workers_ai_chat(M, rest(t, { allowInsecureHttp = true })).config.api_base_url)
    end)
    env.with({ CLOUDFLARE_AI_GATEWAY_BASE_URL = "https://tok@gateway.example/v1" }, function()
      assert.truthy(err_of(function() cf.create_openai_chat(M, gw_rest(t)) end)
        :find("CLOUDFLARE_AI_GATEWAY_BASE_URL must not contain user information", 1, true))
    end)
    env.with({ CLOUDFLARE_API_BASE_URL = "http://127.0.0.1:9/client/v4" }, function()
      assert.equals("http://127.0.0.1:9/client/v4", cf.create_workers_ai_chat(M, rest(t)).config.api_base_url)
    end)
    assert.equals(0, #t.calls)
  end)
end)

describe("maxResponseBytes", function()
  it("defaults to 64 MiB and reaches every transport request, both spellings", function()
    assert.equals(64 * 1024 * 1024, config.DEFAULT_MAX_RESPONSE_BYTES)
    local t = stub()
    local adapter = cf.create_workers_ai_chat(M, rest(t))
    assert(ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "hi" } } }))
    assert.equals(config.DEFAULT_MAX_RESPONSE_BYTES, t.calls[1].max_response_bytes)
    adapter = cf.create_openai_chat("gpt-4o-mini", gw_rest(t, { maxResponseBytes = 4096 }))
    ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "hi" } } })
    assert.equals(4096, t.calls[2].max_response_bytes)
    adapter = cf.create_workers_ai_chat(M, rest(t, { max_response_bytes = 1000 }))
    ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "hi" } } })
    assert.equals(1000, t.calls[3].max_response_bytes)
    for _, bad in ipairs({ 0, -1, 1.5, "1", math.huge }) do
      assert.truthy(err_of(function() cf.create_workers_ai_chat(M, rest(t, { maxResponseBytes = bad })) end)
        :find("config.maxResponseBytes must be a positive integer number of bytes", 1, true))
    end
  end)

  it("reaches cf.binding's requests (AI:run, gateway:run)", function()
    local t = stub()
    local AI = cf.binding({ accountId = "acct", apiKey = "k", transport = t, maxResponseBytes = 2048 })
    AI:run(M, { prompt = "hi" })
    AI:gateway("gw"):run({ provider = "openai", endpoint = "chat/completions", headers = {}, query = {} })
    assert.equals(2, #t.calls)
    assert.equals(2048, t.calls[1].max_response_bytes)
    assert.equals(2048, t.calls[2].max_response_bytes)
    AI = cf.binding({ accountId = "acct", apiKey = "k", transport = t })
    AI:run(M, { prompt = "hi" })
    assert.equals(config.DEFAULT_MAX_RESPONSE_BYTES, t.calls[3].max_response_bytes)
  end)

  it("end to end: an answer over maxResponseBytes from the emulator is a too_large error, sent once", function()
    local emu = emulator.shared()
    emu:reset()
    local function chat(limit, stream)
      local adapter = cf.create_workers_ai_chat(M, { accountId = "0123456789abcdef0123456789abcdef", apiKey = "k", maxResponseBytes = limit,
        apiBaseUrl = emu.url .. "/client/v4" })
      local s = ai.chat({ adapter = adapter, stream = true, messages = { { role = "user", content = "hello there" } } })
      if stream then
        local last
        for ev in s do last = ev end
        return last
      end
      return s:text()
    end
    local text, err = chat(64)
    assert.is_nil(text)
    assert.equals("too_large", err.kind)
    assert.is_false(err.retryable)
    assert.equals(1, #emu:requests())
    local last = chat(200, true)
    assert.equals("RUN_ERROR", last.type)
    assert.equals("too_large", last.error.kind)
    assert.truthy((chat(nil)))
  end)

  it("a transport's too_large failure is returned, not retried", function()
    local calls = 0
    local t = { request = function()
      calls = calls + 1
      return nil, errors.new({ message = "response larger than max_response_bytes (1000)", kind = "too_large" })
    end }
    local adapter = cf.create_workers_ai_chat(M, rest(t, { maxResponseBytes = 1000 }))
    local text, err = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "hi" } } })
    assert.is_nil(text)
    assert.equals("too_large", err.kind)
    assert.equals(1, calls)
  end)
end)
