#!/bin/sh
# Install the Debian packages the build, the tests and the demo need.
#   sh scripts/setup.sh          as root (a container without sudo)
#   sudo sh scripts/setup.sh     as a normal user
# As root it installs what is missing; otherwise it prints the exact commands to run.
set -e
PKGS="build-essential pkg-config curl ca-certificates \
lua5.4 liblua5.4-dev lua-cjson lua-busted luarocks \
libcurl4-openssl-dev libssl-dev \
luajit2 libluajit2-5.1-dev \
nginx libnginx-mod-http-lua lua-nginx-redis redis-server prometheus chromium openssl \
valgrind clang libclang-rt-14-dev neovim lua-socket lua-check \
git unzip"
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
  echo "setup: missing:$missing"
  if command -v sudo >/dev/null 2>&1; then
    echo "setup: run it as root:  sudo sh scripts/setup.sh   (or: sudo apt-get install -y$missing)"
  else
    echo "setup: run it as root (sudo is not installed):  su -c 'sh scripts/setup.sh'"
    echo "  or, as root:  apt-get install -y$missing"
  fi
  exit 1
fi
