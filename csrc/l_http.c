/* HTTP client over libcurl: one CURLM multi handle per Lua state shared by all
 * requests (several in flight, connections reused through the multi's cache).
 *
 * Rules kept here:
 *  - libcurl callbacks never call into Lua: they only fill C buffers.
 *  - No loop over the active list spans a Lua API call (a Lua allocation can
 *    run finalizers, which unlink requests).
 *  - The multi lives in a malloc'd, refcounted engine (1 ref for the anchor
 *    userdata in the registry + 1 per live request), so the order in which
 *    lua_close finalizes them (5.4 and LuaJIT differ) does not matter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "l_core.h"

#define DEFAULT_MAX_BUFFER ((size_t)1024 * 1024)
#define MAX_HEAD_BYTES ((size_t)1024 * 1024)
#define KEEP_CAP ((size_t)256 * 1024)
#define DEFAULT_CONNECT_TIMEOUT_MS 300000L /* libcurl's built-in default */
#define POLL_SLICE_MS 1000

typedef struct http_req http_req;

typedef struct engine {
    CURLM *multi;
    int refs;
    http_req *active;  /* requests currently added to the multi */
    unsigned progress; /* bumped when any request gains data/head/end */
} engine;

typedef struct anchor {
    engine *eng;
} anchor;

struct http_req {
    engine *eng;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;         /* our copy of the request body */
    char *desc;         /* "METHOD url" for __tostring, secrets stripped */
    tai_buf buf;        /* unread body bytes */
    tai_buf head;       /* header lines of the current response, "name: value\n" */
    tai_buf scratch;    /* building header lines */
    http_req *prev, *next;
    int in_multi;
    int closed;
    int head_done;      /* final (non-1xx) response head complete */
    int in_head;        /* inside a head: the next line is a header, not a status */
    int done;           /* transfer finished (ok or failed) */
    int paused;         /* write callback returned CURL_WRITEFUNC_PAUSE */
    int got_bytes;      /* any response byte seen (so the connection was up) */
    int status;
    int oom, head_overflow;
    CURLcode result;
    const char *kind;   /* failure kind, NULL on success */
    size_t max_buffer;
    long connect_ms, timeout_ms, idle_ms;
    long long started_ms, last_activity_ms;
    curl_off_t ul_seen;
    char curl_err[CURL_ERROR_SIZE];
    char errmsg[CURL_ERROR_SIZE + 64];
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- engine ---- */

static void engine_unref(engine *e)
{
    if (--e->refs > 0)
        return;
    if (e->multi)
        curl_multi_cleanup(e->multi); /* no easy handle left: each held a ref */
    free(e);
}

static void list_unlink(http_req *r)
{
    engine *e = r->eng;
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
        set_failure(r, "network", "response headers exceed %ld bytes", (long)MAX_HEAD_BYTES);
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
    list_unlink(r); /* back to the connection cache (unless failed) */
    r->done = 1;
    r->result = rc;
    r->eng->progress++;
    if (rc == CURLE_OK) {
        r->head_done = 1;
        return;
    }
    if (r->kind == NULL)
        describe_curl_failure(r, rc);
}

/* Reads finished transfers and enforces idle timeouts. No Lua calls. */
static void engine_collect(engine *e)
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

/* Poll no longer than the nearest idle deadline. */
static long poll_timeout(engine *e, long max_ms)
{
    long long now = now_ms();
    http_req *r;
    for (r = e->active; r; r = r->next) {
        if (r->idle_ms > 0 && !r->paused) {
            long long left = r->last_activity_ms + r->idle_ms - now;
            if (left < 0)
                left = 0;
            if (left < max_ms)
                max_ms = (long)left;
        }
    }
    return max_ms;
}

/* One round: perform, and if nothing moved and wait_ms > 0, wait for socket
 * activity (or a curl/idle timer) and perform again. */
static CURLMcode engine_step(engine *e, long wait_ms)
{
    int running;
    unsigned before = e->progress;
    CURLMcode mc = curl_multi_perform(e->multi, &running);
    engine_collect(e);
    /* With nothing in flight the poll still sleeps: schedulers use
     * http_wait as their idle wait. */
    if (mc != CURLM_OK || wait_ms <= 0 || e->progress != before)
        return mc;
    mc = curl_multi_poll(e->multi, NULL, 0, (int)poll_timeout(e, wait_ms), NULL);
    if (mc != CURLM_OK)
        return mc;
    mc = curl_multi_perform(e->multi, &running);
    engine_collect(e);
    return mc;
}

static int engine_count(engine *e)
{
    int n = 0;
    http_req *r;
    for (r = e->active; r; r = r->next)
        n++;
    return n;
}

typedef int (*req_cond)(const http_req *r);

static int cond_head(const http_req *r)
{
    return r->head_done || r->done;
}

static int cond_data(const http_req *r)
{
    return r->buf.len > 0 || r->done;
}

static int cond_done(const http_req *r)
{
    return r->done;
}

static void drive_until(http_req *r, req_cond cond)
{
    engine *e = r->eng;
    CURLMcode mc = engine_step(e, 0);
    while (mc == CURLM_OK && !cond(r))
        mc = engine_step(e, POLL_SLICE_MS);
    if (mc != CURLM_OK && !r->done) {
        r->kind = "network";
        snprintf(r->errmsg, sizeof r->errmsg, "curl multi failure: %s", curl_multi_strerror(mc));
        req_finish(r, CURLE_RECV_ERROR);
    }
}

/* ---- libcurl callbacks (C only) ---- */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_req *r = ud;
    size_t n = size * nmemb;
    /* Backpressure: keep at most max_buffer unread (plus one delivery when
     * the buffer was empty, so progress is always possible). */
    if (r->buf.len > 0 && n > r->max_buffer - (r->buf.len < r->max_buffer ? r->buf.len : r->max_buffer)) {
        r->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (tai_buf_append(&r->buf, ptr, n) != 0) {
        r->oom = 1;
        return 0; /* CURLE_WRITE_ERROR */
    }
    r->got_bytes = 1;
    r->last_activity_ms = now_ms();
    r->eng->progress++;
    return n;
}

static int parse_status(const char *s, size_t n)
{
    size_t i = 5; /* after "HTTP/" */
    int code = 0, digits = 0;
    while (i < n && s[i] != ' ')
        i++;
    while (i < n && s[i] == ' ')
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 3) {
        code = code * 10 + (s[i++] - '0');
        digits++;
    }
    return digits == 3 ? code : 0;
}

