/* Lua binding of the HTTP client engine (http.c): core.http_request(opts),
 * core.http_wait(ms), the request methods, and for an event loop that polls
 * libcurl's sockets itself (tanstack.ai.async.attach_uv): core.http_sockets,
 * core.http_timeout, core.http_socket_action, core.http_generation; and
 * core.http_progress (bytes of the transfers in flight, for progress bars).
 *   opts: method, url, headers (map and/or "Name: value" array; a control
 *   character other than HTAB in a name or value raises, naming the header),
 *   body, ca_file, connect_timeout, timeout, idle_timeout (ms), max_buffer,
 *   max_response_bytes (body bytes allowed, a number >= 0; nil: any. A larger
 *   announced Content-Length fails response() before the body is read, a
 *   body growing past it fails the read that would pass it: nil, message,
 *   "too_large"). Options are validated here
 * (programmer mistakes raise); the engine never calls into Lua, and no loop
 * of the engine spans a Lua API call (a Lua allocation can run finalizers,
 * which release requests). The engine belongs to an anchor userdata in the
 * registry, one per Lua state. */
#include <string.h>
#include <strings.h>

#include "http.h"
#include "l_core.h"

#define ENGINE_REGISTRY_KEY "tanstack.ai.http_engine.anchor"

typedef struct anchor {
    http_engine *eng; /* NULL once finalized */
} anchor;

/* ---- request methods ---- */

static http_req *check_req(lua_State *L)
{
    return luaL_checkudata(L, 1, TAI_MT_HTTP_REQUEST);
}

static int push_closed(lua_State *L)
{
    lua_pushnil(L);
    lua_pushliteral(L, "request is closed");
    lua_pushliteral(L, "canceled");
    return 3;
}

static int push_failure(lua_State *L, const http_req *r)
{
    lua_pushnil(L);
    lua_pushstring(L, r->errmsg);
    lua_pushstring(L, r->kind ? r->kind : "network");
    return 3;
}

static int want_wait(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) || lua_toboolean(L, idx);
}

typedef struct head_iter {
    const hdr_parser *head;
    size_t pos;
} head_iter;

static int next_field(void *it, hdr_field *f)
{
    head_iter *hi = it;
    return hdr_next(hi->head, &hi->pos, f);
}

static int l_response(lua_State *L)
{
    http_req *r = check_req(L);
    head_iter it;
    if (r->closed)
        return push_closed(L);
    if (!http_req_await(r, HTTP_UNTIL_HEAD, want_wait(L, 2))) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (!r->head_done)
        return push_failure(L, r);
    lua_pushinteger(L, r->head.status);
    it.head = &r->head;
    it.pos = 0;
    tai_push_headers(L, next_field, &it, 0);
    return 2;
}

static int l_read(lua_State *L)
{
    http_req *r = check_req(L);
    if (r->closed)
        return push_closed(L);
    const char *p;
    size_t n;
    http_req_await(r, HTTP_UNTIL_DATA, want_wait(L, 2));
    n = http_req_unread(r, &p);
    if (n > 0) {
        if (n > HTTP_READ_MAX)
            n = HTTP_READ_MAX;
        lua_pushlstring(L, p, n);
        http_req_take(r, n);
        return 1;
    }
    if (r->done) {
        if (r->result == CURLE_OK) {
            lua_pushnil(L);
            return 1;
        }
        return push_failure(L, r);
    }
    lua_pushboolean(L, 0);
    return 1;
}

static int l_read_all(lua_State *L)
{
    http_req *r = check_req(L);
    if (r->closed)
        return push_closed(L);
    if (http_req_finish(r) != 0)
        return push_failure(L, r);
    {
        const char *p;
        size_t n = http_req_unread(r, &p);
        lua_pushlstring(L, p, n);
    }
    http_req_consumed(r);
    return 1;
}

