/* libmicrohttpd glue: reads requests within limits, parses query, form and JSON bodies,
 * dispatches to the router, and sends responses with the security headers every answer
 * carries. */
#include "idp/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <oauth2/mem.h>
#include <oauth2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "idp/http_deadline.h"
#include "idp/router.h"

/* Per-request state between libmicrohttpd's calls. */
typedef struct {
    char *body;
    size_t len;
    size_t cap;
    int too_large;
} upload_t;

/* ---- request helpers ---- */

const char *http_header(const http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(const http_req_t *req, const char *name)
{
    char buf[128];
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND,
                                       http_cookie_name(req->app, name, buf, sizeof buf));
}

static const char *json_str(const json_t *obj, const char *name)
{
    return obj ? json_string_value(json_object_get(obj, name)) : NULL;
}

const char *http_query(const http_req_t *req, const char *name)
{
    return json_str(req->query, name);
}

const char *http_form(const http_req_t *req, const char *name)
{
    return json_str(req->form, name);
}

const char *http_param(const http_req_t *req, const char *name)
{
    return req->method == HTTP_POST ? http_form(req, name) : http_query(req, name);
}

/* ---- response helpers ---- */

void http_resp_take(http_resp_t *r, int status, const char *ctype, char *body, size_t len)
{
    free(r->body);
    r->status = status;
    r->content_type = ctype;
    r->body = body;
    r->body_len = len;
}

void http_resp_text(http_resp_t *r, int status, const char *ctype, const char *text)
{
    char *copy = strdup(text);
    http_resp_take(r, status, ctype, copy, copy ? strlen(copy) : 0);
}

void http_resp_json(http_resp_t *r, int status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        http_resp_text(r, 500, "application/json", "{\"error\":\"server_error\"}");
        return;
    }
    http_resp_take(r, status, "application/json", s, strlen(s));
}

void http_resp_json_error(http_resp_t *r, int status, const char *code, const char *desc)
{
    http_resp_json(r, status, json_pack("{s:s, s:s}", "error", code, "error_description", desc));
}

void http_resp_redirect(http_resp_t *r, int status, const char *location)
{
    free(r->location);
    r->location = strdup(location);
    http_resp_text(r, status, "text/plain; charset=utf-8", "");
}

void http_resp_header(http_resp_t *r, const char *name, const char *value)
{
    if (r->nheaders >= HTTP_MAX_HEADERS_OUT)
        return;
    r->headers[r->nheaders][0] = strdup(name);
    r->headers[r->nheaders][1] = strdup(value);
    r->nheaders++;
}

const char *http_cookie_name(const app_t *app, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s", app->https ? "__Host-" : "", name);
    return buf;
}

void http_resp_cookie(http_resp_t *r, const app_t *app, const char *name, const char *value,
                      long max_age)
{
    char cname[128], age[48] = "";
    char *cookie = NULL;
    if (r->ncookies >= 4)
        return;
    if (max_age >= 0)
        snprintf(age, sizeof age, "; Max-Age=%ld", max_age);
    if (asprintf(&cookie, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s",
                 http_cookie_name(app, name, cname, sizeof cname), value,
                 app->https ? "; Secure" : "", age) < 0)
        return;
    r->cookies[r->ncookies++] = cookie;
}

static void resp_clear(http_resp_t *r)
{
    free(r->body);
    free(r->location);
    for (int i = 0; i < r->nheaders; i++) {
        free(r->headers[i][0]);
        free(r->headers[i][1]);
    }
    for (int i = 0; i < r->ncookies; i++)
        free(r->cookies[i]);
}

/* ---- parsing ---- */

typedef struct {
    json_t *obj;
    char dup[64]; /* first repeated name, "" if none */
    int count;
    int max;
    int bad;
} params_t;

/* Adds one parameter; remembers a repeated name and refuses more than max. */
static void params_add(params_t *p, const char *key, const char *value)
{
    if (++p->count > p->max) {
        p->bad = 1;
        return;
    }
    if (json_object_get(p->obj, key)) {
        if (!p->dup[0])
            snprintf(p->dup, sizeof p->dup, "%s", key);
        return;
    }
    json_t *v = json_string(value ? value : "");
    if (!v) { /* not valid UTF-8 */
        p->bad = 1;
        return;
    }
    if (json_object_set_new(p->obj, key, v) != 0) /* the name is not valid UTF-8 */
        p->bad = 1;
}

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    params_add(cls, key, value);
    return MHD_YES;
}

