# cloudflare-tanstack-ai for Lua — build, test, demo.
#   make            build the C core for Lua 5.4 (build/lua5.4/tanstack/ai/core.so)
#   make LUA=luajit build it for LuaJIT (build/luajit/...)
#   make test       the fast suite: every busted spec on Lua 5.4 and LuaJIT side by side (no nginx, no browser)
#   make check      everything: lint, C tests, both Lua suites, ASan, the rock, real nginx with the real client
#   make demo       stream a chat to the terminal (local emulator unless CLOUDFLARE_* are set; PROMPT="...")
#   make bench      every performance figure in one run, beside curl, OpenSSL and TanStack's TypeScript (README)
#   make emulator   the local emulator in the foreground on 127.0.0.1:8787 (PORT=...), with the export lines
#   make dist       the source rock build/dist/cloudflare-tanstack-ai-<version>-1.src.rock from git HEAD

LUA        ?= lua5.4
ifeq ($(LUA),luajit)
LUA_PC     ?= luajit
else
LUA_PC     ?= $(LUA)
endif
BUILD      ?= build/$(LUA)
CC         ?= cc
OPT        ?= -O2 -g
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
LUA_CFLAGS := $(shell pkg-config --cflags $(LUA_PC))
DEP_CFLAGS := $(shell pkg-config --cflags libcurl libcrypto)
DEP_LIBS   := $(shell pkg-config --libs libcurl libcrypto)
CFLAGS_ALL := -std=gnu99 -fPIC $(OPT) $(WARN) $(LUA_CFLAGS) $(DEP_CFLAGS) $(EXTRA_CFLAGS)

