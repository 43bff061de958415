# cloudflare-tanstack-ai for Lua — build, test, demo.
#   make            build the C core for Lua 5.4 (build/lua5.4/tanstack/ai/core.so)
#   make LUA=luajit build it for LuaJIT (build/luajit/...)
#   make check      the whole test suite (C tests, busted on 5.4 and LuaJIT)
#   make demo       stream a chat to the terminal (local emulator unless CLOUDFLARE_* are set)

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
export LUA_CPATH := $(CURDIR)/$(BUILD)/?.so;;

BUSTED     ?= busted

.PHONY: all check test test-c test-lua test-luajit demo bench fuzz valgrind asan setup clean rock

all: $(CORE_SO)

$(CORE_SO): $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(CORE_SRC) $(DEP_LIBS)

setup:
	@sh scripts/setup.sh

# The command the README names and CI runs.
check: test-c test-lua test-luajit

test-lua: all
	$(BUSTED) --lua=lua5.4 -o utfTerminal spec

test-luajit:
	$(MAKE) LUA=luajit all
	$(MAKE) LUA=luajit test-lua-only BUSTED_LUA=luajit

test-lua-only:
	$(BUSTED) --lua=$(BUSTED_LUA) -o utfTerminal spec

demo: all
	$(LUA) examples/demo.lua

bench: all
	$(LUA) bench/stream_bench.lua

clean:
	rm -rf build fuzz-out
