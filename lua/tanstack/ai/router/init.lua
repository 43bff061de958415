-- An edge router over any adapters, provider-neutral: a declarative route table (a model name or alias -> an
-- ordered list of targets), fallback before the first byte reaches the client, target health (breaker.lua),
-- weighted choice between equal targets, an auth hook, a usage hook once per run and a token limiter
-- (limiter.lua). Every piece of state lives in a store (store.lua): per worker, or per host through a
-- lua_shared_dict; limits across hosts are AI Gateway's (docs/openresty.md, "Edge router").
--
--   local router = require("tanstack.ai.router")
--   local r = router.new({
--     constructors = { create_workers_ai_chat = cf.create_workers_ai_chat }, -- names a target's adapter may use
--     routes = {
--       chat = { aliases = { "gpt-4o-mini" }, targets = {
--         { name = "scout", adapter = "create_workers_ai_chat", model = "@cf/meta/llama-4-scout-17b-16e-instruct" },
--         { name = "8b", adapter = function(model, config) ... end, model = "...", config = { idleTimeout = 5000 } },
--       } },
--     },
--     defaults = { config = { ... } },                       -- merged under each target's config
--     health = { failures = 3, cooldown = 30, dict = "router_health" },
--     limits = { tokensPerMinute = 20000, dict = "router_limits" },
--     auth = { keys = { ["sk-alice"] = "alice" } },          -- or function(token, ctx) -> consumer | nil, status, msg
--     onUsage = function(record) ... end,
--   })
--   local consumer, err = r:authenticate(ngx.var.http_authorization)
--   local stream, err = r:chat("chat", { messages = ..., tools = ... }, { consumer = consumer })
--   -- stream: ai.chat's stream, primed: stream.error is set when every target failed before the first byte
-- cloudflare.tanstack_ai.router is this module with Cloudflare's constructors registered.
local errors = require("tanstack.ai.errors")
local breaker = require("tanstack.ai.router.breaker")
local limiter_mod = require("tanstack.ai.router.limiter")
local run_mod = require("tanstack.ai.router.run")

local type, pairs, ipairs, tostring, pcall, error, setmetatable = type, pairs, ipairs, tostring, pcall, error,
  setmetatable
local random, sort, remove, ceil = math.random, table.sort, table.remove, math.ceil

local _M = {}

local Router = {}
Router.__index = Router
_M.Router = Router

local function fail(msg) error("router: " .. msg, 4) end

local function router_error(status, code, message, extra)
  local e = errors.new({ kind = "router", status = status, code = code, message = message, retryable = false })
  if extra then for k, v in pairs(extra) do e[k] = v end end
  return e
end
_M.error = router_error
Router.router_error = router_error

_M.should_fall_back = run_mod.should_fall_back

-- Constructors registered by name for every router of the process (router.register).
local registry = {}

