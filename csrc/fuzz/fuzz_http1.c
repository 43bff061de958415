/* HTTP/1.1 framing: split feeds must give the same heads, body bytes, done
 * markers and outcome as one feed; at most one head and one done. */
#include "collect.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const char *in, size_t n, int head_req, int mode, uint32_t seed, h1_out *o)
{
    h1_parser p;
    splitter sp;
    size_t pos = 0;
    int rc = 0;
    memset(o, 0, sizeof *o);
    h1_init(&p, head_req);
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
        FUZZ_ASSERT(h1_done(&p) && o->heads == 1 && o->dones == 1);
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
    int head_req, ra, rb, rc;
    uint32_t seed;
    if (size < 2)
        return 0;
    head_req = data[0] & 1;
    seed = (uint32_t)data[1] * 2654435761u;
    data += 2;
    size -= 2;
    ra = run((const char *)data, size, head_req, 0, seed, &a);
    rb = run((const char *)data, size, head_req, 2, seed, &b);
    rc = run((const char *)data, size, head_req, 1, seed, &c);
    FUZZ_ASSERT(ra == rb && ra == rc);
    FUZZ_ASSERT(same(&a, &b) && same(&a, &c));
    release(&a);
    release(&b);
    release(&c);
    return 0;
}
