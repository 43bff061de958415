-- Several requests in flight from coroutines over the one multi handle.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local async = require("tanstack.ai.async")
local emulator = require("helpers.emulator")

describe("async tasks", function()
  local emu
  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("resumes a task waiting on a request only when that request moved (core.http_ready)", function()
    local core = require("tanstack.ai.core")
    local adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", { accountId = "0123456789abcdef0123456789abcdef", apiKey = "k",
      apiBaseUrl = emu.url .. "/client/v4" })
    -- one request whose head comes late, one stream dripping 12 deltas meanwhile
    emu:next({ head_delay_ms = 1200, times = 1 })
    local stalled = core.http_request({ method = "POST", url = emu.url .. "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions",
      headers = { authorization = "Bearer k", ["content-type"] = "application/json" },
      body = '{"model":"@cf/meta/llama-3.2-1b-instruct","stream":false,"messages":[{"role":"user","content":"late"}]}' })
    emu:next({ drip_ms = 40, text = "d1 d2 d3 d4 d5 d6 d7 d8 d9 d10 d11 d12", times = 1 })
    local polls, deltas = 0, 0
    local waiter = async.spawn(function()
      return async.await(function()
        polls = polls + 1
        return stalled:response(false)
      end, stalled)
    end)
    local streamer = async.spawn(function()
      for ev in ai.chat({ adapter = adapter, messages = { { role = "user", content = "drip" } } }) do
        if ev.type == "TEXT_MESSAGE_CONTENT" then deltas = deltas + 1 end
      end
    end)
    local rounds = 0
    while not streamer.done do
      async.step(50)
      rounds = rounds + 1
    end
    assert.is_true(streamer.ok, tostring(streamer.err))
    assert.equal(12, deltas)
    assert.is_false(waiter.done)
    -- the stream took many rounds; the waiting task ran once, maybe twice (its request's connection)
    assert.is_true(rounds >= 12, "rounds " .. rounds)
    assert.is_true(polls <= 3, "the waiting task was resumed " .. polls .. " times in " .. rounds .. " rounds")
    async.run()
    assert.is_true(waiter.ok, tostring(waiter.err))
    assert.equal(200, waiter.result)
    stalled:close()
  end)

  it("resumes a task whose request was closed by someone else (the request answers at once: closed)", function()
    local core = require("tanstack.ai.core")
    emu:next({ head_delay_ms = 3000, times = 1 })
    local h = core.http_request({ method = "POST", url = emu.url .. "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions",
      headers = { authorization = "Bearer k", ["content-type"] = "application/json" },
      body = '{"model":"@cf/meta/llama-3.2-1b-instruct","stream":false,"messages":[{"role":"user","content":"x"}]}' })
    local t = async.spawn(function()
      local status, msg, kind = async.await(function() return h:response(false) end, h)
      return { status, msg, kind }
    end)
    async.step(10)
    async.step(10)
    assert.is_false(t.done)
    h:close()
    async.step(10)
    assert.is_true(t.done)
    assert.same({ nil, "request is closed", "canceled" }, { t.result[1], t.result[2], t.result[3] })
  end)

  it("async.wake() resumes every waiting task (a request closed from outside says nothing more)", function()
    local core = require("tanstack.ai.core")
    emu:next({ head_delay_ms = 3000, times = 1 })
    local h = core.http_request({ method = "POST", url = emu.url .. "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions",
      headers = { authorization = "Bearer k", ["content-type"] = "application/json" },
      body = '{"model":"@cf/meta/llama-3.2-1b-instruct","stream":false,"messages":[{"role":"user","content":"x"}]}' })
    local t = async.spawn(function() return async.await(function() return h:response(false) end, h) end)
    async.step(10)
    async.step(10)
    assert.is_false(t.done)
    h:close()
    async.wake()
    async.step(10)
    assert.is_true(t.done)
  end)

  it("interleaves two slow streams instead of running them one after the other", function()
    local adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", { accountId = "0123456789abcdef0123456789abcdef", apiKey = "k",
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
