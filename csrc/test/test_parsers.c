/* C unit tests of the pure parsers (no Lua): base64, SSE, NDJSON, HTTP/1.1,
 * response head lines.
 * Prints "N passed, N failed" and exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "collect.h"
#include "json_pick.h"

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

/* report_retry: each valid retry field is reported when processed, as a
 * notice in stream order with the events (WHATWG HTML 9.2.6; as
 * eventsource-parser's onRetry), in a block that dispatches nothing too. */
static size_t sse_notices_run(const char *in, size_t n, size_t step, sse_out *o)
{
    sse_parser p;
    size_t i;
    memset(o, 0, sizeof *o);
    sse_init(&p, 0);
    p.report_retry = 1;
    for (i = 0; i < n; i += step)
        CHECK(sse_feed(&p, in + i, i + step > n ? n - i : step, sse_collect, o) == 0);
    CHECK(sse_finish(&p, sse_collect, o) == 0);
    sse_free(&p);
    return o->events.len;
}

static void test_sse_retry_notices(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        /* a block with no data: no event, one notice */
        {"retry: 3000\n\n", "N3000"},
        /* before the event of its own block, which still carries it */
        {"retry: 10\ndata: a\n\n", "N10 D:a R10"},
        /* every valid field, in order; invalid ones are no notice */
        {"retry: 1\nretry: x\nretry:\nretry: 2\n\ndata: b\n\n", "N1 N2 D:b"},
        /* between events, and at the end without a blank line */
        {"data: a\n\nretry: 5\n\ndata: c\n\nretry: 7", "D:a N5 D:c N7"},
        /* a comment or a differently spelled field is no retry */
        {": retry: 5\nRetry: 6\n\n", ""},
    };
    size_t i, step;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (step = 1; step <= 3; step++) {
            sse_out o;
            char got[256];
            size_t pos = 0, k = 0;
            const unsigned char *b;
            sse_notices_run(cases[i].in, strlen(cases[i].in), step == 3 ? strlen(cases[i].in) : step, &o);
            /* render the collected records compactly: "N<n>", "D:<data>", "R<n>" */
            b = (const unsigned char *)o.events.p;
            got[0] = '\0';
            while (pos < o.events.len) { /* records: <tag><len>:<bytes> (collect.h) */
                char tag = (char)b[pos++];
                size_t len = 0;
                while (b[pos] != ':')
                    len = len * 10 + (size_t)(b[pos++] - '0');
                pos++;
                if (tag == 'N' || tag == 'R' || tag == 'D') {
                    if (k)
                        got[k++] = ' ';
                    if (tag == 'D')
                        k += (size_t)snprintf(got + k, sizeof got - k, "D:%.*s", (int)len, (const char *)b + pos);
                    else
                        k += (size_t)snprintf(got + k, sizeof got - k, "%c%.*s", tag, (int)len, (const char *)b + pos);
                }
                pos += len;
            }
            CHECK(strcmp(got, cases[i].want) == 0);
            tai_buf_free(&o.events);
        }
    }
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

/* The reconnection time after feeding `in` whole, at every split point and
 * one byte at a time (then finish): the same each way, returned. */
static long long sse_reconnection(const char *in, size_t n)
{
    long long first = -2;
    size_t cut;
    for (cut = 0; cut <= n + 1; cut++) {
        sse_parser p;
        sse_out o;
        memset(&o, 0, sizeof o);
        sse_init(&p, 0);
        if (cut <= n) {
            CHECK(sse_feed(&p, in, cut, sse_collect, &o) == 0);
            CHECK(sse_feed(&p, in + cut, n - cut, sse_collect, &o) == 0);
        } else {
            size_t i;
            for (i = 0; i < n; i++)
                CHECK(sse_feed(&p, in + i, 1, sse_collect, &o) == 0);
        }
        CHECK(sse_finish(&p, sse_collect, &o) == 0);
        if (first == -2)
            first = p.reconnection_time;
        CHECK(p.reconnection_time == first);
        sse_free(&p);
        tai_buf_free(&o.events);
    }
    return first;
}

/* WHATWG HTML 9.2.6: a retry field of only ASCII digits sets the reconnection
 * time when it is processed, in a block that dispatches no event too. */
