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

  describe("operations", function()
    local metrics = require("tanstack.ai.metrics")
    local function line(text, prefix)
      for l in text:gmatch("[^\n]+") do if l:sub(1, #prefix) == prefix then return l end end
    end

    it("metrics from Run:account: requests, tokens, time to first token, fallbacks, open streams", function()
      local m = metrics.new()
      local r = router.new({ metrics = m, auth = { keys = { k = "alice" } },
        constructors = { fake = scripted({ bad = fail_answer(503), good = ok_answer("hi") }, {}) },
        routes = { x = { targets = { { name = "a", adapter = "fake", model = "bad" },
          { name = "b", adapter = "fake", model = "good" } } } } })
      local s = r:chat("x", { messages = msgs }, { consumer = "alice", endpoint = "openai" })
      assert.equals('tsai_open_streams{endpoint="openai"} 1', line(m:expose(), "tsai_open_streams{"))
      assert.equals("hi", s:text())
      local text = r:expose_metrics()
      assert.equals('tsai_open_streams{endpoint="openai"} 0', line(text, "tsai_open_streams{"))
      assert.truthy(line(text, 'tsai_requests_total{endpoint="openai",route="x",target="b",status="200"} 1'))
      assert.truthy(line(text, 'tsai_tokens_total{direction="input",consumer="alice",route="x",model="good"} 3'))
      assert.truthy(line(text, 'tsai_tokens_total{direction="output",consumer="alice",route="x",model="good"} 4'))
      assert.truthy(line(text, 'tsai_upstream_errors_total{route="x",target="a",kind="http_503"} 1'))
      assert.truthy(line(text, 'tsai_fallbacks_total{route="x",target="a"} 1'))
      assert.truthy(line(text, 'tsai_time_to_first_token_seconds_count{endpoint="openai",route="x",target="b"} 1'))
      assert.truthy(line(text, 'tsai_target_up{route="x",target="b"} 1'))
      -- a consumer the key table does not name is not a label value
      r:chat("x", { messages = msgs }, { consumer = "session:123", endpoint = "chat" }):text()
      text = m:expose()
      assert.falsy(text:find("session:123", 1, true))
      assert.truthy(line(text, 'tsai_tokens_total{direction="input",consumer="other"'))
    end)

    it("limiter refusals, unknown models and a route of another kind are counted and refused", function()
      local m = metrics.new()
      local r = router.new({ metrics = m, constructors = { fake = scripted({ good = ok_answer("hi") }, {}) },
        limits = { tokensPerMinute = 1 },
        routes = { x = { targets = { { adapter = "fake", model = "good" } } },
          e = { kind = "embedding", targets = { { adapter = "fake", model = "good" } } } } })
      r:chat("x", { messages = msgs }, { consumer = "c", endpoint = "openai" }):text()
      local s, err = r:chat("x", { messages = msgs }, { consumer = "c", endpoint = "openai" })
      assert.is_nil(s)
      assert.equals(429, err.status)
      assert.equals(1, err.admission.limit)
      local _, e404 = r:chat("e", { messages = msgs }, { endpoint = "openai" })
      assert.equals(404, e404.status)
      local text = m:expose()
      assert.truthy(line(text, 'tsai_limiter_rejections_total{route="x",reason="tokens"} 1'))
      assert.truthy(line(text, 'tsai_requests_total{endpoint="openai",route="x",target="",status="429"} 1'))
      assert.truthy(line(text, 'tsai_requests_total{endpoint="openai",route="",target="",status="404"} 1'))
      assert.has_error(function() router.new({ routes = { y = { kind = "image", targets = { { adapter = "fake" } } } },
        constructors = { fake = scripted({}, {}) } }) end)
    end)

    it("models(): every route and alias, sorted", function()
      local r = router.new({ constructors = { fake = scripted({}, {}) }, routes = {
        b = { aliases = { "gpt-4o-mini" }, targets = { { adapter = "fake", model = "m" } } },
        a = { kind = "embedding", targets = { { adapter = "fake", model = "e" } } } } })
      assert.same({ { id = "a", route = "a", kind = "embedding" }, { id = "b", route = "b", kind = "chat" },
        { id = "gpt-4o-mini", route = "b", kind = "chat" } }, r:models())
    end)

    it("embed(): fallback on a retryable failure, usage and metrics; 404 on a chat route", function()
      local m, seen = metrics.new(), {}
      local function embedder(fail)
        return function(model, config)
          return { embed = function(_, opts)
            seen[#seen + 1] = { model = model, metadata = config.metadata, n = #opts.input }
            if fail then return nil, errors.new({ status = 500, message = "down", retryable = true }) end
            return { model = model, embeddings = { { 1, 2 }, { 3, 4 } } }
          end }
        end
      end
      local usage = {}
      local r = router.new({ metrics = m, onUsage = function(u) usage[#usage + 1] = u end,
        constructors = { bad = embedder(true), good = embedder(false) },
        routes = { e = { kind = "embedding", aliases = { "text-embedding-3-small" }, targets = {
          { name = "down", adapter = "bad", model = "m1", config = { gatewayId = "gw" } },
          { name = "up", adapter = "good", model = "m2" } } },
          c = { targets = { { adapter = "good", model = "x" } } } } })
      local res = assert(r:embed("text-embedding-3-small", { input = { "a", "b" } },
        { endpoint = "embeddings", request_id = "req-7" }))
      assert.same({ { 1, 2 }, { 3, 4 } }, res.embeddings)
      assert.equals("m2", seen[2].model)
      assert.same({ requestId = "req-7" }, seen[1].metadata) -- a gateway target gets the request id
      assert.is_nil(seen[2].metadata)                        -- another does not
      assert.equals(1, #usage)
      assert.equals("up", usage[1].target)
      assert.equals("req-7", usage[1].requestId)
      assert.is_true(usage[1].ok)
      assert.truthy(line(m:expose(), 'tsai_requests_total{endpoint="embeddings",route="e",target="up",status="200"} 1'))
      assert.truthy(line(m:expose(), 'tsai_fallbacks_total{route="e",target="down"} 1'))
      local none, err = r:embed("c", { input = { "a" } })
      assert.is_nil(none)
      assert.equals(404, err.status)
    end)
  end)
end)
