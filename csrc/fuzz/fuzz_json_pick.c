/* json_pick: any bytes, against shapes like the translators' (text at a
 * nested path, members that must be absent, a compared string). Checks, on
 * top of ASan/UBSan: a pick lies inside the input or the scratch buffer and is
 * never longer than the input; the answer does not depend on the scratch
 * buffer's previous contents; no proper prefix of a picked document that
 * ends inside its value is picked (a cut-short event is never a text).
 * jp_check (the whole-text check json.decode runs): never reads or points
 * past the input, takes every text jp_pick picks, and a number callback that
 * refuses everything refuses no text whose numbers are all short. */
#include <stdint.h>
#include <string.h>

#include "fuzz_split.h"
#include "json_pick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jp_spec spec;
static int ready;

static void build(void)
{
    const char *why;
    jp_init(&spec);
    jp_add_shape(&spec);
    jp_add_cond(&spec, JP_TEXT, NULL, 0);
    jp_add_key(&spec, "choices", 7);
    jp_add_index(&spec, 0);
    jp_add_key(&spec, "delta", 5);
    jp_add_key(&spec, "content", 7);
    jp_add_cond(&spec, JP_NONE, NULL, 0);
    jp_add_key(&spec, "usage", 5);
    jp_add_cond(&spec, JP_NONE, NULL, 0);
    jp_add_key(&spec, "choices", 7);
    jp_add_index(&spec, 0);
    jp_add_key(&spec, "finish_reason", 13);
    jp_add_shape(&spec);
    jp_add_cond(&spec, JP_EQUAL, "content_block_delta", 19);
    jp_add_key(&spec, "type", 4);
    jp_add_cond(&spec, JP_TEXT, NULL, 0);
    jp_add_key(&spec, "delta", 5);
    jp_add_key(&spec, "text", 4);
    jp_add_shape(&spec);
    jp_add_cond(&spec, JP_TEXT, NULL, 0);
    jp_add_key(&spec, "response", 8);
    jp_add_cond(&spec, JP_NONE, NULL, 0);
    jp_add_key(&spec, "choices", 7);
    if (jp_finish(&spec, &why) != 0)
        abort();
    ready = 1;
}

static int refuse(void *ud, const char *num, size_t len)
{
    (void)ud;
    FUZZ_ASSERT(len > 0 && (num[0] == '-' || (num[0] >= '0' && num[0] <= '9')));
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *t = NULL, *t2 = NULL;
    size_t len = 0, len2 = 0, k;
    tai_buf a = TAI_BUF_INIT, b = TAI_BUF_INIT;
    int r, r2;
    if (!ready)
        build();
    r = jp_pick(&spec, in, size, &a, &t, &len);
    {
        size_t at = 0;
        const char *why = NULL;
        int c = jp_check(in, size, 1000, NULL, NULL, &at, &why);
        FUZZ_ASSERT(c == 0 || (at <= size && why != NULL));
        FUZZ_ASSERT(r < 0 || c == 0);
        /* a refusing callback only matters for a number of 309+ digits or with an exponent */
        if (c == 0 && jp_check(in, size, 1000, refuse, NULL, &at, &why) != 0)
            FUZZ_ASSERT(memchr(in, 'e', size) || memchr(in, 'E', size) || size > 309);
    }
    /* a dirty scratch buffer: same answer */
    tai_buf_append(&b, "garbage garbage garbage", 23);
    r2 = jp_pick(&spec, in, size, &b, &t2, &len2);
    FUZZ_ASSERT(r == r2);
    if (r >= 0) {
        FUZZ_ASSERT(len == len2 && (len == 0 || memcmp(t, t2, len) == 0));
        FUZZ_ASSERT(len <= size);
        FUZZ_ASSERT((t >= in && t + len <= in + size) || (a.p && t == a.p && len == a.len));
        /* a proper prefix that cuts the document (not just trailing whitespace) is refused */
        k = size;
        while (k > 0 && (in[k - 1] == ' ' || in[k - 1] == '\t' || in[k - 1] == '\n' || in[k - 1] == '\r'))
            k--;
        if (k > 0) {
            size_t cut;
            for (cut = 0; cut < k; cut += 1 + cut / 4)
                FUZZ_ASSERT(jp_pick(&spec, in, cut, &b, &t2, &len2) == -1);
        }
    }
    tai_buf_free(&a);
    tai_buf_free(&b);
    return 0;
}
