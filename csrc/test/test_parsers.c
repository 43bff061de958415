/* C unit tests of the pure parsers (no Lua): base64, SSE, NDJSON, HTTP/1.1.
 * Prints "N passed, N failed" and exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "collect.h"

static int tests_passed, tests_failed, case_failed;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            case_failed = 1;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                               \
    } while (0)

#define RUN(fn)                                                                         \
    do {                                                                                \
        case_failed = 0;                                                                \
        fn();                                                                           \
        if (case_failed) {                                                              \
            tests_failed++;                                                             \
            fprintf(stderr, "FAIL %s\n", #fn);                                          \
        } else {                                                                        \
            tests_passed++;                                                             \
            printf("ok   %s\n", #fn);                                                   \
        }                                                                               \
    } while (0)

#define S(lit) lit, sizeof(lit) - 1

static int bufeq(const tai_buf *b, const char *s, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->p, s, n) == 0);
}

/* ================= base64 ================= */

static int dec(const char *in, size_t n, char *out, size_t *outn, const char **err)
{
    return b64_decode(in, n, (unsigned char *)out, outn, err);
}

static void test_base64_vectors(void)
{
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    size_t i;
    for (i = 0; i < 7; i++) {
        char out[32], back[32];
        size_t n = strlen(plain[i]), m = 0;
        const char *err = NULL;
        CHECK(b64_encoded_len(n) == strlen(enc[i]));
        b64_encode((const unsigned char *)plain[i], n, out);
        CHECK(memcmp(out, enc[i], strlen(enc[i])) == 0);
        CHECK(dec(enc[i], strlen(enc[i]), back, &m, &err) == 0);
        CHECK(m == n && memcmp(back, plain[i], n) == 0);
    }
}

static void test_base64_all_bytes(void)
{
    unsigned char all[256], back[260];
    char enc[400];
    size_t n = 0, len;
    const char *err = NULL;
    int i;
    for (i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (len = 0; len <= 256; len++) {
        b64_encode(all, len, enc);
        CHECK(b64_decode(enc, b64_encoded_len(len), back, &n, &err) == 0);
        CHECK(n == len && memcmp(back, all, len) == 0);
    }
}

static void test_base64_lenient(void)
{
    char out[64];
    size_t n = 0;
    const char *err = NULL;
    CHECK(dec(S("Zm9vYg"), out, &n, &err) == 0 && n == 4 && memcmp(out, "foob", 4) == 0);
    CHECK(dec(S("Zm9vYmE"), out, &n, &err) == 0 && n == 5);
    CHECK(dec(S("Zm9v\r\nYmFy\r\n"), out, &n, &err) == 0 && n == 6 && memcmp(out, "foobar", 6) == 0);
    CHECK(dec(S("Zm9v\nYmFy"), out, &n, &err) == 0 && n == 6);
    /* URL-safe: 0xfb 0xff -> "+/8=" standard, "-_8=" url-safe */
    CHECK(dec(S("-_8="), out, &n, &err) == 0 && n == 2 && (unsigned char)out[0] == 0xfb &&
          (unsigned char)out[1] == 0xff);
    CHECK(dec(S("+/8"), out, &n, &err) == 0 && n == 2);
    CHECK(dec(S(""), out, &n, &err) == 0 && n == 0);
}

static void test_base64_reject(void)
{
    static const char *bad[] = {"Zm9v YmFy", "Zm9v\tYmFy", "Z", "Zm9vY", "Zh==", "Zm9=",
                                "Zg=", "Zg===", "Zm9v=", "====", "Zg==Zg==", "Zm*v",
                                "Zg=\r\n=x", "=Zg", "Zm9vYmFy="};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[64];
        size_t n = 0;
        const char *err = NULL;
        int rc = dec(bad[i], strlen(bad[i]), out, &n, &err);
        if (rc == 0)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(rc == -1);
        CHECK(err && strncmp(err, "invalid base64", 14) == 0);
    }
    {
        char out[8];
        size_t n = 0;
        const char *err = NULL;
        CHECK(dec("Zg\0=", 4, out, &n, &err) == -1);
    }
}

