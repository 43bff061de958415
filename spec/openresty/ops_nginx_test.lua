-- An edge you can operate, in a real nginx with two workers from the example config and its own route
-- table (examples/openresty/routes.lua: out of the box), against the emulator: GET /v1/models and
-- POST /v1/embeddings with the official `openai` SDK, OpenAI's rate-limit headers (streaming, not, the 429),
-- request ids (accepted, replaced, generated; in the access line), one JSON access line per request (refusals
-- too), GET /metrics checked by `promtool check metrics` and scraped by a real Prometheus server (Debian's
-- `prometheus`, started here on a loopback port, queried over its HTTP API), `nginx -s reload` and `-s quit`
-- with 30 streams open, and a route table that cannot work refused at start.
-- Run by `make test-openresty` (the file name ends in nginx_test.lua).
local json = require("tanstack.ai.json")
local emulator = require("helpers.emulator")
local nginx = require("openresty.nginx")

local run, read_file, q, exec_ok = nginx._internal.run, nginx._internal.read_file, nginx._internal.q,
  nginx._internal.exec_ok
local sleep = nginx._internal.sleep
local ROOT = nginx.root

local function http(method, url, body, headers) return nginx.http(method, url, body, { headers = headers }) end

local function env_for(emu, extra)
  local e = {
    CLOUDFLARE_ACCOUNT_ID = emulator.ACCOUNT_ID,
    CLOUDFLARE_API_KEY = "ops-test-key",
    CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4",
    ROUTER_API_KEYS = "sk-ops:ops,sk-hog:hog",
    ROUTER_TOKENS_PER_MINUTE = "20000",
  }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function two_workers()
  local conf = assert(read_file(ROOT .. "/examples/openresty/nginx.conf"))
  local n
  conf, n = conf:gsub("worker_processes 1;", "worker_processes 2;")
  assert(n == 1)
  return conf
end

