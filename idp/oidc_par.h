/* Pushed authorization requests (RFC 9126). */
#ifndef IDP_OIDC_PAR_H
#define IDP_OIDC_PAR_H

#include <jansson.h>

#include "idp/app.h"

#define OIDC_PAR_URN "urn:ietf:params:oauth:request_uri:"

/* Takes the parameters client_id pushed under request_uri: single use (a second take
 * gives WP_ERR_NOTFOUND), expiring (WP_ERR_EXPIRED), bound to the client (another
 * client's request_uri is WP_ERR_NOTFOUND). On WP_OK *params is a JSON object of the
 * pushed parameters, names to strings (json_decref). The parameters were checked at
 * /par (client authenticated, redirect_uri registered, response_type code, PKCE as the
 * client needs) but /authorize validates them like any request. */
wp_err_t oidc_par_take(app_t *app, const char *client_id, const char *request_uri, json_t **params);

#endif
