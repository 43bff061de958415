#!/bin/sh
# make emulator [PORT=8787]: the project's local emulator of Workers AI, AI Gateway and the providers behind it
# (spec/emulator/server.js, Node.js standard library only) in the foreground on 127.0.0.1, for your own scripts.
# It prints the export lines that point a script at it, then serves until Ctrl-C.
# The Workers AI REST API refuses a malformed account id, a missing key and an unknown model as Cloudflare does
# (spec/emulator/lib/strict.js); API_KEY=KEY: and any key but KEY; LENIENT=1: no refusals.
set -eu
cd "$(dirname "$0")/.."
port=${1:-${PORT:-8787}}
case $port in
  ''|*[!0-9]*) echo "make emulator: PORT must be a port number from 1 to 65535 (got '$port')" >&2; exit 2 ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "make emulator: PORT must be a port number from 1 to 65535 (got '$port')" >&2
  exit 2
fi
node=${NODE:-node}
if ! command -v "$node" >/dev/null 2>&1; then
  if [ "$node" = node ] && command -v nodejs >/dev/null 2>&1; then
    node=nodejs
  else
    echo "make emulator: needs Node.js ('$node' not found). Debian: apt-get install nodejs (scripts/setup.sh)" >&2
    exit 1
  fi
fi
url=http://127.0.0.1:$port
account=0123456789abcdef0123456789abcdef
key=emulator-api-key
set --
if [ -n "${API_KEY:-}" ]; then set -- --api-key "$API_KEY"; key=$API_KEY; fi
if [ -n "${LENIENT:-}" ]; then set -- "$@" --lenient; fi
cat <<MSG
make emulator: Workers AI and AI Gateway on $url (Ctrl-C stops it; PORT=... for another port).
Point your own script at it, in another shell:

export CLOUDFLARE_ACCOUNT_ID=$account
export CLOUDFLARE_API_KEY=$key
export CLOUDFLARE_API_BASE_URL=$url/client/v4
export CLOUDFLARE_AI_GATEWAY_BASE_URL=$url/v1

MSG
# --idle-exit 0: no idle shutdown (the tests' instances exit after 300 s without a request)
exec "$node" spec/emulator/server.js --port "$port" --idle-exit 0 "$@"
