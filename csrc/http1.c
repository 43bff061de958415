#include "http1.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
    S_HEAD,
    S_BODY_LENGTH,
    S_BODY_CLOSE,
    S_CHUNK_SIZE,
    S_CHUNK_DATA,
    S_CHUNK_CRLF,
    S_TRAILERS,
    S_DONE
};

#define MAX_CHUNK_LINE 4096
#define MAX_TRAILER_BYTES (64 * 1024)

void h1_init(h1_parser *p, int head_request)
{
    memset(p, 0, sizeof *p);
    p->head_request = head_request;
    p->state = S_HEAD;
    p->max_body = H1_NO_LIMIT;
}

void h1_init_chunked_body(h1_parser *p)
{
    h1_init(p, 0);
    p->state = S_CHUNK_SIZE;
    p->keep_alive = 1;
}

void h1_set_max_body(h1_parser *p, unsigned long long max_body)
{
    p->max_body = max_body;
}

void h1_free(h1_parser *p)
{
    tai_buf_free(&p->head);
}

int h1_done(const h1_parser *p)
{
    return p->state == S_DONE;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail_as(h1_parser *p, int kind, const char *fmt, ...)
{
    va_list ap;
    p->failed = kind;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    return -1;
}

#define fail(p, ...) fail_as((p), H1_E_MALFORMED, __VA_ARGS__)
#define fail_nomem(p) fail_as((p), H1_E_NOMEM, "http1 parser: out of memory")

/* The body would grow past max_body. */
static int fail_too_large(h1_parser *p)
{
    return fail_as(p, H1_E_TOO_LARGE, "response body exceeds the limit of %llu bytes", p->max_body);
}

/* Whether `more` body bytes still fit under max_body. */
static int body_fits(const h1_parser *p, unsigned long long more)
{
    return more <= p->max_body - p->body_bytes;
}

static int is_ws(int c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 tchar */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int ieq(const char *a, size_t an, const char *b)
{
    size_t i;
    if (an != strlen(b))
        return 0;
    for (i = 0; i < an; i++)
        if (lower((unsigned char)a[i]) != b[i])
            return 0;
    return 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Calls fn for each comma-separated, whitespace-trimmed, non-empty element. */
typedef int (*list_fn)(void *ctx, const char *s, size_t n);
static int each_list_item(const char *s, size_t n, list_fn fn, void *ctx)
{
    size_t i = 0;
    while (i < n) {
        size_t a, b;
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
            i++;
        a = i;
        while (i < n && s[i] != ',')
            i++;
        b = i;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b > a && fn(ctx, s + a, b - a) != 0)
            return -1;
    }
    return 0;
}

typedef struct {
    unsigned long long value;
    int seen, bad;
} cl_ctx;

static int cl_item(void *vctx, const char *s, size_t n)
{
    cl_ctx *c = vctx;
    unsigned long long v = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (0x7fffffffffffffffULL - 9) / 10) {
            c->bad = 1;
            return -1;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (c->seen && v != c->value) {
        c->bad = 1;
        return -1;
    }
    c->seen = 1;
    c->value = v;
    return 0;
}

typedef struct {
    int close, keep_alive;
} conn_ctx;

static int conn_item(void *vctx, const char *s, size_t n)
{
    conn_ctx *c = vctx;
    if (ieq(s, n, "close"))
        c->close = 1;
    else if (ieq(s, n, "keep-alive"))
        c->keep_alive = 1;
    return 0;
}

typedef struct {
    int chunked_last;
    int any;
} te_ctx;

static int te_item(void *vctx, const char *s, size_t n)
{
    te_ctx *c = vctx;
    c->any = 1;
    c->chunked_last = ieq(s, n, "chunked");
    return 0;
}

/* Parses one header line [s, s+n) (no line end) into h. */
static int parse_header_line(h1_parser *p, char *s, size_t n, h1_header *h)
{
    size_t i = 0, a, b;
    while (i < n && is_tchar((unsigned char)s[i])) {
        s[i] = (char)lower((unsigned char)s[i]);
        i++;
    }
    if (i == 0 || i >= n || s[i] != ':')
        return fail(p, "malformed header line");
    h->name = s;
    h->name_len = i;
    a = i + 1;
    b = n;
    while (a < b && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
        b--;
    if (memchr(s + a, '\0', b - a) || memchr(s + a, '\r', b - a))
        return fail(p, "invalid character in header value");
    h->value = s + a;
    h->value_len = b - a;
    return 0;
}

static int parse_status_line(h1_parser *p, const char *s, size_t n, h1_head *hd)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
        s[8] != ' ' || s[9] < '1' || s[9] > '9' || s[10] < '0' || s[10] > '9' ||
        s[11] < '0' || s[11] > '9' || (n > 12 && s[12] != ' '))
        return fail(p, "malformed status line");
    hd->minor = s[7] - '0';
    hd->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    hd->reason = n > 12 ? s + 13 : s + 12;
    hd->reason_len = n > 12 ? n - 13 : 0;
    if (memchr(hd->reason, '\0', hd->reason_len) || memchr(hd->reason, '\r', hd->reason_len))
        return fail(p, "malformed status line");
    return 0;
}

/* The blank line ending the head has been buffered: parse the whole block. */
static int complete_head(h1_parser *p, const h1_callbacks *cb, void *ud)
{
    char *s = p->head.p, *end = p->head.p + p->head.len;
    h1_head hd;
    size_t nh = 0;
    int first = 1;
    cl_ctx cl = {0, 0, 0};
    conn_ctx conn = {0, 0};
    te_ctx te = {0, 0};
    char *prev_end = NULL; /* end of the previous header line, for obs-fold */

    memset(&hd, 0, sizeof hd);
    while (s < end) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = (size_t)(nl - s); /* the buffered block always ends in LF */
        /* Head tolerance, RFC 9112 2.2: "a recipient MAY recognize a single
         * LF as a line terminator and ignore any preceding CR" (status line
         * and header section only: the chunked framing below is strict). */
        if (n && s[n - 1] == '\r')
            n--;
        if (n == 0)
            break; /* the blank line */
        if (first) {
            if (parse_status_line(p, s, n, &hd) != 0)
                return -1;
            first = 0;
        } else if (s[0] == ' ' || s[0] == '\t') {
            /* Head tolerance, RFC 9112 5.2: "A user agent that receives an
             * obs-fold in a response message ... MUST replace each received
             * obs-fold with one or more SP octets prior to interpreting the
             * field value." The previous value and this line are contiguous
             * in the buffer. */
            h1_header *h;
            char *q;
            size_t vlen;
            if (nh == 0)
                return fail(p, "malformed header line");
            h = &p->headers[nh - 1];
            for (q = prev_end; q < s + n && (*q == '\r' || *q == '\n' || *q == ' ' || *q == '\t'); q++)
                *q = ' ';
            if (memchr(s, '\0', n) || memchr(s, '\r', n))
                return fail(p, "invalid character in header value");
            if (h->value_len == 0)
                h->value = q; /* the first line had an empty value */
            vlen = (size_t)(s + n - h->value);
            while (vlen && (h->value[vlen - 1] == ' ' || h->value[vlen - 1] == '\t'))
                vlen--;
            h->value_len = vlen;
            prev_end = s + n;
        } else {
            if (nh == H1_MAX_HEADERS)
                return fail(p, "too many headers (max %d)", H1_MAX_HEADERS);
            if (parse_header_line(p, s, n, &p->headers[nh]) != 0)
                return -1;
            nh++;
            prev_end = s + n;
        }
        s = nl + 1;
    }
    if (first)
        return fail(p, "malformed status line");
    hd.headers = p->headers;
    hd.nheaders = nh;

    if (hd.status < 200) {
        if (hd.status == 101)
            return fail(p, "unsupported: 101 Switching Protocols");
        /* interim response: skipped, the final head follows */
        p->head.len = 0;
        p->line_start = 0;
        return 0;
    }

    {
        size_t i;
        for (i = 0; i < nh; i++) {
            const h1_header *h = &p->headers[i];
            if (h->name_len == 14 && memcmp(h->name, "content-length", 14) == 0) {
                if (h->value_len == 0 || each_list_item(h->value, h->value_len, cl_item, &cl) != 0 || cl.bad || !cl.seen)
                    return fail(p, "invalid content-length");
            } else if (h->name_len == 10 && memcmp(h->name, "connection", 10) == 0) {
                each_list_item(h->value, h->value_len, conn_item, &conn);
            } else if (h->name_len == 17 && memcmp(h->name, "transfer-encoding", 17) == 0) {
                each_list_item(h->value, h->value_len, te_item, &te);
            }
        }
    }
    p->keep_alive = hd.minor >= 1 ? !conn.close : (conn.keep_alive && !conn.close);

    if (p->head_request || hd.status == 204 || hd.status == 304) {
        p->state = S_DONE;
    } else if (te.any) {
        if (cl.seen)
            p->keep_alive = 0; /* RFC 9112 6.3: TE overrides CL; close after */
        if (te.chunked_last) {
            p->state = S_CHUNK_SIZE;
        } else {
            p->state = S_BODY_CLOSE;
            p->keep_alive = 0;
        }
    } else if (cl.seen) {
        p->remaining = cl.value;
        p->state = cl.value ? S_BODY_LENGTH : S_DONE;
    } else {
        p->state = S_BODY_CLOSE;
        p->keep_alive = 0;
    }
    /* refused at the announced length, before a byte of the body */
    if (p->state == S_BODY_LENGTH && !body_fits(p, p->remaining))
        return fail_as(p, H1_E_TOO_LARGE,
                       "response body of %llu bytes (Content-Length) exceeds the limit of %llu bytes",
                       p->remaining, p->max_body);

    cb->on_head(ud, &hd);
    p->head.len = 0;
    p->line_start = 0;
    if (p->state == S_DONE)
        cb->on_done(ud, p->keep_alive);
    return 0;
}

