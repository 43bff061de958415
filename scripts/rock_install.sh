#!/bin/sh
# make rock-install: build and install the scm rock into a tree (default build/rocks) for Lua 5.4 and for LuaJIT,
# offline (--deps-mode=none: LuaRocks does not see Debian's lua-cjson, which is used at run time).
#
# LuaRocks' builtin backend compiles next to the sources (csrc/*.o) and links tanstack/ai/core.so in the current
# directory, and LuaJIT's default package.cpath starts with ./?.so: a LuaJIT started in the checkout would load that
# Lua 5.4 build (undefined symbol: lua_newuserdatauv). So the rock is built from a copy of the tree in
# build/rock-src, and the checkout stays as it was.
#
# LuaJIT is Lua 5.1 to LuaRocks. Debian's luarocks picks /usr/bin/lua5.1 and /usr/include/lua5.1 for
# --lua-version=5.1 (luarocks itself depends on lua5.1, which --lua-dir=/usr finds before luajit), so LUA_INCDIR
# names LuaJIT's headers (pkg-config luajit).
#
# Then each interpreter, started outside the checkout, loads every module of the rock from the tree
# (scripts/rock_smoke.lua).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
tree=${1:-$root/build/rocks}
src=$root/build/rock-src
rockspec=rockspec/cloudflare-tanstack-ai-scm-1.rockspec
luarocks=${LUAROCKS:-luarocks}

command -v "$luarocks" >/dev/null 2>&1 || {
  echo "rock-install: luarocks is required (Debian: apt-get install luarocks; see scripts/setup.sh)" >&2
  exit 1
}

# the copy: the sources the rockspec names (lua/, csrc/, bin/, plugin/, doc/, spec/emulator/) and the rockspecs,
# without build products
rm -rf "$src"
mkdir -p "$src"
tar -cf - --exclude='*.o' --exclude='*.so' lua csrc rockspec LICENSE bin plugin doc spec/emulator | tar -xf - -C "$src"

build() { # $1: Lua version for LuaRocks, then extra arguments
  v=$1
  shift
  echo "== rock-install: Lua $v into $tree"
  (cd "$src" && "$luarocks" --lua-version="$v" --tree="$tree" make --deps-mode=none "$rockspec" "$@")
}

build 5.4
"${LUA54:-lua5.4}" "$root/scripts/rock_smoke.lua" "$tree" 5.4 "$src/$rockspec"

luajit_inc=$(pkg-config --variable=includedir luajit 2>/dev/null || true)
if [ -n "$luajit_inc" ] && [ -f "$luajit_inc/lua.h" ] && command -v "${LUAJIT:-luajit}" >/dev/null 2>&1; then
  build 5.1 "LUA_INCDIR=$luajit_inc"
  "${LUAJIT:-luajit}" "$root/scripts/rock_smoke.lua" "$tree" 5.1 "$src/$rockspec"
else
  echo "rock-install: LuaJIT or its headers not found (Debian: luajit2 libluajit2-5.1-dev): Lua 5.4 only"
fi
rm -rf "$src"
