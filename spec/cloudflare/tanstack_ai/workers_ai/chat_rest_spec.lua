-- Workers AI chat over plain REST, end to end through libcurl against the local emulator.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local emulator = require("helpers.emulator")

local SECRET = "secret-token-1234567890"

local function types(evs)
  local t = {}
  for i, e in ipairs(evs) do t[i] = e.type end
  return t
end

local function count(evs, ty)
  local n = 0
  for _, e in ipairs(evs) do if e.type == ty then n = n + 1 end end
  return n
end

local function find(evs, ty)
  for _, e in ipairs(evs) do if e.type == ty then return e end end
end

describe("Workers AI chat (plain REST)", function()
  local emu, adapter

  setup(function()
    emu = emulator.shared()
  end)

  before_each(function()
    emu:reset()
    adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.3-70b-instruct-fp8-fast", {
      accountId = "0123456789abcdef0123456789abcdef", apiKey = SECRET, apiBaseUrl = emu.url .. "/client/v4",
      idleTimeout = 2000, timeout = 20000, maxRetries = 2,
    })
  end)

  it("streams AG-UI events and sends the OpenAI-compatible request", function()
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "Hello there" } },
      systemPrompts = { "Be brief.", "Be kind." }, modelOptions = { top_p = 0.5, stream = false },
      temperature = 0.2, maxTokens = 99 }):collect()
    local t = types(evs)
    assert.equal("RUN_STARTED", t[1])
    assert.equal("TEXT_MESSAGE_START", t[2])
    assert.equal("RUN_FINISHED", t[#t])
    assert.equal("TEXT_MESSAGE_END", t[#t - 1])
    local text = {}
    for _, e in ipairs(evs) do if e.type == "TEXT_MESSAGE_CONTENT" then text[#text + 1] = e.delta end end
    assert.matches("You said: Hello there", table.concat(text))
    local fin = evs[#evs]
    assert.equal("stop", fin.finishReason)
    assert.is_table(fin.usage)
    assert.is_true(fin.usage.completionTokens > 0)

    local req = emu:last_request()
    assert.equal("POST", req.method)
    assert.equal("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions", req.path)
    assert.equal("Bearer " .. SECRET, req.headers["authorization"])
    local body = req.json
    assert.equal("@cf/meta/llama-3.3-70b-instruct-fp8-fast", body.model)
    assert.is_true(body.stream) -- managed field wins over modelOptions
    assert.is_true(body.stream_options.include_usage)
    assert.equal(0.5, body.top_p)
    assert.equal(0.2, body.temperature)
    assert.equal(99, body.max_tokens)
    assert.same({ role = "system", content = "Be brief.\nBe kind." }, body.messages[1])
    assert.same({ role = "user", content = "Hello there" }, body.messages[2])
  end)

  it("reads native-format streams on the same path, with usage", function()
    emu:next({ format = "native", text = "native words here" })
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "hi" } } }):collect()
    local s = {}
    for _, e in ipairs(evs) do if e.type == "TEXT_MESSAGE_CONTENT" then s[#s + 1] = e.delta end end
    assert.equal("native words here", table.concat(s))
    assert.is_table(evs[#evs].usage)
  end)

  it("streams tool calls with parsed input", function()
    emu:next({ tool_calls = { { name = "get_weather", arguments = { city = "Paris" } } } })
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "weather?" } },
      tools = { ai.tool_definition({ name = "get_weather", description = "Weather",
        inputSchema = { type = "object", properties = { city = { type = "string" } }, required = { "city" } } }) },
    }):collect()
    local start, fin = find(evs, "TOOL_CALL_START"), find(evs, "RUN_FINISHED")
    assert.equal("get_weather", start.toolCallName)
    assert.same({ city = "Paris" }, find(evs, "TOOL_CALL_END").input)
    assert.equal("tool_calls", fin.finishReason)
    local body = emu:last_request().json
    assert.equal("get_weather", body.tools[1]["function"].name)
    assert.same({ "city" }, body.tools[1]["function"].parameters.required)
  end)

  it("runs server tools in the agent loop and feeds results back", function()
    emu:next({ tool_calls = { { name = "get_weather", arguments = { city = "Paris" } } } })
    local seen
    local tool = ai.tool_definition({ name = "get_weather", description = "Weather",
      inputSchema = { type = "object", properties = { city = { type = "string" } } } }):server(function(input)
        seen = input.city
        return { temp = 21 }
      end)
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "weather in Paris?" } },
      tools = { tool } }):collect()
    assert.equal("Paris", seen)
    local result = find(evs, "TOOL_CALL_RESULT")
    assert.equal('{"temp":21}', result.content)
    -- one run: one RUN_STARTED, each turn's RUN_FINISHED (as TanStack's chat(); spec/tanstack/ai/run_events_spec.lua)
    assert.equal(1, count(evs, "RUN_STARTED"))
    assert.equal(2, count(evs, "RUN_FINISHED"))
    assert.equal("stop", evs[#evs].finishReason)
    local reqs = emu:requests()
    assert.equal(2, #reqs)
    local msgs = reqs[2].json.messages
    assert.equal("assistant", msgs[#msgs - 1].role)
    assert.equal("get_weather", msgs[#msgs - 1].tool_calls[1]["function"].name)
    assert.equal("tool", msgs[#msgs].role)
    assert.equal(msgs[#msgs - 1].tool_calls[1].id, msgs[#msgs].tool_call_id)
  end)

  it("turns a tool error into {error} for the model and goes on", function()
    emu:next({ tool_calls = { { name = "boom", arguments = {} } } })
    local tool = ai.tool_definition({ name = "boom", description = "fails" }):server(function() error("kaput", 0) end)
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } }, tools = { tool } }):collect()
    -- the detail goes to the server log under an error id, the model gets a generic message
    assert.matches('^{"error":"The tool boom failed %(error id err_%x+%)"}$', find(evs, "TOOL_CALL_RESULT").content)
    assert.equal("stop", evs[#evs].finishReason)
  end)

  it("stops after maxIterations model turns", function()
    for _ = 1, 3 do emu:next({ tool_calls = { { name = "t", arguments = {} } } }) end
    local tool = ai.tool_definition({ name = "t", description = "d" }):server(function() return "ok" end)
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } }, tools = { tool },
      maxIterations = 2 }):collect()
    assert.equal(2, #emu:requests())
    assert.equal(2, count(evs, "TOOL_CALL_RESULT"))
  end)

  it("returns the text with stream = false", function()
    emu:next({ text = "just text" })
    local text = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "x" } } })
    assert.equal("just text", text)
  end)

  it("returns decoded structured output", function()
    local schema = { type = "object", properties = { name = { type = "string" }, age = { type = "integer" } },
      required = { "name", "age" } }
    local data = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } }, outputSchema = schema })
    assert.same({ name = "example", age = 42 }, data)
    local body = emu:last_request().json
    assert.is_false(body.stream)
    assert.equal("json_schema", body.response_format.type)
    assert.equal("structured_output", body.response_format.json_schema.name)
    assert.same({ "name", "age" }, body.response_format.json_schema.schema.required)
  end)

  it("retries 429 with Retry-After, then succeeds", function()
    emu:next({ status = 429, retry_after = 0, code = 3040 })
    local text = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "again" } } })
    assert.matches("You said: again", text)
    assert.equal(2, #emu:requests())
  end)

  it("retries a 500 then succeeds, and gives up after maxRetries", function()
    emu:next({ status = 500 })
    assert.is_string(ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "a" } } }))
    emu:reset()
    emu:next({ status = 503, times = 5 })
    local text, err = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "a" } } })
    assert.is_nil(text)
    assert.equal(503, err.status)
    assert.equal(3, #emu:requests())
  end)

  it("reports a 4xx with status, Cloudflare code and message, without retrying or leaking the key", function()
    emu:next({ status = 400, code = 5007, body = { success = false, errors = { { code = 5007, message = "No such model" } },
      messages = {} } })
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } } }):collect()
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, types(evs))
    local e = evs[2]
    assert.equal("No such model", e.message)
    assert.equal("5007", e.code)
    assert.equal(400, e.error.status)
    assert.equal(1, #emu:requests())
    assert.is_nil(tostring(e.error):find(SECRET, 1, true))
  end)

  it("fails with a 401 when the key is wrong shape and never prints it", function()
    local bad = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", { accountId = "0123456789abcdef0123456789abcdef", apiKey = SECRET,
      apiBaseUrl = emu.url .. "/client/v4" })
    emu:next({ status = 401, code = 10000, body = { success = false, errors = { { code = 10000,
      message = "Authentication error for Bearer " .. SECRET } } } })
    local text, err = ai.chat({ adapter = bad, stream = false, messages = { { role = "user", content = "x" } } })
    assert.is_nil(text)
    assert.equal(401, err.status)
    assert.equal(10000, err.code)
    assert.is_nil(tostring(err):find(SECRET, 1, true))
    assert.is_nil(tostring(bad):find(SECRET, 1, true))
  end)

  it("ends a dropped stream with one RUN_ERROR", function()
    emu:next({ drop_after = 3 })
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "one two three four five six" } } }):collect()
    assert.equal("RUN_ERROR", evs[#evs].type)
    assert.equal(1, count(evs, "RUN_ERROR"))
    assert.equal(0, count(evs, "RUN_FINISHED"))
  end)

  it("ends a stalled stream after idleTimeout with one RUN_ERROR", function()
    emu:next({ stall_after = 2, stall_ms = 8000 })
    local a = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", { accountId = "0123456789abcdef0123456789abcdef", apiKey = SECRET,
      apiBaseUrl = emu.url .. "/client/v4", idleTimeout = 300 })
    local t0 = os.time()
    local evs = ai.chat({ adapter = a, messages = { { role = "user", content = "one two three four" } } }):collect()
    assert.is_true(os.time() - t0 < 5)
    assert.equal("RUN_ERROR", evs[#evs].type)
    assert.matches("idle", evs[#evs].message)
  end)

  it("skips a malformed event with a warning on RUN_FINISHED; strictStream reports it as a RUN_ERROR", function()
    emu:next({ malformed_after = 1 })
    local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "a b c" } } }):collect()
    assert.equal("RUN_FINISHED", evs[#evs].type)
    assert.matches("malformed", evs[#evs].warnings[1])
    emu:next({ malformed_after = 1 })
    local strict = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", { accountId = "0123456789abcdef0123456789abcdef", apiKey = SECRET,
      apiBaseUrl = emu.url .. "/client/v4" })
    strict.strictStream = true
    evs = ai.chat({ adapter = strict, messages = { { role = "user", content = "a b c" } } }):collect()
    assert.equal("RUN_ERROR", evs[#evs].type)
    assert.matches("malformed", evs[#evs].message)
  end)

  it("closes the connection when the caller cancels mid-stream", function()
    emu:next({ drip_ms = 100 })
    local s = ai.chat({ adapter = adapter, messages = { { role = "user", content = "a b c d e f g h i j" } } })
    local n = 0
    for ev in s do
      n = n + 1
      if ev.type == "TEXT_MESSAGE_CONTENT" then break end
    end
    s:cancel()
    assert.is_truthy(emu:wait_for(function()
      local r = emu:last_request()
      return r and r.closed_early
    end, 5))
  end)

  it("answers a stream request answered with a JSON body", function()
    emu:next({ json_body_for_stream = true, text = "as json" })
    local text = ai.chat({ adapter = adapter, stream = true, messages = { { role = "user", content = "x" } } }):text()
    assert.equal("as json", text)
  end)

  it("reads credentials from the environment when none are given", function()
    local env = require("helpers.env")
    env.with({ CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef", CLOUDFLARE_API_KEY = "env-key-abcdef",
      CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4" }, function()
      local a = cf.createWorkersAiChat("@cf/meta/llama-3.2-1b-instruct")
      assert.is_string(ai.chat({ adapter = a, stream = false, messages = { { role = "user", content = "x" } } }))
    end)
    local req = emu:last_request()
    assert.equal("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions", req.path)
    assert.equal("Bearer env-key-abcdef", req.headers.authorization)
  end)
end)
