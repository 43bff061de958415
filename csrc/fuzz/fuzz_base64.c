/* base64: decoding arbitrary input never overruns and is canonical when it
 * succeeds; encode -> decode round-trips every input exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *err = NULL;
    size_t n = 0, m = 0, elen = b64_encoded_len(size);
    unsigned char *out = malloc(b64_decoded_max(size));
    char *enc = malloc(elen + 1);
    unsigned char *back = malloc(b64_decoded_max(elen));

    if (b64_decode((const char *)data, size, out, &n, &err) == 0) {
        /* re-encoding then decoding gives the same bytes */
        char *re = malloc(b64_encoded_len(n) + 1);
        unsigned char *again = malloc(b64_decoded_max(b64_encoded_len(n)));
        size_t k = 0;
        FUZZ_ASSERT(n <= size / 4 * 3 + 2);
        b64_encode(out, n, re);
        FUZZ_ASSERT(b64_decode(re, b64_encoded_len(n), again, &k, &err) == 0);
        FUZZ_ASSERT(k == n && (n == 0 || memcmp(again, out, n) == 0));
        free(re);
        free(again);
    } else {
        FUZZ_ASSERT(err && strncmp(err, "invalid base64", 14) == 0);
    }

    b64_encode(data, size, enc);
    FUZZ_ASSERT(b64_decode(enc, elen, back, &m, &err) == 0);
    FUZZ_ASSERT(m == size && (size == 0 || memcmp(back, data, size) == 0));

    free(out);
    free(enc);
    free(back);
    return 0;
}
