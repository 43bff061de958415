-- OpenResty end to end: a real nginx (Debian nginx + libnginx-mod-http-lua, worker_processes 1, 127.0.0.1) running
-- the example configuration against the local emulator; the real @tanstack/ai-client and headless Chromium
-- (playwright-core) from Node. Run with `make test-openresty` (needs `make openresty-setup` once: npm deps and the
-- page's bundle). Not part of the plain `busted spec` run: the file name does not end in _spec.
local json = require("tanstack.ai.json")
local wire = require("tanstack.ai.wire")
local emulator = require("helpers.emulator")
local nginx = require("openresty.nginx")
local cases = require("openresty.transport_cases")

local run, read_file = nginx._internal.run, nginx._internal.read_file
local sleep = nginx._internal.sleep
local ROOT = nginx.root

local http, node = nginx.http, nginx.node

local function lines_of(body, prefix)
  local out = {}
  for line in body:gmatch("[^\n]+") do
    if prefix then
      local data = line:match("^" .. prefix .. "(.*)$")
      if data then out[#out + 1] = assert(json.decode(data), "bad JSON line: " .. line) end
    else
      out[#out + 1] = assert(json.decode(line), "bad JSON line: " .. line)
    end
  end
  return out
end

local function chat_requests(emu, needle)
  local out = {}
  for _, r in ipairs(emu:requests("/ai/v1/chat/completions")) do
    if not needle or (r.body or ""):find(needle, 1, true) then out[#out + 1] = r end
  end
  return out
end

describe("OpenResty (real nginx, example config, emulator)", function()
  local emu, srv, tls

  setup(function()
    assert(read_file(ROOT .. "/spec/openresty/node_modules/@tanstack/ai-client/package.json"),
      "npm dependencies missing: run `make openresty-setup`")
    assert(read_file(ROOT .. "/build/luajit/tanstack/ai/core.so"), "C core for LuaJIT missing: make LUA=luajit")
    emu = emulator.start()
    tls = require("openresty.tls").start()
    srv = nginx.start({ tls_ca = tls.ca, env = {
      CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef",
      CLOUDFLARE_API_KEY = "openresty-test-key",
      CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4",
      CHAT_MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8",
    } })
  end)

  teardown(function()
    if srv then
      local log = srv:error_log()
      srv:stop()
      -- the worker must never have crashed or logged a Lua error
      assert.is_nil(log:find("[alert]", 1, true), log)
      assert.is_nil(log:find("lua entry thread aborted", 1, true), log)
      assert.is_nil(log:find("runtime error", 1, true), log)
    end
    if emu then emu:stop() end
    if tls then tls:stop() end
  end)

  describe("transport conformance: ngx cosockets (same cases as libcurl)", function()
    for _, name in ipairs(cases.names) do
      it(name, function()
        local status, _, body = http("GET", srv.test_url .. "/__conformance?case=" .. name .. "&base=" .. emu.url
          .. "&tls_trusted=" .. tls.trusted_url .. "&tls_untrusted=" .. tls.untrusted_url .. "&flaky=" .. tls.flaky_url)
        assert.equals(200, status, body)
        local r = json.decode(body)
        assert.equals("ngx", r.transport)
        assert(r.ok, r.err)
      end)
    end
  end)

  describe("wire encoders", function()
    it("produce what @tanstack/ai's toWireChunk produces (SSE and NDJSON, failure included)", function()
      local events = require("openresty.wire_fixtures").events()
      local ref = node("wire-parity.mjs", {}, json.encode({ events = events, failAt = 3 }))
      local sse, nd = {}, {}
      for s in wire.to_server_sent_events(json.copy(events)) do
        assert.equals("data: ", s:sub(1, 6))
        assert.equals("\n\n", s:sub(-2))
        sse[#sse + 1] = json.decode(s:sub(7))
      end
      for s in wire.to_http_stream(json.copy(events)) do
        assert.equals("\n", s:sub(-1))
        nd[#nd + 1] = json.decode(s)
      end
      assert.equals(#ref.sse, #sse)
      for i = 1, #sse do assert.same(ref.sse[i], sse[i]) end
      assert.same(ref.ndjson, nd)
      -- a source that raises at event 3 (0-based): two events, then exactly one RUN_ERROR
      local i = 0
      local failing = {}
      for s in wire.to_server_sent_events(function()
        i = i + 1
        if i == 4 then error({ message = "synthetic failure", code = "synthetic" }) end
        return events[i]
      end) do failing[#failing + 1] = json.decode(s:sub(7)) end
      assert.equals(#ref.failing, #failing)
      local last, ref_last = failing[#failing], ref.failing[#ref.failing]
      assert.equals("RUN_ERROR", ref_last.type)
      last.timestamp, ref_last.timestamp = nil, nil
      assert.same(ref_last, last)
    end)

    describe("interrupts: ai.chat against @tanstack/ai's chat() on the same scripted adapter", function()
      local scenarios = require("openresty.interrupt_scenarios")
      for _, sc in ipairs(scenarios.all()) do
        it(sc.name, function()
          local ref = node("interrupt-reference.mjs", {}, json.encode(sc))
          local lua = scenarios.run_lua(sc)
          local want, snapshots = scenarios.normalize(ref.wire)
          local got = scenarios.normalize(lua.wire)
          assert.equals(#want, #got, json.encode(got))
          for i = 1, #want do assert.same(want[i], got[i]) end
          -- what each model call received
          assert.same(ref.calls, lua.calls)
          -- TanStack puts a MESSAGES_SNAPSHOT right before an interrupt terminal; the Lua engine does not
          local last = want[#want]
          local paused = last and last.type == "RUN_FINISHED" and last.outcome ~= nil
          assert.equals(paused and 1 or 0, snapshots)
        end)
      end
    end)

    it("write SSE inside nginx with TanStack's headers", function()
      local status, headers, body = http("GET", srv.test_url .. "/__wire?format=sse&n=3&id=sse1")
      assert.equals(200, status)
      assert.equals("text/event-stream", headers["content-type"])
      assert.equals("no-cache", headers["cache-control"])
      assert.equals("keep-alive", headers["connection"])
      assert.equals("chunked", headers["transfer-encoding"])
      local evs = lines_of(body, "data: ")
      assert.equals(5, #evs)
      assert.equals("RUN_STARTED", evs[1].type)
      assert.equals("tok0 ", evs[2].delta)
      assert.equals("RUN_FINISHED", evs[5].type)
      assert.same({ { model = "wire-model", inputTokens = 1, outputTokens = 3, totalTokens = 4 } }, evs[5].usage)
      assert.equals("stop", evs[5].metadata.tanstack.finishReason)
      assert.is_nil(body:find("[DONE]", 1, true))
      local rep = json.decode(select(3, http("GET", srv.test_url .. "/__wire?report=sse1")))
      assert.is_true(rep.result)
      assert.is_true(rep.finished)
    end)

    it("write NDJSON inside nginx, and a failure ends with one RUN_ERROR", function()
      local status, headers, body = http("GET", srv.test_url .. "/__wire?format=ndjson&n=5&fail_at=4&id=nd1")
      assert.equals(200, status)
      assert.equals("application/x-ndjson", headers["content-type"])
      assert.equals("no-cache", headers["cache-control"])
      local evs = lines_of(body)
      assert.equals(4, #evs)
      assert.equals("RUN_ERROR", evs[4].type)
      assert.equals("synthetic failure at event 4", evs[4].message)
      assert.equals("synthetic", evs[4].code)
      local n = 0
      for _, e in ipairs(evs) do if e.type == "RUN_ERROR" then n = n + 1 end end
      assert.equals(1, n)
    end)

    it("stop the source stream when the client goes away (ngx.on_abort)", function()
      -- 50 events 100 ms apart (5 s); the client leaves after ~0.5 s
      http("GET", srv.test_url .. "/__wire?format=sse&n=50&delay_ms=100&id=abort1", nil, { max_time = 0.5 })
      local rep
      for _ = 1, 60 do
        rep = json.decode(select(3, http("GET", srv.test_url .. "/__wire?report=abort1")))
        if rep and rep.canceled then break end
        sleep(0.05)
      end
      assert.is_true(rep.canceled, "the source was not canceled")
      assert.is_true(rep.produced < 20, "the source kept producing: " .. tostring(rep.produced))
      assert.is_false(rep.finished) -- the request ended (499) while the handler waited
    end)
  end)

  it("without lua_check_client_abort a failed write stops the source", function()
    http("GET", srv.test_url .. "/__wire_noabort?format=sse&n=50&delay_ms=100&id=abort2", nil, { max_time = 0.5 })
    local rep
    for _ = 1, 80 do
      rep = json.decode(select(3, http("GET", srv.test_url .. "/__wire?report=abort2")))
      if rep and rep.finished then break end
      sleep(0.05)
    end
    assert.is_true(rep.finished, "the handler did not return")
    assert.is_true(rep.canceled, "the source was not canceled")
    assert.is_true(rep.produced < 30, "the source kept producing: " .. tostring(rep.produced))
    assert.equals(json.null, rep.result)
    assert.truthy(tostring(rep.err):find("client went away", 1, true), tostring(rep.err))
  end)

  describe("POST /api/chat with the real @tanstack/ai-client", function()
    it("streams a text answer that ChatClient turns into the assistant message (SSE)", function()
      local r = node("ai-client.mjs", { srv.url .. "/api/chat", "hello nginx" })
      assert.is_true(r.error == nil or r.error == json.null, tostring(r.error))
      assert.equals(2, #r.messages)
      local a = r.messages[2]
      assert.equals("assistant", a.role)
      assert.equals(1, #a.parts)
      assert.equals("text", a.parts[1].type)
      assert.equals("Hello from the Workers AI emulator! You said: hello nginx", a.parts[1].content)
      assert.equals("RUN_STARTED", r.chunkTypes[1])
      assert.equals("RUN_FINISHED", r.chunkTypes[#r.chunkTypes])
      -- what the connection adapter restored from the wire (metadata.tanstack -> top level, usage -> TokenUsage)
      local chunks = r.connect.chunks
      local fin = chunks[#chunks]
      assert.equals("RUN_FINISHED", fin.type)
      assert.equals("stop", fin.finishReason)
      assert.equals("thread-x", fin.threadId)
      assert.equals("run-x", fin.runId)
      assert.equals("number", type(fin.usage.promptTokens))
      assert.equals(fin.usage.promptTokens + fin.usage.completionTokens, fin.usage.totalTokens)
      -- the model and the request ids went upstream
      local up = chat_requests(emu, "hello nginx")
      assert.is_true(#up >= 1)
      assert.equals("@cf/meta/llama-3.1-8b-instruct-fp8", up[1].json.model)
      assert.equals("Bearer openresty-test-key", up[1].headers.authorization)
      assert.equals("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions", up[1].path)
    end)

    it("runs the server tool and the client shows the tool call, its output and the answer", function()
      local r = node("ai-client.mjs", { srv.url .. "/api/chat", "What is the weather in Paris?" })
      assert.is_true(r.error == nil or r.error == json.null, tostring(r.error))
      local a = r.messages[#r.messages]
      assert.equals("assistant", a.role)
      local call, result, text
      for _, p in ipairs(a.parts) do
        if p.type == "tool-call" then call = p end
        if p.type == "tool-result" then result = p end
        if p.type == "text" then text = p end
      end
      assert.is_not_nil(call, "no tool-call part")
      assert.equals("get_weather", call.name)
      assert.same({ city = "Paris" }, call.input)
      assert.equals("complete", call.state)
      assert.same({ city = "Paris", temperatureC = 21, conditions = "sunny" }, call.output)
      assert.equals(call.id, result.toolCallId)
      assert.equals("The tool said: " .. json.encode({ city = "Paris", conditions = "sunny", temperatureC = 21 }),
        text.content)
      -- two model turns upstream per conversation (the driver runs it twice: ChatClient, then the bare
      -- connection adapter); the ChatClient's second turn carried the tool result
      local up = chat_requests(emu, "weather in Paris")
      assert.equals(4, #up)
      local msgs = up[2].json.messages
      assert.equals("tool", msgs[#msgs].role)
      assert.equals(call.id, msgs[#msgs].tool_call_id)
      assert.equals("get_weather", msgs[#msgs - 1].tool_calls[1]["function"].name)
    end)

    it("round-trips a client tool: interrupt, the client runs it, resume, the answer", function()
      -- the model calls the page's client tool (declared in RunAgentInput.tools, run by ChatClient's .client(fn))
      emu:next({ match = "/ai/v1/chat/completions",
        tool_calls = { { name = "show_notification", arguments = { text = "Saved!" }, id = "call_note1" } } })
      local r = node("client-tool.mjs", { srv.url .. "/api/chat", "Save my note" })
      assert.is_true(r.error == nil or r.error == json.null, tostring(r.error))
      -- the client ran its tool once, with the model's input
      assert.same({ { text = "Saved!" } }, r.executed)
      -- one interrupt terminal: a client-tool-execution interrupt whose binding the client accepted (such items
      -- stay out of the public interrupt list; a binding that fails its hash checks would be listed as generic)
      assert.equals(1, #r.interrupts)
      local it1 = r.interrupts[1][1]
      -- the call reached the client under the server's signed id (docs/security.md), never the model's own
      local id = it1.toolCallId
      assert.matches("^call_%x+_%x+$", id)
      assert.are_not.equals("call_note1", id)
      assert.equals("client_tool_" .. id, it1.id)
      assert.equals("tanstack:client_tool_execution", it1.reason)
      assert.equals("client_tool", it1.metadata.kind)
      assert.same({ text = "Saved!" }, it1.metadata.input)
      local binding = it1.metadata["tanstack:interruptBinding"]
      assert.equals("client-tool-execution", binding.kind)
      assert.equals(r.requests[1].runId, binding.interruptedRunId)
      assert.equals(0, binding.generation)
      assert.equals(r.expectedHashes[1].responseSchemaHash, binding.responseSchemaHash)
      assert.equals(r.expectedHashes[1].outputSchemaHash, binding.outputSchemaHash)
      assert.same({}, r.interruptsDuringTool)
      local finished = 0
      for _, t in ipairs(r.chunkTypes) do if t == "RUN_FINISHED" then finished = finished + 1 end end
      assert.equals(2, finished) -- the interrupt terminal, then the resumed run's end
      -- the resume request: a new run naming the interrupted one, the answer, and the output in the history
      assert.equals(2, #r.requests)
      local resume = r.requests[2]
      assert.equals(r.requests[1].threadId, resume.threadId)
      assert.equals(r.requests[1].runId, resume.parentRunId)
      assert.are_not.equals(r.requests[1].runId, resume.runId)
      assert.same({ { interruptId = "client_tool_" .. id, status = "resolved",
        payload = { shown = true, text = "Saved!" } } }, resume.resume)
      -- the conversation: the tool call with the client's output, then the model's follow-up
      local call, text
      for _, m in ipairs(r.messages) do
        for _, p in ipairs(m.parts) do
          if p.type == "tool-call" then call = p end
          if p.type == "text" and m.role == "assistant" then text = p.content end
        end
      end
      assert.equals("show_notification", call.name)
      assert.equals("complete", call.state)
      assert.same({ shown = true, text = "Saved!" }, call.output)
      assert.equals('The tool said: {"shown":true,"text":"Saved!"}', text)
      -- upstream: two model turns; the second carried the client's output as the tool result
      local up = chat_requests(emu, "Save my note")
      assert.equals(2, #up)
      local msgs = up[2].json.messages
      assert.equals("tool", msgs[#msgs].role)
      assert.equals(id, msgs[#msgs].tool_call_id)
      assert.equals("show_notification", msgs[#msgs - 1].tool_calls[1]["function"].name)
    end)

    it("serves fetchHttpStream (NDJSON) with ?format=ndjson", function()
      local r = node("ai-client.mjs", { srv.url .. "/api/chat?format=ndjson", "hello ndjson", "ndjson" })
      assert.is_true(r.error == nil or r.error == json.null, tostring(r.error))
      assert.equals("Hello from the Workers AI emulator! You said: hello ndjson", r.messages[2].parts[1].content)
      local fin = r.connect.chunks[#r.connect.chunks]
      assert.equals("stop", fin.finishReason)
    end)

    it("answers a malformed body with 400 and the reason", function()
      local status, _, body = http("POST", srv.url .. "/api/chat", '{"threadId":"t","runId":"r","messages":[{"role":"user"}],"tools":[],"context":[]}')
      assert.equals(400, status)
      assert.truthy(body:find("messages[0].id must be a string", 1, true), body)
      status, _, body = http("POST", srv.url .. "/api/chat", "not json")
      assert.equals(400, status)
      assert.truthy(body:find("not JSON", 1, true), body)
      status = http("GET", srv.url .. "/api/chat")
      assert.equals(405, status)
    end)
  end)

  describe("non-blocking", function()
    it("answers other requests on the single worker while a slow model stream is in flight", function()
      -- ~21 upstream events 250 ms apart: a stream of about 5 s
      emu:next({ match = "/ai/v1/chat/completions", drip_ms = 250, events = 20 })
      local r = node("nonblocking.mjs", { srv.url })
      assert.is_true(r.error == nil or r.error == json.null, tostring(r.error))
      local slow = r.slow.totalMs
      local function max(t)
        local m = 0
        for _, v in ipairs(t) do if v > m then m = v end end
        return m
      end
      local report = string.format(
        "non-blocking: slow stream %.0f ms (first token %.0f ms, %d SSE events); during it, on the same worker: "
          .. "GET /healthz max %.1f ms (%s), POST /api/chat (full fast chat) max %.1f ms (%s); slowest = %.2f%% of the slow stream",
        slow, r.slow.firstContentMs, r.slow.events, max(r.health),
        table.concat((function() local t = {} for i, v in ipairs(r.health) do t[i] = string.format("%.1f", v) end return t end)(), ", "),
        max(r.chats),
        table.concat((function() local t = {} for i, v in ipairs(r.chats) do t[i] = string.format("%.1f", v) end return t end)(), ", "),
        100 * math.max(max(r.health), max(r.chats)) / slow)
      print("\n" .. report)
      local f = io.open(ROOT .. "/build/openresty-nonblocking.txt", "w")
      if f then f:write(report, "\n", json.encode(r), "\n") f:close() end
      assert.is_true(r.slow.finished, "the slow stream did not finish")
      assert.is_true(slow > 4000, "the slow stream was not slow: " .. slow)
      assert.is_true(r.overlap, "the fast requests were not served while the slow one streamed")
      for _, v in ipairs(r.health) do assert.is_true(v < slow * 0.05, "a /healthz took " .. v .. " ms") end
      for _, v in ipairs(r.chats) do assert.is_true(v < slow * 0.10, "a fast chat took " .. v .. " ms") end
    end)
  end)

  describe("non-blocking (control experiment)", function()
    it("the same measurement catches a blocking transport: libcurl inside nginx stalls the worker", function()
      local r = node("control.mjs", { srv.test_url .. "/__blocking?base=" .. emu.url .. "&n=15&delay_ms=100",
        srv.url .. "/healthz" })
      local line = string.format("control: a blocking libcurl transfer of %.0f ms in the worker; GET /healthz sent "
        .. "300 ms into it waited %.0f ms", r.blocking.ms, r.healthMs)
      print("\n" .. line)
      local f = io.open(ROOT .. "/build/openresty-nonblocking.txt", "a")
      if f then f:write(line, "\n") f:close() end
      assert.is_true(r.blocking.ms > 1300, "the blocking transfer was short: " .. r.blocking.ms)
      assert.is_true(r.healthMs > 700, "/healthz was not held up by the blocking call: " .. r.healthMs)
    end)
  end)

  describe("client disconnect", function()
    it("closes the upstream model connection", function()
      -- ~100 events 200 ms apart: 20 s if nobody stops it
      emu:next({ match = "/ai/v1/chat/completions", drip_ms = 200, events = 100 })
      local r = node("disconnect.mjs", { srv.url, "thread-disconnect" })
      assert.equals(200, r.status)
      assert.is_true(r.sawContent)
      assert.is_false(r.finished)
      local rec
      for _ = 1, 60 do
        local up = chat_requests(emu, "please stream for a long time")
        rec = up[1]
        if rec and rec.closed_early then break end
        sleep(0.05)
      end
      assert.is_not_nil(rec, "the model request never reached the emulator")
      assert.is_true(rec.closed_early, "the upstream connection stayed open after the client left")
    end)
  end)

  describe("the example page in headless Chromium", function()
    it("sends a message and shows the streamed answer", function()
      emu:next({ match = "/ai/v1/chat/completions", drip_ms = 120 })
      local shot = ROOT .. "/build/openresty-chat.png"
      os.remove(shot)
      local r = node("browser.mjs", { srv.url, "hello from chromium", "You said: hello from chromium", shot })
      assert.is_true(r.error == nil or r.error == json.null, tostring(r.error))
      assert.equals("hello from chromium", r.user)
      assert.equals("Hello from the Workers AI emulator! You said: hello from chromium", r.assistant)
      assert.same({}, r.consoleErrors)
      assert.is_true(r.renders >= 4, "the answer did not stream into the page (" .. tostring(r.renders) .. " renders)")
      local png = read_file(shot)
      assert.is_not_nil(png, "no screenshot")
      assert.equals("\137PNG", png:sub(1, 4))
      print("\nscreenshot: " .. shot .. string.format(" (%d bytes; answer streamed in %d renders, %d ms)",
        #png, r.renders, r.ms))
    end)
  end)
end)

-- The minimal nginx.conf of docs/openresty.md (its nginx block with /path/to/repo), exactly as a reader copies it
-- (only the repository path filled in), served by real nginx against the emulator: a TanStack request in, an AG-UI
-- SSE stream out.
describe("docs/openresty.md's minimal nginx.conf (real nginx)", function()
  local emu, srv

  setup(function()
    local page = assert(read_file(ROOT .. "/docs/openresty.md"))
    local block
    for code in page:gmatch("```nginx\n(.-)```") do
      if code:find("/path/to/repo", 1, true) then block = block or code end
    end
    assert(block, "docs/openresty.md has an nginx block with /path/to/repo")
    block = block:gsub("/path/to/repo", ROOT)
    emu = emulator.start()
    srv = nginx.start({ base = block, env = {
      CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef", CLOUDFLARE_API_KEY = "readme-nginx-key",
      CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4",
    } })
  end)

  teardown(function()
    if srv then
      local log = srv:error_log()
      srv:stop()
      assert.is_nil(log:find("runtime error", 1, true), log)
    end
    if emu then emu:stop() end
  end)

  it("streams a chat as TanStack SSE and refuses a malformed body", function()
    local body = json.encode({ threadId = "t-readme", runId = "r-readme", tools = json.array(), context = json.array(),
      messages = { { id = "m1", role = "user", content = "hello from the readme" } } })
    local status, headers, out = http("POST", srv.url .. "/api/chat", body)
    assert.equals(200, status, out)
    assert.equals("text/event-stream", headers["content-type"])
    local evs = lines_of(out, "data: ")
    assert.equals("RUN_STARTED", evs[1].type)
    assert.equals("RUN_FINISHED", evs[#evs].type)
    local text = {}
    for _, e in ipairs(evs) do if e.type == "TEXT_MESSAGE_CONTENT" then text[#text + 1] = e.delta end end
    assert.truthy(table.concat(text):find("hello from the readme", 1, true), out)
    local reqs = chat_requests(emu, "hello from the readme")
    assert.equals(1, #reqs)
    assert.equals("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions", reqs[1].path)
    status = http("POST", srv.url .. "/api/chat", "not json")
    assert.equals(400, status)
  end)
end)