/* ================= SSE ================= */

typedef struct exp_event {
    const char *data, *event, *id;
    long long retry;
} exp_event;

static void expect_events(tai_buf *b, const exp_event *ev, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        sse_event e;
        sse_out o;
        memset(&o, 0, sizeof o);
        e.data = ev[i].data;
        e.data_len = strlen(ev[i].data);
        e.event = ev[i].event;
        e.event_len = ev[i].event ? strlen(ev[i].event) : 0;
        e.id = ev[i].id;
        e.id_len = ev[i].id ? strlen(ev[i].id) : 0;
        e.retry = ev[i].retry;
        o.events = *b;
        sse_collect(&o, &e);
        *b = o.events;
    }
}

/* Feeds `in` cut at the offsets in cuts[] (ascending), then finish. */
static int sse_run(const char *in, size_t n, const size_t *cuts, size_t ncuts, size_t max,
                   sse_out *o, int finish)
{
    sse_parser p;
    size_t prev = 0, i;
    int rc = 0;
    sse_init(&p, max);
    memset(o, 0, sizeof *o);
    for (i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        rc = sse_feed(&p, in + prev, end - prev, sse_collect, o);
        prev = end;
    }
    if (rc == 0 && finish)
        rc = sse_finish(&p, sse_collect, o);
    sse_free(&p);
    return rc;
}

/* The stream must give `want` whole, split at every offset, at every pair
 * of offsets (short inputs) and one byte at a time. */
static void sse_check_stream(const char *in, size_t n, const exp_event *want, size_t nwant,
                             int finish)
{
    tai_buf expect = TAI_BUF_INIT;
    sse_out o;
    size_t i, j;
    expect_events(&expect, want, nwant);

    CHECK(sse_run(in, n, NULL, 0, 0, &o, finish) == 0);
    CHECK(bufeq(&o.events, expect.p, expect.len));
    if (!bufeq(&o.events, expect.p, expect.len))
        fprintf(stderr, "  got: %.*s\n want: %.*s\n", (int)o.events.len, o.events.p,
                (int)expect.len, expect.p);
    tai_buf_free(&o.events);
    for (i = 0; i <= n; i++) {
        CHECK(sse_run(in, n, &i, 1, 0, &o, finish) == 0);
        CHECK(bufeq(&o.events, expect.p, expect.len));
        tai_buf_free(&o.events);
    }
    if (n <= 64) {
        for (i = 0; i <= n; i++)
            for (j = i; j <= n; j++) {
                size_t cuts[2] = {i, j};
                CHECK(sse_run(in, n, cuts, 2, 0, &o, finish) == 0);
                CHECK(bufeq(&o.events, expect.p, expect.len));
                tai_buf_free(&o.events);
            }
    }
    {
        size_t *cuts = malloc((n + 1) * sizeof *cuts);
        for (i = 0; i < n; i++)
            cuts[i] = i;
        CHECK(sse_run(in, n, cuts, n, 0, &o, finish) == 0);
        CHECK(bufeq(&o.events, expect.p, expect.len));
        tai_buf_free(&o.events);
        free(cuts);
    }
    tai_buf_free(&expect);
}

#define NOEV NULL
#define NOID NULL
#define NORETRY (-1)
#define CHECK_SSE(lit, finish, ...)                                                     \
    do {                                                                                \
        static const exp_event want_[] = {__VA_ARGS__};                                 \
        sse_check_stream(S(lit), want_, sizeof want_ / sizeof want_[0], finish);        \
    } while (0)
#define CHECK_SSE_NONE(lit, finish) sse_check_stream(S(lit), NULL, 0, finish)

