/* HTTP/1.1 framing: split feeds must give the same heads, body bytes, done
 * markers and outcome as one feed; at most one head and one done. Byte 0
 * also picks a chunked-body-only parser (the libcurl transport's decoder)
 * and a small body limit now and then. */
#include "collect.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const char *in, size_t n, int flags, int mode, uint32_t seed, h1_out *o)
{
    h1_parser p;
    splitter sp;
    size_t pos = 0;
    int rc = 0, body_only = flags & 2;
    memset(o, 0, sizeof *o);
    if (body_only)
        h1_init_chunked_body(&p);
    else
        h1_init(&p, flags & 1);
    if (flags & 4)
        h1_set_max_body(&p, (unsigned long long)(flags >> 3) * 16);
    splitter_init(&sp, seed);
    while (rc == 0 && pos < n) {
        size_t k = mode == 0 ? n - pos : mode == 1 ? 1 : splitter_next(&sp, n - pos);
        rc = h1_feed(&p, in + pos, k, &H1_COLLECT, o);
        pos += k;
    }
    if (rc == 0)
        rc = h1_finish(&p, &H1_COLLECT, o);
    if (rc != 0)
        FUZZ_ASSERT(p.error[0] != '\0');
    else
        FUZZ_ASSERT(h1_done(&p) && o->heads == (body_only ? 0 : 1) && o->dones == 1);
    if (flags & 4)
        FUZZ_ASSERT(o->body.len <= (size_t)(flags >> 3) * 16);
    FUZZ_ASSERT(o->heads <= 1 && o->dones <= 1);
    h1_free(&p);
    return rc;
}

static int same(const h1_out *a, const h1_out *b)
{
    return same_bytes(a->items.p, a->items.len, b->items.p, b->items.len) &&
           same_bytes(a->body.p, a->body.len, b->body.p, b->body.len);
}

static void release(h1_out *o)
{
    tai_buf_free(&o->items);
    tai_buf_free(&o->body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h1_out a, b, c;
    int flags, ra, rb, rc;
    uint32_t seed;
    if (size < 2)
        return 0;
    flags = data[0];
    seed = (uint32_t)data[1] * 2654435761u;
    data += 2;
    size -= 2;
    ra = run((const char *)data, size, flags, 0, seed, &a);
    rb = run((const char *)data, size, flags, 2, seed, &b);
    rc = run((const char *)data, size, flags, 1, seed, &c);
    FUZZ_ASSERT(ra == rb && ra == rc);
    FUZZ_ASSERT(same(&a, &b) && same(&a, &c));
    release(&a);
    release(&b);
    release(&c);
    return 0;
}
