/* Selective JSON reading (json_pick.h): one pass over the text that checks
 * the RFC 8259 grammar and notes, for each watched path, whether it was met
 * and what stood there. Nothing is allocated but the decoded string of an
 * escaped pick (in the caller's scratch buffer). */
#include "json_pick.h"

#include <string.h>

/* ---- building a spec ---- */

void jp_init(jp_spec *s)
{
    memset(s, 0, sizeof *s);
}

static int pool_add(jp_spec *s, const char *b, size_t n, unsigned short *off)
{
    if (n > JP_POOL - s->pool_len)
        return -1;
    memcpy(s->pool + s->pool_len, b, n);
    *off = (unsigned short)s->pool_len;
    s->pool_len += n;
    return 0;
}

int jp_add_shape(jp_spec *s)
{
    if (s->nshapes >= JP_MAX_SHAPES)
        return -1;
    s->shapes[s->nshapes].n = 0;
    s->shapes[s->nshapes].text = -1;
    s->nshapes++;
    return 0;
}

int jp_add_cond(jp_spec *s, int kind, const char *value, size_t value_len)
{
    jp_shape *sh;
    jp_cond *c;
    if (s->nshapes == 0 || s->npaths >= JP_MAX_PATHS)
        return -1;
    sh = &s->shapes[s->nshapes - 1];
    if (sh->n >= JP_MAX_CONDS || kind < JP_TEXT || kind > JP_EQUAL)
        return -1;
    c = &sh->conds[sh->n];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->path = s->npaths;
    if (kind == JP_EQUAL) {
        if (value_len > 0xffff || pool_add(s, value, value_len, &c->value) != 0)
            return -1;
        c->value_len = (unsigned short)value_len;
    }
    if (kind == JP_TEXT) {
        if (sh->text >= 0)
            return -1;
        sh->text = sh->n;
    }
    s->paths[s->npaths].n = 0;
    s->npaths++;
    sh->n++;
    return 0;
}

static jp_step *new_step(jp_spec *s)
{
    jp_path *p;
    if (s->npaths == 0)
        return NULL;
    p = &s->paths[s->npaths - 1];
    if (p->n >= JP_MAX_STEPS)
        return NULL;
    return &p->steps[p->n++];
}

int jp_add_key(jp_spec *s, const char *key, size_t len)
{
    jp_step *st = new_step(s);
    if (!st || len > 0xffff)
        return -1;
    st->index = -1;
    st->key_len = (unsigned short)len;
    return pool_add(s, key, len, &st->key);
}

int jp_add_index(jp_spec *s, int index)
{
    jp_step *st;
    if (index < 0)
        return -1;
    st = new_step(s);
    if (!st)
        return -1;
    st->index = index;
    return 0;
}

static int same_step(const jp_spec *s, const jp_step *a, const jp_step *b)
{
    if (a->index != b->index)
        return 0;
    return a->index >= 0 ||
           (a->key_len == b->key_len && memcmp(s->pool + a->key, s->pool + b->key, a->key_len) == 0);
}

int jp_finish(jp_spec *s, const char **why)
{
    int i, d;
    if (s->nshapes == 0) {
        *why = "no shapes";
        return -1;
    }
    for (i = 0; i < s->nshapes; i++) {
        if (s->shapes[i].text < 0) {
            *why = "a shape has no text path";
            return -1;
        }
    }
    memset(&s->nodes[0], 0, sizeof s->nodes[0]);
    s->nodes[0].first_child = s->nodes[0].next_sibling = -1;
    s->nnodes = 1;
    for (i = 0; i < s->npaths; i++) {
        const jp_path *p = &s->paths[i];
        int at = 0;
        if (p->n == 0) {
            *why = "an empty path";
            return -1;
        }
        for (d = 0; d < p->n; d++) {
            int c = s->nodes[at].first_child;
            while (c >= 0 && !same_step(s, &s->nodes[c].step, &p->steps[d]))
                c = s->nodes[c].next_sibling;
            if (c < 0) { /* at most one node per step of every path: JP_MAX_NODES is enough */
                c = s->nnodes++;
                memset(&s->nodes[c], 0, sizeof s->nodes[c]);
                s->nodes[c].step = p->steps[d];
                s->nodes[c].first_child = -1;
                s->nodes[c].next_sibling = s->nodes[at].first_child;
                s->nodes[at].first_child = c;
                if (p->steps[d].index < 0)
                    s->nodes[at].has_keys = 1;
            }
            at = c;
        }
        s->nodes[at].ends |= 1u << i;
    }
    return 0;
}

/* ---- one pass over the text ---- */

enum { SEEN_NOTHING = 0, SEEN_STRING, SEEN_NULL, SEEN_OTHER };

