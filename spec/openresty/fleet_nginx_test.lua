-- A fleet-safe edge, in real nginx: two instances of the example (two workers each) on two ports
-- against one real redis-server (started here on a free loopback port, stopped at the end) and the emulator.
-- The same approval posted to both runs the tool once; a made-up parent run or another browser's conversation runs
-- nothing; a limit holds across both under parallel load; Redis stopped mid-run and started again leaves both
-- answering; nginx's 413 and the endpoints' 413 are JSON; several workers without a secret still verify their own
-- calls. Run by `make test-openresty` (the file name ends in nginx_test.lua).
package.path = "examples/openresty/?.lua;" .. package.path

local json = require("tanstack.ai.json")
local emulator = require("helpers.emulator")
local redis_helper = require("helpers.redis")
local nginx = require("openresty.nginx")
local handler = require("chat_handler")

local run, read_file, write_file, q = nginx._internal.run, nginx._internal.read_file, require("helpers.shell")
  .write_file, nginx._internal.q
local sleep = nginx._internal.sleep
local ROOT = nginx.root

local SECRET = "fleet-test-secret-of-32-bytes!!!"
local LIMIT = 5000 -- tokens per minute per consumer: room for the functional tests, spent on purpose below

local function example_conf(workers)
  local conf = assert(read_file(ROOT .. "/examples/openresty/nginx.conf"))
  local n
  conf, n = conf:gsub("worker_processes 1;", "worker_processes " .. workers .. ";")
  assert(n == 1)
  return conf
end