static int l_info(lua_State *L)
{
    http_req *r = check_req(L);
    http_info in;
    if (r->closed)
        return push_closed(L);
    http_req_info(r, &in);
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, in.status);
    lua_setfield(L, -2, "status");
    lua_pushboolean(L, in.reused);
    lua_setfield(L, -2, "reused");
    lua_pushnumber(L, in.total_time);
    lua_setfield(L, -2, "total_time");
    lua_pushnumber(L, in.connect_time);
    lua_setfield(L, -2, "connect_time");
    lua_pushstring(L, in.primary_ip);
    lua_setfield(L, -2, "primary_ip");
    lua_pushinteger(L, in.primary_port);
    lua_setfield(L, -2, "primary_port");
    lua_pushnumber(L, in.bytes_received);
    lua_setfield(L, -2, "bytes_received");
    return 1;
}

/* h:progress() -> bytes sent, bytes to send, bytes received, bytes to receive (0 when unknown): what libcurl
 * knows of this request (core.http_progress sums the same over every request), read between waits. */
static int l_progress(lua_State *L)
{
    http_req *r = check_req(L);
    curl_off_t ul, ult, dl, dlt;
    if (r->closed)
        return push_closed(L);
    http_req_progress(r, &ul, &ult, &dl, &dlt);
    lua_pushnumber(L, (lua_Number)ul);
    lua_pushnumber(L, (lua_Number)(ult > 0 ? ult : 0));
    lua_pushnumber(L, (lua_Number)dl);
    lua_pushnumber(L, (lua_Number)(dlt > 0 ? dlt : 0));
    return 4;
}

static int l_close(lua_State *L)
{
    http_req_release(check_req(L));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L)
{
    http_req_release(check_req(L));
    return 0;
}

static int l_tostring(lua_State *L)
{
    http_req *r = check_req(L);
    if (r->desc)
        lua_pushfstring(L, "%s (%s)", TAI_MT_HTTP_REQUEST, r->desc);
    else
        lua_pushfstring(L, "%s (closed)", TAI_MT_HTTP_REQUEST);
    return 1;
}

/* ---- options ---- */

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A control character (RFC 5234 CTL: %x00-1F / %x7F) other than HTAB:
 * never in a field name (a token) nor a field value (RFC 9110 5.5:
 * field-vchar, SP, HTAB, obs-text). */
static int is_ctl_not_htab(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Pushes a printable rendering of a header name for an error message:
 * printable ASCII as is, other bytes as \xNN, at most 64 bytes shown. */
static const char *push_printable_name(lua_State *L, const char *name, size_t nlen)
{
    luaL_Buffer b;
    size_t i;
    luaL_buffinit(L, &b);
    for (i = 0; i < nlen && i < 64; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            luaL_addchar(&b, (char)c);
        } else {
            static const char HEX[] = "0123456789abcdef";
            luaL_addchar(&b, '\\');
            luaL_addchar(&b, 'x');
            luaL_addchar(&b, HEX[c >> 4]);
            luaL_addchar(&b, HEX[c & 15]);
        }
    }
    if (nlen > 64)
        luaL_addstring(&b, "...");
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

/* Validates and appends "Name: value". Messages name the header, never
 * quote the value: it may be an API key. */
static void add_header(lua_State *L, http_req *r, const char *name, size_t nlen,
                       const char *value, size_t vlen)
{
    size_t i;
    if (nlen == 0)
        luaL_error(L, "empty header name");
    for (i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)name[i]))
            luaL_error(L, "invalid header name '%s' (must be an HTTP token: no space, separator or control character)",
                       push_printable_name(L, name, nlen));
    for (i = 0; i < vlen; i++)
        if (is_ctl_not_htab((unsigned char)value[i]))
            luaL_error(L, "header '%s' has a control character in its value (only HTAB is allowed)",
                       push_printable_name(L, name, nlen));
    if (http_req_add_header(r, name, nlen, value, vlen) != 0)
        luaL_error(L, "out of memory");
}

/* opts.headers: a map {Name = value} and/or an array {"Name: value"}. Key
 * and value stay on the stack while add_header reads them. */
