/* Lua bindings for signing: SHA-256, HMAC-SHA256 and a constant-time
 * comparison (OpenSSL's libcrypto, already linked for RAND_bytes).
 *   core.sha256(data) -> 32 raw bytes (FIPS 180-4)
 *   core.hmac_sha256(key, data) -> 32 raw bytes (RFC 2104 with SHA-256)
 *   core.timing_safe_equal(a, b) -> boolean: false when the lengths differ
 *     (the length is not hidden); equal lengths are compared with
 *     CRYPTO_memcmp, whose time does not depend on where the bytes differ. */
#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "l_core.h"

/* Strings only: a number converted to a string is never a key or a MAC. */
static const char *check_bytes(lua_State *L, int idx, size_t *n)
{
    luaL_checktype(L, idx, LUA_TSTRING);
    return lua_tolstring(L, idx, n);
}

static int l_sha256(lua_State *L)
{
    size_t dlen;
    const char *data = check_bytes(L, 1, &dlen);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, dlen, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return luaL_error(L, "SHA-256 failed");
    lua_pushlstring(L, (const char *)md, mdlen);
    return 1;
}

static int l_hmac_sha256(lua_State *L)
{
    size_t klen, dlen;
    const char *key = check_bytes(L, 1, &klen);
    const char *data = check_bytes(L, 2, &dlen);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (klen > INT_MAX)
        return luaL_argerror(L, 1, "key too long");
    /* key is never NULL (a Lua string), so an empty key is an empty key, not
     * "reuse the previous one" */
    if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data, dlen, md, &mdlen) == NULL ||
        mdlen != 32)
        return luaL_error(L, "HMAC-SHA256 failed");
    lua_pushlstring(L, (const char *)md, mdlen);
    OPENSSL_cleanse(md, sizeof md);
    return 1;
}

static int l_timing_safe_equal(lua_State *L)
{
    size_t an, bn;
    const char *a = check_bytes(L, 1, &an);
    const char *b = check_bytes(L, 2, &bn);
    lua_pushboolean(L, an == bn && CRYPTO_memcmp(a, b, an) == 0);
    return 1;
}

void tai_open_crypto(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"sha256", l_sha256},
        {"hmac_sha256", l_hmac_sha256},
        {"timing_safe_equal", l_timing_safe_equal},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
}
