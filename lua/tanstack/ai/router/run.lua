-- A routed run: one request the router serves, from admission to its account. Its state is named fields a test
-- (or a status page) can read: route, consumer, requested, order, attempts, target, committed, info, input,
-- output, error, finished, estimated, admission. Run:account() is the one place a finished request is accounted
-- (the limiter's settlement, the onUsage hook; metrics belong there too).
--
-- Usage as it streams: the text and tool-call arguments a turn delivered are counted (about 4 bytes a token) until
-- the turn's usage arrives with its RUN_FINISHED; a turn that never reports it (a client that hung up, a provider
-- without usage) is charged by that count and the record says estimated = true.
--
-- Each model turn of the run is an Attempt: the route's targets tried in order until one commits (the adapter
-- producer ai.chat pulls). A target commits with its first event beyond HOLD; until then a failure worth another
-- target (should_fall_back) moves on to the next one, and the held events of the failed target are dropped. Once
-- anything of the run reached the client a failure is the run's RUN_ERROR, and later turns (after server tools)
-- stay on the committed target.
local ai = require("tanstack.ai")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local deltas = require("tanstack.ai.deltas")
local host = require("tanstack.ai.host")
local http = require("tanstack.ai.http")
local queue = require("tanstack.ai.queue")
local stream_mod = require("tanstack.ai.stream")

local type, pairs, tostring, tonumber, pcall, setmetatable = type, pairs, tostring, tonumber, pcall, setmetatable
local floor = math.floor

local _M = {}

local Attempt = {}
Attempt.__index = Attempt
_M.Attempt = Attempt

-- Event types that carry nothing the client needs before the answer itself: held while a target may still fail.
local HOLD = { RUN_STARTED = true, TEXT_MESSAGE_START = true }
_M.HOLD = HOLD

--- A failure worth another target (and counted against this one): retryable, a timeout, a refused connection.
function _M.should_fall_back(err)
  if type(err) ~= "table" then return false end
  if err.kind == "canceled" or err.kind == "router" then return false end
  if err.retryable then return true end
  local k = err.kind
  if k == "timeout" or k == "network" or k == "connect" then return true end
  return errors.retryable_status(err.status)
end
local should_fall_back = _M.should_fall_back

-- A transport that records the answer's head (cf-aig-cache-status) and the model the upstream names. The
-- decoders do not surface the answer's `model`, so the first 64 KiB of the body are looked at for it.
local function recording_transport(base, info)
  local t = setmetatable({}, { __index = function(_, k) return http.transport(base)[k] end })
  t.name = http.transport(base).name
  t.request = function(req)
    local res, err = http.transport(base).request(req)
    if type(res) ~= "table" then return res, err end
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
    return res, err
  end
  return t
end
_M.recording_transport = recording_transport

-- AI Gateway keeps at most 5 metadata entries (cf-aig-metadata); the request id takes one when there is room.
local METADATA_MAX = 5

-- A target reached through AI Gateway gets the request id in its cf-aig-metadata (requestId), so one request
-- can be followed from the client to the gateway's logs. Only the per-run copy of the config changes.
local function with_request_id(cfg, id)
  if type(id) ~= "string" or (cfg.gatewayId == nil and cfg.gateway_id == nil) then return end
  local md, n = {}, 0
  if type(cfg.metadata) == "table" then
    for k, v in pairs(cfg.metadata) do md[k] = v n = n + 1 end
  end
  if md.requestId == nil and n >= METADATA_MAX then return end
  md.requestId = id
  cfg.metadata = md
end
_M.with_request_id = with_request_id

-- One target's adapter for this run (config: the router's defaults, the target's, no retries inside a target by
-- default, and the recording transport).
local function target_adapter(run, target)
  local cfg = {}
  for k, v in pairs(run.router.defaults.config or {}) do cfg[k] = v end
  for k, v in pairs(target.config or {}) do cfg[k] = v end
  if cfg.maxRetries == nil then cfg.maxRetries = target.maxRetries end
  cfg.transport = recording_transport(cfg.transport, run.info)
  with_request_id(cfg, run.ctx.request_id)
  return target.make(target.model, cfg)
end
_M.target_adapter = target_adapter

--- A turn of `run` with ai.chat's turn options.
function _M.attempt(run, options)
  return setmetatable({
    run = run, options = options,
    order = run.committed and { run.target } or run.order,
    idx = 0,
    current = nil,         -- the producer of the target being tried
    held = queue.new(),    -- events held until the target commits (HOLD), then the ones to hand out
    committed = run.committed,
    finished = false,
  }, Attempt)
end

