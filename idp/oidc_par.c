/* POST /par: pushed authorization requests (RFC 9126). An authenticated client pushes
 * its authorization parameters and gets a one-time request_uri for /authorize. */
#include "idp/oidc_par.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/token.h"
#include "idp/oidc.h"
#include "idp/oidc_client_auth.h"
#include "idp/router.h"

#define PAR_RANDOM_BYTES 32
#define PAR_MAX_URI 128

/* Client authentication parameters, never stored with the request. */
static int is_auth_param(const char *name)
{
    return strcmp(name, "client_secret") == 0 || strcmp(name, "client_assertion") == 0 ||
           strcmp(name, "client_assertion_type") == 0;
}

static void par_hash(const app_t *app, const char *request_uri, char out[TOKEN_HASH_HEX_LEN + 1])
{
    token_hash(app->hash_key, "par", request_uri, out);
}

/* Checks what can be checked before /authorize: NULL when fine, else the error code
 * with *desc. */
static const char *check_params(const http_req_t *req, const json_t *client, const char **desc)
{
    const char *type = http_form(req, "response_type");
    const char *redirect = http_form(req, "redirect_uri");
    const char *challenge = http_form(req, "code_challenge");
    const char *method = http_form(req, "code_challenge_method");
    const char *pkce = json_string_value(json_object_get(client, "pkce"));

    if (http_form(req, "request_uri")) {
        *desc = "request_uri cannot be pushed (RFC 9126 §2.1).";
        return "invalid_request";
    }
    if (!redirect || !oidc_client_has_redirect(client, redirect)) {
        *desc = "redirect_uri is missing or not registered for this client.";
        return "invalid_request";
    }
    if (!type || strcmp(type, "code") != 0) {
        *desc = "Only response_type=code is supported.";
        return type ? "unsupported_response_type" : "invalid_request";
    }
    if (challenge ? !method || strcmp(method, "S256") != 0
                  : !(pkce && strcmp(pkce, "optional") == 0)) {
        *desc = "PKCE with code_challenge_method=S256 is required.";
        return "invalid_request";
    }
    return NULL;
}

void oidc_par_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *client = NULL, *params = NULL, *v;
    char uri[PAR_MAX_URI], random[64], hash[TOKEN_HASH_HEX_LEN + 1];
    char *text = NULL;
    const char *name, *error, *desc = NULL;

    if (oidc_client_auth(req, resp, "/par", &client) != WP_OK)
        return;
    if ((error = check_params(req, client, &desc)) != NULL) {
        oidc_client_auth_error(resp, 400, error, desc);
        goto out;
    }
    params = json_object();
    json_object_foreach(req->form, name, v)
    {
        if (!is_auth_param(name) && json_is_string(v))
            json_object_set(params, name, v);
    }
    json_object_set_new(params, "client_id", json_copy(json_object_get(client, "client_id")));
    text = json_dumps(params, JSON_COMPACT);
    token_random(random, sizeof random, PAR_RANDOM_BYTES);
    snprintf(uri, sizeof uri, "%s%s", OIDC_PAR_URN, random);
    par_hash(req->app, uri, hash);
    if (!text || store_par_add(req->app->store, hash,
                               json_string_value(json_object_get(client, "client_id")), text,
                               wp_now() + req->app->cfg->par_ttl) != WP_OK) {
        oidc_client_auth_error(resp, 500, "server_error", "Could not store the request.");
        goto out;
    }
    http_resp_json(
        resp, 201,
        json_pack("{s:s, s:i}", "request_uri", uri, "expires_in", req->app->cfg->par_ttl));
    resp->cache = "no-store";
    http_resp_header(resp, "Pragma", "no-cache");
out:
    free(text);
    json_decref(params);
    json_decref(client);
}

wp_err_t oidc_par_take(app_t *app, const char *client_id, const char *request_uri, json_t **params)
{
    char hash[TOKEN_HASH_HEX_LEN + 1];
    char *text = NULL;
    json_t *j;
    wp_err_t rc;

    *params = NULL;
    if (!client_id || !request_uri || strlen(request_uri) >= PAR_MAX_URI ||
        strncmp(request_uri, OIDC_PAR_URN, strlen(OIDC_PAR_URN)) != 0)
        return WP_ERR_NOTFOUND;
    par_hash(app, request_uri, hash);
    rc = store_par_take(app->store, hash, client_id, wp_now(), &text);
    if (rc)
        return rc;
    j = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(j)) {
        json_decref(j);
        return WP_ERR;
    }
    *params = j;
    return WP_OK;
}
