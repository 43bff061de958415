-- cloudflare.tanstack_ai.gateway.chat: a third-party provider's chat through AI Gateway, built with the module's
-- new(provider, model, resolved config) over a scripted transport (spec/helpers/stub_transport.lua): the request
-- each provider's turn is described as (path, query, headers, body in its wire format), the answer read into
-- AG-UI events, structured output. Every provider in both gateway modes against the emulator:
-- providers_spec.lua beside this file.
local config = require("cloudflare.tanstack_ai.config")
local gateway_chat = require("cloudflare.tanstack_ai.gateway.chat")
local json = require("tanstack.ai.json")
local stub = require("helpers.stub_transport")

local KEY = "sk-provider-secret-777"
local GW = "https://gateway.ai.cloudflare.com/v1/acct/gw/"

local function cfg(t, extra)
  local user = { accountId = "acct", gatewayId = "gw", apiKey = KEY, transport = t, maxRetries = 0 }
  for k, v in pairs(extra or {}) do user[k] = v end
  return config.resolve(user, { label = "t", gateway_only = true })
end

local MSGS = { { role = "user", content = "hi" } }

local function sse(chunks)
  local out = {}
  for i, c in ipairs(chunks) do out[i] = "data: " .. json.encode(c) .. "\n\n" end
  out[#out + 1] = "data: [DONE]\n\n"
  return { status = 200, headers = { ["content-type"] = "text/event-stream" }, body = table.concat(out) }
end

local function openai_chunk(delta, finish)
  return { id = "c", object = "chat.completion.chunk", choices = { { index = 0, delta = delta,
    finish_reason = finish or json.null } } }
end

local function lower(h)
  local o = {}
  for k, v in pairs(h or {}) do o[k:lower()] = v end
  return o
end

describe("gateway chat", function()
  it("new: a text adapter naming the provider and mode; tostring never shows the key", function()
    local a = gateway_chat.new("anthropic", "claude-sonnet-4-5", cfg(stub.new({})))
    assert.equal("text", a.kind)
    assert.equal("anthropic", a.name)
    assert.equal("Anthropic", a.label)
    assert.equal("claude-sonnet-4-5", a.model)
    assert.equal("AnthropicTextAdapter(claude-sonnet-4-5, gateway_rest)", tostring(a))
    assert.is_nil(tostring(a):find(KEY, 1, true))
    assert.has_error(function() gateway_chat.new("groq", "m", cfg(stub.new({}))) end)
  end)

  it("describe: each provider's gateway path, query and headers, streamed and not", function()
    local cases = {
      { "openai", "gpt-4o", "openai", "chat/completions", "chat/completions" },
      { "anthropic", "claude-sonnet-4-5", "anthropic", "v1/messages", "v1/messages" },
      { "gemini", "gemini-2.5-flash", "google-ai-studio", "v1beta/models/gemini-2.5-flash:streamGenerateContent",
        "v1beta/models/gemini-2.5-flash:generateContent" },
      { "grok", "grok-4", "grok", "v1/chat/completions", "v1/chat/completions" },
      { "openrouter", "openai/gpt-4o", "openrouter", "v1/chat/completions", "v1/chat/completions" },
    }
    for _, c in ipairs(cases) do
      local a = gateway_chat.new(c[1], c[2], cfg(stub.new({})))
      local d = a:describe({ model = c[2], messages = MSGS, stream = true })
      assert.equal(c[3], d.provider, c[1])
      assert.equal(c[4], d.gateway_path, c[1])
      assert.is_true(d.stream, c[1])
      assert.equal(c[2], d.model)
      assert.equal(a.label .. " chat", d.label)
      if c[1] == "gemini" then assert.same({ alt = "sse" }, d.query) else assert.is_nil(d.query) end
      if c[1] == "anthropic" then
        assert.same({ ["anthropic-version"] = "2023-06-01" }, d.headers)
      else
        assert.same({}, d.headers)
      end
      d = a:describe({ model = c[2], messages = MSGS, stream = false })
      assert.equal(c[5], d.gateway_path, c[1])
      assert.is_falsy(d.stream)
      assert.is_nil(d.query)
    end
  end)

  it("describe: the body is the provider's wire format of the options", function()
    local a = gateway_chat.new("anthropic", "claude-sonnet-4-5", cfg(stub.new({}), { anthropicVersion = "2024-10-22" }))
    local d = a:describe({ model = "claude-sonnet-4-5", messages = MSGS, systemPrompts = { "Be brief." },
      maxTokens = 99 })
    assert.equal("2024-10-22", d.headers["anthropic-version"])
    assert.equal("claude-sonnet-4-5", d.body.model)
    assert.equal(99, d.body.max_tokens)
    assert.equal("Be brief.", d.body.system[1].text)
    assert.equal("hi", d.body.messages[1].content[1].text)
    local g = gateway_chat.new("gemini", "gemini-2.5-flash", cfg(stub.new({})))
    local gd = g:describe({ model = "gemini-2.5-flash", messages = MSGS, temperature = 0.2 })
    assert.is_nil(gd.body.model) -- Gemini names the model in the path
    assert.equal("hi", gd.body.contents[1].parts[1].text)
    assert.equal(0.2, gd.body.generationConfig.temperature)
  end)

  it("chat_stream: one POST to the provider through the gateway, the SSE answer as AG-UI events of this model", function()
    local t = stub.new({ sse({ openai_chunk({ role = "assistant", content = "Hel" }), openai_chunk({ content = "lo" }),
      openai_chunk({}, "stop") }) })
    local a = gateway_chat.new("openai", "gpt-4o", cfg(t))
    local p = a:chat_stream({ messages = MSGS, runId = "run-1", threadId = "th-1" })
    local evs, text = {}, {}
    for ev in p.next do
      evs[#evs + 1] = ev
      if ev.type == "TEXT_MESSAGE_CONTENT" then text[#text + 1] = ev.delta end
    end
    assert.equal("RUN_STARTED", evs[1].type)
    assert.equal("run-1", evs[1].runId)
    assert.equal("th-1", evs[1].threadId)
    assert.equal("RUN_FINISHED", evs[#evs].type)
    assert.equal("stop", evs[#evs].finishReason)
    assert.equal("Hello", table.concat(text))
    for _, e in ipairs(evs) do assert.equal("gpt-4o", e.model) end
    assert.equal(1, #t.requests)
    assert.equal(GW .. "openai/chat/completions", t.requests[1].url)
    assert.equal("Bearer " .. KEY, lower(t.requests[1].headers).authorization)
    local body = t:json(1)
    assert.equal("gpt-4o", body.model) -- the adapter's model, whatever the options said
    assert.is_true(body.stream)
  end)

  it("chat_stream: a provider error is one RUN_ERROR with status and provider, the key not in it", function()
    local t = stub.new({ stub.json({ error = { message = "Incorrect API key provided", type = "invalid_request_error",
      code = "invalid_api_key" } }, 401) })
    local p = gateway_chat.new("openai", "gpt-4o", cfg(t)):chat_stream({ messages = MSGS })
    local evs = {}
    for ev in p.next do evs[#evs + 1] = ev end
    assert.equal("RUN_ERROR", evs[#evs].type)
    local e = evs[#evs].error
    assert.equal(401, e.status)
    assert.equal("openai", e.provider)
    assert.equal("invalid_api_key", e.code)
    assert.is_nil(tostring(e):find(KEY, 1, true))
  end)

  it("structured_output: one non-streamed request; the decoded table and its text", function()
    local t = stub.new({ stub.json({ id = "c", object = "chat.completion", choices = { { index = 0,
      message = { role = "assistant", content = '{"name":"Ada","age":36}' }, finish_reason = "stop" } } }) })
    local schema = { type = "object", properties = { name = { type = "string" }, age = { type = "integer" } } }
    local data, raw = gateway_chat.new("openai", "gpt-4o", cfg(t)):structured_output({ messages = MSGS }, schema)
    assert.same({ name = "Ada", age = 36 }, data)
    assert.equal('{"name":"Ada","age":36}', raw)
    local body = t:json(1)
    assert.is_false(body.stream)
    assert.equal("json_schema", body.response_format.type)
    assert.same(schema.properties, body.response_format.json_schema.schema.properties)
  end)

  it("structured_output: an answer that is not JSON is a provider error naming its content type", function()
    local t = stub.new({ stub.bytes("<html>gateway page</html>", "text/html") })
    local data, err = gateway_chat.new("grok", "grok-4", cfg(t)):structured_output({ messages = MSGS },
      { type = "object" })
    assert.is_nil(data)
    assert.equal("provider", err.kind)
    assert.equal("grok", err.provider)
    assert.equal("Grok chat: expected a JSON answer, got text/html", err.message)
  end)
end)