static void test_sse_basic(void)
{
    CHECK_SSE("data: hello\n\n", 0, {"hello", NOEV, NOID, NORETRY});
    CHECK_SSE("data:hello\n\ndata: world\n\n", 0, {"hello", NOEV, NOID, NORETRY},
              {"world", NOEV, NOID, NORETRY});
    CHECK_SSE("data:  two\n\n", 0, {" two", NOEV, NOID, NORETRY});
    CHECK_SSE("data: a\ndata: b\ndata:\ndata: c\n\n", 0, {"a\nb\n\nc", NOEV, NOID, NORETRY});
    CHECK_SSE("data\n\n", 0, {"", NOEV, NOID, NORETRY});
    CHECK_SSE("data: x\n\n\n\n\n", 0, {"x", NOEV, NOID, NORETRY});
    CHECK_SSE("data: a:b: c\n\n", 0, {"a:b: c", NOEV, NOID, NORETRY});
}

static void test_sse_line_endings(void)
{
    CHECK_SSE("data: a\r\ndata: b\r\n\r\n", 0, {"a\nb", NOEV, NOID, NORETRY});
    CHECK_SSE("data: a\rdata: b\r\r", 0, {"a\nb", NOEV, NOID, NORETRY});
    CHECK_SSE("data: 1\r\n\rdata: 2\n\r\ndata: 3\r\r\n", 0, {"1", NOEV, NOID, NORETRY},
              {"2", NOEV, NOID, NORETRY}, {"3", NOEV, NOID, NORETRY});
    /* CR CR LF: the CR LF is one line end, the first CR another */
    CHECK_SSE("data: x\r\r\ndata: y\n\n", 0, {"x", NOEV, NOID, NORETRY},
              {"y", NOEV, NOID, NORETRY});
    CHECK_SSE("data: x\n\r\n", 0, {"x", NOEV, NOID, NORETRY});
}

static void test_sse_fields(void)
{
    CHECK_SSE(": comment\nevent: update\nid: 42\nretry: 1500\ndata: {\"x\":1}\n\n", 0,
              {"{\"x\":1}", "update", "42", 1500});
    /* event type and retry reset per event; id persists */
    CHECK_SSE("event: a\nid: 1\nretry: 10\ndata: x\n\ndata: y\n\n", 0, {"x", "a", "1", 10},
              {"y", NOEV, "1", NORETRY});
    /* no data: not dispatched, but the event type is reset */
    CHECK_SSE("event: only\n\ndata: x\n\n", 0, {"x", NOEV, NOID, NORETRY});
    CHECK_SSE("id: 1\ndata: a\n\nid\ndata: b\n\n", 0, {"a", NOEV, "1", NORETRY},
              {"b", NOEV, "", NORETRY});
    CHECK_SSE("retry: 12a\ndata: x\n\nretry:\ndata: y\n\nretry: -1\ndata: z\n\n", 0,
              {"x", NOEV, NOID, NORETRY}, {"y", NOEV, NOID, NORETRY},
              {"z", NOEV, NOID, NORETRY});
    CHECK_SSE("retry: 99999999999999999999999\ndata: x\n\n", 0, {"x", NOEV, NOID, NORETRY});
    CHECK_SSE("foo: bar\nDATA: no\ndata : no\ndata: yes\n\n", 0, {"yes", NOEV, NOID, NORETRY});
    CHECK_SSE("event:\ndata: x\n\n", 0, {"x", NOEV, NOID, NORETRY});
    CHECK_SSE_NONE(": only a comment\n\n:\n\n", 0);
    /* id with NUL is ignored */
    {
        static const exp_event want[] = {{"x", NOEV, "ok", NORETRY}};
        sse_check_stream("id: ok\nid: a\0b\ndata: x\n\n", 24, want, 1, 0);
    }
}

static void test_sse_bom(void)
{
    CHECK_SSE("\xEF\xBB\xBF" "data: bom\n\n", 0, {"bom", NOEV, NOID, NORETRY});
    /* only once, at the very start */
    CHECK_SSE("\xEF\xBB\xBF" "data: a\n\n\xEF\xBB\xBF" "data: b\n\n", 0, {"a", NOEV, NOID, NORETRY});
    /* a partial BOM is ordinary bytes */
    CHECK_SSE_NONE("\xEF\xBB" "data: x\n\n", 0);
    CHECK_SSE("\xEF\n" "data: x\n\n", 0, {"x", NOEV, NOID, NORETRY});
    CHECK_SSE_NONE("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n", 0);
    CHECK_SSE("\xEF\xBB\xBF\n" "data: x\n\n", 0, {"x", NOEV, NOID, NORETRY});
}

