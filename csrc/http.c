#include "http.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEEP_CAP ((size_t)256 * 1024)
#define DEFAULT_CONNECT_TIMEOUT_MS 300000L /* libcurl's built-in default */
#define POLL_SLICE_MS 1000

/* No loop over the active list spans a call out of this file: the binding's
 * finalizers release requests, which unlinks them. */
/* A socket libcurl watches (CURLMOPT_SOCKETFUNCTION), as recorded for an
 * event loop that polls it (core.http_sockets): `current` is libcurl's
 * interest now, `reported` what the loop was last told, `reset` that libcurl
 * dropped the socket since then (the loop must close its handle even if the
 * same number comes back: it may be a new socket). */
typedef struct sock_rec {
    curl_socket_t fd;
    int current, reported, reset;
} sock_rec;

struct http_engine {
    CURLM *multi;
    int refs;
    http_req *active;  /* requests currently added to the multi */
    unsigned progress; /* bumped when any request gains data/head/end */
    sock_rec *socks;   /* sockets libcurl watches or the loop was told of */
    size_t nsocks, capsocks;
    http_sock_change *changes; /* the last drain's output */
    size_t capchanges;
    long long timer_deadline; /* libcurl's timer (CURLMOPT_TIMERFUNCTION), -1: none */
    struct pollfd *pfds;       /* http_engine_step's poll set */
    size_t cappfds;
    /* Requests that gained a head, data or their end since the last
     * http_engine_ready: a scheduler resumes only the tasks waiting on them
     * instead of polling every request (1000 streams: O(ready), not O(n)). */
    struct ready_entry *ready;
    size_t nready, capready;
    int ready_lost;     /* out of memory growing the list: "every request" */
    unsigned long long next_id;
};

/* r: the request while it lives; NULL once it was closed (its id still wakes
 * whoever waits on it: a closed request answers at once). */
struct ready_entry {
    unsigned long long id;
    http_req *r;
};

/* Nobody drains the list outside tanstack.ai.async: past this many entries it
 * is dropped for "every request is ready" (bounded memory, same meaning). */
#define READY_MAX 4096

static void push_ready(http_engine *e, http_req *r, unsigned long long id)
{
    if (e->ready_lost)
        return;
    if (e->nready >= READY_MAX) {
        size_t i;
        for (i = 0; i < e->nready; i++)
            if (e->ready[i].r)
                e->ready[i].r->queued = 0;
        e->nready = 0;
        e->ready_lost = 1;
        return;
    }
    if (e->nready == e->capready) {
        size_t cap = e->capready ? e->capready * 2 : 64;
        struct ready_entry *p = realloc(e->ready, cap * sizeof *p);
        if (p == NULL) {
            e->ready_lost = 1;
            return;
        }
        e->ready = p;
        e->capready = cap;
    }
    e->ready[e->nready].id = id;
    e->ready[e->nready++].r = r;
    if (r)
        r->queued = 1;
}

static void mark_ready(http_req *r)
{
    if (!r->queued)
        push_ready(r->eng, r, r->id);
}

/* A request being closed: its entry outlives it, without the pointer. */
static void forget_ready(http_req *r)
{
    http_engine *e = r->eng;
    size_t i;
    if (!r->queued) {
        push_ready(e, NULL, r->id);
        return;
    }
    for (i = 0; i < e->nready; i++) {
        if (e->ready[i].r == r) {
            e->ready[i].r = NULL;
            break;
        }
    }
    r->queued = 0;
}

