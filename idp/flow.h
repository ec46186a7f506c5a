/* Login flows (one journey of one browser from /authorize back to the client), the
 * browser binding cookie, CSRF tokens, and sessions. */
#ifndef IDP_FLOW_H
#define IDP_FLOW_H

#include <jansson.h>

#include "idp/http.h"
#include "idp/store.h"

#define FLOW_COOKIE "wp_browser"
#define SESSION_COOKIE "wp_session"
#define FLOW_ID_MAX 64

/* The browser cookie's value, or NULL when missing or malformed. */
const char *flow_browser_cookie(const http_req_t *req);

/* Creates a flow for the validated authorization request (borrowed), binding it to this
 * browser (setting the browser cookie if it has none). Writes the flow id (for URLs)
 * into id_out[FLOW_ID_MAX]. */
wp_err_t flow_create(http_req_t *req, http_resp_t *resp, json_t *request, char *id_out);

/* Loads the flow named by id if it belongs to this browser and has not expired.
 * On success fills out (store_flow_clear) and, when request is not NULL, *request
 * (json_decref). WP_ERR_NOTFOUND otherwise (also for another browser's flow). */
wp_err_t flow_load(http_req_t *req, const char *id, store_flow_t *out, json_t **request);

/* Keyed hash of a flow id, as stored. */
void flow_hash(const http_req_t *req, const char *id, char out[TOKEN_HASH_HEX_LEN + 1]);

/* CSRF token for a form bound to this browser and purpose (e.g. the flow id). */
void flow_csrf(const http_req_t *req, const char *purpose, char out[TOKEN_HASH_HEX_LEN + 1]);
/* The same for a browser cookie value set in this very response. */
void flow_csrf_with(const app_t *app, const char *cookie, const char *purpose,
                    char out[TOKEN_HASH_HEX_LEN + 1]);
/* 1 when the form's csrf field matches, in constant time. */
int flow_csrf_ok(const http_req_t *req, const char *purpose);

/* The current session of this browser (fills out), or WP_ERR_NOTFOUND. */
wp_err_t session_current(http_req_t *req, store_session_t *out);
/* Starts a session for account with acr, setting the session cookie on resp. Fills
 * out when not NULL. */
wp_err_t session_start(http_req_t *req, http_resp_t *resp, const char *account_id, const char *acr,
                       store_session_t *out);
/* Ends this browser's session (storage and cookie). */
void session_end(http_req_t *req, http_resp_t *resp);

/* Counts a failed attempt against this address; 1 when the address is now over its
 * limit (callers refuse before checking anything else). */
int flow_ip_limited(http_req_t *req, const char *what, int add_failure);

#endif
