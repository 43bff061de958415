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
}

void h1_free(h1_parser *p)
{
    tai_buf_free(&p->head);
}

int h1_done(const h1_parser *p)
{
    return p->state == S_DONE;
}

static int fail(h1_parser *p, const char *fmt, ...)
{
    va_list ap;
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    return -1;
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
        if (n && s[n - 1] == '\r')
            n--;
        if (n == 0)
            break; /* the blank line */
        if (first) {
            if (parse_status_line(p, s, n, &hd) != 0)
                return -1;
            first = 0;
        } else if (s[0] == ' ' || s[0] == '\t') {
            /* obs-fold: RFC 9112 5.2 lets a recipient replace it with SP. The
             * previous value and this line are contiguous in the buffer. */
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

    cb->on_head(ud, &hd);
    p->head.len = 0;
    p->line_start = 0;

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
            return fail(p, "http1 parser: out of memory");
        pos += take;
        if (!nl)
            break;
        llen = p->head.len - p->line_start; /* includes the LF */
        if (llen == 1 || (llen == 2 && p->head.p[p->line_start] == '\r')) {
            if (p->line_start == 0) {
                p->head.len = 0; /* tolerate empty lines before the status line */
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

static int parse_chunk_size(h1_parser *p)
{
    const char *s = p->head.p;
    size_t n = p->head.len - 1, i = 0; /* drop the LF */
    unsigned long long v = 0;
    if (n && s[n - 1] == '\r')
        n--;
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
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n && s[i] != ';')
        return fail(p, "malformed chunk size");
    /* chunk extensions after ';' are ignored */
    p->remaining = v;
    p->head.len = 0;
    p->state = v ? S_CHUNK_DATA : S_TRAILERS;
    p->tline_len = 0;
    p->tline_cr = 0;
    p->trailer_bytes = 0;
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
            cb->on_body(ud, buf + pos, avail);
            pos = n;
            break;
        case S_BODY_LENGTH:
        case S_CHUNK_DATA: {
            size_t take = p->remaining < avail ? (size_t)p->remaining : avail;
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
            char c = buf[pos++];
            if (c == '\r' && !p->crlf_cr)
                p->crlf_cr = 1;
            else if (c == '\n')
                p->state = S_CHUNK_SIZE;
            else
                return fail(p, "malformed chunked body: missing CRLF after chunk data");
            break;
        }
        case S_CHUNK_SIZE: {
            const char *nl = memchr(buf + pos, '\n', avail);
            size_t take = nl ? (size_t)(nl - (buf + pos)) + 1 : avail;
            if (take > MAX_CHUNK_LINE - p->head.len)
                return fail(p, "chunk size line too long");
            if (tai_buf_append(&p->head, buf + pos, take) != 0)
                return fail(p, "http1 parser: out of memory");
            pos += take;
            if (nl && parse_chunk_size(p) != 0)
                return -1;
            break;
        }
        case S_TRAILERS: {
            /* Trailer fields are framed but not exposed. */
            const char *nl = memchr(buf + pos, '\n', avail);
            size_t seg = nl ? (size_t)(nl - (buf + pos)) : avail;
            size_t i;
            if (seg + (nl ? 1 : 0) > MAX_TRAILER_BYTES - p->trailer_bytes)
                return fail(p, "trailer section too large");
            for (i = 0; i < seg; i++) {
                p->tline_cr = (p->tline_len == 0 && buf[pos + i] == '\r');
                p->tline_len++;
            }
            p->trailer_bytes += seg;
            pos += seg;
            if (nl) {
                int blank = p->tline_len == 0 || (p->tline_len == 1 && p->tline_cr);
                pos++;
                p->trailer_bytes++;
                p->tline_len = 0;
                p->tline_cr = 0;
                if (blank) {
                    p->state = S_DONE;
                    cb->on_done(ud, p->keep_alive);
                }
            }
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
        return fail(p, p->head.len ? "truncated response head" : "truncated: connection closed before any response");
    case S_BODY_LENGTH:
        return fail(p, "truncated body: %llu bytes missing", p->remaining);
    default:
        return fail(p, "truncated chunked body");
    }
}
