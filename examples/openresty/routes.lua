-- The route table both endpoints of the example share: POST /api/chat (TanStack's wire, route "default") and
-- POST /v1/chat/completions (OpenAI's, the route the request's `model` names). See docs/openresty.md, "Edge router".
--
-- Environment (nginx passes only what nginx.conf lists with `env`):
--   CHAT_MODEL            the first target of the "default" route (default @cf/meta/llama-4-scout-17b-16e-instruct)
--   CHAT_FALLBACK_MODEL   its fallback (default @cf/meta/llama-3.1-8b-instruct-fp8)
--   ROUTER_API_KEYS       "key1:consumer1,key2:consumer2": turns the bearer-key auth of /v1/chat/completions on
--                         (unset: off, every caller is "anonymous")
--   ROUTER_TOKENS_PER_MINUTE  a token limit per consumer (per host in lua_shared_dict router_limits, or shared by
--                         every host through REDIS_URL); unset: none
--   ROUTER_CONCURRENT     a cap on each consumer's concurrent runs; unset: none
--   ROUTER_LIMITS_ON_STORE_ERROR  "open" (default: admit when the store is down) or "closed" (503)
--   REDIS_URL             redis://[:password@]host:port/db: limits, health, usage counters and the once-only
--                         ledger shared by every nginx pointed at it (unset: per host, lua_shared_dict)
--   ROUTER_ROUTES         a Lua module returning router.new's options, to replace this table entirely (the
--                         example adds its metrics and its JSON access line as onUsage when they are not set)
--   EMBEDDING_MODEL       the "embeddings" route's Workers AI model (default @cf/baai/bge-base-en-v1.5)
--   METRICS_ALLOW         who may read GET /metrics: "127.0.0.0/8,::1" (the default: loopback only), addresses and
--                         IPv4 CIDR ranges separated by commas
--
-- And what an operator needs from the example's edge, shared by its handlers: request ids, the per-request JSON
-- access line (nginx writes it: `access_log logs/ai_access.log tsai_json`), the metrics (GET /metrics), the model
-- list (GET /v1/models), the rate-limit headers, and the check of the route table when nginx starts (check).
-- Credentials: CLOUDFLARE_ACCOUNT_ID + CLOUDFLARE_API_KEY (or _TOKEN), read by every Workers AI target.
-- The router is provider-neutral (tanstack.ai.router): the targets below name Cloudflare's constructors, which
-- this example hands it (cloudflare.tanstack_ai.router is the same router with them already registered).
local router = require("tanstack.ai.router")
local cloudflare_router = require("cloudflare.tanstack_ai.router")
local host = require("tanstack.ai.host")
local store_mod = require("tanstack.ai.router.store")
local store_redis = require("tanstack.ai.router.store_redis")
local ingress = require("tanstack.ai.edge.ingress")
local relay = require("tanstack.ai.edge.relay")
local metrics_mod = require("tanstack.ai.metrics")

local M = {}

local function shared(name)
  if host.shared_dict(name) then return name end
  return nil -- outside nginx, or without the lua_shared_dict: per process
end

local function api_keys()
  local spec = os.getenv("ROUTER_API_KEYS")
  if spec == nil or spec == "" then return nil end
  local keys = {}
  for pair in spec:gmatch("[^,%s]+") do
    local key, consumer = pair:match("^([^:]+):(.+)$")
    keys[key or pair] = consumer or "default"
  end
  return { keys = keys }
end

local redis_store
--- The Redis store of REDIS_URL (one per worker: its connections go back to the cosocket pool), or nil.
function M.redis()
  local url = os.getenv("REDIS_URL")
  if url == nil or url == "" then return nil end
  redis_store = redis_store or store_redis.new({ url = url, prefix = os.getenv("REDIS_PREFIX") or "tsai:" })
  return redis_store
end

