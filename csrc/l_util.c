/* Lua bindings: base64, random ids (OpenSSL RAND_bytes), multipart bodies,
 * JSON text checks and JSON strings (for tanstack.ai.json, below). */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base64.h"
#include "json_pick.h"
#include "l_core.h"

#define MAX_RANDOM_BYTES (1024 * 1024)

/* Scratch memory owned by the Lua GC: a Lua error (e.g. out of memory in
 * lua_pushlstring) cannot leak it. */
static void *scratch(lua_State *L, size_t n)
{
    return tai_newuserdata(L, n ? n : 1);
}

static int l_base64_encode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    size_t outn = b64_encoded_len(n);
    char *out = scratch(L, outn);
    b64_encode((const unsigned char *)s, n, out);
    lua_pushlstring(L, out, outn);
    return 1;
}

static int l_base64_decode(lua_State *L)
{
    size_t n, outn = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *err = NULL;
    unsigned char *out = scratch(L, b64_decoded_max(n));
    if (b64_decode(s, n, out, &outn, &err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushlstring(L, (const char *)out, outn);
    return 1;
}

static size_t check_count(lua_State *L, int idx)
{
    lua_Number v = luaL_checknumber(L, idx);
    if (!(v >= 0 && v <= MAX_RANDOM_BYTES) || v != (lua_Number)(size_t)v)
        luaL_argerror(L, idx, "integer in 0..1048576 expected");
    return (size_t)v;
}

/* Random bytes from OpenSSL's CSPRNG. A RAND_bytes call costs about 2 us whatever its size (OpenSSL 3 looks its
 * provider up each time), and every run draws several ids (run, message, completion): small draws are served from a
 * pool of RAND_POOL bytes filled in one call, per thread (no lock, no sharing between Lua states of different
 * threads), refilled when used up or when the process has forked (a child never hands out its parent's bytes); the
 * bytes handed out are wiped from the pool. Larger draws go to RAND_bytes directly. */
#define RAND_POOL 256
static __thread unsigned char rand_pool[RAND_POOL];
static __thread size_t rand_left;
static __thread pid_t rand_pid;

static int fill_random(unsigned char *p, size_t n)
{
    unsigned char *from;
    pid_t pid;
    if (n == 0)
        return 1;
    if (n > RAND_POOL / 4)
        return RAND_bytes(p, (int)n) == 1;
    pid = getpid();
    if (rand_left < n || rand_pid != pid) {
        if (RAND_bytes(rand_pool, RAND_POOL) != 1) {
            rand_left = 0;
            return 0;
        }
        rand_left = RAND_POOL;
        rand_pid = pid;
    }
    from = rand_pool + (RAND_POOL - rand_left);
    memcpy(p, from, n);
    OPENSSL_cleanse(from, n);
    rand_left -= n;
    return 1;
}

static int l_random_bytes(lua_State *L)
{
    size_t n = check_count(L, 1);
    unsigned char *p = scratch(L, n);
    if (!fill_random(p, n)) {
        lua_pushnil(L);
        lua_pushliteral(L, "RAND_bytes failed");
        return 2;
    }
    lua_pushlstring(L, (const char *)p, n);
    return 1;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char HEX[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
}

static int l_random_hex(lua_State *L)
{
    size_t n = check_count(L, 1);
    unsigned char *p = scratch(L, n * 3);
    if (!fill_random(p, n)) {
        lua_pushnil(L);
        lua_pushliteral(L, "RAND_bytes failed");
        return 2;
    }
    to_hex(p, n, (char *)p + n);
    lua_pushlstring(L, (const char *)p + n, 2 * n);
    return 1;
}

/* ---- multipart/form-data (RFC 7578) ---- */

typedef struct part {
    const char *name, *filename, *ctype, *data;
    size_t name_len, filename_len, ctype_len, data_len;
} part;

/* Strings read from the parts, referenced from a table of our own until the
 * body is built: the part tables are the caller's, and a finalizer run by
 * any allocation on the way could change them. */
typedef struct str_refs {
    int idx; /* stack index of the table */
    int n;
} str_refs;

/* Raw string field of the table on top of the stack (rawget: no metamethod
 * makes it up), or NULL for nil. */
static const char *raw_string(lua_State *L, str_refs *a, int i, const char *field, size_t *len)
{
    const char *s;
    lua_pushstring(L, field);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "multipart part %d: '%s' must be a string", i, field);
    s = lua_tolstring(L, -1, len);
    lua_rawseti(L, a->idx, ++a->n);
    return s;
}

static void check_header_safe(lua_State *L, int i, const char *field, const char *s,
                              size_t n, int quoted)
{
    size_t k;
    for (k = 0; k < n; k++) {
        char c = s[k];
        if (c == '\r' || c == '\n' || c == '\0' || (quoted && c == '"'))
            luaL_error(L, "multipart part %d: '%s' must not contain CR, LF, NUL%s", i,
                       field, quoted ? " or '\"'" : "");
    }
}

static void read_part(lua_State *L, str_refs *a, int i, part *p)
{
    const char *value;
    size_t value_len = 0;
    memset(p, 0, sizeof *p);
    lua_rawgeti(L, 1, i);
    if (!lua_istable(L, -1))
        luaL_error(L, "multipart part %d must be a table", i);
    p->name = raw_string(L, a, i, "name", &p->name_len);
    if (p->name == NULL)
        luaL_error(L, "multipart part %d: 'name' is required", i);
    p->filename = raw_string(L, a, i, "filename", &p->filename_len);
    p->ctype = raw_string(L, a, i, "content_type", &p->ctype_len);
    p->data = raw_string(L, a, i, "data", &p->data_len);
    value = raw_string(L, a, i, "value", &value_len);
    if (p->data == NULL) {
        p->data = value;
        p->data_len = value_len;
    }
    if (p->data == NULL)
        luaL_error(L, "multipart part %d: 'value' or 'data' is required", i);
    check_header_safe(L, i, "name", p->name, p->name_len, 1);
    if (p->filename)
        check_header_safe(L, i, "filename", p->filename, p->filename_len, 1);
    if (p->ctype)
        check_header_safe(L, i, "content_type", p->ctype, p->ctype_len, 0);
    if (p->filename && !p->ctype) {
        p->ctype = "application/octet-stream";
        p->ctype_len = strlen(p->ctype);
    }
    lua_pop(L, 1);
}

#define BOUNDARY_PREFIX "tanstack-ai-"
#define BOUNDARY_RANDOM 16 /* bytes, hex encoded */
#define BOUNDARY_LEN (sizeof(BOUNDARY_PREFIX) - 1 + 2 * BOUNDARY_RANDOM)

static int make_boundary(char *b, const part *parts, size_t nparts)
{
    int attempt;
    for (attempt = 0; attempt < 8; attempt++) {
        unsigned char rnd[BOUNDARY_RANDOM];
        size_t i;
        int clash = 0;
        if (!fill_random(rnd, sizeof rnd))
            return -1;
        memcpy(b, BOUNDARY_PREFIX, sizeof(BOUNDARY_PREFIX) - 1);
        to_hex(rnd, sizeof rnd, b + sizeof(BOUNDARY_PREFIX) - 1);
        for (i = 0; i < nparts && !clash; i++)
            clash = memmem(parts[i].data, parts[i].data_len, b, BOUNDARY_LEN) != NULL;
        if (!clash)
            return 0;
    }
    return -1; /* 8 clashes with 128 random bits: the RNG is broken */
}

static int l_multipart_encode(lua_State *L)
{
    size_t nparts, i;
    part *parts;
    str_refs a;
    char boundary[BOUNDARY_LEN];
    luaL_Buffer b;

    luaL_checktype(L, 1, LUA_TTABLE);
    nparts = lua_rawlen(L, 1);
    parts = scratch(L, nparts * sizeof *parts);
    lua_newtable(L);
    a.idx = lua_gettop(L);
    a.n = 0;
    for (i = 0; i < nparts; i++)
        read_part(L, &a, (int)i + 1, &parts[i]);
    if (make_boundary(boundary, parts, nparts) != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "cannot generate a multipart boundary (RAND_bytes failed)");
        return 2;
    }
    luaL_buffinit(L, &b);
    for (i = 0; i < nparts; i++) {
        const part *p = &parts[i];
        luaL_addstring(&b, "--");
        luaL_addlstring(&b, boundary, BOUNDARY_LEN);
        luaL_addstring(&b, "\r\nContent-Disposition: form-data; name=\"");
        luaL_addlstring(&b, p->name, p->name_len);
        luaL_addstring(&b, "\"");
        if (p->filename) {
            luaL_addstring(&b, "; filename=\"");
            luaL_addlstring(&b, p->filename, p->filename_len);
            luaL_addstring(&b, "\"");
        }
        if (p->ctype) {
            luaL_addstring(&b, "\r\nContent-Type: ");
            luaL_addlstring(&b, p->ctype, p->ctype_len);
        }
        luaL_addstring(&b, "\r\n\r\n");
        luaL_addlstring(&b, p->data, p->data_len);
        luaL_addstring(&b, "\r\n");
    }
    luaL_addstring(&b, "--");
    luaL_addlstring(&b, boundary, BOUNDARY_LEN);
    luaL_addstring(&b, "--\r\n");
    luaL_pushresult(&b);
    lua_pushliteral(L, "multipart/form-data; boundary=");
    lua_pushlstring(L, boundary, BOUNDARY_LEN);
    lua_concat(L, 2);
    return 2;
}

/* core.sleep_ms(ms): a plain blocking sleep for schedulers outside nginx. */
static int l_sleep_ms(lua_State *L)
{
    lua_Number ms = luaL_checknumber(L, 1);
    struct timespec ts;
    if (!(ms > 0))
        return 0;
    if (ms > 86400000)
        ms = 86400000;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (lua_Number)ts.tv_sec * 1000) * 1000000);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

