-- Every Workers AI activity in every configuration mode, against the emulator: the exact request sent and
-- the result returned. Plain binding and gateway binding use cf.binding (the REST-backed env.AI).
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local core = require("tanstack.ai.core")
local emulator = require("helpers.emulator")

local TOKEN, CF_TOKEN = "wai-token-abcdef123", "cf-aig-token-987654"
local CHAT = "@cf/zai-org/glm-4.7-flash"

local emu
local function modes()
  local AI = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = TOKEN, cfApiKey = CF_TOKEN,
    apiBaseUrl = emu.url .. "/client/v4", gatewayBaseUrl = emu.url .. "/v1" })
  return {
    { name = "plain binding", config = { binding = AI } },
    { name = "plain REST", config = { accountId = "0123456789abcdef0123456789abcdef", apiKey = TOKEN, apiBaseUrl = emu.url .. "/client/v4" } },
    { name = "gateway binding", config = { binding = AI:gateway("authgw"), apiKey = TOKEN, cacheTtl = 3600,
      skipCache = true, customCacheKey = "ck1", metadata = { user = "u1" } } },
    { name = "gateway REST", config = { accountId = "0123456789abcdef0123456789abcdef", gatewayId = "authgw", apiKey = TOKEN, cfApiKey = CF_TOKEN,
      gatewayBaseUrl = emu.url .. "/v1", cacheTtl = 3600, skipCache = true, customCacheKey = "ck1",
      metadata = { user = "u1" } } },
  }
end

-- The request that reached the model: for gateway binding, the universal step the emulator dispatched.
local function model_request()
  local r = emu:last_request()
  return r
end

local function check_route(mode, req, native_path, rest_path)
  if mode == "plain binding" then
    assert.equal("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/run/" .. native_path, req.path)
    assert.equal("Bearer " .. TOKEN, req.headers.authorization)
  elseif mode == "plain REST" then
    assert.equal("/client/v4/accounts/0123456789abcdef0123456789abcdef" .. rest_path, req.path)
    assert.equal("Bearer " .. TOKEN, req.headers.authorization)
  elseif mode == "gateway binding" then
    assert.equal("/v1/0123456789abcdef0123456789abcdef/authgw", req.path)
    assert.equal("Bearer " .. CF_TOKEN, req.headers["cf-aig-authorization"])
    local step = req.json[1]
    assert.equal("workers-ai", step.provider)
    assert.equal(native_path, step.endpoint)
    assert.equal("Bearer " .. TOKEN, step.headers.authorization)
    assert.equal("3600", step.headers["cf-aig-cache-ttl"])
    assert.equal("true", step.headers["cf-aig-skip-cache"])
    assert.equal("ck1", step.headers["cf-aig-cache-key"])
    assert.equal('{"user":"u1"}', step.headers["cf-aig-metadata"])
  else
    assert.equal("/v1/0123456789abcdef0123456789abcdef/authgw/workers-ai/" .. (rest_path:match("^/ai/run/(.*)") or rest_path:match("^/ai/(.*)")), req.path)
    assert.equal("Bearer " .. TOKEN, req.headers.authorization)
    assert.equal("Bearer " .. CF_TOKEN, req.headers["cf-aig-authorization"])
    assert.equal("3600", req.headers["cf-aig-cache-ttl"])
    assert.equal("true", req.headers["cf-aig-skip-cache"])
    assert.equal("ck1", req.headers["cf-aig-cache-key"])
    assert.equal('{"user":"u1"}', req.headers["cf-aig-metadata"])
  end
end

-- the model inputs wherever they travelled
local function inputs_of(mode, req)
  if mode == "gateway binding" then return req.json[1].query end
  return req.json
end