static int head_add(http_req *r, const char *s, size_t n)
{
    if (n > MAX_HEAD_BYTES - (r->head.len < MAX_HEAD_BYTES ? r->head.len : MAX_HEAD_BYTES)) {
        r->head_overflow = 1;
        return -1;
    }
    if (tai_buf_append(&r->head, s, n) != 0) {
        r->oom = 1;
        return -1;
    }
    return 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_req *r = ud;
    size_t n = size * nmemb, len = n;
    r->got_bytes = 1;
    r->last_activity_ms = now_ms();
    if (r->head_done)
        return n; /* trailers of a chunked body: not exposed */
    while (len && (ptr[len - 1] == '\n' || ptr[len - 1] == '\r'))
        len--;
    if (!r->in_head) {
        /* status line of a (possibly interim) response: start over */
        r->head.len = 0;
        r->status = (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) ? parse_status(ptr, len) : 0;
        r->in_head = 1;
        return n;
    }
    if (len == 0) {
        r->in_head = 0;
        if (r->status < 100 || r->status >= 200) {
            r->head_done = 1;
            r->eng->progress++;
        }
        return n;
    }
    if (ptr[0] == ' ' || ptr[0] == '\t') {
        /* obs-fold: continue the previous value with one space */
        size_t a = 0;
        while (a < len && (ptr[a] == ' ' || ptr[a] == '\t'))
            a++;
        if (r->head.len && a < len) {
            r->head.len--; /* drop the previous line's '\n' */
            if (head_add(r, " ", 1) != 0 || head_add(r, ptr + a, len - a) != 0 ||
                head_add(r, "\n", 1) != 0)
                return 0;
        }
        return n;
    }
    {
        /* lower-case the name now, so the table is built without copies */
        size_t start = r->head.len, i;
        if (head_add(r, ptr, len) != 0 || head_add(r, "\n", 1) != 0)
            return 0;
        for (i = start; i < start + len && r->head.p[i] != ':'; i++) {
            char c = r->head.p[i];
            if (c >= 'A' && c <= 'Z')
                r->head.p[i] = (char)(c + 32);
        }
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

static void req_release(http_req *r)
{
    if (r->eng) {
        list_unlink(r);
        if (r->easy)
            curl_easy_cleanup(r->easy);
        r->easy = NULL;
        engine_unref(r->eng);
        r->eng = NULL;
    }
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    free(r->body);
    r->body = NULL;
    free(r->desc);
    r->desc = NULL;
    tai_buf_free(&r->buf);
    tai_buf_free(&r->head);
    tai_buf_free(&r->scratch);
    r->closed = 1;
}

static http_req *check_req(lua_State *L)
{
    return luaL_checkudata(L, 1, TAI_MT_HTTP_REQUEST);
}

static int push_closed(lua_State *L)
{
    lua_pushnil(L);
    lua_pushliteral(L, "request is closed");
    lua_pushliteral(L, "canceled");
    return 3;
}

static int push_failure(lua_State *L, const http_req *r)
{
    lua_pushnil(L);
    lua_pushstring(L, r->errmsg);
    lua_pushstring(L, r->kind ? r->kind : "network");
    return 3;
}

static int want_wait(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) || lua_toboolean(L, idx);
}

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

/* Keep the body buffer's allocation between reads when it is about the
 * size backpressure allows; release it after a bigger burst (read_all). */
static size_t body_keep_cap(const http_req *r)
{
    return r->max_buffer <= 4 * DEFAULT_MAX_BUFFER ? r->max_buffer + 64 * 1024 : KEEP_CAP;
}

/* ---- Lua methods ---- */

static void push_headers(lua_State *L, const http_req *r)
{
    const char *s = r->head.p, *end = r->head.p + r->head.len;
    lua_newtable(L);
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *colon;
        if (nl == NULL)
            nl = end; /* defensive: every stored line ends in LF */
        colon = memchr(s, ':', (size_t)(nl - s));
        if (colon && colon > s) {
            const char *v = colon + 1, *ve = nl;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
                ve--;
            lua_pushlstring(L, s, (size_t)(colon - s));
            lua_pushvalue(L, -1);
            lua_rawget(L, -3);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                lua_pushlstring(L, v, (size_t)(ve - v));
            } else {
                lua_pushliteral(L, ", ");
                lua_pushlstring(L, v, (size_t)(ve - v));
                lua_concat(L, 3);
            }
            lua_rawset(L, -3);
        }
        s = nl + 1;
    }
}