typedef struct seen {
    int kind;
    int esc;                /* the string has escapes */
    const char *str;        /* the string's bytes between the quotes */
    size_t len;
} seen;

typedef struct scan {
    const char *p, *end;
    const jp_spec *spec;    /* NULL: jp_check (nothing watched) */
    int max_depth;
    jp_big_fn big;          /* jp_check: asked about a number that may be out of range */
    void *big_ud;
    const char *why;        /* set where a check fails (jp_check reports it) */
    seen seen[JP_MAX_PATHS];
    unsigned char hits[JP_MAX_NODES]; /* values met at each trie node: 2 is a repeated member */
} scan;

static int is_ws(char c)
{
    /* RFC 8259 section 2: space, horizontal tab, line feed, carriage return */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline void skip_ws(scan *s)
{
    /* most tokens follow each other directly: one test for that */
    if (s->p < s->end && (unsigned char)*s->p > ' ')
        return;
    while (s->p < s->end && is_ws(*s->p))
        s->p++;
}

/* Bytes a string scan stops at: '"', '\\' and the control bytes (RFC 8259
 * section 7 leaves every other byte to the string). */
static const unsigned char stop_byte[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
};

static int hex4(const char *p, const char *end)
{
    int v = 0, i;
    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* RFC 8259 section 7. At the opening quote; on success past the closing one.
 * Escapes are checked as lua-cjson reads them: a high surrogate must be
 * followed by an escaped low one, a lone low surrogate is an error. */
static int scan_string(scan *s, const char **str, size_t *len, int *esc)
{
    const char *p = s->p + 1, *end = s->end;
    *str = p;
    *esc = 0;
    while (p < end) {
        unsigned char c;
        /* the plain run, four bytes a step */
        while (end - p >= 4 && !(stop_byte[(unsigned char)p[0]] | stop_byte[(unsigned char)p[1]] |
                                 stop_byte[(unsigned char)p[2]] | stop_byte[(unsigned char)p[3]]))
            p += 4;
        while (p < end && !stop_byte[(unsigned char)*p])
            p++;
        if (p >= end)
            break;
        c = (unsigned char)*p;
        if (c == '"') {
            *len = (size_t)(p - *str);
            s->p = p + 1;
            return 0;
        }
        if (c < 0x20) {
            s->why = "unescaped control character in a string";
            goto fail;
        }
        *esc = 1; /* a backslash */
        if (end - p < 2)
            goto fail;
        c = (unsigned char)p[1];
        if (c == 'u') {
            int cp = hex4(p + 2, end);
            if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
                goto fail;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int lo;
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
                    goto fail;
                lo = hex4(p + 8, end);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    goto fail;
                p += 12;
            } else {
                p += 6;
            }
            continue;
        }
        switch (c) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            continue;
        default:
            goto fail;
        }
    }
fail:
    if (!s->why)
        s->why = "invalid string";
    s->p = p;
    return -1;
}

