-- tanstack.ai.wire on plain Lua (5.4 and LuaJIT): the wire form of events, the SSE / NDJSON iterators, the
-- response tables, ngx_response against a stand-in `ngx`, and chatParamsFromRequestBody (validation, conversion,
-- a light fuzz). The same encoders are compared with @tanstack/ai itself in spec/openresty/nginx_test.lua.
local json = require("tanstack.ai.json")
local wire = require("tanstack.ai.wire")
local ai = require("tanstack.ai")
local errors = require("tanstack.ai.errors")
local fixtures = require("openresty.wire_fixtures")

local function decode_sse(s)
  assert.equals("data: ", s:sub(1, 6))
  assert.equals("\n\n", s:sub(-2))
  return json.decode(s:sub(7, -3))
end

local function collect(iter)
  local out = {}
  for s in iter do out[#out + 1] = s end
  return out
end

-- a stream-like object that records cancel()
local function fake_stream(list, raise_at)
  local s = { i = 0, canceled = 0 }
  function s:next()
    self.i = self.i + 1
    if raise_at and self.i == raise_at then error({ message = "boom at " .. self.i, code = "E_BOOM" }) end
    return list[self.i]
  end
  function s:cancel() self.canceled = self.canceled + 1 end
  return s
end

describe("wire form of events", function()
  local evs = fixtures.events()
  local by = {}
  for i, e in ipairs(evs) do by[i] = wire.to_wire_chunk(e) end

  it("keeps spec keys and moves extras to metadata.tanstack", function()
    assert.same({ type = "RUN_STARTED", runId = "run-1", threadId = "thread-1", timestamp = 1000,
      metadata = { tanstack = { model = "@cf/meta/llama-3.1-8b-instruct" } } }, by[1])
    -- delta events: model / content / args are dropped, not moved
    assert.same({ type = "TEXT_MESSAGE_CONTENT", messageId = "msg-1", delta = "Hel", timestamp = 1002 }, by[3])
    assert.same({ type = "TOOL_CALL_ARGS", toolCallId = "call-1", delta = '{"city":', timestamp = 1006 }, by[7])
    -- TOOL_CALL_START: toolName dropped, index moved
    assert.is_nil(by[6].toolName)
    assert.equals("get_weather", by[6].toolCallName)
    assert.equals("msg-1", by[6].parentMessageId)
    assert.equals(0, by[6].metadata.tanstack.index)
    -- TOOL_CALL_END: input and toolName under metadata.tanstack
    assert.same({ type = "TOOL_CALL_END", toolCallId = "call-1", timestamp = 1007, metadata = { tanstack = {
      toolName = "get_weather", input = { city = "Paris" }, model = "@cf/meta/llama-3.1-8b-instruct" } } }, by[8])
    -- STEP_*: only stepName on top
    assert.same({ stepId = "step-1", stepType = "thinking", delta = "hmm", model = "@cf/meta/llama-3.1-8b-instruct" },
      by[5].metadata.tanstack)
    assert.equals("thinking", by[5].stepName)
    -- TOOL_CALL_RESULT: output-error state under metadata.tanstack
    assert.equals("output-error", by[11].metadata.tanstack.state)
    assert.equals("tool", by[11].role)
    -- CUSTOM keeps threadId / runId under metadata.tanstack
    assert.same({ pct = 50 }, by[12].value)
    assert.equals("thread-1", by[12].metadata.tanstack.threadId)
    assert.is_nil(by[12].threadId)
  end)

  it("turns usage into the spec array, leftovers under metadata.tanstack.usage", function()
    local fin = by[10]
    assert.same({ { model = "@cf/meta/llama-3.1-8b-instruct", inputTokens = 12, outputTokens = 34, totalTokens = 46,
      cachedInputTokens = 2, reasoningTokens = 3 } }, fin.usage)
    assert.same({ cost = 0.5, promptTokensDetails = { audioTokens = 1 } }, fin.metadata.tanstack.usage)
    assert.equals("tool_calls", fin.metadata.tanstack.finishReason)
    assert.is_nil(fin.finishReason)
    assert.is_nil(fin.model)
    assert.same({ { model = "@cf/meta/llama-3.1-8b-instruct", inputTokens = 1, outputTokens = 2, totalTokens = 3 } },
      by[14].usage)
    assert.is_nil(by[14].metadata.tanstack.usage)
    assert.equals('"usage":[{', wire.encode_sse(evs[14]):match('"usage":%[{'))
  end)

  it("merges existing metadata and fills toolCallName from toolName", function()
    local s = by[13]
    assert.equals("lookup", s.toolCallName)
    assert.equals("sig-1", s.metadata.thoughtSignature)
    assert.is_true(s.metadata.tanstack.kept)
    assert.equals(1, s.metadata.tanstack.index)
  end)

  it("RUN_ERROR: message and code from the error object, never the object itself", function()
    assert.equals("upstream said no", by[15].message)
    assert.equals("3040", by[15].code)
    assert.equals("thread-1", by[15].metadata.tanstack.threadId)
    assert.equals("run-1", by[15].metadata.tanstack.runId)
    assert.is_nil(by[15].error)
    assert.same({ { model = "@cf/meta/llama-3.1-8b-instruct", inputTokens = 5, outputTokens = 0, totalTokens = 5 } },
      by[15].usage)
    assert.equals("explicit", by[16].message)
    assert.equals("429", by[16].code)
    assert.is_nil(wire.encode_sse(evs[16]):find("secret body", 1, true))
  end)

  it("does not modify the event", function()
    local e = fixtures.events()[10]
    wire.to_wire_chunk(e)
    assert.equals("tool_calls", e.finishReason)
    assert.equals(12, e.usage.promptTokens)
  end)
end)

describe("ai.to_server_sent_events / ai.to_http_stream", function()
  it("SSE: one `data: <json>\\n\\n` per event, no [DONE]", function()
    local out = collect(ai.to_server_sent_events(fixtures.events()))
    assert.equals(16, #out)
    for _, s in ipairs(out) do
      local v = decode_sse(s)
      assert.is_string(v.type)
      assert.is_nil(s:find("[DONE]", 1, true))
    end
  end)

  it("NDJSON: one JSON line per event", function()
    local out = collect(ai.to_http_stream(fixtures.events()))
    assert.equals(16, #out)
    for _, s in ipairs(out) do
      assert.equals("\n", s:sub(-1))
      assert.is_nil(s:sub(1, -2):find("\n", 1, true))
      assert.is_table(json.decode(s))
    end
    assert.same(wire.to_wire_chunk(fixtures.events()[10]), json.decode(out[10]))
  end)

  it("an empty stream writes nothing", function()
    assert.same({}, collect(ai.to_server_sent_events({})))
    assert.same({}, collect(ai.to_http_stream(function() return nil end)))
  end)

  it("a source that raises ends with exactly one RUN_ERROR and is canceled", function()
    local evs = fixtures.events()
    local src = fake_stream(evs, 4)
    local out = collect(ai.to_server_sent_events(src))
    assert.equals(4, #out)
    local last = decode_sse(out[4])
    assert.equals("RUN_ERROR", last.type)
    assert.equals("boom at 4", last.message)
    assert.equals("E_BOOM", last.code)
    assert.is_number(last.timestamp)
    assert.equals(1, src.canceled)
    assert.equals(4, src.i) -- nothing pulled after the failure
  end)

  it("a RUN_ERROR from the stream followed by a raise still gives one RUN_ERROR", function()
    local list = { { type = "RUN_STARTED", runId = "r", threadId = "t", timestamp = 1 },
      { type = "RUN_ERROR", message = "first", timestamp = 2 } }
    local out = collect(ai.to_http_stream(fake_stream(list, 3)))
    assert.equals(2, #out)
    assert.equals("first", json.decode(out[2]).message)
  end)

  it("an event that cannot be encoded becomes the RUN_ERROR", function()
    local list = { { type = "RUN_STARTED", runId = "r", threadId = "t", timestamp = 1 },
      { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = "x", timestamp = 0 / 0 },
      { type = "RUN_FINISHED", runId = "r", threadId = "t", timestamp = 3 } }
    local src = fake_stream(list)
    local logged = {}
    local out = collect(ai.to_server_sent_events(src, { logErrors = function(l) logged[#logged + 1] = l end }))
    assert.equals(2, #out)
    local e = decode_sse(out[2])
    assert.equals("RUN_ERROR", e.type)
    assert.equals("Internal server error", e.message) -- the browser's form; the detail is in the log
    assert.truthy(logged[1]:find("cannot encode TEXT_MESSAGE_CONTENT event", 1, true))
    assert.equals(1, src.canceled)
    -- exposeErrorDetails: the detail goes to the browser (development)
    out = collect(ai.to_server_sent_events(fake_stream(list), { exposeErrorDetails = true }))
    assert.truthy(decode_sse(out[2]).message:find("TEXT_MESSAGE_CONTENT", 1, true))
  end)

  it("RUN_ERROR messages are scrubbed of registered secrets", function()
    errors.register_secret("wire-spec-secret-123456")
    local function failing() error("failed with key wire-spec-secret-123456") end
    local out = collect(ai.to_server_sent_events(failing, { logErrors = false }))
    assert.equals(1, #out)
    assert.is_nil(out[1]:find("wire-spec-secret", 1, true))
    out = collect(ai.to_server_sent_events(failing, { exposeErrorDetails = true }))
    assert.is_nil(out[1]:find("wire-spec-secret", 1, true))
    assert.truthy(out[1]:find("[REDACTED]", 1, true))
  end)

  it("encodes a real ai.chat stream (fake adapter) and cancel() closes it", function()
    local closed = 0
    local adapter = { kind = "text", name = "fake", model = "fake-model" }
    function adapter:chat_stream(o)
      local i, list = 0, {
        { type = "RUN_STARTED", runId = o.runId, threadId = o.threadId, model = "fake-model", timestamp = 1 },
        { type = "TEXT_MESSAGE_START", messageId = "m", role = "assistant", model = "fake-model", timestamp = 2 },
        { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = "hi", model = "fake-model", timestamp = 3 },
        { type = "TEXT_MESSAGE_END", messageId = "m", model = "fake-model", timestamp = 4 },
        { type = "RUN_FINISHED", runId = o.runId, threadId = o.threadId, finishReason = "stop", model = "fake-model",
          usage = { promptTokens = 1, completionTokens = 1, totalTokens = 2 }, timestamp = 5 },
      }
      return { next = function() i = i + 1 return list[i] end, close = function() closed = closed + 1 end }
    end
    local stream = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } }, runId = "run-9",
      threadId = "thread-9" })
    local out = collect(ai.to_server_sent_events(stream))
    assert.equals(5, #out)
    local fin = decode_sse(out[5])
    assert.equals("run-9", fin.runId)
    assert.equals("stop", fin.metadata.tanstack.finishReason)
    -- a response canceled half way closes the model stream
    local stream2 = ai.chat({ adapter = adapter, messages = { { role = "user", content = "x" } } })
    local res = ai.to_server_sent_events_response(stream2)
    assert.is_string(res.body())
    local before = closed
    res.cancel()
    assert.is_true(closed > before)
    assert.is_nil(res.body())
  end)
end)

describe("ai.to_server_sent_events_response / ai.to_http_response (plain Lua)", function()
  it("returns status, TanStack's SSE headers and a body iterator", function()
    local res = ai.to_server_sent_events_response(fixtures.events())
    assert.equals(200, res.status)
    assert.equals("text/event-stream", res.headers["content-type"])
    assert.equals("text/event-stream", res.headers["Content-Type"])
    assert.equals("no-cache", res.headers["cache-control"])
    assert.equals("keep-alive", res.headers["connection"])
    assert.is_function(res.body)
    assert.equals(16, #collect(res.body))
    local n = 0
    for _ in pairs(res.headers) do n = n + 1 end
    assert.equals(3, n)
  end)

  it("NDJSON headers; user headers and status override", function()
    local res = ai.to_http_response(fixtures.events(), { status = 201, headers = { ["Cache-Control"] = "no-store",
      ["X-Extra"] = "1" } })
    assert.equals(201, res.status)
    assert.equals("application/x-ndjson", res.headers["content-type"])
    assert.equals("no-store", res.headers["cache-control"])
    assert.equals("1", res.headers["x-extra"])
    assert.is_nil(res.headers["connection"])
    assert.equals(16, #collect(res.body))
  end)

  it("camelCase aliases exist", function()
    assert.is_function(ai.toServerSentEventsResponse)
    assert.is_function(ai.toHttpResponse)
    assert.is_function(ai.chatParamsFromRequestBody)
    assert.equals(200, ai.toHttpResponse({}).status)
  end)
end)

describe("ngx_response (against a stand-in ngx)", function()
  local real_ngx

  local function fake_ngx(opts)
    opts = opts or {}
    local n = { header = {}, printed = {}, flushes = 0, headers_sent = false, phase = opts.phase or "content" }
    n.get_phase = function() return n.phase end
    n.on_abort = function(fn)
      n.abort_handler = fn
      if opts.abort_off then return nil, "lua_check_client_abort is off" end
      return 1
    end
    n.send_headers = function() n.headers_sent = true return 1 end
    n.print = function(s)
      if opts.fail_after and #n.printed >= opts.fail_after then return nil, "nginx output filter error" end
      n.printed[#n.printed + 1] = s
      return 1
    end
    n.flush = function() n.flushes = n.flushes + 1 return 1 end
    n.exit = function(code) n.exited = code end
    return n
  end

  before_each(function() real_ngx = rawget(_G, "ngx") end)
  after_each(function() rawset(_G, "ngx", real_ngx) end)

  it("in the content phase: writes headers, the events ready together as one piece with a flush, returns true",
    function()
    local n = fake_ngx()
    rawset(_G, "ngx", n)
    local ok, err = ai.to_server_sent_events_response(fixtures.events())
    assert.is_true(ok, err)
    assert.equals(200, n.status)
    assert.equals("text/event-stream", n.header["Content-Type"])
    assert.equals("no-cache", n.header["Cache-Control"])
    assert.is_nil(n.header["Connection"]) -- nginx writes its own
    -- an array's 16 events are all ready at once: one write (spec/tanstack/ai/coalesce_spec.lua: one per read)
    assert.equals(1, #n.printed)
    assert.equals(table.concat(collect(ai.to_server_sent_events(fixtures.events()))), n.printed[1])
    assert.is_true(n.flushes >= 1)
    assert.is_function(n.abort_handler)
    -- a source that does not say what is ready: one write per event
    n = fake_ngx()
    rawset(_G, "ngx", n)
    assert.is_true(ai.to_server_sent_events_response(fake_stream(fixtures.events())))
    assert.equals(16, #n.printed)
    assert.is_true(n.flushes >= 16)
  end)

  it("a failed write cancels the model stream and returns nil, err", function()
    local n = fake_ngx({ fail_after = 2 })
    rawset(_G, "ngx", n)
    local src = fake_stream(fixtures.events())
    local ok, err = ai.to_http_response(src)
    assert.is_nil(ok)
    assert.truthy(err:find("client went away", 1, true))
    assert.equals(1, src.canceled)
    assert.equals(3, src.i)
  end)

  it("the on_abort handler cancels the stream and ends the request with 499", function()
    local n = fake_ngx()
    rawset(_G, "ngx", n)
    local src = fake_stream(fixtures.events())
    local res = ai.to_server_sent_events_response(src, { ngx = false }) -- the table form, sent by hand below
    assert.is_function(res.body)
    require("tanstack.ai.ngx_response").send({ status = 200, headers = {}, body = function() return nil end,
      cancel = function() src:cancel() end })
    n.abort_handler()
    assert.equals(1, src.canceled)
    assert.equals(499, n.exited)
  end)

  it("outside the content phase the table form is returned", function()
    local n = fake_ngx({ phase = "access" })
    rawset(_G, "ngx", n)
    local res = ai.to_server_sent_events_response(fixtures.events())
    assert.equals(200, res.status)
    assert.equals(0, #n.printed)
  end)
end)

describe("ai.chat_params_from_request_body", function()
  -- the body @tanstack/ai-client 0.33 sends (buildRunAgentInputBody + uiMessagesToWire)
  local function client_body()
    return {
      threadId = "thread-1", runId = "run-1", state = {}, context = {},
      forwardedProps = { model = "x" }, data = { model = "x" },
      tools = { { name = "confirm", description = "Ask the user", parameters = { type = "object",
        properties = { question = { type = "string" } } } } },
      messages = {
        { id = "s1", role = "system", content = "Be brief." },
        { id = "u1", role = "user", content = "What is the weather in Paris?",
          metadata = { tanstack = { createdAt = "2026-01-01T00:00:00.000Z" } } },
        { id = "a1-reasoning-x", role = "reasoning", content = "thinking...", encryptedValue = "sig" },
        { id = "a1", role = "assistant", content = "Let me check.", toolCalls = {
          { id = "call_1", type = "function", ["function"] = { name = "get_weather", arguments = '{"city":"Paris"}' },
            encryptedValue = "tsig" } }, metadata = { tanstack = { toolCallMetadata = { call_1 = { x = 1 } } } } },
        { id = "tool-call_1", role = "tool", toolCallId = "call_1", content = '{"temp":21}' },
        { id = "act", role = "activity", activityType = "progress", content = { pct = 1 } },
        { id = "d1", role = "developer", content = "Prefer metric units." },
        { id = "u2", role = "user", content = {
          { type = "text", text = "and this picture?" },
          { type = "image", source = { type = "url", value = "https://example.com/a.png" } },
          { type = "binary", mimeType = "image/png", data = "AAAA" },
          { type = "not-a-content-part", x = 1 } },
          parts = { { type = "text", content = "old client parts are ignored" } } },
      },
    }
  end

  it("returns chat options with the messages converted to ModelMessages", function()
    local p, err = ai.chat_params_from_request_body(client_body(), { allowSystemMessages = true })
    assert.is_nil(err)
    assert.equals("thread-1", p.threadId)
    assert.equals("run-1", p.runId)
    assert.same({ model = "x" }, p.forwardedProps)
    local m = p.messages
    assert.equals(6, #m) -- reasoning folded into the assistant, activity dropped
    assert.same({ role = "system", content = "Be brief." }, m[1])
    assert.same({ role = "user", content = "What is the weather in Paris?" }, m[2])
    assert.equals("assistant", m[3].role)
    assert.equals("Let me check.", m[3].content)
    assert.equals("get_weather", m[3].toolCalls[1]["function"].name)
    assert.equals('{"city":"Paris"}', m[3].toolCalls[1]["function"].arguments)
    assert.same({ x = 1, thoughtSignature = "tsig" }, m[3].toolCalls[1].metadata)
    assert.same({ { content = "thinking...", signature = "sig" } }, m[3].thinking)
    assert.same({ role = "tool", toolCallId = "call_1", content = '{"temp":21}' }, m[4])
    assert.same({ role = "system", content = "Prefer metric units." }, m[5])
    assert.equals("user", m[6].role)
    assert.equals(2, #m[6].content)
    assert.same({ type = "text", content = "and this picture?" }, m[6].content[1])
    assert.equals("image", m[6].content[2].type)
  end)

  it("declares the client's tools as tools without execute", function()
    local p = ai.chat_params_from_request_body(client_body(), { allowSystemMessages = true })
    assert.equals(1, #p.tools)
    assert.equals("confirm", p.tools[1].name)
    assert.equals("Ask the user", p.tools[1].description)
    assert.equals("object", p.tools[1].inputSchema.type)
    assert.is_nil(p.tools[1].execute)
    assert.equals("client", p.tools[1].__toolSide)
  end)

  it("accepts the JSON text, and the result drives ai.chat", function()
    local p = ai.chat_params_from_request_body(json.encode(client_body()), { allow_system_messages = true })
    assert.equals("thread-1", p.threadId)
    local seen
    local adapter = { kind = "text", name = "fake", model = "m" }
    function adapter:chat_stream(o)
      seen = o
      local done = false
      return { next = function()
        if done then return nil end
        done = true
        return { type = "RUN_FINISHED", runId = o.runId, threadId = o.threadId, finishReason = "stop", timestamp = 1 }
      end, close = function() end }
    end
    local out = collect(ai.to_server_sent_events(ai.chat({ adapter = adapter, messages = p.messages,
      threadId = p.threadId, runId = p.runId, tools = p.tools })))
    assert.equals(1, #out)
    assert.equals("run-1", seen.runId)
    assert.equals(6, #seen.messages)
    assert.equals("confirm", seen.tools[1].name)
  end)

  local bad = {
    { "not json", "body is not JSON" },
    { "[]", "body must be a JSON object" },
    { 42, "body must be a JSON object" },
    { {}, "threadId must be a string" },
    { { threadId = "t" }, "runId must be a string" },
    { { threadId = "t", runId = "r", parentRunId = 1, messages = {}, tools = {}, context = {} },
      "parentRunId must be a string" },
    { { threadId = "t", runId = "r", messages = "x", tools = {}, context = {} }, "messages must be an array" },
    { { threadId = "t", runId = "r", messages = { { role = "user", content = "x" } }, tools = {}, context = {} },
      "messages[0].id must be a string" },
    { { threadId = "t", runId = "r", messages = { { id = "1", role = "robot", content = "x" } }, tools = {},
      context = {} }, "messages[0].role must be one of" },
    { { threadId = "t", runId = "r", messages = { { id = "1", role = "user", content = 5 } }, tools = {},
      context = {} }, "messages[0].content must be a string or an array of content parts" },
    { { threadId = "t", runId = "r", messages = { { id = "1", role = "tool", content = "x" } }, tools = {},
      context = {} }, "messages[0].toolCallId must be a string" },
    { { threadId = "t", runId = "r", messages = { { id = "1", role = "assistant", content = {} , toolCalls = 3 } },
      tools = {}, context = {} }, "messages[0].content must be a string" },
    { { threadId = "t", runId = "r", messages = { { id = "1", role = "user", content = "x", metadata = "m" } },
      tools = {}, context = {} }, "messages[0].metadata must be an object" },
    { { threadId = "t", runId = "r", messages = {}, context = {} }, "tools must be an array" },
    { { threadId = "t", runId = "r", messages = {}, tools = { { name = "x" } }, context = {} },
      "tools[0].description must be a string" },
    { { threadId = "t", runId = "r", messages = {}, tools = { { name = "bad name!", description = "d" } },
      context = {} }, "tools[0].name" },
    { { threadId = "t", runId = "r", messages = {}, tools = {} }, "context must be an array" },
    { { threadId = "t", runId = "r", messages = {}, tools = {}, context = { { description = "d" } } },
      "context[0].value must be a string" },
    { { threadId = "t", runId = "r", messages = {}, tools = {}, context = {}, forwardedProps = "x" },
      "forwardedProps must be an object" },
    { { threadId = "t", runId = "r", messages = {}, tools = {}, context = {}, resume = { { interruptId = "i",
      status = "maybe" } } }, 'resume[0].status must be "resolved" or "cancelled"' },
    { { threadId = "t", runId = "r", messages = { { id = "0", role = "user", content = "s" }, { id = "a",
      role = "activity", activityType = "x", content = {} }, { id = "1", role = "user", content = {
      { type = "video" } } } }, tools = {}, context = {} }, "messages[2].content[1]: video part needs source" },
      -- ai.chat would reject the part: a 400 now, naming the message as the client numbered it
    { { threadId = "t", runId = "r", messages = { { id = "1", role = "assistant", toolCalls = { { id = "c" } } } },
      tools = {}, context = {} }, "messages[0].toolCalls[0].function.name must be a string" },
    { { threadId = json.null, runId = "r", messages = {}, tools = {}, context = {} }, "threadId must be a string" },
  }
  for i, c in ipairs(bad) do
    it("rejects bad input #" .. i .. " with 400: " .. c[2], function()
      local p, err = ai.chat_params_from_request_body(c[1])
      assert.is_nil(p)
      assert.equals(400, err.status)
      assert.equals(false, err.retryable)
      assert.truthy(err.message:find("Request body is not a valid AG-UI RunAgentInput", 1, true))
      assert.truthy(err.message:find(c[2], 1, true), err.message)
    end)
  end

  it("never raises on random input (light fuzz)", function()
    math.randomseed(12345)
    local keys = { "threadId", "runId", "messages", "tools", "context", "forwardedProps", "resume", "parentRunId",
      "id", "role", "content", "toolCalls", "toolCallId", "function", "name", "arguments", "type", "text", "source",
      "description", "parameters", "value", "metadata", "tanstack", "toolCallMetadata", "encryptedValue", "status",
      "interruptId", "activityType", "parts", "mimeType" }
    local roles = { "user", "assistant", "tool", "system", "developer", "reasoning", "activity", "x" }
    local function rand_value(depth)
      local r = math.random(1, depth > 3 and 6 or 9)
      if r == 1 then return math.random(-5, 5) end
      if r == 2 then return roles[math.random(#roles)] end
      if r == 3 then return json.null end
      if r == 4 then return math.random() < 0.5 end
      if r == 5 then return ("x"):rep(math.random(0, 3)) end
      if r == 6 then return math.random() * 1e6 end
      if r == 7 then
        local t = {}
        for i = 1, math.random(0, 4) do t[i] = rand_value(depth + 1) end
        return t
      end
      local t = {}
      for _ = 1, math.random(0, 5) do t[keys[math.random(#keys)]] = rand_value(depth + 1) end
      return t
    end
    -- mutate a valid body: replace / delete / retype one field somewhere
    local function mutate(v, depth)
      if type(v) ~= "table" or depth > 6 then return rand_value(depth) end
      local ks = {}
      for k in pairs(v) do ks[#ks + 1] = k end
      if #ks == 0 then return rand_value(depth) end
      local k = ks[math.random(#ks)]
      local r = math.random(1, 3)
      if r == 1 then v[k] = nil elseif r == 2 then v[k] = rand_value(depth) else v[k] = mutate(v[k], depth + 1) end
      return v
    end
    local accepted, rejected, refused = 0, 0, 0
    for i = 1, 3000 do
      local input
      if i % 3 == 0 then input = rand_value(0)
      elseif i % 3 == 1 then input = mutate(client_body(), 0)
      else
        local s = json.encode(mutate(client_body(), 0))
        local cut = math.random(0, #s)
        input = (math.random() < 0.3) and s:sub(1, cut) or s
      end
      local ok, p, err = pcall(ai.chat_params_from_request_body, input, { allowSystemMessages = i % 2 == 0 })
      assert(ok, "raised on input #" .. i .. ": " .. tostring(p))
      if p then
        accepted = accepted + 1
        assert.is_table(p.messages)
        assert.is_string(p.threadId)
        -- ai.chat must accept what was accepted here
        local okn, nerr = pcall(require("tanstack.ai.messages").normalize, p.messages)
        assert(okn, "accepted messages that ai.chat rejects: " .. tostring(nerr))
      else
        rejected = rejected + 1
        assert.equals(400, err.status)
        assert.is_string(err.message)
        if i % 2 == 1 and err.code == "role_not_allowed" then refused = refused + 1 end
      end
    end
    assert.is_true(accepted > 50, "fuzz accepted only " .. accepted)
    assert.is_true(rejected > 500, "fuzz rejected only " .. rejected)
    assert.is_true(refused > 50, "system messages refused only " .. refused .. " times")
  end)
end)
