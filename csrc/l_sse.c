/* Lua binding of the SSE parser (sse.c). Events become Lua tables here; the
 * parser itself never touches Lua.
 *   core.sse_parser{ max_event_bytes = n }
 *   p:feed(bytes) / p:finish() -> { {data, event?, id?, retry?}, ... } | nil, err
 *   core.sse_parser{ pick = { shape, ... } }: an event whose data matches a
 *     shape comes out as the picked string itself instead of a table (the
 *     stream hot path: no full JSON decode, no tables). A shape, as data the
 *     translator owns (json_pick.h says when a text matches):
 *       { text = path,                 a string there is the picked text
 *         none = { path, ... },        absent or null there
 *         equal = { {path = path, value = "s"}, ... } }  that string there
 *     a path: { "key", 1, ... } (numbers are 1-based array positions).
 *     The shapes are compiled once per table (cached by identity, weakly):
 *     treat a shapes table as a constant.
 *   core.sse_parser{ retry = true }: each valid retry field also comes out,
 *     when it is processed, as { retry = ms } (no data) in stream order with
 *     the events, whether its block dispatches an event or not (WHATWG HTML
 *     9.2.6 applies the field then; eventsource-parser's onRetry likewise).
 *   p:reconnection_time() -> ms | nil: the event stream's reconnection time
 *     (WHATWG HTML 9.2.6), set by the last retry field of all ASCII digits,
 *     in any block, whether it dispatched an event or not; kept across
 *     finish(). An event's `retry` only reports a retry field of its own
 *     block. */
#include <stdlib.h>
#include <string.h>

#include "json_pick.h"
#include "l_core.h"
#include "sse.h"

/* The userdata: the parser, and the shapes it picks with (NULL: none; held by
 * the parser's user value, shared by every parser of the same shapes table). */
typedef struct l_sse {
    sse_parser p;
    const jp_spec *pick;
    tai_buf scratch; /* a picked string with escapes, decoded */
} l_sse;

typedef struct emit_ctx {
    lua_State *L;
    l_sse *u;
    int n; /* events stored in the result table on top of the stack */
} emit_ctx;

static void on_event(void *ud, const sse_event *ev)
{
    emit_ctx *c = ud;
    lua_State *L = c->L;
    if (ev->data == NULL) { /* a retry notice (core.sse_parser{ retry = true }) */
        lua_createtable(L, 0, 1);
        lua_pushinteger(L, (lua_Integer)ev->retry);
        lua_setfield(L, -2, "retry");
        lua_rawseti(L, -2, ++c->n);
        return;
    }
    if (c->u->pick) {
        const char *text;
        size_t len;
        if (jp_pick(c->u->pick, ev->data, ev->data_len, &c->u->scratch, &text, &len) >= 0) {
            lua_pushlstring(L, text, len);
            lua_rawseti(L, -2, ++c->n);
            tai_buf_clear(&c->u->scratch, 64 * 1024);
            return;
        }
    }
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, ev->data, ev->data_len);
    lua_setfield(L, -2, "data");
    if (ev->event) {
        lua_pushlstring(L, ev->event, ev->event_len);
        lua_setfield(L, -2, "event");
    }
    if (ev->id) {
        lua_pushlstring(L, ev->id, ev->id_len);
        lua_setfield(L, -2, "id");
    }
    if (ev->retry >= 0) {
        lua_pushinteger(L, (lua_Integer)ev->retry);
        lua_setfield(L, -2, "retry");
    }
    lua_rawseti(L, -2, ++c->n);
}

static l_sse *check_parser(lua_State *L)
{
    return luaL_checkudata(L, 1, TAI_MT_SSE);
}

static int push_error(lua_State *L, const char *msg)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

static int l_feed(lua_State *L)
{
    l_sse *u = check_parser(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    emit_ctx c = {L, u, 0};
    lua_newtable(L);
    if (sse_feed(&u->p, s, n, on_event, &c) != 0)
        return push_error(L, u->p.error);
    return 1;
}

static int l_finish(lua_State *L)
{
    l_sse *u = check_parser(L);
    emit_ctx c = {L, u, 0};
    lua_newtable(L);
    if (sse_finish(&u->p, on_event, &c) != 0)
        return push_error(L, u->p.error);
    return 1;
}

static int l_reconnection_time(lua_State *L)
{
    sse_parser *p = &check_parser(L)->p;
    if (p->reconnection_time < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)p->reconnection_time);
    return 1;
}

static int l_gc(lua_State *L)
{
    l_sse *u = check_parser(L);
    sse_free(&u->p); /* idempotent: buffers are NULLed */
    u->pick = NULL;
    tai_buf_free(&u->scratch);
    return 0;
}

static int l_tostring(lua_State *L)
{
    lua_pushfstring(L, "%s (%p)", TAI_MT_SSE, lua_touserdata(L, 1));
    return 1;
}

/* ---- pick shapes: Lua data -> jp_spec (mistakes in them are the caller's: raise) ---- */

