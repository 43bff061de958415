#include "sse.h"

#include <stdio.h>
#include <string.h>

/* Buffers larger than this are released on reset so one huge event does not
 * pin memory for the rest of a long-lived parser. */
#define KEEP_CAP (64 * 1024)

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

void sse_init(sse_parser *p, size_t max_event_bytes)
{
    memset(p, 0, sizeof *p);
    p->max_event_bytes = max_event_bytes ? max_event_bytes : SSE_DEFAULT_MAX_EVENT_BYTES;
    p->retry = -1;
    p->reconnection_time = -1;
}

void sse_free(sse_parser *p)
{
    tai_buf_free(&p->line);
    tai_buf_free(&p->data);
    tai_buf_free(&p->event);
    tai_buf_free(&p->id);
}

void sse_reset(sse_parser *p)
{
    tai_buf_clear(&p->line, KEEP_CAP);
    tai_buf_clear(&p->data, KEEP_CAP);
    tai_buf_clear(&p->event, KEEP_CAP);
    tai_buf_clear(&p->id, KEEP_CAP);
    p->id_set = 0;
    p->retry = -1;
    p->skip_lf = 0;
    p->bom = 0;
    p->failed = 0;
    p->error[0] = '\0';
}

static int fail_limit(sse_parser *p)
{
    p->failed = 1;
    snprintf(p->error, sizeof p->error, "sse event exceeds max_event_bytes (%zu)",
             p->max_event_bytes);
    return -1;
}

static int fail_oom(sse_parser *p)
{
    p->failed = 1;
    snprintf(p->error, sizeof p->error, "sse parser: out of memory");
    return -1;
}

static void dispatch(sse_parser *p, sse_event_cb cb, void *ud)
{
    sse_event ev;
    if (p->data.len == 0) {
        /* No data: nothing is dispatched, but the event type is reset. */
        p->event.len = 0;
        p->retry = -1;
        return;
    }
    ev.data = p->data.p;
    ev.data_len = p->data.len - 1; /* drop the trailing LF */
    ev.event = p->event.len ? p->event.p : NULL;
    ev.event_len = p->event.len;
    ev.id = p->id_set ? (p->id.len ? p->id.p : "") : NULL;
    ev.id_len = p->id.len;
    ev.retry = p->retry;
    cb(ud, &ev);
    p->data.len = 0;
    p->event.len = 0;
    p->retry = -1;
}

/* WHATWG HTML 9.2.6, "process the field", retry: "If the field value
 * consists of only ASCII digits, then interpret the field value as an
 * integer in base ten, and set the event stream's reconnection time to that
 * integer. Otherwise, ignore the field." An empty value is ignored (no
 * integer to interpret), and so is one past 2^63-1 ms. */
static long long parse_retry(const char *v, size_t n)
{
    long long r = 0;
    size_t i;
    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        int d = (unsigned char)v[i] - '0';
        if (d < 0 || d > 9)
            return -1;
        if (r > (0x7fffffffffffffffLL - d) / 10)
            return -1;
        r = r * 10 + d;
    }
    return r;
}

static int process_line(sse_parser *p, const char *line, size_t len,
                        sse_event_cb cb, void *ud)
{
    const char *colon, *value;
    size_t nlen, vlen;

    if (len > p->max_event_bytes)
        return fail_limit(p);
    if (len == 0) {
        dispatch(p, cb, ud);
        return 0;
    }
    if (line[0] == ':')
        return 0; /* comment */
    colon = memchr(line, ':', len);
    if (colon) {
        nlen = (size_t)(colon - line);
        value = colon + 1;
        vlen = len - nlen - 1;
        if (vlen && *value == ' ') {
            value++;
            vlen--;
        }
    } else {
        nlen = len;
        value = "";
        vlen = 0;
    }
    switch (nlen) {
    case 4:
        if (memcmp(line, "data", 4) == 0) {
            if (vlen + 1 > p->max_event_bytes - p->data.len)
                return fail_limit(p);
            if (tai_buf_reserve(&p->data, vlen + 1) != 0)
                return fail_oom(p);
            memcpy(p->data.p + p->data.len, value, vlen);
            p->data.len += vlen;
            p->data.p[p->data.len++] = '\n';
        }
        break;
    case 5:
        if (memcmp(line, "event", 5) == 0) {
            if (tai_buf_set(&p->event, value, vlen) != 0)
                return fail_oom(p);
        } else if (memcmp(line, "retry", 5) == 0) {
            /* applied now, whether or not this block dispatches an event */
            long long r = parse_retry(value, vlen);
            if (r >= 0) {
                p->retry = p->reconnection_time = r;
                if (p->report_retry) {
                    sse_event notice;
                    memset(&notice, 0, sizeof notice);
                    notice.retry = r;
                    cb(ud, &notice);
                }
            }
        }
        break;
    case 2:
        if (line[0] == 'i' && line[1] == 'd' && memchr(value, '\0', vlen) == NULL) {
            if (tai_buf_set(&p->id, value, vlen) != 0)
                return fail_oom(p);
            p->id_set = 1;
        }
        break;
    default:
        break; /* unknown field: ignored */
    }
    return 0;
}

