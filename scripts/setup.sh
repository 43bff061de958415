#!/bin/sh
# Install the Debian packages the build, the tests and the demo need.
# As root it installs them; otherwise it prints the exact command to run.
set -e
PKGS="build-essential pkg-config curl ca-certificates \
lua5.4 liblua5.4-dev lua-cjson lua-busted luarocks \
libcurl4-openssl-dev libssl-dev \
luajit2 libluajit2-5.1-dev \
nginx libnginx-mod-http-lua chromium openssl \
valgrind clang libclang-rt-14-dev neovim lua-socket lua-check"
# The emulator runs on Node.js (standard library only); Debian's nodejs is enough when none is installed.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
# make test-openresty installs the real @tanstack/ai-client and playwright-core from npm
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "setup: all packages present"
  exit 0
fi
if [ "$(id -u)" = "0" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing
else
  echo "setup: run as root:"
  echo "  sudo apt-get install -y$missing"
  exit 1
fi
