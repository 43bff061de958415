-- Every activity's options are checked like config is: both spellings, types and ranges, unknown keys refused with
-- the nearest known name, messages validated when the call is made; mistakes raise at the caller's line, runtime
-- failures come back as nil, err (or one RUN_ERROR in a stream).
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local options = require("tanstack.ai.options")

local THIS = "options_spec.lua"

-- a text adapter standing in for a provider: records the options of each turn, answers "ok"
local function recording_adapter()
  local a = { model = "m", seen = {} }
  function a:chat_stream(o)
    self.seen[#self.seen + 1] = o
    local evs = {
      { type = "RUN_STARTED", runId = o.runId, threadId = o.threadId },
      { type = "TEXT_MESSAGE_START", messageId = "m1", role = "assistant" },
      { type = "TEXT_MESSAGE_CONTENT", messageId = "m1", delta = "ok" },
      { type = "TEXT_MESSAGE_END", messageId = "m1" },
      { type = "RUN_FINISHED", runId = o.runId, threadId = o.threadId, finishReason = "stop" },
    }
    local i = 0
    return { next = function() i = i + 1 return evs[i] end, close = function() end }
  end
  return a
end

local function raised(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

local USER = { { role = "user", content = "hi" } }

describe("options: ai.chat", function()
  it("takes both spellings of every option", function()
    local a = recording_adapter()
    assert.equals("ok", ai.chat({ adapter = a, messages = USER, stream = false, max_tokens = 2,
      system_prompts = { "be brief" }, model_options = { seed = 1 } }))
    assert.equals(2, a.seen[1].maxTokens)
    assert.same({ "be brief" }, a.seen[1].systemPrompts)
    assert.same({ seed = 1 }, a.seen[1].modelOptions)
    ai.chat({ adapter = a, messages = USER, stream = false, maxTokens = 3, systemPrompts = { "x" } })
    assert.equals(3, a.seen[2].maxTokens)
  end)

  it("refuses an unknown option with the nearest known name, at the caller's line", function()
    local err = raised(function() ai.chat({ adapter = recording_adapter(), messages = USER, max_token = 2 }) end)
    assert.matches(THIS .. ":%d+: chat: unknown option 'max_token' %(did you mean maxTokens%?%)$", err)
    err = raised(function() ai.chat({ adapter = recording_adapter(), messages = USER, sytemPrompts = {} }) end)
    assert.matches("did you mean systemPrompts%?", err)
    err = raised(function() ai.chat({ adapter = recording_adapter(), messages = USER, zzzzzzzz = 1 }) end)
    assert.matches("chat: unknown option 'zzzzzzzz'$", err)
  end)

  it("checks types and ranges, naming the option and what it got", function()
    local a = recording_adapter()
    assert.matches(THIS .. ":%d+: chat: options.temperature must be a number from 0 to 2 %(got string \"hot\"%)",
      raised(function() ai.chat({ adapter = a, messages = USER, temperature = "hot" }) end))
    assert.matches("chat: options.stream must be a boolean %(true or false%) %(got string \"no\"%)",
      raised(function() ai.chat({ adapter = a, messages = USER, stream = "no" }) end))
    assert.matches("chat: options.maxTokens must be an integer of at least 1 %(got number 0%)",
      raised(function() ai.chat({ adapter = a, messages = USER, maxTokens = 0 }) end))
    assert.matches("chat: options.adapter is required %(a text adapter %(an object with a chat_stream method%)%)",
      raised(function() ai.chat({ messages = USER }) end))
    assert.matches("chat: options must be a table, got string",
      raised(function() ai.chat("hello") end))
  end)

  it("refuses one option given in both spellings with different values", function()
    assert.matches("chat: options.maxTokens and options.max_tokens are both set, to different values",
      raised(function() ai.chat({ adapter = recording_adapter(), messages = USER, maxTokens = 1, max_tokens = 2 }) end))
  end)

  it("validates messages when the call is made, not at the first iteration", function()
    local a = recording_adapter()
    local err = raised(function()
      ai.chat({ adapter = a, messages = { { role = "bot", content = "x" } } })
    end)
    assert.matches(THIS .. ":%d+: chat: messages%[1%]%.role must be", err)
    assert.equals(0, #a.seen)
  end)

  it("a request the provider cannot take is nil, err with stream = false and one RUN_ERROR in a stream", function()
    local adapter = cf.create_anthropic_chat("claude-sonnet-4", { accountId = "acct", gatewayId = "gw",
      apiKey = "sk-ant-test-key", gatewayBaseUrl = "http://127.0.0.1:9/v1" })
    local msgs = { { role = "user", content = { { type = "audio", source = { type = "data", value = "AAAA",
      mimeType = "audio/wav" } } } } }
    local text, err = ai.chat({ adapter = adapter, messages = msgs, stream = false })
    assert.is_nil(text)
    assert.equals("invalid_request", err.kind)
    assert.matches("does not support audio content", err.message)
    local evs = ai.chat({ adapter = adapter, messages = msgs }):collect()
    assert.same({ "RUN_STARTED", "RUN_ERROR" }, { evs[1].type, evs[2].type })
    assert.equals(2, #evs)
    assert.equals("invalid_request", evs[2].code)
  end)
end)

describe("options: the other activities", function()
  local image = { generate_images = function(_, o) return { id = "i", model = "m", images = {}, seen = o } end }

  it("check their options the same way", function()
    assert.equals(2, ai.generate_image({ adapter = image, prompt = "p", number_of_images = 2 }).seen.numberOfImages)
    assert.matches(THIS .. ":%d+: generate_image: unknown option 'numberOfImage' %(did you mean numberOfImages%?%)",
      raised(function() ai.generate_image({ adapter = image, prompt = "p", numberOfImage = 2 }) end))
    assert.matches("generate_image: options.numberOfImages must be an integer from 1 to 10 %(got number 0%)",
      raised(function() ai.generate_image({ adapter = image, prompt = "p", numberOfImages = 0 }) end))
    assert.matches("generate_image: options.size must be a size like '1024x768' %(got string \"big\"%)",
      raised(function() ai.generate_image({ adapter = image, prompt = "p", size = "big" }) end))
    assert.matches("generate_image: options.prompt is required",
      raised(function() ai.generate_image({ adapter = image }) end))
    assert.matches("summarize: options.style must be one of 'bullet%-points', 'paragraph', 'concise'",
      raised(function() ai.summarize({ adapter = { summarize = function() end }, text = "t", style = "long" }) end))
    assert.matches("generate_speech: options.adapter is required %(a text%-to%-speech adapter",
      raised(function() ai.generate_speech({ text = "t" }) end))
    assert.matches("embed: options.input is required",
      raised(function() ai.embed({ adapter = { embed = function() end } }) end))
  end)

  it("nearest names: close misspellings only", function()
    local spec = options.SPECS.chat
    assert.equals("maxTokens", options.nearest("maxToken", spec))
    assert.equals("maxTokens", options.nearest("max_token", spec))
    assert.equals("temperature", options.nearest("temprature", spec))
    assert.is_nil(options.nearest("banana", spec))
  end)
end)
