-- Every model of the Workers AI catalog (workers_ai/catalog.lua) through its adapter, in plain binding mode
-- (cf.binding: the model's own input on /ai/run), gateway binding mode (a universal entry to the model's own
-- endpoint; raw and multipart bodies over REST to the binding's gateway URL) and gateway REST mode, against the emulator, which checks each
-- body against the model's schema from the same data. Asserts the request fits the model's input and the
-- result is right.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local core = require("tanstack.ai.core")
local catalog = require("cloudflare.tanstack_ai.workers_ai.catalog")
local models = require("cloudflare.tanstack_ai.workers_ai.models")
local emulator = require("helpers.emulator")

local TOKEN, CF_TOKEN = "wai-token-abcdef123", "cf-aig-token-987654"
local AUDIO = "RIFF\0\0\0\0WAVEfmt " .. string.rep("\1\2\3\255", 25)

local names = {}
for name in pairs(catalog.models) do names[#names + 1] = name end
table.sort(names)

local emu
local function config(mode)
  if mode == "binding" then
    return { binding = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = TOKEN, apiBaseUrl = emu.url .. "/client/v4",
      gatewayBaseUrl = emu.url .. "/v1" }) }
  end
  if mode == "gateway binding" then
    local AI = cf.binding({ accountId = "0123456789abcdef0123456789abcdef", apiKey = TOKEN, cfApiKey = CF_TOKEN,
      apiBaseUrl = emu.url .. "/client/v4", gatewayBaseUrl = emu.url .. "/v1" })
    return { binding = AI:gateway("gw"), apiKey = TOKEN }
  end
  return { accountId = "0123456789abcdef0123456789abcdef", gatewayId = "gw", apiKey = TOKEN, cfApiKey = CF_TOKEN,
    gatewayBaseUrl = emu.url .. "/v1" }
end

