#!/bin/sh
# make check-tools (the first step of make check): every program make check runs is here, or one message names
# the missing ones and the command that installs them, before anything starts.
# NODE and NPM name the Node.js programs (default node, npm).
node=${NODE:-node}
npm=${NPM:-npm}
missing=""
need() { # $1: the name to report, $2...: programs, any of which will do
  what=$1
  shift
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 && return 0
  done
  missing="$missing $what"
}
# Node.js: the emulator every test talks to, and npm for make test-openresty's @tanstack/ai-client + Chromium driver
if [ "$node" = node ]; then need node node nodejs; else need "$node" "$node"; fi
need "$npm" "$npm"
need lua5.4 lua5.4
need luajit luajit
need busted busted
need luacheck luacheck
need luarocks luarocks
need pkg-config pkg-config
need cc cc
need gcc gcc
need git git
need unzip unzip
need curl curl
need nginx nginx /usr/sbin/nginx
need redis-server redis-server /usr/bin/redis-server
need redis-cli redis-cli
# make test-openresty: promtool checks GET /metrics, and a Prometheus server scrapes the example
need prometheus prometheus /usr/bin/prometheus
need promtool promtool /usr/bin/promtool
need chromium "${CHROMIUM:-chromium}" /usr/bin/chromium
if [ -n "$missing" ]; then
  echo "make check needs:$missing (not found)."
  case " $missing " in
    *" $node "*|*" $npm "*)
      echo "Node.js and npm run the local emulator every test talks to, and the browser tests (npm installs"
      echo "@tanstack/ai-client and playwright-core into spec/openresty)." ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    echo "Install them with:  sh scripts/setup.sh"
  else
    echo "Install them with:  sudo sh scripts/setup.sh   (or, as root, sh scripts/setup.sh)"
  fi
  exit 1
fi
# a LuaRocks build run in the checkout itself leaves tanstack/ai/core.so, which LuaJIT's default ./?.so would load
# (the specs name their C core explicitly, so this is a warning)
if [ -e tanstack/ai/core.so ]; then
  echo "check-tools: warning: ./tanstack/ai/core.so (from a 'luarocks make' run in the checkout) shadows build/ for"
  echo "  a LuaJIT or Lua started here; 'make clean' removes it (make rock-install builds from a copy)."
fi
echo "check-tools: all present"
