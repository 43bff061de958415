-- tanstack.ai.router.run: the routed run's state and its one account.
local run_mod = require("tanstack.ai.router.run")
local limiter = require("tanstack.ai.router.limiter")

local function new_run(extra)
  local router = { defaults = {}, router_error = require("tanstack.ai.router").error }
  for k, v in pairs(extra or {}) do router[k] = v end
  local route = { name = "chat", targets = {} }
  return run_mod.new(router, route, "gpt-4o-mini", { consumer = "alice", request_id = "r1" }, {}, true)
end

describe("router.run", function()
  it("adds usage in TanStack's and OpenAI's names; keeps the first error", function()
    local run = new_run()
    run:add_usage({ promptTokens = 2, completionTokens = 3 })
    run:add_usage({ prompt_tokens = 1, completion_tokens = 1 })
    run:add_usage(nil)
    assert.equals(3, run.input)
    assert.equals(4, run.output)
    run:fail({ code = "first" })
    run:fail({ code = "second" })
    assert.equals("first", run.error.code)
    assert.is_true(run.info.all_down)
  end)

  it("account: once, with the record; the limiter is charged; a failing hook does not raise", function()
    local seen = {}
    local l = limiter.new({ tokensPerMinute = 100, clock = function() return 0 end })
    local run = new_run({ limiter = l, on_usage = function(u) seen[#seen + 1] = u end })
    run.target = { name = "a", model = "@cf/x" }
    run.info.answered_model = "@cf/x-answered"
    run:add_usage({ promptTokens = 5, completionTokens = 7 })
    run.finished = true
    run:account()
    run:account()
    assert.equals(1, #seen)
    local u = seen[1]
    assert.equals("alice", u.consumer)
    assert.equals("chat", u.route)
    assert.equals("gpt-4o-mini", u.requestedModel)
    assert.equals("a", u.target)
    assert.equals("@cf/x-answered", u.model)
    assert.equals("@cf/x", u.targetModel)
    assert.is_true(u.ok)
    assert.equals("r1", u.context.request_id)
    assert.equals(12, (l:usage("alice")))
    local bad = new_run({ on_usage = function() error("hook") end })
    bad:fail({ status = 502 })
    assert.has_no.errors(function() bad:account() end)
    assert.equals("502", bad:record().error)
    assert.is_false(bad:record().ok)
  end)
end)

-- The Attempt: one model turn over a route's targets, driven directly (no ai.chat).
do
  local breaker = require("tanstack.ai.router.breaker")
  local attempt = { new = run_mod.attempt, should_fall_back = run_mod.should_fall_back }
  local queue = require("tanstack.ai.queue")
  local errors = require("tanstack.ai.errors")

  local function target(name, answer)
    return { name = name, key = "r/" .. name, model = name, weight = 1, priority = 1, maxRetries = 0,
      make = function() return { chat_stream = function()
        if answer == "raise" then error("boom") end
        local l = {}
        for i, e in ipairs(answer) do l[i] = e end
        return queue.of(l)
      end } end }
  end

  local function new_turn_run(targets)
    local route = { name = "r", targets = targets, health = breaker.new({ failures = 1, cooldown = 60 }) }
    local router = { defaults = {}, router_error = require("tanstack.ai.router").error }
    return run_mod.new(router, route, "r", {}, targets, false)
  end

  local function drain(a)
    local p, types = a:producer(), {}
    for ev in p.next do types[#types + 1] = ev.type end
    return types
  end

  local STARTED = { type = "RUN_STARTED" }
  local function err_ev(status)
    return { type = "RUN_ERROR", error = errors.new({ status = status, message = "x", retryable = status >= 500 }) }
  end

  describe("router.run Attempt", function()
    it("should_fall_back: retryable, timeouts, network; never canceled or the router's own", function()
      assert.is_true(attempt.should_fall_back({ status = 503 }))
      assert.is_true(attempt.should_fall_back({ kind = "timeout" }))
      assert.is_true(attempt.should_fall_back({ kind = "connect" }))
      assert.is_false(attempt.should_fall_back({ status = 400 }))
      assert.is_false(attempt.should_fall_back({ kind = "canceled", retryable = true }))
      assert.is_false(attempt.should_fall_back({ kind = "router", status = 503 }))
      assert.is_false(attempt.should_fall_back("text"))
    end)

    it("drops a failed target's held events and commits to the next; the breaker counts the failure", function()
      local run = new_turn_run({ target("a", { STARTED, err_ev(503) }),
        target("b", { STARTED, { type = "TEXT_MESSAGE_CONTENT", delta = "hi" }, { type = "RUN_FINISHED" } }) })
      local a = attempt.new(run, {})
      assert.same({ "RUN_STARTED", "TEXT_MESSAGE_CONTENT", "RUN_FINISHED" }, drain(a))
      assert.is_true(run.committed)
      assert.equals("b", run.target.name)
      assert.is_true(run.route.health:down("r/a"))
      assert.is_false(run.route.health:down("r/b"))
    end)

    it("a 400 is the run's error at once, not a fallback", function()
      local run = new_turn_run({ target("a", { STARTED, err_ev(400) }), target("b", { STARTED }) })
      assert.same({ "RUN_STARTED", "RUN_ERROR" }, drain(attempt.new(run, {})))
      assert.equals(400, run.error.status)
      assert.same({ { target = "a", error = "400" } }, run.attempts)
    end)

    it("the last target failing: its own RUN_ERROR ends the turn", function()
      local run = new_turn_run({ target("a", { STARTED, err_ev(503) }), target("b", { STARTED, err_ev(502) }) })
      assert.same({ "RUN_STARTED", "RUN_ERROR" }, drain(attempt.new(run, {}))) -- b's own, a's dropped
      assert.equals(502, run.error.status)
    end)

    it("a later turn stays on the committed target", function()
      local b = target("b", { STARTED, { type = "RUN_FINISHED" } })
      local run = new_turn_run({ target("a", { STARTED, err_ev(503) }), b })
      drain(attempt.new(run, {}))
      local second = attempt.new(run, {})
      assert.same({ b }, second.order)
    end)

    it("pending counts held events, and the target's once committed", function()
      local run = new_turn_run({ target("a", { STARTED, { type = "TEXT_MESSAGE_CONTENT", delta = "1" },
        { type = "TEXT_MESSAGE_CONTENT", delta = "2" }, { type = "RUN_FINISHED" } }) })
      local a = attempt.new(run, {})
      local p = a:producer()
      assert.equals(0, p.pending())
      assert.equals("RUN_STARTED", p.next().type)
      assert.equals(1, a.held:size())
      assert.is_true(p.pending() >= 1)
    end)
  end)
end