static void test_sse_reconnection_time(void)
{
    CHECK(sse_reconnection(S("data: x\n\n")) == -1);
    CHECK(sse_reconnection(S("retry: 1500\n\n")) == 1500);            /* a block without data */
    CHECK(sse_reconnection(S("retry: 1500\n")) == 1500);               /* no blank line at all */
    CHECK(sse_reconnection(S("retry: 1500")) == 1500);                  /* final line, at finish */
    CHECK(sse_reconnection(S("event: e\nretry: 7\r\n\r\n")) == 7);
    CHECK(sse_reconnection(S("retry:0\r")) == 0);
    CHECK(sse_reconnection(S("retry: 0042\n\n")) == 42);
    CHECK(sse_reconnection(S("retry: 10\ndata: x\n\nretry: 20\n\n")) == 20);
    /* not all ASCII digits: ignored, the previous value stays */
    CHECK(sse_reconnection(S("retry: 10\n\nretry: 12a\n\n")) == 10);
    CHECK(sse_reconnection(S("retry: 10\nretry:\nretry: -1\nretry: +5\nretry:  5\nretry: 5 \n"
                             "retry: 1.5\nretry: 1e3\nretry: \xd9\xa3\n\n")) == 10);
    CHECK(sse_reconnection(S("retry: 99999999999999999999999\n\n")) == -1);
    CHECK(sse_reconnection(S("retry: 9223372036854775807\n\n")) == 9223372036854775807LL);
    /* field names are case-sensitive; a comment is no field */
    CHECK(sse_reconnection(S("Retry: 5\nRETRY: 5\nretry : 5\n: retry: 5\n\n")) == -1);
    {
        /* kept across finish and reset: it is used after the stream ended */
        sse_parser p;
        sse_out o;
        memset(&o, 0, sizeof o);
        sse_init(&p, 0);
        CHECK(p.reconnection_time == -1);
        CHECK(sse_feed(&p, S("retry: 3000\n\n"), sse_collect, &o) == 0 && o.count == 0);
        CHECK(p.reconnection_time == 3000);
        CHECK(sse_finish(&p, sse_collect, &o) == 0 && p.reconnection_time == 3000);
        sse_reset(&p);
        CHECK(p.reconnection_time == 3000);
        /* and applied before a later failure in the same feed */
        sse_free(&p);
        sse_init(&p, 16);
        CHECK(sse_feed(&p, S("retry: 5\ndata: 0123456789abcdefghij\n"), sse_collect, &o) == -1);
        CHECK(p.reconnection_time == 5);
        sse_free(&p);
        tai_buf_free(&o.events);
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
                             "5;ext=1\r\nhello\r\n6 ;x\r\n world\r\nA\r\n0123456789\r\n"
                             "0\r\nX-Trailer: t\r\n\r\n";
    h1_result r;
    h1_parse_all_ways(S(in), 0, 0, &r);
    CHECK(r.rc == 0);
    CHECK(r.out.dones == 1 && r.out.keep_alive == 1);
    CHECK(bufeq(&r.out.body, S("hello world0123456789")));
    h1_result_free(&r);

    /* bare LF in the head (RFC 9112 2.2), CRLF in the chunked framing */
    h1_parse_all_ways(S("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n3\r\nabc\r\n0\r\n\r\n"), 0, 0,
                      &r);
    CHECK(r.rc == 0 && r.out.dones == 1 && bufeq(&r.out.body, S("abc")));
    h1_result_free(&r);
}

#define H1_CHUNKED_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

/* RFC 9112 7.1 / 7.1.1: what the chunk grammar allows. */
static void test_h1_chunked_grammar_ok(void)
{
    static const char *good[] = {
        "3\r\nabc\r\n0\r\n\r\n",
        "3;a\r\nabc\r\n0\r\n\r\n",
        "3;a=b\r\nabc\r\n0\r\n\r\n",
        "3 ;a\r\nabc\r\n0\r\n\r\n",               /* BWS before ";" */
        "3\t; a = b ;c\r\nabc\r\n0\r\n\r\n",       /* BWS around ";" and "=" */
        "3;a=\"\"\r\nabc\r\n0\r\n\r\n",           /* empty quoted-string */
        "3;a=\"x y;z=\\\"q\\\\\"\r\nabc\r\n0\r\n\r\n", /* qdtext, quoted-pair */
        "3;a=\"\x80\xff\t\"\r\nabc\r\n0\r\n\r\n",  /* obs-text, HTAB */
        "3;a;b=1;c=\"2\"\r\nabc\r\n000;last=1\r\n\r\n", /* last-chunk = 1*("0") [ chunk-ext ] */
        "0003\r\nabc\r\n0\r\nT: 1\r\nU:\r\n  fold\r\n\r\n", /* trailers, obs-fold */
    };
    size_t i;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        char in[256];
        h1_result r;
        int n = snprintf(in, sizeof in, "%s%s", H1_CHUNKED_HEAD, good[i]);
        h1_parse_all_ways(in, (size_t)n, 0, 0, &r);
        if (r.rc != 0)
            fprintf(stderr, "refused: %s (%s)\n", good[i], r.error);
        CHECK(r.rc == 0 && r.out.dones == 1 && r.out.keep_alive == 1 && bufeq(&r.out.body, S("abc")));
        h1_result_free(&r);
    }
}

/* Each attack on the chunk framing is refused (malformed, never a body
 * that ends elsewhere than the sender's framing says). */
