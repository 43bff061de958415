-- AG-UI event construction (in-process form) and ids.
-- Events carry deltas only; nothing here accumulates text.
local core = require("tanstack.ai.core")

local _M = {}

_M.now_ms = core.now_ms
local now_ms, random_hex = core.now_ms, core.random_hex
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

return _M
