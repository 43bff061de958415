#!/bin/sh
# make dist: the source rock build/dist/cloudflare-tanstack-ai-<version>-1.src.rock from a clean `git archive` of
# HEAD (uncommitted changes are not in it).
#
# A source rock is a zip holding the rockspec and the source tree in the directory LuaRocks expects for the
# rockspec's source (cloudflare-tanstack-ai-lua/, the git repository's name): what `luarocks pack` makes after
# cloning the release tag, made here offline and without the tag. `luarocks install <file>.src.rock` builds it in a
# temporary directory.
#
# Before packing, the rockspecs in HEAD are compared with the ones scripts/gen_rockspec.lua generates from HEAD's
# tree: a module or C source added without `make rockspec` would be missing from the rock.
set -eu
cd "$(dirname "$0")/.."
lua=${LUA:-lua5.4}
command -v git >/dev/null 2>&1 || { echo "dist: git is required" >&2; exit 1; }
git rev-parse --verify -q HEAD >/dev/null || { echo "dist: not a git checkout with a commit" >&2; exit 1; }

version=$("$lua" scripts/gen_rockspec.lua --version)
name=cloudflare-tanstack-ai-$version-1
out=build/dist
tmp=$out/tmp
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/gen"
git archive --format=tar HEAD | tar -xf - -C "$tmp/src"

(cd "$tmp/src" && "$lua" scripts/gen_rockspec.lua --out ../gen >/dev/null)
for f in cloudflare-tanstack-ai-scm-1.rockspec "$name.rockspec"; do
  if [ ! -f "$tmp/src/rockspec/$f" ]; then
    echo "dist: HEAD has no rockspec/$f: run make rockspec and commit rockspec/" >&2
    exit 1
  fi
  if ! cmp -s "$tmp/gen/$f" "$tmp/src/rockspec/$f"; then
    echo "dist: rockspec/$f in HEAD does not match HEAD's tree: run make rockspec and commit rockspec/" >&2
    diff -u "$tmp/src/rockspec/$f" "$tmp/gen/$f" >&2 || true
    exit 1
  fi
done
for f in LICENSE CHANGELOG.md README.md; do
  [ -f "$tmp/src/$f" ] || { echo "dist: HEAD has no $f" >&2; exit 1; }
done
grep -q "^## \[$version\]" "$tmp/src/CHANGELOG.md" || {
  echo "dist: CHANGELOG.md in HEAD has no '## [$version]' entry" >&2
  exit 1
}

# the source directory LuaRocks derives from the rockspec's source.url (…/cloudflare-tanstack-ai-lua.git)
srcdir=$(sed -n 's|^source = { url = "[^"]*/\([^/"]*\)\.git".*|\1|p' "$tmp/src/rockspec/$name.rockspec")
[ -n "$srcdir" ] || { echo "dist: no git source url in rockspec/$name.rockspec" >&2; exit 1; }

rock=$out/$name.src.rock
rm -f "$rock"
cp "$tmp/src/rockspec/$name.rockspec" "$tmp/$name.rockspec"
git archive --format=zip --add-file="$tmp/$name.rockspec" --prefix="$srcdir/" -o "$rock" HEAD
dirty=
[ -z "$(git status --porcelain --untracked-files=no)" ] || dirty=" (uncommitted changes are not in it)"
echo "dist: $rock from $(git rev-parse --short HEAD)$dirty"
echo "dist: install with: luarocks --lua-version=5.4 install --deps-mode=none $rock"