static void test_h1_chunked_grammar_refused(void)
{
    static const struct {
        const char *body, *error;
    } bad[] = {
        {"3\nabc\r\n0\r\n\r\n", "not ended by CRLF"},         /* bare LF after the size */
        {"3;a=b\nabc\r\n0\r\n\r\n", "not ended by CRLF"},     /* ... after an extension */
        {"3\r\nabc\n0\r\n\r\n", "missing CRLF after chunk data"}, /* bare LF after the data */
        {"3\r\nabc\r0\r\n\r\n", "missing CRLF after chunk data"}, /* bare CR after the data */
        {"3\r\nabcd\r\n0\r\n\r\n", "missing CRLF after chunk data"},
        {"3\r\nabc\r\n0\n\r\n", "not ended by CRLF"},         /* bare LF ending the last chunk */
        {"3\r\nabc\r\n0\r\n\n", "not ended by CRLF"},         /* bare LF as the final line */
        {"3\r\nabc\r\n0\r\nT: 1\n\r\n", "not ended by CRLF"}, /* ... ending a trailer line */
        {"3\r\r\nabc\r\n0\r\n\r\n", "malformed chunk size"},   /* bare CR in the size line */
        {"3 \r\nabc\r\n0\r\n\r\n", "whitespace not followed by ';'"},  /* SP after the size */
        {"3\t\r\nabc\r\n0\r\n\r\n", "whitespace not followed by ';'"}, /* HTAB after the size */
        {"3;a \r\nabc\r\n0\r\n\r\n", "whitespace not followed by ';'"}, /* after a name */
        {"3;a=b \r\nabc\r\n0\r\n\r\n", "whitespace not followed by ';'"},
        {"0 \r\n\r\n", "whitespace not followed by ';'"},
        {" 3\r\nabc\r\n0\r\n\r\n", "malformed chunk size"},
        {"3x\r\nabc\r\n0\r\n\r\n", "malformed chunk size"},
        {"+3\r\nabc\r\n0\r\n\r\n", "malformed chunk size"},
        {"0x3\r\nabc\r\n0\r\n\r\n", "malformed chunk size"},
        {"\r\nabc\r\n0\r\n\r\n", "malformed chunk size"},
        {"3;\r\nabc\r\n0\r\n\r\n", "empty name"},
        {"3;=b\r\nabc\r\n0\r\n\r\n", "empty name"},
        {"3; ;a\r\nabc\r\n0\r\n\r\n", "empty name"},
        {"3;a;\r\nabc\r\n0\r\n\r\n", "empty name"},
        {"3;a=\r\nabc\r\n0\r\n\r\n", "empty value"},
        {"3;a= \r\nabc\r\n0\r\n\r\n", "empty value"},
        {"3;a=\"b\r\nabc\r\n0\r\n\r\n", "unclosed quoted value"},
        {"3;a=\"b\\\"\r\nabc\r\n0\r\n\r\n", "unclosed quoted value"}, /* the DQUOTE is escaped */
        {"3;a=\"b\\\r\nabc\r\n0\r\n\r\n", "unclosed quoted value"},
        {"3;a=\"b\x01\"\r\nabc\r\n0\r\n\r\n", "control character"},
        {"3;a=\"b\rc\"\r\nabc\r\n0\r\n\r\n", "control character"},
        {"3;a=\"b\"c\r\nabc\r\n0\r\n\r\n", "malformed chunk extension"},
        {"3;a=b\"c\"\r\nabc\r\n0\r\n\r\n", "malformed chunk extension"},
        {"3;a@b\r\nabc\r\n0\r\n\r\n", "malformed chunk extension"},
        {"3;a=b=c\r\nabc\r\n0\r\n\r\n", "malformed chunk extension"},
        {"3\r\nabc\r\n0\r\nNoColon\r\n\r\n", "malformed trailer field"},
        {"3\r\nabc\r\n0\r\n  fold-first\r\n\r\n", "malformed trailer field"},
        {"3\r\nabc\r\n0\r\nT: a\rb\r\n\r\n", "invalid character"},
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char in[256];
        h1_result r;
        int n = snprintf(in, sizeof in, "%s%s", H1_CHUNKED_HEAD, bad[i].body);
        h1_parse_all_ways(in, (size_t)n, 0, 0, &r);
        if (r.rc != -1 || !strstr(r.error, bad[i].error))
            fprintf(stderr, "not refused as '%s': %s (rc %d, %s)\n", bad[i].error, bad[i].body, r.rc, r.error);
        CHECK(r.rc == -1 && strstr(r.error, bad[i].error) != NULL);
        CHECK(r.out.dones == 0);
        h1_result_free(&r);
    }
    {
        /* the failure is sticky and marked malformed */
        h1_parser p;
        h1_out o;
        memset(&o, 0, sizeof o);
        h1_init(&p, 0);
        CHECK(h1_feed(&p, S(H1_CHUNKED_HEAD "3\nabc"), &H1_COLLECT, &o) == -1);
        CHECK(p.failed == H1_E_MALFORMED);
        CHECK(h1_feed(&p, S("\r\n0\r\n\r\n"), &H1_COLLECT, &o) == -1);
        CHECK(h1_finish(&p, &H1_COLLECT, &o) == -1 && o.dones == 0);
        h1_free(&p);
        tai_buf_free(&o.items);
        tai_buf_free(&o.body);
    }
}

/* A chunked body alone (libcurl frames the head, the C core the chunks). */
static void test_h1_chunked_body_only(void)
{
    static const char good[] = "3;a=b\r\nabc\r\n0\r\nT: 1\r\n\r\n";
    size_t cut;
    for (cut = 0; cut <= sizeof good - 1; cut++) {
        h1_parser p;
        h1_out o;
        memset(&o, 0, sizeof o);
        h1_init_chunked_body(&p);
        CHECK(h1_feed(&p, good, cut, &H1_COLLECT, &o) == 0);
        CHECK(h1_feed(&p, good + cut, sizeof good - 1 - cut, &H1_COLLECT, &o) == 0);
        CHECK(h1_done(&p) && o.heads == 0 && o.dones == 1 && bufeq(&o.body, S("abc")));
        /* bytes past the end are refused */
        CHECK(h1_feed(&p, S("GARBAGE"), &H1_COLLECT, &o) == -1 && p.failed == H1_E_MALFORMED);
        h1_free(&p);
        tai_buf_free(&o.items);
        tai_buf_free(&o.body);
    }
    {
        h1_parser p;
        h1_out o;
        memset(&o, 0, sizeof o);
        h1_init_chunked_body(&p);
        CHECK(h1_feed(&p, S("3\r\nabc\n0\r\n\r\n"), &H1_COLLECT, &o) == -1);
        CHECK(p.failed == H1_E_MALFORMED && !h1_done(&p));
        h1_free(&p);
        tai_buf_free(&o.items);
        tai_buf_free(&o.body);
        memset(&o, 0, sizeof o);
        h1_init_chunked_body(&p);
        h1_set_max_body(&p, 2);
        CHECK(h1_feed(&p, S("3\r\n"), &H1_COLLECT, &o) == -1 && p.failed == H1_E_TOO_LARGE);
        h1_free(&p);
        tai_buf_free(&o.items);
        tai_buf_free(&o.body);
    }
}

/* Runs `in` whole with a body limit; returns rc, the parser's failure kind in *kind. */
static int h1_limited(const char *in, size_t n, unsigned long long max, int *kind, h1_out *o)
{
    h1_parser p;
    int rc;
    memset(o, 0, sizeof *o);
    h1_init(&p, 0);
    h1_set_max_body(&p, max);
    rc = h1_feed(&p, in, n, &H1_COLLECT, o);
    if (rc == 0)
        rc = h1_finish(&p, &H1_COLLECT, o);
    *kind = p.failed;
    h1_free(&p);
    return rc;
}

