-- What an operator reads about the edge's requests: metrics in Prometheus' text exposition format 0.0.4
-- (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format), counted in a lua_shared_dict
-- so every nginx worker of a host adds to the same numbers (per host: Prometheus sums hosts). Outside nginx, or
-- without the dict, a Lua table of the process. No maintained Prometheus library for Lua is packaged by Debian or
-- npm (knyar/nginx-lua-prometheus is on OPM / LuaRocks only), hence this small writer.
--
--   local metrics = require("tanstack.ai.metrics")
--   local m = metrics.new({ dict = "metrics" })       -- lua_shared_dict metrics 4m;
--   m:inc("tsai_requests_total", { endpoint = "openai", route = "default", target = "primary", status = 200 })
--   m:observe("tsai_request_duration_seconds", { ... }, 0.42)
--   ngx.print(m:expose())                              -- Content-Type: metrics.CONTENT_TYPE
--
-- Label values are bounded: only the names of a family's declared labels, each value cut to 64 bytes of printable
-- ASCII, and at most `maxSeries` series in all (beyond: the new series is dropped and counted in
-- tsai_metrics_series_dropped_total). The router feeds it with configured names (routes, targets, models,
-- consumers of its key table); never raw request input. And each request's JSON access line (access_line).
local host = require("tanstack.ai.host")
local json = require("tanstack.ai.json")

local type, pairs, ipairs, tostring, tonumber, sort, concat, format = type, pairs, ipairs, tostring, tonumber,
  table.sort, table.concat, string.format
local floor, setmetatable, error = math.floor, setmetatable, error

local _M = {}

_M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_M.MAX_SERIES = 5000
-- seconds: time to first token and total latency of model calls (streams last up to minutes)
_M.BUCKETS = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300 }

-- The families: name -> { type, help, labels (in order) }. Names follow Prometheus' conventions: a `tsai_`
-- prefix, base units (seconds), `_total` on counters.
_M.FAMILIES = {
  tsai_requests_total = { "counter", "Requests answered, by endpoint, route, target and HTTP status.",
    { "endpoint", "route", "target", "status" } },
  tsai_tokens_total = { "counter", "Tokens used, by direction (input, output), consumer, route and model.",
    { "direction", "consumer", "route", "model" } },
  tsai_time_to_first_token_seconds = { "histogram", "Time from admission to the first event of the answer.",
    { "endpoint", "route", "target" } },
  tsai_request_duration_seconds = { "histogram", "Time from admission to the end of the answer.",
    { "endpoint", "route", "target" } },
  tsai_upstream_errors_total = { "counter", "Failed attempts at a target, by error kind.",
    { "route", "target", "kind" } },
  tsai_fallbacks_total = { "counter", "Targets left for the next one before the first byte.",
    { "route", "target" } },
  tsai_limiter_rejections_total = { "counter", "Requests the limiter refused, by reason.",
    { "route", "reason" } },
  tsai_target_up = { "gauge", "1 when the target is healthy, 0 while it is skipped for its cool-down.",
    { "route", "target" } },
  tsai_open_streams = { "gauge", "Requests being answered now, by endpoint.", { "endpoint" } },
  tsai_metrics_series_dropped_total = { "counter", "Observations dropped: the series limit was reached.", {} },
}
local FAMILIES = _M.FAMILIES

local Metrics = {}
Metrics.__index = Metrics
_M.Metrics = Metrics

-- A lua_shared_dict's methods over a Lua table (per process).
local Table = {}
Table.__index = Table
function Table:incr(k, v, init)
  local n = (self.t[k] or init or 0) + v
  self.t[k] = n
  return n
end
function Table:add(k, v)
  if self.t[k] ~= nil then return false, "exists" end
  self.t[k] = v
  return true
