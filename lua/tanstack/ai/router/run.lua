-- A routed run: one request the router serves, from admission to its account. Its state is named fields a test
-- (or a status page) can read: route, consumer, requested, order, attempts, target, committed, info, input,
-- output, error, finished. Run:account() is the one place a finished request is accounted (the limiter's
-- charge, the onUsage hook; metrics belong there too).
local ai = require("tanstack.ai")
local events = require("tanstack.ai.events")
local host = require("tanstack.ai.host")
local queue = require("tanstack.ai.queue")
local stream_mod = require("tanstack.ai.stream")
local attempt = require("tanstack.ai.router.attempt")

local type, pairs, tostring, pcall, setmetatable = type, pairs, tostring, pcall, setmetatable
local floor = math.floor

local _M = {}

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
    committed = false,    -- a target answered (later turns stay on it)
    target = nil,         -- the target tried last / committed
    info = { all_down = all_down }, -- model, answered_model, cache_status, upstream_status
    input = 0, output = 0, -- tokens over every turn
    error = nil, finished = false, reported = false,
    t0 = events.now_ms(),
  }, Run)
end

local function usage_numbers(u)
  if type(u) ~= "table" then return 0, 0 end
  return u.promptTokens or u.prompt_tokens or u.inputTokens or 0,
    u.completionTokens or u.completion_tokens or u.outputTokens or 0
end

--- Add a turn's usage (TanStack's or OpenAI's names).
function Run:add_usage(u)
  local i, o = usage_numbers(u)
  self.input, self.output = self.input + i, self.output + o
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
    error = self.error and (self.error.code or self.error.status or self.error.kind) or nil,
    attempts = self.attempts, context = self.ctx,
  }
  if rec.error ~= nil then rec.error = tostring(rec.error) end
  return rec
end

--- Account the finished run, once: charge the limiter, call onUsage.
function Run:account()
  if self.reported then return end
  self.reported = true
  local router = self.router
  if router.limiter then pcall(router.limiter.charge, router.limiter, self.consumer, self.input + self.output) end
  if router.on_usage then
    local ok, e = pcall(router.on_usage, self:record())
    if not ok then host.log_error(false, "router: onUsage failed: ", tostring(e)) end
  end
end

--- The adapter ai.chat runs with: each model turn is an Attempt over the route's targets.
function Run:adapter()
  local run = self
  local adapter = { model = self.route.name, name = "router" }
  function adapter.chat_stream(_, options)
    return attempt.new(run, options):producer()
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
  out.route = self.route.name
  -- the answering model as the upstream named it (known after priming for most providers), else the target's
  out.model = function() return run.info.answered_model or run.info.model or run.route.name end
  return out
end

return _M
