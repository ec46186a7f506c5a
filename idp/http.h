/* HTTP request and response as the handlers see them; libmicrohttpd stays in http.c. */
#ifndef IDP_HTTP_H
#define IDP_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "idp/app.h"

#define HTTP_MAX_HEADERS_OUT 8

typedef enum {
    HTTP_GET = 1,
    HTTP_POST = 2,
    HTTP_HEAD = 4,
    HTTP_OTHER = 8,
    HTTP_OPTIONS = 16
} http_method_t;

typedef struct http_req {
    http_method_t method;
    const char *path;
    json_t *query;         /* object: name -> string (first value) */
    json_t *form;          /* object from an application/x-www-form-urlencoded body, or NULL */
    json_t *json;          /* parsed application/json body (object), or NULL */
    const char *dup_param; /* name of a parameter that occurred twice, or NULL */
    int bad_body;          /* the body did not parse as its Content-Type says */
    const char *body;      /* raw body, NUL-terminated */
    size_t body_len;
    char client_ip[64];
    void *conn; /* struct MHD_Connection * */
    app_t *app;
} http_req_t;

typedef struct {
    int status;
    char *body; /* malloc'd, freed by http.c */
    size_t body_len;
    const char *content_type;
    const char *cache;                      /* Cache-Control; default "no-store" */
    char *location;                         /* malloc'd redirect target, or NULL */
    char *headers[HTTP_MAX_HEADERS_OUT][2]; /* extra headers (malloc'd name, value) */
    int nheaders;
    char *cookies[4]; /* malloc'd Set-Cookie values */
    int ncookies;
} http_resp_t;

/* Request helpers; returned strings belong to the request. */
const char *http_header(const http_req_t *req, const char *name);
const char *http_cookie(const http_req_t *req, const char *name);
const char *http_query(const http_req_t *req, const char *name);
const char *http_form(const http_req_t *req, const char *name);
/* Query for GET, form for POST. */
const char *http_param(const http_req_t *req, const char *name);

/* Response helpers. Each replaces the body. */
void http_resp_text(http_resp_t *r, int status, const char *ctype, const char *text);
void http_resp_take(http_resp_t *r, int status, const char *ctype, char *body, size_t len);
/* JSON body (steals the reference to j). */
void http_resp_json(http_resp_t *r, int status, json_t *j);
/* {"error": code, "error_description": desc} */
void http_resp_json_error(http_resp_t *r, int status, const char *code, const char *desc);
void http_resp_redirect(http_resp_t *r, int status, const char *location);
void http_resp_header(http_resp_t *r, const char *name, const char *value);
/* Set-Cookie for name=value, HttpOnly, SameSite=Lax, Path=/; Secure and the __Host-
 * prefix when the issuer is https; max_age < 0 for a session cookie, 0 to delete. */
void http_resp_cookie(http_resp_t *r, const app_t *app, const char *name, const char *value,
                      long max_age);
/* The cookie name as sent (with the __Host- prefix on https). */
const char *http_cookie_name(const app_t *app, const char *name, char *buf, size_t size);

/* Starts the daemon; returns an opaque handle or NULL. */
void *http_start(app_t *app);
/* Stops accepting connections and waits up to seconds for open ones to finish. */
void http_drain(void *daemon, int seconds);
void http_stop(void *daemon);

#endif
