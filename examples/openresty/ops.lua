-- What an operator needs from the example's edge, shared by its handlers: request ids, the per-request JSON access
-- line (nginx writes it: `access_log logs/ai_access.log tsai_json`), the metrics (GET /metrics), the model list
-- (GET /v1/models), the rate-limit headers and the check of the route table when nginx starts.
--
-- Environment (nginx passes only what nginx.conf lists with `env`):
--   METRICS_ALLOW   who may read GET /metrics: "127.0.0.0/8,::1" (the default: loopback only), addresses and
--                   IPv4 CIDR ranges separated by commas
local ingress = require("tanstack.ai.edge.ingress")
local relay = require("tanstack.ai.edge.relay")
local metrics_mod = require("tanstack.ai.metrics")
local access_log = require("tanstack.ai.router.access_log")
local host = require("tanstack.ai.host")

local M = {}

local metrics
--- The worker's metrics (counted in lua_shared_dict metrics: every worker of this host adds to the same numbers).
function M.metrics()
  metrics = metrics or metrics_mod.new({ dict = "metrics" })
  return metrics
end

--- The request's id (X-Request-Id when valid, else nginx's $request_id), set on the response and kept in ngx.ctx.
function M.request_id()
  local ngx = host.ngx()
  local id = ngx.ctx.request_id
  if id then return id end
  id = ingress.request_id(ngx.var.http_x_request_id, ngx.var.request_id)
  ngx.ctx.request_id = id
  ngx.header["X-Request-Id"] = id
  return id
end

--- Write the request's access line: nginx logs it (variable $tsai_access) when the request ends. Outside a
--- request (a timer), the error log at notice level.
function M.log_line(line)
  local ngx = host.ngx()
  if not ngx then return io.stderr:write(line, "\n") end
  local ok = pcall(function() ngx.var.tsai_access = line end)
  if not ok then ngx.log(ngx.NOTICE, "access: ", line) end
end

--- The example's default usage hook: one JSON access line per run (docs/openresty.md shows one).
function M.on_usage(u)
  local ctx = u.context or {}
  M.log_line(access_log.line(u, { consumer = ctx.logConsumer }, host.now()))
end

--- A request refused before any run (401, 403, 404, 429, 413, 400): its access line, and its metrics (the
--- router counts the refusals it makes itself: 403, 404, 429).
function M.refused(endpoint, status, err, consumer, counted)
  local code = type(err) == "table" and (err.code or err.status) or nil
  M.log_line(access_log.line({ requestId = M.request_id(), endpoint = endpoint, consumer = consumer,
    status = status, error = code, outcome = "refused" }, nil, host.now()))
  if not counted then
    pcall(M.metrics().inc, M.metrics(), "tsai_requests_total", { endpoint = endpoint, route = "", target = "",
      status = status })
  end
end

--- Set OpenAI's rate-limit headers of an admission (or a refusal's) on the response.
function M.ratelimit_headers(adm)
  local ngx = host.ngx()
  for k, v in pairs(relay.ratelimit_headers(adm)) do ngx.header[k] = v end
end

local function allow_list()
  local spec = os.getenv("METRICS_ALLOW")
  if spec == nil or spec == "" then return nil end
  local list = {}
  for item in spec:gmatch("[^,%s]+") do list[#list + 1] = item end
  return list
end

--- GET /metrics: Prometheus' text format, for the addresses of METRICS_ALLOW (loopback by default).
function M.metrics_endpoint()
  local ngx = host.ngx()
  if not metrics_mod.allowed(ngx.var.remote_addr, allow_list()) then
    ngx.status = 403
    ngx.say("forbidden")
    return ngx.exit(403)
  end
  local body = require("routes").router():expose_metrics() or M.metrics():expose()
  ngx.header["Content-Type"] = metrics_mod.CONTENT_TYPE
  ngx.print(body)
end

local started = os.time()
--- GET /v1/models: every route and alias of the route table, in OpenAI's list shape. The same auth as the
--- other /v1 endpoints.
function M.models_endpoint()
  local ngx = host.ngx()
  local json = require("tanstack.ai.json")
  local compat = require("tanstack.ai.openai_compat")
  M.request_id()
  local router = require("routes").router()
  local consumer, err = router:authenticate(ngx.var.http_authorization)
  if not consumer then
    local body, status = compat.error_body(err)
    M.refused("models", status, err)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["WWW-Authenticate"] = 'Bearer realm="router"'
    ngx.print(body)
    return ngx.exit(status)
  end
  local list = require("tanstack.ai.wire.openai_embeddings").models_list(router:models(), started)
  ngx.header["Content-Type"] = "application/json"
  ngx.print(json.encode(list))
end

return M
