/* Sans-I/O HTTP/1.1 response framing (RFC 9112): status line, headers,
 * Content-Length / chunked / close-delimited bodies. Pure C (fuzzed alone).
 * Bytes may be split anywhere across h1_feed() calls.
 *
 * The head is read with the tolerances RFC 9112 allows a recipient (bare LF
 * line ends, obs-fold); the chunked framing of the body is read strictly by
 * the grammar of RFC 9112 7.1 (see http1.c), since it decides where this
 * response ends and the next one on a reused connection begins.
 * An optional body limit (max_body) is refused at the announced
 * Content-Length, at an announced chunk size, and as bytes arrive. */
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

/* h1_parser.failed: why the parser stopped (sticky). */
enum { H1_OK = 0, H1_E_MALFORMED = 1, H1_E_TOO_LARGE = 2, H1_E_TRUNCATED = 3, H1_E_NOMEM = 4 };

typedef struct h1_parser {
    int head_request;   /* response to HEAD: never a body */
    int state;
    tai_buf head;       /* head / chunk-size line / trailer line being accumulated */
    size_t line_start;  /* offset of the current line in `head` */
    unsigned long long remaining; /* Content-Length or chunk bytes left */
    unsigned long long max_body;  /* body bytes allowed; H1_NO_LIMIT: any */
    unsigned long long body_bytes; /* body bytes delivered so far */
    size_t trailer_bytes;
    int trailer_fields; /* trailer field lines seen (an obs-fold needs one before it) */
    int crlf_cr;        /* CR seen of the CRLF after chunk data */
    int keep_alive;
    int failed;         /* sticky: H1_E_* */
    h1_header headers[H1_MAX_HEADERS];
    char error[128];
} h1_parser;

#define H1_NO_LIMIT (~0ULL)

TAI_HIDDEN void h1_init(h1_parser *p, int head_request);
/* A parser for a chunked body alone (the head was framed elsewhere, e.g. by
 * libcurl with its transfer decoding off): it starts at the first chunk-size
 * line, and on_head is never called. */
TAI_HIDDEN void h1_init_chunked_body(h1_parser *p);
/* Limits the body to max_body bytes (call after h1_init, before feeding).
 * A Content-Length or a chunk size announcing more fails at once, and so
 * does a chunked or close-delimited body growing past it: -1 from h1_feed,
 * p->failed == H1_E_TOO_LARGE, and no byte past the limit reaches on_body. */
TAI_HIDDEN void h1_set_max_body(h1_parser *p, unsigned long long max_body);
TAI_HIDDEN void h1_free(h1_parser *p);
/* Returns 0, or -1 with p->error and p->failed set (malformed input, a body
 * over the limit; sticky). */
TAI_HIDDEN int h1_feed(h1_parser *p, const char *buf, size_t n, const h1_callbacks *cb, void *ud);
/* The peer closed the connection: completes a close-delimited body (on_done
 * with keep_alive 0), or fails with "truncated ..." if a head, a
 * Content-Length body or a chunked body was cut short. 0 or -1. */
TAI_HIDDEN int h1_finish(h1_parser *p, const h1_callbacks *cb, void *ud);
/* True once the response is complete. */
TAI_HIDDEN int h1_done(const h1_parser *p);

#endif
