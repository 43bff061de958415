/* Header tables for Lua: one shape for both transports (l_http.c over
 * libcurl, l_http1.c over the caller's socket). */
#include "l_core.h"

void tai_push_headers(lua_State *L, tai_field_iter next, void *it, int nrec)
{
    hdr_field f;
    lua_createtable(L, 0, nrec);
    while (next(it, &f)) {
        lua_pushlstring(L, f.name, f.name_len);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, f.value, f.value_len);
        } else { /* repeated field: RFC 9110 5.3 list join */
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, f.value, f.value_len);
            lua_concat(L, 3);
        }
        lua_rawset(L, -3);
    }
}
