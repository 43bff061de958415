/* luaopen_tanstack_ai_core: the module table. Each area lives in its own
 * binding file (l_*.c) over a pure C part where it parses untrusted bytes. */
#include <curl/curl.h>

#include "l_core.h"

lua_Number tai_opt_number(lua_State *L, int idx, const char *field, lua_Number def,
                          int min)
{
    lua_Number v = def;
    if (lua_istable(L, idx)) {
        lua_getfield(L, idx, field);
        if (!lua_isnil(L, -1)) {
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "option '%s' must be a number", field);
            v = lua_tonumber(L, -1);
            if (!(v >= (lua_Number)min) || v > 9e15) /* also rejects NaN, inf */
                luaL_error(L, "option '%s' out of range (min %d)", field, min);
        }
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, idx)) {
        luaL_argerror(L, idx, "options table expected");
    }
    return v;
}

int tai_opt_limit(lua_State *L, int idx, const char *field, unsigned long long *out)
{
    int set = 0;
    if (lua_istable(L, idx)) {
        lua_getfield(L, idx, field);
        if (!lua_isnil(L, -1)) {
            lua_Number v;
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "option '%s' must be a number", field);
            v = lua_tonumber(L, -1);
            if (!(v >= 0)) /* also rejects NaN */
                luaL_error(L, "option '%s' out of range (min 0)", field);
            /* 2^64 and beyond (math.huge too): no limit in practice */
            *out = v >= 18446744073709551616.0 ? ~0ULL : (unsigned long long)v;
            set = 1;
        }
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, idx)) {
        luaL_argerror(L, idx, "options table expected");
    }
    return set;
}

void tai_new_metatable(lua_State *L, const char *name, const luaL_Reg *methods)
{
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_tanstack_ai_core(lua_State *L);

int luaopen_tanstack_ai_core(lua_State *L)
{
    static int curl_ready; /* curl_global_init once per process, never cleaned up */
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return luaL_error(L, "curl_global_init failed");
        curl_ready = 1;
    }
    lua_newtable(L);
    lua_pushliteral(L, TAI_VERSION);
    lua_setfield(L, -2, "version");
    tai_open_util(L);
    tai_open_crypto(L);
    tai_open_sse(L);
    tai_open_ndjson(L);
    tai_open_http1(L);
    tai_open_http(L);
    return 1;
}
