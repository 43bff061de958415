-- Tests of the emulator harness (spec/helpers/emulator.lua) plus curl-driven smoke checks
-- of each provider's wire shape. The project's own specs test the formats in depth.

local cjson = require("cjson")
local emulator = require("helpers.emulator")

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local d = f:read("*a")
  f:close()
  return d
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- curl(url, {method=, headers={...}, body=, form={...}, max_time=}) -> status, body, headers(lower-case)
local function curl(url, opts)
  opts = opts or {}
  local hdr = os.tmpname()
  local out = os.tmpname()
  local cmd = "curl -s -o " .. q(out) .. " -D " .. q(hdr) .. " -w '%{http_code}'"
  if opts.max_time then cmd = cmd .. " --max-time " .. tostring(opts.max_time) end
  if opts.method then cmd = cmd .. " -X " .. opts.method end
  for k, v in pairs(opts.headers or {}) do cmd = cmd .. " -H " .. q(k .. ": " .. v) end
  local tmpbody
  if opts.body then
    tmpbody = os.tmpname()
    write_file(tmpbody, type(opts.body) == "table" and cjson.encode(opts.body) or opts.body)
    cmd = cmd .. " --data-binary @" .. q(tmpbody)
  end
  for _, f in ipairs(opts.form or {}) do cmd = cmd .. " -F " .. q(f) end
  cmd = cmd .. " " .. q(url) .. " 2>/dev/null"
  local p = io.popen(cmd)
  local code = p:read("*a")
  p:close()
  local body = read_file(out)
  local headers = {}
  for line in read_file(hdr):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then headers[k:lower()] = v end
  end
  os.remove(hdr)
  os.remove(out)
  if tmpbody then os.remove(tmpbody) end
  return tonumber(code), body, headers
end

