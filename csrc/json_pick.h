/* Selective JSON reading for the stream hot path. Pure C, no Lua: it reads
 * untrusted bytes, so it is fuzzed (csrc/fuzz/fuzz_json_pick.c) and unit-tested.
 *
 * A translator (in Lua) names, as data, the shapes of the events it can take
 * without a full decode: "the string at choices[0].delta.content, with error,
 * usage, finish_reason, tool_calls, reasoning absent or null". jp_pick checks
 * one event's JSON text against those shapes and yields the string of the
 * first shape that matches; for anything else it answers "no" and the caller
 * decodes the event the ordinary way. The C side knows no provider.
 *
 * It never answers "yes" where a full decode (lua-cjson) could read the text
 * differently, so a "yes" gives exactly what the ordinary path would:
 *   - the whole text must be one strict RFC 8259 value (sections 2-7), with at
 *     most JP_MAX_DEPTH levels of nesting; anything cjson accepts beyond the
 *     RFC (hex, inf, nan, comments...) is a "no";
 *   - a raw control byte in any string (RFC 8259 section 7), an escaped
 *     object key where a watched key could be, a watched member appearing
 *     twice (cjson keeps the last one), a lone UTF-16 surrogate escape (cjson
 *     rejects it), or \u0000 in the picked text are all "no";
 *   - other bytes of strings are passed through as they are (cjson does not
 *     check UTF-8 either). */
#ifndef TANSTACK_AI_JSON_PICK_H
#define TANSTACK_AI_JSON_PICK_H

#include <stddef.h>

#include "buf.h"

#define JP_MAX_STEPS 6    /* steps in one path */
#define JP_MAX_PATHS 24   /* paths over all shapes (a bit each in a mask) */
#define JP_MAX_SHAPES 4
#define JP_MAX_CONDS 12   /* conditions in one shape */
#define JP_MAX_DEPTH 64   /* deeper documents: "no" */
#define JP_POOL 384       /* bytes for every key and compared value */

enum { JP_TEXT = 1, JP_NONE = 2, JP_EQUAL = 3 };

typedef struct jp_step {
    int index;            /* >= 0: that element of an array; -1: the member `key` */
    unsigned short key, key_len; /* offset and length in the pool */
} jp_step;

typedef struct jp_path {
    int n;
    jp_step steps[JP_MAX_STEPS];
} jp_path;

typedef struct jp_cond {
    int kind;             /* JP_TEXT: a string (what is picked); JP_NONE: absent
                           * or null; JP_EQUAL: a string equal to `value` */
    int path;             /* index in jp_spec.paths */
    unsigned short value, value_len; /* JP_EQUAL: offset and length in the pool */
} jp_cond;

typedef struct jp_shape {
    int n;
    int text;             /* the index in conds of the JP_TEXT condition */
    jp_cond conds[JP_MAX_CONDS];
} jp_shape;

#define JP_MAX_NODES (JP_MAX_PATHS * JP_MAX_STEPS + 1)

typedef struct jp_node {
    jp_step step;         /* how this node is reached from its parent */
    int first_child, next_sibling; /* -1: none */
    int has_keys;         /* some child is reached by a key */
    unsigned int ends;    /* the paths ending here (bit i: paths[i]) */
} jp_node;

typedef struct jp_spec {
    int npaths, nshapes;
    size_t pool_len;
    jp_path paths[JP_MAX_PATHS];
    jp_shape shapes[JP_MAX_SHAPES];
    char pool[JP_POOL];
    /* set by jp_finish: the paths as a trie (node 0 is the document), so a
     * key is compared once with each distinct watched key at its place */
    int nnodes;
    jp_node nodes[JP_MAX_NODES];
} jp_spec;

/* Building a spec (the binding does it from a Lua table). Each returns 0, or
 * -1 when a limit above is exceeded. */
TAI_HIDDEN void jp_init(jp_spec *s);
/* A new shape; conditions are added to the last one. */
TAI_HIDDEN int jp_add_shape(jp_spec *s);
/* A new path of the last condition, built step by step. */
TAI_HIDDEN int jp_add_cond(jp_spec *s, int kind, const char *value, size_t value_len);
TAI_HIDDEN int jp_add_key(jp_spec *s, const char *key, size_t len);
TAI_HIDDEN int jp_add_index(jp_spec *s, int index);
/* Check and seal a spec: every shape has exactly one JP_TEXT condition and
 * every path at least one step. 0, or -1 with *why set. */
TAI_HIDDEN int jp_finish(jp_spec *s, const char **why);

/* Match one JSON text. Returns the index of the first matching shape (>= 0)
 * with the picked string in *text / *text_len: a pointer into `json` when the
 * string has no escapes, else into `scratch` (decoded); or -1: decode it the
 * ordinary way. */
TAI_HIDDEN int jp_pick(const jp_spec *s, const char *json, size_t n, tai_buf *scratch,
                       const char **text, size_t *text_len);

/* Check a whole JSON text against RFC 8259 (sections 2-7, the grammar jp_pick
 * reads): no number outside section 6's grammar (NaN, Infinity, hex, "01",
 * "+1", "1."), no raw control byte in a string (section 7), no lone surrogate
 * escape, at most max_depth levels of nesting, nothing after the value. A
 * number whose magnitude may exceed 10^308 is passed to big(ud, text, len),
 * which answers 0 (in range) or -1 (refuse); big may be NULL. Returns 0, or -1
 * with *at the offset of the byte where the text stopped being valid (n: it
 * ended too early) and *why a phrase for it ("invalid number", "unescaped
 * control character in a string", ...). Bytes of strings are not checked as
 * UTF-8. */
typedef int (*jp_big_fn)(void *ud, const char *num, size_t len);
TAI_HIDDEN int jp_check(const char *json, size_t n, int max_depth, jp_big_fn big, void *ud, size_t *at,
                        const char **why);

#endif
