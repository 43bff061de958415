-- base64 through the Lua API: ai.base64_encode / ai.base64_decode (the C core's codec, plus the Lua strings in and
-- out) on the same 10 MiB buffer as build/bench/base64_bench (bench/base64_bench.c), MiB/s of binary data, CPU time,
-- median of the rounds.      BENCH_B64_MIB=10 BENCH_B64_ROUNDS=9
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or "bench") .. "/?.lua;" .. package.path
local B = require("benchlib")
local ai = require("tanstack.ai")

local MIB = tonumber(os.getenv("BENCH_B64_MIB")) or 10
local ROUNDS = tonumber(os.getenv("BENCH_B64_ROUNDS")) or 9
local n = math.floor(MIB * 1048576)
n = n - n % 3
-- arbitrary bytes (a xorshift in 16-bit steps: fast to build on 5.1 and 5.4 alike)
local parts, x = {}, 12345
for i = 1, 4096 do
  x = (x * 1103515245 + 12345) % 2147483648
  parts[i] = string.char(math.floor(x / 65536) % 256, math.floor(x / 256) % 256, x % 256)
end
local block = table.concat(parts) -- 12 KiB
local bytes = block:rep(math.ceil(n / #block)):sub(1, n)

local encoded = ai.base64_encode(bytes)
assert(ai.base64_decode(encoded) == bytes, "base64 round trip")
local function time(f, arg1)
  local t = {}
  for i = 1, ROUNDS do
    collectgarbage("collect")
    local c0 = B.cpu()
    f(arg1)
    t[i] = B.cpu() - c0
  end
  return n / 1048576 / B.median(t)
end
local enc = time(ai.base64_encode, bytes)
local dec = time(ai.base64_decode, encoded)
B.say("%s: ai.base64_encode %.0f MiB/s, ai.base64_decode %.0f MiB/s (%.1f MiB, CPU, median of %d)", B.interp, enc, dec,
  n / 1048576, ROUNDS)
B.emit("b64lua.enc", enc)
B.emit("b64lua.dec", dec)
