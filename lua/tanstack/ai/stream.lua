-- The stream object returned by ai.chat{ stream = true }.
--   for chunk in stream do ... end        -- AG-UI events in order
--   for chunk in stream:iter() do ... end  -- same; on Lua 5.4 `break` closes the connection at once
--   stream:text()                          -- drain; the text, or nil, err
--   stream:cancel()                        -- close the upstream connection (idempotent)
--   stream:pending()                       -- events ready now: that many next() calls return without a read
-- A dropped stream is closed by the garbage collector (the C request's __gc on every Lua).
local errors = require("tanstack.ai.errors")

local setmetatable = setmetatable
local concat = table.concat

local _M = {}

local Stream = {}
Stream.__index = Stream

--- producer: { next = function() -> event|nil, close = function(), pending = function() -> n (optional) }
function _M.new(producer)
  return setmetatable({ producer = producer, closed = false }, Stream)
end

function Stream:next()
  if self.closed then return nil end
  local ev = self.producer.next()
  if ev == nil then self:cancel() end
  return ev
end

Stream.__call = Stream.next -- `for chunk in stream` calls this once per event: no extra frame

--- How many events next() hands out without waiting for the network (they arrived together: a relay writes them
--- as one piece). 0 when unknown (a producer without pending) or closed.
function Stream:pending()
  if self.closed then return 0 end
  local p = self.producer.pending
  if p == nil then return 0 end
  return p()
end

function Stream:iter()
  return Stream.next, self, nil, self
end

function Stream:cancel()
  if self.closed then return end
  self.closed = true
  if self.producer.close then self.producer.close() end
end
Stream.close = Stream.cancel
Stream.__close = function(self) self:cancel() end
Stream.__gc = function(self) self:cancel() end

--- Drain the stream: concatenated TEXT_MESSAGE_CONTENT deltas of every turn, or nil, err on RUN_ERROR.
function Stream:text()
  local buf, n = {}, 0
  for ev in self.next, self do
    if ev.type == "TEXT_MESSAGE_CONTENT" then
      n = n + 1
      buf[n] = ev.delta
    elseif ev.type == "RUN_ERROR" then
      self:cancel()
      return nil, errors.wrap(ev.error or { message = ev.message, code = ev.code })
    end
  end
  return concat(buf, "", 1, n)
end

--- Drain into a list of events (tests, small streams).
function Stream:collect()
  local out = {}
  for ev in self.next, self do out[#out + 1] = ev end
  return out
end

_M.Stream = Stream
return _M
