#!/bin/sh
# Deterministic twin of stream_bench.lua: instructions per event (valgrind --tool=callgrind) for the floor and for
# ai.chat end to end, on the same bytes, each minus the cost of starting the interpreter and loading the modules.
# Immune to a busy machine. Usage: sh bench/callgrind.sh [events]   (default 20000)
set -e
N=${1:-20000}
LUA=${LUA:-lua5.4}
tmp=$(mktemp -d)
trap 'kill $emu_pid 2>/dev/null; rm -rf "$tmp"' EXIT
node spec/emulator/server.js --port 0 --idle-exit 300 > "$tmp/emu.out" 2>&1 &
emu_pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q LISTENING "$tmp/emu.out" 2>/dev/null && break; sleep 0.3; done
url=$(sed -n 's/EMULATOR LISTENING //p' "$tmp/emu.out")
run() { valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" $LUA bench/callgrind_run.lua "$1" "$N" "$url" "$tmp/body.sse" 2>&1 \
  | sed -n 's/.*Collected : //p'; }
$LUA bench/callgrind_run.lua fetch "$N" "$url" "$tmp/body.sse"
base=$(run base); floor=$(run floor); e2e=$(run e2e)
$LUA -e "local b, f, e, n = $base, $floor, $e2e, $N
print(string.format('callgrind: floor %.0f instr/event, ai.chat end to end %.0f instr/event, ratio %.2fx (%d events)',
  (f - b) / n, (e - b) / n, (e - b) / (f - b), n))"
