#include "headers.h"

#include <string.h>

void hdr_init(hdr_parser *h, size_t max_bytes)
{
    memset(h, 0, sizeof *h);
    h->max_bytes = max_bytes ? max_bytes : HDR_DEFAULT_MAX_BYTES;
}

void hdr_free(hdr_parser *h)
{
    tai_buf_free(&h->lines);
}

/* "HTTP/<version> <3 digits>...": the code, or 0. */
static int parse_status(const char *s, size_t n)
{
    size_t i = 5; /* after "HTTP/" */
    int code = 0, digits = 0;
    while (i < n && s[i] != ' ')
        i++;
    while (i < n && s[i] == ' ')
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 3) {
        code = code * 10 + (s[i++] - '0');
        digits++;
    }
    return digits == 3 ? code : 0;
}

static int fail(hdr_parser *h, int error)
{
    h->error = error;
    return -1;
}

/* Room for n more bytes within max_bytes, allocated. 0 or -1. */
static int make_room(hdr_parser *h, size_t n)
{
    size_t used = h->lines.len < h->max_bytes ? h->lines.len : h->max_bytes;
    if (n > h->max_bytes - used)
        return fail(h, HDR_E_OVERFLOW);
    if (tai_buf_reserve(&h->lines, n) != 0)
        return fail(h, HDR_E_NOMEM);
    return 0;
}

static void append(hdr_parser *h, const char *s, size_t n)
{
    memcpy(h->lines.p + h->lines.len, s, n); /* room made by make_room */
    h->lines.len += n;
}

/* obs-fold: continue the previous line's value with one space. */
static int fold(hdr_parser *h, const char *s, size_t n)
{
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
        a++;
    if (h->lines.len == 0 || a == n)
        return HDR_MORE; /* nothing to continue, or nothing to add */
    h->lines.len--;      /* drop the previous line's '\n' */
    if (make_room(h, n - a + 2) != 0) {
        h->lines.len++; /* the '\n' is still there */
        return -1;
    }
    append(h, " ", 1);
    append(h, s + a, n - a);
    append(h, "\n", 1);
    return HDR_MORE;
}

static int header(hdr_parser *h, const char *s, size_t n)
{
    /* lower-case the name now, so the Lua table is built without copies */
    size_t start = h->lines.len, i;
    if (make_room(h, n + 1) != 0)
        return -1;
    append(h, s, n);
    append(h, "\n", 1);
    for (i = start; i < start + n && h->lines.p[i] != ':'; i++) {
        char c = h->lines.p[i];
        if (c >= 'A' && c <= 'Z')
            h->lines.p[i] = (char)(c + 32);
    }
    return HDR_MORE;
}

int hdr_line(hdr_parser *h, const char *line, size_t n)
{
    if (h->error)
        return -1;
    if (h->done)
        return HDR_MORE; /* trailers of a chunked body: not exposed */
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (!h->in_head) {
        /* status line of a (possibly interim) response: start over */
        h->lines.len = 0;
        h->status = (n >= 5 && memcmp(line, "HTTP/", 5) == 0) ? parse_status(line, n) : 0;
        h->in_head = 1;
        return HDR_MORE;
    }
    if (n == 0) {
        h->in_head = 0;
        if (h->status >= 100 && h->status < 200)
            return HDR_MORE; /* interim: the next line is a status line */
        h->done = 1;
        return HDR_FINAL;
    }
    if (line[0] == ' ' || line[0] == '\t')
        return fold(h, line, n);
    return header(h, line, n);
}

int hdr_next(const hdr_parser *h, size_t *pos, hdr_field *f)
{
    while (*pos < h->lines.len) {
        const char *s = h->lines.p + *pos, *end = h->lines.p + h->lines.len;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *colon;
        if (nl == NULL)
            nl = end; /* defensive: every stored line ends in LF */
        colon = memchr(s, ':', (size_t)(nl - s));
        *pos = nl < end ? (size_t)(nl + 1 - h->lines.p) : h->lines.len;
        if (colon && colon > s) {
            const char *v = colon + 1, *ve = nl;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
                ve--;
            f->name = s;
            f->name_len = (size_t)(colon - s);
            f->value = v;
            f->value_len = (size_t)(ve - v);
            return 1;
        }
    }
    return 0;
}