--- Open the next target of the order: true, or false when none is left (run.last_error says why).
function Attempt:open_next()
  local run = self.run
  while true do
    self.idx = self.idx + 1
    local target = self.order[self.idx]
    if target == nil then return false end
    run.attempts[#run.attempts + 1] = { target = target.name }
    run.target = target
    local ok, a = pcall(target_adapter, run, target)
    if ok then
      local ok2, p = pcall(a.chat_stream, a, self.options)
      if ok2 then
        self.current = p
        run.info.model = target.model
        return true
      end
      a = p
    end
    run.attempts[#run.attempts].error = "adapter"
    run.kinds[#run.attempts] = "adapter"
    run.last_error = errors.new({ kind = "internal", retryable = false,
      message = "target " .. target.name .. ": " .. tostring(a) })
  end
end

local function error_of(ev)
  return ev.error or errors.new({ message = ev.message, code = ev.code })
end

-- An error's kind as a bounded name (a metrics label): the library's kind, an HTTP status class by its code.
local function kind_of(err)
  local k = type(err) == "table" and err.kind or nil
  local st = type(err) == "table" and tonumber(err.status) or nil
  if (k == nil or k == "http" or k == "provider") and st and st >= 100 and st < 600 then
    return "http_" .. floor(st)
  end
  if type(k) == "string" and k:match("^[%w_]+$") and #k <= 32 then return k end
  return "error"
end
_M.kind_of = kind_of

-- The run's first answer event: time to first token.
local function first_token(run)
  if run.ttft == nil then run.ttft = floor(events.now_ms() - run.t0) end
end

--- An event of the committed target, on its way out: its run end is noted (usage, health, the error), its
--- output counted.
function Attempt:seen(ev)
  local t = ev.type
  if t == "TEXT_MESSAGE_CONTENT" or t == "TOOL_CALL_ARGS" then
    local d = ev.delta
    if type(d) == "string" then self.run.turn_bytes = self.run.turn_bytes + #d end
  elseif t == "RUN_FINISHED" then
    local run = self.run
    run:add_usage(ev.usage)
    run.route.health:success(run.target.key)
  elseif t == "RUN_ERROR" then
    local run = self.run
    local err = error_of(ev)
    run.attempts[#run.attempts].error = tostring(err.code or err.status or err.kind or "error")
    run.kinds[#run.attempts] = kind_of(err)
    if should_fall_back(err) then run.route.health:failure(run.target.key) end
    run:fail(err)
  end
  return ev
end

-- No target could be opened: the run's one RUN_ERROR, from the library's run-event producer (deltas).
function Attempt:no_target()
  self.finished = true
  local run = self.run
  local err = run.last_error or run.router_error(502, "no_target", "no target of this route could be called")
  run:fail(err)
  local out = deltas.new({ model = run.route.name, runId = self.options.runId, threadId = self.options.threadId,
    emit = self.held:pusher() })
  out:fail(err)
end

-- A RUN_ERROR before the target committed: the next target when it is worth one, else the run's error.
function Attempt:before_commit_error(ev)
  local err = error_of(ev)
  local run = self.run
  if should_fall_back(err) and self.order[self.idx + 1] ~= nil then
    run.attempts[#run.attempts].error = tostring(err.code or err.status or err.kind or "error")
    run.kinds[#run.attempts] = kind_of(err)
    run.route.health:failure(run.target.key)
    run.last_error = err
    pcall(self.current.close)
    self.current = nil
    self.held = queue.new()
    if not self:open_next() then
      self.committed, self.finished = true, true
      self.held:push(self:seen(ev))
    end
    return
  end
  self.committed = true
  self.held:push(self:seen(ev))
end

-- One event of the target before it committed: held, a fallback, or the commit.
function Attempt:uncommitted(ev)
  local run = self.run
  if ev == nil then
    -- an answer without content: it counts as the target's
    first_token(run)
    self.committed, run.committed = true, true
    self.current, self.finished = nil, true
  elseif HOLD[ev.type] then
    self.held:push(ev)
  elseif ev.type == "RUN_ERROR" then
    self:before_commit_error(ev)
  else
    -- the first event of the answer: this target answers, and what was held goes out before it
    first_token(run)
    self.committed, run.committed = true, true
    run.route.health:success(run.target.key)
    self.held:push(self:seen(ev))
  end
end

--- The next event of the turn, or nil at its end.
function Attempt:next()
  local ev = self.held:shift()
  if ev ~= nil then return ev end
  if self.current == nil then
    if self.finished then return nil end
    if not self:open_next() then
      self:no_target()
      return self.held:shift()
    end
  end
  if self.committed then
    ev = self.current.next()
    if ev == nil then
      self.current, self.finished = nil, true
      return nil
    end
    return self:seen(ev)
  end
  -- until a target commits (or none is left): hold, fall back
  repeat self:uncommitted(self.current.next()) until self.committed or self.current == nil
  return self:next()
end

--- Events next hands out without a read: what is held, and once committed the target's ready events.
function Attempt:pending()
  local n = self.held:size()
  local current = self.current
  if self.committed and current ~= nil and current.pending ~= nil then n = n + current.pending() end
  return n
end

function Attempt:close()
  local current = self.current
  if current and current.close then pcall(current.close) end
end

--- The producer { next, pending, close } ai.chat pulls. The committed target's plain events (every text delta)
--- pass straight through, without the method calls of Attempt:next.
function Attempt:producer()
  local a = self
  local function next_event()
    local current = a.current
    if a.committed and current ~= nil and a.held.head > a.held.tail then
      local ev = current.next()
      if ev ~= nil then
        local t = ev.type
        if t == "TEXT_MESSAGE_CONTENT" then
          -- counted as it streams: a client that hangs up before the usage arrives is still charged
          local run = a.run
          run.turn_bytes = run.turn_bytes + #ev.delta
          return ev
        end
        if t ~= "RUN_FINISHED" and t ~= "RUN_ERROR" and t ~= "TOOL_CALL_ARGS" then return ev end
        return a:seen(ev)
      end
      a.current, a.finished = nil, true
      return nil
    end
    return a:next()
  end
  return { next = next_event, pending = function() return a:pending() end, close = function() a:close() end }
end


---------------------------------------------------------------------------------------------------
-- The run
---------------------------------------------------------------------------------------------------

local Run = {}
Run.__index = Run
_M.Run = Run

--- router: the Router; route: the route; requested: the name the client asked for; ctx: the caller's context
--- (consumer, request_id, ...); order, all_down: Router:order's answer.
function _M.new(router, route, requested, ctx, order, all_down)
  return setmetatable({
    router = router, route = route, requested = requested, ctx = ctx,
    consumer = ctx.consumer or "anonymous",
    router_error = router.router_error,
    order = order,
    attempts = {},        -- { target = name, error = code? } per target tried
    kinds = {},           -- the error kind of each failed attempt (kind_of: a bounded metrics label)
    committed = false,    -- a target answered (later turns stay on it)
    target = nil,         -- the target tried last / committed
    info = { all_down = all_down }, -- model, answered_model, cache_status, upstream_status
    input = 0, output = 0, -- tokens over every turn
    turn_bytes = 0,        -- output delivered by the running turn, not yet covered by a reported usage
    turns_estimated = 0,   -- turns charged by estimate (their usage never arrived)
    prompt_estimate = 0,   -- the prompt's estimate (limiter.estimate), for a turn that reports no usage
    admission = nil,       -- the limiter's admission (router/limiter.lua), settled by account
    error = nil, finished = false, reported = false,
    t0 = events.now_ms(),
  }, Run)
end

local function usage_numbers(u)
  if type(u) ~= "table" then return 0, 0 end
  return u.promptTokens or u.prompt_tokens or u.inputTokens or 0,
    u.completionTokens or u.completion_tokens or u.outputTokens or 0
end

--- Add a turn's usage (TanStack's or OpenAI's names). A turn without usage numbers is estimated from what it
--- delivered.
function Run:add_usage(u)
  local i, o = usage_numbers(u)
  if i == 0 and o == 0 then return self:estimate_turn() end
  self.input, self.output = self.input + i, self.output + o
  self.turn_bytes = 0
end

--- Charge the running turn by estimate (its usage never arrived): the prompt's estimate in, the delivered
--- output (about 4 bytes a token) out.
function Run:estimate_turn()
  local b = self.turn_bytes
  if b == 0 and not self.committed then return end
  self.input = self.input + (self.prompt_estimate or 0)
  self.output = self.output + floor((b + 3) / 4)
  self.turn_bytes = 0
  self.turns_estimated = self.turns_estimated + 1
end

--- The run failed (the first error is kept).
function Run:fail(err)
  self.error = self.error or err
end

--- The run's usage record (what onUsage receives).
function Run:record()
  local target = self.target
  local rec = {
    consumer = self.consumer, route = self.route.name, requestedModel = self.requested,
    target = target and target.name or nil,
    model = self.info.answered_model or (target and target.model) or nil,
    targetModel = target and target.model or nil,
    inputTokens = self.input, outputTokens = self.output, latencyMs = floor(events.now_ms() - self.t0),
    cacheStatus = self.info.cache_status, ok = self.error == nil and self.finished == true,
    estimated = self.turns_estimated > 0,
    error = self.error and (self.error.code or self.error.status or self.error.kind) or nil,
    attempts = self.attempts, context = self.ctx,
    requestId = self.ctx.request_id, endpoint = self.ctx.endpoint, ttftMs = self.ttft,
    status = self:status(),
  }
  if rec.error ~= nil then rec.error = tostring(rec.error) end
  return rec
end

--- Milliseconds since the run started.
function Run:elapsed()
  return floor(events.now_ms() - self.t0)
end

--- The HTTP status the client got: its ctx.status when the endpoint set one; 200 once the answer started (a
--- later failure is an event in it); the error's status (502 by default) before; 499 for a client that left
--- before the end.
function Run:status()
  local st = self.ctx.status
  if st then return st end
  if self.committed then return self.finished and 200 or (self.error and 200 or 499) end
  if self.error then return tonumber(self.error.status) or 502 end
  return self.finished and 200 or 499
end

--- Account the finished run, once: charge the limiter, call onUsage, count its metrics.
function Run:account()
  if self.reported then return end
  self.reported = true
  local router = self.router
  -- a turn that delivered output but never reported its usage (the client hung up, the stream broke)
  if self.turn_bytes > 0 then self:estimate_turn() end
  local limiter = router.limiter
  if limiter then
    if self.admission then
      pcall(limiter.settle, limiter, self.admission, self.input + self.output)
    else
      pcall(limiter.charge, limiter, self.consumer, self.input + self.output)
    end
  end
  local rec = self:record()
  local m = router.metrics
  if m then
    rec.metricsConsumer = router:consumer_label(self.consumer, self.ctx)
    local ok, e = pcall(m.request, m, rec, self.kinds)
    if not ok then host.log_error(false, "router: metrics failed: ", tostring(e)) end
    pcall(m.inc, m, "tsai_open_streams", { endpoint = self.ctx.endpoint or "" }, -1)
    rec.metricsConsumer = nil
  end
  if router.on_usage then
    local ok, e = pcall(router.on_usage, rec)
    if not ok then host.log_error(false, "router: onUsage failed: ", tostring(e)) end
  end
end

--- The adapter ai.chat runs with: each model turn is an Attempt over the route's targets.
function Run:adapter()
  local run = self
  local adapter = { model = self.route.name, name = "router" }
  function adapter.chat_stream(_, options)
    return _M.attempt(run, options):producer()
  end
  return adapter
end

--- The next event of the run's stream (ai.chat's), noting its end.
function Run:pull()
  local ev = self.stream:next()
  if ev == nil then
    self:account()
  else
    local t = ev.type
    if t == "RUN_FINISHED" then
      self.finished = true
    elseif t == "RUN_ERROR" then
      self:fail(ev.error or { message = ev.message, code = ev.code })
    end
  end
  return ev
end

--- Pull until the run has committed to a target (or failed / ended). The events pulled wait in a queue; the
--- error when the run failed before its first byte.
function Run:prime()
  local primed = queue.new()
  while true do
    local ev = self:pull()
    if ev == nil then break end
    primed:push(ev)
    if ev.type == "RUN_ERROR" then
      return primed, ev.error or self.router_error(502, ev.code, ev.message)
    end
    if self.committed or ev.type == "RUN_FINISHED" then break end
  end
  return primed, nil
end

--- Start the run: ai.chat with chat_opts (its options without adapter) over this run's adapter, primed.
--- Returns ai.chat's stream form with error, info, run, route and model (see Router:chat).
function Run:start(chat_opts)
  local o = {}
  for k, v in pairs(chat_opts or {}) do o[k] = v end
  o.adapter = self:adapter()
  o.stream = nil
  local s = ai.chat(o)
  self.stream = s
  local primed, first_error = self:prime()
  local run = self
  local out = stream_mod.new({
    next = function()
      local ev = primed:shift()
      if ev ~= nil then return ev end
      return run:pull()
    end,
    pending = function() return primed:size() + s:pending() end,
    close = function()
      run:account()
      s:cancel()
    end,
  })
  out.error = first_error -- every target failed before the first byte (or the request was refused upstream)
  out.info = self.info
  out.run = self
  out.admission = self.admission -- the limiter's { limit, remaining, reset, reserved }: rate-limit headers
  out.route = self.route.name
  -- the answering model as the upstream named it (known after priming for most providers), else the target's
  out.model = function() return run.info.answered_model or run.info.model or run.route.name end
  return out
end

return _M