size_t http_engine_ready(http_engine *e, unsigned long long *out, size_t cap, int *all)
{
    size_t n = 0;
    *all = e->ready_lost;
    e->ready_lost = 0;
    while (e->nready > 0 && n < cap) {
        struct ready_entry *en = &e->ready[--e->nready];
        if (en->r)
            en->r->queued = 0;
        out[n++] = en->id;
    }
    return n;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- socket and timer interest (C only: recorded, never a call into Lua) ---- */

static sock_rec *sock_find(http_engine *e, curl_socket_t fd)
{
    size_t i;
    for (i = 0; i < e->nsocks; i++)
        if (e->socks[i].fd == fd)
            return &e->socks[i];
    return NULL;
}

static void sock_drop(http_engine *e, sock_rec *r)
{
    *r = e->socks[--e->nsocks];
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    http_engine *e = userp;
    sock_rec *r = sock_find(e, fd);
    int ev = 0;
    (void)easy;
    (void)socketp;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= HTTP_EV_READ;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= HTTP_EV_WRITE;
    if (ev == 0) { /* CURL_POLL_REMOVE (or NONE) */
        if (r == NULL)
            return 0;
        if (what == CURL_POLL_REMOVE && r->reported)
            r->reset = 1;
        r->current = 0;
        if (!r->reported)
            sock_drop(e, r);
        return 0;
    }
    if (r == NULL) {
        if (e->nsocks == e->capsocks) {
            size_t cap = e->capsocks ? e->capsocks * 2 : 8;
            sock_rec *n = realloc(e->socks, cap * sizeof *n);
            if (n == NULL)
                return -1; /* libcurl fails the transfer */
            e->socks = n;
            e->capsocks = cap;
        }
        r = &e->socks[e->nsocks++];
        r->fd = fd;
        r->reported = r->reset = 0;
    }
    r->current = ev;
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    http_engine *e = userp;
    (void)multi;
    e->timer_deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

/* ---- engine ---- */

http_engine *http_engine_new(const char **err)
{
    http_engine *e = calloc(1, sizeof *e);
    if (e == NULL) {
        *err = "out of memory";
        return NULL;
    }
    e->refs = 1;
    e->timer_deadline = -1;
    e->multi = curl_multi_init();
    if (e->multi == NULL) {
        free(e);
        *err = "curl_multi_init failed";
        return NULL;
    }
    if (curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e) != CURLM_OK ||
        curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
        curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e) != CURLM_OK) {
        curl_multi_cleanup(e->multi);
        free(e);
        *err = "curl_multi_setopt(CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION) failed";
        return NULL;
    }
    return e;
}

void http_engine_unref(http_engine *e)
{
    if (--e->refs > 0)
        return;
    curl_multi_cleanup(e->multi); /* no easy handle left: each held a ref */
    free(e->socks);
    free(e->changes);
    free(e->ready);
    free(e->pfds);
    free(e);
}

int http_engine_count(const http_engine *e)
{
    int n = 0;
    const http_req *r;
    for (r = e->active; r; r = r->next)
        n++;
    return n;
}

static void list_unlink(http_req *r)
{
    http_engine *e = r->eng;
    if (!r->in_multi)
        return;
    curl_multi_remove_handle(e->multi, r->easy);
    if (r->prev)
        r->prev->next = r->next;
    else
        e->active = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->in_multi = 0;
}

/* ---- failure classification ---- */

static void set_failure(http_req *r, const char *kind, const char *fmt, long value)
{
    r->kind = kind;
    snprintf(r->errmsg, sizeof r->errmsg, fmt, value);
}

static int is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return 1;
    default:
        return 0;
    }
}

/* Whether the connection (incl. TLS) was established before the failure. */
static int was_connected(http_req *r)
{
    curl_off_t pre = 0;
    if (r->got_bytes)
        return 1;
    curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
    return pre > 0;
}

static void describe_curl_failure(http_req *r, CURLcode rc)
{
    const char *detail = r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        long cto = r->connect_ms > 0 ? r->connect_ms : DEFAULT_CONNECT_TIMEOUT_MS;
        if (!was_connected(r) && (r->timeout_ms <= 0 || cto <= r->timeout_ms))
            set_failure(r, "timeout", "connect timeout after %ld ms", cto);
        else if (r->timeout_ms > 0)
            set_failure(r, "timeout", "request timed out after %ld ms", r->timeout_ms);
        else {
            r->kind = "timeout";
            snprintf(r->errmsg, sizeof r->errmsg, "timeout: %s", detail);
        }
        return;
    }
    if (r->oom) {
        set_failure(r, "network", "out of memory buffering the response", 0);
        return;
    }
    if (r->head_overflow) {
        set_failure(r, "network", "response headers exceed %ld bytes", (long)r->head.max_bytes);
        return;
    }
    if (is_tls_error(rc))
        r->kind = "tls";
    else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
             rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_URL_MALFORMAT)
        r->kind = "connect";
    else
        r->kind = "network";
    /* curl's error text names host/port/reason, never header values */
    snprintf(r->errmsg, sizeof r->errmsg, "%s", detail);
}

