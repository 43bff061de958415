/* Newline-delimited JSON line splitter. Pure C (fuzzed alone). It only frames
 * lines; decoding the JSON is left to the caller. */
#ifndef TANSTACK_AI_NDJSON_H
#define TANSTACK_AI_NDJSON_H

#include <stddef.h>

#include "buf.h"

/* One complete, non-blank line without its "\n" (and without one trailing
 * "\r"). The pointer is valid only during the call. */
typedef void (*ndjson_line_cb)(void *ud, const char *line, size_t len);

typedef struct ndjson_parser {
    size_t max_line_bytes;
    tai_buf line; /* carry-over: a line split across feeds */
    int failed;   /* sticky until ndjson_finish/ndjson_reset */
    char error[96];
} ndjson_parser;

#define NDJSON_DEFAULT_MAX_LINE_BYTES ((size_t)16 * 1024 * 1024)

TAI_HIDDEN void ndjson_init(ndjson_parser *p, size_t max_line_bytes);
TAI_HIDDEN void ndjson_free(ndjson_parser *p);
TAI_HIDDEN void ndjson_reset(ndjson_parser *p);
/* Returns 0, or -1 with p->error set when a line exceeds max_line_bytes. */
TAI_HIDDEN int ndjson_feed(ndjson_parser *p, const char *buf, size_t n, ndjson_line_cb cb, void *ud);
/* Delivers the last unterminated line (if not blank) and resets. 0 or -1. */
TAI_HIDDEN int ndjson_finish(ndjson_parser *p, ndjson_line_cb cb, void *ud);

#endif
