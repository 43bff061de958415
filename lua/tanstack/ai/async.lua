-- Cooperative concurrency over the one libcurl multi handle: several requests in flight from coroutines,
-- in plain Lua or in an event loop that must not block (Neovim's libuv loop).
--
--   local async = require("tanstack.ai.async")
--   async.spawn(function() for ev in ai.chat{...} do ... end end)
--   async.spawn(function() local r = ai.summarize{...} end)
--   async.run()                      -- drive until every task is done (plain Lua)
--   async.attach_uv(vim.loop)        -- or: let a libuv timer drive them (Neovim), returns a stop function
--
-- Inside a task the libcurl transport never blocks: when no bytes are ready it yields to the scheduler,
-- which waits on the multi handle's sockets. Outside a task nothing changes (blocking calls).
local core = require("tanstack.ai.core")

local coroutine, type, error, tostring = coroutine, type, error, tostring
local min = math.min
local unpack = table.unpack or unpack -- luacheck: ignore

local _M = {}

local tasks = {}  -- array of live tasks, in spawn order
local by_co = setmetatable({}, { __mode = "k" })

local function now_ms()
  if core.monotonic_ms then return core.monotonic_ms() end
  return os.time() * 1000
end

local Task = {}
Task.__index = Task

--- Start fn(...) as a task. It runs on the next scheduler step. Returns the task:
--- task.done, task.ok, task.result (first return value), task.err (the error if fn raised).
function _M.spawn(fn, ...)
  if type(fn) ~= "function" then error("async.spawn: expected a function", 2) end
  local args, n = { ... }, select("#", ...)
  local co = coroutine.create(function() return fn(unpack(args, 1, n)) end)
  local t = setmetatable({ co = co, done = false, wake_at = nil }, Task)
  by_co[co] = t
  tasks[#tasks + 1] = t
  return t
end

--- The task running now, or nil outside tasks.
function _M.current()
  local co = coroutine.running()
  return co and by_co[co] or nil
end

--- Inside a task: call poll() until it returns something other than false, yielding in between.
--- Outside a task: poll once (callers only use this for non-blocking polls inside tasks).
function _M.await(poll)
  while true do
    local a, b, c = poll()
    if a ~= false then return a, b, c end
    coroutine.yield("io")
  end
end

--- Sleep ms: yields inside a task, else returns false (the caller sleeps blocking).
function _M.sleep(ms)
  local t = _M.current()
  if not t then return false end
  t.wake_at = now_ms() + ms
  while now_ms() < t.wake_at do coroutine.yield("sleep") end
  t.wake_at = nil
  return true
end

local function resume(t)
  local ok, res = coroutine.resume(t.co)
  if not ok then
    t.done, t.ok, t.err = true, false, res
  elseif coroutine.status(t.co) == "dead" then
    t.done, t.ok, t.result = true, true, res
  end
end

--- One scheduler round: resume every runnable task once, then wait up to wait_ms on the sockets.
--- Returns the number of tasks still running.
function _M.step(wait_ms)
  local live = {}
  local next_wake
  local now = now_ms()
  for i = 1, #tasks do
    local t = tasks[i]
    if not t.done then
      if t.wake_at == nil or t.wake_at <= now then resume(t) end
      if not t.done then
        live[#live + 1] = t
        if t.wake_at and (next_wake == nil or t.wake_at < next_wake) then next_wake = t.wake_at end
      end
    end
  end
  tasks = live
  if #live > 0 and wait_ms and wait_ms > 0 then
    local w = wait_ms
    if next_wake then w = min(w, next_wake - now_ms()) end
    if w > 0 then core.http_wait(w) end
  end
  return #live
end

--- Drive every task to completion (plain Lua). A task that raised has ok == false and err set.
function _M.run()
  while _M.step(50) > 0 do end
end

--- Let a libuv loop drive the tasks (Neovim: async.attach_uv(vim.loop)). Never blocks the loop.
--- Returns a function that stops the timer.
function _M.attach_uv(uv, interval_ms)
  local timer = uv.new_timer()
  timer:start(0, interval_ms or 10, function()
    local ok, err = pcall(_M.step, 0)
    if not ok then io.stderr:write("tanstack.ai.async: " .. tostring(err) .. "\n") end
  end)
  return function()
    timer:stop()
    if not timer:is_closing() then timer:close() end
  end
end

--- The number of live tasks.
function _M.pending()
  local n = 0
  for i = 1, #tasks do if not tasks[i].done then n = n + 1 end end
  return n
end

return _M
