-- tanstack.ai.metrics: Prometheus' text exposition format 0.0.4
-- (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format): HELP and TYPE per family,
-- escaped and bounded label values, cumulative histogram buckets ending in +Inf with _sum and _count, the series
-- cap, loopback-only access by default. `promtool check metrics` reads the same output in
-- spec/openresty/ops_nginx_test.lua (and a real Prometheus scrapes it there). The access line: only its named
-- fields (never the run's context, messages or keys), an outcome for every request, the time in UTC.
local metrics = require("tanstack.ai.metrics")

local function lines_of(text)
  local out = {}
  for l in text:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

local function find(text, prefix)
  for _, l in ipairs(lines_of(text)) do
    if l:sub(1, #prefix) == prefix then return l end
  end
end

describe("tanstack.ai.metrics", function()
  it("counters: HELP, TYPE, labels in the declared order, values summed, a newline at the end", function()
    local m = metrics.new()
    local l = { status = 200, route = "default", target = "primary", endpoint = "openai" }
    m:inc("tsai_requests_total", l)
    m:inc("tsai_requests_total", l, 2)
    local text = m:expose()
    assert.equals("\n", text:sub(-1))
    assert.truthy(find(text, "# HELP tsai_requests_total "))
    assert.truthy(find(text, "# TYPE tsai_requests_total counter"))
    assert.equals('tsai_requests_total{endpoint="openai",route="default",target="primary",status="200"} 3',
      find(text, "tsai_requests_total{"))
    assert.has_error(function() m:inc("no_such_metric", {}) end)
  end)

  it("label values are escaped and bounded; undeclared labels are dropped", function()
    local m = metrics.new()
    m:inc("tsai_limiter_rejections_total", { route = 'a"b\\c\nd' .. string.rep("x", 100), reason = "tokens",
      secret = "sk-123" })
    local line = find(m:expose(), "tsai_limiter_rejections_total{")
    assert.truthy(line:find('route="a\\"b\\\\c?d', 1, true), line)
    assert.falsy(line:find("sk-123", 1, true))
    assert.falsy(line:find(string.rep("x", 70), 1, true))
  end)

  it("histograms: cumulative buckets in increasing order, +Inf = count, sum", function()
    local m = metrics.new({ buckets = { 0.1, 1, 10 } })
    local where = { endpoint = "chat", route = "r", target = "t" }
    for _, v in ipairs({ 0.05, 0.5, 0.7, 5, 100 }) do m:observe("tsai_time_to_first_token_seconds", where, v) end
    local text = m:expose()
    local p = 'tsai_time_to_first_token_seconds_bucket{endpoint="chat",route="r",target="t",le="'
    assert.equals(p .. '0.1"} 1', find(text, p .. '0.1"'))
    assert.equals(p .. '1"} 3', find(text, p .. '1"'))
    assert.equals(p .. '10"} 4', find(text, p .. '10"'))
    assert.equals(p .. '+Inf"} 5', find(text, p .. '+Inf"'))
    assert.equals('tsai_time_to_first_token_seconds_count{endpoint="chat",route="r",target="t"} 5',
      find(text, "tsai_time_to_first_token_seconds_count"))
    assert.equals('tsai_time_to_first_token_seconds_sum{endpoint="chat",route="r",target="t"} 106.25',
      find(text, "tsai_time_to_first_token_seconds_sum"))
    assert.truthy(find(text, "# TYPE tsai_time_to_first_token_seconds histogram"))
    assert.has_error(function() metrics.new({ buckets = { 1, 1 } }) end)
  end)

  it("a family's lines are together, each family once", function()
    local m = metrics.new()
    m:inc("tsai_fallbacks_total", { route = "a", target = "x" })
    m:set("tsai_target_up", { route = "a", target = "x" }, 1)
    m:inc("tsai_fallbacks_total", { route = "b", target = "y" })
    local seen, last = {}, nil
    for _, l in ipairs(lines_of(m:expose())) do
      local name = l:match("^# TYPE (%S+)") or l:match("^([%w_]+)[{ ]")
      if name and name ~= last then
        assert.is_nil(seen[name], "family " .. name .. " split")
        seen[name], last = true, name
      end
    end
  end)

  it("at most maxSeries series: the rest are dropped and counted", function()
    local m = metrics.new({ maxSeries = 2 })
    for i = 1, 5 do m:inc("tsai_fallbacks_total", { route = "r" .. i, target = "t" }) end
    local text = m:expose()
    assert.truthy(find(text, 'tsai_fallbacks_total{route="r2"'))
    assert.is_nil(find(text, 'tsai_fallbacks_total{route="r3"'))
    assert.equals("tsai_metrics_series_dropped_total 3", find(text, "tsai_metrics_series_dropped_total "))
  end)

  it("request(): requests, tokens by direction, latency, ttft, upstream errors and fallbacks", function()
    local m = metrics.new()
    m:request({ endpoint = "openai", route = "default", target = "fallback", status = 200, consumer = "alice",
      targetModel = "@cf/m", inputTokens = 7, outputTokens = 5, latencyMs = 1200, ttftMs = 300,
      attempts = { { target = "primary", error = "500" }, { target = "fallback" } } }, { "http_500" })
    local text = m:expose()
    assert.truthy(find(text, 'tsai_tokens_total{direction="input",consumer="alice",route="default",model="@cf/m"} 7'))
    assert.truthy(find(text, 'tsai_tokens_total{direction="output",consumer="alice",route="default",model="@cf/m"} 5'))
    assert.truthy(find(text, 'tsai_upstream_errors_total{route="default",target="primary",kind="http_500"} 1'))
    assert.truthy(find(text, 'tsai_fallbacks_total{route="default",target="primary"} 1'))
    assert.truthy(find(text, 'tsai_request_duration_seconds_sum{endpoint="openai",route="default",target="fallback"} 1.2'))
    assert.truthy(find(text, 'tsai_time_to_first_token_seconds_count{endpoint="openai"'))
  end)

  it("allowed: loopback by default, addresses and IPv4 ranges when configured", function()
    assert.is_true(metrics.allowed("127.0.0.1"))
    assert.is_true(metrics.allowed("::1"))
    assert.is_false(metrics.allowed("10.0.0.5"))
    assert.is_false(metrics.allowed(nil))
    assert.is_true(metrics.allowed("10.1.2.3", { "10.0.0.0/8" }))
    assert.is_false(metrics.allowed("11.1.2.3", { "10.0.0.0/8" }))
    assert.is_true(metrics.allowed("192.168.1.7", { "192.168.1.7" }))
  end)

  describe("access_line: the JSON access line of a request", function()
    local json = require("tanstack.ai.json")
  it("writes the record's named fields and nothing of its context", function()
    local rec = { requestId = "req-1", endpoint = "openai", consumer = "alice", route = "default", target = "primary",
      model = "@cf/m", status = 200, ok = true, inputTokens = 3, outputTokens = 4, ttftMs = 120, latencyMs = 300,
      cacheStatus = "MISS", context = { authorization = "Bearer sk-secret", messages = { "hi" } },
      attempts = { { target = "primary" } } }
    local line = metrics.access_line(rec, nil, 1700000000.25)
    assert.falsy(line:find("sk-secret", 1, true))
    assert.falsy(line:find("\n", 1, true))
    local v = json.decode(line)
    assert.equals("req-1", v.requestId)
    assert.equals("ok", v.outcome)
    assert.equals(120, v.ttftMs)
    assert.equals("MISS", v.cacheStatus)
    assert.equals("2023-11-14T22:13:20.250Z", v.time)
    assert.is_nil(v.context)
    assert.is_nil(v.attempts)
    end)

    it("outcomes: refused, error, client_gone; extra fields win; fallbacks are listed", function()
    local v = json.decode(metrics.access_line({ status = 429, error = "rate_limit_exceeded", consumer = "bob" }))
    assert.equals("refused", v.outcome)
    v = json.decode(metrics.access_line({ status = 502, target = "t", error = 500,
      attempts = { { target = "a", error = "500" }, { target = "t", error = "500" } } }))
    assert.equals("error", v.outcome)
    assert.equals("500", v.error)
    assert.same({ "a:500", "t:500" }, v.attempts)
    v = json.decode(metrics.access_line({ status = 499, target = "t", consumer = "session:abc" },
      { consumer = "browser:1234" }))
    assert.equals("client_gone", v.outcome)
    assert.equals("browser:1234", v.consumer)
    end)
  end)
end)
