/* Lua binding of the NDJSON line splitter (ndjson.c). */
#include "l_core.h"
#include "ndjson.h"

typedef struct emit_ctx {
    lua_State *L;
    int n;
} emit_ctx;

static void on_line(void *ud, const char *line, size_t len)
{
    emit_ctx *c = ud;
    lua_pushlstring(c->L, line, len);
    lua_rawseti(c->L, -2, ++c->n);
}

static ndjson_parser *check_parser(lua_State *L)
{
    return luaL_checkudata(L, 1, TAI_MT_NDJSON);
}

static int push_error(lua_State *L, const char *msg)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

static int l_feed(lua_State *L)
{
    ndjson_parser *p = check_parser(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    emit_ctx c = {L, 0};
    lua_newtable(L);
    if (ndjson_feed(p, s, n, on_line, &c) != 0)
        return push_error(L, p->error);
    return 1;
}

static int l_finish(lua_State *L)
{
    ndjson_parser *p = check_parser(L);
    emit_ctx c = {L, 0};
    lua_newtable(L);
    if (ndjson_finish(p, on_line, &c) != 0)
        return push_error(L, p->error);
    return 1;
}

static int l_gc(lua_State *L)
{
    ndjson_free(check_parser(L));
    return 0;
}

static int l_tostring(lua_State *L)
{
    lua_pushfstring(L, "%s (%p)", TAI_MT_NDJSON, lua_touserdata(L, 1));
    return 1;
}

static int l_new(lua_State *L)
{
    size_t max = (size_t)tai_opt_number(L, 1, "max_line_bytes",
                                        (lua_Number)NDJSON_DEFAULT_MAX_LINE_BYTES, 1);
    ndjson_parser *p = tai_newuserdata(L, sizeof *p);
    ndjson_init(p, max);
    luaL_getmetatable(L, TAI_MT_NDJSON);
    lua_setmetatable(L, -2);
    return 1;
}

void tai_open_ndjson(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", l_feed},
        {"finish", l_finish},
        {"__gc", l_gc},
        {"__tostring", l_tostring},
        {NULL, NULL},
    };
    tai_new_metatable(L, TAI_MT_NDJSON, methods);
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "ndjson_parser");
}
