/* Client authentication at the token, revocation, introspection and PAR endpoints
 * (RFC 6749 §2.3.1, RFC 7523 §2.2, OIDC Core §9). */
#ifndef IDP_OIDC_CLIENT_AUTH_H
#define IDP_OIDC_CLIENT_AUTH_H

#include <jansson.h>

#include "idp/http.h"

#define OIDC_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* Refuses a body that is not a form or repeats a parameter (400 invalid_request), then
 * authenticates the client of req by the method it registered: client_secret_basic,
 * client_secret_post, private_key_jwt or none (public). endpoint is the path of the
 * endpoint called ("/token", "/par", ...): its URL is accepted as a client assertion's
 * aud, besides the issuer and the token endpoint. Failures count against the client and
 * the address (rate limited). On success returns WP_OK and *client (json_decref); on
 * failure fills resp with the RFC 6749 §5.2 error and returns an error, *client NULL. */
wp_err_t oidc_client_auth(http_req_t *req, http_resp_t *resp, const char *endpoint,
                          json_t **client);

/* A JSON error answer of the token-like endpoints: {"error", "error_description"} with
 * Cache-Control: no-store, Pragma: no-cache, and on 401 a WWW-Authenticate challenge. */
void oidc_client_auth_error(http_resp_t *resp, int status, const char *code, const char *desc);

/* 1 when the client is public (token_endpoint_auth_method none). */
int oidc_client_is_public(const json_t *client);

/* The client's registered keys: its "jwks", else the document at its "jwks_uri" (fetched
 * and cached as for client assertions). New reference (json_decref) or NULL. */
json_t *oidc_client_jwks(const json_t *client);

#endif