static void test_sse_finish(void)
{
    CHECK_SSE("data: x\n\ndata: tail", 1, {"x", NOEV, NOID, NORETRY},
              {"tail", NOEV, NOID, NORETRY});
    CHECK_SSE("data: a\ndata: b\n", 1, {"a\nb", NOEV, NOID, NORETRY});
    CHECK_SSE("data: a\r", 1, {"a", NOEV, NOID, NORETRY});
    CHECK_SSE_NONE("event: x\n", 1);
    CHECK_SSE_NONE("\xEF\xBB", 1);
    CHECK_SSE_NONE("", 1);
    {
        /* finish resets everything, including the last event id and BOM */
        sse_parser p;
        sse_out o;
        tai_buf expect = TAI_BUF_INIT;
        static const exp_event want[] = {{"a", NOEV, "7", NORETRY}, {"b", NOEV, NOID, NORETRY}};
        memset(&o, 0, sizeof o);
        sse_init(&p, 0);
        CHECK(sse_feed(&p, S("id: 7\ndata: a"), sse_collect, &o) == 0);
        CHECK(sse_finish(&p, sse_collect, &o) == 0);
        CHECK(sse_feed(&p, S("\xEF\xBB\xBF" "data: b\n\n"), sse_collect, &o) == 0);
        expect_events(&expect, want, 2);
        CHECK(bufeq(&o.events, expect.p, expect.len));
        sse_free(&p);
        tai_buf_free(&o.events);
        tai_buf_free(&expect);
    }
}

