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
