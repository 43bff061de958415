-- A stand-in for the deltas object (tanstack/ai/deltas.lua documents the interface) that records each call a wire
-- format's decoder makes, so a format's spec asserts what it decoded without running a turn.
--   local r = recorder.new({ provider = "p" }); format.decode_event(state, v, r)
--   r:names() -> { "text", "finish_reason" };  r:of("text") -> { { "Hel" }, { "lo" } } (each call's arguments)
local select, setmetatable, pairs, ipairs, type = select, setmetatable, pairs, ipairs, type

local M = {}

local METHODS = { "start", "text", "reasoning", "reasoning_signature", "tool_call", "usage", "finish_reason",
  "fail", "fail_payload", "warn", "finish" }

local Recorder = {}
Recorder.__index = Recorder

--- A recorder; `fields` (provider, done_seen, reason, finished) are copied onto it, as the real object has them.
function M.new(fields)
  local r = setmetatable({ calls = {} }, Recorder)
  for k, v in pairs(fields or {}) do r[k] = v end
  return r
end

for _, name in ipairs(METHODS) do
  Recorder[name] = function(self, ...)
    self.calls[#self.calls + 1] = { name = name, args = { ... }, n = select("#", ...) }
    if name == "finish_reason" then self.reason = (...) end
    if name == "fail" or name == "fail_payload" or name == "finish" then self.finished = true end
  end
end

--- The argument lists of the calls named `name`, in order.
function Recorder:of(name)
  local out = {}
  for _, c in ipairs(self.calls) do
    if c.name == name then out[#out + 1] = c.args end
  end
  return out
end

--- The names of the calls, in order.
function Recorder:names()
  local out = {}
  for i, c in ipairs(self.calls) do out[i] = c.name end
  return out
end

--- The string arguments of every call named `name` (default "text"), joined.
function Recorder:joined(name)
  local s = {}
  for _, c in ipairs(self.calls) do
    if c.name == (name or "text") and type(c.args[1]) == "string" then s[#s + 1] = c.args[1] end
  end
  return table.concat(s)
end

return M
