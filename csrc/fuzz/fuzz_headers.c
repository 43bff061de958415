/* Response head lines (headers.c), delivered one line per call the way
 * libcurl's header callback does (the input split after each LF).
 *  - Line ends do not matter: the same lines ending in "", LF, CRLF or
 *    CR CR LF (picked per line from the input) give the same head and the
 *    same result per call.
 *  - 1xx interim heads before the input are forgotten: the input's first
 *    line is a status line either way, so the outcome is the same.
 *  - The stored head stays well-formed: within max_bytes, LF-terminated
 *    non-empty lines; fields have a non-empty name without ':' and a value
 *    trimmed of SP/HTAB (and CR at the end); names are lower-case up to the
 *    first obs-fold joined into them; at most one final head; errors stick. */
#include "collect.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run_out {
    tai_buf res;   /* hdr_collect of the end state */
    tai_buf calls; /* hdr_line's result per input line */
} run_out;

static const char *const ENDS[] = {"", "\n", "\r\n", "\r\r\n"};

static void check_fields(const hdr_parser *h)
{
    size_t pos = 0, nlines = 0, nfields = 0, i;
    hdr_field f;
    const char *lo = h->lines.p, *hi = h->lines.len ? h->lines.p + h->lines.len : lo;
    FUZZ_ASSERT(h->lines.len <= h->max_bytes);
    if (h->lines.len) {
        FUZZ_ASSERT(h->lines.p[0] != '\n' && h->lines.p[h->lines.len - 1] == '\n');
        for (i = 0; i < h->lines.len; i++)
            if (h->lines.p[i] == '\n') {
                nlines++;
                FUZZ_ASSERT(i + 1 == h->lines.len || h->lines.p[i + 1] != '\n');
            }
    }
    while (hdr_next(h, &pos, &f)) {
        int spaced = 0;
        nfields++;
        FUZZ_ASSERT(f.name >= lo && f.name + f.name_len <= hi && f.name_len > 0);
        FUZZ_ASSERT(f.value >= f.name + f.name_len + 1 && f.value + f.value_len <= hi);
        FUZZ_ASSERT(!memchr(f.name, ':', f.name_len) && !memchr(f.name, '\n', f.name_len));
        FUZZ_ASSERT(!memchr(f.value, '\n', f.value_len));
        for (i = 0; i < f.name_len; i++) {
            if (f.name[i] == ' ')
                spaced = 1;
            FUZZ_ASSERT(spaced || f.name[i] < 'A' || f.name[i] > 'Z');
        }
        if (f.value_len) {
            char a = f.value[0], z = f.value[f.value_len - 1];
            FUZZ_ASSERT(a != ' ' && a != '\t');
            FUZZ_ASSERT(z != ' ' && z != '\t' && z != '\r');
        }
    }
    FUZZ_ASSERT(pos == h->lines.len && nfields <= nlines);
}

/* Feeds the prefix lines, then the input's lines (ends re-picked when seed
 * is non-zero); stops at the first error. */
static void run(const char *in, size_t n, size_t max, const char *const *prefix, uint32_t seed,
                run_out *o)
{
    hdr_parser h;
    splitter sp;
    tai_buf line = TAI_BUF_INIT;
    size_t pos = 0;
    int rc = 0, finals = 0;
    memset(o, 0, sizeof *o);
    hdr_init(&h, max);
    splitter_init(&sp, seed);
    for (; prefix && *prefix; prefix++)
        FUZZ_ASSERT(hdr_line(&h, *prefix, strlen(*prefix)) == HDR_MORE);
    while (rc >= 0 && pos < n) {
        const char *nl = memchr(in + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (in + pos)) + 1 : n - pos;
        if (seed == 0) {
            rc = hdr_line(&h, in + pos, len);
        } else {
            size_t k = len;
            const char *end = ENDS[splitter_next(&sp, 4) & 3];
            while (k && (in[pos + k - 1] == '\n' || in[pos + k - 1] == '\r'))
                k--;
            if (tai_buf_set(&line, in + pos, k) != 0 ||
                tai_buf_append(&line, end, strlen(end)) != 0)
                abort();
            rc = hdr_line(&h, line.p ? line.p : "", line.len);
        }
        if (tai_buf_append(&o->calls, rc == HDR_FINAL ? "F" : rc == HDR_MORE ? "." : "e", 1) != 0)
            abort();
        FUZZ_ASSERT(rc == HDR_MORE || rc == HDR_FINAL || rc == -1);
        if (rc == HDR_FINAL) {
            finals++;
            FUZZ_ASSERT(h.done && (h.status < 100 || h.status >= 200) && !h.in_head);
        }
        FUZZ_ASSERT((rc == -1) == (h.error != HDR_OK));
        FUZZ_ASSERT(h.status >= 0 && h.status <= 999);
        FUZZ_ASSERT(h.lines.len <= h.max_bytes);
        pos += len;
    }
    tai_buf_free(&line);
    check_fields(&h);
    FUZZ_ASSERT(finals <= 1 && finals == h.done);
    if (rc < 0) /* sticky */
        FUZZ_ASSERT(hdr_line(&h, "HTTP/1.1 200 OK\r\n", 17) == -1);
    else if (h.done) /* trailers are ignored */
        FUZZ_ASSERT(hdr_line(&h, "X-Trailer: t\r\n", 14) == HDR_MORE);
    hdr_collect(&o->res, &h);
    hdr_free(&h);
}

static void release(run_out *o)
{
    tai_buf_free(&o->res);
    tai_buf_free(&o->calls);
}

static int same(const tai_buf *a, const tai_buf *b)
{
    return same_bytes(a->p, a->len, b->p, b->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const interim[] = {"HTTP/1.1 100 Continue\r\n", "\r\n",
                                          "HTTP/1.1 103 Early Hints\r\n",
                                          "Link: </a.css>; rel=preload\r\n", "\r\n", NULL};
    run_out a, b, c;
    size_t max;
    uint32_t seed;
    const char *in;
    if (size < 2)
        return 0;
    /* byte 0 picks a small head limit now and then, byte 1 the line ends */
    max = (data[0] & 0x80) ? (size_t)(data[0] & 0x7f) + 32 : 0;
    seed = ((uint32_t)data[1] + 1) * 2654435761u;
    in = (const char *)data + 2;
    size -= 2;
    run(in, size, max, NULL, 0, &a);
    run(in, size, max, NULL, seed, &b);
    FUZZ_ASSERT(same(&a.res, &b.res) && same(&a.calls, &b.calls));
    if (size > 0) {
        run(in, size, max, interim, 0, &c);
        FUZZ_ASSERT(same(&a.res, &c.res) && same(&a.calls, &c.calls));
        release(&c);
    }
    release(&a);
    release(&b);
    return 0;
}