/* core.now_ms(): wall-clock milliseconds since the epoch (event timestamps). */
static int l_now_ms(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000 + (lua_Number)(ts.tv_nsec / 1000000));
    return 1;
}

/* core.monotonic_ms(): a clock that never jumps, for deadlines and measuring. */
static int l_monotonic_ms(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000 + (lua_Number)ts.tv_nsec / 1e6);
    return 1;
}

/* ---- JSON for tanstack.ai.json (the strict scanner is json_pick.c's) ----
 *   core.json_check(text [, max_depth]) -> true | nil, message
 *     RFC 8259 sections 2-7 (jp_check), plus numbers within the double range
 *     (section 6 lets an implementation limit it: 1e400 would decode to inf,
 *     which no JSON text can carry back).
 *   core.json_string(s) -> s as a JSON string: '"', '\\', '/', the control
 *     bytes and DEL escaped as lua-cjson 2.1.0 escapes them, and every byte
 *     that is not part of well-formed UTF-8 (RFC 3629: no overlong forms, no
 *     surrogates, nothing above U+10FFFF) replaced by U+FFFD, one per maximal
 *     subpart (Unicode 15, section 3.9, "U+FFFD Substitution of Maximal
 *     Subparts", as WHATWG's decoder does): the text is UTF-8 (RFC 8259
 *     section 8.1) and reads as a browser would read the raw bytes. */