static void add_headers(lua_State *L, http_req *r, int opts)
{
    int t;
    lua_getfield(L, opts, "headers");
    t = lua_gettop(L);
    if (lua_isnil(L, t)) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, t))
        luaL_error(L, "option 'headers' must be a table");
    lua_pushnil(L);
    while (lua_next(L, t)) {
        size_t nlen, vlen;
        const char *name, *value;
        if (lua_type(L, -2) == LUA_TNUMBER) { /* array form: "Name: value" */
            const char *colon;
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "array headers must be \"Name: value\" strings");
            name = lua_tolstring(L, -1, &nlen);
            colon = memchr(name, ':', nlen);
            if (colon == NULL)
                luaL_error(L, "array headers must be \"Name: value\" strings");
            value = colon + 1;
            vlen = nlen - (size_t)(value - name);
            nlen = (size_t)(colon - name);
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            int vt = lua_type(L, -1);
            if (vt != LUA_TSTRING && vt != LUA_TNUMBER)
                luaL_error(L, "header '%s' must have a string value", lua_tostring(L, -2));
            name = lua_tolstring(L, -2, &nlen);
            value = lua_tolstring(L, -1, &vlen); /* converts the value slot only */
        } else {
            luaL_error(L, "header names must be strings");
            return;
        }
        add_header(L, r, name, nlen, value, vlen);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Pushes opts[field] and returns it as a string (NULL if nil). The value
 * stays on the stack, so the pointer lives as long as the caller's frame:
 * the options table may hand it out through __index, or be changed. */
static const char *opt_string(lua_State *L, int opts, const char *field, size_t *len)
{
    lua_getfield(L, opts, field);
    if (lua_type(L, -1) == LUA_TSTRING)
        return lua_tolstring(L, -1, len);
    if (!lua_isnil(L, -1))
        luaL_error(L, "option '%s' must be a string", field);
    return NULL;
}

