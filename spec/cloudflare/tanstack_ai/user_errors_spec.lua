-- What a user sees for the common mistakes and failures: each message names the thing to fix, a mistake points at
-- the user's own line, a runtime failure is nil, err.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local emulator = require("helpers.emulator")
local env = require("helpers.env")

local THIS = "user_errors_spec.lua"

local function raised(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

describe("the errors a user sees", function()
  local emu
  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("a config mistake raises at the user's line, naming the field", function()
    local err = raised(function() cf.create_workers_ai_chat("@cf/meta/llama-3.1-8b-instruct-fp8", { acountId = "a" }) end)
    assert.matches(THIS .. ":%d+: createWorkersAiChat: unknown config field 'acountId'", err)
  end)

  it("a missing accountId says how to give it", function()
    env.with({ CLOUDFLARE_ACCOUNT_ID = false, CLOUDFLARE_API_KEY = false, CLOUDFLARE_API_TOKEN = false }, function()
      local err = raised(function() cf.create_workers_ai_chat("@cf/meta/llama-3.1-8b-instruct-fp8", { apiKey = "k-123456" }) end)
      assert.matches(THIS .. ":%d+: createWorkersAiChat: config.accountId is missing: pass { accountId, apiKey }", err)
      assert.matches("CLOUDFLARE_ACCOUNT_ID", err)
    end)
  end)

  it("a 401 is nil, err with status, provider, code and the provider's message, the key redacted", function()
    emu:next({ status = 401 })
    local adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.1-8b-instruct-fp8", { accountId = "0123456789abcdef0123456789abcdef",
      apiKey = "bad-key-123456", apiBaseUrl = emu.url .. "/client/v4", maxRetries = 0 })
    local text, err = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "hi" } } })
    assert.is_nil(text)
    assert.equals(401, err.status)
    assert.equals("http", err.kind)
    assert.equals("workers-ai", err.provider)
    assert.is_false(err.retryable)
    assert.matches("^%[workers%-ai HTTP 401", tostring(err))
    assert.is_nil(tostring(err):find("bad-key-123456", 1, true))
  end)

  it("a model of the wrong task says which model and which task", function()
    -- a model the catalog does not list: only its answer tells; the emulator's refusals off (--lenient), as Workers
    -- AI serves models newer than the catalog
    local lenient = emulator.start({ args = "--lenient", idle_exit = 60 })
    finally(function() lenient:stop() end)
    local adapter = cf.create_workers_ai_image("@cf/meta/llama-3.1-8b-instruct", { accountId = "acct",
      apiKey = "key-123456", apiBaseUrl = lenient.url .. "/client/v4", maxRetries = 0 })
    local res, err = ai.generate_image({ adapter = adapter, prompt = "a cat" })
    assert.is_nil(res)
    assert.equals("wrong_model_task", err.code)
    assert.matches("Workers AI image: the answer of @cf/meta/llama%-3%.1%-8b%-instruct has no image", err.message)
    assert.matches("is @cf/meta/llama%-3%.1%-8b%-instruct a text%-to%-image model%?", err.message)
  end)

  -- Errors that say what to do: err.hint, shown by tostring(err); never a key.
  describe("say what to do", function()
    local ACCT = emulator.ACCOUNT_ID
    local function chat_err(adapter)
      local text, err = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "hi" } } })
      assert.is_nil(text)
      return err
    end

    it("a 401 names the variable the key came from, or config.apiKey", function()
      env.with({ CLOUDFLARE_API_KEY = "env-key-0123456789", CLOUDFLARE_API_TOKEN = false }, function()
        emu:next({ status = 401, code = 10000, message = "Authentication error" })
        local err = chat_err(cf.create_workers_ai_chat(emulator.MODEL, { accountId = ACCT,
          apiBaseUrl = emu.url .. "/client/v4", maxRetries = 0 }))
        assert.equals(401, err.status)
        assert.equals("check CLOUDFLARE_API_KEY", err.hint)
        assert.truthy(tostring(err):find("Authentication error; check CLOUDFLARE_API_KEY", 1, true), tostring(err))
        assert.is_nil(tostring(err):find("env-key-0123456789", 1, true))
      end)
      env.with({ CLOUDFLARE_API_KEY = false, CLOUDFLARE_API_TOKEN = "env-token-0123456789" }, function()
        emu:next({ status = 403, code = 10000, message = "Authentication error" })
        local err = chat_err(cf.create_workers_ai_chat(emulator.MODEL, { accountId = ACCT,
          apiBaseUrl = emu.url .. "/client/v4", maxRetries = 0 }))
        assert.equals("check CLOUDFLARE_API_TOKEN", err.hint)
      end)
      emu:next({ status = 401, code = 10000, message = "Authentication error" })
      local err = chat_err(cf.create_workers_ai_chat(emulator.MODEL, emu:config({ apiKey = "cfg-key-0123456789",
        maxRetries = 0 })))
      assert.equals("check config.apiKey", err.hint)
      assert.is_nil(tostring(err):find("cfg-key-0123456789", 1, true))
    end)

    it("a 401 through AI Gateway names the provider's usual variable and the gateway token", function()
      emu:next({ status = 401, message = "Incorrect API key provided" })
      local adapter = cf.create_openai_chat("gpt-4o-mini", { accountId = ACCT, gatewayId = "gw",
        apiKey = "sk-provider-0123456789", gatewayBaseUrl = emu.url .. "/v1", maxRetries = 0 })
      local err = chat_err(adapter)
      assert.equals(401, err.status)
      assert.truthy(err.hint:find("config.apiKey (the openai key, usually OPENAI_API_KEY)", 1, true), err.hint)
      assert.truthy(err.hint:find("config.cfApiKey", 1, true), err.hint)
      assert.is_nil(tostring(err):find("sk-provider-0123456789", 1, true))
    end)

    it("a refused connection names the base URL and where it came from", function()
      local dead = "http://127.0.0.1:9/client/v4"
      env.with({ CLOUDFLARE_API_BASE_URL = dead }, function()
        local err = chat_err(cf.create_workers_ai_chat(emulator.MODEL, { accountId = ACCT, apiKey = "k-123456",
          maxRetries = 0 }))
        assert.equals("connect", err.kind)
        assert.equals("the base URL " .. dead .. " comes from CLOUDFLARE_API_BASE_URL", err.hint)
      end)
      local err = chat_err(cf.create_workers_ai_chat(emulator.MODEL, { accountId = ACCT, apiKey = "k-123456",
        apiBaseUrl = dead, maxRetries = 0 }))
      assert.equals("the base URL " .. dead .. " comes from config.apiBaseUrl", err.hint)
      assert.truthy(tostring(err):find("; the base URL " .. dead .. " comes from config.apiBaseUrl", 1, true))
    end)

    it("a 404 from Cloudflare shows the path that was asked for (no query)", function()
      local err = chat_err(cf.create_workers_ai_chat(emulator.MODEL, emu:config({ apiBaseUrl = emu.url ..
        "/wrong/client/v4", maxRetries = 0 })))
      assert.equals(404, err.status)
      assert.equals("/wrong/client/v4/accounts/" .. ACCT .. "/ai/v1/chat/completions", err.path)
      assert.truthy(tostring(err):find("the path asked for: /wrong/client/v4/accounts/", 1, true), tostring(err))
    end)

    it("an unknown model (5007) gets the nearest catalog names", function()
      local err = chat_err(cf.create_workers_ai_chat("@cf/meta/llama-3.1-8b-instruct", emu:config({ maxRetries = 0 })))
      assert.equals(5007, err.code)
      assert.truthy(err.hint:find("^the nearest catalog models: @cf/meta/llama%-3%.1%-8b%-instruct%-", 1), err.hint)
      assert.truthy(tostring(err):find("No such model @cf/meta/llama-3.1-8b-instruct or task; the nearest catalog " ..
        "models: ", 1, true), tostring(err))
    end)

    it("a config key of another spelling gets the nearest one", function()
      local err = raised(function() cf.create_workers_ai_chat(emulator.MODEL, { accountID = ACCT, apiKey = "k" }) end)
      assert.matches(THIS .. ":%d+: createWorkersAiChat: unknown config field 'accountID' %(did you mean accountId%?%)",
        err)
      err = raised(function() cf.create_openai_chat("gpt-4o-mini", { gateway_Id = "gw" }) end)
      assert.matches("did you mean gatewayId%?", err)
      err = raised(function() cf.create_workers_ai_chat(emulator.MODEL, { zzzzzz = 1 }) end)
      assert.is_nil(err:find("did you mean", 1, true))
    end)

    it("a catalog model of another task is refused when the adapter is built, naming the constructor", function()
      local cfg = emu:config()
      local err = raised(function() cf.create_workers_ai_chat("@cf/facebook/bart-large-cnn", cfg) end)
      assert.matches(THIS .. ":%d+: createWorkersAiChat: @cf/facebook/bart%-large%-cnn is a Summarization model; " ..
        "use create_workers_ai_summarize %(createWorkersAiSummarize%)", err)
      err = raised(function() cf.createWorkersAiImage("@cf/meta/llama-3.2-1b-instruct", cfg) end)
      assert.matches("is a Text Generation model; use create_workers_ai_chat", err)
      err = raised(function() cf.create_workers_ai_tts("@cf/openai/whisper", cfg) end)
      assert.matches("is an Automatic Speech Recognition model; use create_workers_ai_transcription", err)
      err = raised(function() cf.create_workers_ai_chat("@cf/huggingface/distilbert-sst-2-int8", cfg) end)
      assert.matches("a task this library has no adapter for", err)
      -- each task's own constructor takes it
      assert.truthy(cf.create_workers_ai_summarize("@cf/facebook/bart-large-cnn", cfg))
      assert.truthy(cf.create_workers_ai_embedding("@cf/baai/bge-base-en-v1.5", cfg))
    end)
  end)
end)
