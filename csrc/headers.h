/* Response head of an HTTP transfer, one header line at a time, the way
 * libcurl's header callback delivers it (status line, header lines, blank
 * line; 1xx interim heads are replaced by the head that follows). Kept as
 * "name: value\n" lines with lower-cased names. Pure C: no libcurl, no Lua
 * (fuzzed alone). */
#ifndef TANSTACK_AI_HEADERS_H
#define TANSTACK_AI_HEADERS_H

#include <stddef.h>

#include "buf.h"

#define HDR_DEFAULT_MAX_BYTES ((size_t)1024 * 1024)

/* A header field; pointers into the parser or the caller's buffer. */
typedef struct hdr_field {
    const char *name;  /* lower-cased */
    size_t name_len;
    const char *value; /* surrounding whitespace trimmed */
    size_t value_len;
} hdr_field;

enum { HDR_MORE = 0, HDR_FINAL = 1 }; /* hdr_line results; -1 is an error */
enum { HDR_OK = 0, HDR_E_OVERFLOW, HDR_E_NOMEM };

typedef struct hdr_parser {
    tai_buf lines;    /* header lines of the current head, "name: value\n" */
    size_t max_bytes; /* limit of `lines` */
    int status;       /* of the current head; 0 if its status line is not "HTTP/... nnn" */
    int in_head;      /* inside a head: the next line is a header, not a status line */
    int done;         /* a final (non-1xx) head is complete; later lines are ignored */
    int error;        /* HDR_E_*, sticky */
} hdr_parser;

/* max_bytes 0 means HDR_DEFAULT_MAX_BYTES. */
TAI_HIDDEN void hdr_init(hdr_parser *h, size_t max_bytes);
TAI_HIDDEN void hdr_free(hdr_parser *h);
/* One line as libcurl delivers it (trailing CR/LF optional, any bytes
 * inside). Returns HDR_FINAL when it completed the final head, HDR_MORE
 * otherwise, or -1 with h->error set (head over max_bytes, out of memory). */
TAI_HIDDEN int hdr_line(hdr_parser *h, const char *line, size_t n);
/* Iterates the fields of the current head: start with *pos = 0; returns 1
 * and fills f, or 0 at the end. Lines without a colon or with an empty name
 * are skipped. Pointers stay valid until the next hdr_line/hdr_free. */
TAI_HIDDEN int hdr_next(const hdr_parser *h, size_t *pos, hdr_field *f);

#endif
