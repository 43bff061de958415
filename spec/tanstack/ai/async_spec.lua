-- Several requests in flight from coroutines over the one multi handle.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local async = require("tanstack.ai.async")
local emulator = require("helpers.emulator")

describe("async tasks", function()
  local emu
  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("interleaves two slow streams instead of running them one after the other", function()
    local adapter = cf.create_workers_ai_chat("@cf/x", { accountId = "a", apiKey = "k",
      apiBaseUrl = emu.url .. "/client/v4" })
    emu:next({ drip_ms = 60, text = "a1 a2 a3 a4 a5 a6", times = 1 })
    emu:next({ drip_ms = 60, text = "b1 b2 b3 b4 b5 b6", times = 1 })
    local order = {}
    local function chat(tag)
      local text = {}
      for ev in ai.chat({ adapter = adapter, messages = { { role = "user", content = tag } } }) do
        if ev.type == "TEXT_MESSAGE_CONTENT" then
          order[#order + 1] = tag
          text[#text + 1] = ev.delta
        end
      end
      return table.concat(text)
    end
    local ta = async.spawn(chat, "A")
    local tb = async.spawn(chat, "B")
    async.run()
    assert.is_true(ta.ok, tostring(ta.err))
    assert.is_true(tb.ok, tostring(tb.err))
    assert.equal("a1 a2 a3 a4 a5 a6", ta.result)
    assert.equal("b1 b2 b3 b4 b5 b6", tb.result)
    -- interleaved: B produced text before A finished
    local first_b
    for i, tag in ipairs(order) do if tag == "B" then first_b = i break end end
    local last_a
    for i, tag in ipairs(order) do if tag == "A" then last_a = i end end
    assert.is_true(first_b < last_a, table.concat(order, ","))
  end)

  it("keeps errors inside the task that raised", function()
    local t = async.spawn(function() error("boom", 0) end)
    local ok = async.spawn(function() return 42 end)
    async.run()
    assert.is_false(t.ok)
    assert.equal("boom", t.err)
    assert.equal(42, ok.result)
  end)
end)
