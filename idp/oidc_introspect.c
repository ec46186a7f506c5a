/* POST /introspect: token introspection (RFC 7662) for authenticated clients. A client
 * learns about its own tokens only: anything else, and anything invalid, expired or
 * revoked, is {"active": false}. */
#include <string.h>

#include "idp/oidc.h"
#include "idp/oidc_client_auth.h"
#include "idp/oidc_token.h"
#include "idp/router.h"

#define MAX_TOKEN 8192

/* The answer for an access token of client_id, or NULL. */
static json_t *about_access(app_t *app, const char *client_id, const char *token)
{
    json_t *claims = NULL, *out = NULL;
    if (oidc_token_access_verify(app, token, &claims) != 0)
        return NULL;
    const char *owner = json_string_value(json_object_get(claims, "client_id"));
    if (owner && strcmp(owner, client_id) == 0)
        out =
            json_pack("{s:b, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:s}", "active", 1, "scope",
                      json_object_get(claims, "scope"), "client_id",
                      json_object_get(claims, "client_id"), "sub", json_object_get(claims, "sub"),
                      "exp", json_object_get(claims, "exp"), "iat", json_object_get(claims, "iat"),
                      "iss", json_object_get(claims, "iss"), "aud", json_object_get(claims, "aud"),
                      "jti", json_object_get(claims, "jti"), "token_type", "Bearer");
    json_decref(claims);
    return out;
}

/* The answer for a refresh token of client (a usable one), or NULL. */
static json_t *about_refresh(app_t *app, const json_t *client, const char *token)
{
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    char hash[TOKEN_HASH_HEX_LEN + 1], sub[96];
    store_grant_t g = {0};
    int64_t exp = 0;
    json_t *out = NULL;
    oidc_token_refresh_hash(app, token, hash);
    if (store_refresh_get(app->store, hash, wp_now(), &g, &exp) == WP_OK &&
        strcmp(g.client_id, client_id) == 0) {
        oidc_subject(app, client, g.account_id, sub, sizeof sub);
        out = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "active", 1, "scope", g.scope,
                        "client_id", client_id, "sub", sub, "exp", (json_int_t)exp, "iat",
                        (json_int_t)g.refresh_issued_at, "iss", app->cfg->issuer, "token_type",
                        "refresh_token");
    }
    store_grant_clear(&g);
    return out;
}

void oidc_introspect_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *client = NULL, *answer = NULL;
    const char *token = http_form(req, "token");
    const char *hint = http_form(req, "token_type_hint");

    if (oidc_client_auth(req, resp, "/introspect", &client) != WP_OK)
        return;
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    if (oidc_client_is_public(client)) {
        oidc_client_auth_error(resp, 401, "invalid_client",
                               "Introspection is for authenticated clients only.");
        goto out;
    }
    if (!token) {
        oidc_client_auth_error(resp, 400, "invalid_request", "token is required.");
        goto out;
    }
    if (*token && strlen(token) <= MAX_TOKEN) {
        int refresh_first = hint && strcmp(hint, "refresh_token") == 0;
        answer = refresh_first ? about_refresh(req->app, client, token)
                               : about_access(req->app, client_id, token);
        if (!answer)
            answer = refresh_first ? about_access(req->app, client_id, token)
                                   : about_refresh(req->app, client, token);
    }
    if (!answer)
        answer = json_pack("{s:b}", "active", 0);
    http_resp_json(resp, 200, answer);
    resp->cache = "no-store";
    http_resp_header(resp, "Pragma", "no-cache");
out:
    json_decref(client);
}