local function sse(body)
  local out = {}
  for line in (body or ""):gmatch("[^\n]+") do
    local d = line:match("^data: (.*)$")
    if d and d ~= "[DONE]" then out[#out + 1] = json.decode(d) end
  end
  return out
end

local function of_type(evs, ty)
  local out = {}
  for _, e in ipairs(evs) do if e.type == ty then out[#out + 1] = e end end
  return out
end

-- a RunAgentInput as @tanstack/ai-client posts it
local function chat_body(t)
  return json.encode({ threadId = t.threadId or "thread-1", runId = t.runId or "run-1", parentRunId = t.parentRunId,
    resume = t.resume, state = json.object(), tools = json.array(), context = json.array(),
    forwardedProps = json.object(),
    messages = t.messages or { { id = "m-u", role = "user", content = t.text or "hello" } } })
end

local function assistant_call(id, name, args)
  return { id = "m-a", role = "assistant", content = "",
    toolCalls = { { id = id, type = "function", ["function"] = { name = name, arguments = json.encode(args) } } } }
end

-- A session cookie as the example issues it (signed with the shared secret): one browser.
local function browser()
  local _, set_cookie = handler.session(nil, SECRET)
  return set_cookie:match("^([^;]+)")
end

-- (Expect: off: curl would wait for a 100 Continue on large bodies, and the harness reads the first status line)
local function post_chat(srv, body, cookie)
  return nginx.http("POST", srv.url .. "/api/chat", body, { headers = { cookie = cookie, expect = "" } })
end

describe("a fleet-safe edge (two nginx, one Redis, the emulator)", function()
  local emu, redis, a, b
  local extra = {}

  local function ran(name)
    return tonumber(redis:cli("GET", "tsai:test:ran:" .. name):match("^(%d+)") or "0")
  end

  local function start(workers, env)
    local e = {
      CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef", CLOUDFLARE_API_KEY = "fleet-key",
      CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4",
      CHAT_SERVER_TOOLS = "openresty.fleet_tools",
    }
    for k, v in pairs(env or {}) do e[k] = v end
    return nginx.start({ base = example_conf(workers), env = e })
  end

  setup(function()
    emu = emulator.start()
    redis = redis_helper.start()
    local env = { REDIS_URL = redis.url, CHAT_SIGNING_SECRET = SECRET, ROUTER_TOKENS_PER_MINUTE = tostring(LIMIT),
      CHAT_APPROVAL_TTL = "30" }
    a = start(2, env)
    b = start(2, env)
  end)

  teardown(function()
    for _, srv in ipairs({ a, b, table.unpack(extra) }) do
      if srv then
        local log = srv:error_log()
        srv:stop()
        assert.is_nil(log:find("[alert]", 1, true), log)
        assert.is_nil(log:find("runtime error", 1, true), log)
        assert.is_nil(log:find("lua entry thread aborted", 1, true), log)
      end
    end
    if redis then redis:stop() end
    if emu then emu:stop() end
  end)

  before_each(function() emu:reset() end)

  it("the same approval posted to both hosts runs the tool once; a made-up parent or another browser runs nothing", function()
    local cookie = browser()
    emu:next({ tool_calls = { { name = "delete_file", arguments = { path = "a.txt" }, id = "call_m" } } })
    local status, _, body = post_chat(a, chat_body({ runId = "run-1", text = "delete a.txt" }), cookie)
    assert.equals(200, status, body)
    local evs = sse(body)
    local id = of_type(evs, "TOOL_CALL_START")[1].toolCallId
    assert.equals("interrupt", evs[#evs].outcome.type)
    local function approval(parent, run_id, c)
      return post_chat(c == nil and a or c, chat_body({ runId = run_id or "run-2", parentRunId = parent,
        messages = { { id = "m-u", role = "user", content = "delete a.txt" },
          assistant_call(id, "delete_file", { path = "a.txt" }) },
        resume = { { interruptId = "approval_" .. id, status = "resolved", payload = { approved = true } } } }),
        cookie)
    end
    for i, srv in ipairs({ a, b, a, b }) do
      local st, _, bd = approval("run-1", "run-2", srv)
      assert.equals(200, st, bd)
      local res = of_type(sse(bd), "TOOL_CALL_RESULT")
      assert.equals(1, #res, bd)
      -- the first runs it; the others get the recorded outcome, not a second run
      assert.equals("deleted a.txt", res[1].content, "post " .. i)
    end
    assert.equals(1, ran("delete_file:a.txt"))

    -- a made-up parentRunId: refused, not run
    local _, _, bd = approval("run-made-up", "run-9", b)
    local res = of_type(sse(bd), "TOOL_CALL_RESULT")[1]
    assert.matches('^{"error":"This approval belongs to another run', res.content)
    assert.equals(1, ran("delete_file:a.txt"))

    -- pasted into another browser's conversation (same thread id, its own session): the MAC does not verify
    local other = browser()
    local st2, _, bd2 = post_chat(a, chat_body({ runId = "run-3", parentRunId = "run-1",
      messages = { { id = "m-u", role = "user", content = "x" }, assistant_call(id, "delete_file", { path = "a.txt" }) },
      resume = { { interruptId = "approval_" .. id, status = "resolved", payload = { approved = true } } } }), other)
    assert.equals(200, st2)
    local evs2 = sse(bd2)
    assert.equals("RUN_ERROR", evs2[#evs2].type)
    assert.equals("invalid_tool_call", evs2[#evs2].code)
    assert.equals(1, ran("delete_file:a.txt"))

    -- every refusal is in a server log with the call's id and its reason
    local logs = a:error_log() .. b:error_log()
    assert.truthy(logs:find("tool call " .. id .. " refused: already executed", 1, true), logs)
    assert.truthy(logs:find("tool call " .. id .. " refused: approval posted for another run", 1, true), logs)
    assert.truthy(logs:find("tool call " .. id .. " refused: tampered history", 1, true), logs)
  end)

  it("a reload (HUP) with a configured secret keeps a conversation in progress working", function()
    emu:next({ tool_calls = { { name = "delete_file", arguments = { path = "reload.txt" }, id = "call_m" } } })
    local cookie = browser()
    local _, _, body = post_chat(a, chat_body({ runId = "run-r1", text = "delete" }), cookie)
    local id = of_type(sse(body), "TOOL_CALL_START")[1].toolCallId
    local master = assert(read_file(a.prefix .. "/logs/nginx.pid")):match("%d+")
    run("kill -HUP " .. master)
    sleep(1.5) -- new workers, the old ones gone
    local _, _, bd = post_chat(a, chat_body({ runId = "run-r2", parentRunId = "run-r1",
      messages = { { id = "m-u", role = "user", content = "delete" },
        assistant_call(id, "delete_file", { path = "reload.txt" }) },
      resume = { { interruptId = "approval_" .. id, status = "resolved", payload = { approved = true } } } }), cookie)
    assert.equals("deleted reload.txt", of_type(sse(bd), "TOOL_CALL_RESULT")[1].content)
    assert.equals(1, ran("delete_file:reload.txt"))
    -- the usage counters are Redis's too
    assert.truthy(redis:cli("KEYS", "tsai:u:*"):find("tsai:u:", 1, true))
  end)

  it("a failing tool's details stay in the server log; the browser gets an error id", function()
    emu:next({ tool_calls = { { name = "db_query", arguments = { q = "select 1" }, id = "call_m" } } })
    local _, _, body = post_chat(a, chat_body({ text = "query" }), browser())
    local res = of_type(sse(body), "TOOL_CALL_RESULT")[1]
    local eid = res.content:match("error id (err_%x+)")
    assert.truthy(eid, res.content)
    assert.is_nil(body:find("10.1.2.3", 1, true))
    local model_saw = emu:last_request("/chat/completions").body
    assert.is_nil(model_saw:find("10.1.2.3", 1, true))
    local log = a:error_log()
    assert.truthy(log:find(eid, 1, true) and log:find("10.1.2.3:5432", 1, true), log)
  end)

  it("a token limit holds across both hosts under parallel load", function()
    local dir = os.tmpname()
    os.remove(dir)
    run("mkdir -p " .. q(dir))
    -- every answer bills 400 tokens and streams slowly, so that all 30 are in flight together; each reserves
    -- its prompt (~10) + max_tokens 400
    for _ = 1, 30 do emu:next({ usage = { prompt_tokens = 10, completion_tokens = 390 }, head_delay_ms = 300 }) end
    local body = json.encode({ model = "gpt-4o-mini", max_tokens = 400,
      messages = { { role = "user", content = "count to ten" } } })
    write_file(dir .. "/body.json", body)
    local script = {}
    for i = 1, 30 do
      local srv = i % 2 == 0 and a or b
      script[#script + 1] = "curl -s --max-time 30 -o " .. q(dir .. "/" .. i .. ".out") .. " -w '%{http_code}' -H "
        .. "'content-type: application/json' --data-binary @" .. q(dir .. "/body.json") .. " "
        .. q(srv.url .. "/v1/chat/completions") .. " > " .. q(dir .. "/" .. i .. ".status") .. " &"
    end
    script[#script + 1] = "wait"
    run(table.concat(script, "\n"))
    local ok, refused, used = { 0, 0 }, { 0, 0 }, 0
    for i = 1, 30 do
      local st = tonumber(read_file(dir .. "/" .. i .. ".status") or "")
      local host_i = i % 2 + 1
      if st == 200 then
        ok[host_i] = ok[host_i] + 1
        used = used + json.decode(read_file(dir .. "/" .. i .. ".out")).usage.total_tokens
      else
        assert.equals(429, st)
        refused[host_i] = refused[host_i] + 1
      end
    end
    run("rm -rf " .. q(dir))
    -- admitted while the shared budget had room, reserving what each may cost: the two hosts together stay
    -- within the limit but for the last request's remainder (per host they would have granted 2 x 5000)
    assert.is_true(used <= LIMIT + 400, "used " .. used)
    assert.is_true(ok[1] + ok[2] >= 10 and ok[1] + ok[2] <= 13, json.encode({ ok = ok, refused = refused }))
    assert.is_true(refused[1] > 0 and refused[2] > 0, json.encode({ ok = ok, refused = refused }))
    -- the counters are Redis's
    assert.truthy(redis:cli("KEYS", "tsai:l:{anonymous}:*"):find("tsai:l:{anonymous}:", 1, true))
  end)

  it("each browser has its own budget on /api/chat (its session cookie)", function()
    local first, second = browser(), browser()
    local limited = false
    for _ = 1, 20 do emu:next({ usage = { prompt_tokens = 100, completion_tokens = 900 } }) end
    for _ = 1, 20 do
      local st = post_chat(a, chat_body({ text = "hi" }), first)
      if st == 429 then limited = true break end
      assert.equals(200, st)
    end
    assert.is_true(limited)
    local st, h, body = post_chat(b, chat_body({ text = "hi" }), first)
    assert.equals(429, st) -- the other host knows (Redis)
    assert.equals("application/json", h["content-type"])
    assert.truthy(json.decode(body).error.message)
    assert.equals(200, (post_chat(b, chat_body({ text = "hi" }), second)))
  end)

  it("Redis stopped mid-run and started again: both keep answering, side effects fail closed meanwhile", function()
    local out = os.tmpname()
    emu:next({ drip_ms = 100, events = 12 })
    run("curl -s --max-time 20 -o " .. q(out) .. " -H 'content-type: application/json' -H " .. q("cookie: " .. browser())
      .. " --data-binary " .. q(chat_body({ text = "slow" })) .. " " .. q(a.url .. "/api/chat") .. " & echo $! > "
      .. q(out .. ".pid"))
    sleep(0.4)
    redis:stop()
    for _ = 1, 100 do
      if (read_file(out) or ""):find("RUN_FINISHED", 1, true) then break end
      sleep(0.1)
    end
    assert.truthy((read_file(out) or ""):find('"type":"RUN_FINISHED"', 1, true), read_file(out))
    os.remove(out)
    os.remove(out .. ".pid")
    -- Redis is down: limits fail open (the default: even the budget the parallel test spent), a tool without side
    -- effects runs, one with side effects not
    for _, srv in ipairs({ a, b }) do
      local t0 = os.time()
      local st, _, body = nginx.http("POST", srv.url .. "/v1/chat/completions", json.encode({ model = "gpt-4o-mini",
        messages = { { role = "user", content = "still there?" } } }))
      assert.equals(200, st, body)
      assert.is_true(os.time() - t0 <= 3)
      emu:next({ tool_calls = { { name = "get_weather", arguments = { city = "Oslo" }, id = "call_w" } } })
      local _, _, cb = post_chat(srv, chat_body({ text = "weather" }), browser())
      assert.matches("Oslo", of_type(sse(cb), "TOOL_CALL_RESULT")[1].content)
      emu:next({ tool_calls = { { name = "charge_card", arguments = { cents = 100 }, id = "call_c" } } })
      local _, _, cc = post_chat(srv, chat_body({ text = "charge" }), browser())
      local res = of_type(sse(cc), "TOOL_CALL_RESULT")[1]
      assert.matches('^{"error":"The tool could not be run safely', res.content)
    end
    redis:start_again()
    sleep(1.2) -- past the workers' backoff
    for _, srv in ipairs({ a, b }) do
      emu:next({ tool_calls = { { name = "charge_card", arguments = { cents = 5 }, id = "call_c" } } })
      local st, _, cc = post_chat(srv, chat_body({ text = "charge" }), browser())
      assert.equals(200, st)
      local res = of_type(sse(cc), "TOOL_CALL_RESULT")
      -- a worker that had not tried Redis since the restart may still be backing off for its first try
      if #res == 1 and res[1].content:find("could not be run safely", 1, true) then
        sleep(1.2)
        emu:next({ tool_calls = { { name = "charge_card", arguments = { cents = 5 }, id = "call_c" } } })
        _, _, cc = post_chat(srv, chat_body({ text = "charge" }), browser())
        res = of_type(sse(cc), "TOOL_CALL_RESULT")
      end
      assert.equals('{"charged":5}', res[1].content)
    end
    assert.equals(2, ran("charge_card"))
  end)

  it("an oversized body gets the endpoint's JSON 413 (nginx's own limit too); deep nesting an OpenAI 400", function()
    local big = chat_body({ text = string.rep("x", 1200 * 1024) }) -- past the library's 1 MiB, under nginx's 2m
    local huge = chat_body({ text = string.rep("x", 3 * 1024 * 1024) }) -- past nginx's client_max_body_size
    for _, b413 in ipairs({ big, huge }) do
      local st, h, body = post_chat(a, b413)
      assert.equals(413, st)
      assert.equals("application/json", h["content-type"])
      assert.truthy(json.decode(body).error.message, body)
      st, h, body = nginx.http("POST", a.url .. "/v1/chat/completions", b413, { headers = { expect = "" } })
      assert.equals(413, st)
      assert.equals("application/json", h["content-type"])
      assert.equals("request_too_large", json.decode(body).error.code, body)
    end
    local deep = string.rep("[", 250) .. string.rep("]", 250)
    local st, h, body = nginx.http("POST", a.url .. "/v1/chat/completions",
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"stop":' .. deep .. "}")
    assert.equals(400, st, body)
    assert.equals("application/json", h["content-type"])
    assert.equals("invalid_request_error", json.decode(body).error.type)
  end)

  it("several workers without a signing secret share one (logged); with REDIS_URL and none it refuses", function()
    local c = start(4, { CHAT_APPROVAL_TTL = "30" })
    extra[#extra + 1] = c
    for i = 1, 12 do
      emu:next({ tool_calls = { { name = "delete_file", arguments = { path = i .. ".txt" }, id = "call_m" } } })
      local _, _, body = post_chat(c, chat_body({ runId = "run-" .. i .. "a", text = "delete" }))
      local id = of_type(sse(body), "TOOL_CALL_START")[1].toolCallId
      local _, _, bd = post_chat(c, chat_body({ runId = "run-" .. i .. "b", parentRunId = "run-" .. i .. "a",
        messages = { { id = "m-u", role = "user", content = "delete" },
          assistant_call(id, "delete_file", { path = i .. ".txt" }) },
        resume = { { interruptId = "approval_" .. id, status = "resolved", payload = { approved = true } } } }))
      local res = of_type(sse(bd), "TOOL_CALL_RESULT")
      assert.equals("deleted " .. i .. ".txt", res[1] and res[1].content, bd)
    end
    assert.truthy(c:error_log():find("share one random secret", 1, true), c:error_log())

    local d = start(2, { REDIS_URL = redis.url })
    extra[#extra + 1] = d
    local st, h, body = post_chat(d, chat_body({ text = "hi" }))
    assert.equals(503, st)
    assert.equals("application/json", h["content-type"])
    assert.is_nil(body:find("CHAT_SIGNING_SECRET", 1, true)) -- the browser is not told the server's internals
    assert.truthy(d:error_log():find("CHAT_SIGNING_SECRET is not", 1, true))
  end)
end)