/* Accumulates head lines; returns bytes consumed or -1. */
static long feed_head(h1_parser *p, const char *buf, size_t n, const h1_callbacks *cb, void *ud)
{
    size_t pos = 0;
    while (pos < n && p->state == S_HEAD) {
        const char *nl = memchr(buf + pos, '\n', n - pos);
        size_t take = nl ? (size_t)(nl - (buf + pos)) + 1 : n - pos;
        size_t llen;
        if (take > H1_MAX_HEAD_BYTES - p->head.len)
            return fail(p, "response head too large (max %d bytes)", H1_MAX_HEAD_BYTES);
        if (tai_buf_append(&p->head, buf + pos, take) != 0)
            return fail_nomem(p);
        pos += take;
        if (!nl)
            break;
        llen = p->head.len - p->line_start; /* includes the LF */
        if (llen == 1 || (llen == 2 && p->head.p[p->line_start] == '\r')) {
            if (p->line_start == 0) {
                /* empty lines before the status line are skipped: the
                 * robustness RFC 9112 2.2 asks of a server before a
                 * request-line, applied to the status line */
                p->head.len = 0;
                continue;
            }
            if (complete_head(p, cb, ud) != 0)
                return -1;
        } else {
            p->line_start = p->head.len;
        }
    }
    return (long)pos;
}

