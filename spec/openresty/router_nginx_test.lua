-- The edge router in a real nginx with two workers (the example config, worker_processes 2, its route table
-- replaced by spec/openresty/router_routes.lua through ROUTER_ROUTES), against the emulator: the official `openai`
-- SDK on POST /v1/chat/completions, @tanstack/ai-client on POST /api/chat over the same routes, fallback before
-- the first byte (5xx, 429, timeout, refused connection) and never after, health, limits, auth, the usage hook.
-- Run by `make test-openresty` (the file name ends in nginx_test.lua).
local json = require("tanstack.ai.json")
local emulator = require("helpers.emulator")
local nginx = require("openresty.nginx")

local run, read_file = nginx._internal.run, nginx._internal.read_file
local sleep = nginx._internal.sleep
local ROOT = nginx.root

local node = nginx.node
local function http(method, url, body, headers) return nginx.http(method, url, body, { headers = headers }) end

describe("edge router (real nginx, two workers, emulator)", function()
  local emu, srv, base

  local function sdk(case, key, model)
    return node("openai-sdk.mjs", { srv.url .. "/v1", case, key or "sk-tester", model or "gpt-4o-mini" })
  end
  local function chats()
    return emu:requests("/chat/completions")
  end
  local function models_called()
    local out = {}
    for _, r in ipairs(chats()) do out[#out + 1] = r.json and r.json.model end
    return out
  end
  local function usage()
    local _, _, body = http("GET", srv.url .. "/__router_usage")
    return json.decode(body)
  end
  local function reset()
    emu:reset()
    http("GET", srv.url .. "/__router_usage?reset=1")
  end
  local function post(body, key)
    return http("POST", base .. "/v1/chat/completions", json.encode(body),
      key ~= false and { authorization = "Bearer " .. (key or "sk-tester") } or nil)
  end

  setup(function()
    assert(read_file(ROOT .. "/spec/openresty/node_modules/openai/package.json"),
      "npm dependencies missing: run `make openresty-setup`")
    emu = emulator.start()
    local conf = assert(read_file(ROOT .. "/examples/openresty/nginx.conf"))
    local n
    conf, n = conf:gsub("worker_processes 1;", "worker_processes 2;")
    assert(n == 1)
    conf, n = conf:gsub("        location = /healthz {", table.concat({
      "        location = /__router_usage {",
      "            content_by_lua_block { require(\"openresty.router_routes\").usage_endpoint() }",
      "        }",
      "        location = /__router_health {",
      "            content_by_lua_block { require(\"openresty.router_routes\").health_endpoint() }",
      "        }",
      "        location = /healthz {",
    }, "\n"), 1)
    assert(n == 1)
    srv = nginx.start({ base = conf, env = {
      CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef",
      CLOUDFLARE_API_KEY = "router-test-key",
      CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4",
      ROUTER_ROUTES = "openresty.router_routes",
    } })
    base = srv.url
  end)

  teardown(function()
    if srv then
      local log = srv:error_log()
      srv:stop()
      assert.is_nil(log:find("[alert]", 1, true), log)
      assert.is_nil(log:find("lua entry thread aborted", 1, true), log)
      assert.is_nil(log:find("runtime error", 1, true), log)
    end
    if emu then emu:stop() end
  end)

  before_each(reset)

  describe("the openai SDK", function()
    it("non-streaming: one chat.completion with the answering model and usage", function()
      local r = sdk("text")
      assert.is_nil(r.apiError, json.encode(r))
      assert.equals("chat.completion", r.object)
      assert.equals("Hello from the Workers AI emulator! You said: hello router", r.content)
      assert.equals("stop", r.finish)
      assert.equals("@cf/meta/llama-3.1-8b-instruct-fp8", r.model)
      assert.is_true(r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0)
      assert.equals(r.usage.prompt_tokens + r.usage.completion_tokens, r.usage.total_tokens)
      -- what reached the provider
      local sent = chats()[1].json
      assert.equals(0.2, sent.temperature)
      assert.equals(200, sent.max_tokens)
      assert.same({ "\n\n" }, sent.stop)
    end)

    it("streaming: chat.completion.chunk events, finish_reason, the usage chunk and [DONE]", function()
      local r = sdk("stream")
      assert.is_nil(r.apiError, json.encode(r))
      assert.equals("Hello from the Workers AI emulator! You said: stream please", r.text)
      assert.equals("stop", r.finish)
      assert.same({ "chat.completion.chunk" }, r.objects)
      assert.equals(1, r.ids)
      assert.is_true(r.usage.completion_tokens > 0)
      local status, h, body = post({ model = "gpt-4o-mini", stream = true,
        messages = { { role = "user", content = "raw" } } })
      assert.equals(200, status)
      assert.equals("text/event-stream", h["content-type"])
      assert.equals("data: [DONE]\n\n", body:sub(-14))
    end)

    it("tools: the call comes back to the client (non-streaming and streaming), and its result goes on", function()
      local r = sdk("tools")
      assert.is_nil(r.apiError, json.encode(r))
      assert.equals("tool_calls", r.finish)
      local call = r.message.tool_calls[1]
      assert.equals("get_weather", call["function"].name)
      assert.same({ city = "Paris" }, json.decode(call["function"].arguments))
      assert.equals("auto", chats()[1].json.tool_choice)
      local s = sdk("tools-stream")
      assert.equals("tool_calls", s.finish)
      assert.equals(1, #s.calls)
      assert.equals("get_weather", s.calls[1].name)
      assert.same({ city = "Paris" }, json.decode(s.calls[1].arguments))
      assert.truthy(s.calls[1].id)
      local t = sdk("tool-result")
      assert.equals("stop", t.finish)
      assert.equals("The tool said: sunny, 21C", t.content)
    end)

    it("structured output: response_format json_schema, streaming and not", function()
      local r = sdk("structured")
      assert.is_nil(r.apiError, json.encode(r))
      assert.same({ name = "example", population = 42 }, r.parsed)
      local sent = chats()[1].json
      assert.equals("json_schema", sent.response_format.type)
      local s = sdk("structured-stream")
      assert.same({ name = "example", population = 42 }, s.parsed)
    end)

    it("image parts reach the model", function()
      local r = sdk("image")
      assert.is_nil(r.apiError, json.encode(r))
      local content = chats()[1].json.messages[1].content
      local kinds = {}
      for _, p in ipairs(content) do kinds[#kinds + 1] = p.type end
      assert.same({ "text", "image_url" }, kinds)
    end)

    it("errors in OpenAI's shape: unknown model 404, bad request 400", function()
      local r = sdk("text", "sk-tester", "no-such-model")
      assert.is_true(r.apiError)
      assert.equals(404, r.status)
      assert.equals("model_not_found", r.code)
      local status, _, body = post({ model = "gpt-4o-mini", messages = {} })
      assert.equals(400, status)
      local e = json.decode(body).error
      assert.equals("invalid_request_error", e.type)
      assert.equals("messages", e.param)
      assert.equals(0, #chats())
    end)
  end)

  describe("auth", function()
    it("401 without a key or with a wrong one, 403 for a consumer the route does not serve", function()
      local status, h, body = post({ model = "gpt-4o-mini", messages = { { role = "user", content = "x" } } }, false)
      assert.equals(401, status)
      assert.equals("invalid_api_key", json.decode(body).error.code)
      assert.truthy(h["www-authenticate"])
      local r = sdk("text", "sk-wrong")
      assert.equals(401, r.status)
      assert.equals("invalid_api_key", r.code)
      r = sdk("text", "sk-guest", "private")
      assert.equals(403, r.status)
      assert.equals("permission_error", r.type)
      r = sdk("text", "sk-tester", "private")
      assert.is_nil(r.apiError, json.encode(r))
      assert.equals(1, #chats())
    end)
  end)

  describe("fallback before the first byte", function()
    local function falls_back(scenario, delayed)
      emu:next(scenario)
      local r = sdk("text")
      assert.is_nil(r.apiError, json.encode(r))
      assert.equals("@cf/meta/llama-3.2-3b-instruct", r.model)
      -- (the emulator records a request when it has answered it: the delayed one is not there yet)
      if not delayed then
        assert.same({ "@cf/meta/llama-3.1-8b-instruct-fp8", "@cf/meta/llama-3.2-3b-instruct" }, models_called())
      end
      local u = usage()
      assert.equals(1, #u)
      assert.equals("fallback", u[1].target)
      assert.equals("primary", u[1].attempts[1].target)
      assert.equals("fallback", u[1].attempts[2].target)
      return u[1]
    end
    it("on a 5xx", function() falls_back({ status = 500 }) end)
    it("on a 429", function()
      local u = falls_back({ status = 429 })
      assert.equals("3040", u.attempts[1].error)
    end)
    it("on a timeout (no byte within the target's idleTimeout)", function()
      local u = falls_back({ head_delay_ms = 4000 }, true)
      assert.equals("timeout", u.attempts[1].error)
    end)
    it("on a refused connection", function()
      local r = sdk("stream", "sk-tester", "refused")
      assert.is_nil(r.apiError, json.encode(r))
      assert.equals("stop", r.finish)
      local u = usage()
      assert.equals("alive", u[1].target)
      assert.equals("dead", u[1].attempts[1].target)
      assert.equals(1, #chats()) -- the dead target never reached the emulator
    end)
    it("for TanStack's client on /api/chat too", function()
      emu:next({ status = 503 })
      local r = node("ai-client.mjs", { srv.url .. "/api/chat", "hello router" })
      assert.is_true(r.error == nil or r.error == json.null, tostring(r.error))
      local last = r.messages[#r.messages]
      assert.equals("assistant", last.role)
      assert.equals("Hello from the Workers AI emulator! You said: hello router", last.parts[1].content)
      local u = usage()
      -- each client of /api/chat is its own consumer (this client has no cookie jar: its address)
      assert.equals("addr:127.0.0.1", u[1].consumer)
      assert.equals("fallback", u[1].target)
    end)
    it("every target failing: the HTTP status and OpenAI's error, once", function()
      emu:next({ status = 503, times = 2 })
      local r = sdk("stream")
      assert.is_true(r.apiError)
      assert.equals(502, r.status)
      emu:next({ status = 429, times = 2 })
      local status, _, body = post({ model = "gpt-4o-mini", messages = { { role = "user", content = "x" } } })
      assert.equals(429, status)
      assert.equals("rate_limit_error", json.decode(body).error.type)
    end)
    it("not on a non-retryable error (400): one request, the client's error", function()
      emu:next({ status = 400 })
      local r = sdk("text")
      assert.equals(400, r.status)
      assert.equals(1, #chats())
    end)
  end)

  describe("after the first byte", function()
    it("never falls back: the stream ends with one OpenAI error event (and one RUN_ERROR on /api/chat)", function()
      emu:next({ drop_after = 4 })
      local status, _, body = post({ model = "gpt-4o-mini", stream = true,
        messages = { { role = "user", content = "stream please" } } })
      assert.equals(200, status)
      assert.truthy(body:find('"content":"Hello"', 1, true), body)
      local errs = 0
      for _ in body:gmatch('data: {"error"') do errs = errs + 1 end
      assert.equals(1, errs, body)
      assert.is_nil(body:find("[DONE]", 1, true))
      assert.equals(1, #chats())
      local r = sdk("error-stream")
      assert.is_nil(r.apiError, json.encode(r)) -- the next request is fine
      -- the SDK raises on the error event
      emu:reset()
      emu:next({ drop_after = 4 })
      r = sdk("error-stream")
      assert.is_true(r.apiError, json.encode(r))
      assert.equals(1, #chats())
      -- TanStack's wire: one RUN_ERROR after the text
      emu:reset()
      emu:next({ drop_after = 4 })
      local s2, _, b2 = http("POST", base .. "/api/chat", json.encode({ threadId = "t1", runId = "r1", state = {},
        messages = { { id = "m1", role = "user", content = "hi" } }, tools = {}, context = {}, forwardedProps = {} }))
      assert.equals(200, s2)
      local types = {}
      for line in b2:gmatch("data: ([^\n]+)") do types[#types + 1] = json.decode(line).type end
      assert.equals("RUN_ERROR", types[#types])
      assert.equals(1, #chats())
      local n = 0
      for _, t in ipairs(types) do if t == "RUN_ERROR" then n = n + 1 end end
      assert.equals(1, n)
    end)
  end)

  describe("health", function()
    it("skips a target failing twice for the cool-down (per host: both workers), then tries it again", function()
      local function ask()
        local status, _, body = post({ model = "health", messages = { { role = "user", content = "h" } } })
        assert.equals(200, status, body)
        return json.decode(body).model
      end
      for _ = 1, 2 do
        emu:next({ status = 500 })
        assert.equals("@cf/meta/llama-3.2-3b-instruct", ask())
      end
      local _, _, hb = http("GET", base .. "/__router_health?key=health/flaky")
      assert.is_true(json.decode(hb).down, hb)
      emu:reset()
      for _ = 1, 6 do -- whichever worker answers: curl opens a new connection each time
        assert.equals("@cf/meta/llama-3.2-3b-instruct", ask())
      end
      for _, m in ipairs(models_called()) do assert.equals("@cf/meta/llama-3.2-3b-instruct", m) end
      assert.equals(6, #models_called())
      sleep(5.2) -- the cool-down
      emu:reset()
      assert.equals("@cf/meta/llama-3.1-8b-instruct-fp8", ask())
      _, _, hb = http("GET", base .. "/__router_health?key=health/flaky")
      assert.is_false(json.decode(hb).down)
      assert.equals(0, json.decode(hb).fails)
    end)
  end)

  describe("weighted choice", function()
    it("splits equal-priority targets by weight (3:1)", function()
      local heavy, light = 0, 0
      for _ = 1, 40 do
        local status, _, body = post({ model = "weighted", messages = { { role = "user", content = "w" } } })
        assert.equals(200, status)
        local m = json.decode(body).model
        if m == "@cf/meta/llama-3.1-8b-instruct-fp8" then heavy = heavy + 1 else light = light + 1 end
      end
      assert.is_true(heavy > light, heavy .. " vs " .. light)
      assert.is_true(light > 0)
    end)
  end)

  describe("token limiter", function()
    it("refuses a consumer over its tokens per window with 429 and Retry-After, then admits it again", function()
      local statuses = {}
      local retry_after
      for i = 1, 4 do
        local status, h = post({ model = "gpt-4o-mini", messages = { { role = "user", content = "count me" } } },
          "sk-limited")
        statuses[i] = status
        if status == 429 then retry_after = h["retry-after"] end
      end
      assert.same({ 200, 200, 429, 429 }, statuses)
      assert.truthy(tonumber(retry_after))
      -- another consumer is not limited
      assert.equals(200, (post({ model = "gpt-4o-mini", messages = { { role = "user", content = "x" } } })))
      local r = sdk("text", "sk-limited")
      assert.equals(429, r.status)
      assert.equals("rate_limit_exceeded", r.code)
      sleep(6.2) -- two windows of 3 s
      r = sdk("text", "sk-limited")
      assert.is_nil(r.apiError, json.encode(r))
    end)
  end)

  describe("usage hook", function()
    it("once per run: consumer, route, target, requested and answering model, tokens, latency, cache status", function()
      local r = sdk("stream")
      local u = usage()
      assert.equals(1, #u)
      u = u[1]
      assert.equals("tester", u.consumer)
      assert.equals("default", u.route)
      assert.equals("gpt-4o-mini", u.requestedModel)
      assert.equals("primary", u.target)
      assert.equals("@cf/meta/llama-3.1-8b-instruct-fp8", u.model)
      assert.equals(r.usage.prompt_tokens, u.inputTokens)
      assert.equals(r.usage.completion_tokens, u.outputTokens)
      assert.is_true(u.latencyMs >= 0)
      assert.is_true(u.ok)
      reset()
      emu:next({ cache_status = "HIT" })
      r = sdk("text", "sk-tester", "gateway")
      assert.is_nil(r.apiError, json.encode(r))
      u = usage()[1]
      assert.equals("gw", u.target)
      assert.equals("HIT", u.cacheStatus)
      assert.truthy(chats()[1].path:find("/v1/0123456789abcdef0123456789abcdef/router-gw/workers-ai", 1, true))
    end)

    it("POST /v1/embeddings: OpenAI's embeddings through AI Gateway (the openai SDK), usage recorded", function()
      local r = sdk("embeddings", "sk-tester", "text-embedding-3-large")
      assert.is_nil(r.apiError, json.encode(r))
      assert.same({ 0, 1 }, r.index)
      assert.is_true(r.dims[1] > 0 and r.dims[1] == r.dims[2])
      local sent = emu:requests("/openai/embeddings")
      assert.equals(1, #sent)
      assert.truthy(sent[1].path:find("/v1/0123456789abcdef0123456789abcdef/router-gw/openai/embeddings", 1, true))
      assert.same({ "first text", "second text" }, sent[1].json.input)
      local u = usage()[1]
      assert.same({ "tester", "text-embedding-3-large", "openai-gw", true },
        { u.consumer, u.route, u.target, u.ok })
      assert.is_true(u.inputTokens > 0)
    end)

    it("the request id reaches AI Gateway as cf-aig-metadata, and the usage record", function()
      local status, h = post({ model = "gateway", messages = { { role = "user", content = "trace me" } } }, nil)
      assert.equals(200, status)
      local generated = h["x-request-id"]
      assert.truthy(generated and generated:match("^%x+$"), generated)
      reset()
      status, h = http("POST", base .. "/v1/chat/completions", json.encode({ model = "gateway",
        messages = { { role = "user", content = "trace me" } } }),
        { authorization = "Bearer sk-tester", ["x-request-id"] = "edge-trace-42" })
      assert.equals(200, status)
      assert.equals("edge-trace-42", h["x-request-id"])
      local sent = chats()[1].headers["cf-aig-metadata"]
      assert.same({ requestId = "edge-trace-42" }, json.decode(sent))
      assert.equals("edge-trace-42", usage()[1].requestId)
    end)
  end)
end)