static int is_digit(const scan *s)
{
    return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* With a jp_big_fn: a number that may lie beyond the double range (RFC 8259
 * section 6 lets an implementation limit the range). Its magnitude is below
 * 10^(integer digits + exponent): at most 10^308 is always in range. */
static int range_ok(scan *s, const char *start, long idigits, long exp)
{
    if (idigits + exp <= 308 || s->big(s->big_ud, start, (size_t)(s->p - start)) == 0)
        return 0;
    s->p = start;
    s->why = "number out of range";
    return -1;
}

static int bad_number(scan *s)
{
    s->why = "invalid number";
    return -1;
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int scan_number(scan *s)
{
    const char *start = s->p, *digits;
    long idigits = 0;
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (!is_digit(s))
        return bad_number(s);
    digits = s->p;
    if (*s->p == '0') {
        s->p++;
        if (is_digit(s)) /* a leading zero */
            return bad_number(s);
    } else {
        while (is_digit(s))
            s->p++;
        idigits = (long)(s->p - digits);
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!is_digit(s))
            return bad_number(s);
        while (is_digit(s))
            s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        long exp = 0;
        int neg = 0;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            neg = *s->p++ == '-';
        if (!is_digit(s))
            return bad_number(s);
        while (is_digit(s)) {
            if (exp < 100000) /* saturates: far beyond any double either way */
                exp = exp * 10 + (*s->p - '0');
            s->p++;
        }
        return s->big ? range_ok(s, start, idigits, neg ? -exp : exp) : 0;
    }
    return s->big ? range_ok(s, start, idigits, 0) : 0;
}

static int scan_literal(scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static void note(scan *s, unsigned int targets, int kind, const char *str, size_t len, int esc)
{
    while (targets) {
        int i = __builtin_ctz(targets);
        targets &= targets - 1;
        s->seen[i].kind = kind;
        s->seen[i].str = str;
        s->seen[i].len = len;
        s->seen[i].esc = esc;
    }
}

static int scan_value(scan *s, int node, int depth);

/* A value at a watched node: a second one there is a repeated member (only
 * objects can repeat one; cjson would keep the last). */
static int enter(scan *s, int node)
{
    return ++s->hits[node] > 1 ? -1 : 0;
}

static int key_child(const jp_spec *sp, int node, const char *k, size_t klen)
{
    int c;
    for (c = sp->nodes[node].first_child; c >= 0; c = sp->nodes[c].next_sibling) {
        const jp_step *st = &sp->nodes[c].step;
        if (st->index < 0 && st->key_len == klen &&
            (klen == 0 || (sp->pool[st->key] == k[0] && memcmp(sp->pool + st->key, k, klen) == 0)))
            return c;
    }
    return -1;
}

static int index_child(const jp_spec *sp, int node, int index)
{
    int c;
    for (c = sp->nodes[node].first_child; c >= 0; c = sp->nodes[c].next_sibling)
        if (sp->nodes[c].step.index == index)
            return c;
    return -1;
}

/* After a member or an element: 1 at ',' (another follows), 0 at `close`
 * (the container ends), -1 for anything else (what the scans return). */
static int after_item(scan *s, char close)
{
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    if (*s->p == ',') {
        s->p++;
        return 1;
    }
    if (*s->p == close) {
        s->p++;
        return 0;
    }
    return -1;
}

/* node: the trie node of this object (-1: nothing watched inside) */
static int scan_object(scan *s, int node, int depth)
{
    const jp_spec *sp = s->spec;
    int want = node >= 0 && sp->nodes[node].has_keys;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        const char *k;
        size_t klen;
        int kesc, rc, child = -1;
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"' || scan_string(s, &k, &klen, &kesc) != 0)
            return -1;
        if (want) {
            if (kesc) /* "us\u0061ge" is "usage" to cjson: not read here */
                return -1;
            child = key_child(sp, node, k, klen);
            if (child >= 0 && enter(s, child) != 0)
                return -1;
        }
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        if (scan_value(s, child, depth + 1) != 0)
            return -1;
        rc = after_item(s, '}');
        if (rc <= 0)
            return rc;
    }
}

static int scan_array(scan *s, int node, int depth)
{
    const jp_spec *sp = s->spec;
    int want = node >= 0 && sp->nodes[node].first_child >= 0;
    int index = 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;; index++) {
        int rc, child = want ? index_child(sp, node, index) : -1;
        if (child >= 0 && enter(s, child) != 0)
            return -1;
        if (scan_value(s, child, depth + 1) != 0)
            return -1;
        rc = after_item(s, ']');
        if (rc <= 0)
            return rc;
    }
}

static int scan_value(scan *s, int node, int depth)
{
    unsigned int targets = node >= 0 ? s->spec->nodes[node].ends : 0; /* jp_check: node is always -1 */
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '{':
    case '[':
        if (depth >= s->max_depth) {
            s->why = "nested too deeply";
            return -1;
        }
        if (targets)
            note(s, targets, SEEN_OTHER, NULL, 0, 0);
        return *s->p == '{' ? scan_object(s, node, depth) : scan_array(s, node, depth);
    case '"': {
        const char *str;
        size_t len;
        int esc;
        if (scan_string(s, &str, &len, &esc) != 0)
            return -1;
        if (targets)
            note(s, targets, SEEN_STRING, str, len, esc);
        return 0;
    }
    case 'n':
        if (targets)
            note(s, targets, SEEN_NULL, NULL, 0, 0);
        return scan_literal(s, "null", 4);
    case 't':
        if (targets)
            note(s, targets, SEEN_OTHER, NULL, 0, 0);
        return scan_literal(s, "true", 4);
    case 'f':
        if (targets)
            note(s, targets, SEEN_OTHER, NULL, 0, 0);
        return scan_literal(s, "false", 5);
    default:
        if (*s->p != '-' && (*s->p < '0' || *s->p > '9')) {
            s->why = "invalid token"; /* NaN, Infinity, +1, a stray ',' or ']' ... */
            return -1;
        }
        if (targets)
            note(s, targets, SEEN_OTHER, NULL, 0, 0);
        return scan_number(s);
    }
}

/* ---- the picked string ---- */

static void put_utf8(char **o, unsigned long cp)
{
    char *q = *o;
    if (cp < 0x80) {
        *q++ = (char)cp;
    } else if (cp < 0x800) {
        *q++ = (char)(0xC0 | (cp >> 6));
        *q++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *q++ = (char)(0xE0 | (cp >> 12));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *q++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *q++ = (char)(0xF0 | (cp >> 18));
        *q++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *q++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *q++ = (char)(0x80 | (cp & 0x3F));
    }
    *o = q;
}