static void add_path(lua_State *L, jp_spec *s, int idx, const char *what)
{
    int i, n;
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx))
        luaL_error(L, "sse_parser: pick: %s must be a path (a list of keys and positions)", what);
    n = (int)lua_rawlen(L, idx);
    if (n == 0)
        luaL_error(L, "sse_parser: pick: %s is an empty path", what);
    for (i = 1; i <= n; i++) {
        int rc;
        lua_rawgeti(L, idx, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *k = lua_tolstring(L, -1, &len);
            rc = jp_add_key(s, k, len);
        } else if (lua_type(L, -1) == LUA_TNUMBER) {
            lua_Number x = lua_tonumber(L, -1);
            if (x < 1 || x > 1e6 || x != (lua_Number)(int)x)
                luaL_error(L, "sse_parser: pick: %s: a position must be an integer >= 1", what);
            rc = jp_add_index(s, (int)x - 1);
        } else {
            luaL_error(L, "sse_parser: pick: %s: a step must be a key or a position", what);
            return;
        }
        lua_pop(L, 1);
        if (rc != 0)
            luaL_error(L, "sse_parser: pick: %s: too many steps or keys too long", what);
    }
}

static void add_cond(lua_State *L, jp_spec *s, int kind, const char *value, size_t vlen, int path_idx,
                     const char *what)
{
    if (jp_add_cond(s, kind, value, vlen) != 0)
        luaL_error(L, "sse_parser: pick: too many conditions");
    add_path(L, s, path_idx, what);
}

static void add_shape(lua_State *L, jp_spec *s, int idx)
{
    int i, n;
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx) || jp_add_shape(s) != 0)
        luaL_error(L, "sse_parser: pick must be a list of at most %d shapes", JP_MAX_SHAPES);
    lua_getfield(L, idx, "text");
    add_cond(L, s, JP_TEXT, NULL, 0, -1, "text");
    lua_pop(L, 1);
    lua_getfield(L, idx, "none");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TTABLE);
        n = (int)lua_rawlen(L, -1);
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            add_cond(L, s, JP_NONE, NULL, 0, -1, "none[i]");
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "equal");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TTABLE);
        n = (int)lua_rawlen(L, -1);
        for (i = 1; i <= n; i++) {
            size_t vlen;
            const char *v;
            lua_rawgeti(L, -1, i);
            luaL_checktype(L, -1, LUA_TTABLE);
            lua_getfield(L, -1, "value");
            v = lua_tolstring(L, -1, &vlen);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "sse_parser: pick: equal[%d].value must be a string", i);
            lua_getfield(L, -2, "path");
            add_cond(L, s, JP_EQUAL, v, vlen, -1, "equal[i].path");
            lua_pop(L, 3);
        }
    }
    lua_pop(L, 1);
}

#define PICK_CACHE "tanstack.ai.sse_pick_cache"

/* The compiled shapes of the table at idx, pushed (a userdata holding a
 * jp_spec). Compiled once per shapes table (a weak-keyed cache: a wire
 * format's shapes are a constant of its module), so a parser costs no copy
 * of them: 5.7 KB less per open stream. */
static const jp_spec *push_spec(lua_State *L, int idx)
{
    jp_spec *spec;
    int i, n;
    const char *why;
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, LUA_REGISTRYINDEX, PICK_CACHE);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, PICK_CACHE);
    }
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1)) {
        lua_remove(L, -2);
        return lua_touserdata(L, -1);
    }
    lua_pop(L, 1);
    spec = tai_newuserdata(L, sizeof *spec); /* plain data: no __gc */
    jp_init(spec);
    n = (int)lua_rawlen(L, idx);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        add_shape(L, spec, -1);
        lua_pop(L, 1);
    }
    if (jp_finish(spec, &why) != 0)
        luaL_error(L, "sse_parser: pick: %s", why);
    lua_pushvalue(L, idx);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4); /* cache[shapes] = spec */
    lua_remove(L, -2);
    return spec;
}

static int l_new(lua_State *L)
{
    size_t max = (size_t)tai_opt_number(L, 1, "max_event_bytes",
                                        (lua_Number)SSE_DEFAULT_MAX_EVENT_BYTES, 1);
    const jp_spec *spec = NULL;
    int report_retry = 0;
    l_sse *u;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "retry");
        report_retry = lua_toboolean(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, 1, "pick");
        if (lua_isnil(L, -1))
            lua_pop(L, 1);
        else {
            spec = push_spec(L, -1); /* [pick, spec] */
            lua_remove(L, -2);
        }
    }
#if LUA_VERSION_NUM >= 504
    u = lua_newuserdatauv(L, sizeof *u, 1);
#else
    u = lua_newuserdata(L, sizeof *u);
#endif
    memset(u, 0, sizeof *u);
    sse_init(&u->p, max);
    u->p.report_retry = report_retry;
    luaL_getmetatable(L, TAI_MT_SSE);
    lua_setmetatable(L, -2); /* from here __gc owns what u holds */
    if (spec) {
        /* the parser keeps its shapes alive (its user value) */
#if LUA_VERSION_NUM >= 504
        lua_pushvalue(L, -2);
        lua_setiuservalue(L, -2, 1);
#else
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, -3);
        lua_rawseti(L, -2, 1);
        lua_setfenv(L, -2);
#endif
        u->pick = spec;
    }
    return 1;
}

void tai_open_sse(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", l_feed},
        {"finish", l_finish},
        {"reconnection_time", l_reconnection_time},
        {"__gc", l_gc},
        {"__tostring", l_tostring},
        {NULL, NULL},
    };
    tai_new_metatable(L, TAI_MT_SSE, methods);
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "sse_parser");
}
