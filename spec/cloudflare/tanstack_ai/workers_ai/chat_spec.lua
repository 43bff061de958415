-- cloudflare.tanstack_ai.workers_ai.chat: the Workers AI chat adapter, built with new(model, resolved config):
-- the request a turn is described as in each mode (OpenAI-compatible /ai/v1/chat/completions for REST and the
-- gateway; the model's own typed input for a binding), what it refuses before sending, and its answers read over
-- a scripted transport (spec/helpers/stub_transport.lua) or a fake binding. Beside it: binding_inputs per catalog
-- model (catalog_adapters_spec.lua), real answers' quirks (real_answers_spec.lua), end to end over REST
-- (chat_rest_spec.lua) and in every mode (modes_spec.lua) against the emulator.
local config = require("cloudflare.tanstack_ai.config")
local wchat = require("cloudflare.tanstack_ai.workers_ai.chat")
local json = require("tanstack.ai.json")
local models = require("cloudflare.tanstack_ai.workers_ai.models")
local stub = require("helpers.stub_transport")

local MODEL = "@cf/meta/llama-3.1-8b-instruct"
local KEY = "wai-secret-key-4242"
local MSGS = { { role = "user", content = "hi" } }
local TOOLS = { { name = "get_weather", description = "w", inputSchema = { type = "object",
  properties = { city = { type = "string" } } } } }

local function rest(answers, model, extra)
  local t = stub.new(answers)
  local user = { accountId = "acct", apiKey = KEY, transport = t, maxRetries = 0 }
  for k, v in pairs(extra or {}) do user[k] = v end
  return wchat.new(model or MODEL, config.resolve(user, { label = "t", needs_provider_key = true })), t
end

local function with_binding(run, model)
  local calls = {}
  local b = { run = function(_, m, inputs, opts)
    calls[#calls + 1] = { model = m, inputs = inputs, opts = opts }
    return run(inputs)
  end, gateway = function() end }
  return wchat.new(model or MODEL, config.resolve({ binding = b }, { label = "t", needs_provider_key = true })), calls
end

local function sse(chunks)
  local out = {}
  for i, c in ipairs(chunks) do out[i] = "data: " .. json.encode(c) .. "\n\n" end
  out[#out + 1] = "data: [DONE]\n\n"
  return { status = 200, headers = { ["content-type"] = "text/event-stream" }, body = table.concat(out) }
end

local function drain(p)
  local evs, text = {}, {}
  for ev in p.next do
    evs[#evs + 1] = ev
    if ev.type == "TEXT_MESSAGE_CONTENT" then text[#text + 1] = ev.delta end
  end
  return evs, table.concat(text)
end

local function completion(content)
  return stub.json({ result = { id = "c", object = "chat.completion", model = MODEL, choices = { { index = 0,
    message = { role = "assistant", content = content }, finish_reason = "stop" } },
    usage = { prompt_tokens = 2, completion_tokens = 3, total_tokens = 5 } }, success = true, errors = {} })
end

describe("workers_ai chat", function()
  it("new: a text adapter of workers-ai; tostring names the model and mode, never the key", function()
    local a = rest({})
    assert.equal("text", a.kind)
    assert.equal("workers-ai", a.name)
    assert.equal(MODEL, a.model)
    assert.equal("WorkersAiTextAdapter(" .. MODEL .. ", rest)", tostring(a))
    assert.is_nil(tostring(a):find(KEY, 1, true))
  end)

  it("describe (REST): the OpenAI-compatible body at /ai/v1/chat/completions; the entry names the model", function()
    local a = rest({})
    local d = assert(a:describe({ model = MODEL, messages = MSGS, temperature = 0.5, tools = TOOLS }))
    assert.equal("workers-ai", d.provider)
    assert.equal("/ai/v1/chat/completions", d.rest_path)
    assert.equal("v1/chat/completions", d.gateway_path)
    assert.equal(MODEL, d.entry_endpoint)
    assert.equal(MODEL, d.body.model)
    assert.is_true(d.body.stream)
    assert.is_true(d.stream)
    assert.equal(0.5, d.body.temperature)
    assert.equal("get_weather", d.body.tools[1]["function"].name)
    assert.is_nil(d.binding_inputs.model) -- the universal entry form names the model elsewhere
    assert.equal(d.body.temperature, d.binding_inputs.temperature)
  end)

  it("describe (binding): only the model's typed input (all of it for a model the catalog lacks); a guard is not streamed", function()
    local FP8 = "@cf/meta/llama-3.1-8b-instruct-fp8"
    local a = with_binding(function() return {} end, FP8)
    local d = assert(a:describe({ model = FP8, messages = MSGS }))
    local fields = models.entry(FP8).fields
    for k in pairs(d.binding_inputs) do assert.is_not_nil(fields[k], k) end -- each a field of its typed input
    assert.is_table(d.body.stream_options) -- in the OpenAI body, not in this model's input
    assert.is_nil(d.binding_inputs.stream_options)
    assert.is_nil(d.binding_inputs.model)
    assert.is_true(d.binding_inputs.stream)
    assert.is_true(d.stream)
    -- a model the catalog lacks: the whole body (the common form)
    assert.is_nil(models.entry(MODEL))
    local u = assert(with_binding(function() return {} end):describe({ model = MODEL, messages = MSGS }))
    assert.same(d.body.stream_options, u.binding_inputs.stream_options)
    local g = with_binding(function() return {} end, "@cf/meta/llama-guard-3-8b")
    local gd = assert(g:describe({ model = "@cf/meta/llama-guard-3-8b", messages = MSGS }))
    assert.is_nil(gd.binding_inputs.stream)
    assert.is_false(gd.stream)
  end)

  it("describe refuses tools to a model without function calling, a realtime or an unusable model", function()
    local cases = {
      { "@cf/meta/llama-guard-3-8b", TOOLS, "has no function calling" },
      { "@cf/deepgram/flux", nil, "is a realtime (websocket) model" },
      { "@cf/cloudflare/clef", nil, "cannot be driven by this adapter" },
    }
    for _, c in ipairs(cases) do
      local a = rest({}, c[1])
      local d, err = a:describe({ model = c[1], messages = MSGS, tools = c[2] })
      assert.is_nil(d, c[1])
      assert.equal("config", err.kind)
      assert.equal("unsupported_option", err.code)
      assert.is_false(err.retryable)
      assert.equal(c[1], err.model)
      assert.matches("^Workers AI chat: ", err.message)
      assert.truthy(err.message:find(c[3], 1, true), err.message)
    end
  end)

  it("chat_stream (REST): one POST of the body, the SSE answer as AG-UI events of this model", function()
    local a, t = rest({ sse({
      { choices = { { index = 0, delta = { role = "assistant", content = "Hel" } } } },
      { choices = { { index = 0, delta = { content = "lo" }, finish_reason = "stop" } } },
      { choices = {}, usage = { prompt_tokens = 2, completion_tokens = 2, total_tokens = 4 } } }) })
    local evs, text = drain(a:chat_stream({ messages = MSGS, runId = "run-7", threadId = "th-7", model = "other" }))
    assert.equal("Hello", text)
    assert.equal("RUN_STARTED", evs[1].type)
    assert.equal("run-7", evs[1].runId)
    assert.equal("RUN_FINISHED", evs[#evs].type)
    assert.equal("stop", evs[#evs].finishReason)
    assert.equal(4, evs[#evs].usage.totalTokens)
    for _, e in ipairs(evs) do assert.equal(MODEL, e.model) end
    assert.equal(1, #t.requests)
    assert.equal("https://api.cloudflare.com/client/v4/accounts/acct/ai/v1/chat/completions", t.requests[1].url)
    assert.equal(MODEL, t:json(1).model) -- the adapter's model, not the options'
  end)

  it("chat_stream: a refused request is RUN_STARTED and one RUN_ERROR, and nothing is sent", function()
    local a, t = rest({ sse({}) }, "@cf/meta/llama-guard-3-8b")
    local evs = drain(a:chat_stream({ messages = MSGS, tools = TOOLS }))
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, { evs[1].type, evs[2].type })
    assert.equal(2, #evs)
    assert.equal("unsupported_option", evs[2].code)
    assert.equal(0, #t.requests)
  end)

  it("chat_stream: a stream answered with JSON is read whole; an empty result is asked once more unstreamed", function()
    local a, t = rest({ stub.json({ result = {}, success = true, errors = {} }), completion("second time") })
    local evs, text = drain(a:chat_stream({ messages = MSGS }))
    assert.equal("second time", text)
    assert.equal("RUN_FINISHED", evs[#evs].type)
    assert.equal(2, #t.requests)
    assert.is_true(t:json(1).stream)
    assert.is_false(t:json(2).stream)
    assert.is_nil(t:json(2).stream_options)
    local b, bt = rest({ completion("whole") })
    local _, whole = drain(b:chat_stream({ messages = MSGS }))
    assert.equal("whole", whole)
    assert.equal(1, #bt.requests)
  end)

  it("chat_stream (binding): the model's inputs go to AI.run, a streamed answer read as events", function()
    local a, calls = with_binding(function()
      local chunks = { 'data: {"response":"Hi"}\n\n', 'data: {"response":" there"}\n\ndata: [DONE]\n\n' }
      local i = 0
      return function() i = i + 1 return chunks[i] end
    end)
    local _, text = drain(a:chat_stream({ messages = MSGS }))
    assert.equal("Hi there", text)
    assert.equal(1, #calls)
    assert.equal(MODEL, calls[1].model)
    assert.equal("hi", calls[1].inputs.messages[1].content)
    assert.is_nil(calls[1].inputs.model)
  end)

  it("structured_output: a non-streamed json_schema request; the decoded table", function()
    local a, t = rest({ completion('{"ok":true}') })
    local schema = { type = "object", properties = { ok = { type = "boolean" } } }
    local data = a:structured_output({ messages = MSGS }, schema)
    assert.same({ ok = true }, data)
    local b = t:json(1)
    assert.is_falsy(b.stream)
    assert.equal("json_schema", b.response_format.type)
    assert.same(schema.properties, b.response_format.json_schema.schema.properties)
  end)

  it("structured_output: a refused request or a non-JSON answer is nil, err", function()
    local a, t = rest({}, "@cf/deepgram/flux")
    local data, err = a:structured_output({ messages = MSGS }, { type = "object" })
    assert.is_nil(data)
    assert.equal("unsupported_option", err.code)
    assert.equal(0, #t.requests)
    local b = rest({ stub.bytes("<html>", "text/html") })
    data, err = b:structured_output({ messages = MSGS }, { type = "object" })
    assert.is_nil(data)
    assert.equal("provider", err.kind)
    assert.equal("Workers AI chat: expected a JSON answer, got text/html", err.message)
  end)
end)