local function sse_data(body)
  local events = {}
  for line in body:gmatch("[^\r\n]+") do
    local d = line:match("^data: ?(.*)$")
    if d then events[#events + 1] = d end
  end
  return events
end

local AUTH = { authorization = "Bearer test-token", ["content-type"] = "application/json" }

describe("emulator harness", function()
  local emu

  setup(function()
    emu = emulator.shared()
  end)

  before_each(function()
    emu:reset()
  end)

  it("shared() returns one running instance with url and port", function()
    assert.are.equal(emu, emulator.shared())
    assert.truthy(emu.url:match("^http://127%.0%.0%.1:%d+$"))
    assert.are.equal(tonumber(emu.url:match(":(%d+)$")), emu.port)
    local code, body = curl(emu.url .. "/__test/conn")
    assert.are.equal(200, code)
    assert.is_number(cjson.decode(body).conn_id)
  end)

  it("start() and stop() manage a separate process; stop is idempotent", function()
    local other = emulator.start({ idle_exit = 30 })
    assert.are_not.equal(emu.port, other.port)
    local code = curl(other.url .. "/__test/status/204")
    assert.are.equal(204, code)
    other:stop()
    other:stop()
    assert.is_false(emulator.alive(other.pid))
    local code2 = curl(other.url .. "/__test/conn", { max_time = 2 })
    assert.are.equal(0, code2 or 0)
  end)

  it("records method, path, query, headers, body and parsed json", function()
    curl(emu.url .. "/__test/echo?a=1&b=two%20words", {
      method = "POST", headers = { ["X-Custom"] = "Yes", ["content-type"] = "application/json" },
      body = '{"hello":"world","n":[1,2]}',
    })
    local r = emu:last_request()
    assert.are.equal("POST", r.method)
    assert.are.equal("/__test/echo", r.path)
    assert.are.same({ a = "1", b = "two words" }, r.query)
    assert.are.equal("Yes", r.headers["x-custom"])
    assert.are.equal('{"hello":"world","n":[1,2]}', r.body)
    assert.are.equal("world", r.json.hello)
    assert.are.equal(2, r.json.n[2])
    assert.is_string(r.body_base64)
    assert.is_number(r.conn_id)
    assert.is_number(r.t)
    assert.is_false(r.closed_early)
  end)

  it("records multipart bodies", function()
    local f = os.tmpname()
    write_file(f, "RIFF1234WAVE")
    curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/openai/audio/transcriptions", {
      form = { "file=@" .. f .. ";filename=a.wav;type=audio/wav", "model=whisper-1" },
    })
    os.remove(f)
    local r = emu:last_request()
    assert.are.equal(2, #r.multipart)
    assert.are.equal("file", r.multipart[1].name)
    assert.are.equal("a.wav", r.multipart[1].filename)
    assert.are.equal("audio/wav", r.multipart[1].content_type)
    assert.are.equal(12, r.multipart[1].size)
    assert.are.equal("model", r.multipart[2].name)
    assert.are.equal("whisper-1", r.multipart[2].value)
  end)

  it("reset clears records and queued scenarios", function()
    emu:next({ status = 500 })
    curl(emu.url .. "/__test/conn")
    emu:next({ status = 500 })
    emu:reset()
    assert.are.equal(0, #emu:requests())
    local code = curl(emu.url .. "/__test/conn")
    assert.are.equal(200, code)
  end)

  it("consumes scenarios FIFO, honouring match and times", function()
    emu:next({ match = "/__test/echo", status = 418 })
    emu:next({ status = 503, times = 2 })
    assert.are.equal(503, (curl(emu.url .. "/__test/conn")))
    assert.are.equal(418, (curl(emu.url .. "/__test/echo")))
    assert.are.equal(503, (curl(emu.url .. "/__test/echo")))
    assert.are.equal(200, (curl(emu.url .. "/__test/echo")))
  end)

  it("marks a request closed_early when the client goes away", function()
    curl(emu.url .. "/__test/stall?after_bytes=10&ms=5000", { max_time = 0.5 })
    local recs = emu:wait_for(function(rs) return rs[1] and rs[1].closed_early == true end, 5)
    assert.truthy(recs)
  end)

  it("serves the generic /__test endpoints", function()
    local code, body = curl(emu.url .. "/__test/bytes?n=300")
    assert.are.equal(200, code)
    assert.are.equal(300, #body)
    assert.are.equal(255, body:byte(256))
    assert.are.equal(0, body:byte(257))
    code, body = curl(emu.url .. "/__test/drip?n=3&delay_ms=10")
    assert.are.equal("chunk-0\nchunk-1\nchunk-2\n", body)
    code = curl(emu.url .. "/__test/status/429?retry_after=2")
    assert.are.equal(429, code)
    code, body = curl(emu.url .. "/__test/drop?after_bytes=5")
    assert.are.equal(5, #body)
    code, body = curl(emu.url .. "/__test/echo?x=1", { method = "PUT", body = "abc" })
    local e = cjson.decode(body)
    assert.are.equal("PUT", e.method)
    assert.are.equal("YWJj", e.body_base64)
  end)
end)

describe("emulator wire shapes (curl smoke)", function()
  local emu
  local REST = "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai"

  setup(function()
    emu = emulator.shared()
  end)

  before_each(function()
    emu:reset()
  end)

  it("Workers AI /ai/run native JSON envelope and auth", function()
    local body = { messages = { { role = "user", content = "ping" } } }
    local code, out = curl(emu.url .. REST .. "/run/@cf/meta/llama-3.1-8b-instruct-fp8", { headers = AUTH, body = body })
    assert.are.equal(200, code)
    local j = cjson.decode(out)
    assert.is_true(j.success)
    assert.are.equal("Hello from the Workers AI emulator! You said: ping", j.result.response)
    assert.are.equal(10, j.result.usage.total_tokens)
    code, out = curl(emu.url .. REST .. "/run/@cf/meta/llama-3.1-8b-instruct-fp8", { body = body })
    assert.are.equal(401, code)
    assert.are.equal(10000, cjson.decode(out).errors[1].code)
  end)

  it("Workers AI native SSE ends with usage then [DONE]", function()
    emu:next({ text = "a b c" })
    local code, out = curl(emu.url .. REST .. "/run/@cf/meta/llama-3.1-8b-instruct-fp8", {
      headers = AUTH, body = { stream = true, messages = { { role = "user", content = "x" } } },
    })
    assert.are.equal(200, code)
    local ev = sse_data(out)
    assert.are.equal("a", cjson.decode(ev[1]).response)
    assert.are.equal(" c", cjson.decode(ev[3]).response)
    assert.are.equal(3, cjson.decode(ev[4]).usage.completion_tokens)
    assert.are.equal("[DONE]", ev[5])
  end)

  it("Workers AI /ai/v1/chat/completions streams OpenAI chunks with tool calls", function()
    local code, out = curl(emu.url .. REST .. "/v1/chat/completions", {
      headers = AUTH,
      body = {
        model = "@cf/meta/llama-3.3-70b-instruct-fp8-fast", stream = true,
        stream_options = { include_usage = true },
        messages = { { role = "user", content = "What is the weather in Paris?" } },
        tools = { { type = "function", ["function"] = { name = "get_weather",
          parameters = { type = "object", properties = { city = { type = "string" } }, required = { "city" } } } } },
      },
    })
    assert.are.equal(200, code)
    local ev = sse_data(out)
    assert.are.equal("[DONE]", ev[#ev])
    local usage = cjson.decode(ev[#ev - 1])
    assert.are.equal(0, #usage.choices)
    local args, name, finish = "", nil, nil
    for i = 1, #ev - 1 do
      local c = cjson.decode(ev[i])
      local ch = c.choices[1]
      if ch then
        local tcs = ch.delta.tool_calls
        if type(tcs) == "table" then
          if tcs[1]["function"].name then name = tcs[1]["function"].name end
          args = args .. (tcs[1]["function"].arguments or "")
        end
        if type(ch.finish_reason) == "string" then finish = ch.finish_reason end
      end
    end
    assert.are.equal("get_weather", name)
    assert.are.same({ city = "Paris" }, cjson.decode(args))
    assert.are.equal("tool_calls", finish)
  end)

  it("fault scenarios: error envelope with retry-after, truncation, malformed event", function()
    emu:next({ status = 429, retry_after = 1, code = 3040 })
    local code, out, h = curl(emu.url .. REST .. "/run/@cf/meta/llama-3.2-1b-instruct", { headers = AUTH, body = { prompt = "hi" } })
    assert.are.equal(429, code)
    assert.are.equal("1", h["retry-after"])
    assert.are.equal(3040, cjson.decode(out).errors[1].code)
    emu:next({ no_finish = true, malformed_after = 1, text = "one two" })
    code, out = curl(emu.url .. REST .. "/run/@cf/meta/llama-3.2-1b-instruct", { headers = AUTH, body = { prompt = "hi", stream = true } })
    local ev = sse_data(out)
    assert.are.equal(3, #ev)
    assert.are.equal("{not json", ev[2])
    assert.is_nil(out:find("[DONE]", 1, true))
  end)

  it("media models: SDXL PNG bytes, flux rejects width, whisper raw body", function()
    local code, out, h = curl(emu.url .. REST .. "/run/@cf/stabilityai/stable-diffusion-xl-base-1.0", { headers = AUTH, body = { prompt = "cat" } })
    assert.are.equal(200, code)
    assert.are.equal("image/png", h["content-type"])
    assert.are.equal("\137PNG", out:sub(1, 4))
    code, out = curl(emu.url .. REST .. "/run/@cf/black-forest-labs/flux-1-schnell", { headers = AUTH, body = { prompt = "cat", width = 512 } })
    assert.are.equal(400, code)
    assert.are.equal(5006, cjson.decode(out).errors[1].code)
    code, out = curl(emu.url .. REST .. "/run/@cf/openai/whisper", {
      headers = { authorization = "Bearer t", ["content-type"] = "audio/wav" }, body = "0123456789",
    })
    assert.are.equal("transcribed 10 bytes", cjson.decode(out).result.text)
  end)

  it("AI Gateway: log id headers, authenticated gateways, universal fallback", function()
    local code, _, h = curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/workers-ai/@cf/meta/llama-3.1-8b-instruct-fp8", { headers = AUTH, body = { prompt = "hi" } })
    assert.are.equal(200, code)
    assert.truthy(h["cf-aig-log-id"])
    assert.are.equal("MISS", h["cf-aig-cache-status"])
    local out
    code, out = curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/authgw/workers-ai/@cf/meta/llama-3.1-8b-instruct-fp8", { headers = AUTH, body = { prompt = "hi" } })
    assert.are.equal(401, code)
    assert.are.equal(2009, cjson.decode(out).error[1].code)
    emu:next({ status = 500 })
    code, out, h = curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw", {
      headers = { ["content-type"] = "application/json" },
      body = {
        { provider = "workers-ai", endpoint = "@cf/meta/llama-3.1-8b-instruct-fp8", headers = { Authorization = "Bearer t" }, query = { prompt = "hi" } },
        { provider = "openai", endpoint = "chat/completions", headers = { Authorization = "Bearer k" },
          query = { model = "gpt-4o-mini", messages = { { role = "user", content = "hi" } } } },
      },
    })
    assert.are.equal(200, code)
    assert.are.equal("1", h["cf-aig-step"])
    assert.are.equal("chat.completion", cjson.decode(out).object)
    local r = emu:last_request()
    assert.are.equal(500, r.universal_steps[1].status)
  end)

  it("Anthropic Messages stream uses named events", function()
    local code, out = curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/anthropic/v1/messages", {
      headers = { ["anthropic-version"] = "2023-06-01", ["x-api-key"] = "k", ["content-type"] = "application/json" },
      body = { model = "claude-sonnet-4-5", max_tokens = 64, stream = true, messages = { { role = "user", content = "hi" } } },
    })
    assert.are.equal(200, code)
    assert.truthy(out:find("event: message_start\n", 1, true))
    assert.truthy(out:find('"type":"text_delta"', 1, true))
    assert.truthy(out:find("event: message_stop\n", 1, true))
    code = curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/anthropic/v1/messages", {
      headers = { ["content-type"] = "application/json" },
      body = { model = "claude", max_tokens = 64, messages = { { role = "user", content = "hi" } } },
    })
    assert.are.equal(400, code)
  end)

  it("Gemini generateContent and SSE stream", function()
    local base = emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/google-ai-studio/v1beta/models/gemini-2.5-flash"
    local body = { contents = { { role = "user", parts = { { text = "hi" } } } } }
    local code, out = curl(base .. ":generateContent", { headers = { ["x-goog-api-key"] = "k" }, body = body })
    assert.are.equal(200, code)
    local j = cjson.decode(out)
    assert.are.equal("Hello from the Gemini emulator! You said: hi", j.candidates[1].content.parts[1].text)
    assert.are.equal("STOP", j.candidates[1].finishReason)
    code, out = curl(base .. ":streamGenerateContent?alt=sse", { body = body })
    local ev = sse_data(out)
    assert.truthy(#ev > 2)
    assert.are.equal("STOP", cjson.decode(ev[#ev]).candidates[1].finishReason)
  end)

  it("OpenAI-compatible providers: OpenRouter comments, xAI, transcription", function()
    local msgs = { { role = "user", content = "hi" } }
    local code, out = curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/openrouter/v1/chat/completions", { headers = AUTH, body = { model = "openai/gpt-5-mini", stream = true, messages = msgs } })
    assert.are.equal(200, code)
    assert.are.equal(": OPENROUTER PROCESSING", out:match("^[^\n]+"))
    code, out = curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/grok/v1/chat/completions", { headers = AUTH, body = { model = "grok-4", messages = msgs } })
    assert.are.equal("Hello from the xAI emulator! You said: hi", cjson.decode(out).choices[1].message.content)
    local f = os.tmpname()
    write_file(f, "abcd")
    code, out = curl(emu.url .. "/v1/0123456789abcdef0123456789abcdef/gw/openai/audio/transcriptions", { form = { "file=@" .. f, "model=whisper-1" } })
    os.remove(f)
    assert.are.equal(200, code)
    assert.are.equal("transcribed 4 bytes", cjson.decode(out).text)
  end)

  it("unknown paths answer 404 with code 7003", function()
    local code, out = curl(emu.url .. "/nope")
    assert.are.equal(404, code)
    assert.are.equal(7003, cjson.decode(out).errors[1].code)
  end)
end)

-- Strict mode (lib/strict.js): the Workers AI REST API refuses as Cloudflare does
-- (https://developers.cloudflare.com/workers-ai/platform/errors/, the v4 envelope).
describe("emulator --strict --api-key", function()
  local emu
  local ACCT = "0123456789abcdef0123456789abcdef"
  setup(function() emu = emulator.start({ args = "--api-key right-key", idle_exit = 60 }) end)
  teardown(function() if emu then emu:stop() end end)

  local function run(acct, key, model, body)
    local status, text = curl(emu.url .. "/client/v4/accounts/" .. acct .. "/ai/run/" .. model,
      { method = "POST", headers = { Authorization = "Bearer " .. key, ["Content-Type"] = "application/json" },
        body = body or { messages = { { role = "user", content = "hi" } } } })
    return tonumber(status), cjson.decode(text)
  end

  it("a malformed account id: 400, 7003 naming the path, then 7000", function()
    local status, j = run("acct-123", "right-key", "@cf/meta/llama-4-scout-17b-16e-instruct")
    assert.equal(400, status)
    assert.is_false(j.success)
    assert.equal(7003, j.errors[1].code)
    assert.equal("Could not route to /client/v4/accounts/acct-123/ai/run/@cf/meta/llama-4-scout-17b-16e-instruct, " ..
      "perhaps your object identifier is invalid?", j.errors[1].message)
    assert.same({ code = 7000, message = "No route for that URI" }, j.errors[2])
  end)

  it("a wrong key: 401, 10000 Authentication error", function()
    local status, j = run(ACCT, "wrong-key", "@cf/meta/llama-4-scout-17b-16e-instruct")
    assert.equal(401, status)
    assert.same({ { code = 10000, message = "Authentication error" } }, j.errors)
  end)

  it("a model the catalog does not have: 400, 5007 No such model (path or body)", function()
    local status, j = run(ACCT, "right-key", "@cf/meta/llama-3.1-8b-instruct")
    assert.equal(400, status)
    assert.same({ { code = 5007, message = "No such model @cf/meta/llama-3.1-8b-instruct or task" } }, j.errors)
    local s2, text = curl(emu.url .. "/client/v4/accounts/" .. ACCT .. "/ai/v1/chat/completions",
      { method = "POST", headers = { Authorization = "Bearer right-key", ["Content-Type"] = "application/json" },
        body = { model = "@cf/nope/none", messages = { { role = "user", content = "x" } } } })
    assert.equal("400", tostring(s2))
    assert.equal(5007, cjson.decode(text).errors[1].code)
  end)

  it("answers what is right", function()
    local status, j = run(ACCT, "right-key", "@cf/meta/llama-4-scout-17b-16e-instruct")
    assert.equal(200, status)
    assert.is_true(j.success)
  end)
end)

-- Refusals are the default (an emulator that says no as Cloudflare does); --lenient turns them off.
describe("emulator refusals by default", function()
  local function run(emu, acct, auth, model)
    local headers = { ["Content-Type"] = "application/json" }
    if auth then headers.Authorization = auth end
    local status, text = curl(emu.url .. "/client/v4/accounts/" .. acct .. "/ai/run/" .. model,
      { method = "POST", headers = headers, body = { messages = { { role = "user", content = "hi" } } } })
    return tonumber(status), cjson.decode(text)
  end

  it("the shared emulator refuses a made-up account id, a missing key and an unknown model", function()
    local emu = emulator.shared()
    local key = "Bearer " .. emulator.API_KEY
    local status, j = run(emu, "acct", key, emulator.MODEL)
    assert.equal(400, status)
    assert.same({ 7003, 7000 }, { j.errors[1].code, j.errors[2].code })
    status, j = run(emu, emulator.ACCOUNT_ID, nil, emulator.MODEL)
    assert.equal(401, status)
    assert.same({ { code = 10000, message = "Authentication error" } }, j.errors)
    status, j = run(emu, emulator.ACCOUNT_ID, "Bearer ", emulator.MODEL)
    assert.equal(401, status)
    status, j = run(emu, emulator.ACCOUNT_ID, key, "@cf/made/up")
    assert.equal(400, status)
    assert.same({ { code = 5007, message = "No such model @cf/made/up or task" } }, j.errors)
    status, j = run(emu, emulator.ACCOUNT_ID, key, emulator.MODEL)
    assert.equal(200, status)
    assert.is_true(j.success)
  end)

  it("--lenient answers all of them", function()
    local emu = emulator.start({ args = "--lenient", idle_exit = 60 })
    finally(function() emu:stop() end)
    assert.equal(200, (run(emu, "acct", "Bearer k", "@cf/made/up")))
  end)
end)

-- Structured output: a conforming object (every required property, of its type), streamed in several pieces as a
-- model streams tokens (OpenAI's json_schema response_format; Workers AI's guided_json takes the same path).
describe("emulator structured output", function()
  local emu
  setup(function() emu = emulator.shared() end)

  it("streams an object of the schema in several pieces", function()
    local schema = { type = "object", required = { "name", "age", "tags" }, additionalProperties = false,
      properties = { name = { type = "string" }, age = { type = "integer" },
        tags = { type = "array", items = { type = "string" } } } }
    local status, text = curl(emu.url .. "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions",
      { method = "POST", headers = { Authorization = "Bearer k", ["Content-Type"] = "application/json" },
        body = { model = "@cf/meta/llama-4-scout-17b-16e-instruct", stream = true,
          messages = { { role = "user", content = "a person" } },
          response_format = { type = "json_schema", json_schema = { name = "person", schema = schema } } } })
    assert.equal(200, tonumber(status))
    local parts = {}
    for data in text:gmatch("data: ([^\n]+)") do
      if data ~= "[DONE]" then
        local ev = cjson.decode(data)
        local c = ev.choices and ev.choices[1] and ev.choices[1].delta and ev.choices[1].delta.content
        if type(c) == "string" and c ~= "" then parts[#parts + 1] = c end
      end
    end
    assert.is_true(#parts >= 3, "pieces: " .. #parts)
    local obj = cjson.decode(table.concat(parts))
    assert.equal("string", type(obj.name))
    assert.equal(math.floor(obj.age), obj.age)
    assert.equal("table", type(obj.tags))
    for k in pairs(obj) do assert.truthy(schema.properties[k], "extra property " .. k) end
  end)
end)
