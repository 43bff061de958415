#include "ndjson.h"

#include <stdio.h>
#include <string.h>

#define KEEP_CAP (64 * 1024)

void ndjson_init(ndjson_parser *p, size_t max_line_bytes)
{
    memset(p, 0, sizeof *p);
    p->max_line_bytes = max_line_bytes ? max_line_bytes : NDJSON_DEFAULT_MAX_LINE_BYTES;
}

void ndjson_free(ndjson_parser *p)
{
    tai_buf_free(&p->line);
}

void ndjson_reset(ndjson_parser *p)
{
    tai_buf_clear(&p->line, KEEP_CAP);
    p->failed = 0;
    p->error[0] = '\0';
}

static int fail(ndjson_parser *p, const char *why)
{
    p->failed = 1;
    if (why)
        snprintf(p->error, sizeof p->error, "%s", why);
    else
        snprintf(p->error, sizeof p->error, "ndjson line exceeds max_line_bytes (%zu)",
                 p->max_line_bytes);
    return -1;
}

static void emit(const char *s, size_t n, ndjson_line_cb cb, void *ud)
{
    size_t i;
    if (n && s[n - 1] == '\r')
        n--;
    /* JSON whitespace only: such lines carry no value. */
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            break;
    }
    if (i < n)
        cb(ud, s, n);
}

static size_t room(const ndjson_parser *p)
{
    return p->line.len >= p->max_line_bytes ? 0 : p->max_line_bytes - p->line.len;
}

int ndjson_feed(ndjson_parser *p, const char *buf, size_t n, ndjson_line_cb cb, void *ud)
{
    size_t pos = 0;
    if (p->failed)
        return -1;
    while (pos < n) {
        const char *q = memchr(buf + pos, '\n', n - pos);
        size_t eol;
        if (q == NULL)
            break;
        eol = (size_t)(q - buf);
        if (p->line.len) {
            if (eol - pos > room(p))
                return fail(p, NULL);
            if (tai_buf_append(&p->line, buf + pos, eol - pos) != 0)
                return fail(p, "ndjson parser: out of memory");
            emit(p->line.p, p->line.len, cb, ud);
            p->line.len = 0;
        } else {
            if (eol - pos > p->max_line_bytes)
                return fail(p, NULL);
            emit(buf + pos, eol - pos, cb, ud);
        }
        pos = eol + 1;
    }
    if (pos < n) {
        if (n - pos > room(p))
            return fail(p, NULL);
        if (tai_buf_append(&p->line, buf + pos, n - pos) != 0)
            return fail(p, "ndjson parser: out of memory");
    }
    return 0;
}

int ndjson_finish(ndjson_parser *p, ndjson_line_cb cb, void *ud)
{
    int rc = p->failed ? -1 : 0;
    char msg[sizeof p->error];
    if (rc == 0 && p->line.len)
        emit(p->line.p, p->line.len, cb, ud);
    memcpy(msg, p->error, sizeof msg);
    ndjson_reset(p);
    if (rc != 0)
        memcpy(p->error, msg, sizeof msg);
    return rc;
}
