-- Cooperative concurrency over the one libcurl multi handle: several requests in flight from coroutines,
-- in plain Lua or in an event loop that must not block (Neovim's libuv loop).
--
--   local async = require("tanstack.ai.async")
--   local t = async.spawn(function() for ev in ai.chat{...} do ... end end)
--   async.spawn(function() local r = ai.summarize{...} end)
--   async.run()                      -- drive until every task is done (plain Lua)
--   local stop = async.attach_uv(vim.uv or vim.loop)   -- or: let a libuv loop drive them (Neovim)
--
-- Inside a task the libcurl transport never blocks: when no bytes are ready it yields to the scheduler,
-- which waits on the multi handle's sockets. Outside a task nothing changes (blocking calls).
--
-- attach_uv is driven by the sockets: libcurl tells the C core which sockets it waits on and when its next
-- timeout is (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION, recorded in C, never a call into Lua), and
-- this module keeps one libuv poll handle per socket and one timer. The loop wakes when bytes arrive or a
-- timeout is due, and sleeps otherwise: an idle editor with the scheduler attached never wakes.
local core = require("tanstack.ai.core")

local coroutine, type, error, tostring, pcall, select = coroutine, type, error, tostring, pcall, select
local min, ceil = math.min, math.ceil
local unpack = table.unpack or unpack -- luacheck: ignore

local _M = {}

local tasks = {}  -- array of live tasks, in spawn order
local by_co = setmetatable({}, { __mode = "k" })
local driver      -- the attach_uv driver, while attached

local function now_ms()
  if core.monotonic_ms then return core.monotonic_ms() end
  return os.time() * 1000
end

local function report(err)
  io.stderr:write("tanstack.ai.async: " .. tostring(err) .. "\n")
end

local Task = {}
Task.__index = Task

--- Start fn(...) as a task. It runs on the next scheduler step (attached to a libuv loop: on the next turn of
--- the loop). Returns the task: task.done, task.ok, task.result (first return value), task.err (the error if
--- fn raised). task.on_done, when set to a function, is called with the task once it is done (inside the
--- scheduler: in Neovim, in a libuv callback, so wrap editor calls in vim.schedule).
function _M.spawn(fn, ...)
  if type(fn) ~= "function" then error("async.spawn: expected a function", 2) end
  local args, n = { ... }, select("#", ...)
  local co = coroutine.create(function() return fn(unpack(args, 1, n)) end)
  local t = setmetatable({ co = co, done = false, wake_at = nil }, Task)
  by_co[co] = t
  tasks[#tasks + 1] = t
  if driver then driver.wake() end
  return t
end

--- The task running now, or nil outside tasks.
function _M.current()
  local co = coroutine.running()
  return co and by_co[co] or nil
end

--- Inside a task: call poll() until it returns something other than false, yielding in between.
--- Outside a task: poll once (callers only use this for non-blocking polls inside tasks).
--- handle (optional): the core.http_request poll() waits on; the task is then resumed only when that request
--- gained something (core.http_ready), not on every round: 1000 waiting streams cost nothing while idle.
function _M.await(poll, handle)
  local t = by_co[coroutine.running() or false]
  local id = handle and core.http_ready and handle:id() or nil
  while true do
    local a, b, c = poll()
    if a ~= false then
      if t then t.wait_id = nil end
      return a, b, c
    end
    if t then t.wait_id = id end
    coroutine.yield("io")
  end
end

--- Sleep ms: yields inside a task, else returns false (the caller sleeps blocking).
function _M.sleep(ms)
  local t = _M.current()
  if not t then return false end
  t.wake_at = now_ms() + ms
  if driver then driver.wake() end -- the timer must cover the new wake-up time
  while now_ms() < t.wake_at do coroutine.yield("sleep") end
  t.wake_at = nil
  return true
end

local wake_all = false -- async.wake(): the next round resumes every task

--- Something outside the tasks changed what a task waits for (a stream cancelled from an editor command, a
--- request closed): let the scheduler look at the tasks again soon. Attached to a libuv loop, this schedules a
--- step on the next turn of the loop; otherwise the next async.step resumes every task, whatever its request says.
function _M.wake()
  wake_all = true -- the next round resumes every task, whatever its request says
  if driver then driver.wake() end
end

local function finish(t)
  if t.on_done then
    local ok, err = pcall(t.on_done, t)
    if not ok then report("on_done: " .. tostring(err)) end
  end
end

local function resume(t)
  local ok, res = coroutine.resume(t.co)
  if not ok then
    t.done, t.ok, t.err = true, false, res
    finish(t)
  elseif coroutine.status(t.co) == "dead" then
    t.done, t.ok, t.result = true, true, res
    finish(t)
  end
end

-- The earliest wake_at of a sleeping task, or nil.
local function next_wake()
  local w
  for i = 1, #tasks do
    local t = tasks[i]
    if not t.done and t.wake_at and (w == nil or t.wake_at < w) then w = t.wake_at end
  end
  return w
end

--- One scheduler round: resume every runnable task once, then wait up to wait_ms on the sockets.
--- Returns the number of tasks still running.
function _M.step(wait_ms)
  -- the requests that moved since the last round (the engine moves in http_wait / socket actions only)
  local ready = core.http_ready and core.http_ready()
  local ready_set
  if wake_all then
    wake_all = false
  elseif ready ~= true and ready ~= nil then
    ready_set = {}
    for i = 1, #ready do ready_set[ready[i]] = true end
  end
  local round = tasks
  tasks = {}        -- tasks spawned during the round land here and are kept
  local live = {}
  local now = now_ms()
  for i = 1, #round do
    local t = round[i]
    if not t.done then
      local w = t.wait_id
      if w ~= nil then
        if ready_set == nil or ready_set[w] then resume(t) end
      elseif t.wake_at == nil or t.wake_at <= now then
        resume(t)
      end
      if not t.done then live[#live + 1] = t end
    end
  end
  for i = 1, #tasks do live[#live + 1] = tasks[i] end
  tasks = live
  if #live > 0 then
    local w = wait_ms or 0
    local wake = next_wake()
    if wake then w = min(w, wake - now_ms()) end
    -- one engine step per round even without waiting: it is what moves the transfers
    core.http_wait(w > 0 and w or 0)
  end
  return #live
end

--- Drive every task to completion (plain Lua). A task that raised has ok == false and err set.
function _M.run()
  while _M.step(50) > 0 do end
end

---------------------------------------------------------------------------------------------------
-- libuv: socket-driven (poll handles + one timer), or an interval timer with an old core
---------------------------------------------------------------------------------------------------

-- Rounds of the scheduler while a round made the engine move (a task's non-blocking read can complete another
-- task's transfer: that task must see it before the loop sleeps). Bounded: a stream that never stops moving
-- still returns to the loop.
local MAX_ROUNDS = 64

-- The socket-driven driver: one poll handle per socket libcurl watches, one timer for libcurl's deadline and the
-- tasks' sleeps. `wake` and `stop` are plain functions (the module calls driver.wake()).
local SocketDriver = {}
SocketDriver.__index = SocketDriver

local function close_handle(h)
  h:stop()
  if not h:is_closing() then h:close() end
end

-- Apply one of libcurl's socket changes ({fd, events}; "" = no longer watched) to the poll handles.
function SocketDriver:apply(fd, ev)
  local polls = self.polls
  local p = polls[fd]
  if ev == "" then
    -- libcurl no longer watches this socket (it may already be closed): a new socket with the same number
    -- gets a new handle
    if p then
      polls[fd] = nil
      close_handle(p)
    end
    return
  end
  if not p then
    p = self.new_poll(fd)
    polls[fd] = p
  end
  p:start(ev, function(err, events) self:pump(fd, err and "e" or events) end)
end

-- Apply libcurl's socket changes to the poll handles; arm the timer for the nearest deadline.
function SocketDriver:sync()
  local changes = core.http_sockets(self.full)
  self.full = false
  for i = 1, #changes do
    local c = changes[i]
    self:apply(c[1], c[2])
  end
  local ms = core.http_timeout()  -- libcurl's timer and the idle timeouts; -1: none
  local wake = next_wake()
  if wake then
    local w = ceil(wake - now_ms()) -- an integer: luv's timers take whole ms
    if w < 0 then w = 0 end
    if ms < 0 or w < ms then ms = w end
  end
  local timer = self.timer
  timer:stop()
  if ms >= 0 then timer:start(ms, 0, self.on_timer) end
end

-- Move the engine for a socket event (fd nil: the timer), run the tasks while it moves, then sync.
function SocketDriver:rounds(fd, ev)
  repeat
    self.again = false
    if fd then core.http_socket_action(fd, ev) else core.http_socket_action() end
    fd = nil
    local rounds = 0
    repeat
      local gen = core.http_generation()
      _M.step(0)
      rounds = rounds + 1
    until core.http_generation() == gen or rounds >= MAX_ROUNDS
    self:sync()
  until not self.again
end

function SocketDriver:pump(fd, ev)
  if self.running then
    self.again = true
    return
  end
  self.running = true
  self.wakeups = self.wakeups + 1
  local ok, err = pcall(self.rounds, self, fd, ev)
  self.running = false
  if not ok then
    report(err)
    pcall(self.sync, self)
  end
end

local function socket_driver(uv)
  local d = setmetatable({
    new_poll = uv.new_socket_poll or uv.new_poll,
    polls = {},  -- fd -> poll handle
    timer = uv.new_timer(), wakeups = 0, running = false, again = false,
    full = true, -- the first sync asks for every watched socket: requests may predate the driver
  }, SocketDriver)
  d.on_timer = function() d:pump(nil) end
  function d.wake()
    if d.running then
      d.again = true
      return
    end
    d.timer:stop()
    d.timer:start(0, 0, d.on_timer)
  end
  function d.stop()
    local timer = d.timer
    timer:stop()
    if not timer:is_closing() then timer:close() end
    for fd, p in pairs(d.polls) do
      d.polls[fd] = nil
      close_handle(p)
    end
  end
  -- requests started before attaching: their sockets and timers
  d.wake()
  return d
end

local function interval_driver(uv, interval_ms)
  local timer = uv.new_timer()
  local d = { wakeups = 0 }
  timer:start(0, interval_ms, function()
    d.wakeups = d.wakeups + 1
    local ok, err = pcall(_M.step, 0)
    if not ok then report(err) end
  end)
  function d.wake() end
  function d.stop()
    timer:stop()
    if not timer:is_closing() then timer:close() end
  end
  return d
end

--- Whether this build of the C core reports libcurl's sockets and timers (socket-driven attach_uv).
function _M.socket_driven()
  return core.http_sockets ~= nil and core.http_socket_action ~= nil and core.http_timeout ~= nil
    and core.http_generation ~= nil
end

--- Let a libuv loop drive the tasks (Neovim: async.attach_uv(vim.uv or vim.loop)). Never blocks the loop.
--- opts: nil; or a number, the polling interval in ms used only with a C core that cannot report its sockets
--- (default 10); or a table { poll = ms } to force polling every ms (a comparison point: it wakes the loop
--- every ms even when nothing streams). Attaching twice shares the one driver; it stops when every stop
--- function returned has been called. Returns the stop function; it closes the handles, which libuv releases on
--- the loop's next turn (Neovim's loop always turns; with luv in a script, run it once more: uv.run("nowait")).
function _M.attach_uv(uv, opts)
  if type(uv) ~= "table" or type(uv.new_timer) ~= "function" then
    error("async.attach_uv: expected a libuv binding (vim.uv or vim.loop)", 2)
  end
  local force_poll = type(opts) == "table" and opts.poll or nil
  if driver then
    if force_poll and driver.kind ~= "poll" then
      error("async.attach_uv: already attached (socket-driven)", 2)
    end
    driver.refs = driver.refs + 1
  else
    if force_poll or not _M.socket_driven() then
      driver = interval_driver(uv, force_poll or (type(opts) == "number" and opts) or 10)
      driver.kind = "poll"
    else
      driver = socket_driver(uv)
      driver.kind = "sockets"
    end
    driver.refs = 1
  end
  local d, stopped = driver, false
  return function()
    if stopped then return end
    stopped = true
    d.refs = d.refs - 1
    if d.refs == 0 then
      d.stop()
      if driver == d then driver = nil end
    end
  end
end

--- "sockets" (socket-driven), "poll" (interval timer) or nil when no libuv loop is attached.
function _M.attached()
  return driver and driver.kind or nil
end

--- While attached: { kind, wakeups (times the loop ran the scheduler), sockets (poll handles open) }; else nil.
function _M.stats()
  if not driver then return nil end
  local n = 0
  for _ in pairs(driver.polls or {}) do n = n + 1 end
  return { kind = driver.kind, wakeups = driver.wakeups, sockets = n }
end

--- The number of live tasks.
function _M.pending()
  local n = 0
  for i = 1, #tasks do if not tasks[i].done then n = n + 1 end end
  return n
end

return _M
