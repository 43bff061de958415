-- An edge router over this module's adapters: a declarative route table (a model name or alias -> an ordered list
-- of targets), fallback before the first byte reaches the client, target health, weighted choice between equal
-- targets, an auth hook, a usage hook once per run and a token limiter. Every piece of state is per worker, or per
-- host through a lua_shared_dict; limits across hosts are AI Gateway's (docs/openresty.md, "Edge router").
--
--   local router = require("cloudflare.tanstack_ai.router")
--   local r = router.new({
--     routes = {
--       chat = { aliases = { "gpt-4o-mini" }, targets = {
--         { name = "scout", adapter = "create_workers_ai_chat", model = "@cf/meta/llama-4-scout-17b-16e-instruct" },
--         { name = "8b", adapter = "create_workers_ai_chat", model = "@cf/meta/llama-3.1-8b-instruct",
--           config = { idleTimeout = 5000 } },
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
local ai = require("tanstack.ai")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local http = require("tanstack.ai.http")
local health_mod = require("cloudflare.tanstack_ai.router.breaker")
local limiter_mod = require("cloudflare.tanstack_ai.router.limiter")
local stream_mod = require("tanstack.ai.stream")

local type, pairs, ipairs, tostring, pcall, error, setmetatable = type, pairs, ipairs, tostring, pcall, error,
  setmetatable
local random, floor = math.random, math.floor

local _M = {}

local Router = {}
Router.__index = Router

local function fail(msg) error("router: " .. msg, 3) end

local function router_error(status, code, message, extra)
  local e = errors.new({ kind = "router", status = status, code = code, message = message, retryable = false })
  if extra then for k, v in pairs(extra) do e[k] = v end end
  return e
end
_M.error = router_error

local function copy(t)
  local o = {}
  if type(t) == "table" then for k, v in pairs(t) do o[k] = v end end
  return o
end

--- Check and index a route table. Raises on a mistake (a programmer error, at load time).
function _M.new(opts)
  if type(opts) ~= "table" or type(opts.routes) ~= "table" then fail("new{ routes = { name = { targets } } }") end
  local self = setmetatable({ routes = {}, names = {}, defaults = opts.defaults or {}, auth = opts.auth,
    on_usage = opts.onUsage or opts.on_usage, exposeErrorDetails = opts.exposeErrorDetails }, Router)
  local cf = require("cloudflare.tanstack_ai")
  for name, route in pairs(opts.routes) do
    if type(name) ~= "string" or type(route) ~= "table" or type(route.targets) ~= "table" or #route.targets == 0 then
      fail("route '" .. tostring(name) .. "' needs a non-empty targets list")
    end
    local r = { name = name, targets = {}, consumers = nil }
    if route.consumers then
      r.consumers = {}
      for k, v in pairs(route.consumers) do
        if type(k) == "number" then r.consumers[v] = true else r.consumers[k] = v and true or nil end
      end
    end
    for i, t in ipairs(route.targets) do
      local at = "route '" .. name .. "' target " .. i
      if type(t) ~= "table" then fail(at .. " must be a table") end
      local make = t.adapter
      if type(make) == "string" then
        if type(cf[make]) ~= "function" then fail(at .. ": unknown adapter constructor '" .. make .. "'") end
        make = cf[make]
      elseif type(make) ~= "function" then
        fail(at .. ": adapter must be a constructor name (\"create_workers_ai_chat\") or a function(model, config)")
      end
      if t.model ~= nil and type(t.model) ~= "string" then fail(at .. ": model must be a string") end
      if t.weight ~= nil and (type(t.weight) ~= "number" or t.weight <= 0) then fail(at .. ": weight must be > 0") end
      local tname = t.name or t.model or ("target" .. i)
      for _, other in ipairs(r.targets) do
        if other.name == tname then fail(at .. ": two targets named '" .. tname .. "' (give each a name)") end
      end
      r.targets[i] = { name = tname, key = name .. "/" .. tname, make = make, model = t.model, config = t.config,
        weight = t.weight or 1, priority = t.priority or i, maxRetries = t.maxRetries or 0 }
    end
    self.routes[name] = r
    self.names[name] = r
    for _, alias in ipairs(route.aliases or {}) do
      if self.names[alias] and self.names[alias] ~= r then fail("alias '" .. alias .. "' names two routes") end
      self.names[alias] = r
    end
  end
  self.health = health_mod.new(opts.health)
  for _, r in pairs(self.routes) do
    local own = opts.routes[r.name].health
    if own ~= nil then
      local h = copy(opts.health)
      for k, v in pairs(own) do h[k] = v end
      r.health = health_mod.new(h)
    else
      r.health = self.health
    end
  end
  if opts.limits then self.limiter = limiter_mod.new(opts.limits) end
  if opts.auth ~= nil and type(opts.auth) ~= "function" and (type(opts.auth) ~= "table" or type(opts.auth.keys) ~= "table") then
    fail("auth must be a function(token, ctx) or { keys = { [key] = consumer } }")
  end
  return self
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

--- Who calls: the Authorization header's value -> consumer, or nil, err (status 401 or 403, code). Without an
--- auth hook every caller is the consumer "anonymous".
function Router:authenticate(authorization, ctx)
  local auth = self.auth
  if auth == nil then return "anonymous" end
  local token = type(authorization) == "string" and authorization:match("^[Bb]earer%s+(%S+)%s*$") or nil
  if type(auth) == "function" then
    local ok, consumer, status, message = pcall(auth, token, ctx)
    if not ok then
      return nil, router_error(500, "auth_failed", "the auth hook failed", { detail = tostring(consumer) })
    end
    if consumer then return consumer end
    status = status or 401
    return nil, router_error(status, status == 403 and "forbidden" or "invalid_api_key",
      message or (status == 403 and "this key may not call this endpoint" or "Incorrect API key provided."))
  end
  if token == nil then
    return nil, router_error(401, "invalid_api_key", "You didn't provide an API key: send Authorization: Bearer <key>.")
  end
  local consumer = auth.keys[token]
  if consumer == nil then return nil, router_error(401, "invalid_api_key", "Incorrect API key provided.") end
  return consumer
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
  table.sort(prios)
  local up, down = {}, {}
  for _, p in ipairs(prios) do
    local g = copy(groups[p])
    while #g > 0 do
      local total = 0
      for _, t in ipairs(g) do total = total + t.weight end
      local x, pick = random() * total, #g
      for j, t in ipairs(g) do
        x = x - t.weight
        if x < 0 then pick = j break end
      end
      local t = table.remove(g, pick)
      if route.health:down(t.key) then down[#down + 1] = t else up[#up + 1] = t end
    end
  end
  if #up == 0 then return down, true end
  return up, false
end

-- A failure worth another target (and counted against this one): retryable, a timeout, a refused connection.
local function should_fall_back(err)
  if type(err) ~= "table" then return false end
  if err.kind == "canceled" or err.kind == "router" then return false end
  if err.retryable then return true end
  local k = err.kind
  if k == "timeout" or k == "network" or k == "connect" then return true end
  return errors.retryable_status(err.status)
end
_M.should_fall_back = should_fall_back

-- A transport that records the answer's head (cf-aig-cache-status) and the model the upstream names.
local function recording_transport(base, info)
  local t = setmetatable({}, { __index = function(_, k) return http.transport(base)[k] end })
  t.name = http.transport(base).name
  t.request = function(req)
    local res, err = http.transport(base).request(req)
    if type(res) == "table" then
      local h = res.headers or {}
      info.cache_status = h["cf-aig-cache-status"] or info.cache_status
      info.upstream_status = res.status
      if type(res.body) == "string" then
        info.answered_model = res.body:match('"model"%s*:%s*"([^"]+)"') or info.answered_model
      elseif type(res.read) == "function" then
        local read, seen = res.read, 0
        res.read = function(...)
          local chunk, e = read(...)
          if type(chunk) == "string" and info.answered_model == nil and seen < 65536 then
            seen = seen + #chunk
            info.answered_model = chunk:match('"model"%s*:%s*"([^"]+)"')
          end
          return chunk, e
        end
      end
    end
    return res, err
  end
  return t
end

-- One target's adapter for this run (config: defaults, the target's, no retries inside a target by default, and
-- the recording transport).
local function target_adapter(self, target, info)
  local cfg = copy(self.defaults.config)
  for k, v in pairs(target.config or {}) do cfg[k] = v end
  if cfg.maxRetries == nil then cfg.maxRetries = target.maxRetries end
  cfg.transport = recording_transport(cfg.transport, info)
  return target.make(target.model, cfg)
end

-- Event types that carry nothing the client needs before the answer itself: held while a target may still fail.
local HOLD = { RUN_STARTED = true, TEXT_MESSAGE_START = true }

-- The adapter ai.chat runs with: a turn tries the route's targets in order until one commits (its first event
-- beyond HOLD); once anything of the run reached the client, a failure is the run's RUN_ERROR, and later turns
-- (after server tools) stay on the committed target.
local function run_adapter(self, route, run)
  local adapter = { model = route.name, name = "router" }
  function adapter.chat_stream(_, options)
    local order = run.committed and { run.target } or run.order
    local idx = 0
    local current, held, hh, ht = nil, {}, 1, 0
    local committed = run.committed
    local finished = false
    local function open_next()
      while true do
        idx = idx + 1
        local target = order[idx]
        if target == nil then return false end
        run.attempts[#run.attempts + 1] = { target = target.name }
        run.target = target
        local ok, a = pcall(target_adapter, self, target, run.info)
        if ok then
          local ok2, p = pcall(a.chat_stream, a, options)
          if ok2 then
            current = p
            run.info.model = target.model
            return true
          end
          a = p
        end
        run.attempts[#run.attempts].error = "adapter"
        run.last_error = errors.new({ kind = "internal", retryable = false,
          message = "target " .. target.name .. ": " .. tostring(a) })
      end
    end
    local function seen(ev)
      local t = ev.type
      if t == "RUN_FINISHED" then
        run.usage_add(ev.usage)
        route.health:success(run.target.key)
      elseif t == "RUN_ERROR" then
        local err = ev.error or errors.new({ message = ev.message, code = ev.code })
        run.attempts[#run.attempts].error = tostring(err.code or err.status or err.kind or "error")
        if should_fall_back(err) then route.health:failure(run.target.key) end
        run.failed(err)
      end
      return ev
    end
    local function next_event()
      if hh <= ht then
        local ev = held[hh]
        held[hh] = nil
        hh = hh + 1
        return ev
      end
      if current == nil then
        if finished then return nil end
        if not open_next() then
          finished = true
          local err = run.last_error or router_error(502, "no_target", "no target of this route could be called")
          run.failed(err)
          return { type = "RUN_ERROR", model = route.name, runId = options.runId, threadId = options.threadId,
            message = err.message, code = err.code, error = err }
        end
      end
      while true do
        local ev = current.next()
        if committed then
          if ev == nil then current, finished = nil, true return nil end
          return seen(ev)
        end
        if ev == nil then
          -- an answer without content: it counts as the target's
          committed, run.committed = true, true
          current, finished = nil, true
          return next_event()
        end
        if HOLD[ev.type] then
          ht = ht + 1
          held[ht] = ev
        elseif ev.type == "RUN_ERROR" then
          local err = ev.error or errors.new({ message = ev.message, code = ev.code })
          if should_fall_back(err) and order[idx + 1] ~= nil then
            run.attempts[#run.attempts].error = tostring(err.code or err.status or err.kind or "error")
            route.health:failure(run.target.key)
            run.last_error = err
            pcall(current.close)
            current = nil
            held, hh, ht = {}, 1, 0
            if not open_next() then
              committed, finished = true, true
              return seen(ev)
            end
          else
            committed = true
            ht = ht + 1
            held[ht] = seen(ev)
            return next_event()
          end
        else
          -- the first event of the answer: this target answers, and what was held goes out before it
          committed, run.committed = true, true
          route.health:success(run.target.key)
          ht = ht + 1
          held[ht] = seen(ev)
          return next_event()
        end
      end
    end
    -- events next_event hands out without a read: what is held, and once committed the target's ready events (one
    -- next_event per target event then)
    local function pending()
      local n = ht - hh + 1
      if committed and current ~= nil and current.pending ~= nil then n = n + current.pending() end
      return n
    end
    return { next = next_event, pending = pending,
      close = function() if current and current.close then pcall(current.close) end end }
  end
  return adapter
end

local function usage_numbers(u)
  if type(u) ~= "table" then return 0, 0 end
  return u.promptTokens or u.prompt_tokens or u.inputTokens or 0,
    u.completionTokens or u.completion_tokens or u.outputTokens or 0
end

--- Start a run on the route `name` names. chat_opts: ai.chat's options without adapter. ctx: consumer (from
--- authenticate), and anything the usage hook should see (ctx.request_id, ...). Returns ai.chat's stream,
--- primed (events pulled until the run committed to a target or failed): stream.error is the error when it
--- failed before its first byte (every target tried), stream.info the run's facts. Or nil, err: an unknown model
--- (404), a consumer the route does not serve (403), over the token limit (429, err.retry_after).
function Router:chat(name, chat_opts, ctx)
  ctx = ctx or {}
  local route = self.names[name]
  if route == nil then
    return nil, router_error(404, "model_not_found", "The model '" .. tostring(name) .. "' does not exist.",
      { param = "model" })
  end
  local consumer = ctx.consumer or "anonymous"
  if route.consumers and not route.consumers[consumer] then
    return nil, router_error(403, "model_not_allowed", "this key may not use the model '" .. tostring(name) .. "'")
  end
  if self.limiter then
    local ok, wait = self.limiter:admit(consumer)
    if not ok then
      return nil, router_error(429, "rate_limit_exceeded", "Rate limit reached for tokens per minute; retry in "
        .. wait .. " s.", { retry_after = wait })
    end
  end
  local t0 = events.now_ms()
  local order, all_down = self:order(route)
  local run = { order = order, attempts = {}, committed = false, info = {}, input = 0, output = 0 }
  run.info.all_down = all_down
  function run.usage_add(u)
    local i, o = usage_numbers(u)
    run.input, run.output = run.input + i, run.output + o
  end
  function run.failed(err) run.error = run.error or err end
  local reported = false
  local function report()
    if reported then return end
    reported = true
    local total = run.input + run.output
    if self.limiter then pcall(self.limiter.charge, self.limiter, consumer, total) end
    if self.on_usage then
      local rec = {
        consumer = consumer, route = route.name, requestedModel = name,
        target = run.target and run.target.name or nil,
        model = run.info.answered_model or (run.target and run.target.model) or nil,
        targetModel = run.target and run.target.model or nil,
        inputTokens = run.input, outputTokens = run.output, latencyMs = floor(events.now_ms() - t0),
        cacheStatus = run.info.cache_status, ok = run.error == nil and run.finished == true,
        error = run.error and (run.error.code or run.error.status or run.error.kind) or nil,
        attempts = run.attempts, context = ctx,
      }
      if rec.error ~= nil then rec.error = tostring(rec.error) end
      local ok, e = pcall(self.on_usage, rec)
      if not ok then
        local ngx = rawget(_G, "ngx")
        if type(ngx) == "table" and ngx.log then ngx.log(ngx.ERR, "router: onUsage failed: ", tostring(e)) end
      end
    end
  end
  local o = copy(chat_opts)
  o.adapter = run_adapter(self, route, run)
  o.stream = nil
  local s = ai.chat(o)
  local function pull()
    local ev = s:next()
    if ev == nil then
      report()
    elseif ev.type == "RUN_FINISHED" then
      run.finished = true
    elseif ev.type == "RUN_ERROR" then
      run.failed(ev.error or { message = ev.message, code = ev.code })
    end
    return ev
  end
  -- prime: pull until the run has committed to a target (or failed / ended)
  local buffer, bh, bt = {}, 1, 0
  local first_error
  while true do
    local ev = pull()
    if ev == nil then break end
    bt = bt + 1
    buffer[bt] = ev
    if ev.type == "RUN_ERROR" then
      first_error = ev.error or router_error(502, ev.code, ev.message)
      break
    end
    if run.committed or ev.type == "RUN_FINISHED" then break end
  end
  local out = stream_mod.new({
    next = function()
      if bh <= bt then
        local ev = buffer[bh]
        buffer[bh] = nil
        bh = bh + 1
        return ev
      end
      return pull()
    end,
    pending = function() return bt - bh + 1 + s:pending() end,
    close = function()
      report()
      s:cancel()
    end,
  })
  out.error = first_error -- every target failed before the first byte (or the request was refused upstream)
  out.info = run.info
  out.run = run
  out.route = route.name
  -- the answering model as the upstream named it (known after priming for most providers), else the target's
  out.model = function() return run.info.answered_model or run.info.model or route.name end
  return out
end

return _M