describe("Workers AI in every mode", function()
  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  for i = 1, 4 do
    describe("mode " .. i, function()
      local m
      before_each(function() m = modes()[i] end)

      it("chat streams text and passes model options", function()
        local adapter = cf.create_workers_ai_chat(CHAT, m.config)
        local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "hi there" } },
          modelOptions = { tool_choice = "auto", seed = 7 } }):collect()
        local text = {}
        for _, e in ipairs(evs) do if e.type == "TEXT_MESSAGE_CONTENT" then text[#text + 1] = e.delta end end
        assert.matches("You said: hi there", table.concat(text), 1, true)
        assert.equal("RUN_FINISHED", evs[#evs].type)
        assert.is_table(evs[#evs].usage, m.name .. ": usage")
        local req = model_request()
        check_route(m.name, req, CHAT, "/ai/v1/chat/completions")
        local inputs = inputs_of(m.name, req)
        assert.equal("auto", inputs.tool_choice)
        assert.equal(7, inputs.seed)
        assert.is_true(inputs.stream)
      end)

      it("chat without streaming, in both answer formats", function()
        local adapter = cf.create_workers_ai_chat(CHAT, m.config)
        for _, fmt in ipairs({ "native", "openai" }) do
          emu:next({ format = fmt, text = "fmt " .. fmt })
          local text, err = ai.chat({ adapter = adapter, stream = false, messages = { { role = "user", content = "x" } } })
          assert.equal("fmt " .. fmt, text, m.name .. " " .. fmt .. ": " .. tostring(err))
        end
      end)

      it("chat tool calls in native format", function()
        emu:next({ format = "native", tool_calls = { { name = "lookup", arguments = { q = "lua" } } } })
        local adapter = cf.create_workers_ai_chat(CHAT, m.config)
        local evs = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } },
          tools = { ai.tool_definition({ name = "lookup", description = "d" }) } }):collect()
        local ended
        for _, e in ipairs(evs) do if e.type == "TOOL_CALL_END" then ended = e end end
        assert.same({ q = "lua" }, ended and ended.input)
        assert.equal("tool_calls", evs[#evs].finishReason)
      end)

      it("structured output", function()
        local adapter = cf.create_workers_ai_chat(CHAT, m.config)
        local data, err = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } },
          outputSchema = { type = "object", properties = { ok = { type = "boolean" } }, required = { "ok" } } })
        assert.same({ ok = true }, data, tostring(err))
      end)

      it("image: binary PNG (SDXL) and JSON base64 (flux)", function()
        local sdxl = cf.create_workers_ai_image("@cf/stabilityai/stable-diffusion-xl-base-1.0", m.config)
        local res, err = ai.generate_image({ adapter = sdxl, prompt = "a cat in space", size = "512x256",
          modelOptions = { num_steps = 10 } })
        assert.is_table(res, tostring(err))
        local png = core.base64_decode(res.images[1].b64Json)
        assert.equal("\137PNG", png:sub(1, 4))
        local inputs = inputs_of(m.name, model_request())
        assert.equal(512, inputs.width)
        assert.equal(256, inputs.height)
        assert.equal(10, inputs.num_steps)
        assert.equal("a cat in space", inputs.prompt)
        check_route(m.name, model_request(), "@cf/stabilityai/stable-diffusion-xl-base-1.0",
          "/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0")

        local flux = cf.create_workers_ai_image("@cf/black-forest-labs/flux-1-schnell", m.config)
        res, err = ai.generate_image({ adapter = flux, prompt = "a dog", size = "512x512" })
        assert.is_table(res, tostring(err))
        local jpg = core.base64_decode(res.images[1].b64Json)
        assert.is_string(jpg)
        assert.is_nil(inputs_of(m.name, model_request()).width) -- flux rejects width/height
      end)

      it("transcription with each model's input format", function()
        local audio = "RIFF\0\0\0\0WAVEfmt " .. string.rep("\1\2\3\255", 25)
        for _, model in ipairs({ "@cf/openai/whisper", "@cf/openai/whisper-tiny-en", "@cf/openai/whisper-large-v3-turbo",
          "@cf/deepgram/nova-3" }) do
          local a = cf.create_workers_ai_transcription(model, m.config)
          local res, err = ai.generate_transcription({ adapter = a, audio = audio, language = "en" })
          assert.is_table(res, m.name .. " " .. model .. ": " .. tostring(err))
          assert.matches(tostring(#audio), res.text, 1, true)
          assert.equal(model, res.model)
          if model == "@cf/openai/whisper-large-v3-turbo" then
            assert.is_table(res.segments)
            assert.equal(core.base64_encode(audio), inputs_of(m.name, model_request()).audio)
          end
        end
      end)

      it("speech: Aura voice and format mapping", function()
        local tts = cf.create_workers_ai_tts("@cf/deepgram/aura-2-en", m.config)
        local res, err = ai.generate_speech({ adapter = tts, text = "Hello world", voice = "luna", format = "mp3" })
        assert.is_table(res, tostring(err))
        assert.equal("audio/mpeg", res.contentType)
        assert.is_string(core.base64_decode(res.audio))
        local inputs = inputs_of(m.name, model_request())
        assert.equal("luna", inputs.speaker)
        assert.equal("mp3", inputs.encoding)
        assert.equal("Hello world", inputs.text)
        res = ai.generate_speech({ adapter = tts, text = "Hi", format = "wav" })
        assert.equal("audio/wav", res.contentType)
        assert.equal("RIFF", core.base64_decode(res.audio):sub(1, 4))
        inputs = inputs_of(m.name, model_request())
        assert.equal("linear16", inputs.encoding)
        assert.equal("wav", inputs.container)
      end)

      it("summarize unwraps the envelope", function()
        local s = cf.create_workers_ai_summarize("@cf/facebook/bart-large-cnn", m.config)
        local res, err = ai.summarize({ adapter = s, text = "Lua is a small language. It embeds well.", maxLength = 40 })
        assert.is_table(res, tostring(err))
        assert.is_string(res.summary)
        assert.is_true(#res.summary > 0)
        local inputs = inputs_of(m.name, model_request())
        assert.equal(40, inputs.max_length)
        assert.equal("Lua is a small language. It embeds well.", inputs.input_text)
      end)

      it("embeddings", function()
        local e = cf.create_workers_ai_embedding("@cf/baai/bge-base-en-v1.5", m.config)
        local res, err = ai.embed({ adapter = e, input = { "a", "b" } })
        assert.is_table(res, tostring(err))
        assert.equal(2, #res.embeddings)
        assert.equal(768, #res.embeddings[1])
      end)

      it("retries a 429 out-of-capacity answer for non-chat activities", function()
        emu:next({ status = 429, code = 3040, retry_after = 0 })
        local s = cf.create_workers_ai_summarize("@cf/facebook/bart-large-cnn", m.config)
        local res, err = ai.summarize({ adapter = s, text = "one two three" })
        assert.is_table(res, tostring(err))
      end)

      it("reports a 4xx as nil, err with status and code", function()
        emu:next({ status = 400, code = 5007 })
        local s = cf.create_workers_ai_summarize("@cf/facebook/bart-large-cnn", m.config)
        local res, err = ai.summarize({ adapter = s, text = "x" })
        assert.is_nil(res)
        assert.equal(400, err.status)
        assert.equal(5007, err.code)
        assert.is_nil(tostring(err):find(TOKEN, 1, true))
      end)
    end)
  end

  it("works with a user's own fake binding (plain Lua table)", function()
    local calls = {}
    local fake = {
      run = function(self, model, inputs, options)
        calls[#calls + 1] = { model = model, inputs = inputs }
        if inputs.stream then
          local chunks = { 'data: {"response":"fa', 'ke"}\n\ndata: {"response":"","usage":{"prompt_tokens":1,',
            '"completion_tokens":1,"total_tokens":2}}\n\ndata: [DONE]\n\n' }
          local i = 0
          return function() i = i + 1 return chunks[i] end
        end
        return { summary = "short" }
      end,
      gateway = function() end,
    }
    local text = ai.chat({ adapter = cf.create_workers_ai_chat(CHAT, { binding = fake }),
      messages = { { role = "user", content = "x" } } }):text()
    assert.equal("fake", text)
    assert.equal(CHAT, calls[1].model)
    local res = ai.summarize({ adapter = cf.create_workers_ai_summarize("@cf/facebook/bart-large-cnn", { binding = fake }),
      text = "long text" })
    assert.equal("short", res.summary)
    assert.equal("long text", calls[2].inputs.input_text)
  end)
end)
