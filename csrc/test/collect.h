/* Test/fuzz helpers: serialise parser output into a flat byte string, so a
 * parse fed in one piece can be compared with the same bytes fed in pieces. */
#ifndef TANSTACK_AI_TEST_COLLECT_H
#define TANSTACK_AI_TEST_COLLECT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "headers.h"
#include "http1.h"
#include "ndjson.h"
#include "sse.h"

static inline void put(tai_buf *b, char tag, const void *p, size_t n)
{
    char hdr[24];
    int k = snprintf(hdr, sizeof hdr, "%c%zu:", tag, n);
    if (tai_buf_append(b, hdr, (size_t)k) != 0 || tai_buf_append(b, p, n) != 0) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
}

static inline void put_num(tai_buf *b, char tag, long long v)
{
    char num[24];
    int k = snprintf(num, sizeof num, "%lld", v);
    put(b, tag, num, (size_t)k);
}

/* ---- SSE ---- */
typedef struct sse_out {
    tai_buf events;
    int count;
    int notices;          /* retry notices (report_retry) */
    long long last_notice;
    long long reconnection; /* sse_collect_state */
} sse_out;

static inline void sse_collect(void *ud, const sse_event *ev)
{
    sse_out *o = ud;
    if (ev->data == NULL) { /* a retry notice (report_retry) */
        put_num(&o->events, 'N', ev->retry);
        o->notices++;
        o->last_notice = ev->retry;
        return;
    }
    put(&o->events, 'D', ev->data, ev->data_len);
    if (ev->event)
        put(&o->events, 'E', ev->event, ev->event_len);
    if (ev->id)
        put(&o->events, 'I', ev->id, ev->id_len);
    if (ev->retry >= 0)
        put_num(&o->events, 'R', ev->retry);
    put(&o->events, '|', "", 0);
    o->count++;
}

/* The parser's state after the events: its reconnection time. */
static inline void sse_collect_state(sse_out *o, const sse_parser *p)
{
    put_num(&o->events, 'T', p->reconnection_time);
    o->reconnection = p->reconnection_time;
}

/* ---- NDJSON ---- */
typedef struct nd_out {
    tai_buf lines;
    int count;
} nd_out;

static inline void nd_collect(void *ud, const char *line, size_t n)
{
    nd_out *o = ud;
    put(&o->lines, 'L', line, n);
    o->count++;
}

/* ---- response head (headers.c): status, state, the stored lines and the
 * fields they give ---- */
static inline void hdr_collect(tai_buf *b, const hdr_parser *h)
{
    size_t pos = 0;
    hdr_field f;
    put_num(b, 'S', h->status);
    put_num(b, 'D', h->done);
    put_num(b, 'H', h->in_head);
    put_num(b, 'E', h->error);
    put(b, 'L', h->lines.p, h->lines.len);
    while (hdr_next(h, &pos, &f)) {
        put(b, 'N', f.name, f.name_len);
        put(b, 'v', f.value, f.value_len);
    }
}

/* ---- HTTP/1.1: body bytes are coalesced, since item boundaries follow
 * the feed boundaries ---- */
typedef struct h1_out {
    tai_buf items; /* heads and done markers */
    tai_buf body;
    int heads, dones, keep_alive;
} h1_out;

static inline void h1_on_head(void *ud, const h1_head *hd)
{
    h1_out *o = ud;
    size_t i;
    put_num(&o->items, 'S', hd->status);
    put_num(&o->items, 'V', hd->minor);
    put(&o->items, 'R', hd->reason, hd->reason_len);
    for (i = 0; i < hd->nheaders; i++) {
        put(&o->items, 'N', hd->headers[i].name, hd->headers[i].name_len);
        put(&o->items, 'v', hd->headers[i].value, hd->headers[i].value_len);
    }
    o->heads++;
}

static inline void h1_on_body(void *ud, const char *p, size_t n)
{
    h1_out *o = ud;
    if (tai_buf_append(&o->body, p, n) != 0)
        abort();
}

static inline void h1_on_done(void *ud, int keep_alive)
{
    h1_out *o = ud;
    put_num(&o->items, 'X', keep_alive);
    o->dones++;
    o->keep_alive = keep_alive;
}

static const h1_callbacks H1_COLLECT = {h1_on_head, h1_on_body, h1_on_done};

#endif
