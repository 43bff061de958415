-- tanstack.ai.router without any provider: constructors registered by name or passed to new, fallback before the
-- first byte, the routed run's state (router/run.lua) reachable from the stream, one RUN_ERROR from the run-event
-- producer when no target can be built. The same router against the emulator through Cloudflare's constructors:
-- spec/cloudflare/tanstack_ai/router/init_spec.lua.
local router = require("tanstack.ai.router")
local queue = require("tanstack.ai.queue")
local errors = require("tanstack.ai.errors")

-- A fake adapter constructor: each model answers from a script (a list of event lists, one per turn).
local function scripted(answers, calls)
  return function(model, config)
    return { name = "fake", model = model, chat_stream = function(_, options)
      calls[#calls + 1] = { model = model, config = config, runId = options.runId }
      local a = answers[model]
      if a == "raise" then error("cannot start " .. model) end
      local evs = {}
      for i, e in ipairs(a) do
        local c = {}
        for k, v in pairs(e) do c[k] = v end
        c.timestamp = i
        c.model = model
        evs[i] = c
      end
      return queue.of(evs)
    end }
  end
end

local function ok_answer(text)
  return { { type = "RUN_STARTED" }, { type = "TEXT_MESSAGE_START", messageId = "m", role = "assistant" },
    { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = text }, { type = "TEXT_MESSAGE_END", messageId = "m" },
    { type = "RUN_FINISHED", finishReason = "stop", usage = { promptTokens = 3, completionTokens = 4,
      totalTokens = 7 } } }
end

local function fail_answer(status)
  return { { type = "RUN_STARTED" }, { type = "RUN_ERROR", message = "down", code = tostring(status),
    error = errors.new({ status = status, message = "down", retryable = status >= 500 }) } }
end

local msgs = { { role = "user", content = "hi" } }

describe("tanstack.ai.router", function()
  it("looks constructors up in opts.constructors, then in the registry; unknown names raise", function()
    local calls = {}
    local make = scripted({ m = ok_answer("per router") }, calls)
    local r = router.new({ constructors = { fake = make }, routes = { x = { targets = { { adapter = "fake",
      model = "m" } } } } })
    assert.equals("per router", r:chat("x", { messages = msgs }):text())
    assert.has_error(function() router.new({ routes = { x = { targets = { { adapter = "registered_fake" } } } } }) end)
    router.register("registered_fake", scripted({ n = ok_answer("registered") }, calls))
    local r2 = router.new({ routes = { x = { targets = { { adapter = "registered_fake", model = "n" } } } } })
    assert.equals("registered", r2:chat("x", { messages = msgs }):text())
    assert.has_error(function() router.register("x", "not a function") end)
    assert.has_error(function() router.new({ constructors = "no", routes = {} }) end)
  end)

  it("falls back before the first byte; the run's state is on the stream", function()
    local calls, usage = {}, {}
    local r = router.new({
      constructors = { fake = scripted({ a = fail_answer(503), b = ok_answer("from b") }, calls) },
      defaults = { config = { shared = 1 } },
      routes = { x = { targets = { { name = "a", adapter = "fake", model = "a", config = { own = 2 } },
        { name = "b", adapter = "fake", model = "b" } } } },
      onUsage = function(u) usage[#usage + 1] = u end,
    })
    local s = r:chat("x", { messages = msgs }, { consumer = "alice" })
    assert.is_nil(s.error)
    local run = s.run
    assert.is_true(run.committed)
    assert.equals("b", run.target.name)
    assert.same({ { target = "a", error = "503" }, { target = "b" } }, run.attempts)
    assert.equals(1, calls[1].config.shared)
    assert.equals(2, calls[1].config.own)
    assert.equals(0, calls[1].config.maxRetries)
    local types = {}
    for ev in s:iter() do types[#types + 1] = ev.type end
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED" },
      types)
    assert.equals(3, run.input)
    assert.equals(4, run.output)
    assert.is_true(run.finished)
    assert.equals(1, #usage)
    assert.equals("b", usage[1].target)
    assert.is_true(usage[1].ok)
    assert.equals(1, r:health_state("x/a").fails)
  end)

  it("no target can be built: one RUN_ERROR after RUN_STARTED, from the run-event producer", function()
    local calls = {}
    local r = router.new({ constructors = { fake = scripted({ a = "raise" }, calls) },
      routes = { x = { targets = { { name = "a", adapter = "fake", model = "a" } } } } })
    local s = r:chat("x", { messages = msgs, runId = "run-1", threadId = "t-1" })
    assert.equals("internal", s.error.kind)
    assert.matches("target a: ", s.error.message)
    local evs = s:collect()
    assert.equals("RUN_STARTED", evs[1].type)
    assert.equals("RUN_ERROR", evs[#evs].type)
    assert.equals("run-1", evs[#evs].runId)
    assert.equals("x", evs[#evs].model)
    assert.same({ { target = "a", error = "adapter" } }, s.run.attempts)
    assert.equals(s.error, s.run.error)
  end)

  it("admit: unknown model 404, consumers 403, the limiter 429", function()
    local r = router.new({ constructors = { fake = scripted({}, {}) }, limits = { tokensPerMinute = 1,
      clock = function() return 0 end }, routes = { x = { consumers = { "alice" }, targets = { { adapter = "fake" } } } } })
    assert.equals(404, select(2, r:admit("y", "alice")).status)
    assert.equals(403, select(2, r:admit("x", "eve")).status)
    assert.equals(r:route("x"), r:admit("x", "alice"))
    r.limiter:charge("alice", 5)
    local _, err = r:admit("x", "alice")
    assert.equals(429, err.status)
    assert.is_true(err.retry_after >= 1)
  end)

  it("a client that hangs up before the usage arrives is charged what it was delivered (estimated)", function()
    local seen = {}
    local text = string.rep("word ", 40) -- 200 bytes: ~50 tokens
    local answer = { { type = "RUN_STARTED" }, { type = "TEXT_MESSAGE_START", messageId = "m", role = "assistant" },
      { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = text },
      { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = text },
      { type = "TEXT_MESSAGE_END", messageId = "m" },
      { type = "RUN_FINISHED", finishReason = "stop", usage = { promptTokens = 3, completionTokens = 4 } } }
    local r = router.new({ constructors = { fake = scripted({ m = answer }, {}) },
      limits = { tokensPerMinute = 10000, clock = function() return 5 end },
      onUsage = function(u) seen[#seen + 1] = u end,
      routes = { x = { targets = { { adapter = "fake", model = "m" } } } } })
    local s = assert(r:chat("x", { messages = { { role = "user", content = "hi" } } }, { consumer = "c" }))
    assert.same({ 10000, 55 }, { s.admission.limit, s.admission.reset }) -- the window turns at 60 s
    local got = 0
    for ev in s:iter() do
      if ev.type == "TEXT_MESSAGE_CONTENT" then got = got + 1 end
      if got == 2 then break end -- both deltas delivered, then the client goes away
    end
    s:cancel()
    assert.equals(1, #seen)
    assert.is_true(seen[1].estimated)
    assert.equals(100, seen[1].outputTokens)
    assert.is_true(seen[1].inputTokens > 0)
    -- the limiter was settled with the estimate (not with the reservation, not with 0)
    assert.equals(seen[1].inputTokens + 100, (r.limiter:usage("c")))

    -- the whole answer: the provider's numbers, not estimated
    seen = {}
    local s2 = assert(r:chat("x", { messages = { { role = "user", content = "hi" } } }, { consumer = "d" }))
    s2:text()
    assert.same({ 3, 4, false }, { seen[1].inputTokens, seen[1].outputTokens, seen[1].estimated })
    assert.equals(7, (r.limiter:usage("d")))
  end)
end)