static int big_number(void *ud, const char *num, size_t len)
{
    lua_State *L = ud;
    lua_Number v;
    lua_pushlstring(L, num, len);
    v = lua_tonumber(L, -1); /* Lua's own reading: the C locale's '.', as lua-cjson's */
    lua_pop(L, 1);
    return isinf(v) ? -1 : 0;
}

static int l_json_check(lua_State *L)
{
    size_t n, at;
    const char *s = luaL_checklstring(L, 1, &n), *why;
    int max_depth = (int)luaL_optinteger(L, 2, 1000);
    luaL_argcheck(L, max_depth >= 1 && max_depth <= 100000, 2, "max_depth must be 1 to 100000");
    if (jp_check(s, n, max_depth, big_number, L, &at, &why) == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushfstring(L, "%s at character %d", why, (int)(at + 1));
    return 2;
}

/* 1: the byte goes out as it is (printable ASCII but '"', '/' and '\\');
 * 0: escaped, or the start of a multi-byte sequence (>= 0x80). */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* '"' '/' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* '\\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* DEL */
};

/* At a byte >= 0x80: the length of the well-formed UTF-8 sequence there (RFC
 * 3629 section 4, the table of Unicode 15 section 3.9), or 0 with *bad the
 * length of its maximal subpart (>= 1): the bytes one U+FFFD stands for. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end, size_t *bad)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t need, i;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else {
        *bad = 1; /* a continuation byte, C0, C1, F5-FF */
        return 0;
    }
    if (c == 0xE0)
        lo = 0xA0; /* overlong */
    else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    else if (c == 0xF0)
        lo = 0x90; /* overlong */
    else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    for (i = 1; i < need; i++) {
        unsigned char b;
        if (p + i >= end)
            break;
        b = p[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            break;
    }
    if (i == need)
        return need;
    *bad = i;
    return 0;
}