/* ---- chunked framing: RFC 9112 7.1, strictly ----
 *
 *   chunked-body   = *chunk last-chunk trailer-section CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )   (7.1.1)
 *   chunk-ext-name = token
 *   chunk-ext-val  = token / quoted-string
 *   trailer-section = *( field-line CRLF )                                            (RFC 9112 5)
 *
 * Every line end of the body framing is CRLF: the bare-LF tolerance of RFC
 * 9112 2.2 is for the start line and the header section, and the chunk
 * boundaries decide where this response ends and the next one on a reused
 * connection begins, so any other reading is a desync. BWS (RFC 9110 5.6.3)
 * is *( SP / HTAB ) and appears in chunk-ext only before ";" and around "=":
 * "5 ;a=b" and "5; a = b" are well formed (a recipient MUST parse BWS and
 * remove it), "5 " and "5;a " are not (whitespace not followed by ";" or
 * "="). Extensions are checked, then ignored (7.1.1: a recipient MUST ignore
 * unrecognized chunk extensions). */

static size_t skip_bws(const char *s, size_t i, size_t n)
{
    while (i < n && is_ws((unsigned char)s[i]))
        i++;
    return i;
}

static size_t skip_token(const char *s, size_t i, size_t n)
{
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

/* RFC 9110 5.6.4:
 *   quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
 *   qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
 *   quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
 * s[*i] is the opening DQUOTE; on success *i is just past the closing one. */
static int parse_quoted(h1_parser *p, const char *s, size_t *i, size_t n)
{
    size_t k = *i + 1;
    while (k < n) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"') {
            *i = k + 1;
            return 0;
        }
        if (c == '\\') {
            if (++k == n)
                break;
            c = (unsigned char)s[k];
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(p, "malformed chunk extension: control character in a quoted value");
        k++;
    }
    return fail(p, "malformed chunk extension: unclosed quoted value");
}

