-- tanstack.ai.summarize: summarization over any chat adapter, as TanStack's ChatStreamSummarizeAdapter: its
-- system prompt (style, focus, maxLength), the text as the one user message, the text deltas joined.
local summarize = require("tanstack.ai.summarize")
local errors = require("tanstack.ai.errors")

-- A chat adapter that records the options of each chat_stream and plays `evs`.
local function fake_chat(evs)
  local chat = { name = "fake", model = "m-1", config = { k = 1 }, calls = {}, closed = 0 }
  function chat:chat_stream(opts)
    self.calls[#self.calls + 1] = opts
    local i = 0
    return {
      next = function() i = i + 1 return evs[i] end,
      close = function() self.closed = self.closed + 1 end,
    }
  end
  return chat
end

local function text_run(...)
  local evs = { { type = "RUN_STARTED" }, { type = "TEXT_MESSAGE_START" } }
  for _, d in ipairs({ ... }) do evs[#evs + 1] = { type = "TEXT_MESSAGE_CONTENT", delta = d } end
  evs[#evs + 1] = { type = "TEXT_MESSAGE_END" }
  evs[#evs + 1] = { type = "RUN_FINISHED", finishReason = "stop",
    usage = { promptTokens = 9, completionTokens = 3, totalTokens = 12 } }
  return evs
end

describe("summarize.system_prompt", function()
  it("is TanStack's wording, per style", function()
    assert.equal("You are a professional summarizer. Provide a clear and concise summary.",
      summarize.system_prompt({}))
    assert.equal("You are a professional summarizer. Provide a summary in bullet point format.",
      summarize.system_prompt({ style = "bullet-points" }))
    assert.equal("You are a professional summarizer. Provide a summary in paragraph format.",
      summarize.system_prompt({ style = "paragraph" }))
    assert.equal("You are a professional summarizer. Provide a very concise summary in 1-2 sentences.",
      summarize.system_prompt({ style = "concise" }))
  end)

  it("adds the focus (a string or a list) and the length in tokens", function()
    assert.equal("You are a professional summarizer. Provide a clear and concise summary. " ..
      "Focus on the following aspects: cost, risks. Keep the summary under 50 tokens.",
      summarize.system_prompt({ focus = { "cost", "risks" }, maxLength = 50 }))
    assert.equal("You are a professional summarizer. Provide a clear and concise summary. " ..
      "Focus on the following aspects: dates.", summarize.system_prompt({ focus = "dates" }))
    assert.equal("You are a professional summarizer. Provide a clear and concise summary.",
      summarize.system_prompt({ focus = {} }))
  end)

  it("refuses an unknown style and a length that is not a positive number", function()
    local ok, err = pcall(summarize.system_prompt, { style = "haiku" })
    assert.is_false(ok)
    assert.equal("summarize: options.style must be 'bullet-points', 'paragraph' or 'concise' (got haiku)", err)
    for _, bad in ipairs({ 0, -5, "50" }) do
      local ok2, err2 = pcall(summarize.system_prompt, { maxLength = bad })
      assert.is_false(ok2)
      assert.equal("summarize: options.maxLength must be a positive number of tokens", err2)
    end
  end)
end)

describe("summarize adapter", function()
  it("takes the chat adapter's name, model and config; tostring names the label", function()
    local chat = fake_chat({})
    local a = summarize.new(chat, "WorkersAi")
    assert.equal("summarize", a.kind)
    assert.equal("fake", a.name)
    assert.equal("m-1", a.model)
    assert.equal(chat.config, a.config)
    assert.equal("WorkersAiSummarizeAdapter(m-1)", tostring(a))
    assert.equal("fakeSummarizeAdapter(m-1)", tostring(summarize.new(chat)))
  end)

  it("asks with the system prompt and the text as the one user message, and joins the deltas", function()
    local chat = fake_chat(text_run("A short", " summary", "."))
    local res = summarize.new(chat):summarize({ text = "long text", style = "concise", temperature = 0.3 })
    assert.equal("A short summary.", res.summary)
    assert.equal("m-1", res.model)
    assert.matches("^summary%-%x+$", res.id)
    assert.same({ promptTokens = 9, completionTokens = 3, totalTokens = 12 }, res.usage)
    local o = chat.calls[1]
    assert.same({ { role = "user", content = "long text" } }, o.messages)
    assert.same({ summarize.system_prompt({ style = "concise" }) }, o.systemPrompts)
    assert.equal(0.3, o.temperature)
    assert.is_nil(o.maxTokens)
  end)

  it("sets no temperature of its own", function()
    local chat = fake_chat(text_run("x"))
    summarize.new(chat):summarize({ text = "t" })
    assert.is_nil(chat.calls[1].temperature)
  end)

  it("bounds the answer with maxLength unless modelOptions already bound it (any provider's spelling)", function()
    local chat = fake_chat(text_run("x"))
    local a = summarize.new(chat)
    a:summarize({ text = "t", maxLength = 40 })
    assert.equal(40, chat.calls[1].maxTokens)
    for _, mo in ipairs({ { max_tokens = 10 }, { max_completion_tokens = 10 }, { maxOutputTokens = 10 },
      { generationConfig = { maxOutputTokens = 10 } } }) do
      a:summarize({ text = "t", maxLength = 40, modelOptions = mo })
      local o = chat.calls[#chat.calls]
      assert.is_nil(o.maxTokens)
      assert.equal(mo, o.modelOptions)
    end
  end)

  it("an empty answer is an empty summary", function()
    local res = summarize.new(fake_chat(text_run())):summarize({ text = "t" })
    assert.equal("", res.summary)
  end)

  it("a RUN_ERROR becomes nil and an error value, and the turn is closed", function()
    local chat = fake_chat({ { type = "RUN_STARTED" }, { type = "TEXT_MESSAGE_CONTENT", delta = "par" },
      { type = "RUN_ERROR", message = "overloaded", code = "3040" } })
    local res, err = summarize.new(chat):summarize({ text = "t" })
    assert.is_nil(res)
    assert.is_true(errors.is_error(err))
    assert.equal("overloaded", err.message)
    assert.equal("3040", err.code)
    assert.equal(1, chat.closed)
    local e = errors.new({ message = "boom", kind = "network" })
    local res2, err2 = summarize.new(fake_chat({ { type = "RUN_ERROR", error = e, message = "boom" } }))
      :summarize({ text = "t" })
    assert.is_nil(res2)
    assert.equal(e, err2)
  end)

  it("raises a bad style before any request", function()
    local chat = fake_chat(text_run("x"))
    assert.has_error(function() summarize.new(chat):summarize({ text = "t", style = "poem" }) end,
      "summarize: options.style must be 'bullet-points', 'paragraph' or 'concise' (got poem)")
    assert.equal(0, #chat.calls)
  end)
end)