static int l_response(lua_State *L)
{
    http_req *r = check_req(L);
    if (r->closed)
        return push_closed(L);
    if (!cond_head(r)) {
        if (want_wait(L, 2)) {
            drive_until(r, cond_head);
        } else {
            engine_step(r->eng, 0);
            if (!cond_head(r)) {
                lua_pushboolean(L, 0);
                return 1;
            }
        }
    }
    if (!r->head_done)
        return push_failure(L, r);
    lua_pushinteger(L, r->status);
    push_headers(L, r);
    return 2;
}

static int l_read(lua_State *L)
{
    http_req *r = check_req(L);
    if (r->closed)
        return push_closed(L);
    if (!cond_data(r)) {
        if (want_wait(L, 2))
            drive_until(r, cond_data);
        else
            engine_step(r->eng, 0);
    }
    if (r->buf.len > 0) {
        lua_pushlstring(L, r->buf.p, r->buf.len);
        tai_buf_clear(&r->buf, body_keep_cap(r));
        unpause(r);
        return 1;
    }
    if (r->done) {
        if (r->result == CURLE_OK) {
            lua_pushnil(L);
            return 1;
        }
        return push_failure(L, r);
    }
    lua_pushboolean(L, 0);
    return 1;
}

static int l_read_all(lua_State *L)
{
    http_req *r = check_req(L);
    if (r->closed)
        return push_closed(L);
    r->max_buffer = (size_t)-1; /* the caller wants everything: no backpressure */
    unpause(r);
    drive_until(r, cond_done);
    if (r->result != CURLE_OK)
        return push_failure(L, r);
    lua_pushlstring(L, r->buf.p ? r->buf.p : "", r->buf.len);
    tai_buf_clear(&r->buf, KEEP_CAP);
    return 1;
}