end
function Table:set(k, v) self.t[k] = v return true end
function Table:get(k) return self.t[k] end
function Table:get_keys()
  local out = {}
  for k in pairs(self.t) do out[#out + 1] = k end
  return out
end

--- new{ dict = "lua_shared_dict name" (per host) | shared = a dict object, buckets = {...}, maxSeries = N }.
function _M.new(opts)
  opts = opts or {}
  local d = opts.shared or host.shared_dict(opts.dict)
  if d == nil then d = setmetatable({ t = {} }, Table) end
  local b = opts.buckets or _M.BUCKETS
  for i = 2, #b do
    if b[i] <= b[i - 1] then error("metrics: buckets must increase", 2) end
  end
  return setmetatable({ d = d, buckets = b, max_series = opts.maxSeries or _M.MAX_SERIES }, Metrics)
end

-- A label value as the exposition format writes it: bounded, printable, escaped (\\, \", \n).
local function value(v)
  if v == nil then return "" end
  v = tostring(v)
  if #v > 64 then v = v:sub(1, 64) end
  v = v:gsub("[^\32-\126]", "?")
  return (v:gsub('[\\"]', "\\%0"))
end
_M.label_value = value

-- The label part of a series ('a="x",b="y"') for a family's declared labels.
local function labels_of(fam, labels)
  local names = fam[3]
  local parts = {}
  for i, n in ipairs(names) do parts[i] = n .. '="' .. value(labels and labels[n]) .. '"' end
  return concat(parts, ",")
end

-- Keys: family \t suffix \t labels [\t bucket index]; sorted, a family's lines come together and a histogram's
-- buckets in increasing order.
local function admit_series(self, key)
  local d = self.d
  if d:get(key) ~= nil then return true end
  local n = d:incr("\0series", 1, 0)
  if n and n > self.max_series then
    d:incr("\0series", -1, 0)
    d:incr("tsai_metrics_series_dropped_total\t\t", 1, 0)
    return false
  end
  return true
end

--- Add n (default 1) to a counter (or a gauge: n may be negative).
function Metrics:inc(name, labels, n)
  local fam = FAMILIES[name]
  if fam == nil then error("metrics: unknown family " .. tostring(name), 2) end
  local key = name .. "\t\t" .. labels_of(fam, labels)
  if not admit_series(self, key) then return end
  self.d:incr(key, n or 1, 0)
end

--- Set a gauge.
function Metrics:set(name, labels, v)
  local fam = FAMILIES[name]
  if fam == nil then error("metrics: unknown family " .. tostring(name), 2) end
  local key = name .. "\t\t" .. labels_of(fam, labels)
  if not admit_series(self, key) then return end
  self.d:set(key, v)
end

--- Observe a value (seconds) in a histogram: its bucket (counted non-cumulatively; expose sums them), sum, count.
function Metrics:observe(name, labels, v)
  local fam = FAMILIES[name]
  if fam == nil or fam[1] ~= "histogram" then error("metrics: unknown histogram " .. tostring(name), 2) end
  if type(v) ~= "number" or v ~= v then return end
  local l = labels_of(fam, labels)
  local count_key = name .. "\t_count\t" .. l
  if not admit_series(self, count_key) then return end
  local b, idx = self.buckets, #self.buckets + 1
  for i = 1, #b do
    if v <= b[i] then idx = i break end
  end
  local d = self.d
  d:incr(format("%s\t_bucket\t%s\t%02d", name, l, idx), 1, 0)
  d:incr(name .. "\t_sum\t" .. l, v, 0)
  d:incr(count_key, 1, 0)
end

local function number(v)
  if v == floor(v) and v > -1e15 and v < 1e15 then return format("%d", v) end
  return format("%.15g", v)
end

local function le_label(l, le)
  if l == "" then return 'le="' .. le .. '"' end
  return l .. ',le="' .. le .. '"'
end

-- A histogram's series: cumulative buckets (every bound, +Inf), _sum, _count.
local function histogram_lines(self, out, name, l, by_suffix)
  local counts = by_suffix.buckets or {}
  local acc = 0
  for i, bound in ipairs(self.buckets) do
    acc = acc + (counts[i] or 0)
    out[#out + 1] = name .. "_bucket{" .. le_label(l, number(bound)) .. "} " .. number(acc)
  end
  out[#out + 1] = name .. "_bucket{" .. le_label(l, "+Inf") .. "} " .. number(by_suffix.count or 0)
  out[#out + 1] = name .. "_sum{" .. l .. "} " .. number(by_suffix.sum or 0)
  out[#out + 1] = name .. "_count{" .. l .. "} " .. number(by_suffix.count or 0)
end

-- Every stored series, grouped: family -> labels -> value (or, for a histogram, { buckets, sum, count }).
local function collect(self)
  local d, fams = self.d, {}
  for _, k in ipairs(d:get_keys(0)) do
    local name, suffix, l, idx = k:match("^([%w_]+)\t([%w_]*)\t([^\t]*)\t?(%d*)$")
    if name and FAMILIES[name] then
      local v = tonumber(d:get(k))
      if v then
        local f = fams[name] or {}
        fams[name] = f
        if suffix == "" then
          f[l] = v
        else
          local h = f[l] or {}
          f[l] = h
          if suffix == "_bucket" then
            h.buckets = h.buckets or {}
            h.buckets[tonumber(idx)] = v
          else
            h[suffix:sub(2)] = v
          end
        end
      end
    end
  end
  return fams
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  sort(ks)
  return ks
end

--- The text exposition (format 0.0.4) of every family with at least one series; HELP and TYPE for each.
function Metrics:expose()
  local fams, out = collect(self), {}
  for _, name in ipairs(sorted_keys(fams)) do
    local fam = FAMILIES[name]
    out[#out + 1] = "# HELP " .. name .. " " .. fam[2]
    out[#out + 1] = "# TYPE " .. name .. " " .. fam[1]
    local series = fams[name]
    for _, l in ipairs(sorted_keys(series)) do
      if fam[1] == "histogram" then
        histogram_lines(self, out, name, l, series[l])
      elseif l == "" then
        out[#out + 1] = name .. " " .. number(series[l])
      else
        out[#out + 1] = name .. "{" .. l .. "} " .. number(series[l])
      end
    end
  end
  out[#out + 1] = ""
  return concat(out, "\n")
end

--- Count one answered request from its usage record (router/run.lua's Run:record): requests, tokens, latency,
--- time to first token, failed attempts and fallbacks. rec.endpoint, rec.status, rec.ttftMs, rec.metricsConsumer
--- (the consumer's bounded name) come from the run; kinds[i]: the error kind of attempt i (a bounded name).
function Metrics:request(rec, kinds)
  local route, target, endpoint = rec.route, rec.target or "", rec.endpoint or ""
  self:inc("tsai_requests_total", { endpoint = endpoint, route = route, target = target, status = rec.status })
  local model = rec.targetModel or ""
  local consumer = rec.metricsConsumer or rec.consumer
  if (rec.inputTokens or 0) > 0 then
    self:inc("tsai_tokens_total", { direction = "input", consumer = consumer, route = route, model = model },
      rec.inputTokens)
  end
  if (rec.outputTokens or 0) > 0 then
    self:inc("tsai_tokens_total", { direction = "output", consumer = consumer, route = route, model = model },
      rec.outputTokens)
  end
  local where = { endpoint = endpoint, route = route, target = target }
  if rec.latencyMs then self:observe("tsai_request_duration_seconds", where, rec.latencyMs / 1000) end
  if rec.ttftMs then self:observe("tsai_time_to_first_token_seconds", where, rec.ttftMs / 1000) end
  local attempts = rec.attempts or {}
  for i, a in ipairs(attempts) do
    if a.error then
      local kind = kinds and kinds[i] or "error"
      self:inc("tsai_upstream_errors_total", { route = route, target = a.target, kind = kind })
      if i < #attempts then self:inc("tsai_fallbacks_total", { route = route, target = a.target }) end
    end
  end
end

--- May this client address read the metrics? allow: a list of addresses and IPv4 CIDR ranges (default loopback
--- only: 127.0.0.0/8 and ::1).
function _M.allowed(addr, allow)
  allow = allow or { "127.0.0.0/8", "::1" }
  if type(addr) ~= "string" then return false end
  local function v4(s)
    local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
    if not a then return nil end
    return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
  end
  for _, item in ipairs(allow) do
    local net, bits = item:match("^([%d%.]+)/(%d+)$")
    if net then
      local x, n, size = v4(addr), v4(net), 2 ^ (32 - tonumber(bits))
      if x and n and floor(x / size) == floor(n / size) then return true end
    elseif item == addr then
      return true
    end
  end
  return false
end

---------------------------------------------------------------------------------------------------
-- The access line: one structured (JSON) line per request, from a router's usage record (Run:record(), what
-- onUsage receives) or from a request refused before any run (401, 429, ...). Only the named fields below are
-- written: never the request's context, messages, keys or headers (the record's `context` holds the caller's
-- ctx and is left out).
---------------------------------------------------------------------------------------------------
-- The fields of a line, in this order (JSON objects are unordered; the order keeps lines easy to read).
_M.ACCESS_FIELDS = { "time", "requestId", "endpoint", "consumer", "route", "target", "model", "status", "outcome",
  "error", "inputTokens", "outputTokens", "ttftMs", "latencyMs", "cacheStatus", "estimated", "attempts" }

local function outcome_of(rec)
  if rec.outcome then return rec.outcome end
  if rec.ok then return "ok" end
  local st = tonumber(rec.status)
  if st == 499 then return "client_gone" end
  if st and st >= 400 and st < 500 and rec.target == nil then return "refused" end
  return "error"
end

--- The line (a JSON object, no newline) for a usage record or a refusal { requestId, endpoint, consumer, route,
--- status, error }. extra: fields that win over the record's (consumer = "browser:...", ...). now: seconds since
--- the epoch (the line's `time`, ISO 8601 UTC with milliseconds).
function _M.access_line(rec, extra, now)
  rec = rec or {}
  local v = {}
  for _, k in ipairs(_M.ACCESS_FIELDS) do v[k] = rec[k] end
  if type(extra) == "table" then
    for _, k in ipairs(_M.ACCESS_FIELDS) do
      if extra[k] ~= nil then v[k] = extra[k] end
    end
  end
  v.outcome = outcome_of(v.outcome and v or rec)
  if type(rec.attempts) == "table" and #rec.attempts > 1 then
    local tried = {}
    for i, a in ipairs(rec.attempts) do tried[i] = tostring(a.target) .. (a.error and (":" .. a.error) or "") end
    v.attempts = tried
  else
    v.attempts = nil
  end
  now = now or os.time()
  v.time = os.date("!%Y-%m-%dT%H:%M:%S", math.floor(now)) .. string.format(".%03dZ", math.floor((now % 1) * 1000))
  if v.error ~= nil then v.error = tostring(v.error) end
  local parts = {}
  for _, k in ipairs(_M.ACCESS_FIELDS) do
    if v[k] ~= nil then parts[#parts + 1] = json.encode(k) .. ":" .. json.encode(v[k]) end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

return _M