/* The chunk-size line is buffered in p->head, up to and including its LF. */
static int parse_chunk_line(h1_parser *p)
{
    const char *s = p->head.p;
    size_t n = p->head.len, i = 0;
    unsigned long long v = 0;
    int ext = 0; /* inside the extensions (for the messages) */
    if (n < 2 || s[n - 2] != '\r')
        return fail(p, "malformed chunked body: chunk size line not ended by CRLF");
    n -= 2;
    for (; i < n; i++) {
        int d = hexval((unsigned char)s[i]);
        if (d < 0)
            break;
        if (v > (0x7fffffffffffffffULL >> 4))
            return fail(p, "chunk size too large");
        v = (v << 4) | (unsigned)d;
    }
    if (i == 0)
        return fail(p, "malformed chunk size");
    while (i < n) {
        size_t j = skip_bws(s, i, n);
        if (j == n || s[j] != ';') {
            if (j > i)
                return fail(p, "malformed chunk line: whitespace not followed by ';' (RFC 9112 7.1.1)");
            return fail(p, "%s", ext ? "malformed chunk extension" : "malformed chunk size");
        }
        ext = 1;
        i = skip_bws(s, j + 1, n);
        j = skip_token(s, i, n);
        if (j == i)
            return fail(p, "malformed chunk extension: empty name");
        i = j;
        j = skip_bws(s, i, n);
        if (j < n && s[j] == '=') {
            i = skip_bws(s, j + 1, n);
            if (i < n && s[i] == '"') {
                if (parse_quoted(p, s, &i, n) != 0)
                    return -1;
            } else {
                j = skip_token(s, i, n);
                if (j == i)
                    return fail(p, "malformed chunk extension: empty value");
                i = j;
            }
        }
    }
    if (!body_fits(p, v))
        return fail_too_large(p);
    p->remaining = v;
    p->head.len = 0;
    p->state = v ? S_CHUNK_DATA : S_TRAILERS;
    p->trailer_fields = 0;
    p->trailer_bytes = 0;
    return 0;
}

/* One trailer-section line is buffered in p->head, up to and including its
 * LF: a field line (framed, checked, not exposed), an obs-fold continuing
 * one (RFC 9112 5.2, as in the head), or the final CRLF. */
static int trailer_line(h1_parser *p, const h1_callbacks *cb, void *ud)
{
    const char *s = p->head.p;
    size_t n = p->head.len, i = 0;
    if (n < 2 || s[n - 2] != '\r')
        return fail(p, "malformed chunked body: trailer line not ended by CRLF");
    n -= 2;
    p->head.len = 0;
    if (n == 0) {
        p->state = S_DONE;
        cb->on_done(ud, p->keep_alive);
        return 0;
    }
    if (is_ws((unsigned char)s[0])) {
        if (p->trailer_fields == 0)
            return fail(p, "malformed trailer field");
    } else {
        i = skip_token(s, 0, n);
        if (i == 0 || i == n || s[i] != ':')
            return fail(p, "malformed trailer field");
        p->trailer_fields++;
    }
    if (memchr(s + i, '\0', n - i) || memchr(s + i, '\r', n - i))
        return fail(p, "invalid character in trailer field");
    return 0;
}