static int l_info(lua_State *L)
{
    http_req *r = check_req(L);
    long code = 0, connects = 0, port = 0;
    double total = 0, connect = 0;
    curl_off_t received = 0;
    char *ip = NULL;
    if (r->closed)
        return push_closed(L);
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &total);
    curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME, &connect);
    curl_easy_getinfo(r->easy, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(r->easy, CURLINFO_PRIMARY_PORT, &port);
    curl_easy_getinfo(r->easy, CURLINFO_SIZE_DOWNLOAD_T, &received);
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, code ? code : r->status);
    lua_setfield(L, -2, "status");
    /* NUM_CONNECTS counts new connections; 0 once connected means reuse */
    lua_pushboolean(L, connects == 0 && was_connected(r));
    lua_setfield(L, -2, "reused");
    lua_pushnumber(L, total);
    lua_setfield(L, -2, "total_time");
    lua_pushnumber(L, connect);
    lua_setfield(L, -2, "connect_time");
    lua_pushstring(L, ip ? ip : "");
    lua_setfield(L, -2, "primary_ip");
    lua_pushinteger(L, port);
    lua_setfield(L, -2, "primary_port");
    lua_pushnumber(L, (lua_Number)received);
    lua_setfield(L, -2, "bytes_received");
    return 1;
}

static int l_close(lua_State *L)
{
    req_release(check_req(L));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L)
{
    req_release(check_req(L));
    return 0;
}

static int l_tostring(lua_State *L)
{
    http_req *r = check_req(L);
    if (r->desc)
        lua_pushfstring(L, "%s (%s)", TAI_MT_HTTP_REQUEST, r->desc);
    else
        lua_pushfstring(L, "%s (closed)", TAI_MT_HTTP_REQUEST);
    return 1;
}

/* ---- request construction ---- */

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
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

typedef struct hdr_flags {
    int content_type, expect;
} hdr_flags;

/* Validates and appends "Name: value" (programmer mistakes raise; messages
 * never quote the value: it may be an API key). */
static void add_header(lua_State *L, http_req *r, hdr_flags *fl, const char *name,
                       size_t nlen, const char *value, size_t vlen)
{
    size_t i;
    struct curl_slist *l;
    for (i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)name[i]))
            luaL_error(L, "invalid header name (must be an HTTP token without CR, LF or NUL)");
    if (nlen == 0)
        luaL_error(L, "empty header name");
    for (i = 0; i < vlen; i++)
        if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0') {
            lua_pushlstring(L, name, nlen);
            luaL_error(L, "header '%s' has CR, LF or NUL in its value", lua_tostring(L, -1));
        }
    while (vlen && (*value == ' ' || *value == '\t')) {
        value++;
        vlen--;
    }
    if (ieq(name, nlen, "content-type"))
        fl->content_type = 1;
    if (ieq(name, nlen, "expect"))
        fl->expect = 1;
    /* "Name;" is curl's spelling of a header with an empty value */
    if (tai_buf_set(&r->scratch, name, nlen) != 0 ||
        tai_buf_append(&r->scratch, vlen ? ": " : ";", vlen ? 2 : 1) != 0 ||
        tai_buf_append(&r->scratch, value, vlen) != 0 ||
        tai_buf_append(&r->scratch, "", 1) != 0)
        luaL_error(L, "out of memory");
    l = curl_slist_append(r->hdrs, r->scratch.p);
    if (l == NULL)
        luaL_error(L, "out of memory");
    r->hdrs = l;
}

static void append_raw_header(lua_State *L, http_req *r, const char *line)
{
    struct curl_slist *l = curl_slist_append(r->hdrs, line);
    if (l == NULL)
        luaL_error(L, "out of memory");
    r->hdrs = l;
}