static void req_finish(http_req *r, CURLcode rc)
{
    if (rc == CURLE_OK && r->chunks && !h1_done(r->chunks)) {
        /* libcurl's decoder saw the end where the strict one did not */
        r->kind = "network";
        snprintf(r->errmsg, sizeof r->errmsg, "malformed HTTP response: the chunked body ended early");
        rc = CURLE_RECV_ERROR;
    }
    list_unlink(r); /* back to the connection cache (unless failed) */
    r->done = 1;
    r->result = rc;
    r->eng->progress++;
    mark_ready(r);
    if (rc == CURLE_OK) {
        r->head_done = 1;
        return;
    }
    if (r->kind == NULL)
        describe_curl_failure(r, rc);
}

/* ---- driving the multi ---- */

/* Reads finished transfers and enforces idle timeouts. */
static void engine_collect(http_engine *e)
{
    CURLMsg *m;
    int left;
    long long now;
    http_req *r, *next;
    while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE) {
            CURLcode rc = m->data.result; /* m dies with remove_handle */
            char *priv = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            if (priv)
                req_finish((http_req *)(void *)priv, rc);
        }
    }
    now = now_ms();
    for (r = e->active; r; r = next) {
        next = r->next;
        if (r->idle_ms > 0 && !r->paused && now - r->last_activity_ms >= r->idle_ms) {
            set_failure(r, "timeout", "idle timeout: no data for %ld ms", r->idle_ms);
            req_finish(r, CURLE_OPERATION_TIMEDOUT);
        }
    }
}

/* libcurl's timer, when it is due. */
static CURLMcode run_timer(http_engine *e)
{
    if (e->timer_deadline < 0 || e->timer_deadline > now_ms())
        return CURLM_OK;
    return http_engine_socket_action(e, CURL_SOCKET_TIMEOUT, 0);
}

/* One step of the engine, the way libcurl's multi_socket API is meant to be
 * driven: poll the sockets libcurl asked for (CURLMOPT_SOCKETFUNCTION, as
 * recorded above) and its timer, then hand each ready socket to
 * curl_multi_socket_action with what poll saw. libcurl then reads and writes
 * without polling again; curl_multi_perform / socket_all poll every
 * transfer's socket themselves (three to four more system calls per request,
 * each costly on a virtual machine). Waits at most wait_ms (0: only what is
 * ready now); with nothing in flight it still sleeps: schedulers use
 * http_wait as their idle wait. */
CURLMcode http_engine_step(http_engine *e, long wait_ms)
{
    unsigned before = e->progress;
    CURLMcode mc = run_timer(e);
    long timeout;
    size_t i, n = 0;
    int got;
    if (mc != CURLM_OK)
        return mc;
    engine_collect(e);
    timeout = wait_ms;
    if (timeout < 0 || e->progress != before)
        timeout = 0;
    if (timeout > 0) {
        long t = http_engine_timeout(e); /* libcurl's timer and the idle deadlines; -1: none */
        if (t >= 0 && t < timeout)
            timeout = t;
    }
    if (e->cappfds < e->nsocks) {
        struct pollfd *p = realloc(e->pfds, e->nsocks * sizeof *p);
        if (p == NULL)
            return CURLM_OUT_OF_MEMORY;
        e->pfds = p;
        e->cappfds = e->nsocks;
    }
    for (i = 0; i < e->nsocks; i++) {
        const sock_rec *r = &e->socks[i];
        if (r->current == 0)
            continue;
        e->pfds[n].fd = r->fd;
        e->pfds[n].events = (short)(((r->current & HTTP_EV_READ) ? POLLIN : 0) |
                                    ((r->current & HTTP_EV_WRITE) ? POLLOUT : 0));
        e->pfds[n].revents = 0;
        n++;
    }
    got = poll(n ? e->pfds : NULL, (nfds_t)n, (int)timeout);
    if (got < 0 && errno != EINTR)
        return CURLM_INTERNAL_ERROR;
    /* socket_action may change e->socks (and reuse an fd): e->pfds is our copy */
    for (i = 0; got > 0 && i < n; i++) {
        short re = e->pfds[i].revents;
        int ev = 0;
        if (re == 0)
            continue;
        if (re & (POLLIN | POLLHUP))
            ev |= HTTP_EV_READ;
        if (re & POLLOUT)
            ev |= HTTP_EV_WRITE;
        if (re & (POLLERR | POLLNVAL))
            ev |= HTTP_EV_ERROR;
        mc = http_engine_socket_action(e, e->pfds[i].fd, ev);
        if (mc != CURLM_OK)
            return mc;
    }
    mc = run_timer(e);
    engine_collect(e);
    return mc;
}