static bool form_iter(oauth2_log_t *log, void *rec, const char *key, const char *value)
{
    (void)log;
    params_add(rec, key, value);
    return true;
}

/* Parses an application/x-www-form-urlencoded body with liboauth2. Returns 0 or -1. */
static int parse_form(const char *body, params_t *p)
{
    oauth2_nv_list_t *list = NULL;
    if (*body == '\0')
        return 0;
    if (!oauth2_parse_form_encoded_params(NULL, body, &list) || !list)
        return -1;
    oauth2_nv_list_loop(NULL, list, form_iter, p);
    oauth2_nv_list_free(NULL, list);
    return p->bad ? -1 : 0;
}

static int media_type_is(const char *ctype, const char *want)
{
    size_t n = strlen(want);
    if (!ctype || strncasecmp(ctype, want, n) != 0)
        return 0;
    return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

static void client_ip(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "unknown");
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  out, (socklen_t)size);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, out,
                  (socklen_t)size);
}

/* Behind the configured reverse proxy (and only when the connection comes from it), the
 * client is the last address the proxy appended to X-Forwarded-For. Anything that does
 * not parse as an address is ignored. */
static void forwarded_ip(struct MHD_Connection *conn, const char *proxy, char *ip, size_t size)
{
    const char *xff;
    char last[64];
    unsigned char buf[sizeof(struct in6_addr)];
    if (!proxy || strcmp(ip, proxy) != 0)
        return;
    xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff)
        return;
    const char *comma = strrchr(xff, ',');
    const char *p = comma ? comma + 1 : xff;
    p += strspn(p, " ");
    size_t n = strcspn(p, " ");
    if (n == 0 || n >= sizeof last)
        return;
    memcpy(last, p, n);
    last[n] = '\0';
    if (inet_pton(AF_INET, last, buf) == 1 || inet_pton(AF_INET6, last, buf) == 1)
        snprintf(ip, size, "%s", last);
}

/* ---- sending ---- */

