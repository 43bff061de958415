/* Sans-I/O HTTP/1.1 response framing (RFC 9112): status line, headers,
 * Content-Length / chunked / close-delimited bodies. Pure C (fuzzed alone).
 * Bytes may be split anywhere across h1_feed() calls. */
#ifndef TANSTACK_AI_HTTP1_H
#define TANSTACK_AI_HTTP1_H

#include <stddef.h>

#include "buf.h"
#include "headers.h" /* hdr_field */

#define H1_MAX_HEAD_BYTES (64 * 1024)
#define H1_MAX_HEADERS 100

/* Name lower-cased; value trimmed, obs-folds joined. */
typedef hdr_field h1_header;

typedef struct h1_head {
    int status;
    int minor;            /* HTTP/1.<minor> */
    const char *reason;
    size_t reason_len;
    const h1_header *headers;
    size_t nheaders;
} h1_head;

/* Pointers handed to callbacks are valid only during the call. */
typedef struct h1_callbacks {
    void (*on_head)(void *ud, const h1_head *head);  /* final (non-1xx) head */
    void (*on_body)(void *ud, const char *data, size_t n);
    void (*on_done)(void *ud, int keep_alive);
} h1_callbacks;

typedef struct h1_parser {
    int head_request;   /* response to HEAD: never a body */
    int state;
    tai_buf head;       /* head / chunk-size line being accumulated */
    size_t line_start;  /* offset of the current line in `head` */
    unsigned long long remaining; /* Content-Length or chunk bytes left */
    size_t trailer_bytes;
    size_t tline_len;   /* length of the current trailer line so far */
    int tline_cr;       /* current trailer line is a lone "\r" so far */
    int crlf_cr;        /* CR seen of the CRLF after chunk data */
    int keep_alive;
    int failed;         /* sticky */
    h1_header headers[H1_MAX_HEADERS];
    char error[128];
} h1_parser;

TAI_HIDDEN void h1_init(h1_parser *p, int head_request);
TAI_HIDDEN void h1_free(h1_parser *p);
/* Returns 0, or -1 with p->error set (malformed input; sticky). */
TAI_HIDDEN int h1_feed(h1_parser *p, const char *buf, size_t n, const h1_callbacks *cb, void *ud);
/* The peer closed the connection: completes a close-delimited body (on_done
 * with keep_alive 0), or fails with "truncated ..." if a head, a
 * Content-Length body or a chunked body was cut short. 0 or -1. */
TAI_HIDDEN int h1_finish(h1_parser *p, const h1_callbacks *cb, void *ud);
/* True once the response is complete. */
TAI_HIDDEN int h1_done(const h1_parser *p);

#endif