int h1_feed(h1_parser *p, const char *buf, size_t n, const h1_callbacks *cb, void *ud)
{
    size_t pos = 0;
    if (p->failed)
        return -1;
    while (pos < n) {
        size_t avail = n - pos;
        switch (p->state) {
        case S_HEAD: {
            long used = feed_head(p, buf + pos, avail, cb, ud);
            if (used < 0)
                return -1;
            pos += (size_t)used;
            break;
        }
        case S_BODY_CLOSE:
            if (!body_fits(p, avail))
                return fail_too_large(p);
            p->body_bytes += avail;
            cb->on_body(ud, buf + pos, avail);
            pos = n;
            break;
        case S_BODY_LENGTH:
        case S_CHUNK_DATA: {
            /* within the limit: Content-Length and chunk sizes were checked */
            size_t take = p->remaining < avail ? (size_t)p->remaining : avail;
            p->body_bytes += take;
            cb->on_body(ud, buf + pos, take);
            pos += take;
            p->remaining -= take;
            if (p->remaining == 0) {
                if (p->state == S_BODY_LENGTH) {
                    p->state = S_DONE;
                    cb->on_done(ud, p->keep_alive);
                } else {
                    p->state = S_CHUNK_CRLF;
                    p->crlf_cr = 0;
                }
            }
            break;
        }
        case S_CHUNK_CRLF: {
            /* chunk-data CRLF: exactly CR then LF */
            char c = buf[pos++];
            if (!p->crlf_cr && c == '\r')
                p->crlf_cr = 1;
            else if (p->crlf_cr && c == '\n')
                p->state = S_CHUNK_SIZE;
            else
                return fail(p, "malformed chunked body: missing CRLF after chunk data");
            break;
        }
        case S_CHUNK_SIZE:
        case S_TRAILERS: {
            /* one line into p->head: a chunk-size line, or a trailer line */
            const char *nl = memchr(buf + pos, '\n', avail);
            size_t take = nl ? (size_t)(nl - (buf + pos)) + 1 : avail;
            if (p->state == S_CHUNK_SIZE) {
                if (take > MAX_CHUNK_LINE - p->head.len)
                    return fail(p, "chunk size line too long");
            } else {
                if (take > MAX_TRAILER_BYTES - p->trailer_bytes)
                    return fail(p, "trailer section too large");
                p->trailer_bytes += take;
            }
            if (tai_buf_append(&p->head, buf + pos, take) != 0)
                return fail_nomem(p);
            pos += take;
            if (nl && (p->state == S_CHUNK_SIZE ? parse_chunk_line(p) : trailer_line(p, cb, ud)) != 0)
                return -1;
            break;
        }
        case S_DONE:
        default:
            return fail(p, "unexpected data after the end of the response");
        }
    }
    return 0;
}

int h1_finish(h1_parser *p, const h1_callbacks *cb, void *ud)
{
    if (p->failed)
        return -1;
    switch (p->state) {
    case S_DONE:
        return 0;
    case S_BODY_CLOSE:
        p->state = S_DONE;
        p->keep_alive = 0;
        cb->on_done(ud, 0);
        return 0;
    case S_HEAD:
        return fail_as(p, H1_E_TRUNCATED, "%s",
                       p->head.len ? "truncated response head" : "truncated: connection closed before any response");
    case S_BODY_LENGTH:
        return fail_as(p, H1_E_TRUNCATED, "truncated body: %llu bytes missing", p->remaining);
    default:
        return fail_as(p, H1_E_TRUNCATED, "truncated chunked body");
    }
}