static void test_h1_max_body(void)
{
    h1_out o;
    int kind;
    /* exactly the limit is fine, one byte more is not */
    CHECK(h1_limited(S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), 5, &kind, &o) == 0);
    CHECK(o.dones == 1 && bufeq(&o.body, S("hello")));
    tai_buf_free(&o.items);
    tai_buf_free(&o.body);
    /* an announced Content-Length over the limit: refused at the head, no body byte, no head item */
    CHECK(h1_limited(S("HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\nhello"), 5, &kind, &o) == -1);
    CHECK(kind == H1_E_TOO_LARGE && o.heads == 0 && o.body.len == 0);
    tai_buf_free(&o.items);
    tai_buf_free(&o.body);
    /* HEAD, 204 and 304 announce a length without a body */
    CHECK(h1_limited(S("HTTP/1.1 304 Not Modified\r\nContent-Length: 10737418240\r\n\r\n"), 5, &kind, &o) == 0);
    tai_buf_free(&o.items);
    /* chunked: a chunk size announcing more than is left */
    CHECK(h1_limited(S(H1_CHUNKED_HEAD "3\r\nabc\r\n40000000\r\n"), 10, &kind, &o) == -1);
    CHECK(kind == H1_E_TOO_LARGE && bufeq(&o.body, S("abc")));
    tai_buf_free(&o.items);
    tai_buf_free(&o.body);
    /* chunked: small chunks adding up past it; 10 bytes pass, the 11th does not */
    CHECK(h1_limited(S(H1_CHUNKED_HEAD "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), 10, &kind, &o) == 0);
    tai_buf_free(&o.items);
    tai_buf_free(&o.body);
    CHECK(h1_limited(S(H1_CHUNKED_HEAD "5\r\nhello\r\n5\r\nworld\r\n1\r\n!\r\n0\r\n\r\n"), 10, &kind, &o) ==
          -1);
    CHECK(kind == H1_E_TOO_LARGE && o.body.len == 10);
    tai_buf_free(&o.items);
    tai_buf_free(&o.body);
    /* close-delimited: as bytes arrive, none past the limit delivered */
    CHECK(h1_limited(S("HTTP/1.1 200 OK\r\n\r\n0123456789abc"), 10, &kind, &o) == -1);
    CHECK(kind == H1_E_TOO_LARGE && o.body.len == 0);
    tai_buf_free(&o.items);
    tai_buf_free(&o.body);
    {
        h1_parser p;
        memset(&o, 0, sizeof o);
        h1_init(&p, 0);
        h1_set_max_body(&p, 10);
        CHECK(h1_feed(&p, S("HTTP/1.1 200 OK\r\n\r\n0123456789"), &H1_COLLECT, &o) == 0);
        CHECK(h1_feed(&p, S("x"), &H1_COLLECT, &o) == -1 && p.failed == H1_E_TOO_LARGE);
        CHECK(strstr(p.error, "exceeds the limit of 10 bytes") != NULL);
        CHECK(o.body.len == 10);
        h1_free(&p);
        tai_buf_free(&o.items);
        tai_buf_free(&o.body);
    }
    /* a limit of 0: only empty bodies */
    CHECK(h1_limited(S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, &kind, &o) == 0);
    tai_buf_free(&o.items);
    CHECK(h1_limited(S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), 0, &kind, &o) == -1);
    tai_buf_free(&o.items);
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
    /* a chunked body cut inside its CRLF or trailer section */
    h1_run(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r"), NULL, 0, 0, 1, &r);
    CHECK(r.rc == -1 && strstr(r.error, "truncated"));
    h1_result_free(&r);
    h1_run(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n"), NULL, 0, 0, 1, &r);
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

/* ================= response head lines (headers.c) ================= */

/* Feeds `in` one line per call, split after each LF as libcurl delivers
 * header lines. Returns the results, one char per line: '.' HDR_MORE,
 * 'F' HDR_FINAL, 'e' error. */
static void hdr_feed(hdr_parser *h, const char *in, size_t n, tai_buf *rcs)
{
    size_t pos = 0;
    rcs->len = 0;
    while (pos < n) {
        const char *nl = memchr(in + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (in + pos)) + 1 : n - pos;
        int rc = hdr_line(h, in + pos, len);
        CHECK(tai_buf_append(rcs, rc == HDR_FINAL ? "F" : rc == HDR_MORE ? "." : "e", 1) == 0);
        pos += len;
    }
}

/* The fields as "name=value|" (values may hold any byte). */
static void hdr_fields(const hdr_parser *h, tai_buf *out)
{
    size_t pos = 0;
    hdr_field f;
    out->len = 0;
    while (hdr_next(h, &pos, &f)) {
        CHECK(tai_buf_append(out, f.name, f.name_len) == 0);
        CHECK(tai_buf_append(out, "=", 1) == 0);
        CHECK(tai_buf_append(out, f.value, f.value_len) == 0);
        CHECK(tai_buf_append(out, "|", 1) == 0);
    }
}

/* Parses `in` with the given limit (0: default) and checks the per-line
 * results, the status and the fields. */
#define CHECK_HEAD(in, max, want_rcs, want_status, want_fields)                       \
    do {                                                                                \
        hdr_parser h_;                                                                  \
        tai_buf rcs_ = TAI_BUF_INIT, fields_ = TAI_BUF_INIT;                            \
        hdr_init(&h_, max);                                                             \
        hdr_feed(&h_, S(in), &rcs_);                                                    \
        hdr_fields(&h_, &fields_);                                                      \
        CHECK(bufeq(&rcs_, S(want_rcs)));                                               \
        CHECK(h_.status == (want_status));                                              \
        CHECK(bufeq(&fields_, S(want_fields)));                                         \
        if (!bufeq(&fields_, S(want_fields)) || !bufeq(&rcs_, S(want_rcs)))             \
            fprintf(stderr, "  got rcs %.*s fields %.*s\n", (int)rcs_.len,               \
                    rcs_.p ? rcs_.p : "", (int)fields_.len, fields_.p ? fields_.p : "");  \
        hdr_free(&h_);                                                                  \
        tai_buf_free(&rcs_);                                                            \
        tai_buf_free(&fields_);                                                         \
    } while (0)

static void test_hdr_basic(void)
{
    CHECK_HEAD("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Multi: a\r\nx-MULTI:  b \t\r\n"
               "X-Url: http://h:1/p\r\nX-Empty:\r\nX-Sp : v\r\n\r\n",
               0, ".......F", 200,
               "content-type=text/plain|x-multi=a|x-multi=b|x-url=http://h:1/p|x-empty=|"
               "x-sp =v|");
    /* line ends: LF only, none at all, CR CR LF */
    CHECK_HEAD("HTTP/2 204\nA: 1\n\n", 0, "..F", 204, "a=1|");
    {
        hdr_parser h;
        tai_buf f = TAI_BUF_INIT;
        hdr_init(&h, 0);
        CHECK(hdr_line(&h, S("HTTP/1.1 201 Created")) == HDR_MORE);
        CHECK(hdr_line(&h, S("A: 1\r\r\n")) == HDR_MORE);
        CHECK(hdr_line(&h, S("B:2")) == HDR_MORE);
        CHECK(hdr_line(&h, S("\r\r")) == HDR_FINAL);
        hdr_fields(&h, &f);
        CHECK(h.status == 201 && h.done && bufeq(&f, S("a=1|b=2|")));
        CHECK(bufeq(&h.lines, S("a: 1\nb:2\n")));
        /* trailers after the final head are ignored */
        CHECK(hdr_line(&h, S("X-Trailer: t\r\n")) == HDR_MORE);
        CHECK(hdr_line(&h, S("\r\n")) == HDR_MORE);
        hdr_fields(&h, &f);
        CHECK(bufeq(&f, S("a=1|b=2|")));
        hdr_free(&h);
        tai_buf_free(&f);
    }
    /* a head cut short is not final */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nA: 1\r\n", 0, "..", 200, "a=1|");
}

static void test_hdr_status(void)
{
    CHECK_HEAD("HTTP/1.1 404 Not Found\r\n\r\n", 0, ".F", 404, "");
    CHECK_HEAD("HTTP/1.1    503\r\n\r\n", 0, ".F", 503, "");
    CHECK_HEAD("HTTP/3 200\r\n\r\n", 0, ".F", 200, "");
    /* at most three digits are read */
    CHECK_HEAD("HTTP/1.1 2000 x\r\n\r\n", 0, ".F", 200, "");
    /* anything else is status 0, and a status-0 head is final */
    CHECK_HEAD("HTTP/1.1 20\r\nA: 1\r\n\r\n", 0, "..F", 0, "a=1|");
    CHECK_HEAD("HTTP/1.1 OK 200\r\n\r\n", 0, ".F", 0, "");
    CHECK_HEAD("ICY 200 OK\r\n\r\n", 0, ".F", 0, "");
    CHECK_HEAD("HTTP/\r\n\r\n", 0, ".F", 0, "");
    CHECK_HEAD("\r\n\r\n", 0, ".F", 0, "");
}

static void test_hdr_interim(void)
{
    /* 1xx heads are replaced by the next one; only the final head counts */
    CHECK_HEAD("HTTP/1.1 100 Continue\r\n\r\n"
               "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
               "HTTP/1.1 201 Created\r\nX-Final: yes\r\n\r\n"
               "X-Trailer: t\r\n\r\n",
               0, ".......F..", 201, "x-final=yes|");
    CHECK_HEAD("HTTP/1.1 100 Continue\r\n\r\n"
               "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
               "HTTP/1.1 201 Created\r\nX-Final: yes\r\n\r\n",
               0, ".......F", 201, "x-final=yes|");
    CHECK_HEAD("HTTP/1.1 199 Odd\r\nA: 1\r\n\r\nHTTP/1.1 200 OK\r\nB: 2\r\n\r\n", 0, ".....F", 200,
               "b=2|");
    /* an interim head cut short keeps its own fields, nothing is final */
    CHECK_HEAD("HTTP/1.1 103 Early Hints\r\nLink: <x>\r\n", 0, "..", 103, "link=<x>|");
    CHECK_HEAD("HTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\n", 0, "...", 103, "link=<x>|");
    /* the limit applies to each head, not to the interim heads before it */
    CHECK_HEAD("HTTP/1.1 103 x\r\nA: 0123456789012345678901234567\r\n\r\n"
               "HTTP/1.1 200 OK\r\nB: 0123456789012345678901234567\r\n\r\n",
               32, ".....F", 200, "b=0123456789012345678901234567|");
}

static void test_hdr_obs_fold(void)
{
    /* one space per fold; the previous line's trailing blanks stay */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n\tc\r\nX-T: a \r\n b\r\n\r\n", 0, "......F", 200,
               "x-fold=a b c|x-t=a  b|");
    /* onto an empty value; blank-only folds add nothing */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nX-E:\r\n x\r\nY: 1\r\n \t \r\n\r\n", 0, ".....F", 200,
               "x-e=x|y=1|");
    /* a fold before any header line is dropped */
    CHECK_HEAD("HTTP/1.1 200 OK\r\n folded\r\nA: 1\r\n\r\n", 0, "...F", 200, "a=1|");
    /* folds are kept as value bytes: their case and colons too */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nA: x\r\n Y: Z\r\n\r\n", 0, "...F", 200, "a=x Y: Z|");
}

static void test_hdr_hostile_lines(void)
{
    /* no colon, or an empty name: stored, never a field */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nNoColon\r\n: v\r\nA: 1\r\n\r\n", 0, "....F", 200, "a=1|");
    {
        hdr_parser h;
        tai_buf rcs = TAI_BUF_INIT;
        hdr_init(&h, 0);
        hdr_feed(&h, S("HTTP/1.1 200 OK\r\nNoColon\r\n: v\r\nA: 1\r\n\r\n"), &rcs);
        CHECK(bufeq(&h.lines, S("nocolon\n: v\na: 1\n")));
        hdr_free(&h);
        tai_buf_free(&rcs);
    }
    /* a fold can give a colon-less line its name; the fold keeps its case */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nNoColon\r\n X-Y: z\r\n\r\n", 0, "...F", 200, "nocolon X-Y=z|");
    /* NUL and lone CR bytes are data: in names, values, status lines */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\nN\0M: v\r\nX-Cr: a\rb\r\n\r\n", 0, "....F", 200,
               "x-nul=a\0b|n\0m=v|x-cr=a\rb|");
    CHECK_HEAD("HTTP/1.1\0 200 OK\r\n\r\n", 0, ".F", 200, "");
    CHECK_HEAD("HTTP/1.1 2\0" "00 OK\r\n\r\n", 0, ".F", 0, "");
    /* value trimming: SP/HTAB in front, SP/HTAB/CR at the end */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nA:\t \tv v\t \r \r\n\r\n", 0, "..F", 200, "a=v v|");
    /* a line of only CR/LF ends the head, whatever the mix */
    CHECK_HEAD("HTTP/1.1 200 OK\r\nA: 1\r\n\r\r\r\n", 0, "..F", 200, "a=1|");
    /* a bare CR inside the status line: one line */
    CHECK_HEAD("HTTP/1.1 200 OK\rA: 1\r\n\r\n", 0, ".F", 200, "");
}

static void test_hdr_limits(void)
{
    hdr_parser h;
    tai_buf f = TAI_BUF_INIT;
    size_t n = HDR_DEFAULT_MAX_BYTES, i;
    char *big = malloc(n + 8);
    int rc = 0;

    /* the limit is on the stored "name: value\n" bytes, exact */
    hdr_init(&h, 16);
    CHECK(hdr_line(&h, S("HTTP/1.1 200 OK\r\n")) == HDR_MORE);
    CHECK(hdr_line(&h, S("A: 012345678901\r\n")) == HDR_MORE); /* 16 with its LF */
    CHECK(h.lines.len == 16);
    CHECK(hdr_line(&h, S("B\r\n")) == -1 && h.error == HDR_E_OVERFLOW);
    /* sticky, and the stored head unchanged */
    CHECK(hdr_line(&h, S("\r\n")) == -1);
    CHECK(!h.done && bufeq(&h.lines, S("a: 012345678901\n")));
    hdr_free(&h);

    /* an overflowing fold keeps the head well-formed */
    hdr_init(&h, 16);
    CHECK(hdr_line(&h, S("HTTP/1.1 200 OK\r\n")) == HDR_MORE);
    CHECK(hdr_line(&h, S("A: 0123456789\r\n")) == HDR_MORE);
    CHECK(hdr_line(&h, S(" 0123\r\n")) == -1 && h.error == HDR_E_OVERFLOW);
    CHECK(bufeq(&h.lines, S("a: 0123456789\n")));
    hdr_fields(&h, &f);
    CHECK(bufeq(&f, S("a=0123456789|")));
    hdr_free(&h);

    /* an overlong head at the default limit (1 MiB): one huge line ... */
    hdr_init(&h, 0);
    CHECK(h.max_bytes == HDR_DEFAULT_MAX_BYTES);
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', n - 7);
    CHECK(hdr_line(&h, S("HTTP/1.1 200 OK\r\n")) == HDR_MORE);
    CHECK(hdr_line(&h, big, n) == -1 && h.error == HDR_E_OVERFLOW);
    hdr_free(&h);
    /* ... or many lines; the line that fits exactly is accepted */
    hdr_init(&h, 0);
    CHECK(hdr_line(&h, S("HTTP/1.1 200 OK\r\n")) == HDR_MORE);
    for (i = 0; rc == HDR_MORE && i < 100000; i++)
        rc = hdr_line(&h, S("X-Many: 0123456789012345678901234567890123456789012345678901234\r\n"));
    CHECK(rc == -1 && h.error == HDR_E_OVERFLOW && i == 16385 && h.lines.len == n);
    hdr_free(&h);
    /* 1 MiB exactly, with the LF */
    hdr_init(&h, 0);
    CHECK(hdr_line(&h, S("HTTP/1.1 200 OK\r\n")) == HDR_MORE);
    CHECK(hdr_line(&h, big, n - 1) == HDR_MORE && h.lines.len == n);
    CHECK(hdr_line(&h, S("\r\n")) == HDR_FINAL);
    hdr_free(&h);
    free(big);
    tai_buf_free(&f);
}


/* ================= json_pick ================= */

static void openai_spec(jp_spec *s)
{
    const char *why = NULL;
    jp_init(s);
    CHECK(jp_add_shape(s) == 0);
    CHECK(jp_add_cond(s, JP_TEXT, NULL, 0) == 0);
    CHECK(jp_add_key(s, S("choices")) == 0 && jp_add_index(s, 0) == 0 && jp_add_key(s, S("delta")) == 0 &&
          jp_add_key(s, S("content")) == 0);
    CHECK(jp_add_cond(s, JP_NONE, NULL, 0) == 0 && jp_add_key(s, S("usage")) == 0);
    CHECK(jp_add_cond(s, JP_NONE, NULL, 0) == 0);
    CHECK(jp_add_key(s, S("choices")) == 0 && jp_add_index(s, 0) == 0 && jp_add_key(s, S("finish_reason")) == 0);
    /* a second shape: {"type":"delta","text":"..."} */
    CHECK(jp_add_shape(s) == 0);
    CHECK(jp_add_cond(s, JP_EQUAL, S("delta")) == 0 && jp_add_key(s, S("type")) == 0);
    CHECK(jp_add_cond(s, JP_TEXT, NULL, 0) == 0 && jp_add_key(s, S("text")) == 0);
    CHECK(jp_finish(s, &why) == 0);
}

/* the shape picked (-1: none) and the text */
static int pick(const jp_spec *s, const char *json, size_t n, tai_buf *scratch, char *out, size_t cap)
{
    const char *t = NULL;
    size_t len = 0;
    int r = jp_pick(s, json, n, scratch, &t, &len);
    if (r >= 0) {
        if (len >= cap)
            return -2;
        memcpy(out, t, len);
        out[len] = 0;
    }
    return r;
}

static void test_json_pick_matches(void)
{
    jp_spec s;
    tai_buf b = TAI_BUF_INIT;
    char out[128];
    openai_spec(&s);
    CHECK(pick(&s, S("{\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}"), &b, out, sizeof out) == 0);
    CHECK(strcmp(out, "hi") == 0);
    /* nulls, other members, whitespace of every RFC 8259 kind, numbers of every form */
    CHECK(pick(&s, S(" \t\r\n{\"id\":\"x\",\"n\":[-0.5e+3,0,12,1E2,true,false,null,{},[]],\"usage\":null,"
                     "\"choices\" : [ { \"index\":0, \"delta\" : {\"role\":\"assistant\",\"content\":\"\"},"
                     "\"finish_reason\":null } , {\"delta\":{\"content\":\"second\"}} ] } \n"),
               &b, out, sizeof out) == 0);
    CHECK(strcmp(out, "") == 0);
    /* escapes are decoded as cjson decodes them */
    CHECK(pick(&s, S("{\"choices\":[{\"delta\":{\"content\":\"a\\n\\t\\\"\\\\\\/\\b\\f\\r\\u00e9\\u20ac\\ud83d\\ude00\"}}]}"),
               &b, out, sizeof out) == 0);
    CHECK(strcmp(out, "a\n\t\"\\/\b\f\r\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == 0);
    /* the second shape */
    CHECK(pick(&s, S("{\"type\":\"delta\",\"text\":\"t\"}"), &b, out, sizeof out) == 1);
    CHECK(strcmp(out, "t") == 0);
    /* bytes >= 0x80 pass through unchecked, like cjson */
    CHECK(pick(&s, S("{\"type\":\"delta\",\"text\":\"\xff\xfe\"}"), &b, out, sizeof out) == 1);
    CHECK(strcmp(out, "\xff\xfe") == 0);
    tai_buf_free(&b);
}

static void test_json_pick_refuses(void)
{
    static const char *no[] = {
        "{\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}", /* a watched member set */
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":{\"total_tokens\":1}}",
        "{\"choices\":[{\"delta\":{\"content\":1}}]}",                      /* not a string */
        "{\"choices\":{\"0\":{\"delta\":{\"content\":\"x\"}}}}",              /* not an array */
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"choices\":null}",   /* repeated: cjson keeps the last */
        "{\"choices\":[{\"delta\":{\"content\":\"x\",\"content\":\"y\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"us\\u0061ge\":1}", /* an escaped key where one is watched */
        "{\"choices\":[{\"delta\":{\"content\":\"\\u0000\"}}]}",            /* NUL in the pick */
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud83d\"}}]}",            /* lone surrogates */
        "{\"choices\":[{\"delta\":{\"content\":\"\\ude00\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud83d\\u0041\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\tb\"}}]}",               /* a raw control byte */
        "{\"choices\":[{\"delta\":{\"content\":\"\\x\"}}]}",                /* a bad escape */
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]} x",                /* trailing bytes */
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],}",                 /* RFC 8259 only */
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"n\":0x10}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"n\":01}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"n\":1.}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"n\":-}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"n\":nan}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"n\":tru}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]",                   /* cut short */
        "{\"type\":\"delt\\u0061\",\"text\":\"t\"}",                        /* equal, but only after unescaping */
        "{\"type\":\"other\",\"text\":\"t\"}",
        "[DONE]",
        "",
    };
    jp_spec s;
    tai_buf b = TAI_BUF_INIT;
    char out[128], deep[200];
    size_t i;
    openai_spec(&s);
    for (i = 0; i < sizeof no / sizeof no[0]; i++) {
        int r = pick(&s, no[i], strlen(no[i]), &b, out, sizeof out);
        if (r != -1)
            fprintf(stderr, "picked: %s\n", no[i]);
        CHECK(r == -1);
    }
    /* nesting past JP_MAX_DEPTH */
    memset(deep, '[', 70);
    memset(deep + 70, ']', 70);
    snprintf(deep + 140, sizeof deep - 140, "%s", "");
    {
        char doc[300];
        snprintf(doc, sizeof doc, "{\"type\":\"delta\",\"text\":\"t\",\"d\":%.*s}", 140, deep);
        CHECK(pick(&s, doc, strlen(doc), &b, out, sizeof out) == -1);
        snprintf(doc, sizeof doc, "{\"type\":\"delta\",\"text\":\"t\",\"d\":%.*s%.*s}", 20, deep, 20, deep + 120);
        CHECK(pick(&s, doc, strlen(doc), &b, out, sizeof out) == 1);
    }
    tai_buf_free(&b);
}

