/* Lua 5.1 (LuaJIT) / 5.4 compatibility shims: one source builds for both.
 * Only what the bindings use. */
#ifndef TANSTACK_AI_COMPAT_H
#define TANSTACK_AI_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM == 501

#define lua_rawlen(L, i) lua_objlen(L, (i))
#define lua_absindex(L, i) ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)

/* LuaJIT 2.1's lauxlib.h exports luaL_setfuncs (LUAJIT_ENABLE_LUA52COMPAT is
 * not needed for it). Plain Lua 5.1 does not: a fallback under a private name. */
#if !defined(LUAJIT_VERSION_NUM)
static inline void tai_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; l->name != NULL; l++) {
        int i;
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
#define luaL_setfuncs tai_setfuncs
#endif

#endif /* LUA_VERSION_NUM == 501 */

/* 5.4's lua_newuserdata reserves one user value we never use. */
#if LUA_VERSION_NUM >= 504
#define tai_newuserdata(L, n) lua_newuserdatauv(L, (n), 0)
#else
#define tai_newuserdata(L, n) lua_newuserdata(L, (n))
#endif

#endif
