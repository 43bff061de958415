-- What real Workers AI answers look like, through a user's fake binding: binding errors with
-- the code in the message, an empty streamed result, {"choices": []}, finish reasons outside TanStack's union,
-- a stream cut short, a malformed event, a forced tool call answered in the text.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")

local CHAT = "@cf/meta/llama-3.1-8b-instruct"

-- A fake env.AI: `answers` is a list of functions (model, inputs) -> what run returns (or raises).
local function fake(answers)
  local calls = {}
  return {
    calls = calls,
    run = function(_, model, inputs)
      calls[#calls + 1] = { model = model, inputs = inputs }
      local f = answers[math.min(#calls, #answers)]
      return f(model, inputs)
    end,
    gateway = function() end,
  }
end

local function chunks(list)
  local i = 0
  return function() i = i + 1 return list[i] end
end

local function run_chat(binding, opts, model, strict)
  local a = cf.create_workers_ai_chat(model or CHAT, { binding = binding, maxRetries = 2 })
  if strict then a.strictStream = true end
  opts = opts or {}
  opts.adapter = a
  opts.messages = opts.messages or { { role = "user", content = "hi" } }
  local evs = ai.chat(opts):collect()
  local text = {}
  for _, e in ipairs(evs) do if e.type == "TEXT_MESSAGE_CONTENT" then text[#text + 1] = e.delta end end
  return evs, table.concat(text), evs[#evs]
end

describe("Workers AI answers as Cloudflare gives them", function()
  it("maps a binding error's code carried in the message, a message table or a string code", function()
    local b = fake({ function() error("3040: Capacity temporarily exceeded, please try again.", 0) end,
      function() error({ code = "3040" }, 0) end,
      function() return chunks({ 'data: {"response":"ok"}\n\n', "data: [DONE]\n\n" }) end })
    local _, text, last = run_chat(b)
    assert.equal("ok", text)
    assert.equal("RUN_FINISHED", last.type)
    assert.equal(3, #b.calls) -- retried twice

    b = fake({ function() error({ message = "5007: No such model" }, 0) end })
    local _, _, fail = run_chat(b)
    assert.equal("RUN_ERROR", fail.type)
    assert.equal("5007", fail.code)
    assert.equal(400, fail.error.status)
    assert.equal(1, #b.calls) -- not retryable

    local e = require("cloudflare.tanstack_ai.errors").from_binding({ code = "3040" })
    assert.same({ "Workers AI error 3040: Out of capacity", 3040, 429, true }, { e.message, e.code, e.status, e.retryable })
  end)

  it("asks once more without streaming when a stream is answered with an empty JSON result", function()
    local b = fake({ function() return {} end, function() return { response = "again" } end })
    local _, text, last = run_chat(b)
    assert.equal("again", text)
    assert.equal("RUN_FINISHED", last.type)
    assert.equal(2, #b.calls)
    assert.is_true(b.calls[1].inputs.stream)
    assert.is_false(b.calls[2].inputs.stream)
    assert.is_nil(b.calls[2].inputs.stream_options)
  end)

  it("reads {choices = {}} as an empty answer", function()
    local b = fake({ function() return { choices = {} } end })
    local text, err = ai.chat({ adapter = cf.create_workers_ai_chat(CHAT, { binding = b }), stream = false,
      messages = { { role = "user", content = "x" } } })
    assert.equal("", text, tostring(err))
  end)

  it("maps finish reasons outside TanStack's union", function()
    local b = fake({ function()
      return chunks({ 'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"model_length"}]}\n\n',
        "data: [DONE]\n\n" })
    end })
    local _, _, last = run_chat(b)
    assert.equal("length", last.finishReason)
    b = fake({ function() return chunks({ 'data: {"response":"x","finish_reason":"invalid_reason"}\n\n' }) end })
    _, _, last = run_chat(b)
    assert.equal("stop", last.finishReason)
  end)

  it("reports a stream that ends with neither [DONE] nor a finish reason as cut short, keeping its text", function()
    local b = fake({ function() return chunks({ 'data: {"response":"part one "}\n\n', 'data: {"response":"two"}\n\n' }) end })
    local _, text, last = run_chat(b)
    assert.equal("part one two", text)
    assert.equal("RUN_ERROR", last.type)
    assert.equal("stream_cut_short", last.code)
    assert.matches("cut short", last.message)
  end)

  it("skips one malformed event with a warning; strictStream keeps the error", function()
    local stream = { 'data: {"response":"a"}\n\ndata: {bad json\n\n', 'data: {"response":"b"}\n\ndata: [DONE]\n\n' }
    local b = fake({ function() return chunks(stream) end })
    local _, text, last = run_chat(b)
    assert.equal("ab", text)
    assert.equal("RUN_FINISHED", last.type)
    assert.matches("malformed stream event", last.warnings[1], 1, true)
    b = fake({ function() return chunks(stream) end })
    _, text, last = run_chat(b, nil, nil, true)
    assert.equal("a", text)
    assert.equal("RUN_ERROR", last.type)
    assert.matches("malformed", last.message)
  end)

  it("recovers a forced tool call that gpt-oss answers in the text", function()
    local content = '{\\"name\\": \\"get_weather\\", \\"location\\": \\"London\\"}'
    local b = fake({ function()
      return chunks({ 'data: {"choices":[{"index":0,"delta":{"content":"' .. content .. '"},"finish_reason":null}]}\n\n',
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n', "data: [DONE]\n\n" })
    end })
    local evs, text, last = run_chat(b, {
      tools = { ai.tool_definition({ name = "get_weather", description = "weather" }) },
      modelOptions = { tool_choice = { type = "function", ["function"] = { name = "get_weather" } } },
    }, "@cf/openai/gpt-oss-120b")
    assert.equal("", text)
    local ended
    for _, e in ipairs(evs) do if e.type == "TOOL_CALL_END" then ended = e end end
    assert.same({ location = "London" }, ended and ended.input)
    assert.equal("tool_calls", last.finishReason)
  end)
end)
