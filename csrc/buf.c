#include "buf.h"

#include <stdlib.h>
#include <string.h>

int tai_buf_reserve(tai_buf *b, size_t extra)
{
    size_t need, cap;
    char *np;
    if (extra > (size_t)-1 - b->len)
        return -1;
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > (size_t)-1 / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    np = realloc(b->p, cap);
    if (np == NULL)
        return -1;
    b->p = np;
    b->cap = cap;
    return 0;
}

int tai_buf_append(tai_buf *b, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (tai_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

int tai_buf_set(tai_buf *b, const void *src, size_t n)
{
    b->len = 0;
    return tai_buf_append(b, src, n);
}

void tai_buf_clear(tai_buf *b, size_t keep_cap)
{
    b->len = 0;
    if (b->cap > keep_cap) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

void tai_buf_free(tai_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
