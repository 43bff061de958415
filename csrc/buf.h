/* Growable byte buffer with amortised (doubling) growth. Pure C. */
#ifndef TANSTACK_AI_BUF_H
#define TANSTACK_AI_BUF_H

#include <stddef.h>

/* Internal functions stay out of core.so's dynamic symbol table: no clash or
 * interposition with same-named symbols of the host (nginx, nvim, ...). */
#if defined(__GNUC__)
#define TAI_HIDDEN __attribute__((visibility("hidden")))
#else
#define TAI_HIDDEN
#endif

typedef struct tai_buf {
    char *p;
    size_t len, cap;
} tai_buf;

#define TAI_BUF_INIT {NULL, 0, 0}

/* Ensure room for `extra` more bytes. Returns 0, or -1 on overflow/OOM. */
TAI_HIDDEN int tai_buf_reserve(tai_buf *b, size_t extra);
/* Append n bytes. Returns 0, or -1 on OOM (buffer unchanged). */
TAI_HIDDEN int tai_buf_append(tai_buf *b, const void *src, size_t n);
/* Replace contents. Returns 0 or -1 on OOM (buffer emptied). */
TAI_HIDDEN int tai_buf_set(tai_buf *b, const void *src, size_t n);
/* Empty the buffer; release the allocation when it grew past keep_cap so one
 * huge message does not pin memory for the rest of a long stream. */
TAI_HIDDEN void tai_buf_clear(tai_buf *b, size_t keep_cap);
TAI_HIDDEN void tai_buf_free(tai_buf *b);

#endif
