/* HTTP client engine over libcurl: one CURLM multi handle shared by all
 * requests of a Lua state (several in flight, connections reused through the
 * multi's cache). Pure C: no Lua. The binding (l_http.c) validates options,
 * raises errors and turns results into Lua values.
 *
 * Rules kept here:
 *  - libcurl callbacks only fill C buffers.
 *  - libcurl's transfer decoding is off: a chunked body reaches on_write with
 *    its framing and is decoded by http1.c's strict chunk parser (RFC 9112
 *    7.1), so both transports refuse the same malformed framing (libcurl's
 *    own decoder accepts bare LF and stray bytes on the chunk lines). libcurl
 *    still finds the end of the body; a disagreement fails the request.
 *  - The multi lives in a malloc'd, refcounted engine (1 ref for its owner
 *    + 1 per live request), so the order in which owner and requests are
 *    released does not matter. */
#ifndef TANSTACK_AI_HTTP_H
#define TANSTACK_AI_HTTP_H

#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"
#include "headers.h"
#include "http1.h"

typedef struct http_engine http_engine;

typedef struct http_req {
    http_engine *eng;   /* NULL once released */
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;         /* our copy of the request body */
    char *desc;         /* "METHOD url" for __tostring, secrets stripped */
    tai_buf buf;        /* body bytes; buf.p[buf_off, buf.len) are unread */
    size_t buf_off;
    hdr_parser head;    /* head of the current response */
    tai_buf scratch;    /* building header lines */
    struct http_req *prev, *next;
    unsigned long long id; /* this request's number in its engine (http_engine_ready) */
    int queued;         /* in the engine's ready list */
    int in_multi;
    int closed;
    int head_done;      /* final (non-1xx) response head complete */
    int done;           /* transfer finished (ok or failed) */
    int paused;         /* write callback returned CURL_WRITEFUNC_PAUSE */
    int got_bytes;      /* any response byte seen (so the connection was up) */
    int oom, head_overflow;
    int has_content_type, has_expect; /* among the caller's headers */
    int is_head;        /* a HEAD request: a Content-Length announces no body */
    unsigned long long max_response; /* body bytes allowed (HTTP_NO_LIMIT: any) */
    unsigned long long body_bytes;   /* body bytes accepted so far */
    h1_parser *chunks;  /* a chunked body's strict decoder (libcurl hands over the raw framing) */
    CURLcode result;
    const char *kind;   /* failure kind, NULL on success */
    size_t max_buffer;
    long connect_ms, timeout_ms, idle_ms;
    long long started_ms, last_activity_ms;
    curl_off_t ul_seen;
    char curl_err[CURL_ERROR_SIZE];
    char errmsg[CURL_ERROR_SIZE + 64];
} http_req;

/* A request's settings. Strings are read during http_req_init/start only. */
typedef struct http_opts {
    const char *method; /* an HTTP token */
    size_t method_len;
    const char *url;    /* http:// or https:// */
    const char *body;   /* NULL: none */
    size_t body_len;
    const char *ca_file; /* NULL: libcurl's default */
    long connect_ms, timeout_ms, idle_ms; /* 0: none (connect: libcurl's default) */
    size_t max_buffer;  /* unread body bytes before the transfer pauses */
    /* Body bytes allowed, HTTP_NO_LIMIT for any: a final head announcing a
     * larger Content-Length fails before the body (kind "too_large"), and so
     * does the delivery that would pass it (no byte past it is buffered). */
    unsigned long long max_response;
} http_opts;

#define HTTP_NO_LIMIT (~0ULL)

typedef enum { HTTP_UNTIL_HEAD, HTTP_UNTIL_DATA, HTTP_UNTIL_DONE } http_until;

typedef struct http_info {
    long status;
    int reused;
    double total_time, connect_time;
    const char *primary_ip; /* valid until the next call on the request */
    long primary_port;
    double bytes_received;
} http_info;

#define HTTP_DEFAULT_MAX_BUFFER ((size_t)1024 * 1024)

/* Socket interest, as libcurl reports it (CURLMOPT_SOCKETFUNCTION). */
#define HTTP_EV_READ 1
#define HTTP_EV_WRITE 2
#define HTTP_EV_ERROR 4

/* One change for an event loop: events 0 means "no longer watched: close
 * the handle" (a later change for the same fd is a new socket). */
typedef struct http_sock_change {
    curl_socket_t fd;
    int events;
} http_sock_change;