/* ---- an event loop polls the sockets (core.http_sockets) ---- */

size_t http_engine_sockets(http_engine *e, int full, const http_sock_change **out)
{
    size_t i = 0, n = 0;
    *out = NULL;
    if (e->capchanges < 2 * e->nsocks) {
        size_t cap = 2 * e->nsocks;
        http_sock_change *c = realloc(e->changes, cap * sizeof *c);
        if (c == NULL)
            return (size_t)-1;
        e->changes = c;
        e->capchanges = cap;
    }
    while (i < e->nsocks) {
        sock_rec *r = &e->socks[i];
        if (full) { /* a new loop: it holds no handle */
            r->reported = r->reset = 0;
        } else if (r->reset && r->reported) {
            e->changes[n].fd = r->fd;
            e->changes[n++].events = 0;
            r->reported = 0;
        }
        r->reset = 0;
        if (r->current != r->reported) {
            e->changes[n].fd = r->fd;
            e->changes[n++].events = r->current;
            r->reported = r->current;
        }
        if (r->current == 0)
            sock_drop(e, r); /* the last record moved here: look at i again */
        else
            i++;
    }
    *out = e->changes;
    return n;
}

long http_engine_timeout(http_engine *e)
{
    long long now = now_ms();
    long ms = -1;
    http_req *r;
    if (e->timer_deadline >= 0)
        ms = e->timer_deadline > now ? (long)(e->timer_deadline - now) : 0;
    for (r = e->active; r; r = r->next) {
        if (r->idle_ms > 0 && !r->paused) {
            long long left = r->last_activity_ms + r->idle_ms - now;
            if (left < 0)
                left = 0;
            if (ms < 0 || left < ms)
                ms = (long)left;
        }
    }
    return ms;
}

CURLMcode http_engine_socket_action(http_engine *e, curl_socket_t fd, int events)
{
    int running, mask = 0;
    CURLMcode mc;
    if (fd == CURL_SOCKET_TIMEOUT)
        e->timer_deadline = -1; /* one-shot: libcurl arms it again if it still needs one */
    if (events & HTTP_EV_READ)
        mask |= CURL_CSELECT_IN;
    if (events & HTTP_EV_WRITE)
        mask |= CURL_CSELECT_OUT;
    if (events & HTTP_EV_ERROR)
        mask |= CURL_CSELECT_ERR;
    mc = curl_multi_socket_action(e->multi, fd, mask, &running);
    engine_collect(e);
    return mc;
}

unsigned http_engine_generation(const http_engine *e)
{
    return e->progress;
}

void http_req_progress(const http_req *r, curl_off_t *ul, curl_off_t *ult, curl_off_t *dl, curl_off_t *dlt)
{
    *ul = 0;
    *ult = -1;
    *dl = 0;
    *dlt = -1;
    if (r->easy == NULL)
        return;
    curl_easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, ul);
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_UPLOAD_T, ult);
    curl_easy_getinfo(r->easy, CURLINFO_SIZE_DOWNLOAD_T, dl);
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, dlt);
}

void http_engine_progress(const http_engine *e, http_progress *out)
{
    const http_req *r;
    memset(out, 0, sizeof *out);
    for (r = e->active; r; r = r->next) {
        curl_off_t ul, ult, dl, dlt;
        http_req_progress(r, &ul, &ult, &dl, &dlt);
        out->requests++;
        out->sent += (double)ul;
        out->send_total += ult > 0 ? (double)ult : 0;
        out->received += (double)dl;
        if (dlt > 0)
            out->receive_total += (double)dlt;
        else
            out->receive_unknown++;
        if (r->head_done)
            out->answered++;
    }
}

static int reached(const http_req *r, http_until u)
{
    switch (u) {
    case HTTP_UNTIL_HEAD:
        return r->head_done || r->done;
    case HTTP_UNTIL_DATA:
        return r->buf.len > r->buf_off || r->done;
    default:
        return r->done;
    }
}

static void drive_until(http_req *r, http_until u)
{
    http_engine *e = r->eng;
    CURLMcode mc = CURLM_OK;
    /* a step returns as soon as a socket is ready or libcurl's timer is due */
    while (mc == CURLM_OK && !reached(r, u))
        mc = http_engine_step(e, POLL_SLICE_MS);
    if (mc != CURLM_OK && !r->done) {
        r->kind = "network";
        snprintf(r->errmsg, sizeof r->errmsg, "curl multi failure: %s", curl_multi_strerror(mc));
        req_finish(r, CURLE_RECV_ERROR);
    }
}