static int has_http_scheme(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static int is_method(const char *m, size_t mlen, const char *name)
{
    size_t n = strlen(name);
    return mlen == n && memcmp(m, name, n) == 0;
}

/* Reads and validates the options table at index 1. Leaves the four string
 * options on the stack (their pointers are in o). */
static void read_opts(lua_State *L, http_opts *o)
{
    size_t i, url_len;
    memset(o, 0, sizeof *o);
    luaL_checktype(L, 1, LUA_TTABLE);
    o->method = opt_string(L, 1, "method", &o->method_len);
    if (o->method == NULL) {
        o->method = "GET";
        o->method_len = 3;
    }
    for (i = 0; i < o->method_len; i++)
        if (!is_tchar((unsigned char)o->method[i]))
            luaL_error(L, "invalid HTTP method");
    if (o->method_len == 0 || strlen(o->method) != o->method_len)
        luaL_error(L, "invalid HTTP method");
    o->url = opt_string(L, 1, "url", &url_len);
    if (o->url == NULL)
        luaL_error(L, "option 'url' is required");
    if (strlen(o->url) != url_len || !has_http_scheme(o->url))
        luaL_error(L, "option 'url' must be an http:// or https:// URL");
    o->body = opt_string(L, 1, "body", &o->body_len);
    if (o->body == NULL && (is_method(o->method, o->method_len, "POST") ||
                            is_method(o->method, o->method_len, "PUT") ||
                            is_method(o->method, o->method_len, "PATCH")))
        o->body = ""; /* send "Content-Length: 0" rather than no length at all */
    o->ca_file = opt_string(L, 1, "ca_file", NULL);
    o->connect_ms = (long)tai_opt_number(L, 1, "connect_timeout", 0, 0);
    o->timeout_ms = (long)tai_opt_number(L, 1, "timeout", 0, 0);
    o->idle_ms = (long)tai_opt_number(L, 1, "idle_timeout", 0, 0);
    o->max_buffer = (size_t)tai_opt_number(L, 1, "max_buffer",
                                           (lua_Number)HTTP_DEFAULT_MAX_BUFFER, 1);
    if (!tai_opt_limit(L, 1, "max_response_bytes", &o->max_response))
        o->max_response = HTTP_NO_LIMIT;
}

/* ---- module functions (upvalue 1: the anchor) ---- */

static int l_http_request(lua_State *L)
{
    anchor *a = lua_touserdata(L, lua_upvalueindex(1));
    http_opts o;
    http_req *r;
    const char *err;

    read_opts(L, &o);
    if (a->eng == NULL)
        return luaL_error(L, "http engine is not available");
    /* userdata first: from here on __gc owns everything we acquire */
    r = tai_newuserdata(L, sizeof *r);
    memset(r, 0, sizeof *r);
    luaL_getmetatable(L, TAI_MT_HTTP_REQUEST);
    lua_setmetatable(L, -2);
    if (http_req_init(r, a->eng, &o) != 0)
        return luaL_error(L, "out of memory creating the request");
    add_headers(L, r, 1);
    err = http_req_start(r, &o);
    if (err != NULL)
        return luaL_error(L, "%s", err);
    return 1;
}

static int l_http_wait(lua_State *L)
{
    anchor *a = lua_touserdata(L, lua_upvalueindex(1));
    lua_Number t = luaL_optnumber(L, 1, 0);
    long ms = t > 0 ? (t > 3600000 ? 3600000 : (long)t) : 0;
    if (a->eng)
        http_engine_step(a->eng, ms);
    lua_pushinteger(L, a->eng ? http_engine_count(a->eng) : 0);
    return 1;
}

/* ---- an event loop polls libcurl's sockets (tanstack.ai.async.attach_uv) ---- */

static http_engine *engine_of(lua_State *L)
{
    anchor *a = lua_touserdata(L, lua_upvalueindex(1));
    return a->eng;
}

static const char *events_name(int ev)
{
    switch (ev & (HTTP_EV_READ | HTTP_EV_WRITE)) {
    case HTTP_EV_READ:
        return "r";
    case HTTP_EV_WRITE:
        return "w";
    case HTTP_EV_READ | HTTP_EV_WRITE:
        return "rw";
    default:
        return "";
    }
}

/* core.http_sockets([full]) -> { {fd, "r"|"w"|"rw"|""}, ... }: the sockets
 * whose interest changed since the last call, in order; "" means no longer
 * watched (close the handle; the same fd later is a new socket). full: every
 * watched socket, for a loop that holds no handle yet. The changes are copied
 * out of the engine before any Lua value is made: a Lua allocation can run a
 * finalizer, which may change the engine's sockets. */
static int l_http_sockets(lua_State *L)
{
    http_engine *e = engine_of(L);
    const http_sock_change *c;
    http_sock_change *copy;
    size_t n, i;
    if (e == NULL) {
        lua_newtable(L);
        return 1;
    }
    n = http_engine_sockets(e, lua_toboolean(L, 1), &c);
    if (n == (size_t)-1)
        return luaL_error(L, "out of memory");
    copy = n ? lua_newuserdata(L, n * sizeof *copy) : NULL;
    if (n)
        memcpy(copy, c, n * sizeof *copy);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_createtable(L, 2, 0);
        lua_pushinteger(L, (lua_Integer)copy[i].fd);
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, events_name(copy[i].events));
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

/* core.http_timeout() -> ms until libcurl's timer or an idle timeout is due
 * (0: now), -1 when nothing is due. */
static int l_http_timeout(lua_State *L)
{
    http_engine *e = engine_of(L);
    lua_pushinteger(L, e ? (lua_Integer)http_engine_timeout(e) : -1);
    return 1;
}

/* core.http_socket_action([fd, events]) -> requests in flight. fd ready with
 * events (a string of r, w, e: readable, writable, error), or without fd the
 * timeout is due. */
static int l_http_socket_action(lua_State *L)
{
    http_engine *e = engine_of(L);
    curl_socket_t fd = CURL_SOCKET_TIMEOUT;
    int ev = 0;
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer v = luaL_checkinteger(L, 1);
        size_t len, i;
        const char *s = luaL_optlstring(L, 2, "", &len);
        if (v < 0)
            return luaL_argerror(L, 1, "expected a socket (a non-negative integer)");
        fd = (curl_socket_t)v;
        for (i = 0; i < len; i++) {
            if (s[i] == 'r')
                ev |= HTTP_EV_READ;
            else if (s[i] == 'w')
                ev |= HTTP_EV_WRITE;
            else if (s[i] == 'e')
                ev |= HTTP_EV_ERROR;
            /* libuv may add flags (d: disconnect, p: priority): reading tells */
            else if (s[i] == 'd' || s[i] == 'p')
                ev |= HTTP_EV_READ;
        }
    }
    if (e)
        http_engine_socket_action(e, fd, ev);
    lua_pushinteger(L, e ? http_engine_count(e) : 0);
    return 1;
}

/* core.http_generation() -> a number that changes whenever a request gains a
 * head, data or its end (a scheduler runs its tasks again while it moves). */