static int refuse_all(void *ud, const char *num, size_t len)
{
    (*(int *)ud)++;
    (void)num;
    (void)len;
    return -1;
}

/* jp_check: the whole-text check behind json.decode (RFC 8259 sections 2-7) */
static void test_json_check(void)
{
    static const char *yes[] = {
        "0", "-0", "1.5e-3", "1E+2", "1e308", "\"a\\tb\\u00e9\\ud83d\\ude00\"", " [ 1 , {\"a\" : null} ]\n",
        "{\n\t\"k\":\r\n[true,false]}", "\"\xff\"", /* bytes of strings are not UTF-8-checked here */
    };
    static const struct { const char *text; size_t at; const char *why; } no[] = {
        {"NaN", 0, "invalid token"}, {"-inf", 1, "invalid number"}, {"01", 1, "invalid number"},
        {"+1", 0, "invalid token"}, {"1.", 2, "invalid number"}, {"-.5", 1, "invalid number"},
        {"1.e5", 2, "invalid number"}, {"1e", 2, "invalid number"}, {"[1,]", 3, "invalid token"},
        {"\"a\tb\"", 2, "unescaped control character in a string"}, {"\"\\ud800\"", 1, "invalid string"},
        {"\"abc", 4, "invalid string"}, {"[1", 2, "unexpected end"}, {"1 2", 2, "text after the value"},
        {"", 0, "unexpected end"},
    };
    char deep[2100];
    size_t i, at;
    const char *why;
    int calls = 0;
    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (jp_check(yes[i], strlen(yes[i]), 1000, NULL, NULL, &at, &why) != 0)
            fprintf(stderr, "refused: %s (%s at %zu)\n", yes[i], why, at);
        CHECK(jp_check(yes[i], strlen(yes[i]), 1000, NULL, NULL, &at, &why) == 0);
    }
    for (i = 0; i < sizeof no / sizeof no[0]; i++) {
        at = 99;
        why = NULL;
        CHECK(jp_check(no[i].text, strlen(no[i].text), 1000, NULL, NULL, &at, &why) == -1);
        if (at != no[i].at || !why || strcmp(why, no[i].why) != 0)
            fprintf(stderr, "%s: %s at %zu\n", no[i].text, why ? why : "(null)", at);
        CHECK(at == no[i].at && why && strcmp(why, no[i].why) == 0);
    }
    /* the range callback: asked only where the magnitude may pass 10^308 */
    CHECK(jp_check("[1e308,99,0.5e9,123456789]", 26, 1000, refuse_all, &calls, &at, &why) == -1 && calls == 1);
    CHECK(at == 1 && strcmp(why, "number out of range") == 0);
    calls = 0;
    CHECK(jp_check("[1e307,99,0e999999,1e-999]", 26, 1000, refuse_all, &calls, &at, &why) == -1 && calls == 1);
    CHECK(at == 10);
    calls = 0;
    CHECK(jp_check("[1e307,99,1e-999]", 17, 1000, refuse_all, &calls, &at, &why) == 0 && calls == 0);
    /* depth: max_depth levels, not one more */
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    CHECK(jp_check(deep, 2000, 1000, NULL, NULL, &at, &why) == 0);
    CHECK(jp_check(deep, 2000, 999, NULL, NULL, &at, &why) == -1 && strcmp(why, "nested too deeply") == 0);
}

