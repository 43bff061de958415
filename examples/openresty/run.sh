#!/bin/sh
# Run the example: nginx on http://127.0.0.1:${PORT:-8080} serving the chat page, POST /api/chat and
# POST /v1/chat/completions (OpenAI's API) from one route table (routes.lua; docs/openresty.md, "Edge router").
# With CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_KEY (or CLOUDFLARE_API_TOKEN) set it talks to Workers AI;
# otherwise it starts the project's local emulator and points the handler at it. Ctrl-C stops both.
set -e
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PREFIX="$ROOT/build/openresty"

make -s LUA=luajit all
[ -f build/openresty-vendor/tanstack-ai-client.js ] || make -s openresty-setup
mkdir -p "$PREFIX/logs" "$PREFIX/tmp"

if [ -z "$CLOUDFLARE_ACCOUNT_ID" ] || { [ -z "$CLOUDFLARE_API_KEY" ] && [ -z "$CLOUDFLARE_API_TOKEN" ]; }; then
  # the emulator exits with this shell's pid, which becomes nginx's after `exec`
  node spec/emulator/server.js --port 0 --parent-pid $$ --idle-exit 0 > "$PREFIX/emulator.out" 2>&1 &
  i=0
  while ! grep -q LISTENING "$PREFIX/emulator.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -le 100 ] || { echo "run.sh: the emulator did not start" >&2; exit 1; }
    sleep 0.1
  done
  EMU=$(sed -n 's/.*LISTENING \(http[^ ]*\).*/\1/p' "$PREFIX/emulator.out")
  export CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef CLOUDFLARE_API_KEY=demo-token CLOUDFLARE_API_BASE_URL="$EMU/client/v4"
  echo "run.sh: no Cloudflare credentials in the environment: using the local emulator at $EMU"
fi

PORT=${PORT:-8080}
CONF="$ROOT/examples/openresty/nginx.conf"
if [ "$PORT" != "8080" ]; then
  # the same configuration on another port (relative paths are the prefix's, so the copy may live there)
  sed "s/listen 127.0.0.1:8080;/listen 127.0.0.1:$PORT;/" "$CONF" > "$PREFIX/nginx.conf"
  CONF="$PREFIX/nginx.conf"
fi
echo "run.sh: open http://127.0.0.1:$PORT/ (OpenAI SDKs: baseURL http://127.0.0.1:$PORT/v1)"
[ -n "$ROUTER_API_KEYS" ] || echo "run.sh: /v1/chat/completions takes any caller (set ROUTER_API_KEYS=key:consumer,... for bearer keys)"
if [ "$(id -u)" = "0" ]; then
  # as root nginx would run its workers as "nobody"; they must read the repository
  exec nginx -p "$PREFIX/" -c "$CONF" -g "user root;"
fi
exec nginx -p "$PREFIX/" -c "$CONF"