-- The JSON inputs that reached the model (a gateway binding's universal step carries them as its query).
local function inputs_of(mode, req)
  if mode == "gateway binding" and type(req.json) == "table" and req.json[1] then return req.json[1].query end
  return req.json
end

-- The request fits the model's typed input: every field is one of its fields, the constraints hold.
local function fits(name, e, inputs)
  assert.is_table(inputs, name .. ": JSON inputs")
  for k in pairs(inputs) do
    assert.is_truthy(e.fields[k], name .. ": field '" .. tostring(k) .. "' is not in the model's typed input")
  end
  assert.is_nil(models.check(name, e, inputs, "spec"))
end

local function text_of(evs)
  local t = {}
  for _, ev in ipairs(evs) do if ev.type == "TEXT_MESSAGE_CONTENT" then t[#t + 1] = ev.delta end end
  return table.concat(t)
end

describe("every catalog model", function()
  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  for _, mode in ipairs({ "binding", "gateway binding", "gateway REST" }) do
    for _, name in ipairs(names) do
      local e = catalog.models[name]
      it(mode .. ": " .. e.task .. " " .. name, function()
        local cfg = config(mode)
        local req
        if e.task == "text-generation" and e.unusable then
          -- a decision model (clef): refused before any request
          local evs = ai.chat({ adapter = cf.create_workers_ai_chat(name, cfg),
            messages = { { role = "user", content = "x" } } }):collect()
          assert.equal("RUN_ERROR", evs[#evs].type)
          assert.matches("cannot be driven by this adapter", evs[#evs].message, 1, true)
          assert.equal(0, #emu:requests())
        elseif e.task == "text-generation" then
          local a = cf.create_workers_ai_chat(name, cfg)
          local evs = ai.chat({ adapter = a, messages = { { role = "user", content = "hi there" } },
            modelOptions = { seed = 7 } }):collect()
          assert.matches("You said: hi there", text_of(evs), 1, true)
          assert.equal("RUN_FINISHED", evs[#evs].type, name)
          req = emu:last_request()
          if mode == "binding" or mode == "gateway binding" then
            local inputs = inputs_of(mode, req)
            if mode == "binding" then assert.equal("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/run/" .. name, req.path) end
            if mode == "gateway binding" then assert.equal(name, req.json[1].endpoint) end
            fits(name, e, inputs)
            if not e.fields.stream_options then assert.is_nil(inputs.stream_options, name) end
            assert.equal(e.streaming or nil, inputs.stream)
          else
            assert.equal("/v1/0123456789abcdef0123456789abcdef/gw/workers-ai/v1/chat/completions", req.path)
            assert.equal(name, req.json.model)
          end
          -- tools only to models with function calling: a clear error before any request
          local n = #emu:requests()
          local tool_evs = ai.chat({ adapter = a, messages = { { role = "user", content = "x" } },
            tools = { ai.tool_definition({ name = "lookup", description = "d" }) } }):collect()
          if e.function_calling then
            assert.equal("RUN_FINISHED", tool_evs[#tool_evs].type, name)
          else
            assert.equal("RUN_ERROR", tool_evs[#tool_evs].type, name)
            assert.matches("function calling", tool_evs[#tool_evs].message or tool_evs[#tool_evs].error.message)
            assert.equal(n, #emu:requests())
          end
        elseif e.task == "text-to-image" then
          local a = cf.create_workers_ai_image(name, cfg)
          local res, err = ai.generate_image({ adapter = a, prompt = "a cat in space", size = "512x512" })
          assert.is_table(res, name .. ": " .. tostring(err))
          local img = core.base64_decode(res.images[1].b64Json)
          assert.is_truthy(img:sub(1, 4) == "\137PNG" or img:sub(1, 2) == "\255\216", name)
          req = emu:last_request()
          if e.input == "multipart" then
            assert.matches("^multipart/form%-data", req.headers["content-type"])
            local got = {}
            for _, p in ipairs(req.multipart) do got[p.name] = p.value end
            assert.equal("a cat in space", got.prompt)
            assert.equal("512", got.width)
          else
            fits(name, e, inputs_of(mode, req))
            assert.equal(e.fields.width and 512 or nil, inputs_of(mode, req).width)
          end
        elseif e.task == "speech-recognition" then
          if e.realtime then
            assert.has_error(function() cf.create_workers_ai_transcription(name, cfg) end,
              "createWorkersAiTranscription: " .. models.unusable(name, e))
            return
          end
          local a = cf.create_workers_ai_transcription(name, cfg)
          local res, err = ai.generate_transcription({ adapter = a, audio = AUDIO, language = "en" })
          assert.is_table(res, name .. ": " .. tostring(err))
          assert.matches(tostring(#AUDIO), res.text, 1, true)
          req = emu:last_request()
          if e.input == "base64" then fits(name, e, inputs_of(mode, req)) end
        elseif e.task == "text-to-speech" then
          local a = cf.create_workers_ai_tts(name, cfg)
          local res, err = ai.generate_speech({ adapter = a, text = "Hello world" })
          assert.is_table(res, name .. ": " .. tostring(err))
          assert.is_true(#core.base64_decode(res.audio) > 0)
          req = emu:last_request()
          fits(name, e, inputs_of(mode, req))
        elseif e.task == "summarization" then
          local a = cf.create_workers_ai_summarize(name, cfg)
          local res, err = ai.summarize({ adapter = a, text = "Lua is small. It embeds well.", maxLength = 40 })
          assert.is_table(res, name .. ": " .. tostring(err))
          assert.is_true(#res.summary > 0)
          fits(name, e, inputs_of(mode, emu:last_request()))
        elseif e.task == "text-embeddings" then
          local a = cf.create_workers_ai_embedding(name, cfg)
          local res, err = ai.embed({ adapter = a, input = { "a", "b" } })
          assert.is_table(res, name .. ": " .. tostring(err))
          assert.equal(2, #res.embeddings)
          fits(name, e, inputs_of(mode, emu:last_request()))
        end
      end)
    end
  end
end)