static int l_json_string(lua_State *L)
{
    static const char hex[] = "0123456789abcdef";
    size_t n;
    const unsigned char *p = (const unsigned char *)luaL_checklstring(L, 1, &n);
    const unsigned char *end = p + n, *run;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '"');
    run = p;
    while (p < end) {
        unsigned char c;
        size_t k, bad;
        /* the plain run, four bytes a step */
        while (end - p >= 4 && (plain[p[0]] & plain[p[1]] & plain[p[2]] & plain[p[3]]))
            p += 4;
        while (p < end && plain[*p])
            p++;
        if (p >= end)
            break;
        c = *p;
        if (c >= 0x80 && (k = utf8_seq(p, end, &bad)) != 0) {
            p += k; /* well-formed: stays in the run */
            continue;
        }
        luaL_addlstring(&b, (const char *)run, (size_t)(p - run));
        if (c >= 0x80) {
            luaL_addlstring(&b, "\xEF\xBF\xBD", 3); /* U+FFFD */
            p += bad;
        } else {
            char e[6] = {'\\', 'u', '0', '0', 0, 0};
            switch (c) {
            case '"': luaL_addlstring(&b, "\\\"", 2); break;
            case '\\': luaL_addlstring(&b, "\\\\", 2); break;
            case '/': luaL_addlstring(&b, "\\/", 2); break;
            case '\b': luaL_addlstring(&b, "\\b", 2); break;
            case '\f': luaL_addlstring(&b, "\\f", 2); break;
            case '\n': luaL_addlstring(&b, "\\n", 2); break;
            case '\r': luaL_addlstring(&b, "\\r", 2); break;
            case '\t': luaL_addlstring(&b, "\\t", 2); break;
            default: /* the other control bytes and DEL */
                e[4] = hex[c >> 4];
                e[5] = hex[c & 15];
                luaL_addlstring(&b, e, 6);
                break;
            }
            p++;
        }
        run = p;
    }
    luaL_addlstring(&b, (const char *)run, (size_t)(p - run));
    luaL_addchar(&b, '"');
    luaL_pushresult(&b);
    return 1;
}

void tai_open_util(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"base64_encode", l_base64_encode},
        {"base64_decode", l_base64_decode},
        {"random_bytes", l_random_bytes},
        {"random_hex", l_random_hex},
        {"multipart_encode", l_multipart_encode},
        {"sleep_ms", l_sleep_ms},
        {"now_ms", l_now_ms},
        {"monotonic_ms", l_monotonic_ms},
        {"json_check", l_json_check},
        {"json_string", l_json_string},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
}