static void add_headers(lua_State *L, http_req *r, int opts, hdr_flags *fl)
{
    int t;
    lua_getfield(L, opts, "headers");
    t = lua_gettop(L);
    if (lua_isnil(L, t)) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, t))
        luaL_error(L, "option 'headers' must be a table");
    lua_pushnil(L);
    while (lua_next(L, t)) {
        size_t nlen, vlen;
        const char *name, *value;
        if (lua_type(L, -2) == LUA_TNUMBER) { /* array form: "Name: value" */
            const char *colon;
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "array headers must be \"Name: value\" strings");
            name = lua_tolstring(L, -1, &nlen);
            colon = memchr(name, ':', nlen);
            if (colon == NULL)
                luaL_error(L, "array headers must be \"Name: value\" strings");
            value = colon + 1;
            vlen = nlen - (size_t)(value - name);
            nlen = (size_t)(colon - name);
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            int vt = lua_type(L, -1);
            if (vt != LUA_TSTRING && vt != LUA_TNUMBER)
                luaL_error(L, "header '%s' must have a string value", lua_tostring(L, -2));
            name = lua_tolstring(L, -2, &nlen);
            value = lua_tolstring(L, -1, &vlen); /* converts the value slot only */
        } else {
            luaL_error(L, "header names must be strings");
            return;
        }
        add_header(L, r, fl, name, nlen, value, vlen);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static const char *opt_string(lua_State *L, int opts, const char *field, size_t *len)
{
    const char *s = NULL;
    lua_getfield(L, opts, field);
    if (lua_type(L, -1) == LUA_TSTRING)
        s = lua_tolstring(L, -1, len);
    else if (!lua_isnil(L, -1))
        luaL_error(L, "option '%s' must be a string", field);
    lua_pop(L, 1); /* still referenced by the options table */
    return s;
}

static int has_http_scheme(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

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

#define SETOPT(opt, val)                                                        \
    do {                                                                        \
        if (curl_easy_setopt(r->easy, opt, val) != CURLE_OK)                    \
            return luaL_error(L, "curl_easy_setopt(%s) failed", #opt);          \
    } while (0)

static int l_http_request(lua_State *L)
{
    anchor *a = lua_touserdata(L, lua_upvalueindex(1));
    engine *e = a->eng;
    const char *method, *url, *body, *ca_file;
    size_t mlen = 3, ulen, blen = 0, i;
    long connect_ms, timeout_ms, idle_ms;
    size_t max_buffer;
    hdr_flags fl = {0, 0};
    http_req *r;

    luaL_checktype(L, 1, LUA_TTABLE);
    method = opt_string(L, 1, "method", &mlen);
    if (method == NULL) {
        method = "GET";
        mlen = 3;
    }
    for (i = 0; i < mlen; i++)
        if (!is_tchar((unsigned char)method[i]))
            return luaL_error(L, "invalid HTTP method");
    if (mlen == 0 || strlen(method) != mlen)
        return luaL_error(L, "invalid HTTP method");
    url = opt_string(L, 1, "url", &ulen);
    if (url == NULL)
        return luaL_error(L, "option 'url' is required");
    if (strlen(url) != ulen || !has_http_scheme(url))
        return luaL_error(L, "option 'url' must be an http:// or https:// URL");
    body = opt_string(L, 1, "body", &blen);
    if (body == NULL && ((mlen == 4 && (memcmp(method, "POST", 4) == 0)) ||
                         (mlen == 3 && memcmp(method, "PUT", 3) == 0) ||
                         (mlen == 5 && memcmp(method, "PATCH", 5) == 0)))
        body = ""; /* send "Content-Length: 0" rather than no length at all */
    ca_file = opt_string(L, 1, "ca_file", NULL);
    connect_ms = (long)tai_opt_number(L, 1, "connect_timeout", 0, 0);
    timeout_ms = (long)tai_opt_number(L, 1, "timeout", 0, 0);
    idle_ms = (long)tai_opt_number(L, 1, "idle_timeout", 0, 0);
    max_buffer = (size_t)tai_opt_number(L, 1, "max_buffer", (lua_Number)DEFAULT_MAX_BUFFER, 1);
    if (e == NULL || e->multi == NULL)
        return luaL_error(L, "http engine is not available");

    /* userdata first: from here on __gc owns everything we acquire */
    r = tai_newuserdata(L, sizeof *r);
    memset(r, 0, sizeof *r);
    luaL_getmetatable(L, TAI_MT_HTTP_REQUEST);
    lua_setmetatable(L, -2);
    r->eng = e;
    e->refs++;
    r->max_buffer = max_buffer;
    r->connect_ms = connect_ms;
    r->timeout_ms = timeout_ms;
    r->idle_ms = idle_ms;
    r->desc = make_desc(method, url);
    r->easy = curl_easy_init();
    if (r->easy == NULL || r->desc == NULL)
        return luaL_error(L, "out of memory creating the request");

    add_headers(L, r, 1, &fl);
    /* "Name:" removes a header curl would add: never wait for 100-continue,
     * and no made-up form-urlencoded Content-Type for a body. */
    if (!fl.expect)
        append_raw_header(L, r, "Expect:");
    if (!fl.content_type && body)
        append_raw_header(L, r, "Content-Type:");

    SETOPT(CURLOPT_PRIVATE, (char *)r);
    SETOPT(CURLOPT_ERRORBUFFER, r->curl_err);
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    /* fewer, larger deliveries on fast streams; no latency cost (curl hands over what recv returned) */
    SETOPT(CURLOPT_BUFFERSIZE, 131072L);
    SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, r);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, r);
    SETOPT(CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    SETOPT(CURLOPT_XFERINFODATA, r);
    SETOPT(CURLOPT_NOPROGRESS, 0L);
    if (ca_file)
        SETOPT(CURLOPT_CAINFO, ca_file);
    if (connect_ms > 0)
        SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    if (timeout_ms > 0)
        SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);

    if (mlen == 4 && memcmp(method, "HEAD", 4) == 0) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else if (body) {
        r->body = malloc(blen ? blen : 1);
        if (r->body == NULL)
            return luaL_error(L, "out of memory copying the request body");
        memcpy(r->body, body, blen);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        SETOPT(CURLOPT_POSTFIELDS, r->body);
        if (!(mlen == 4 && memcmp(method, "POST", 4) == 0))
            SETOPT(CURLOPT_CUSTOMREQUEST, method);
    } else if (!(mlen == 3 && memcmp(method, "GET", 3) == 0)) {
        SETOPT(CURLOPT_CUSTOMREQUEST, method);
    }
    SETOPT(CURLOPT_HTTPHEADER, r->hdrs);

    if (curl_multi_add_handle(e->multi, r->easy) != CURLM_OK)
        return luaL_error(L, "curl_multi_add_handle failed");
    r->in_multi = 1;
    r->next = e->active;
    if (e->active)
        e->active->prev = r;
    e->active = r;
    r->started_ms = r->last_activity_ms = now_ms();
    engine_step(e, 0); /* start connecting now */
    return 1;
}

