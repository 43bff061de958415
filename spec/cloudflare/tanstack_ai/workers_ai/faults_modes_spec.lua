-- Timeouts, cancellation and retries on the gateway and binding paths, not only plain REST.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local emulator = require("helpers.emulator")

describe("faults on every Workers AI path", function()
  local emu
  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  local function configs()
    local AI = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = "tok-123456", apiBaseUrl = emu.url .. "/client/v4",
      gatewayBaseUrl = emu.url .. "/v1", idleTimeout = 300 })
    return {
      ["gateway REST"] = { accountId = "0123456789abcdef0123456789abcdef", gatewayId = "gw", apiKey = "tok-123456",
        gatewayBaseUrl = emu.url .. "/v1", idleTimeout = 300 },
      ["plain binding"] = { binding = AI },
      ["gateway binding"] = { binding = AI:gateway("gw"), apiKey = "tok-123456" },
    }
  end

  for _, name in ipairs({ "gateway REST", "plain binding", "gateway binding" }) do
    it(name .. ": a stalled stream ends with one RUN_ERROR after the idle timeout", function()
      emu:next({ stall_after = 2, stall_ms = 6000 })
      local adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", configs()[name])
      local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "a b c d e f" } } }):collect()
      assert.equal("RUN_ERROR", evs[#evs].type)
      assert.matches("idle timeout", evs[#evs].message)
    end)

    it(name .. ": cancel closes the upstream connection", function()
      emu:next({ drip_ms = 100 })
      local s = ai.chat({ adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", configs()[name]),
        messages = { { role = "user", content = "a b c d e f g h i j k" } } })
      for ev in s do if ev.type == "TEXT_MESSAGE_CONTENT" then break end end
      s:cancel()
      assert.is_truthy(emu:wait_for(function()
        for _, r in ipairs(emu:requests()) do if r.closed_early then return true end end
      end, 5))
    end)

    it(name .. ": a 503 is retried, then the answer streams", function()
      emu:next({ status = 503 })
      local text, err = ai.chat({ adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", configs()[name]), stream = false,
        messages = { { role = "user", content = "retry me" } } })
      assert.is_nil(err)
      assert.matches("retry me", text)
      -- two requests reached the model: the one answered 503, and the retry that streamed
      local sent = {}
      for _, r in ipairs(emu:requests()) do
        if (r.body or ""):find("retry me", 1, true) then sent[#sent + 1] = r end
      end
      assert.equal(2, #sent)
      assert.equal(503, sent[1].status)
    end)
  end
end)