local local_state
--- The state store of the once-only ledger and the usage counters: Redis with REDIS_URL, else the host's
--- lua_shared_dict chat_state, else nil (the library's per-process store).
function M.state_store()
  local r = M.redis()
  if r then return r end
  local dict = host.shared_dict("chat_state")
  if dict then
    local_state = local_state or store_mod.shared(dict)
    return local_state
  end
  return nil
end

-- Where a piece of router state lives: { store = Redis } with REDIS_URL, else { dict = name } when the
-- lua_shared_dict exists, else {} (per worker).
local function placed(name)
  local r = M.redis()
  if r then return { store = r } end
  return { dict = shared(name) }
end

local function with(t, extra)
  for k, v in pairs(extra) do t[k] = v end
  return t
end

-- Usage counters per consumer and day (requests, tokens, estimated runs), in the state store.
local function count_usage(u)
  local st = M.state_store()
  if not st then return end
  local day = os.date("!%Y%m%d")
  local key = "u:" .. tostring(u.consumer) .. ":" .. day .. ":"
  pcall(st.incr, st, key .. "requests", 1, 0, 2 * 86400)
  pcall(st.incr, st, key .. "tokens", (u.inputTokens or 0) + (u.outputTokens or 0), 0, 2 * 86400)
  if u.estimated then pcall(st.incr, st, key .. "estimated", 1, 0, 2 * 86400) end
end
M.count_usage = count_usage

--- router.new's options for this example.
function M.options()
  local custom = os.getenv("ROUTER_ROUTES")
  if custom and custom ~= "" then return require(custom) end
  local tpm = tonumber(os.getenv("ROUTER_TOKENS_PER_MINUTE") or "")
  local concurrent = tonumber(os.getenv("ROUTER_CONCURRENT") or "")
  local limits
  if tpm or concurrent then
    limits = with(placed("router_limits"), { tokensPerMinute = tpm, concurrent = concurrent,
      onStoreError = os.getenv("ROUTER_LIMITS_ON_STORE_ERROR") or "open" })
  end
  return {
    routes = {
      -- POST /v1/embeddings: OpenAI SDK users may keep their embedding model's name
      embeddings = {
        kind = "embedding",
        aliases = { "text-embedding-3-small" },
        targets = {
          { name = "bge", adapter = "create_workers_ai_embedding",
            model = os.getenv("EMBEDDING_MODEL") or "@cf/baai/bge-base-en-v1.5" },
        },
      },
      default = {
        -- OpenAI SDK users can keep their model names: they map to this route
        aliases = { "gpt-4o-mini", "llama" },
        targets = {
          { name = "primary", adapter = "create_workers_ai_chat",
            model = os.getenv("CHAT_MODEL") or "@cf/meta/llama-4-scout-17b-16e-instruct",
            config = { idleTimeout = 30000 } },
          { name = "fallback", adapter = "create_workers_ai_chat",
            model = os.getenv("CHAT_FALLBACK_MODEL") or "@cf/meta/llama-3.1-8b-instruct-fp8" },
        },
      },
    },
    health = with(placed("router_health"), { failures = 3, cooldown = 30 }),
    limits = limits,
    auth = api_keys(),
    -- one JSON access line per request (nginx.conf: access_log logs/ai_access.log), and the usage counters
    onUsage = function(u)
      count_usage(u)
      M.on_usage(u)
    end,
  }
end

-- The example's operations on any route table (ROUTER_ROUTES's too): metrics, and the access line as the usage
-- hook when the table has none.
local function with_ops(opts)
  if opts.constructors == nil then opts.constructors = cloudflare_router.constructors() end
  if opts.metrics == nil and host.is_nginx() then opts.metrics = M.metrics() end
  if opts.onUsage == nil and opts.on_usage == nil then opts.onUsage = M.on_usage end
  return opts
end

-- Build every target's adapter once: an unknown constructor, missing credentials or a bad config raise here.
local function construct_targets(r)
  for name, route in pairs(r.routes) do
    for _, t in ipairs(route.targets) do
      local cfg = {}
      for k, v in pairs(r.defaults.config or {}) do cfg[k] = v end
      for k, v in pairs(t.config or {}) do cfg[k] = v end
      local ok, err = pcall(t.make, t.model, cfg)
      if not ok then
        error("route '" .. name .. "' target '" .. t.name .. "': " .. tostring(err), 0)
      end
    end
  end
end

