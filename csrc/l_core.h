/* Internal: each binding file adds its functions to the module table that is
 * on top of the stack and registers its metatable (named once, below). */
#ifndef TANSTACK_AI_L_CORE_H
#define TANSTACK_AI_L_CORE_H

#include "buf.h" /* TAI_HIDDEN */
#include "compat.h"
#include "headers.h" /* hdr_field */

#define TAI_VERSION "0.2.0"

#define TAI_MT_SSE "tanstack.ai.sse_parser"
#define TAI_MT_NDJSON "tanstack.ai.ndjson_parser"
#define TAI_MT_HTTP1 "tanstack.ai.http1_response_parser"
#define TAI_MT_HTTP_REQUEST "tanstack.ai.http_request"
#define TAI_MT_HTTP_ENGINE "tanstack.ai.http_engine"

TAI_HIDDEN void tai_open_util(lua_State *L);   /* base64, random, multipart, JSON checks and strings */
TAI_HIDDEN void tai_open_crypto(lua_State *L); /* hmac_sha256, timing_safe_equal */
TAI_HIDDEN void tai_open_sse(lua_State *L);
TAI_HIDDEN void tai_open_ndjson(lua_State *L);
TAI_HIDDEN void tai_open_http1(lua_State *L);
TAI_HIDDEN void tai_open_http(lua_State *L);   /* libcurl transport */

/* Reads an optional number field of the options table at `idx`;
 * raises a Lua error for a wrong type or a value < min. */
TAI_HIDDEN lua_Number tai_opt_number(lua_State *L, int idx, const char *field, lua_Number def,
                          int min);
/* Reads an optional byte limit (a number >= 0; huge values and math.huge
 * mean no limit in practice) of the options table at `idx` into *out:
 * 1 when set, 0 when absent; raises for a wrong type, a negative or NaN. */
TAI_HIDDEN int tai_opt_limit(lua_State *L, int idx, const char *field, unsigned long long *out);
/* Creates a metatable `name` whose __index is itself, with `methods`. */
TAI_HIDDEN void tai_new_metatable(lua_State *L, const char *name, const luaL_Reg *methods);

/* Yields the next header field into f: 1, or 0 at the end. */
typedef int (*tai_field_iter)(void *it, hdr_field *f);
/* Pushes a table {name = value} of the fields `next` yields (size hint
 * `nrec`). Names arrive lower-cased from the parsers (headers.c, http1.c);
 * a repeated field's values are joined with ", " (RFC 9110 5.3). */
TAI_HIDDEN void tai_push_headers(lua_State *L, tai_field_iter next, void *it, int nrec);

#endif
