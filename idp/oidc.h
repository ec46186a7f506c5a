/* Shared OpenID Connect logic: clients, subjects, assurance levels, finishing an
 * authorization with a code. */
#ifndef IDP_OIDC_H
#define IDP_OIDC_H

#include <jansson.h>

#include "idp/http.h"
#include "idp/store.h"

/* 1 when uri is one of the client's registered redirect_uris (exact string match). */
int oidc_client_has_redirect(const json_t *client, const char *uri);

/* 1 when scope is among the scopes the client is allowed. */
int oidc_client_has_scope(const json_t *client, const char *scope);

/* The `sub` for account at client: pairwise (keyed hash over the sector, the host of the
 * client's sector_identifier_uri or else of its first redirect URI, and the account id)
 * unless the client is registered "public".
 * Writes into out (at least 80 bytes). */
void oidc_subject(const app_t *app, const json_t *client, const char *account_id, char *out,
                  size_t size);

/* 1 when the space-separated list (a scope, prompt, ...) contains word. */
int oidc_list_has(const char *list, const char *word);

/* Rank of an acr value: the configured values (1 diploma, 2 assisted), else an eIDAS
 * level by its last segment (1 low, 2 substantial, 3 high), else 0 (unknown). */
int oidc_acr_rank(const app_t *app, const char *acr);
/* 1 when the session's acr satisfies the request's acr_values (space separated; values
 * we do not know are ignored; nothing known requested means satisfied). */
int oidc_acr_satisfied(const app_t *app, const char *acr_values, const char *acr);

/* Strict form for essential requests: 1 only when acr reaches at least one known level of
 * the space-separated list. */
int oidc_acr_reaches(const app_t *app, const char *levels, const char *acr);

/* Appends the response parameters to redirect_uri (with ? or &), url-encoded, and sets
 * a 302 redirect: names and values in pairs, NULL values skipped, ended by NULL. */
void oidc_redirect_with(http_resp_t *resp, const char *redirect_uri, ...);

/* Ends an authorization for the validated request with the session: checks the acr,
 * issues a single-use code and redirects to the client with code, state and iss (or an
 * error per RFC 6749 §4.1.2.1). */
void oidc_finish(http_req_t *req, http_resp_t *resp, const json_t *request,
                 const store_session_t *session);

/* Redirects with error (and error_description, state, iss) to the request's client. */
void oidc_redirect_error(http_req_t *req, http_resp_t *resp, const json_t *request,
                         const char *error, const char *description);

/* Takes the parameters pushed under request_uri (RFC 9126) by client_id: single use,
 * expiring. Returns WP_OK and *params (json_decref), or an error. */
wp_err_t oidc_request_uri_take(app_t *app, const char *client_id, const char *request_uri,
                               json_t **params);

/* A session ended (logout): relying parties that registered for back-channel logout are
 * told, in the background. */
void oidc_session_ended(app_t *app, const char *sid, const char *account_id);

/* Verifies an id_token_hint: an ID token we signed (expiry is not checked: a hint may have
 * expired) for this issuer. Returns WP_OK and *claims (json_decref), or WP_ERR_INVALID. */
wp_err_t oidc_id_token_hint(const app_t *app, const char *hint, json_t **claims);

/* 1 when the hint's audience includes client_id. */
int oidc_hint_has_audience(const json_t *claims, const char *client_id);

#endif
