/* Lua binding of the SSE parser (sse.c). Events become Lua tables here; the
 * parser itself never touches Lua.
 *   core.sse_parser{ max_event_bytes = n }
 *   p:feed(bytes) / p:finish() -> { {data, event?, id?, retry?}, ... } | nil, err
 *   p:reconnection_time() -> ms | nil: the event stream's reconnection time
 *     (WHATWG HTML 9.2.6), set by the last retry field of all ASCII digits,
 *     in any block, whether it dispatched an event or not; kept across
 *     finish(). An event's `retry` only reports a retry field of its own
 *     block. */
#include "l_core.h"
#include "sse.h"

typedef struct emit_ctx {
    lua_State *L;
    int n; /* events stored in the result table on top of the stack */
} emit_ctx;

static void on_event(void *ud, const sse_event *ev)
{
    emit_ctx *c = ud;
    lua_State *L = c->L;
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

static sse_parser *check_parser(lua_State *L)
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
    sse_parser *p = check_parser(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    emit_ctx c = {L, 0};
    lua_newtable(L);
    if (sse_feed(p, s, n, on_event, &c) != 0)
        return push_error(L, p->error);
    return 1;
}

static int l_finish(lua_State *L)
{
    sse_parser *p = check_parser(L);
    emit_ctx c = {L, 0};
    lua_newtable(L);
    if (sse_finish(p, on_event, &c) != 0)
        return push_error(L, p->error);
    return 1;
}

static int l_reconnection_time(lua_State *L)
{
    sse_parser *p = check_parser(L);
    if (p->reconnection_time < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)p->reconnection_time);
    return 1;
}

static int l_gc(lua_State *L)
{
    sse_free(check_parser(L)); /* idempotent: buffers are NULLed */
    return 0;
}

static int l_tostring(lua_State *L)
{
    lua_pushfstring(L, "%s (%p)", TAI_MT_SSE, lua_touserdata(L, 1));
    return 1;
}

static int l_new(lua_State *L)
{
    size_t max = (size_t)tai_opt_number(L, 1, "max_event_bytes",
                                        (lua_Number)SSE_DEFAULT_MAX_EVENT_BYTES, 1);
    sse_parser *p = tai_newuserdata(L, sizeof *p);
    sse_init(p, max);
    luaL_getmetatable(L, TAI_MT_SSE);
    lua_setmetatable(L, -2);
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