/* A BOM prefix that turned out not to be a BOM is ordinary line content. */
static int flush_bom_prefix(sse_parser *p)
{
    int n = p->bom;
    p->bom = SSE_BOM_DONE;
    if (n > 0 && n < SSE_BOM_DONE && tai_buf_append(&p->line, BOM, (size_t)n) != 0)
        return fail_oom(p);
    return 0;
}

/* How many more bytes the carried partial line may grow by. */
static size_t line_room(const sse_parser *p)
{
    return p->line.len >= p->max_event_bytes ? 0 : p->max_event_bytes - p->line.len;
}

int sse_feed(sse_parser *p, const char *buf, size_t n, sse_event_cb cb, void *ud)
{
    size_t pos = 0, lf = 0, cr = 0;
    int lf_ok = 0, cr_ok = 0;

    if (p->failed)
        return -1;
    while (p->bom < SSE_BOM_DONE && pos < n) {
        if ((unsigned char)buf[pos] == BOM[p->bom]) {
            pos++;
            p->bom++; /* reaching 3 == SSE_BOM_DONE: the BOM is dropped */
        } else if (flush_bom_prefix(p) != 0) {
            return -1;
        }
    }
    if (p->skip_lf && pos < n) {
        if (buf[pos] == '\n')
            pos++;
        p->skip_lf = 0;
    }
    while (pos < n) {
        size_t eol;
        /* memchr results are cached until passed: linear even with long
         * runs of one terminator kind and none of the other. */
        if (!lf_ok || lf < pos) {
            const char *q = memchr(buf + pos, '\n', n - pos);
            lf = q ? (size_t)(q - buf) : n;
            lf_ok = 1;
        }
        if (!cr_ok || cr < pos) {
            const char *q = memchr(buf + pos, '\r', n - pos);
            cr = q ? (size_t)(q - buf) : n;
            cr_ok = 1;
        }
        eol = lf < cr ? lf : cr;
        if (eol == n)
            break;
        if (p->line.len) {
            if (eol - pos > line_room(p))
                return fail_limit(p);
            if (tai_buf_append(&p->line, buf + pos, eol - pos) != 0)
                return fail_oom(p);
            if (process_line(p, p->line.p, p->line.len, cb, ud) != 0)
                return -1;
            p->line.len = 0;
        } else if (process_line(p, buf + pos, eol - pos, cb, ud) != 0) {
            return -1;
        }
        pos = eol + 1;
        if (buf[eol] == '\r') {
            if (pos < n) {
                if (buf[pos] == '\n')
                    pos++;
            } else {
                p->skip_lf = 1; /* CR|LF may be split across feeds */
            }
        }
    }
    if (pos < n) {
        if (n - pos > line_room(p))
            return fail_limit(p);
        if (tai_buf_append(&p->line, buf + pos, n - pos) != 0)
            return fail_oom(p);
    }
    return 0;
}

int sse_finish(sse_parser *p, sse_event_cb cb, void *ud)
{
    int rc = -1;
    if (p->failed)
        goto out;
    if (p->bom < SSE_BOM_DONE && flush_bom_prefix(p) != 0)
        goto out;
    if (p->line.len) {
        if (process_line(p, p->line.p, p->line.len, cb, ud) != 0)
            goto out;
        p->line.len = 0;
    }
    dispatch(p, cb, ud);
    rc = 0;
out:
    if (rc != 0) {
        /* keep the message for the caller across the reset */
        char msg[sizeof p->error];
        memcpy(msg, p->error, sizeof msg);
        sse_reset(p);
        memcpy(p->error, msg, sizeof msg);
    } else {
        sse_reset(p);
    }
    return rc;
}