static enum MHD_Result send_resp(struct MHD_Connection *conn, app_t *app, http_resp_t *r,
                                 int head_only)
{
    struct MHD_Response *mr = MHD_create_response_from_buffer(
        head_only ? 0 : r->body_len, r->body ? r->body : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!mr)
        return MHD_NO;
    MHD_add_response_header(mr, "Content-Type",
                            r->content_type ? r->content_type : "text/plain; charset=utf-8");
    MHD_add_response_header(mr, "Cache-Control", r->cache ? r->cache : "no-store");
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(mr, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                            "base-uri 'none'; frame-ancestors 'none'");
    MHD_add_response_header(mr, "X-Frame-Options", "DENY");
    MHD_add_response_header(mr, "Cross-Origin-Opener-Policy", "same-origin");
    if (app->https)
        MHD_add_response_header(mr, "Strict-Transport-Security", "max-age=31536000");
    if (r->location)
        MHD_add_response_header(mr, "Location", r->location);
    for (int i = 0; i < r->nheaders; i++)
        MHD_add_response_header(mr, r->headers[i][0], r->headers[i][1]);
    for (int i = 0; i < r->ncookies; i++)
        MHD_add_response_header(mr, "Set-Cookie", r->cookies[i]);
    if (r->status >= 500)
        atomic_fetch_add(&app->metrics.responses_5xx, 1);
    else if (r->status >= 400)
        atomic_fetch_add(&app->metrics.responses_4xx, 1);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result send_simple_error(struct MHD_Connection *conn, app_t *app, int status,
                                         const char *code, const char *desc)
{
    http_resp_t r = {0};
    http_resp_json_error(&r, status, code, desc);
    enum MHD_Result ret = send_resp(conn, app, &r, 0);
    resp_clear(&r);
    return ret;
}

static http_method_t method_of(const char *m)
{
    if (strcmp(m, "GET") == 0)
        return HTTP_GET;
    if (strcmp(m, "POST") == 0)
        return HTTP_POST;
    if (strcmp(m, "HEAD") == 0)
        return HTTP_HEAD;
    if (strcmp(m, "OPTIONS") == 0)
        return HTTP_OPTIONS;
    return HTTP_OTHER;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    app_t *app = cls;
    upload_t *up = *con_cls;
    (void)version;

    if (!up) {
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *con_cls = up;
        atomic_fetch_add(&app->metrics.requests, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > app->cfg->max_body_bytes)
            up->too_large = 1;
        if (strlen(url) > app->cfg->max_url_bytes)
            return send_simple_error(conn, app, 414, "invalid_request", "The URL is too long.");
        return MHD_YES;
    }
    if (*upload_size) {
        if (!up->too_large) {
            if (up->len + *upload_size > app->cfg->max_body_bytes) {
                up->too_large = 1;
            } else {
                if (up->len + *upload_size + 1 > up->cap) {
                    size_t cap = up->len + *upload_size + 1;
                    if (cap < 1024)
                        cap = 1024;
                    char *nb = realloc(up->body, cap);
                    if (!nb)
                        return MHD_NO;
                    up->body = nb;
                    up->cap = cap;
                }
                memcpy(up->body + up->len, upload, *upload_size);
                up->len += *upload_size;
                up->body[up->len] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (up->too_large)
        return send_simple_error(conn, app, 413, "invalid_request",
                                 "The request body is too large.");

    http_req_t req = {0};
    http_resp_t resp = {0};
    params_t qp = {.obj = json_object(), .max = app->cfg->max_params};
    params_t fp = {.obj = NULL, .max = app->cfg->max_params};
    req.method = method_of(method);
    req.path = url;
    req.conn = conn;
    req.app = app;
    req.body = up->body ? up->body : "";
    req.body_len = up->len;
    client_ip(conn, req.client_ip, sizeof req.client_ip);
    forwarded_ip(conn, app->cfg->trusted_proxy, req.client_ip, sizeof req.client_ip);

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_iter, &qp);
    req.query = qp.obj;
    req.dup_param = qp.dup[0] ? qp.dup : NULL;
    if (qp.bad) {
        http_resp_json_error(&resp, 400, "invalid_request", "Too many or malformed parameters.");
        goto send;
    }
    if (req.method == HTTP_POST) {
        const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        if (media_type_is(ctype, "application/x-www-form-urlencoded")) {
            fp.obj = json_object();
            req.form = fp.obj;
            if (memchr(req.body, '\0', req.body_len) || parse_form(req.body, &fp) != 0)
                req.bad_body = 1;
            if (fp.dup[0])
                req.dup_param = fp.dup;
        } else if (media_type_is(ctype, "application/json")) {
            json_error_t jerr;
            req.json = json_loadb(req.body, req.body_len, JSON_REJECT_DUPLICATES, &jerr);
            if (!json_is_object(req.json))
                req.bad_body = 1;
        } else {
            req.form = fp.obj = json_object();
        }
    }
    router_dispatch(&req, &resp);

send:;
    enum MHD_Result ret = send_resp(conn, app, &resp, req.method == HTTP_HEAD);
    resp_clear(&resp);
    json_decref(req.query);
    json_decref(req.form);
    json_decref(req.json);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    http_deadline_request_done(conn);
    upload_t *up = *con_cls;
    if (up) {
        free(up->body);
        free(up);
    }
    *con_cls = NULL;
}

void *http_start(app_t *app)
{
    const config_t *cfg = app->cfg;
    struct sockaddr_in6 a6 = {0};
    struct sockaddr_in a4 = {0};
    const struct sockaddr *sa;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (inet_pton(AF_INET, cfg->listen_host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->listen_port);
        sa = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->listen_host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->listen_port);
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        WP_LOG_ERR("listen address %s is not an IP address", cfg->listen_host);
        return NULL;
    }
    if (http_deadline_start(cfg->request_deadline, &app->metrics.deadline_closed) != 0) {
        WP_LOG_ERR("cannot start the request deadline watchdog");
        return NULL;
    }
    void *daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->listen_port, NULL, NULL, handle, app, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(cfg->max_url_bytes + 32768), MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, http_deadline_notify, NULL, MHD_OPTION_END);
    if (!daemon)
        http_deadline_stop();
    return daemon;
}

void http_drain(void *daemon, int seconds)
{
    if (!daemon)
        return;
    MHD_socket fd = MHD_quiesce_daemon(daemon);
    for (int i = 0; i < seconds * 10; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            break;
        struct timespec ts = {.tv_nsec = 100000000L};
        nanosleep(&ts, NULL);
    }
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void http_stop(void *daemon)
{
    if (daemon)
        MHD_stop_daemon(daemon);
    http_deadline_stop();
}