static void test_json_pick_spec_limits(void)
{
    jp_spec s;
    const char *why = NULL;
    int i;
    jp_init(&s);
    CHECK(jp_finish(&s, &why) == -1); /* no shapes */
    CHECK(jp_add_shape(&s) == 0);
    CHECK(jp_add_cond(&s, JP_NONE, NULL, 0) == 0 && jp_add_key(&s, S("a")) == 0);
    CHECK(jp_finish(&s, &why) == -1); /* no text path */
    CHECK(jp_add_cond(&s, JP_TEXT, NULL, 0) == 0);
    CHECK(jp_add_cond(&s, JP_TEXT, NULL, 0) == -1); /* one text path per shape */
    CHECK(jp_finish(&s, &why) == -1);             /* an empty path */
    for (i = 0; i < JP_MAX_STEPS; i++)
        CHECK(jp_add_index(&s, i) == 0);
    CHECK(jp_add_index(&s, 0) == -1);
    CHECK(jp_add_index(&s, -1) == -1);
    CHECK(jp_finish(&s, &why) == 0);
}

int main(void)
{
    RUN(test_json_pick_matches);
    RUN(test_json_pick_refuses);
    RUN(test_json_pick_spec_limits);
    RUN(test_json_check);
    RUN(test_base64_vectors);
    RUN(test_base64_all_bytes);
    RUN(test_base64_lenient);
    RUN(test_base64_reject);
    RUN(test_sse_basic);
    RUN(test_sse_line_endings);
    RUN(test_sse_fields);
    RUN(test_sse_bom);
    RUN(test_sse_finish);
    RUN(test_sse_retry_notices);
    RUN(test_sse_reconnection_time);
    RUN(test_sse_limits);
    RUN(test_sse_long_line_linear);
    RUN(test_ndjson);
    RUN(test_ndjson_limits);
    RUN(test_h1_content_length);
    RUN(test_h1_chunked);
    RUN(test_h1_chunked_grammar_ok);
    RUN(test_h1_chunked_grammar_refused);
    RUN(test_h1_max_body);
    RUN(test_h1_chunked_body_only);
    RUN(test_h1_close_delimited);
    RUN(test_h1_interim_and_no_body);
    RUN(test_h1_headers);
    RUN(test_h1_errors);
    RUN(test_h1_truncated);
    RUN(test_h1_limits);
    RUN(test_hdr_basic);
    RUN(test_hdr_status);
    RUN(test_hdr_interim);
    RUN(test_hdr_obs_fold);
    RUN(test_hdr_hostile_lines);
    RUN(test_hdr_limits);
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}