/* ---- libcurl callbacks (C only) ---- */

static void fail_too_large(http_req *r, const char *what, unsigned long long announced)
{
    r->kind = "too_large";
    if (announced)
        snprintf(r->errmsg, sizeof r->errmsg,
                 "response body of %llu bytes (%s) exceeds the limit of %llu bytes (max_response_bytes)",
                 announced, what, r->max_response);
    else
        snprintf(r->errmsg, sizeof r->errmsg, "response body exceeds the limit of %llu bytes (max_response_bytes)",
                 r->max_response);
}

/* The largest Content-Length the final head announces (each field, each
 * element of a list; saturating), or 0 when none is made of digits. libcurl
 * frames the body and refuses a malformed length itself. */
static unsigned long long announced_length(const hdr_parser *h)
{
    size_t pos = 0;
    hdr_field f;
    unsigned long long best = 0;
    while (hdr_next(h, &pos, &f)) {
        size_t i = 0;
        if (f.name_len != 14 || memcmp(f.name, "content-length", 14) != 0)
            continue;
        while (i < f.value_len) {
            unsigned long long v = 0;
            while (i < f.value_len && (f.value[i] == ' ' || f.value[i] == '\t' || f.value[i] == ','))
                i++;
            while (i < f.value_len && f.value[i] >= '0' && f.value[i] <= '9') {
                unsigned d = (unsigned)(f.value[i++] - '0');
                v = v > (HTTP_NO_LIMIT - d) / 10 ? HTTP_NO_LIMIT : v * 10 + d;
            }
            if (v > best)
                best = v;
            while (i < f.value_len && f.value[i] != ',')
                i++;
        }
    }
    return best;
}

/* Whether the final head's transfer codings end in chunked: 1; 0 when
 * chunked is not among them; -1 when it is but not once and last (RFC 9112
 * 6.1, 6.3: then no framing of the body can be trusted). */
static int transfer_chunked(const hdr_parser *h)
{
    size_t pos = 0;
    hdr_field f;
    int chunked = 0, last = 0;
    while (hdr_next(h, &pos, &f)) {
        size_t i = 0;
        if (f.name_len != 17 || memcmp(f.name, "transfer-encoding", 17) != 0)
            continue;
        while (i < f.value_len) {
            size_t a, b;
            while (i < f.value_len && (f.value[i] == ' ' || f.value[i] == '\t' || f.value[i] == ','))
                i++;
            a = i;
            while (i < f.value_len && f.value[i] != ',')
                i++;
            b = i;
            while (b > a && (f.value[b - 1] == ' ' || f.value[b - 1] == '\t'))
                b--;
            if (b == a)
                continue;
            last = (b - a == 7 && strncasecmp(f.value + a, "chunked", 7) == 0);
            chunked += last;
        }
    }
    if (chunked == 0)
        return 0;
    return chunked == 1 && last ? 1 : -1;
}

static void chunk_on_head(void *ud, const h1_head *hd)
{
    (void)ud;
    (void)hd; /* never called for a body-only parser */
}

static void chunk_on_body(void *ud, const char *data, size_t n)
{
    http_req *r = ud;
    if (!r->oom && tai_buf_append(&r->buf, data, n) != 0)
        r->oom = 1;
}

static void chunk_on_done(void *ud, int keep_alive)
{
    (void)ud;
    (void)keep_alive; /* h1_done() tells */
}

static const h1_callbacks CHUNK_CALLBACKS = {chunk_on_head, chunk_on_body, chunk_on_done};

