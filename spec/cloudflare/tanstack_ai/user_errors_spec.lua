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
end)
