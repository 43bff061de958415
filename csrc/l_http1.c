/* Lua binding of the HTTP/1.1 response framer (http1.c), for transports that
 * own the socket (e.g. OpenResty cosockets).
 *   core.http1_response_parser{ head_request = bool, max_body_bytes = n }
 *   p:feed(bytes) / p:finish() -> items | nil, message, kind
 *     items: { kind = "head" | "body" | "done", ... } in order
 *     kind of a failure: "malformed", "too_large" (the body passed
 *     max_body_bytes: at its Content-Length, a chunk size or as it arrived),
 *     "truncated" (finish() before the end), "out_of_memory". Sticky. */
#include "http1.h"
#include "l_core.h"

typedef struct emit_ctx {
    lua_State *L;
    int n;
} emit_ctx;

static void push_item(emit_ctx *c, const char *kind)
{
    lua_createtable(c->L, 0, 6);
    lua_pushstring(c->L, kind);
    lua_setfield(c->L, -2, "kind");
}

static void store_item(emit_ctx *c)
{
    lua_rawseti(c->L, -2, ++c->n);
}

typedef struct field_iter {
    const h1_head *hd;
    size_t i;
} field_iter;

static int next_field(void *it, hdr_field *f)
{
    field_iter *fi = it;
    if (fi->i >= fi->hd->nheaders)
        return 0;
    *f = fi->hd->headers[fi->i++];
    return 1;
}

static void on_head(void *ud, const h1_head *hd)
{
    emit_ctx *c = ud;
    lua_State *L = c->L;
    field_iter it = {hd, 0};
    push_item(c, "head");
    lua_pushinteger(L, hd->status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, hd->reason, hd->reason_len);
    lua_setfield(L, -2, "reason");
    lua_pushstring(L, hd->minor ? "1.1" : "1.0");
    lua_setfield(L, -2, "version");
    tai_push_headers(L, next_field, &it, (int)hd->nheaders);
    lua_setfield(L, -2, "headers");
    store_item(c);
}

static void on_body(void *ud, const char *data, size_t n)
{
    emit_ctx *c = ud;
    if (n == 0)
        return;
    push_item(c, "body");
    lua_pushlstring(c->L, data, n);
    lua_setfield(c->L, -2, "data");
    store_item(c);
}

static void on_done(void *ud, int keep_alive)
{
    emit_ctx *c = ud;
    push_item(c, "done");
    lua_pushboolean(c->L, keep_alive);
    lua_setfield(c->L, -2, "keep_alive");
    store_item(c);
}

static const h1_callbacks CALLBACKS = {on_head, on_body, on_done};

static h1_parser *check_parser(lua_State *L)
{
    return luaL_checkudata(L, 1, TAI_MT_HTTP1);
}

static int push_error(lua_State *L, const h1_parser *p)
{
    const char *kind;
    switch (p->failed) {
    case H1_E_TOO_LARGE:
        kind = "too_large";
        break;
    case H1_E_TRUNCATED:
        kind = "truncated";
        break;
    case H1_E_NOMEM:
        kind = "out_of_memory";
        break;
    default:
        kind = "malformed";
        break;
    }
    lua_pushnil(L);
    lua_pushstring(L, p->error);
    lua_pushstring(L, kind);
    return 3;
}

static int l_feed(lua_State *L)
{
    h1_parser *p = check_parser(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    emit_ctx c = {L, 0};
    lua_newtable(L);
    if (h1_feed(p, s, n, &CALLBACKS, &c) != 0)
        return push_error(L, p);
    return 1;
}

static int l_finish(lua_State *L)
{
    h1_parser *p = check_parser(L);
    emit_ctx c = {L, 0};
    lua_newtable(L);
    if (h1_finish(p, &CALLBACKS, &c) != 0)
        return push_error(L, p);
    return 1;
}

static int l_gc(lua_State *L)
{
    h1_free(check_parser(L));
    return 0;
}

static int l_tostring(lua_State *L)
{
    lua_pushfstring(L, "%s (%p)", TAI_MT_HTTP1, lua_touserdata(L, 1));
    return 1;
}

static int l_new(lua_State *L)
{
    int head_request = 0, limited;
    unsigned long long max_body = 0;
    h1_parser *p;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "head_request");
        head_request = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    /* raises for a non-table, a non-number, a negative limit */
    limited = tai_opt_limit(L, 1, "max_body_bytes", &max_body);
    p = tai_newuserdata(L, sizeof *p);
    h1_init(p, head_request);
    if (limited)
        h1_set_max_body(p, max_body);
    luaL_getmetatable(L, TAI_MT_HTTP1);
    lua_setmetatable(L, -2);
    return 1;
}

void tai_open_http1(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", l_feed},
        {"finish", l_finish},
        {"__gc", l_gc},
        {"__tostring", l_tostring},
        {NULL, NULL},
    };
    tai_new_metatable(L, TAI_MT_HTTP1, methods);
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "http1_response_parser");
}
