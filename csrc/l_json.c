/* JSON text checks and string encoding for tanstack.ai.json (pure C parts:
 * json_pick.c's strict scanner; the UTF-8 reading below).
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
#include <math.h>
#include <string.h>

#include "json_pick.h"
#include "l_core.h"

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

void tai_open_json(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"json_check", l_json_check},
        {"json_string", l_json_string},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
}