/* Transfers in flight, summed (an upload's or a download's total is 0 when
 * unknown). */
typedef struct http_progress {
    int requests, answered, receive_unknown;
    double sent, send_total, received, receive_total;
} http_progress;

/* ---- engine ---- */

/* NULL with *err set ("out of memory", "curl_multi_init failed"); the new
 * engine holds one reference, for the caller. */
TAI_HIDDEN http_engine *http_engine_new(const char **err);
TAI_HIDDEN void http_engine_unref(http_engine *e);
/* One round: perform, and if nothing moved and wait_ms > 0, wait for socket
 * activity (or a curl/idle timer) and perform again. */
TAI_HIDDEN CURLMcode http_engine_step(http_engine *e, long wait_ms);
/* Requests in flight. */
TAI_HIDDEN int http_engine_count(const http_engine *e);

/* ---- driven by an event loop (libuv: core.http_sockets and friends) ----
 * libcurl's socket and timer callbacks only record interest here; the loop
 * polls the sockets, and calls http_engine_socket_action when one is ready or
 * the timeout is due. The blocking paths above keep working beside it. */

/* The sockets whose interest changed since the last call (full: every
 * watched socket, for a loop that holds no handle yet). *out stays valid
 * until the next call; (size_t)-1 when out of memory. */
TAI_HIDDEN size_t http_engine_sockets(http_engine *e, int full, const http_sock_change **out);
/* ms until libcurl's timer or an idle timeout is due (0: now), -1: none. */
TAI_HIDDEN long http_engine_timeout(http_engine *e);
/* curl_multi_socket_action on fd (CURL_SOCKET_TIMEOUT: the timer) with
 * HTTP_EV_* events, then finished transfers and idle timeouts. */
TAI_HIDDEN CURLMcode http_engine_socket_action(http_engine *e, curl_socket_t fd, int events);
/* Changes whenever a request gains a head, data or its end. */
TAI_HIDDEN unsigned http_engine_generation(const http_engine *e);
/* The ids (http_req.id) of requests that gained a head, data or their end
 * since the last call, at most cap of them (the rest stay for the next call);
 * *all = 1 when some were lost (out of memory): treat every request as ready. */
TAI_HIDDEN size_t http_engine_ready(http_engine *e, unsigned long long *out, size_t cap, int *all);
/* One request's bytes sent / to send / received / to receive (-1: unknown), as libcurl knows them. */
TAI_HIDDEN void http_req_progress(const http_req *r, curl_off_t *ul, curl_off_t *ult, curl_off_t *dl,
                                  curl_off_t *dlt);
TAI_HIDDEN void http_engine_progress(const http_engine *e, http_progress *out);

/* ---- request lifetime ---- */

/* r is uninitialised memory; takes a reference on e. -1 when out of memory
 * (r must still be released). */
TAI_HIDDEN int http_req_init(http_req *r, http_engine *e, const http_opts *o);
/* Appends a request header; the caller has validated name and value. A
 * value's leading blanks are dropped. 0, or -1 when out of memory. */
TAI_HIDDEN int http_req_add_header(http_req *r, const char *name, size_t nlen, const char *value,
                                   size_t vlen);
/* Configures and starts the transfer. NULL, or a message (r stays releasable). */
TAI_HIDDEN const char *http_req_start(http_req *r, const http_opts *o);
/* Frees everything; idempotent. Leaves r->closed set. */
TAI_HIDDEN void http_req_release(http_req *r);

/* ---- reading ---- */

/* Whether `u` is reached (or the transfer is over); if not, either drives
 * the engine until it is (wait) or makes one non-blocking step. */
TAI_HIDDEN int http_req_await(http_req *r, http_until u, int wait);
/* read_all: lifts backpressure and drives to the end. 0, or -1 on failure. */
TAI_HIDDEN int http_req_finish(http_req *r);
/* The caller copied r->buf: empty it and let a paused transfer flow again. */
TAI_HIDDEN void http_req_consumed(http_req *r);
/* Unread body bytes, and handing out at most HTTP_READ_MAX of them per read:
 * a fast stream read by a slower consumer comes in pieces of bounded size
 * (bounded Lua strings, event tables and queues per read; cache-sized). */
#define HTTP_READ_MAX ((size_t)64 * 1024)
TAI_HIDDEN size_t http_req_unread(const http_req *r, const char **p);
TAI_HIDDEN void http_req_take(http_req *r, size_t n);
TAI_HIDDEN void http_req_info(http_req *r, http_info *out);

#endif
