-- cloudflare.tanstack_ai.router against the emulator (libcurl, per-process state): routes and aliases, fallback
-- before the first byte and never after, health, weighted order, auth, the token limiter, the usage hook.
local emulator = require("helpers.emulator")
local router = require("cloudflare.tanstack_ai.router")

local A, B = "@cf/meta/llama-3.1-8b-instruct-fp8", "@cf/meta/llama-3.2-3b-instruct"

describe("router", function()
  local emu
  local usage
  local function new(extra)
    usage = {}
    local opts = {
      defaults = { config = { accountId = "0123456789abcdef0123456789abcdef", apiKey = "key", apiBaseUrl = emu.url .. "/client/v4" } },
      routes = { chat = { aliases = { "gpt-4o-mini" }, targets = {
        { name = "a", adapter = "create_workers_ai_chat", model = A },
        { name = "b", adapter = "create_workers_ai_chat", model = B },
      } } },
      onUsage = function(u) usage[#usage + 1] = u end,
    }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return router.new(opts)
  end
  local function models()
    local out = {}
    for _, r in ipairs(emu:requests("/chat/completions")) do out[#out + 1] = r.json.model end
    return out
  end
  local msgs = { { role = "user", content = "hi" } }

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("runs the first target of the route an alias names, and reports usage once", function()
    local r = new()
    local s = assert(r:chat("gpt-4o-mini", { messages = msgs }, { consumer = "alice" }))
    assert.is_nil(s.error)
    assert.equals("Hello from the Workers AI emulator! You said: hi", s:text())
    assert.same({ A }, models())
    assert.equals(1, #usage)
    local u = usage[1]
    assert.equals("alice", u.consumer)
    assert.equals("chat", u.route)
    assert.equals("gpt-4o-mini", u.requestedModel)
    assert.equals("a", u.target)
    assert.equals(A, u.model)
    assert.is_true(u.inputTokens > 0 and u.outputTokens > 0)
    assert.is_true(u.ok)
  end)

  it("falls back on 5xx and 429 before the first byte", function()
    local r = new()
    for _, status in ipairs({ 500, 503, 429 }) do
      emu:reset()
      emu:next({ status = status })
      local s = r:chat("chat", { messages = msgs })
      assert.is_nil(s.error)
      assert.truthy(s:text())
      assert.same({ A, B }, models())
    end
  end)

  it("does not fall back on a 400, nor after the first byte", function()
    local r = new()
    emu:next({ status = 400 })
    local s = r:chat("chat", { messages = msgs })
    assert.equals(400, s.error.status)
    s:cancel()
    assert.same({ A }, models())
    emu:reset()
    emu:next({ drop_after = 3 })
    s = r:chat("chat", { messages = msgs })
    assert.is_nil(s.error) -- the run committed to its first target
    local types = {}
    for ev in s:iter() do types[#types + 1] = ev.type end
    assert.equals("RUN_ERROR", types[#types])
    assert.same({ A }, models())
    assert.is_false(usage[#usage].ok)
  end)

  it("a run's later turns (after a server tool) stay on the target that answered, usage summed", function()
    local ai = require("tanstack.ai")
    local tool = ai.tool_definition({ name = "get_weather", description = "w", inputSchema = { type = "object",
      properties = { city = { type = "string" } }, required = { "city" } } }):server(function() return "sunny" end)
    local r = new()
    emu:next({ status = 500 })
    local s = r:chat("chat", { messages = { { role = "user", content = "weather in Paris?" } }, tools = { tool } })
    assert.equals("The tool said: sunny", s:text())
    assert.same({ A, B, B }, models())
    assert.equals("b", usage[1].target)
    assert.is_true(usage[1].outputTokens > 3)
  end)

  it("every target failing: stream.error, one RUN_ERROR in the stream", function()
    local r = new()
    emu:next({ status = 503, times = 2 })
    local s = r:chat("chat", { messages = msgs })
    assert.equals(503, s.error.status)
    local n = 0
    for ev in s:iter() do if ev.type == "RUN_ERROR" then n = n + 1 end end
    assert.equals(1, n)
    assert.equals(1, #usage)
  end)

  it("skips a target failing N times in a row for the cool-down, then tries it again", function()
    local t = 1000
    local r = new({ health = { failures = 2, cooldown = 10, clock = function() return t end } })
    for _ = 1, 2 do
      emu:next({ status = 500 })
      assert.truthy(r:chat("chat", { messages = msgs }):text())
    end
    assert.is_true(r:health_state("chat/a").down)
    emu:reset()
    r:chat("chat", { messages = msgs }):text()
    assert.same({ B }, models())
    t = 1011
    emu:reset()
    r:chat("chat", { messages = msgs }):text()
    assert.same({ A }, models())
    assert.is_false(r:health_state("chat/a").down)
  end)

  it("orders equal-priority targets by weight", function()
    local r = router.new({ routes = { w = { targets = {
      { name = "x", adapter = function() end, weight = 9, priority = 1 },
      { name = "y", adapter = function() end, weight = 1, priority = 1 },
      { name = "z", adapter = function() end, priority = 2 },
    } } } })
    local first = { x = 0, y = 0 }
    for _ = 1, 400 do
      local order = r:order(r:route("w"))
      first[order[1].name] = first[order[1].name] + 1
      assert.equals("z", order[3].name)
    end
    assert.is_true(first.x > first.y * 3, first.x .. " vs " .. first.y)
    assert.is_true(first.y > 0)
  end)

  it("unknown model 404; auth by keys and by a function; route consumers 403", function()
    local r = new({ auth = { keys = { ["sk-1"] = "alice" } } })
    local _, err = r:chat("nope", { messages = msgs })
    assert.equals(404, err.status)
    assert.equals("model_not_found", err.code)
    assert.equals("alice", r:authenticate("Bearer sk-1"))
    _, err = r:authenticate(nil)
    assert.equals(401, err.status)
    _, err = r:authenticate("Bearer sk-2")
    assert.equals(401, err.status)
    local f = new({ auth = function(token) if token == "ok" then return "bob" end return nil, 403, "no" end })
    assert.equals("bob", f:authenticate("Bearer ok"))
    _, err = f:authenticate("Bearer bad")
    assert.equals(403, err.status)
    local p = router.new({ routes = { p = { consumers = { "alice" }, targets = { { adapter = function() end } } } } })
    _, err = p:chat("p", { messages = msgs }, { consumer = "eve" })
    assert.equals(403, err.status)
  end)

  it("limits tokens per window per consumer, and recovers", function()
    local t = 0
    local r = new({ limits = { tokensPerMinute = 15, window = 60, clock = function() return t end } })
    assert.truthy(r:chat("chat", { messages = msgs }, { consumer = "c" }):text()) -- ~12 tokens
    assert.truthy(r:chat("chat", { messages = msgs }, { consumer = "c" }):text()) -- ~24
    local _, err = r:chat("chat", { messages = msgs }, { consumer = "c" })
    assert.equals(429, err.status)
    assert.is_true(err.retry_after >= 1)
    assert.truthy(r:chat("chat", { messages = msgs }, { consumer = "other" }):text())
    t = 125
    assert.truthy(r:chat("chat", { messages = msgs }, { consumer = "c" }):text())
  end)

  it("raises on a malformed route table", function()
    assert.has_error(function() router.new({ routes = { x = { targets = {} } } }) end)
    assert.has_error(function() router.new({ routes = { x = { targets = { { adapter = "create_nothing" } } } } }) end)
    assert.has_error(function() router.new({ routes = { x = { targets = { { adapter = function() end } } } },
      auth = "yes" }) end)
    assert.has_error(function() router.new({ routes = { x = { targets = { { adapter = "create_workers_ai_chat",
      model = "m" }, { adapter = "create_workers_ai_chat", model = "m" } } } } }) end)
  end)

  it("the alias registers Cloudflare's create_* constructors; opts.constructors adds to them and wins", function()
    local cf = require("cloudflare.tanstack_ai")
    local c = router.constructors()
    assert.equals(cf.create_workers_ai_chat, c.create_workers_ai_chat)
    for name, fn in pairs(c) do
      assert.matches("^create_", name)
      assert.is_function(fn)
    end
    local called
    local r = router.new({ constructors = { create_workers_ai_chat = function(model)
      called = model
      return { chat_stream = function() return require("tanstack.ai.queue").of({}) end }
    end }, routes = { x = { targets = { { adapter = "create_workers_ai_chat", model = "mine" } } } } })
    r:chat("x", { messages = msgs }):cancel()
    assert.equals("mine", called)
    assert.equals(require("tanstack.ai.router").register, router.register) -- the rest is tanstack.ai.router's
  end)
end)

