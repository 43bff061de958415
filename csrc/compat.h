/* Lua 5.1 (LuaJIT) / 5.4 compatibility shims: one source builds for both. */
#ifndef TANSTACK_AI_COMPAT_H
#define TANSTACK_AI_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM == 501

#ifndef luaL_newlibtable
#define luaL_newlibtable(L, l) lua_createtable(L, 0, (int)(sizeof(l) / sizeof((l)[0]) - 1))
#endif
#ifndef luaL_newlib
#define luaL_newlib(L, l) (luaL_newlibtable(L, l), luaL_setfuncs(L, l, 0))
#endif

#define lua_rawlen(L, i) lua_objlen(L, (i))

/* LuaJIT 2.1 ships luaL_setfuncs and luaL_testudata (LUAJIT_ENABLE_LUA52COMPAT
 * is not needed for them: both are exported by lauxlib.h in 2.1). Plain
 * Lua 5.1 does not, so provide fallbacks under a private name. */
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

static inline void *tai_testudata(lua_State *L, int ud, const char *tname)
{
    void *p = lua_touserdata(L, ud);
    if (p == NULL || !lua_getmetatable(L, ud))
        return NULL;
    luaL_getmetatable(L, tname);
    if (!lua_rawequal(L, -1, -2))
        p = NULL;
    lua_pop(L, 2);
    return p;
}
#define luaL_testudata tai_testudata
#endif

#endif /* LUA_VERSION_NUM == 501 */

/* 5.4's lua_newuserdata reserves one user value we never use. */
#if LUA_VERSION_NUM >= 504
#define tai_newuserdata(L, n) lua_newuserdatauv(L, (n), 0)
#else
#define tai_newuserdata(L, n) lua_newuserdata(L, (n))
#endif

#endif
