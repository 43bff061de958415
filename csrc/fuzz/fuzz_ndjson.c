/* NDJSON: split feeds give the same lines as one feed; no line contains LF,
 * ends with CR or is blank. */
#include "collect.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(void *ud, const char *line, size_t n)
{
    size_t i;
    int blank = 1;
    FUZZ_ASSERT(n > 0 && memchr(line, '\n', n) == NULL); /* one CR stripped, not all */
    for (i = 0; i < n; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            blank = 0;
    FUZZ_ASSERT(!blank);
    nd_collect(ud, line, n);
}

static int run(const char *in, size_t n, size_t max, int mode, uint32_t seed, nd_out *o)
{
    ndjson_parser p;
    splitter sp;
    size_t pos = 0;
    int rc = 0;
    memset(o, 0, sizeof *o);
    ndjson_init(&p, max);
    splitter_init(&sp, seed);
    while (rc == 0 && pos < n) {
        size_t k = mode == 0 ? n - pos : mode == 1 ? 1 : splitter_next(&sp, n - pos);
        rc = ndjson_feed(&p, in + pos, k, check_line, o);
        pos += k;
    }
    if (rc == 0)
        rc = ndjson_finish(&p, check_line, o);
    ndjson_free(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nd_out a, b, c;
    size_t max;
    uint32_t seed;
    int ra, rb, rc;
    if (size < 2)
        return 0;
    max = (data[0] & 0x80) ? (size_t)(data[0] & 0x3f) + 1 : 0;
    seed = (uint32_t)data[1] * 2654435761u;
    data += 2;
    size -= 2;
    ra = run((const char *)data, size, max, 0, seed, &a);
    rb = run((const char *)data, size, max, 2, seed, &b);
    rc = run((const char *)data, size, max, 1, seed, &c);
    FUZZ_ASSERT(ra == rb && ra == rc);
    FUZZ_ASSERT(same_bytes(a.lines.p, a.lines.len, b.lines.p, b.lines.len));
    FUZZ_ASSERT(same_bytes(a.lines.p, a.lines.len, c.lines.p, c.lines.len));
    tai_buf_free(&a.lines);
    tai_buf_free(&b.lines);
    tai_buf_free(&c.lines);
    return 0;
}