--- Refuse a route table that cannot work, when nginx starts (init_by_lua in nginx.conf: nginx does not start,
--- and a reload keeps the old configuration): an unknown constructor, a target without credentials, several
--- workers without a signing secret they can share. Raises with one clear message.
function M.check(workers)
  local ok, err = pcall(function()
    local r = router.new(with_ops(M.options()))
    construct_targets(r)
  end)
  if not ok then error("routes: the route table cannot work: " .. tostring(err), 0) end
  local secret = os.getenv("CHAT_SIGNING_SECRET")
  -- (REDIS_URL without CHAT_SIGNING_SECRET: /api/chat answers 503 and logs why, chat_handler.signing_secret;
  -- the OpenAI endpoints, which run no server tools, keep serving)
  if secret == nil or secret == "" then
    if (workers or 1) > 1 and not host.shared_dict("chat_state") then
      error("routes: " .. workers .. " workers and no CHAT_SIGNING_SECRET nor lua_shared_dict chat_state: each "
        .. "worker would sign tool calls with its own secret; set CHAT_SIGNING_SECRET", 0)
    end
  end
  return true
end

local instance
--- The worker's router (built once per worker, at its first request).
function M.router()
  if instance == nil then instance = router.new(with_ops(M.options())) end
  return instance
end


---------------------------------------------------------------------------------------------------
-- Operations
---------------------------------------------------------------------------------------------------
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
  M.log_line(metrics_mod.access_line(u, { consumer = ctx.logConsumer }, host.now()))
end

--- A request refused before any run (401, 403, 404, 429, 413, 400): its access line, and its metrics (the
--- router counts the refusals it makes itself: 403, 404, 429).
function M.refused(endpoint, status, err, consumer, counted)
  local code = type(err) == "table" and (err.code or err.status) or nil
  M.log_line(metrics_mod.access_line({ requestId = M.request_id(), endpoint = endpoint, consumer = consumer,
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

--- The front half of an OpenAI-shaped endpoint (/v1/chat/completions, /v1/embeddings): the request id, POST only,
--- the bearer key, the body, the wire's parse. Returns the parsed request, the consumer, the request id and the
--- endpoint's fail(err, ran, counted), or nothing after answering an error itself. `fail` answers an error in
--- OpenAI's shape (with its rate-limit headers, Retry-After and WWW-Authenticate) and writes the refusal's access
--- line when no run did (counted: the router counted it in its metrics already).
function M.openai_front(endpoint, what, parse)
  local ngx = host.ngx()
  local compat = require("tanstack.ai.openai_compat")
  local request_id = M.request_id()
  local consumer
  local function fail(err, ran, counted)
    local body, status = compat.error_body(err)
    if status >= 500 then ngx.log(ngx.ERR, endpoint, ": ", tostring(err)) end
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    if type(err) == "table" and err.admission then M.ratelimit_headers(err.admission) end
    if type(err) == "table" and err.retry_after then ngx.header["Retry-After"] = tostring(err.retry_after) end
    if not ran then M.refused(endpoint, status, err, consumer, counted) end
    if status == 401 then ngx.header["WWW-Authenticate"] = 'Bearer realm="router"' end
    ngx.print(body)
    return ngx.exit(status)
  end
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    return fail(compat.error(405, "POST " .. what .. " here", "method_not_allowed"))
  end
  local aerr
  consumer, aerr = M.router():authenticate(ngx.var.http_authorization)
  if not consumer then return fail(aerr) end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body == nil and ngx.req.get_body_file() then
    return fail(compat.error(413, "the request body is too large", "request_too_large"))
  end
  local req, perr = parse(body or "")
  if not req then return fail(perr) end
  return req, consumer, request_id, fail
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
  local body = M.router():expose_metrics() or M.metrics():expose()
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
  local r = M.router()
  local consumer, err = r:authenticate(ngx.var.http_authorization)
  if not consumer then
    local body, status = compat.error_body(err)
    M.refused("models", status, err)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["WWW-Authenticate"] = 'Bearer realm="router"'
    ngx.print(body)
    return ngx.exit(status)
  end
  local list = require("tanstack.ai.wire.openai_embeddings").models_list(r:models(), started)
  ngx.header["Content-Type"] = "application/json"
  ngx.print(json.encode(list))
end

return M
