-- A FIFO of events and the producer built on it: `next`, `pending` and `close` written once.
-- Every producer in the library (a model turn, the agent loop, the router's relay, the edge's writers) hands its
-- consumer the same three functions; this module is where the queue behind them lives.
local setmetatable = setmetatable
local concat = table.concat

local Queue = {}
Queue.__index = Queue

local _M = {}

--- An empty queue.
function _M.new()
  return setmetatable({ head = 1, tail = 0 }, Queue)
end

--- Append one item (nil is ignored: a queue never holds holes).
function Queue:push(v)
  if v == nil then return end
  local t = self.tail + 1
  self.tail = t
  self[t] = v
end

--- The oldest item, removed; nil when empty.
function Queue:shift()
  local h = self.head
  if h > self.tail then return nil end
  local v = self[h]
  self[h] = nil
  self.head = h + 1
  return v
end

--- How many items wait.
function Queue:size()
  return self.tail - self.head + 1
end

function Queue:empty()
  return self.head > self.tail
end

--- Every item (strings) concatenated into one, the queue emptied; nil when empty (a writer's piece).
function Queue:join()
  local h, t = self.head, self.tail
  if h > t then return nil end
  local s
  if h == t then s = self[h] else s = concat(self, "", h, t) end
  for i = h, t do self[i] = nil end
  self.head, self.tail = 1, 0
  return s
end

--- A function that pushes into this queue (an `emit` callback: one closure, no method lookup per event).
function Queue:pusher()
  local q = self
  return function(v)
    if v == nil then return end
    local t = q.tail + 1
    q.tail = t
    q[t] = v
  end
end

--- A producer { next, pending, close } over a queue that `fill` tops up.
---   fill(q) -> true while more may come, false when the source is over (called only when the queue is empty)
---   ready() -> how many items the source could hand out without waiting (optional; for `pending`)
---   on_close() (optional)
--- `next` returns nil once the queue is empty and `fill` said the source is over, or after `close`.
function _M.producer(q, fill, ready, on_close)
  local over, closed = false, false
  local p = {}
  function p.next()
    while not closed do
      local v = q:shift()
      if v ~= nil then return v end
      if over then return nil end
      if not fill(q) then over = true end
    end
    return nil
  end
  function p.pending()
    if closed then return 0 end
    local n = q:size()
    if ready and not over then n = n + (ready() or 0) end
    return n
  end
  function p.close()
    if closed then return end
    closed = true
    if on_close then on_close() end
  end
  return p
end

--- The producer of a hot path (a model turn: one item per text delta): the same { next, pending, close } as
--- `producer`, over a FIFO held in upvalues (no table field or method per item: LuaJIT traces it as one loop).
--- Returns the producer and push(v), the FIFO's one writer (an `emit` callback).
---   fill() -> true while more may come, false when the source is over (called only when the FIFO is empty)
---   on_close() (optional)
function _M.stream(fill, on_close)
  local head, tail, items = 1, 0, {}
  local over, closed = false, false
  local function push(v)
    if v == nil then return end
    tail = tail + 1
    items[tail] = v
  end
  local p = {}
  function p.next()
    while not closed do
      if head <= tail then
        local v = items[head]
        items[head] = nil
        head = head + 1
        return v
      end
      if over then return nil end
      if not fill() then over = true end
    end
    return nil
  end
  function p.pending()
    if closed then return 0 end
    return tail - head + 1
  end
  function p.close()
    if closed then return end
    closed = true
    if on_close then on_close() end
  end
  return p, push
end

--- A producer over a fixed list of items (an answer known in full, a refusal).
function _M.of(list)
  local q = _M.new()
  for i = 1, #list do q:push(list[i]) end
  return _M.producer(q, function() return false end)
end

return _M
