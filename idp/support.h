/* The support console's building blocks shared by its pages (idp/page_support.c) and its
 * passkey ceremonies (idp/support_webauthn.c): the console browser cookie, staff
 * sessions (own cookie, idle timeout) and CSRF tokens. Staff never use people's
 * sessions, cookies or passkeys, and the reverse. */
#ifndef IDP_SUPPORT_H
#define IDP_SUPPORT_H

#include <jansson.h>

#include "idp/http.h"

#define SUPPORT_BROWSER_COOKIE "wp_console" /* binds ceremonies and forms to a browser */
#define SUPPORT_SESSION_COOKIE "wp_staff"   /* a signed-in staff member */
#define SUPPORT_SESSION_MAX 28800           /* absolute end of a staff session */
#define SUPPORT_TOKEN_LEN 43

/* The console browser cookie of the request, or NULL when missing or malformed. */
const char *support_browser(const http_req_t *req);
/* The same, creating and setting one on resp when missing; copies it into out[64]. */
void support_browser_ensure(http_req_t *req, http_resp_t *resp, char out[64]);
/* Keyed hash of the browser cookie, naming its ceremony challenges in storage. */
void support_browser_hash(const http_req_t *req, const char *cookie,
                          char out[TOKEN_HASH_HEX_LEN + 1]);

/* The signed-in staff member ({id, name, role, created_at}, json_decref), or NULL. Moves
 * the session's idle clock. */
json_t *support_staff(http_req_t *req);
/* Starts a staff session for staff_id, setting the session cookie. */
wp_err_t support_session_start(http_req_t *req, http_resp_t *resp, const char *staff_id);

/* Fixed-window rate limit of the console under key (window seconds, max events). With
 * add, counts one more event and refuses when the count passes max (actions such as
 * searches); without add, only refuses when the count reached max (failures, counted by
 * a later call with add). Returns 0 when allowed, else the time the refusal ends, and
 * then sets Retry-After on resp (which may be NULL). */
int64_t support_limit(http_req_t *req, http_resp_t *resp, const char *key, int window, int max,
                      int add);

/* CSRF token of the console forms of this browser (cookie: the browser cookie, may be
 * set in this very response). */
void support_csrf(const app_t *app, const char *cookie, char out[TOKEN_HASH_HEX_LEN + 1]);
/* 1 when the form's csrf field matches this browser's token. */
int support_csrf_ok(const http_req_t *req);

#endif