static void test_sse_limits(void)
{
    sse_parser p;
    sse_out o;
    memset(&o, 0, sizeof o);
    sse_init(&p, 16);
    CHECK(sse_feed(&p, S("data: 0123456789\n\n"), sse_collect, &o) == 0);
    CHECK(o.count == 1);
    /* data accumulating over the limit */
    CHECK(sse_feed(&p, S("data: 01234567\ndata: 01234567\n"), sse_collect, &o) == -1);
    CHECK(strstr(p.error, "max_event_bytes") != NULL);
    /* sticky */
    CHECK(sse_feed(&p, S("data: x\n\n"), sse_collect, &o) == -1);
    CHECK(sse_finish(&p, sse_collect, &o) == -1);
    /* finish reset it */
    CHECK(sse_feed(&p, S("data: x\n\n"), sse_collect, &o) == 0);
    CHECK(o.count == 2);
    /* a long partial line is refused before it is complete */
    CHECK(sse_feed(&p, S(": aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), sse_collect, &o) == -1);
    sse_reset(&p);
    {
        size_t i;
        for (i = 0; i < 20; i++)
            CHECK(sse_feed(&p, "a", 1, sse_collect, &o) == (i < 16 ? 0 : -1));
    }
    sse_free(&p);
    tai_buf_free(&o.events);
}

static void test_sse_long_line_linear(void)
{
    /* 8 MiB line fed in 1 KiB pieces, then many CR-only lines: must be quick */
    size_t total = 8u << 20, piece = 1024, i;
    char *chunk = malloc(piece);
    sse_parser p;
    sse_out o;
    memset(&o, 0, sizeof o);
    memset(chunk, 'x', piece);
    memcpy(chunk, "data: ", 6);
    sse_init(&p, 0);
    for (i = 0; i < total / piece; i++) {
        CHECK(sse_feed(&p, chunk, piece, sse_collect, &o) == 0);
        memset(chunk, 'x', 6);
    }
    CHECK(sse_feed(&p, S("\n\n"), sse_collect, &o) == 0);
    CHECK(o.count == 1);
    {
        size_t n = 4u << 20;
        char *big = malloc(n);
        memset(big, '\r', n);
        memcpy(big, "data: 1\n", 8);
        CHECK(sse_feed(&p, big, n, sse_collect, &o) == 0);
        CHECK(o.count == 2);
        free(big);
    }
    sse_free(&p);
    tai_buf_free(&o.events);
    free(chunk);
}

/* ================= NDJSON ================= */

static int nd_run(const char *in, size_t n, size_t cut, size_t max, nd_out *o)
{
    ndjson_parser p;
    int rc;
    ndjson_init(&p, max);
    memset(o, 0, sizeof *o);
    rc = ndjson_feed(&p, in, cut, nd_collect, o);
    if (rc == 0)
        rc = ndjson_feed(&p, in + cut, n - cut, nd_collect, o);
    if (rc == 0)
        rc = ndjson_finish(&p, nd_collect, o);
    ndjson_free(&p);
    return rc;
}

static void test_ndjson(void)
{
    static const char in[] = "{\"a\":1}\n{\"b\":2}\r\n\n  \n\t\r\n[3]\n{\"c\":\"x y\"}";
    tai_buf want = TAI_BUF_INIT;
    size_t i;
    put(&want, 'L', S("{\"a\":1}"));
    put(&want, 'L', S("{\"b\":2}"));
    put(&want, 'L', S("[3]"));
    put(&want, 'L', S("{\"c\":\"x y\"}"));
    for (i = 0; i < sizeof in; i++) {
        nd_out o;
        CHECK(nd_run(in, sizeof in - 1, i, 0, &o) == 0);
        CHECK(bufeq(&o.lines, want.p, want.len));
        tai_buf_free(&o.lines);
    }
    tai_buf_free(&want);
}

static void test_ndjson_limits(void)
{
    ndjson_parser p;
    nd_out o;
    memset(&o, 0, sizeof o);
    ndjson_init(&p, 8);
    CHECK(ndjson_feed(&p, S("12345678\n"), nd_collect, &o) == 0);
    CHECK(o.count == 1);
    CHECK(ndjson_feed(&p, S("123456789\n"), nd_collect, &o) == -1);
    CHECK(strstr(p.error, "max_line_bytes") != NULL);
    CHECK(ndjson_feed(&p, S("1\n"), nd_collect, &o) == -1);
    CHECK(ndjson_finish(&p, nd_collect, &o) == -1);
    CHECK(ndjson_feed(&p, S("12345"), nd_collect, &o) == 0);
    CHECK(ndjson_feed(&p, S("6789"), nd_collect, &o) == -1);
    ndjson_reset(&p);
    CHECK(ndjson_feed(&p, S("  \r"), nd_collect, &o) == 0);
    CHECK(ndjson_finish(&p, nd_collect, &o) == 0);
    CHECK(o.count == 1);
    ndjson_free(&p);
    tai_buf_free(&o.lines);
}

/* ================= HTTP/1.1 ================= */

typedef struct h1_result {
    int rc;
    h1_out out;
    char error[128];
} h1_result;

static void h1_run(const char *in, size_t n, const size_t *cuts, size_t ncuts, int head_req,
                   int finish, h1_result *res)
{
    h1_parser p;
    size_t prev = 0, i;
    memset(res, 0, sizeof *res);
    h1_init(&p, head_req);
    for (i = 0; i <= ncuts && res->rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        res->rc = h1_feed(&p, in + prev, end - prev, &H1_COLLECT, &res->out);
        prev = end;
    }
    if (res->rc == 0 && finish)
        res->rc = h1_finish(&p, &H1_COLLECT, &res->out);
    memcpy(res->error, p.error, sizeof res->error);
    h1_free(&p);
}

static void h1_result_free(h1_result *r)
{
    tai_buf_free(&r->out.items);
    tai_buf_free(&r->out.body);
}

static int h1_same(const h1_result *a, const h1_result *b)
{
    return a->rc == b->rc && a->out.items.len == b->out.items.len &&
           (a->out.items.len == 0 || memcmp(a->out.items.p, b->out.items.p, a->out.items.len) == 0) &&
           a->out.body.len == b->out.body.len &&
           (a->out.body.len == 0 || memcmp(a->out.body.p, b->out.body.p, a->out.body.len) == 0);
}

/* Parses whole, then checks every split point and byte-at-a-time agree. */
static void h1_parse_all_ways(const char *in, size_t n, int head_req, int finish, h1_result *whole)
{
    size_t i;
    h1_result r;
    h1_run(in, n, NULL, 0, head_req, finish, whole);
    for (i = 0; i <= n; i++) {
        h1_run(in, n, &i, 1, head_req, finish, &r);
        CHECK(h1_same(whole, &r));
        h1_result_free(&r);
    }
    {
        size_t *cuts = malloc((n + 1) * sizeof *cuts);
        for (i = 0; i < n; i++)
            cuts[i] = i;
        h1_run(in, n, cuts, n, head_req, finish, &r);
        CHECK(h1_same(whole, &r));
        h1_result_free(&r);
        free(cuts);
    }
}

/* Header value of the (last) head in the serialised items, or NULL. */
static int item_has(const h1_result *r, const char *needle)
{
    size_t n = strlen(needle), i;
    for (i = 0; i + n <= r->out.items.len; i++)
        if (memcmp(r->out.items.p + i, needle, n) == 0)
            return 1;
    return 0;
}

static void test_h1_content_length(void)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                             "X-Multi: a\r\nX-Multi: b\r\n\r\nhello";
    h1_result r;
    h1_parse_all_ways(S(in), 0, 0, &r);
    CHECK(r.rc == 0);
    CHECK(r.out.heads == 1 && r.out.dones == 1 && r.out.keep_alive == 1);
    CHECK(bufeq(&r.out.body, S("hello")));
    CHECK(item_has(&r, "S3:200") && item_has(&r, "R2:OK") && item_has(&r, "N12:content-type"));
    CHECK(item_has(&r, "v10:text/plain"));
    h1_result_free(&r);
}

static void test_h1_chunked(void)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5;ext=1\r\nhello\r\n6 \r\n world\r\nA\r\n0123456789\r\n"
                             "0\r\nX-Trailer: t\r\n\r\n";
    h1_result r;
    h1_parse_all_ways(S(in), 0, 0, &r);
    CHECK(r.rc == 0);
    CHECK(r.out.dones == 1 && r.out.keep_alive == 1);
    CHECK(bufeq(&r.out.body, S("hello world0123456789")));
    h1_result_free(&r);

    h1_parse_all_ways(S("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n3\nabc\n0\n\n"), 0, 0, &r);
    CHECK(r.rc == 0 && r.out.dones == 1 && bufeq(&r.out.body, S("abc")));
    h1_result_free(&r);
}

static void test_h1_close_delimited(void)
{
    h1_result r;
    h1_parse_all_ways(S("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome body"), 0, 1, &r);
    CHECK(r.rc == 0 && r.out.dones == 1 && r.out.keep_alive == 0);
    CHECK(bufeq(&r.out.body, S("some body")));
    CHECK(item_has(&r, "V1:0"));
    h1_result_free(&r);
    /* without finish: no done yet */
    h1_run(S("HTTP/1.1 200 OK\r\n\r\nabc"), NULL, 0, 0, 0, &r);
    CHECK(r.rc == 0 && r.out.dones == 0);
    h1_result_free(&r);
}

static void test_h1_interim_and_no_body(void)
{
    h1_result r;
    h1_parse_all_ways(S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
                        "HTTP/1.1 204 No Content\r\n\r\n"), 0, 0, &r);
    CHECK(r.rc == 0 && r.out.heads == 1 && r.out.dones == 1 && item_has(&r, "S3:204"));
    CHECK(!item_has(&r, "link"));
    h1_result_free(&r);
    h1_parse_all_ways(S("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), 1, 0, &r);
    CHECK(r.rc == 0 && r.out.dones == 1 && r.out.body.len == 0);
    h1_result_free(&r);
    h1_parse_all_ways(S("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"), 0, 0, &r);
    CHECK(r.rc == 0 && r.out.dones == 1);
    h1_result_free(&r);
    h1_parse_all_ways(S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), 0, 0, &r);
    CHECK(r.rc == 0 && r.out.dones == 1 && r.out.keep_alive == 0);
    h1_result_free(&r);
    h1_parse_all_ways(S("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\nx"), 0, 0, &r);
    CHECK(r.rc == 0 && r.out.dones == 1 && r.out.keep_alive == 1);
    h1_result_free(&r);
    h1_parse_all_ways(S("\r\n\r\nHTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx"), 0, 0, &r);
    CHECK(r.rc == 0 && r.out.dones == 1 && item_has(&r, "R0:"));
    h1_result_free(&r);
}

static void test_h1_headers(void)
{
    h1_result r;
    h1_parse_all_ways(S("HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n\tc\r\nX-Empty:\r\nX-Sp:   v  \r\n"
                        "Content-Length: 2, 2\r\n\r\nok"), 0, 0, &r);
    CHECK(r.rc == 0 && r.out.dones == 1);
    CHECK(item_has(&r, "N6:x-foldv"));
    CHECK(item_has(&r, "v1:v"));
    CHECK(item_has(&r, "N7:x-emptyv0:"));
    h1_result_free(&r);
}

static void test_h1_errors(void)
{
    static const char *bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded-first\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h1_result r;
        h1_parse_all_ways(bad[i], strlen(bad[i]), 0, 0, &r);
        if (r.rc != -1)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(r.rc == -1 && r.error[0] != '\0');
        h1_result_free(&r);
    }
}