static int l_http_wait(lua_State *L)
{
    anchor *a = lua_touserdata(L, lua_upvalueindex(1));
    lua_Number t = luaL_optnumber(L, 1, 0);
    long ms = t > 0 ? (t > 3600000 ? 3600000 : (long)t) : 0;
    if (a->eng)
        engine_step(a->eng, ms);
    lua_pushinteger(L, a->eng ? engine_count(a->eng) : 0);
    return 1;
}

static int l_anchor_gc(lua_State *L)
{
    anchor *a = lua_touserdata(L, 1);
    if (a->eng) {
        engine_unref(a->eng);
        a->eng = NULL;
    }
    return 0;
}

#define ENGINE_REGISTRY_KEY "tanstack.ai.http_engine.anchor"

/* Leaves the anchor userdata of this Lua state on the stack. */
static void push_anchor(lua_State *L)
{
    anchor *a;
    engine *e;
    lua_getfield(L, LUA_REGISTRYINDEX, ENGINE_REGISTRY_KEY);
    if (lua_isuserdata(L, -1))
        return;
    lua_pop(L, 1);
    a = tai_newuserdata(L, sizeof *a);
    a->eng = NULL;
    if (luaL_newmetatable(L, TAI_MT_HTTP_ENGINE)) {
        lua_pushcfunction(L, l_anchor_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    e = calloc(1, sizeof *e);
    if (e == NULL)
        luaL_error(L, "out of memory");
    e->refs = 1;
    a->eng = e;
    e->multi = curl_multi_init();
    if (e->multi == NULL)
        luaL_error(L, "curl_multi_init failed");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, ENGINE_REGISTRY_KEY);
}

void tai_open_http(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"response", l_response},
        {"read", l_read},
        {"read_all", l_read_all},
        {"info", l_info},
        {"close", l_close},
        {"__gc", l_gc},
#if LUA_VERSION_NUM >= 504
        {"__close", l_gc},
#endif
        {"__tostring", l_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg funcs[] = {
        {"http_request", l_http_request},
        {"http_wait", l_http_wait},
        {NULL, NULL},
    };
    tai_new_metatable(L, TAI_MT_HTTP_REQUEST, methods);
    push_anchor(L);
    luaL_setfuncs(L, funcs, 1);
}