CORE_SRC   := $(wildcard csrc/*.c)
CORE_HDR   := $(wildcard csrc/*.h)
CORE_SO    := $(BUILD)/tanstack/ai/core.so

export LUA_PATH  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;
# Debian installs nginx in /usr/sbin, which a normal user's PATH lacks (make test-openresty starts it)
ifeq ($(shell command -v nginx 2>/dev/null),)
export PATH := $(PATH):/usr/sbin:/sbin
endif
export LUA_CPATH := $(CURDIR)/$(BUILD)/?.so;;

BUSTED     ?= busted
# .busted lets a plain `busted` find the modules; the targets below name the interpreter and the C core they test
# explicitly (a command-line --cpath wins over .busted's), and --ignore-lua where busted must not re-exec itself.
BUSTED_CPATH = --cpath='$(CURDIR)/$(BUILD)/?.so'

.PHONY: all check check-tools lint test test-c test-emulator test-lua test-luajit demo emulator bench bench-callgrind fuzz \
  valgrind asan setup clean rock

all: $(CORE_SO)

$(CORE_SO): $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(CORE_SRC) $(DEP_LIBS)

setup:
	@sh scripts/setup.sh

# The command the README names and CI runs. check-tools first: a missing node/npm (or other tool) is named up front.
check: check-tools lint bench-node test-c test-emulator test-lua test-luajit asan rock-install test-packaging test-openresty

# Every program make check runs, with the command that installs the missing ones (scripts/check_tools.sh).
NODE ?= node
NPM  ?= npm
check-tools:
	@NODE='$(NODE)' NPM='$(NPM)' sh scripts/check_tools.sh

# TanStack's TypeScript packages pinned by bench/package-lock.json: the reference the specs compare the agent loop's
# events with (spec/tanstack/ai/run_events_spec.lua) and make bench's baseline.
.PHONY: bench-node
bench-node: bench/node_modules/.package-lock.json
bench/node_modules/.package-lock.json: bench/package.json bench/package-lock.json
	$(NPM) ci --prefix bench --no-audit --no-fund --loglevel=error
	@touch $@

# The emulator's route tables: pattern syntax, no entry behind a catch-all, sample routings, live requests.
test-emulator:
	node spec/emulator/selfcheck.js

# The daily loop: both interpreters at once (the specs mostly wait on sockets), each with its own output.
test: all
	$(MAKE) LUA=luajit all
	@mkdir -p build
	@$(MAKE) --no-print-directory test-lua-only BUSTED_LUA=lua5.4 > build/test-lua5.4.log 2>&1 & p1=$$!; \
	 $(MAKE) --no-print-directory LUA=luajit test-lua-only BUSTED_LUA=luajit > build/test-luajit.log 2>&1 & p2=$$!; \
	 wait $$p1; s1=$$?; wait $$p2; s2=$$?; \
	 echo "== Lua 5.4"; grep -a "successes /" build/test-lua5.4.log || tail -n 3 build/test-lua5.4.log; echo "== LuaJIT"; grep -a "successes /" build/test-luajit.log || tail -n 3 build/test-luajit.log; \
	 if [ $$s1 -ne 0 ]; then cat build/test-lua5.4.log; fi; if [ $$s2 -ne 0 ]; then cat build/test-luajit.log; fi; \
	 [ $$s1 -eq 0 ] && [ $$s2 -eq 0 ]

test-lua: all
	$(MAKE) LUA=luajit all
	$(BUSTED) --lua=lua5.4 $(BUSTED_CPATH) -o utfTerminal spec

test-luajit:
	$(MAKE) LUA=luajit all
	$(MAKE) LUA=luajit test-lua-only BUSTED_LUA=luajit

test-lua-only:
	$(BUSTED) --lua=$(BUSTED_LUA) $(BUSTED_CPATH) -o utfTerminal spec

# ---- C core: unit tests, fuzzing, sanitizers (csrc/) ----
# The parsers and buffers: no Lua, no libcurl (http.c is the libcurl engine).
PURE_SRC   := $(filter-out csrc/l_% csrc/http.c,$(CORE_SRC))
CTEST_SAN  ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CORE_SPEC  ?= spec/core spec/tanstack spec/cloudflare
BUSTED_BIN ?= $(shell command -v $(BUSTED))
FUZZ_SECONDS ?= 20
FUZZ_CC    ?= clang
FUZZ_NAMES := $(patsubst csrc/fuzz/fuzz_%.c,%,$(wildcard csrc/fuzz/fuzz_*.c))
SAN_DIR    := build/asan-$(LUA)
SAN_SO     := $(SAN_DIR)/tanstack/ai/core.so

# The pure parsers, without Lua, under ASan/UBSan.
test-c:
	@mkdir -p $(BUILD)/ctest
	$(CC) -std=gnu99 -g -O1 $(WARN) $(CTEST_SAN) -Icsrc -Icsrc/test -o $(BUILD)/ctest/test_parsers csrc/test/test_parsers.c $(PURE_SRC)
	$(BUILD)/ctest/test_parsers

# Each libFuzzer harness for FUZZ_SECONDS; new inputs go to fuzz-out/corpus.
fuzz:
	@mkdir -p fuzz-out
	@set -e; for n in $(FUZZ_NAMES); do \
	  $(FUZZ_CC) -std=gnu99 -g -O1 $(WARN) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Icsrc -Icsrc/test -o fuzz-out/fuzz_$$n csrc/fuzz/fuzz_$$n.c $(PURE_SRC); \
	  mkdir -p fuzz-out/corpus/$$n csrc/fuzz/corpus/$$n; \
	  dict=; [ -f csrc/fuzz/$$n.dict ] && dict=-dict=csrc/fuzz/$$n.dict; \
	  echo "== fuzz_$$n for $(FUZZ_SECONDS)s"; \
	  fuzz-out/fuzz_$$n $$dict -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=fuzz-out/fuzz_$$n- fuzz-out/corpus/$$n csrc/fuzz/corpus/$$n; \
	done

# core.so with ASan/UBSan inside the (uninstrumented) interpreter. Helper
# tools the specs spawn (curl, node) run through wrappers without the preload:
# /usr/bin/curl hangs with libasan preloaded.
asan:
	@mkdir -p $(dir $(SAN_SO)) build/asan-bin
	gcc $(CFLAGS_ALL) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -shared -o $(SAN_SO) $(CORE_SRC) $(DEP_LIBS)
	@for t in curl node nodejs; do p=$$(command -v $$t) || continue; \
	  printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$$@"\n' "$$p" > build/asan-bin/$$t; chmod +x build/asan-bin/$$t; done
	PATH="$(CURDIR)/build/asan-bin:$$PATH" LD_PRELOAD="$$(gcc -print-file-name=libasan.so)" \
	  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LUA_CPATH="$(CURDIR)/$(SAN_DIR)/?.so;;" $(LUA) $(BUSTED_BIN) --ignore-lua \
	  --cpath='$(CURDIR)/$(SAN_DIR)/?.so' $(CORE_SPEC)

# The C core's specs plus every spec that streams through it over HTTP (about 3 minutes).
VALGRIND_SPEC ?= spec/core spec/tanstack spec/cloudflare
valgrind: all
	valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
	  --suppressions=csrc/valgrind.supp $(LUA) $(BUSTED_BIN) --ignore-lua $(BUSTED_CPATH) $(VALGRIND_SPEC)

# The API reference from the LuaLS annotations (spec/packaging/docs_spec.lua checks it is up to date).
.PHONY: docs
docs:
	$(LUA) scripts/gen_api.lua

# Static checks of every Lua file (.luacheckrc: 5.1-compatible globals only).
lint:
	luacheck lua spec bench examples bin/cf-ai plugin --exclude-files 'spec/openresty/node_modules/**' -q

# make demo PROMPT="...": a thin call of the command line (bin/cf-ai chat); the emulator unless CLOUDFLARE_* are set.
PROMPT ?= Hello! Tell me what you are in one sentence.
export PROMPT
demo: all
	@if [ -z "$$CLOUDFLARE_ACCOUNT_ID" ] || [ -z "$$CLOUDFLARE_API_KEY$$CLOUDFLARE_API_TOKEN" ]; then \
	  echo "demo: no CLOUDFLARE_ACCOUNT_ID / CLOUDFLARE_API_KEY set: the local emulator" >&2; emu=--emulator; fi; \
	CF_AI_LUA=$(LUA) bin/cf-ai $$emu -v chat $${DEMO_MODEL:+-m "$$DEMO_MODEL"} -- "$$PROMPT"

# The local emulator in the foreground, for your own scripts: prints the export lines that point them at it.
PORT ?= 8787
emulator:
	@NODE='$(NODE)' sh scripts/emulator.sh '$(PORT)'

# make bench: every figure of the performance report in one run (bench/run.lua drives the sub-benchmarks of bench/:
# ai.chat vs the in-memory floor and vs TanStack's TypeScript reference, peak RSS vs curl, 1000 concurrent streams,
# keep-alive vs curl, base64 vs OpenSSL, require time, the nginx relay), Lua 5.4 and LuaJIT side by side, one table
# with the ratios and targets (a missed target never fails the make), the chart docs/bench.svg and README's table
# (BENCH_DOCS=0 leaves those two). Sizes: the BENCH_* variables listed in bench/run.lua. The TypeScript reference is
# installed into bench/node_modules from bench/package-lock.json; without npm it is skipped.
BENCH_BIN := build/bench/base64_bench build/bench/runstat

build/bench/base64_bench: bench/base64_bench.c csrc/base64.c csrc/buf.c csrc/base64.h csrc/buf.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu99 $(OPT) $(WARN) $(DEP_CFLAGS) -Icsrc -o $@ bench/base64_bench.c csrc/base64.c csrc/buf.c \
	  $(shell pkg-config --libs libcrypto)

build/bench/runstat: bench/runstat.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu99 $(OPT) $(WARN) -o $@ bench/runstat.c

bench: $(BENCH_BIN)
	$(MAKE) LUA=lua5.4 all
	$(MAKE) LUA=luajit all
	@if [ ! -f bench/node_modules/.package-lock.json ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then \
	  $(NPM) ci --prefix bench --no-audit --no-fund --loglevel=error || \
	  echo "bench: npm ci --prefix bench failed: the TypeScript reference is skipped"; fi
	@n=$$(ulimit -n); if [ "$$n" != unlimited ] && [ "$$n" -lt 21256 ]; then \
	  ulimit -n 21256 2>/dev/null || ulimit -n "$$(ulimit -Hn)" 2>/dev/null; \
	  echo "bench: ulimit -n $$(ulimit -n) (10000 streams through one nginx worker need 21256: edge_bench.lua runs what fits)"; fi; \
	LUA_CPATH='$(CURDIR)/build/lua5.4/?.so;;' lua5.4 bench/run.lua

# (tanstack/ and csrc/*.o: what a `luarocks make` run in the checkout itself leaves)
clean:
	rm -rf build fuzz-out tanstack
	rm -f csrc/*.o

# ---- OpenResty / nginx: spec/openresty, examples/openresty, docs/openresty.md ----
# openresty-setup: the Node side of the tests (real @tanstack/ai-client, playwright-core, esbuild; pinned by
# spec/openresty/package-lock.json) and the example page's @tanstack/ai-client bundle.
# test-openresty: real nginx (Debian nginx + libnginx-mod-http-lua) on 127.0.0.1 against the emulator: the transport
# conformance cases over cosockets, the wire form vs @tanstack/ai, the real client, the non-blocking proof, client
# disconnect, the example page in headless Chromium (screenshot: build/openresty-chat.png).
# openresty-example: the example on http://127.0.0.1:8080/ (the emulator unless CLOUDFLARE_* are set).
OPENRESTY_DIR    := spec/openresty
OPENRESTY_BUNDLE := build/openresty-vendor/tanstack-ai-client.js

.PHONY: openresty-setup test-openresty openresty-example

openresty-setup: $(OPENRESTY_DIR)/node_modules/.package-lock.json $(OPENRESTY_BUNDLE)

$(OPENRESTY_DIR)/node_modules/.package-lock.json: $(OPENRESTY_DIR)/package.json $(OPENRESTY_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "openresty-setup: npm is required (Debian: apt-get install npm)"; exit 1; }
	cd $(OPENRESTY_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(OPENRESTY_BUNDLE): $(OPENRESTY_DIR)/node_modules/.package-lock.json $(OPENRESTY_DIR)/bundle-entry.mjs
	@mkdir -p $(dir $@)
	cd $(OPENRESTY_DIR) && ./node_modules/.bin/esbuild bundle-entry.mjs --bundle --minify \
	  --format=iife --global-name=TanStackAIClient --target=es2020 --log-level=warning --outfile=$(CURDIR)/$@

test-openresty: openresty-setup
	$(MAKE) LUA=luajit all
	$(MAKE) all
	$(BUSTED) --lua=lua5.4 $(BUSTED_CPATH) -o utfTerminal --pattern='nginx_test%.lua$$' $(OPENRESTY_DIR)

openresty-example: openresty-setup
	sh examples/openresty/run.sh

# ---- packaging: rockspec/, scripts/, spec/packaging ----
.PHONY: rockspec rock-install dist test-packaging
# rockspec/cloudflare-tanstack-ai-scm-1.rockspec and -<version>-1.rockspec (the version: scripts/gen_rockspec.lua)
rockspec:
	$(LUA) scripts/gen_rockspec.lua

# Build and install the scm rock into ./build/rocks for Lua 5.4 and for LuaJIT (offline; Debian's lua-cjson is used
# at run time). LuaRocks builds from a copy in build/rock-src, so nothing lands in the checkout; then each interpreter
# loads the installed modules (scripts/rock_install.sh).
ROCK_TREE ?= $(CURDIR)/build/rocks
rock-install:
	sh scripts/rock_install.sh '$(ROCK_TREE)'

# The source rock of the release rockspec, from a clean `git archive` of HEAD (uncommitted changes are not in it).
dist:
	sh scripts/dist.sh

# The packaging specs that build things (the rock from a copy and from make dist, make emulator, make demo):
# spec/packaging/*_test.lua. The quick ones (*_spec.lua) run in make test.
test-packaging: all
	$(BUSTED) --lua=lua5.4 $(BUSTED_CPATH) -o utfTerminal --pattern='_test%.lua$$' spec/packaging

# Instructions per event under callgrind (deterministic; the twin of `make bench`).
bench-callgrind: all
	sh bench/callgrind.sh

# The Workers AI catalog (lua/cloudflare/tanstack_ai/workers_ai/catalog.lua) from the pinned sources in
# scripts/catalog/sources: the AiModels typings of @cloudflare/workers-types (CATALOG_TYPES_VERSION, extracted with
# TypeScript's compiler API from a scratch install in build/catalog-npm) and extracts of Cloudflare's model pages.
CATALOG_TYPES_VERSION ?= 5.20261117.1
.PHONY: catalog
catalog: all
	@mkdir -p build/catalog-npm
	@test -f build/catalog-npm/node_modules/@cloudflare/workers-types/package.json && \
	  grep -q '"version": "$(CATALOG_TYPES_VERSION)"' build/catalog-npm/node_modules/@cloudflare/workers-types/package.json || \
	  (cd build/catalog-npm && $(NPM) install --no-save --no-package-lock --silent \
	    @cloudflare/workers-types@$(CATALOG_TYPES_VERSION) typescript@5.6.3)
	$(NODE) scripts/catalog/extract_typings.js build/catalog-npm/node_modules scripts/catalog/sources/workers-types.json
	$(LUA) scripts/catalog/gen_catalog.lua
