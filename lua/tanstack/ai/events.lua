-- AG-UI event construction (in-process form) and ids.
-- Events carry deltas only; nothing here accumulates text.
local ok_core, core = pcall(require, "tanstack.ai.core")

local floor = math.floor
local format = string.format

local _M = {}

local now_ms
if ok_core and core.now_ms then
  now_ms = core.now_ms
elseif ngx and ngx.now then -- luacheck: ignore
  now_ms = function() return floor(ngx.now() * 1000) end -- luacheck: ignore
else
  now_ms = function() return os.time() * 1000 end
end
_M.now_ms = now_ms

local counter = 0
local function random_hex(n)
  if ok_core and core.random_hex then return core.random_hex(n) end
  counter = counter + 1
  local t = {}
  for i = 1, n do t[i] = format("%02x", (math.random(0, 255) + counter + i) % 256) end
  return table.concat(t)
end
_M.random_hex = random_hex

--- An id like TanStack's generateId: "<prefix>-<16 hex>".
function _M.id(prefix)
  return (prefix or "chatcmpl") .. "-" .. random_hex(8)
end

--- Build an event: type, timestamp and model on every event, plus the given fields.
function _M.new(etype, model, fields)
  local e = fields or {}
  e.type = etype
  e.timestamp = e.timestamp or now_ms()
  e.model = e.model or model
  return e
end

--- A FIFO of events with O(1) push/pop.
local Queue = {}
Queue.__index = Queue

function _M.queue()
  return setmetatable({ head = 1, tail = 0 }, Queue)
end

function Queue:push(e)
  local t = self.tail + 1
  self.tail = t
  self[t] = e
end

function Queue:pop()
  local h = self.head
  if h > self.tail then return nil end
  local e = self[h]
  self[h] = nil
  self.head = h + 1
  return e
end

function Queue:empty()
  return self.head > self.tail
end

return _M