static int l_http_generation(lua_State *L)
{
    http_engine *e = engine_of(L);
    lua_pushinteger(L, e ? (lua_Integer)http_engine_generation(e) : 0);
    return 1;
}

/* core.http_ready() -> { id, ... } | true: the requests (h:id()) that gained
 * a head, data or their end since the last call; true: treat all as ready. */
static int l_http_ready(lua_State *L)
{
    http_engine *e = engine_of(L);
    unsigned long long ids[256];
    size_t n, i;
    int all = 0, k = 0;
    lua_newtable(L);
    if (!e)
        return 1;
    do {
        int lost;
        n = http_engine_ready(e, ids, sizeof ids / sizeof ids[0], &lost);
        all |= lost;
        for (i = 0; i < n; i++) {
            lua_pushnumber(L, (lua_Number)ids[i]);
            lua_rawseti(L, -2, ++k);
        }
    } while (n == sizeof ids / sizeof ids[0]);
    if (all)
        lua_pushboolean(L, 1);
    return 1;
}

/* h:id() -> the request's number, as core.http_ready() reports it */
static int l_id(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)check_req(L)->id);
    return 1;
}

/* core.http_progress() -> { requests, answered, sent, send_total, received,
 * receive_total, receive_unknown }: the transfers in flight, summed (bytes;
 * a total is 0 when unknown; receive_unknown counts downloads without a
 * length). For progress bars. */
static int l_http_progress(lua_State *L)
{
    http_engine *e = engine_of(L);
    http_progress p;
    memset(&p, 0, sizeof p);
    if (e)
        http_engine_progress(e, &p);
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, p.requests);
    lua_setfield(L, -2, "requests");
    lua_pushinteger(L, p.answered);
    lua_setfield(L, -2, "answered");
    lua_pushinteger(L, p.receive_unknown);
    lua_setfield(L, -2, "receive_unknown");
    lua_pushnumber(L, p.sent);
    lua_setfield(L, -2, "sent");
    lua_pushnumber(L, p.send_total);
    lua_setfield(L, -2, "send_total");
    lua_pushnumber(L, p.received);
    lua_setfield(L, -2, "received");
    lua_pushnumber(L, p.receive_total);
    lua_setfield(L, -2, "receive_total");
    return 1;
}

static int l_anchor_gc(lua_State *L)
{
    anchor *a = lua_touserdata(L, 1);
    if (a->eng) {
        http_engine_unref(a->eng);
        a->eng = NULL;
    }
    return 0;
}

/* Leaves the anchor userdata of this Lua state on the stack. */
static void push_anchor(lua_State *L)
{
    anchor *a;
    const char *err = NULL;
    lua_getfield(L, LUA_REGISTRYINDEX, ENGINE_REGISTRY_KEY);
    if (lua_isuserdata(L, -1))
        return;
    lua_pop(L, 1);
    a = tai_newuserdata(L, sizeof *a);
    a->eng = NULL;
    if (luaL_newmetatable(L, TAI_MT_HTTP_ENGINE)) {
        lua_pushcfunction(L, l_anchor_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    a->eng = http_engine_new(&err);
    if (a->eng == NULL)
        luaL_error(L, "%s", err);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, ENGINE_REGISTRY_KEY);
}

void tai_open_http(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"response", l_response},
        {"read", l_read},
        {"read_all", l_read_all},
        {"info", l_info},
        {"progress", l_progress},
        {"id", l_id},
        {"close", l_close},
        {"__gc", l_gc},
#if LUA_VERSION_NUM >= 504
        {"__close", l_gc},
#endif
        {"__tostring", l_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg funcs[] = {
        {"http_request", l_http_request},
        {"http_wait", l_http_wait},
        {"http_sockets", l_http_sockets},
        {"http_timeout", l_http_timeout},
        {"http_socket_action", l_http_socket_action},
        {"http_generation", l_http_generation},
        {"http_ready", l_http_ready},
        {"http_progress", l_http_progress},
        {NULL, NULL},
    };
    tai_new_metatable(L, TAI_MT_HTTP_REQUEST, methods);
    push_anchor(L);
    luaL_setfuncs(L, funcs, 1);
}