/* Decodes raw chunked bytes into r->buf. 0, or -1 with the failure set. */
static int decode_chunks(http_req *r, const char *ptr, size_t n)
{
    size_t before = r->buf.len;
    if (h1_feed(r->chunks, ptr, n, &CHUNK_CALLBACKS, r) != 0) {
        r->buf.len = before; /* nothing of a delivery that failed, as the cosocket transport */
        if (r->chunks->failed == H1_E_TOO_LARGE) {
            fail_too_large(r, NULL, 0);
        } else if (r->chunks->failed == H1_E_NOMEM) {
            r->oom = 1;
        } else {
            r->kind = "network";
            snprintf(r->errmsg, sizeof r->errmsg, "malformed HTTP response: %s", r->chunks->error);
        }
        return -1;
    }
    if (r->oom)
        return -1;
    r->body_bytes += r->buf.len - before;
    return 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_req *r = ud;
    size_t n = size * nmemb;
    /* Backpressure: keep at most max_buffer unread (plus one delivery when
     * the buffer was empty, so progress is always possible). */
    size_t unread = r->buf.len - r->buf_off;
    if (unread > 0 && n > r->max_buffer - (unread < r->max_buffer ? unread : r->max_buffer)) {
        r->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (r->chunks) {
        /* strict framing; the limit counts decoded bytes (h1_set_max_body) */
        if (decode_chunks(r, ptr, n) != 0)
            return 0; /* CURLE_WRITE_ERROR: libcurl closes the connection */
    } else {
        /* close-delimited bodies: refused as the bytes arrive */
        if (n > r->max_response - r->body_bytes) {
            fail_too_large(r, NULL, 0);
            return 0; /* CURLE_WRITE_ERROR */
        }
        r->body_bytes += n;
        if (tai_buf_append(&r->buf, ptr, n) != 0) {
            r->oom = 1;
            return 0; /* CURLE_WRITE_ERROR */
        }
    }
    r->got_bytes = 1;
    r->last_activity_ms = now_ms();
    r->eng->progress++;
    mark_ready(r);
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_req *r = ud;
    size_t n = size * nmemb;
    int rc;
    r->got_bytes = 1;
    r->last_activity_ms = now_ms();
    if (r->head_done)
        return n; /* trailers of a chunked body: not exposed */
    rc = hdr_line(&r->head, ptr, n);
    if (rc == HDR_FINAL) {
        /* refused at the announced length, before a byte of the body is
         * read (HEAD, 204 and 304 announce one without a body) */
        if (r->max_response != HTTP_NO_LIMIT && !r->is_head && r->head.status != 204 &&
            r->head.status != 304) {
            unsigned long long cl = announced_length(&r->head);
            if (cl > r->max_response) {
                fail_too_large(r, "Content-Length", cl);
                return 0; /* CURLE_WRITE_ERROR */
            }
        }
        if (!r->is_head && r->head.status != 204 && r->head.status != 304) {
            int te = transfer_chunked(&r->head);
            if (te < 0) {
                r->kind = "network";
                snprintf(r->errmsg, sizeof r->errmsg,
                         "malformed HTTP response: chunked is not the final transfer coding, once");
                return 0; /* CURLE_WRITE_ERROR */
            }
            if (te == 1) {
                if (r->chunks == NULL && (r->chunks = malloc(sizeof *r->chunks)) == NULL) {
                    r->oom = 1;
                    return 0;
                }
                h1_init_chunked_body(r->chunks);
                h1_set_max_body(r->chunks, r->max_response);
            }
        }
        r->head_done = 1;
        r->eng->progress++;
        mark_ready(r);
    } else if (rc < 0) {
        if (r->head.error == HDR_E_OVERFLOW)
            r->head_overflow = 1;
        else
            r->oom = 1;
        return 0; /* CURLE_WRITE_ERROR */
    }
    return n;
}

static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    http_req *r = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    /* a large upload in progress is activity too, for the idle timeout */
    if (ulnow != r->ul_seen) {
        r->ul_seen = ulnow;
        r->last_activity_ms = now_ms();
    }
    return 0;
}

/* ---- request lifetime ---- */

/* "METHOD scheme://host/path": userinfo and query dropped (may hold secrets). */
static char *make_desc(const char *method, const char *url)
{
    const char *auth = strstr(url, "://") + 3;
    const char *host_end = auth + strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', (size_t)(host_end - auth));
    const char *host = at ? at + 1 : auth;
    const char *path_end = host + strcspn(host, "?#");
    size_t n = strlen(method) + 1 + (size_t)(auth - url) + (size_t)(path_end - host) + 1;
    char *d = malloc(n);
    if (d)
        snprintf(d, n, "%s %.*s%.*s", method, (int)(auth - url), url, (int)(path_end - host), host);
    return d;
}

