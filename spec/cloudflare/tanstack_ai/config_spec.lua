-- Construction: the four modes, both key spellings, and errors that name the field.
local cf = require("cloudflare.tanstack_ai")
local env = require("helpers.env")

local M = "@cf/meta/llama-3.1-8b-instruct"

local function err_of(fn)
  local ok, e = pcall(fn)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

local fake_ai = { run = function() end, gateway = function() end }
local fake_gw = { run = function() end }

describe("adapter configuration", function()
  it("detects the four modes", function()
    assert.equal("binding", cf.create_workers_ai_chat(M, { binding = fake_ai }).config.mode)
    assert.equal("rest", cf.create_workers_ai_chat(M, { accountId = "a", apiKey = "k" }).config.mode)
    assert.equal("gateway_binding", cf.create_workers_ai_chat(M, { binding = fake_gw, apiKey = "k" }).config.mode)
    assert.equal("gateway_rest", cf.create_workers_ai_chat(M, { accountId = "a", gatewayId = "g", apiKey = "k" }).config.mode)
  end)

  it("accepts snake_case twins and rejects conflicting spellings", function()
    local a = cf.create_workers_ai_chat(M, { account_id = "a", api_key = "k" })
    assert.equal("a", a.config.account_id)
    assert.matches("accountId and config.account_id", err_of(function()
      cf.create_workers_ai_chat(M, { accountId = "a", account_id = "b", apiKey = "k" })
    end))
  end)

  it("names unknown fields", function()
    assert.matches("unknown config field 'acountId'", err_of(function()
      cf.create_workers_ai_chat(M, { acountId = "a", apiKey = "k" })
    end))
  end)

  it("says what is missing", function()
    env.with({ CLOUDFLARE_ACCOUNT_ID = false, CLOUDFLARE_API_KEY = false, CLOUDFLARE_API_TOKEN = false }, function()
      assert.matches("createWorkersAiChat: config.accountId is missing", err_of(function() cf.create_workers_ai_chat(M, {}) end))
      assert.matches("config.apiKey is missing", err_of(function() cf.create_workers_ai_chat(M, { accountId = "a" }) end))
      assert.matches("config.accountId is required with gatewayId", err_of(function()
        cf.create_workers_ai_chat(M, { gatewayId = "g", apiKey = "k" })
      end))
    end)
    assert.matches("config.binding has no run method", err_of(function() cf.create_workers_ai_chat(M, { binding = {} }) end))
    assert.matches("model must be a non%-empty string", err_of(function() cf.create_workers_ai_chat(nil, {}) end))
  end)

  it("validates gateway options", function()
    local base = function(extra)
      local c = { accountId = "a", gatewayId = "g", apiKey = "k" }
      for k, v in pairs(extra) do c[k] = v end
      return function() cf.create_workers_ai_chat(M, c) end
    end
    assert.matches("config.cacheTtl must be an integer", err_of(base({ cacheTtl = 10 })))
    assert.matches("config.cacheTtl", err_of(base({ cacheTtl = 99999999 })))
    assert.matches("config.skipCache must be a boolean", err_of(base({ skipCache = "yes" })))
    assert.matches("config.metadata has 6 entries", err_of(base({ metadata = { a = 1, b = 2, c = 3, d = 4, e = 5, f = 6 } })))
    assert.matches("config.metadata.a must be a string, number or boolean", err_of(base({ metadata = { a = {} } })))
    assert.matches("config.customCacheKey must not contain control characters %(byte 0x0D%)", err_of(base({ customCacheKey = "a\r\nX: y" })))
    assert.matches("config.sessionAffinity must not contain", err_of(base({ sessionAffinity = "a\nb" })))
    assert.matches("config.apiKey must not contain", err_of(base({ apiKey = "k\0" })))
    assert.matches("config.gatewayId must not contain '/'", err_of(base({ gatewayId = "../x" })))
    assert.matches("only apply to gateway modes", err_of(function()
      cf.create_workers_ai_chat(M, { accountId = "a", apiKey = "k", cacheTtl = 60 })
    end))
    assert.matches("config.maxRetries", err_of(base({ maxRetries = -1 })))
    assert.matches("config.timeout", err_of(base({ timeout = "5s" })))
  end)

  it("never shows keys in tostring", function()
    local a = cf.create_workers_ai_chat(M, { accountId = "a", apiKey = "very-secret-key" })
    assert.is_nil(tostring(a):find("very-secret-key", 1, true))
    assert.is_nil(tostring(a.config):find("very-secret-key", 1, true))
  end)
end)

describe("timeout defaults", function()
  it("bounds every request unless told otherwise", function()
    local c = cf.create_workers_ai_chat(M, { accountId = "a", apiKey = "k" }).config
    assert.equal(600000, c.timeout)
    assert.equal(10000, c.connect_timeout)
    assert.equal(120000, c.idle_timeout)
    c = cf.create_workers_ai_chat(M, { accountId = "a", apiKey = "k", idleTimeout = 5 }).config
    assert.equal(5, c.idle_timeout)
  end)
end)
