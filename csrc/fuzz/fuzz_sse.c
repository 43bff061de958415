/* SSE: feeding the stream split at input-derived offsets (and one byte at a
 * time) must dispatch exactly the events of the one-shot parse, and leave
 * the same reconnection time. */
#include "collect.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const char *in, size_t n, size_t max, int mode, uint32_t seed, int report, sse_out *o)
{
    sse_parser p;
    splitter sp;
    size_t pos = 0;
    int rc = 0;
    memset(o, 0, sizeof *o);
    sse_init(&p, max);
    p.report_retry = report;
    splitter_init(&sp, seed);
    while (rc == 0 && pos < n) {
        size_t k = mode == 0 ? n - pos : mode == 1 ? 1 : splitter_next(&sp, n - pos);
        rc = sse_feed(&p, in + pos, k, sse_collect, o);
        pos += k;
    }
    if (rc == 0)
        rc = sse_finish(&p, sse_collect, o);
    /* a retry field is applied when its line is processed, whatever the split */
    sse_collect_state(o, &p);
    sse_free(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sse_out a, b, c, d;
    size_t max;
    uint32_t seed;
    int ra, rb, rc, rd, report;
    if (size < 2)
        return 0;
    /* byte 0 picks a small limit now and then, byte 1 the split pattern */
    max = (data[0] & 0x80) ? (size_t)(data[0] & 0x3f) + 1 : 0;
    report = (data[0] & 0x40) != 0; /* retry notices on or off */
    seed = (uint32_t)data[1] * 2654435761u;
    data += 2;
    size -= 2;
    ra = run((const char *)data, size, max, 0, seed, report, &a);
    rb = run((const char *)data, size, max, 2, seed, report, &b);
    rc = run((const char *)data, size, max, 1, seed, report, &c);
    rd = run((const char *)data, size, max, 0, seed, !report, &d);
    FUZZ_ASSERT(ra == rb && ra == rc && ra == rd);
    /* notices add to the events and change nothing else; the last one is the
     * reconnection time (a notice is reported when its field is processed) */
    FUZZ_ASSERT(a.count == d.count);
    FUZZ_ASSERT((report ? d.notices : a.notices) == 0);
    FUZZ_ASSERT(a.reconnection == d.reconnection);
    if (report && a.notices > 0 && ra == 0)
        FUZZ_ASSERT(a.last_notice == a.reconnection);
    FUZZ_ASSERT(same_bytes(a.events.p, a.events.len, b.events.p, b.events.len));
    FUZZ_ASSERT(same_bytes(a.events.p, a.events.len, c.events.p, c.events.len));
    tai_buf_free(&a.events);
    tai_buf_free(&b.events);
    tai_buf_free(&c.events);
    tai_buf_free(&d.events);
    return 0;
}