-- The access lines nginx wrote so far (logs/ai_access.log), decoded.
local function access_lines(srv)
  local out = {}
  for l in (read_file(srv.prefix .. "/logs/ai_access.log") or ""):gmatch("[^\n]+") do
    out[#out + 1] = assert(json.decode(l), l)
  end
  return out
end

local function line_with(srv, id)
  for _ = 1, 40 do
    for _, l in ipairs(access_lines(srv)) do
      if l.requestId == id then return l end
    end
    sleep(0.05)
  end
end

describe("an edge you can operate (real nginx, two workers, emulator)", function()
  local emu, srv, base

  local function sdk(case, model, key)
    return nginx.node("openai-sdk.mjs", { base .. "/v1", case, key or "sk-ops", model or "gpt-4o-mini" })
  end
  local function chat(body, headers)
    headers = headers or {}
    if headers.authorization == nil then headers.authorization = "Bearer sk-ops" end
    if headers.authorization == false then headers.authorization = nil end
    return http("POST", base .. "/v1/chat/completions", json.encode(body), headers)
  end
  local hi = { { role = "user", content = "hi" } }

  setup(function()
    assert(read_file(ROOT .. "/spec/openresty/node_modules/openai/package.json"),
      "npm dependencies missing: run `make openresty-setup`")
    emu = emulator.start()
    srv = nginx.start({ base = two_workers(), env = env_for(emu) })
    base = srv.url
  end)

  teardown(function()
    if srv then
      local log = srv:error_log()
      srv:stop()
      assert.is_nil(log:find("[alert]", 1, true), log)
      assert.is_nil(log:find("runtime error", 1, true), log)
    end
    if emu then emu:stop() end
  end)

  it("GET /v1/models: the routes and aliases in OpenAI's list shape (models.list())", function()
    local r = sdk("models")
    assert.is_nil(r.apiError, json.encode(r))
    local ids = {}
    for _, m in ipairs(r.models) do
      ids[#ids + 1] = m.id
      assert.equals("model", m.object)
    end
    assert.same({ "default", "embeddings", "gpt-4o-mini", "llama", "text-embedding-3-small" }, ids)
    local status = http("GET", base .. "/v1/models")
    assert.equals(401, status) -- the same auth as the other /v1 endpoints
  end)

  it("POST /v1/embeddings: Workers AI's bge through the router, base64 (the SDK's default) and float", function()
    emu:reset()
    for _, case in ipairs({ "embeddings", "embeddings-float" }) do
      local r = sdk(case, "text-embedding-3-small")
      assert.is_nil(r.apiError, json.encode(r))
      assert.equals("list", r.object)
      assert.equals("text-embedding-3-small", r.model)
      assert.same({ 0, 1 }, r.index)
      assert.same({ 768, 768 }, r.dims)
      assert.is_true(r.usage.prompt_tokens > 0)
      assert.equals("number", type(r.first[1]))
    end
    local calls = emu:requests("bge-base-en-v1.5")
    assert.equals(2, #calls)
    assert.same({ "first text", "second text" }, calls[1].json.text)
    -- a chat model is not an embedding model, and the other way round
    local r = sdk("embeddings", "gpt-4o-mini")
    assert.equals(404, r.status)
    local status = chat({ model = "text-embedding-3-small", messages = hi })
    assert.equals(404, status)
  end)

  it("rate-limit headers on answers (streaming and not) and on the 429, with Retry-After", function()
    local status, h = chat({ model = "gpt-4o-mini", messages = hi, max_tokens = 50 })
    assert.equals(200, status)
    assert.equals("20000", h["x-ratelimit-limit-tokens"])
    local left = tonumber(h["x-ratelimit-remaining-tokens"])
    assert.is_true(left > 0 and left < 20000, tostring(left))
    assert.truthy(h["x-ratelimit-reset-tokens"]:match("^%d+s$"))
    status, h = chat({ model = "gpt-4o-mini", messages = hi, stream = true, max_tokens = 50 })
    assert.equals(200, status)
    assert.equals("20000", h["x-ratelimit-limit-tokens"])
    -- a slow request larger than the whole budget runs on an empty one and holds it: the next is refused
    emu:reset()
    emu:next({ match = "/ai/v1/chat/completions", drip_ms = 200, events = 10 })
    local hog_out = os.tmpname()
    exec_ok("curl -sN --max-time 20 -o " .. q(hog_out) .. " -H 'authorization: Bearer sk-hog' "
      .. "-H 'content-type: application/json' -d '{\"model\":\"llama\",\"stream\":true,\"max_tokens\":25000,"
      .. "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}' " .. q(base .. "/v1/chat/completions")
      .. " >/dev/null 2>&1 &")
    assert(emu:wait_for(function(r) return #r >= 1 end, 10), "the hog's stream did not start")
    local body
    status, h, body = chat({ model = "gpt-4o-mini", messages = hi, max_tokens = 100 },
      { authorization = "Bearer sk-hog", ["x-request-id"] = "hog-refused-1" })
    assert.equals(429, status, body)
    assert.equals("20000", h["x-ratelimit-limit-tokens"])
    assert.equals("0", h["x-ratelimit-remaining-tokens"])
    assert.truthy(tonumber(h["retry-after"]) >= 1)
    assert.equals("hog-refused-1", h["x-request-id"])
    local l = line_with(srv, "hog-refused-1")
    assert.truthy(l, "no access line for the 429")
    assert.same({ 429, "refused", "hog", "openai" }, { l.status, l.outcome, l.consumer, l.endpoint })
    for _ = 1, 100 do
      if (read_file(hog_out) or ""):find("[DONE]", 1, true) then break end
      sleep(0.1)
    end
    os.remove(hog_out)
  end)

  it("request ids: accepted, replaced when unsafe, generated; one JSON access line per request", function()
    local _, h = chat({ model = "gpt-4o-mini", messages = hi }, { ["x-request-id"] = "trace-abc-123" })
    assert.equals("trace-abc-123", h["x-request-id"])
    local l = line_with(srv, "trace-abc-123")
    assert.truthy(l, "no access line")
    assert.same({ "ops", "default", "primary", "openai", 200, "ok" },
      { l.consumer, l.route, l.target, l.endpoint, l.status, l.outcome })
    assert.equals("@cf/meta/llama-4-scout-17b-16e-instruct", l.model)
    assert.is_true(l.inputTokens > 0 and l.outputTokens > 0)
    assert.is_true(l.ttftMs ~= nil and l.latencyMs >= l.ttftMs) -- time to first token of a non-streaming answer
    assert.truthy(l.time:match("^%d%d%d%d%-%d%d%-%d%dT"))
    _, h = chat({ model = "gpt-4o-mini", messages = hi }, { ["x-request-id"] = "bad id\"}" })
    assert.truthy(h["x-request-id"]:match("^%x+$"), h["x-request-id"])
    _, h = chat({ model = "gpt-4o-mini", messages = hi }, { authorization = false })
    local id = h["x-request-id"]
    assert.truthy(id and id:match("^%x+$"))
    l = line_with(srv, id)
    assert.same({ 401, "refused" }, { l.status, l.outcome })
    -- the browser endpoint: its consumer is "browser:<digest>", never the session id
    local status, bh = http("POST", base .. "/api/chat", json.encode({ threadId = "t", runId = "r",
      messages = { { id = "m1", role = "user", content = "hello" } }, tools = {}, context = {}, state = {},
      forwardedProps = {} }), { ["x-request-id"] = "browser-req-1" })
    assert.equals(200, status)
    assert.equals("browser-req-1", bh["x-request-id"])
    l = line_with(srv, "browser-req-1")
    assert.truthy(l.consumer:match("^browser:%x+$"), l.consumer)
    assert.equals("chat", l.endpoint)
    local raw = read_file(srv.prefix .. "/logs/ai_access.log")
    assert.falsy(raw:find("sk-ops", 1, true))
    assert.falsy(raw:find("ops-test-key", 1, true))
  end)

  it("GET /metrics: promtool check metrics, and a real Prometheus scrapes it and answers a query", function()
    local status, h, text = http("GET", base .. "/metrics")
    assert.equals(200, status)
    assert.equals("text/plain; version=0.0.4; charset=utf-8", h["content-type"])
    for _, name in ipairs({ "tsai_requests_total", "tsai_tokens_total", "tsai_time_to_first_token_seconds_bucket",
      "tsai_request_duration_seconds_count", "tsai_limiter_rejections_total", "tsai_target_up",
      "tsai_open_streams" }) do
      assert.truthy(text:find("\n" .. name .. "{", 1, true), name .. " missing:\n" .. text)
    end
    -- the two workers count together: the refusal of one, the answers of both
    assert.truthy(text:find('tsai_limiter_rejections_total{route="default",reason="tokens"} 1', 1, true), text)
    assert.truthy(text:find('tsai_open_streams{endpoint="openai"} 0', 1, true), text)
    local file = os.tmpname()
    local f = assert(io.open(file, "wb"))
    f:write(text)
    f:close()
    local out = run("promtool check metrics < " .. q(file) .. " 2>&1; echo rc=$?")
    os.remove(file)
    assert.truthy(out:find("rc=0", 1, true), out)

    -- Prometheus: its own loopback port, a temp config and storage, bounded waits
    local dir = run("mktemp -d"):gsub("%s+$", "")
    local port = tonumber(run("node -e \"const s=require('net').createServer().listen(0,'127.0.0.1',()=>{"
      .. "console.log(s.address().port);s.close()})\""):match("%d+"))
    local cfg = table.concat({
      "global: { scrape_interval: 1s, scrape_timeout: 1s }",
      "scrape_configs:",
      "  - job_name: tsai_edge",
      "    metrics_path: /metrics",
      "    static_configs: [ { targets: [ '127.0.0.1:" .. srv.port .. "' ] } ]",
    }, "\n")
    local cf = assert(io.open(dir .. "/prometheus.yml", "wb"))
    cf:write(cfg)
    cf:close()
    local pid = tonumber(run("cd " .. q(dir) .. " && timeout -s TERM 90 prometheus --config.file=" .. q(dir ..
      "/prometheus.yml") .. " --storage.tsdb.path=" .. q(dir .. "/data") .. " --web.listen-address=127.0.0.1:" ..
      port .. " >" .. q(dir .. "/prometheus.log") .. " 2>&1 </dev/null & echo $!"):match("%d+"))
    local ok, answer = pcall(function()
      local api = "http://127.0.0.1:" .. port .. "/api/v1/query?query="
      for _ = 1, 300 do
        local st, _, body = http("GET", api .. "sum(tsai_requests_total%7Bstatus%3D%22200%22%7D)")
        if st == 200 then
          local v = json.decode(body)
          if v and v.data and v.data.result and v.data.result[1] then return v end
        end
        sleep(0.1)
      end
      error("Prometheus never answered with the scraped metric:\n" .. (read_file(dir .. "/prometheus.log") or ""))
    end)
    local _, _, up = http("GET", "http://127.0.0.1:" .. port .. "/api/v1/query?query=up%7Bjob%3D%22tsai_edge%22%7D")
    exec_ok("kill -TERM " .. pid .. " 2>/dev/null")
    for _ = 1, 50 do
      if not exec_ok("kill -0 " .. pid .. " 2>/dev/null") then break end
      sleep(0.1)
    end
    exec_ok("kill -KILL " .. pid .. " 2>/dev/null; rm -rf " .. q(dir))
    assert(ok, answer)
    assert.equals("success", answer.status)
    assert.is_true(tonumber(answer.data.result[1].value[2]) >= 3)
    local upv = json.decode(up)
    assert.equals("1", upv.data.result[1].value[2])
  end)

  it("GET /metrics refuses a client outside METRICS_ALLOW", function()
    -- the test reaches nginx over loopback: an allow list without it refuses
    local emu2 = emu
    local other = nginx.start({ env = env_for(emu2, { METRICS_ALLOW = "10.0.0.0/8" }) })
    local status = http("GET", other.url .. "/metrics")
    other:stop()
    assert.equals(403, status)
  end)

  -- 30 streams (20 OpenAI, 10 AG-UI), slow on purpose, then a signal to the master.
  local function streams_across(signal)
    emu:reset()
    local list = {}
    for i = 1, 30 do list[i] = { match = "/ai/v1/chat/completions", drip_ms = 100, events = 15 } end
    emu:next(list)
    local dir = run("mktemp -d"):gsub("%s+$", "")
    local cmds = {}
    for i = 1, 30 do
      local out = dir .. "/s" .. i
      if i <= 20 then
        cmds[#cmds + 1] = "curl -sN --max-time 30 -H 'authorization: Bearer sk-ops' -H 'content-type: application/json' "
          .. "-d '{\"model\":\"llama\",\"stream\":true,\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}' "
          .. "-o " .. q(out) .. " -w '%{http_code}' " .. q(base .. "/v1/chat/completions") .. " > " .. q(out .. ".code")
      else
        cmds[#cmds + 1] = "curl -sN --max-time 30 -H 'content-type: application/json' "
          .. "-d '{\"threadId\":\"t" .. i .. "\",\"runId\":\"r" .. i .. "\",\"messages\":[{\"id\":\"m\",\"role\":\"user\",\"content\":\"hi\"}],"
          .. "\"tools\":[],\"context\":[],\"state\":{},\"forwardedProps\":{}}' "
          .. "-o " .. q(out) .. " -w '%{http_code}' " .. q(base .. "/api/chat") .. " > " .. q(out .. ".code")
      end
    end
    exec_ok("(" .. table.concat(cmds, " & ") .. " & wait) >/dev/null 2>&1 & echo $! > " .. q(dir .. "/pid"))
    -- every stream has reached the upstream (it drips) before the signal
    assert(emu:wait_for(function(r) return #r >= 30 end, 15), "the 30 streams did not start")
    local user = run("id -u"):match("^0%s*$") and "-g 'user root;' " or ""
    assert(exec_ok("nginx -p " .. q(srv.prefix .. "/") .. " -c " .. q(srv.prefix .. "/nginx.conf") .. " " .. user
      .. "-s " .. signal .. " 2>/dev/null"))
    local fresh
    if signal == "reload" then
      sleep(0.3)
      fresh = { chat({ model = "gpt-4o-mini", messages = hi }) }
    end
    for _ = 1, 400 do
      local done = 0
      for i = 1, 30 do if read_file(dir .. "/s" .. i .. ".code") and #read_file(dir .. "/s" .. i .. ".code") == 3 then done = done + 1 end end
      if done == 30 then break end
      sleep(0.1)
    end
    local results = {}
    for i = 1, 30 do
      results[i] = { code = read_file(dir .. "/s" .. i .. ".code"), body = read_file(dir .. "/s" .. i) or "" }
    end
    exec_ok("rm -rf " .. q(dir))
    return results, fresh
  end

  local function ended_properly(results)
    for i, r in ipairs(results) do
      assert.equals("200", r.code, "stream " .. i)
      if i <= 20 then
        assert.equals("data: [DONE]\n\n", r.body:sub(-14), "stream " .. i .. " cut: " .. r.body:sub(-200))
      else
        assert.truthy(r.body:find('"type":"RUN_FINISHED"', 1, true) or r.body:find('"type":"RUN_ERROR"', 1, true),
          "stream " .. i .. " cut: " .. r.body:sub(-200))
      end
    end
  end

  it("nginx -s reload with 30 streams open: each ends with its end marker, new requests succeed at once", function()
    local results, fresh = streams_across("reload")
    assert.equals(200, fresh[1], tostring(fresh[3]))
    ended_properly(results)
  end)

  it("nginx -s quit with 30 streams open: each ends with its end marker before the master exits", function()
    local results = streams_across("quit")
    ended_properly(results)
  end)

  it("a route table that cannot work is refused at start, with one clear log line", function()
    local ok, err = pcall(nginx.start, { env = env_for(emu, { ROUTER_ROUTES = "openresty.bad_routes" }) })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("routes: the route table cannot work", 1, true), tostring(err))
    assert.truthy(tostring(err):find("create_workers_ai_chta", 1, true), tostring(err))
    -- several workers without a signing secret, and no shared dict to share one: refused too
    local conf = two_workers():gsub("lua_shared_dict chat_state 10m;", "")
    ok, err = pcall(nginx.start, { base = conf, env = env_for(emu) })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("CHAT_SIGNING_SECRET", 1, true), tostring(err))
  end)
end)