int http_req_init(http_req *r, http_engine *e, const http_opts *o)
{
    memset(r, 0, sizeof *r);
    r->eng = e;
    r->id = ++e->next_id;
    e->refs++;
    hdr_init(&r->head, 0);
    r->max_buffer = o->max_buffer;
    r->max_response = o->max_response;
    r->connect_ms = o->connect_ms;
    r->timeout_ms = o->timeout_ms;
    r->idle_ms = o->idle_ms;
    r->desc = make_desc(o->method, o->url);
    r->easy = curl_easy_init();
    return r->easy && r->desc ? 0 : -1;
}

static int ieq(const char *a, size_t n, const char *lower)
{
    size_t i;
    if (n != strlen(lower))
        return 0;
    for (i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lower[i])
            return 0;
    }
    return 1;
}

static int append_line(http_req *r, const char *line)
{
    struct curl_slist *l = curl_slist_append(r->hdrs, line);
    if (l == NULL)
        return -1;
    r->hdrs = l;
    return 0;
}

int http_req_add_header(http_req *r, const char *name, size_t nlen, const char *value,
                        size_t vlen)
{
    while (vlen && (*value == ' ' || *value == '\t')) {
        value++;
        vlen--;
    }
    if (ieq(name, nlen, "content-type"))
        r->has_content_type = 1;
    if (ieq(name, nlen, "expect"))
        r->has_expect = 1;
    /* "Name;" is curl's spelling of a header with an empty value */
    if (tai_buf_set(&r->scratch, name, nlen) != 0 ||
        tai_buf_append(&r->scratch, vlen ? ": " : ";", vlen ? 2 : 1) != 0 ||
        tai_buf_append(&r->scratch, value, vlen) != 0 ||
        tai_buf_append(&r->scratch, "", 1) != 0)
        return -1;
    return append_line(r, r->scratch.p);
}

static int is_method(const http_opts *o, const char *m)
{
    size_t n = strlen(m);
    return o->method_len == n && memcmp(o->method, m, n) == 0;
}

