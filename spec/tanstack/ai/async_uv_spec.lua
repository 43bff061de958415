-- async.attach_uv driven by libcurl's sockets and timer (core.http_sockets / http_timeout / http_socket_action),
-- on a plain luv loop: the loop sleeps while nothing streams and wakes when bytes arrive.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local async = require("tanstack.ai.async")
local core = require("tanstack.ai.core")
local emulator = require("helpers.emulator")

local have_luv, uv = pcall(require, "luv")

-- Run the loop until done() or the deadline; returns the ms it took.
local function run_until(done, limit_ms)
  local t0 = uv.now()
  local guard = uv.new_timer()
  guard:start(limit_ms or 10000, 0, function() guard:close() end)
  while not done() and not guard:is_closing() do uv.run("once") end
  if not guard:is_closing() then guard:stop() guard:close() end
  uv.run("nowait")
  uv.update_time()
  return uv.now() - t0
end

describe("async.attach_uv (socket-driven)", function()
  local emu, adapter
  setup(function()
    emu = emulator.shared()
    adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", { accountId = "0123456789abcdef0123456789abcdef", apiKey = "k", apiBaseUrl = emu.url .. "/client/v4" })
  end)
  before_each(function()
    if not have_luv then pending("luv is not installed") end
    emu:reset()
  end)
  -- closed handles are released by the loop: let it run before the Lua state (and luv's loop) goes away
  after_each(function() if have_luv then uv.run("nowait") end end)
  teardown(function() if have_luv then uv.run("nowait") end end)

  local function chat(tag)
    local text = {}
    for ev in ai.chat({ adapter = adapter, messages = { { role = "user", content = tag } } }) do
      if ev.type == "TEXT_MESSAGE_CONTENT" then text[#text + 1] = ev.delta end
      if ev.type == "RUN_ERROR" then error(tostring(ev.message), 0) end
    end
    return table.concat(text)
  end

  it("the core reports libcurl's sockets and timer", function()
    assert.is_true(async.socket_driven())
    assert.equal(-1, core.http_timeout())
    assert.same({}, core.http_sockets())
  end)

  it("streams two chats at once, waking for bytes instead of every few ms", function()
    if not have_luv then return end
    emu:next({ drip_ms = 60, text = "a1 a2 a3 a4 a5 a6 a7 a8", times = 1 })
    emu:next({ drip_ms = 60, text = "b1 b2 b3 b4 b5 b6 b7 b8", times = 1 })
    local stop = async.attach_uv(uv)
    finally(stop)
    assert.equal("sockets", async.attached())
    local ta, tb = async.spawn(chat, "A"), async.spawn(chat, "B")
    local ms = run_until(function() return ta.done and tb.done end)
    local stats = async.stats()
    assert.is_true(ta.ok, tostring(ta.err))
    assert.is_true(tb.ok, tostring(tb.err))
    assert.equal("a1 a2 a3 a4 a5 a6 a7 a8", ta.result)
    assert.equal("b1 b2 b3 b4 b5 b6 b7 b8", tb.result)
    -- both streams took ~ 9 x 60 ms side by side; a 10 ms interval timer would have woken ~50 times
    assert.is_true(ms < 2500, "took " .. ms .. " ms")
    assert.is_true(stats.wakeups <= 45, "wakeups: " .. stats.wakeups)
    -- the transfers are over: no socket watched, no timer armed, so the loop has nothing left to do
    assert.equal(0, stats.sockets)
    assert.equal(-1, core.http_timeout())
    assert.is_false(uv.run("nowait"))
    stop()
    assert.is_nil(async.attached())
  end)

  it("an idle attached loop does not wake at all", function()
    if not have_luv then return end
    local stop = async.attach_uv(uv)
    finally(stop)
    run_until(function() return false end, 50) -- the first sync
    local before = async.stats().wakeups
    local t = uv.new_timer()
    t:start(300, 0, function() t:close() end)
    uv.run("default") -- returns after 300 ms: nothing else is active
    assert.equal(before, async.stats().wakeups)
    stop()
  end)

  it("lifts backpressure: a reader slower than the network still gets every byte", function()
    if not have_luv then return end
    local stop = async.attach_uv(uv)
    finally(stop)
    local n = 3 * 1024 * 1024
    local t = async.spawn(function()
      local res = assert(require("tanstack.ai.transport.curl").request({ method = "GET",
        url = emu.url .. "/__test/bytes?n=" .. n }))
      local got, reads = 0, 0
      while true do
        local chunk, err = res.read()
        if err then error(tostring(err)) end
        if not chunk then break end
        got = got + #chunk
        reads = reads + 1
        if reads % 4 == 0 then async.sleep(5) end -- the transfer pauses while we sleep
      end
      return got
    end)
    run_until(function() return t.done end)
    assert.is_true(t.ok, tostring(t.err))
    assert.equal(n, t.result)
    stop()
  end)

  it("fires the idle timeout from the timer (no socket activity)", function()
    if not have_luv then return end
    local stop = async.attach_uv(uv)
    finally(stop)
    local t = async.spawn(function()
      local res = assert(require("tanstack.ai.transport.curl").request({ method = "GET",
        url = emu.url .. "/__test/stall?after_bytes=10&ms=5000", idle_timeout = 300 }))
      while true do
        local chunk, err = res.read()
        if err then return err end
        if not chunk then return "no error" end
      end
    end)
    local ms = run_until(function() return t.done end)
    assert.is_true(t.ok, tostring(t.err))
    assert.equal("timeout", t.result.kind)
    assert.is_true(ms < 2000, "took " .. ms)
    stop()
  end)

  it("a stream cancelled from outside the task ends at once (async.wake)", function()
    if not have_luv then return end
    emu:next({ drip_ms = 400, text = "w1 w2 w3 w4 w5 w6 w7 w8 w9" })
    local stop = async.attach_uv(uv)
    finally(stop)
    local stream
    local got = {}
    local t = async.spawn(function()
      stream = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } } })
      for ev in stream do
        if ev.type == "TEXT_MESSAGE_CONTENT" then got[#got + 1] = ev.delta end
      end
      return "ended"
    end)
    run_until(function() return #got >= 1 end)
    stream:cancel()
    async.wake()
    local ms = run_until(function() return t.done end)
    assert.is_true(t.ok, tostring(t.err))
    assert.is_true(ms < 300, "took " .. ms)
    assert.is_true(#got < 9)
    stop()
  end)

  it("a retry's wait (429 with Retry-After) sleeps on the timer, then the answer streams", function()
    if not have_luv then return end
    emu:next({ status = 429, retry_after = 1, times = 1 })
    local stop = async.attach_uv(uv)
    finally(stop)
    local t = async.spawn(chat, "again")
    local ms = run_until(function() return t.done end)
    assert.is_true(t.ok, tostring(t.err))
    assert.equal("Hello from the Workers AI emulator! You said: again", t.result)
    assert.is_true(ms >= 900 and ms < 3000, "took " .. ms)
    assert.is_true(async.stats().wakeups < 30, "wakeups: " .. async.stats().wakeups)
  end)

  it("runs tasks spawned by a task, and blocking calls beside it keep working", function()
    if not have_luv then return end
    emu:next({ text = "inner", times = 1 })
    emu:next({ text = "blocking", times = 1 })
    local stop = async.attach_uv(uv)
    finally(stop)
    local inner
    local outer = async.spawn(function()
      inner = async.spawn(chat, "in")
      return "outer"
    end)
    run_until(function() return inner and inner.done end)
    assert.is_true(outer.ok)
    assert.is_true(inner.ok, tostring(inner.err))
    assert.equal("inner", inner.result)
    -- outside a task: a blocking call on the same multi handle
    assert.equal("blocking", chat("b"))
    assert.equal(-1, core.http_timeout())
    stop()
  end)

  it("attaching twice shares one driver; a forced interval timer is the old behaviour", function()
    if not have_luv then return end
    local s1 = async.attach_uv(uv)
    local s2 = async.attach_uv(uv)
    s1()
    assert.equal("sockets", async.attached())
    s2()
    assert.is_nil(async.attached())
    local s3 = async.attach_uv(uv, { poll = 10 })
    assert.equal("poll", async.attached())
    local t = uv.new_timer()
    t:start(200, 0, function() t:close() end)
    while not t:is_closing() do uv.run("once") end
    assert.is_true(async.stats().wakeups >= 10)
    s3()
    uv.run("nowait")
  end)
end)