/* The escapes of a string scan_string accepted. No byte longer than the text:
 * an escape is never shorter than what it stands for. -1 for \u0000. */
static int unescape(const char *p, size_t n, tai_buf *out)
{
    const char *end = p + n;
    char *o;
    out->len = 0;
    if (tai_buf_reserve(out, n) != 0)
        return -1;
    o = out->p;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = bs ? (size_t)(bs - p) : (size_t)(end - p);
        memcpy(o, p, run);
        o += run;
        p += run;
        if (!bs)
            break;
        switch (p[1]) {
        case 'b': *o++ = '\b'; p += 2; break;
        case 'f': *o++ = '\f'; p += 2; break;
        case 'n': *o++ = '\n'; p += 2; break;
        case 'r': *o++ = '\r'; p += 2; break;
        case 't': *o++ = '\t'; p += 2; break;
        case 'u': {
            unsigned long cp = (unsigned long)hex4(p + 2, end);
            p += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned long lo = (unsigned long)hex4(p + 2, end);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if (cp == 0)
                return -1;
            put_utf8(&o, cp);
            break;
        }
        default: /* " \ / */
            *o++ = p[1];
            p += 2;
            break;
        }
    }
    out->len = (size_t)(o - out->p);
    return 0;
}

static int shape_matches(const jp_spec *sp, const jp_shape *sh, const scan *s, int *undecided)
{
    int i;
    for (i = 0; i < sh->n; i++) {
        const jp_cond *c = &sh->conds[i];
        const seen *v = &s->seen[c->path];
        switch (c->kind) {
        case JP_TEXT:
            if (v->kind != SEEN_STRING)
                return 0;
            break;
        case JP_NONE:
            if (v->kind != SEEN_NOTHING && v->kind != SEEN_NULL)
                return 0;
            break;
        default: /* JP_EQUAL */
            if (v->kind != SEEN_STRING)
                return 0;
            if (v->esc) { /* equal or not after unescaping: leave it to the full decode */
                *undecided = 1;
                return 0;
            }
            if (v->len != c->value_len || memcmp(v->str, sp->pool + c->value, v->len) != 0)
                return 0;
            break;
        }
    }
    return 1;
}

/* A scanner over json[0, n): picking with sp's paths (NULL: checking only), nesting at most max_depth, numbers
 * beyond the double range reported to big (NULL: none). */
static void scan_init(scan *s, const char *json, size_t n, const jp_spec *sp, int max_depth, jp_big_fn big,
                      void *ud)
{
    s->p = json;
    s->end = json + n;
    s->spec = sp;
    s->max_depth = max_depth;
    s->big = big;
    s->big_ud = ud;
    s->why = NULL;
}

int jp_pick(const jp_spec *sp, const char *json, size_t n, tai_buf *scratch, const char **text,
            size_t *text_len)
{
    scan s;
    int i;
    scan_init(&s, json, n, sp, JP_MAX_DEPTH, NULL, NULL);
    memset(s.seen, 0, sizeof(s.seen[0]) * (size_t)sp->npaths);
    memset(s.hits, 0, (size_t)sp->nnodes);
    if (scan_value(&s, 0, 0) != 0)
        return -1;
    skip_ws(&s);
    if (s.p != s.end)
        return -1;
    for (i = 0; i < sp->nshapes; i++) {
        const jp_shape *sh = &sp->shapes[i];
        const seen *t;
        int undecided = 0;
        if (!shape_matches(sp, sh, &s, &undecided)) {
            if (undecided)
                return -1;
            continue;
        }
        t = &s.seen[sh->conds[sh->text].path];
        if (!t->esc) {
            *text = t->str;
            *text_len = t->len;
            return i;
        }
        if (unescape(t->str, t->len, scratch) != 0)
            return -1;
        *text = scratch->p ? scratch->p : "";
        *text_len = scratch->len;
        return i;
    }
    return -1;
}

/* ---- checking a whole text ---- */

int jp_check(const char *json, size_t n, int max_depth, jp_big_fn big, void *ud, size_t *at,
             const char **why)
{
    scan s;
    scan_init(&s, json, n, NULL, max_depth, big, ud);
    if (scan_value(&s, -1, 0) == 0) {
        skip_ws(&s);
        if (s.p == s.end)
            return 0;
        s.why = "text after the value";
    }
    *at = (size_t)(s.p - json);
    *why = s.why ? s.why : s.p == s.end ? "unexpected end" : "invalid token";
    return -1;
}
