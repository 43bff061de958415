-- The process bench/rss_bench.lua measures: nothing but one ai.chat stream of N text deltas, every event consumed,
-- then exit (its peak RSS is the stream's). The emulator's scenario is queued by the caller.
--   lua5.4 bench/rss_stream.lua <emulator url> <N>
package.path = (arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local ai = require("tanstack.ai")

local url, N = arg[1], tonumber(arg[2])
local n, last = 0, nil
for ev in ai.chat({ adapter = B.adapter(url), messages = B.MESSAGES }) do
  if ev.type == "TEXT_MESSAGE_CONTENT" then n = n + 1 end
  last = ev.type
end
if n ~= N or last ~= "RUN_FINISHED" then
  io.stderr:write(("rss_stream: %d text events of %d, last event %s\n"):format(n, N, tostring(last)))
  os.exit(1)
end
