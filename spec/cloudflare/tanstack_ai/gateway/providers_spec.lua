-- AI Gateway third-party providers end to end against the local emulator: for each provider x function x
-- gateway mode (gateway REST; gateway binding through cf.binding{...}:gateway(id)), the exact request the
-- emulator recorded and the events / results that came back.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local json = require("tanstack.ai.json")
local core = require("tanstack.ai.core")
local emulator = require("helpers.emulator")
local replay = require("helpers.replay")

local KEY = "sk-provider-secret-0001"
local CF_KEY = "cf-aig-secret-0002"
local BINDING_TOKEN = "cf-api-token-secret-0003"

local CACHE = { skipCache = true, cacheTtl = 3600, customCacheKey = "my-key", metadata = { user = "test" } }
local CACHE_HEADERS = { ["cf-aig-skip-cache"] = "true", ["cf-aig-cache-ttl"] = "3600",
  ["cf-aig-cache-key"] = "my-key", ["cf-aig-metadata"] = '{"user":"test"}' }

local REST, BINDING = "gateway REST", "gateway binding"
local MODES = { REST, BINDING }

-- How each wire format shows the parts of a chat request the tests look at.
local WIRE = {
  openai = {
    system = function(b) return b.messages[1].role == "system" and b.messages[1].content or nil end,
    user = function(b) return b.messages[#b.messages].content end,
    tool_name = function(b) return b.tools[1]["function"].name end,
    temperature = function(b) return b.temperature end,
  },
  anthropic = {
    system = function(b) return b.system and b.system[1].text end,
    user = function(b) return b.messages[#b.messages].content[1].text end,
    tool_name = function(b) return b.tools[1].name end,
    temperature = function(b) return b.temperature end,
  },
  gemini = {
    system = function(b) return b.systemInstruction and b.systemInstruction.parts[1].text end,
    user = function(b) return b.contents[#b.contents].parts[1].text end,
    tool_name = function(b) return b.tools[1].functionDeclarations[1].name end,
    temperature = function(b) return b.generationConfig.temperature end,
  },
}

local PROVIDERS = {
  { name = "openai", model = "gpt-4o", slug = "openai", wire = "openai", chat = "chat/completions",
    auth = "authorization", bearer = true, code_401 = "invalid_api_key",
    max_tokens = function(b) return b.max_completion_tokens end },
  { name = "anthropic", model = "claude-sonnet-4-5", slug = "anthropic", wire = "anthropic", chat = "v1/messages",
    auth = "x-api-key", code_401 = "authentication_error", max_tokens = function(b) return b.max_tokens end },
  { name = "gemini", model = "gemini-2.5-flash", slug = "google-ai-studio", wire = "gemini",
    chat = "v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    unary = "v1beta/models/gemini-2.5-flash:generateContent",
    auth = "x-goog-api-key", max_tokens = function(b) return b.generationConfig.maxOutputTokens end },
  { name = "grok", model = "grok-4", slug = "grok", wire = "openai", chat = "v1/chat/completions",
    auth = "authorization", bearer = true, code_401 = "invalid_api_key",
    max_tokens = function(b) return b.max_tokens end },
  { name = "openrouter", model = "openai/gpt-4o", slug = "openrouter", wire = "openai", chat = "v1/chat/completions",
    auth = "authorization", bearer = true, code_401 = "invalid_api_key",
    max_tokens = function(b) return b.max_tokens end },
}

local emu

local function config(mode, extra)
  local c
  if mode == REST then
    c = { accountId = "acct", gatewayId = "gw", cfApiKey = CF_KEY, apiKey = KEY, gatewayBaseUrl = emu.url .. "/v1" }
  else
    local binding = cf.binding({ accountId = "acct", apiKey = BINDING_TOKEN, cfApiKey = CF_KEY,
      gatewayBaseUrl = emu.url .. "/v1", apiBaseUrl = emu.url .. "/client/v4", timeout = 20000 })
    c = { binding = binding:gateway("gw"), apiKey = KEY }
  end
  c.maxRetries = 0
  if mode == REST then c.timeout = 20000 end
  for k, v in pairs(CACHE) do c[k] = v end
  for k, v in pairs(extra or {}) do
    if v == false then c[k] = nil else c[k] = v end
  end
  return c
end

local function lower(h)
  local o = {}
  for k, v in pairs(h or {}) do o[k:lower()] = v end
  return o
end

local function query_suffix(q)
  local keys = {}
  for k in pairs(q or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(q[k]) end
  return #parts > 0 and ("?" .. table.concat(parts, "&")) or ""
end

-- What reached the provider, in either mode: provider slug, endpoint (path after the slug + query),
-- provider-level headers, the headers of the HTTP request itself, and the body.
local function sent(mode, n)
  local reqs = emu:requests()
  local r = reqs[n or #reqs]
  assert(r, "no request recorded")
  if mode == REST or r.path ~= "/v1/acct/gw" then
    local slug, rest = r.path:match("^/v1/acct/gw/([^/]+)/(.*)$")
    return { method = r.method, provider = slug, endpoint = rest .. query_suffix(r.query), headers = r.headers,
      outer = r.headers, body = r.json, multipart = r.multipart, raw = r }
  end
  assert.equal("POST", r.method)
  assert.is_table(r.json, "a universal request is a JSON array")
  assert.equal(1, #r.json)
  local entry = r.json[1]
  return { method = "POST", provider = entry.provider, endpoint = entry.endpoint, headers = lower(entry.headers),
    outer = r.headers, body = entry.query, raw = r }
end

local function check_routing(P, mode, s, opts)
  opts = opts or {}
  assert.equal(P.slug, s.provider)
  assert.equal(P.bearer and ("Bearer " .. KEY) or KEY, s.headers[P.auth])
  -- gateway token: the adapter's cfApiKey over REST; the binding's own one on the universal request
  if opts.no_gateway_token then
    assert.is_nil(s.outer["cf-aig-authorization"])
  else
    assert.equal("Bearer " .. CF_KEY, s.outer["cf-aig-authorization"])
  end
  for k, v in pairs(CACHE_HEADERS) do assert.equal(v, s.headers[k], k) end
  if P.name == "anthropic" then assert.equal("2023-06-01", s.headers["anthropic-version"]) end
  if mode == BINDING and not opts.rest_url then
    -- the binding's own Cloudflare token never leaks into the provider entry
    assert.is_nil(s.outer["authorization"])
  end
end

local WEATHER = ai.tool_definition({ name = "get_weather", description = "Weather for a city",
  inputSchema = { type = "object", properties = { city = { type = "string" } }, required = { "city" } } })

local function chat_adapter(P, mode, extra)
  return cf["create_" .. P.name .. "_chat"](P.model, config(mode, extra))
end

local function collect(adapter, opts)
  opts.adapter = adapter
  opts.messages = opts.messages or { { role = "user", content = "Weather in Paris and Lisbon?" } }
  return ai.chat(opts):collect()
end

local function b64bytes(s) return assert(core.base64_decode(s)) end

setup(function()
  emu = emulator.shared()
end)

before_each(function()
  emu:reset()
end)

---------------------------------------------------------------------------------------------------
-- Chat, structured output, summarize: every provider in both modes
---------------------------------------------------------------------------------------------------

for _, P in ipairs(PROVIDERS) do
  local W = WIRE[P.wire]
  for _, mode in ipairs(MODES) do
    describe(P.name .. " via " .. mode, function()
      it("streams reasoning, text and parallel tool calls with usage, and sends the exact request", function()
        emu:next({ reasoning = "Two cities to check", text = "Checking both.", tool_calls = {
          { name = "get_weather", arguments = { city = "Paris" } },
          { name = "get_weather", arguments = { city = "Lisbon" } } } })
        local evs = collect(chat_adapter(P, mode), { systemPrompts = { "Be brief." }, tools = { WEATHER } })
        local t = replay.types(evs)
        assert.equal("RUN_STARTED", t[1])
        assert.equal("RUN_FINISHED", t[#t])
        assert.equal(1, #replay.of_type(evs, "RUN_STARTED"))
        assert.equal("Two cities to check", replay.joined(evs, "STEP_FINISHED"))
        assert.equal("Checking both.", replay.joined(evs, "TEXT_MESSAGE_CONTENT"))
        local starts = replay.of_type(evs, "TOOL_CALL_START")
        assert.equal(2, #starts)
        assert.are_not.equal(starts[1].toolCallId, starts[2].toolCallId)
        local inputs = {}
        for i, e in ipairs(replay.of_type(evs, "TOOL_CALL_END")) do
          inputs[i] = e.input
          local args = {}
          for _, a in ipairs(replay.of_type(evs, "TOOL_CALL_ARGS")) do
            if a.toolCallId == e.toolCallId then args[#args + 1] = a.delta end
          end
          assert.same(e.input, json.decode(table.concat(args))) -- the fragments add up to the input
        end
        assert.same({ { city = "Paris" }, { city = "Lisbon" } }, inputs)
        local fin = evs[#evs]
        assert.equal("tool_calls", fin.finishReason)
        assert.is_true(fin.usage.promptTokens > 0)
        assert.is_true(fin.usage.completionTokens > 0)
        if P.wire ~= "gemini" then
          assert.equal(fin.usage.promptTokens + fin.usage.completionTokens, fin.usage.totalTokens)
        end
        for _, e in ipairs(evs) do assert.equal(P.model, e.model) end

        local s = sent(mode)
        assert.equal(P.chat, s.endpoint)
        check_routing(P, mode, s)
        local b = s.body
        assert.equal("Be brief.", W.system(b))
        assert.equal("Weather in Paris and Lisbon?", W.user(b))
        assert.equal("get_weather", W.tool_name(b))
        if P.wire == "openai" then
          assert.equal(P.model, b.model)
          assert.is_true(b.stream)
          assert.is_true(b.stream_options.include_usage)
        elseif P.wire == "anthropic" then
          assert.equal(P.model, b.model)
          assert.is_true(b.stream)
          assert.equal(4096, b.max_tokens)
          assert.same({ type = "object", properties = { city = { type = "string" } }, required = { "city" } },
            b.tools[1].input_schema)
        else
          assert.is_nil(b.model) -- the model is in the path
          assert.is_nil(b.stream)
          assert.same({ type = "OBJECT", properties = { city = { type = "STRING" } }, required = { "city" } },
            b.tools[1].functionDeclarations[1].parameters)
        end
      end)

      it("runs a server tool and sends its result back in the provider's own form", function()
        emu:next({ tool_calls = { { name = "get_weather", arguments = { city = "Paris" } } } })
        local seen
        local tool = WEATHER:server(function(input) seen = input.city return { temp = 21 } end)
        local evs = collect(chat_adapter(P, mode), { tools = { tool } })
        assert.equal("Paris", seen)
        assert.equal(1, #replay.of_type(evs, "RUN_STARTED")) -- one run, as TanStack's chat()
        assert.equal(2, #replay.of_type(evs, "RUN_FINISHED"))
        assert.equal('{"temp":21}', replay.of_type(evs, "TOOL_CALL_RESULT")[1].content)
        assert.matches("The tool said:", replay.joined(evs, "TEXT_MESSAGE_CONTENT"))
        assert.equal("stop", evs[#evs].finishReason)
        assert.equal(2, #emu:requests())
        local call_id = replay.of_type(evs, "TOOL_CALL_START")[1].toolCallId
        local b = sent(mode, 2).body
        if P.wire == "openai" then
          local m = b.messages
          assert.equal(call_id, m[#m - 1].tool_calls[1].id)
          assert.same({ role = "tool", tool_call_id = call_id, content = '{"temp":21}' }, m[#m])
        elseif P.wire == "anthropic" then
          local m = b.messages
          assert.same({ type = "tool_use", id = call_id, name = "get_weather", input = { city = "Paris" } },
            m[#m - 1].content[1])
          assert.same({ role = "user", content = { { type = "tool_result", tool_use_id = call_id,
            content = '{"temp":21}' } } }, m[#m])
        else
          local c = b.contents
          assert.same({ role = "model", parts = { { functionCall = { name = "get_weather",
            args = { city = "Paris" } } } } }, c[#c - 1])
          assert.same({ role = "user", parts = { { functionResponse = { name = "get_weather",
            response = { temp = 21 } } } } }, c[#c])
        end
      end)

      it("reads a stream request answered with one JSON body", function()
        emu:next({ json_body_for_stream = true, text = "Whole answer." })
        local evs = collect(chat_adapter(P, mode), {})
        assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END",
          "RUN_FINISHED" }, replay.types(evs))
        assert.equal("Whole answer.", evs[3].delta)
        assert.equal("stop", evs[5].finishReason)
        assert.is_true(evs[5].usage.totalTokens > 0)
      end)

      it("answers structured output with one non-stream request", function()
        local out_schema = { type = "object", properties = { name = { type = "string" }, age = { type = "integer" } },
          required = { "name", "age" }, additionalProperties = false }
        local data, err = ai.chat({ adapter = chat_adapter(P, mode), outputSchema = out_schema,
          messages = { { role = "user", content = "Who?" } } })
        assert.same({ name = "example", age = 42 }, data, tostring(err))
        assert.equal(1, #emu:requests())
        local s = sent(mode)
        check_routing(P, mode, s)
        local b = s.body
        if P.wire == "openai" then
          assert.equal(P.chat, s.endpoint)
          assert.is_false(b.stream)
          assert.equal("json_schema", b.response_format.type)
          assert.same({ "name", "age" }, b.response_format.json_schema.schema.required)
        elseif P.wire == "anthropic" then
          assert.is_false(b.stream)
          assert.same({ type = "tool", name = "structured_output" }, b.tool_choice)
          assert.equal("structured_output", b.tools[1].name)
        else
          assert.equal(P.unary, s.endpoint)
          assert.equal("application/json", b.generationConfig.responseMimeType)
          assert.equal("OBJECT", b.generationConfig.responseSchema.type)
          assert.is_nil(b.generationConfig.responseSchema.additionalProperties)
        end
      end)

      it("turns a provider error body into RUN_ERROR and nil, err with status, provider, code, message", function()
        emu:next({ status = 401 })
        local evs = collect(chat_adapter(P, mode), {})
        assert.same({ "RUN_STARTED", "RUN_ERROR" }, replay.types(evs))
        local e = evs[2].error
        assert.equal(401, e.status)
        assert.equal(P.slug, e.provider)
        if P.code_401 then
          assert.equal(P.code_401, e.code)
          assert.equal(P.code_401, evs[2].code)
        else
          assert.is_not_nil(e.code)
        end
        assert.is_string(e.message)
        assert.is_false(e.retryable)
        assert.is_nil(tostring(e):find(KEY, 1, true))
        assert.equal(1, #emu:requests()) -- 401 is not retried

        emu:next({ status = 500, message = "upstream broke" })
        local data, err = ai.chat({ adapter = chat_adapter(P, mode), outputSchema = { type = "object" },
          messages = { { role = "user", content = "x" } } })
        assert.is_nil(data)
        assert.equal(500, err.status)
        assert.equal("upstream broke", err.message)
        assert.equal(P.slug, err.provider)
      end)

      it("sends no provider key without apiKey (BYOK / unified billing)", function()
        local text = ai.chat({ adapter = chat_adapter(P, mode, { apiKey = false }), stream = false,
          messages = { { role = "user", content = "Hi" } } })
        assert.matches("You said: Hi", text)
        local s = sent(mode)
        assert.is_nil(s.headers["authorization"])
        assert.is_nil(s.headers["x-api-key"])
        assert.is_nil(s.headers["x-goog-api-key"])
        assert.equal("Bearer " .. CF_KEY, s.outer["cf-aig-authorization"])
      end)

      it("summarizes on the chat adapter with the summarizer prompt and maxLength, no sampling default", function()
        local adapter = cf["create_" .. P.name .. "_summarize"](P.model, config(mode))
        assert.equal("summarize", adapter.kind)
        local res, err = ai.summarize({ adapter = adapter, text = "Cloudflare runs AI at the edge.",
          maxLength = 50, style = "bullet-points", focus = { "cost", "speed" } })
        assert.is_nil(err)
        assert.matches("You said: Cloudflare runs AI at the edge%.", res.summary)
        assert.equal(P.model, res.model)
        assert.is_string(res.id)
        assert.is_true(res.usage.promptTokens > 0)
        local s = sent(mode)
        check_routing(P, mode, s)
        assert.equal(P.chat, s.endpoint)
        local b = s.body
        assert.equal("You are a professional summarizer. Provide a summary in bullet point format. " ..
          "Focus on the following aspects: cost, speed. Keep the summary under 50 tokens.", W.system(b))
        assert.equal("Cloudflare runs AI at the edge.", W.user(b))
        assert.equal(50, P.max_tokens(b))
        assert.is_nil(W.temperature(b)) -- sampling options only when the caller sets them
      end)
    end)
  end
end

---------------------------------------------------------------------------------------------------
-- Provider specifics
---------------------------------------------------------------------------------------------------

describe("anthropic specifics", function()
  local P = PROVIDERS[2]
  for _, mode in ipairs(MODES) do
    it("reports an error event in the middle of a stream as one RUN_ERROR (" .. mode .. ")", function()
      emu:next({ mid_stream_error = true, error_after = 4, text = "one two three four five six" })
      local evs = collect(chat_adapter(P, mode), {})
      local last = evs[#evs]
      assert.equal("RUN_ERROR", last.type)
      assert.equal("Overloaded", last.message)
      assert.equal("overloaded_error", last.code)
      assert.equal(0, #replay.of_type(evs, "RUN_FINISHED"))
      assert.equal(1, #replay.of_type(evs, "RUN_ERROR"))
      emu:next({ mid_stream_error = true, error_after = 4, text = "one two three" })
      local text, err = ai.chat({ adapter = chat_adapter(P, mode), stream = false,
        messages = { { role = "user", content = "x" } } })
      assert.is_nil(text)
      assert.equal("overloaded_error", err.code)
      assert.equal("anthropic", err.provider)
    end)

    it("sends config.anthropicVersion as anthropic-version (" .. mode .. ")", function()
      ai.chat({ adapter = chat_adapter(P, mode, { anthropicVersion = "2024-10-22" }), stream = false,
        messages = { { role = "user", content = "x" } } })
      assert.equal("2024-10-22", sent(mode).headers["anthropic-version"])
    end)
  end
end)

describe("openrouter specifics", function()
  it("skips ': OPENROUTER PROCESSING' keep-alive comments anywhere in the stream", function()
    local chunk = function(delta, fr)
      return "data: " .. json.encode({ choices = { { index = 0, delta = delta, finish_reason = fr or json.null } } }) .. "\n\n"
    end
    emu:next({ sse_raw = ": OPENROUTER PROCESSING\n\n" .. chunk({ content = "Hel" }) ..
      ": OPENROUTER PROCESSING\n\n" .. chunk({ reasoning = "hmm" }) .. chunk({ content = "lo" }, "stop") ..
      ': OPENROUTER PROCESSING\n\ndata: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n' ..
      "data: [DONE]\n\n" })
    local evs = collect(chat_adapter(PROVIDERS[5], REST), {})
    assert.equal("Hello", replay.joined(evs, "TEXT_MESSAGE_CONTENT"))
    assert.equal("hmm", replay.joined(evs, "STEP_FINISHED"))
    assert.same({ promptTokens = 3, completionTokens = 2, totalTokens = 5 }, evs[#evs].usage)
    assert.equal(0, #replay.of_type(evs, "RUN_ERROR"))
  end)

  it("ends the run with RUN_ERROR on an error chunk after the stream started", function()
    emu:next({ sse_raw = 'data: {"choices":[{"index":0,"delta":{"content":"Par"},"finish_reason":null}]}\n\n' ..
      ': OPENROUTER PROCESSING\n\n' ..
      'data: {"error":{"code":"server_error","message":"Provider disconnected"},' ..
      '"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n' ..
      "data: [DONE]\n\n" })
    local evs = collect(chat_adapter(PROVIDERS[5], BINDING), {})
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "RUN_ERROR" }, replay.types(evs))
    assert.equal("Provider disconnected", evs[4].message)
    assert.equal("server_error", evs[4].code)
    assert.equal("openrouter", evs[4].error.provider)
  end)
end)

describe("gateway errors and configuration", function()
  it("reports an authenticated gateway's 401 (code 2009) without leaking keys", function()
    local adapter = cf.create_openai_chat("gpt-4o", { accountId = "acct", gatewayId = "auth-gw", apiKey = KEY,
      gatewayBaseUrl = emu.url .. "/v1", maxRetries = 0 })
    local text, err = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "x" } } })
    assert.is_nil(text)
    assert.equal(401, err.status)
    assert.equal(2009, err.code)
    assert.equal("Unauthorized", err.message)
    assert.is_nil(tostring(err):find(KEY, 1, true))
    assert.is_nil(tostring(adapter):find(KEY, 1, true))
  end)

  it("OpenAI requests: max_completion_tokens, and no sampling parameters for reasoning models", function()
    local cfg = { accountId = "acct", gatewayId = "gw" }
    local msgs = { { role = "user", content = "x" } }
    local spec = cf.create_openai_chat("o4-mini", cfg):describe({ model = "o4-mini", messages = msgs,
      temperature = 0.5, maxTokens = 99, modelOptions = { top_p = 0.9, reasoning_effort = "low" } })
    assert.is_nil(spec.body.temperature)
    assert.is_nil(spec.body.top_p)
    assert.is_nil(spec.body.max_tokens)
    assert.equal(99, spec.body.max_completion_tokens)
    assert.equal("low", spec.body.reasoning_effort)
    spec = cf.create_openai_chat("gpt-4o", cfg):describe({ model = "gpt-4o", messages = msgs, temperature = 0.5 })
    assert.equal(0.5, spec.body.temperature)
    -- Grok and OpenRouter keep max_tokens
    spec = cf.create_grok_chat("grok-4", cfg):describe({ model = "grok-4", messages = msgs, maxTokens = 7 })
    assert.equal(7, spec.body.max_tokens)
  end)

  it("refuses the plain modes for third-party providers, naming the way out", function()
    assert.has_error(function() cf.createAnthropicChat("claude-sonnet-4-5", { accountId = "a", apiKey = "k-123456" }) end,
      "createAnthropicChat: third-party providers only work through AI Gateway: set gatewayId (with accountId) " ..
      "or binding = AI:gateway(\"id\")")
    local env_ai = cf.binding({ accountId = "acct", apiKey = BINDING_TOKEN })
    assert.has_error(function() cf.createGeminiTts("gemini-2.5-flash-preview-tts", { binding = env_ai }) end,
      "createGeminiTts: third-party providers only work through AI Gateway: pass binding = AI:gateway(\"id\")")
    assert.has_error(function() cf.create_grok_chat("", { accountId = "a", gatewayId = "g" }) end,
      "createGrokChat: model must be a non-empty string")
  end)

  it("exposes every constructor of TanStack's adapter in both spellings", function()
    local names = {
      createOpenAiChat = "create_openai_chat", createOpenAiSummarize = "create_openai_summarize",
      createOpenAiImage = "create_openai_image", createOpenAiTranscription = "create_openai_transcription",
      createOpenAiTts = "create_openai_tts", createAnthropicChat = "create_anthropic_chat",
      createAnthropicSummarize = "create_anthropic_summarize", createGeminiChat = "create_gemini_chat",
      createGeminiSummarize = "create_gemini_summarize", createGeminiImage = "create_gemini_image",
      createGeminiTts = "create_gemini_tts", createGrokChat = "create_grok_chat",
      createGrokSummarize = "create_grok_summarize", createGrokImage = "create_grok_image",
      createOpenRouterChat = "create_openrouter_chat", createOpenRouterSummarize = "create_openrouter_summarize",
      createOpenRouterImage = "create_openrouter_image",
    }
    local kinds = { Chat = "text", Summarize = "summarize", Image = "image", Transcription = "transcription",
      Tts = "tts" }
    for camel, snake in pairs(names) do
      assert.is_function(cf[camel], camel)
      assert.equal(cf[camel], cf[snake], snake)
      local a = cf[camel]("some-model", { accountId = "acct", gatewayId = "gw" })
      assert.equal(kinds[camel:match("(%u%l+)$")], a.kind, camel)
      assert.equal("some-model", a.model)
    end
    assert.is_nil(cf.createAnthropicImage)
    assert.is_nil(cf.createGrokTts)
  end)
end)

---------------------------------------------------------------------------------------------------
-- Images
---------------------------------------------------------------------------------------------------

local PNG, JPEG = "\137PNG\r\n\26\n", "\255\216\255"

describe("images", function()
  for _, mode in ipairs(MODES) do
    describe("via " .. mode, function()
      it("OpenAI: images/generations with n, size and modelOptions; gpt-image gets no response_format", function()
        local adapter = cf.create_openai_image("gpt-image-1", config(mode))
        local res, err = ai.generate_image({ adapter = adapter, prompt = "a cat in space", numberOfImages = 2,
          size = "1024x1024", modelOptions = { quality = "low" } })
        assert.is_nil(err)
        assert.equal(2, #res.images)
        assert.equal(PNG, b64bytes(res.images[1].b64Json):sub(1, 8))
        assert.equal("gpt-image-1", res.model)
        assert.is_true(res.usage.promptTokens > 0)
        local s = sent(mode)
        check_routing(PROVIDERS[1], mode, s)
        assert.equal("images/generations", s.endpoint)
        assert.same({ model = "gpt-image-1", prompt = "a cat in space", n = 2, size = "1024x1024", quality = "low" },
          s.body)
      end)

      it("OpenAI: dall-e asks for b64_json", function()
        local res = ai.generate_image({ adapter = cf.create_openai_image("dall-e-3", config(mode)), prompt = "x" })
        assert.equal("b64_json", sent(mode).body.response_format)
        assert.equal("x", res.images[1].revisedPrompt)
      end)

      it("Grok: v1/images/generations, b64_json, JPEG bytes; size is refused", function()
        local adapter = cf.create_grok_image("grok-2-image", config(mode))
        local res = ai.generate_image({ adapter = adapter, prompt = "a fox", numberOfImages = 2 })
        assert.equal(2, #res.images)
        assert.equal(JPEG, b64bytes(res.images[2].b64Json):sub(1, 3))
        local s = sent(mode)
        check_routing(PROVIDERS[4], mode, s)
        assert.equal("v1/images/generations", s.endpoint)
        assert.same({ model = "grok-2-image", prompt = "a fox", n = 2, response_format = "b64_json" }, s.body)
        assert.has_error(function() ai.generate_image({ adapter = adapter, prompt = "x", size = "1024x1024" }) end,
          "generate_image: options.size is not supported: xAI image models take no size; use modelOptions.aspect_ratio")
      end)

      it("OpenRouter: chat completions with image modalities, one call per image", function()
        local adapter = cf.create_openrouter_image("google/gemini-2.5-flash-image", config(mode))
        local res = ai.generate_image({ adapter = adapter, prompt = "a lighthouse", numberOfImages = 2,
          modelOptions = { image_config = { aspect_ratio = "16:9" } } })
        assert.equal(2, #res.images)
        assert.equal(PNG, b64bytes(res.images[1].b64Json):sub(1, 8))
        assert.equal(2, #emu:requests())
        local s = sent(mode)
        check_routing(PROVIDERS[5], mode, s)
        assert.equal("v1/chat/completions", s.endpoint)
        assert.same({ "image", "text" }, s.body.modalities)
        assert.same({ { role = "user", content = "a lighthouse" } }, s.body.messages)
        assert.is_false(s.body.stream)
        assert.same({ aspect_ratio = "16:9" }, s.body.image_config)
      end)

      it("Gemini: generateContent with IMAGE output and the size as an aspect ratio", function()
        local adapter = cf.create_gemini_image("gemini-2.5-flash-image", config(mode))
        local res = ai.generate_image({ adapter = adapter, prompt = "a robot", size = "1536x1024" })
        assert.equal(1, #res.images)
        assert.equal(PNG, b64bytes(res.images[1].b64Json):sub(1, 8))
        local s = sent(mode)
        check_routing(PROVIDERS[3], mode, s)
        assert.equal("v1beta/models/gemini-2.5-flash-image:generateContent", s.endpoint)
        assert.same({ { role = "user", parts = { { text = "a robot" } } } }, s.body.contents)
        assert.same({ "IMAGE" }, s.body.generationConfig.responseModalities)
        assert.same({ aspectRatio = "3:2" }, s.body.generationConfig.imageConfig)
        assert.has_error(function() ai.generate_image({ adapter = adapter, prompt = "x", size = "1000x10" }) end,
          "generate_image: size 1000x10 is aspect ratio 100:1; this model takes 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9")
      end)

      it("Gemini: Imagen models use predict", function()
        local adapter = cf.create_gemini_image("imagen-4.0-generate-001", config(mode))
        local res = ai.generate_image({ adapter = adapter, prompt = "a bridge", numberOfImages = 2, size = "1024x1024" })
        assert.equal(2, #res.images)
        local s = sent(mode)
        assert.equal("v1beta/models/imagen-4.0-generate-001:predict", s.endpoint)
        assert.same({ instances = { { prompt = "a bridge" } }, parameters = { sampleCount = 2, aspectRatio = "1:1" } },
          s.body)
      end)

      it("reports an image error with status and provider code", function()
        emu:next({ status = 429, retry_after = 0 })
        local res, err = ai.generate_image({ adapter = cf.create_openai_image("gpt-image-1", config(mode)), prompt = "x" })
        assert.is_nil(res)
        assert.equal(429, err.status)
        assert.equal("rate_limit_exceeded", err.code)
        assert.equal("openai", err.provider)
      end)
    end)
  end
end)

---------------------------------------------------------------------------------------------------
-- Transcription (OpenAI): multipart/form-data
---------------------------------------------------------------------------------------------------

local MP3 = "ID3\3\0\0\0\0\0\0" .. string.rep("\255\251\144\100" .. string.rep("\0", 60), 20)

local function multipart_field(parts, name)
  for _, p in ipairs(parts) do if p.name == name then return p end end
end

describe("transcription", function()
  for _, mode in ipairs(MODES) do
    describe("via " .. mode, function()
      it("uploads multipart form data and maps verbose_json (whisper-1 default)", function()
        local adapter = cf.create_openai_transcription("whisper-1", config(mode))
        local res, err = ai.generate_transcription({ adapter = adapter, audio = MP3, language = "en",
          prompt = "Names: Ada", modelOptions = { temperature = 0, timestamp_granularities = { "word", "segment" } } })
        assert.is_nil(err)
        assert.equal("transcribed " .. #MP3 .. " bytes", res.text)
        assert.equal("english", res.language)
        assert.is_number(res.duration)
        assert.equal(res.text, res.segments[1].text)
        assert.equal(0, res.segments[1].start)
        assert.is_number(res.segments[1]["end"])
        assert.is_table(res.words)
        assert.is_string(res.words[1].word)
        assert.equal("whisper-1", res.model)
        local s = sent(mode)
        -- a multipart body cannot travel in a universal entry: binding mode posts to the binding's gateway URL
        assert.equal("/v1/acct/gw/openai/audio/transcriptions", s.raw.path)
        check_routing(PROVIDERS[1], mode, s, { rest_url = true, no_gateway_token = mode == BINDING })
        assert.matches("^multipart/form%-data; boundary=", s.headers["content-type"])
        local parts = s.multipart
        local file = multipart_field(parts, "file")
        assert.equal("audio.mp3", file.filename)
        assert.equal("audio/mpeg", file.content_type)
        assert.equal(#MP3, file.size)
        assert.equal(MP3, b64bytes(file.data_base64))
        assert.equal("whisper-1", multipart_field(parts, "model").value)
        assert.equal("verbose_json", multipart_field(parts, "response_format").value)
        assert.equal("en", multipart_field(parts, "language").value)
        assert.equal("Names: Ada", multipart_field(parts, "prompt").value)
        assert.equal("0", multipart_field(parts, "temperature").value)
        local grans = {}
        for _, p in ipairs(parts) do if p.name == "timestamp_granularities[]" then grans[#grans + 1] = p.value end end
        assert.same({ "word", "segment" }, grans)
      end)

      it("returns plain text for responseFormat text and token usage for gpt-4o models", function()
        local res = ai.generate_transcription({ adapter = cf.create_openai_transcription("whisper-1", config(mode)),
          audio = MP3, responseFormat = "text" })
        assert.equal("transcribed " .. #MP3 .. " bytes", res.text)
        res = ai.generate_transcription({ adapter = cf.create_openai_transcription("gpt-4o-transcribe", config(mode)),
          audio = MP3 })
        assert.equal("json", multipart_field(sent(mode).multipart, "response_format").value)
        assert.equal("transcribed " .. #MP3 .. " bytes", res.text)
      end)
    end)
  end

  it("explains the limit when a gateway binding has no get_url", function()
    local fake = { run = function() error("a multipart body must not be sent as a universal entry") end }
    local adapter = cf.create_openai_transcription("whisper-1", { binding = fake, apiKey = KEY })
    local res, err = ai.generate_transcription({ adapter = adapter, audio = MP3 })
    assert.is_nil(res)
    assert.equal("config", err.kind)
    assert.matches("cannot travel in a gateway binding's universal entry", err.message)
    assert.equal(0, #emu:requests())
  end)

  it("reports an authenticated gateway's refusal of a binding-mode upload (its token is out of reach)", function()
    local binding = cf.binding({ accountId = "acct", apiKey = BINDING_TOKEN, cfApiKey = CF_KEY,
      gatewayBaseUrl = emu.url .. "/v1" })
    local adapter = cf.create_openai_transcription("whisper-1", { binding = binding:gateway("auth-gw"), apiKey = KEY,
      maxRetries = 0 })
    local res, err = ai.generate_transcription({ adapter = adapter, audio = MP3 })
    assert.is_nil(res)
    assert.equal(401, err.status)
    assert.equal(2009, err.code)
  end)
end)

---------------------------------------------------------------------------------------------------
-- Speech
---------------------------------------------------------------------------------------------------

local function le(s, i, n)
  local v = 0
  for k = n, 1, -1 do v = v * 256 + s:byte(i + k - 1) end
  return v
end

describe("speech", function()
  for _, mode in ipairs(MODES) do
    describe("via " .. mode, function()
      it("OpenAI: audio/speech bytes come back base64 with their content type", function()
        local adapter = cf.create_openai_tts("gpt-4o-mini-tts", config(mode))
        local res, err = ai.generate_speech({ adapter = adapter, text = "Hello world", voice = "nova", speed = 1.25,
          modelOptions = { instructions = "cheerful" } })
        assert.is_nil(err)
        assert.equal("mp3", res.format)
        assert.equal("audio/mpeg", res.contentType)
        local bytes = b64bytes(res.audio)
        assert.is_true(bytes:sub(1, 3) == "ID3" or bytes:byte(1) == 255)
        local s = sent(mode)
        check_routing(PROVIDERS[1], mode, s)
        assert.equal("audio/speech", s.endpoint)
        assert.same({ model = "gpt-4o-mini-tts", input = "Hello world", voice = "nova", response_format = "mp3",
          speed = 1.25, instructions = "cheerful" }, s.body)
        res = ai.generate_speech({ adapter = adapter, text = "Hi", format = "wav" })
        assert.equal("audio/wav", res.contentType)
        assert.equal("RIFF", b64bytes(res.audio):sub(1, 4))
        assert.equal("alloy", sent(mode).body.voice)
      end)

      it("Gemini: AUDIO modality, the voice by name, PCM wrapped in a 44-byte WAV header", function()
        local adapter = cf.create_gemini_tts("gemini-2.5-flash-preview-tts", config(mode))
        local res, err = ai.generate_speech({ adapter = adapter, text = "Hello world", voice = "Puck" })
        assert.is_nil(err)
        assert.equal("wav", res.format)
        assert.equal("audio/wav", res.contentType)
        local w = b64bytes(res.audio)
        assert.equal("RIFF", w:sub(1, 4))
        assert.equal(#w - 8, le(w, 5, 4))
        assert.equal("WAVEfmt ", w:sub(9, 16))
        assert.equal(1, le(w, 21, 2)) -- PCM
        assert.equal(1, le(w, 23, 2)) -- mono
        assert.equal(24000, le(w, 25, 4))
        assert.equal(48000, le(w, 29, 4))
        assert.equal(16, le(w, 35, 2))
        assert.equal("data", w:sub(37, 40))
        assert.equal(#w - 44, le(w, 41, 4))
        assert.is_true(#w > 44)
        local s = sent(mode)
        check_routing(PROVIDERS[3], mode, s)
        assert.equal("v1beta/models/gemini-2.5-flash-preview-tts:generateContent", s.endpoint)
        assert.same({ "AUDIO" }, s.body.generationConfig.responseModalities)
        assert.same({ voiceConfig = { prebuiltVoiceConfig = { voiceName = "Puck" } } },
          s.body.generationConfig.speechConfig)
        assert.same({ { role = "user", parts = { { text = "Hello world" } } } }, s.body.contents)
      end)
    end)
  end

  it("Gemini speech refuses formats it cannot produce", function()
    local adapter = cf.create_gemini_tts("gemini-2.5-flash-preview-tts", config(REST))
    assert.has_error(function() ai.generate_speech({ adapter = adapter, text = "x", format = "mp3" }) end,
      "generate_speech: Gemini speech is PCM audio; options.format must be 'wav' or 'pcm' (got mp3)")
  end)
end)