#define SETOPT(opt, val)                                                                \
    do {                                                                                \
        if (curl_easy_setopt(r->easy, opt, val) != CURLE_OK) {                          \
            snprintf(r->errmsg, sizeof r->errmsg, "curl_easy_setopt(%s) failed", #opt); \
            return r->errmsg;                                                           \
        }                                                                               \
    } while (0)

const char *http_req_start(http_req *r, const http_opts *o)
{
    http_engine *e = r->eng;
    /* "Name:" removes a header curl would add: never wait for 100-continue,
     * and no made-up form-urlencoded Content-Type for a body. */
    if (!r->has_expect && append_line(r, "Expect:") != 0)
        return "out of memory";
    if (!r->has_content_type && o->body && append_line(r, "Content-Type:") != 0)
        return "out of memory";

    SETOPT(CURLOPT_PRIVATE, (char *)r);
    SETOPT(CURLOPT_ERRORBUFFER, r->curl_err);
    SETOPT(CURLOPT_URL, o->url);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    /* libcurl's default size, said out loud: 128 KiB cost 115 KiB of RSS per transfer with 1000 slow streams
     * open, for no gain on fast ones (bench-callgrind: the same instructions per event) */
    SETOPT(CURLOPT_BUFFERSIZE, 16384L);
    SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    /* chunked framing reaches on_write raw, for the strict decoder */
    SETOPT(CURLOPT_HTTP_TRANSFER_DECODING, 0L);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, r);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, r);
    SETOPT(CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    SETOPT(CURLOPT_XFERINFODATA, r);
    SETOPT(CURLOPT_NOPROGRESS, 0L);
    if (o->ca_file)
        SETOPT(CURLOPT_CAINFO, o->ca_file);
    if (o->connect_ms > 0)
        SETOPT(CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
    if (o->timeout_ms > 0)
        SETOPT(CURLOPT_TIMEOUT_MS, o->timeout_ms);

    if (is_method(o, "HEAD")) {
        r->is_head = 1;
        SETOPT(CURLOPT_NOBODY, 1L);
    } else if (o->body) {
        r->body = malloc(o->body_len ? o->body_len : 1);
        if (r->body == NULL)
            return "out of memory copying the request body";
        memcpy(r->body, o->body, o->body_len);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
        SETOPT(CURLOPT_POSTFIELDS, r->body);
        if (!is_method(o, "POST"))
            SETOPT(CURLOPT_CUSTOMREQUEST, o->method);
    } else if (!is_method(o, "GET")) {
        SETOPT(CURLOPT_CUSTOMREQUEST, o->method);
    }
    SETOPT(CURLOPT_HTTPHEADER, r->hdrs);

    if (curl_multi_add_handle(e->multi, r->easy) != CURLM_OK)
        return "curl_multi_add_handle failed";
    r->in_multi = 1;
    r->next = e->active;
    if (e->active)
        e->active->prev = r;
    e->active = r;
    r->started_ms = r->last_activity_ms = now_ms();
    http_engine_step(e, 0); /* start connecting now */
    return NULL;
}

void http_req_release(http_req *r)
{
    if (r->eng) {
        forget_ready(r);
        list_unlink(r);
        if (r->easy)
            curl_easy_cleanup(r->easy);
        r->easy = NULL;
        http_engine_unref(r->eng);
        r->eng = NULL;
    }
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    free(r->body);
    r->body = NULL;
    free(r->desc);
    r->desc = NULL;
    tai_buf_free(&r->buf);
    if (r->chunks) {
        h1_free(r->chunks);
        free(r->chunks);
        r->chunks = NULL;
    }
    hdr_free(&r->head);
    tai_buf_free(&r->scratch);
    r->closed = 1;
}

/* ---- reading ---- */

static void unpause(http_req *r)
{
    if (r->paused && r->easy && r->in_multi) {
        CURLcode rc;
        r->paused = 0;
        r->last_activity_ms = now_ms(); /* idle clock restarts with the flow */
        rc = curl_easy_pause(r->easy, CURLPAUSE_CONT); /* may call on_write: C only */
        if (rc != CURLE_OK) {
            /* a transfer stuck paused would only end at its timeout */
            r->kind = "network";
            snprintf(r->errmsg, sizeof r->errmsg, "cannot resume the transfer: %s",
                     curl_easy_strerror(rc));
            req_finish(r, rc);
        }
    }
}

int http_req_await(http_req *r, http_until u, int wait)
{
    /* Without waiting, only look: the scheduler's http_wait (or an event
     * loop's socket action) moves the transfers, once per round for all of
     * them, not once per request asked (that was O(n^2) with n streams). */
    if (wait && !reached(r, u))
        drive_until(r, u);
    return reached(r, u);
}

int http_req_finish(http_req *r)
{
    r->max_buffer = (size_t)-1; /* the caller wants everything: no backpressure */
    unpause(r);
    drive_until(r, HTTP_UNTIL_DONE);
    return r->result == CURLE_OK ? 0 : -1;
}

/* Keep the body buffer's allocation between reads when it is about the
 * size backpressure allows; release it after a bigger burst (read_all). */
static size_t body_keep_cap(const http_req *r)
{
    return r->max_buffer <= 4 * HTTP_DEFAULT_MAX_BUFFER ? r->max_buffer + 64 * 1024 : KEEP_CAP;
}

void http_req_consumed(http_req *r)
{
    tai_buf_clear(&r->buf, body_keep_cap(r));
    r->buf_off = 0;
    unpause(r);
}

size_t http_req_unread(const http_req *r, const char **p)
{
    *p = r->buf.p ? r->buf.p + r->buf_off : "";
    return r->buf.len - r->buf_off;
}

void http_req_take(http_req *r, size_t n)
{
    r->buf_off += n;
    if (r->buf_off >= r->buf.len) {
        http_req_consumed(r);
        return;
    }
    /* the read part is dropped once it is half the buffer: each byte moves at most once on average */
    if (r->buf_off >= r->buf.len / 2) {
        memmove(r->buf.p, r->buf.p + r->buf_off, r->buf.len - r->buf_off);
        r->buf.len -= r->buf_off;
        r->buf_off = 0;
    }
    unpause(r);
}

void http_req_info(http_req *r, http_info *out)
{
    long code = 0, connects = 0, port = 0;
    double total = 0, connect = 0;
    curl_off_t received = 0;
    char *ip = NULL;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &total);
    curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME, &connect);
    curl_easy_getinfo(r->easy, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(r->easy, CURLINFO_PRIMARY_PORT, &port);
    curl_easy_getinfo(r->easy, CURLINFO_SIZE_DOWNLOAD_T, &received);
    out->status = code ? code : r->head.status;
    /* NUM_CONNECTS counts new connections; 0 once connected means reuse */
    out->reused = connects == 0 && was_connected(r);
    out->total_time = total;
    out->connect_time = connect;
    out->primary_ip = ip ? ip : "";
    out->primary_port = port;
    out->bytes_received = (double)received;
}
