/* Server-Sent Events stream parser (WHATWG "event stream interpretation").
 * Pure C, no Lua: it parses untrusted bytes, so it is fuzzed and unit-tested
 * on its own. Bytes may be split anywhere across sse_feed() calls. */
#ifndef TANSTACK_AI_SSE_H
#define TANSTACK_AI_SSE_H

#include <stddef.h>

#include "buf.h"

typedef struct sse_event {
    const char *data;  /* never NULL, except in a retry notice (report_retry) */
    size_t data_len;
    const char *event; /* NULL when no (non-empty) event type was set */
    size_t event_len;
    const char *id;    /* NULL when no id was ever set; may be "" */
    size_t id_len;
    long long retry;   /* -1 unless a valid retry field was in this event's own
                        * block (informational: the reconnection time is
                        * sse_parser.reconnection_time) */
} sse_event;

/* Called once per dispatched event; pointers are valid only during the call. */
typedef void (*sse_event_cb)(void *ud, const sse_event *ev);

typedef struct sse_parser {
    size_t max_event_bytes;
    tai_buf line;  /* carry-over: a line split across feeds */
    tai_buf data;
    tai_buf event;
    tai_buf id;
    int id_set;
    long long retry;   /* a valid retry field in the current block, for sse_event.retry */
    /* The event stream's reconnection time in ms (WHATWG HTML 9.2.6): set
     * when a retry field whose value is all ASCII digits is processed, in a
     * block that dispatches an event or not; -1 until then. It outlives the
     * stream (sse_reset and sse_finish keep it): it is what a client waits
     * before reconnecting, once the stream has ended. */
    long long reconnection_time;
    int skip_lf;   /* last byte seen was CR: an LF next is part of that line end */
    int bom;       /* BOM bytes matched so far; SSE_BOM_DONE once decided */
    int failed;    /* sticky: a limit was exceeded or memory ran out */
    /* Set by the caller after sse_init: every valid retry field is also
     * reported when it is processed (WHATWG HTML 9.2.6 applies it then, in a
     * block that dispatches an event or not), as a "retry notice": an
     * sse_event with data == NULL, event == id == NULL and retry set, in
     * stream order with the events (as eventsource-parser's onRetry). */
    int report_retry;
    char error[96];
} sse_parser;

#define SSE_BOM_DONE 3
#define SSE_DEFAULT_MAX_EVENT_BYTES ((size_t)16 * 1024 * 1024)

TAI_HIDDEN void sse_init(sse_parser *p, size_t max_event_bytes);
TAI_HIDDEN void sse_free(sse_parser *p);
/* Back to the start-of-stream state (BOM, last event id, buffers); the
 * reconnection time is kept. */
TAI_HIDDEN void sse_reset(sse_parser *p);
/* Returns 0, or -1 with p->error set (the parser then stays failed until
 * sse_reset/sse_finish). Events dispatched before the failure were delivered. */
TAI_HIDDEN int sse_feed(sse_parser *p, const char *buf, size_t n, sse_event_cb cb, void *ud);
/* End of stream: a final unterminated line is processed, a pending event with
 * data is dispatched (lenient: servers often close without a blank line), and
 * the parser is reset. Returns 0 or -1 (failed; parser reset anyway). */
TAI_HIDDEN int sse_finish(sse_parser *p, sse_event_cb cb, void *ud);

#endif
