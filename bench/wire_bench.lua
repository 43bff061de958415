-- Encoding AG-UI text deltas to the wire (the relay's per-event work), in one run: the generic encoder
-- (to_wire_chunk + json.encode) against the text-delta fast path, on the same 200k events. Prints µs per event
-- and the ratio.   lua5.4 bench/wire_bench.lua   (paths as in make bench)
local json = require("tanstack.ai.json")
local wire = require("tanstack.ai.wire")

local N = tonumber(arg and arg[1]) or 200000
local evs = {}
for i = 1, N do
  evs[i] = { type = "TEXT_MESSAGE_CONTENT", timestamp = 1764650000000 + i, model = "@cf/meta/llama-3.1-8b-instruct",
    messageId = "msg-0123456789abcdef", delta = "tok" .. (i % 97) .. " " }
end

local function run(f)
  collectgarbage()
  local t0 = os.clock()
  local n = 0
  for i = 1, N do n = n + #f(evs[i]) end
  return (os.clock() - t0) * 1e6 / N, n
end

local generic = function(ev) return "data: " .. json.encode(wire.to_wire_chunk(ev)) .. "\n\n" end
local g1 = run(generic)
local f1 = run(wire.encode_sse)
local g2 = run(generic)
local f2 = run(wire.encode_sse)
local g, f = math.min(g1, g2), math.min(f1, f2)
print(string.format("%s: generic %.2f us/event, fast path %.2f us/event, %.1fx (%d events)", _VERSION, g, f, g / f, N))