--- Register an adapter constructor, function(model, config) -> adapter, under the name a target's `adapter`
--- may give. new's opts.constructors is the per-router form (it wins over this registry).
function _M.register(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("router.register(name, function(model, config) -> adapter)", 2)
  end
  registry[name] = fn
end

local function copy(t)
  local o = {}
  if type(t) == "table" then for k, v in pairs(t) do o[k] = v end end
  return o
end

-- A target's constructor: a function, or a name in opts.constructors or the registry.
local function constructor(make, constructors, at)
  if type(make) == "string" then
    local fn = constructors and constructors[make]
    if fn == nil then fn = registry[make] end
    if type(fn) ~= "function" then fail(at .. ": unknown adapter constructor '" .. make .. "'") end
    return fn
  elseif type(make) ~= "function" then
    fail(at .. ": adapter must be a registered constructor name (\"create_workers_ai_chat\") or a " ..
      "function(model, config)")
  end
  return make
end

local function check_target(t, at, taken, route_name, constructors, i)
  if type(t) ~= "table" then fail(at .. " must be a table") end
  local make = constructor(t.adapter, constructors, at)
  if t.model ~= nil and type(t.model) ~= "string" then fail(at .. ": model must be a string") end
  if t.weight ~= nil and (type(t.weight) ~= "number" or t.weight <= 0) then fail(at .. ": weight must be > 0") end
  local tname = t.name or t.model or ("target" .. i)
  for _, other in ipairs(taken) do
    if other.name == tname then fail(at .. ": two targets named '" .. tname .. "' (give each a name)") end
  end
  return { name = tname, key = route_name .. "/" .. tname, make = make, model = t.model, config = t.config,
    weight = t.weight or 1, priority = t.priority or i, maxRetries = t.maxRetries or 0 }
end

-- One route of the table, checked and indexed.
local function check_route(name, route, opts)
  if type(name) ~= "string" or type(route) ~= "table" or type(route.targets) ~= "table" or #route.targets == 0 then
    fail("route '" .. tostring(name) .. "' needs a non-empty targets list")
  end
  if route.kind ~= nil and route.kind ~= "chat" and route.kind ~= "embedding" then
    fail("route '" .. name .. "': kind must be \"chat\" (the default) or \"embedding\"")
  end
  local r = { name = name, targets = {}, consumers = nil, kind = route.kind or "chat", aliases = route.aliases or {} }
  if route.consumers then
    r.consumers = {}
    for k, v in pairs(route.consumers) do
      if type(k) == "number" then r.consumers[v] = true else r.consumers[k] = v and true or nil end
    end
  end
  for i, t in ipairs(route.targets) do
    r.targets[i] = check_target(t, "route '" .. name .. "' target " .. i, r.targets, name, opts.constructors, i)
  end
  return r
end

-- Each route's breaker: the router's, or its own when the route sets health options (merged over the router's).
local function breakers(self, opts)
  self.health = breaker.new(opts.health)
  for _, r in pairs(self.routes) do
    local own = opts.routes[r.name].health
    if own ~= nil then
      local h = copy(opts.health)
      for k, v in pairs(own) do h[k] = v end
      r.health = breaker.new(h)
    else
      r.health = self.health
    end
  end
end

--- Check and index a route table. Raises on a mistake (a programmer error, at load time).
--- opts: routes, constructors (name -> function(model, config)), defaults, health, limits, auth, onUsage,
--- exposeErrorDetails.
function _M.new(opts)
  if type(opts) ~= "table" or type(opts.routes) ~= "table" then
    error("router: new{ routes = { name = { targets } } }", 2)
  end
  if opts.constructors ~= nil and type(opts.constructors) ~= "table" then
    error("router: constructors must be a table of name -> function(model, config)", 2)
  end
  local self = setmetatable({ routes = {}, names = {}, defaults = opts.defaults or {}, auth = opts.auth,
    on_usage = opts.onUsage or opts.on_usage, exposeErrorDetails = opts.exposeErrorDetails,
    metrics = opts.metrics, metrics_consumer = opts.metricsConsumer }, Router)
  for name, route in pairs(opts.routes) do
    local r = check_route(name, route, opts)
    self.routes[name] = r
    self.names[name] = r
    for _, alias in ipairs(route.aliases or {}) do
      if self.names[alias] and self.names[alias] ~= r then error("router: alias '" .. alias .. "' names two routes", 2) end
      self.names[alias] = r
    end
  end
  breakers(self, opts)
  if opts.limits then self.limiter = limiter_mod.new(opts.limits) end
  if opts.auth ~= nil and type(opts.auth) ~= "function" and (type(opts.auth) ~= "table" or type(opts.auth.keys) ~= "table") then
    error("router: auth must be a function(token, ctx) or { keys = { [key] = consumer } }", 2)
  end
  return self
end

--- A consumer's name as a metrics label: opts.metricsConsumer(consumer, ctx) when given; else ctx.metricsConsumer
--- (an endpoint that knows, e.g. "browser"); else the consumer when auth is a key table (names the operator
--- configured), "anonymous", or "other" (an auth function's answers are not known to be few).
function Router:consumer_label(consumer, ctx)
  if self.metrics_consumer then return self.metrics_consumer(consumer, ctx) end
  if ctx and ctx.metricsConsumer then return ctx.metricsConsumer end
  if consumer == "anonymous" then return consumer end
  if type(self.auth) == "table" then
    for _, c in pairs(self.auth.keys) do
      if c == consumer then return consumer end
    end
  end
  return "other"
end

--- Count a request refused before a run started (401, 403, 404, 429, 503) in the metrics: route is the route's
--- name when known ("" otherwise: a requested name is the client's input), reason a limiter's refusal.
function Router:refused(endpoint, route, status, reason)
  local m = self.metrics
  if not m then return end
  local name = route and route.name or ""
  pcall(m.inc, m, "tsai_requests_total", { endpoint = endpoint or "", route = name, target = "", status = status })
  if reason then pcall(m.inc, m, "tsai_limiter_rejections_total", { route = name, reason = reason }) end
end

--- The exposition of the router's metrics (tanstack.ai.metrics), with each target's health as tsai_target_up.
function Router:expose_metrics()
  local m = self.metrics
  if not m then return nil end
  for _, r in pairs(self.routes) do
    for _, t in ipairs(r.targets) do
      m:set("tsai_target_up", { route = r.name, target = t.name }, r.health:down(t.key) and 0 or 1)
    end
  end
  return m:expose()
end

--- Every route and alias: { { id, route, kind } ... } sorted by id (what GET /v1/models lists).
function Router:models()
  local out = {}
  for name, r in pairs(self.names) do out[#out + 1] = { id = name, route = r.name, kind = r.kind } end
  sort(out, function(a, b) return a.id < b.id end)
  return out
end

--- The route a requested model name or alias names, or nil.
function Router:route(name)
  return self.names[name]
end

--- The health of a target ("route/target"): { fails, down }.
function Router:health_state(key)
  local route = self.routes[(key or ""):match("^(.*)/[^/]*$") or ""]
  return (route and route.health or self.health):state(key)
end

local function auth_hook(auth, token, ctx)
  local ok, consumer, status, message = pcall(auth, token, ctx)
  if not ok then
    return nil, router_error(500, "auth_failed", "the auth hook failed", { detail = tostring(consumer) })
  end
  if consumer then return consumer end
  status = status or 401
  return nil, router_error(status, status == 403 and "forbidden" or "invalid_api_key",
    message or (status == 403 and "this key may not call this endpoint" or "Incorrect API key provided."))
end

--- Who calls: the Authorization header's value -> consumer, or nil, err (status 401 or 403, code). Without an
--- auth hook every caller is the consumer "anonymous".
function Router:authenticate(authorization, ctx)
  local auth = self.auth
  if auth == nil then return "anonymous" end
  local token = type(authorization) == "string" and authorization:match("^[Bb]earer%s+(%S+)%s*$") or nil
  if type(auth) == "function" then return auth_hook(auth, token, ctx) end
  if token == nil then
    return nil, router_error(401, "invalid_api_key", "You didn't provide an API key: send Authorization: Bearer <key>.")
  end
  local consumer = auth.keys[token]
  if consumer == nil then return nil, router_error(401, "invalid_api_key", "Incorrect API key provided.") end
  return consumer
end

-- Draw a group's targets one by one, weighted, into up / down by their health.
local function draw(group, health, up, down)
  local g = copy(group)
  while #g > 0 do
    local total = 0
    for _, t in ipairs(g) do total = total + t.weight end
    local x, pick = random() * total, #g
    for j, t in ipairs(g) do
      x = x - t.weight
      if x < 0 then pick = j break end
    end
    local t = remove(g, pick)
    if health:down(t.key) then down[#down + 1] = t else up[#up + 1] = t end
  end
end

-- The targets of a route in the order to try them: by priority, weighted random within a priority, healthy
-- ones first (when every target is down, all are tried in that order rather than none).
function Router:order(route)
  local groups, prios = {}, {}
  for _, t in ipairs(route.targets) do
    local g = groups[t.priority]
    if not g then
      g = {}
      groups[t.priority] = g
      prios[#prios + 1] = t.priority
    end
    g[#g + 1] = t
  end
  sort(prios)
  local up, down = {}, {}
  for _, p in ipairs(prios) do draw(groups[p], route.health, up, down) end
  if #up == 0 then return down, true end
  return up, false
end

--- May `consumer` run on the route `name` names now, with a request that may cost `amount` tokens (its
--- reservation, limiter.estimate)? The route and the limiter's admission (nil without limits: { limit, remaining,
--- reset, reserved }, what rate-limit headers are made of), or nil, err: an unknown model (404), a consumer the
--- route does not serve (403), over the token limit or the concurrency cap (429, err.retry_after,
--- err.admission), the limits store down with onStoreError = "closed" (503).
function Router:admit(name, consumer, amount, ctx, kind)
  local route = self.names[name]
  local endpoint = ctx and ctx.endpoint
  if route == nil or (kind and route.kind ~= kind) then
    self:refused(endpoint, nil, 404)
    return nil, router_error(404, "model_not_found", "The model '" .. tostring(name) .. "' does not exist.",
      { param = "model" })
  end
  if route.consumers and not route.consumers[consumer] then
    self:refused(endpoint, route, 403)
    return nil, router_error(403, "model_not_allowed", "this key may not use the model '" .. tostring(name) .. "'")
  end
  if self.limiter then
    local adm, refused = self.limiter:reserve(consumer, amount)
    if adm then return route, adm end
    local wait = refused.retry_after
    self:refused(endpoint, route, refused.reason == "store" and 503 or 429, refused.reason)
    if refused.reason == "store" then
      return nil, router_error(503, "limits_unavailable", "The rate limiter is unavailable; retry in " .. wait
        .. " s.", { retry_after = wait, admission = refused })
    end
    local what = refused.reason == "concurrency" and ("Too many concurrent requests (at most "
      .. tostring(refused.concurrent_limit) .. ")") or "Rate limit reached for tokens per minute"
    return nil, router_error(429, "rate_limit_exceeded", what .. "; retry in " .. wait .. " s.",
      { retry_after = wait, admission = refused })
  end
  return route
end

--- Start a run on the route `name` names. chat_opts: ai.chat's options without adapter. ctx: consumer (from
--- authenticate), and anything the usage hook should see (ctx.request_id, ...). Returns ai.chat's stream,
--- primed (events pulled until the run committed to a target or failed): stream.error is the error when it
--- failed before its first byte (every target tried), stream.info the run's facts, stream.run the routed run
--- (router/run.lua), stream.admission the limiter's admission (limit, remaining, reset: rate-limit headers).
--- Or nil, err: an unknown model (404), a consumer the route does not serve (403), over the
--- token limit (429, err.retry_after).
function Router:chat(name, chat_opts, ctx)
  ctx = ctx or {}
  local amount, prompt
  if self.limiter then amount, prompt = limiter_mod.estimate(chat_opts, self.limiter.default_max_output) end
  local route, adm = self:admit(name, ctx.consumer or "anonymous", amount, ctx, "chat")
  if not route then return nil, adm end
  local order, all_down = self:order(route)
  local run = run_mod.new(self, route, name, ctx, order, all_down)
  if self.metrics then pcall(self.metrics.inc, self.metrics, "tsai_open_streams", { endpoint = ctx.endpoint or "" }) end
  run.admission, run.prompt_estimate = adm, prompt
  local ok, stream = pcall(run.start, run, chat_opts)
  if not ok then
    if adm then self.limiter:settle(adm, 0) end -- the reservation and the concurrency slot go back
    if self.metrics then pcall(self.metrics.inc, self.metrics, "tsai_open_streams", { endpoint = ctx.endpoint or "" }, -1) end
    error(stream, 0)
  end
  return stream
end

-- One embedding request on a target: the adapter's answer, or nil, err (an error table).
local function embed_on(run, target, embed_opts)
  run.attempts[#run.attempts + 1] = { target = target.name }
  run.target = target
  local ok, res, e = pcall(function()
    return run_mod.target_adapter(run, target):embed(embed_opts)
  end)
  if ok and type(res) == "table" then return res end
  local err = ok and e or res
  if type(err) ~= "table" then
    err = errors.new({ kind = "internal", retryable = false, message = "target " .. target.name .. ": "
      .. tostring(res) })
  end
  run.attempts[#run.attempts].error = tostring(err.code or err.status or err.kind or "error")
  run.kinds[#run.attempts] = run_mod.kind_of(err)
  return nil, err
end

--- Embeddings on the route `name` names (a route of kind "embedding"): the same auth, admission, fallback,
--- health, usage and metrics as chat. embed_opts: ai.embed's options without adapter ({ input, modelOptions }).
--- Returns { embeddings = {{...}}, model, usage = { inputTokens }, run } or nil, err (404, 403, 429 as chat; every
--- target failing: the last error, status 502 unless it had one).
function Router:embed(name, embed_opts, ctx)
  ctx = ctx or {}
  local amount = 1
  if self.limiter then
    local text = ""
    local input = embed_opts and embed_opts.input
    if type(input) == "string" then text = input
    elseif type(input) == "table" then for _, s in ipairs(input) do text = text .. tostring(s) end end
    amount = ceil(#text / 4) + 1
  end
  local route, adm = self:admit(name, ctx.consumer or "anonymous", amount, ctx, "embedding")
  if not route then return nil, adm end
  local order, all_down = self:order(route)
  local run = run_mod.new(self, route, name, ctx, order, all_down)
  run.admission = adm
  if self.metrics then pcall(self.metrics.inc, self.metrics, "tsai_open_streams", { endpoint = ctx.endpoint or "" }) end
  local res, err
  for i, target in ipairs(order) do
    res, err = embed_on(run, target, embed_opts)
    if res then
      run.committed, run.finished, run.ttft = true, true, run:elapsed()
      route.health:success(target.key)
      break
    end
    if not run_mod.should_fall_back(err) then break end
    route.health:failure(target.key)
    if order[i + 1] == nil then break end
  end
  if res then
    local u = res.usage or {}
    run.input = u.inputTokens or u.promptTokens or u.prompt_tokens or u.totalTokens or amount
    run.info.answered_model = res.model
  else
    if err.status == nil then err.status = 502 end
    run:fail(err)
  end
  run:account()
  if not res then return nil, err end
  res.run = run
  return res
end

return _M