static void test_h1_truncated(void)
{
    h1_result r;
    h1_run(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), NULL, 0, 0, 1, &r);
    CHECK(r.rc == -1 && strstr(r.error, "truncated") && bufeq(&r.out.body, S("abc")));
    h1_result_free(&r);
    h1_run(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc"), NULL, 0, 0, 1, &r);
    CHECK(r.rc == -1 && strstr(r.error, "truncated"));
    h1_result_free(&r);
    h1_run(S("HTTP/1.1 200 OK\r\nContent-Le"), NULL, 0, 0, 1, &r);
    CHECK(r.rc == -1 && strstr(r.error, "truncated"));
    h1_result_free(&r);
    h1_run(S(""), NULL, 0, 0, 1, &r);
    CHECK(r.rc == -1 && strstr(r.error, "truncated"));
    h1_result_free(&r);
}

static void test_h1_limits(void)
{
    size_t n = 70 * 1024, i;
    char *big = malloc(n + 64);
    h1_result r;
    int len = sprintf(big, "HTTP/1.1 200 OK\r\nX: ");
    memset(big + len, 'a', n);
    memcpy(big + len + n, "\r\n\r\n", 4);
    h1_run(big, (size_t)len + n + 4, NULL, 0, 0, 0, &r);
    CHECK(r.rc == -1 && strstr(r.error, "too large"));
    h1_result_free(&r);
    /* 100 headers fine, 101 refused */
    for (i = 100; i <= 101; i++) {
        size_t k, pos = (size_t)sprintf(big, "HTTP/1.1 204 No Content\r\n");
        for (k = 0; k < i; k++)
            pos += (size_t)sprintf(big + pos, "H%zu: v\r\n", k);
        pos += (size_t)sprintf(big + pos, "\r\n");
        h1_run(big, pos, NULL, 0, 0, 0, &r);
        CHECK(i == 100 ? (r.rc == 0 && r.out.dones == 1) : (r.rc == -1 && strstr(r.error, "too many")));
        h1_result_free(&r);
    }
    free(big);
}

int main(void)
{
    RUN(test_base64_vectors);
    RUN(test_base64_all_bytes);
    RUN(test_base64_lenient);
    RUN(test_base64_reject);
    RUN(test_sse_basic);
    RUN(test_sse_line_endings);
    RUN(test_sse_fields);
    RUN(test_sse_bom);
    RUN(test_sse_finish);
    RUN(test_sse_limits);
    RUN(test_sse_long_line_linear);
    RUN(test_ndjson);
    RUN(test_ndjson_limits);
    RUN(test_h1_content_length);
    RUN(test_h1_chunked);
    RUN(test_h1_close_delimited);
    RUN(test_h1_interim_and_no_body);
    RUN(test_h1_headers);
    RUN(test_h1_errors);
    RUN(test_h1_truncated);
    RUN(test_h1_limits);
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}
