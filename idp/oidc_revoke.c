/* POST /revoke: token revocation (RFC 7009). An authenticated client revokes one of its
 * refresh tokens (the whole grant ends: every refresh and access token from the same
 * code) or one of its access tokens (by its jti, until its exp). Unknown, invalid or
 * expired tokens get 200 as well (§2.2). */
#include <string.h>

#include "idp/oidc_client_auth.h"
#include "idp/oidc_token.h"
#include "idp/router.h"

#define MAX_TOKEN 8192

/* Revokes a refresh token of client_id: 1 when it was one (of any client), 0 when not;
 * -1 when it is another client's. */
static int revoke_refresh(app_t *app, const char *client_id, const char *token)
{
    char hash[TOKEN_HASH_HEX_LEN + 1];
    store_grant_t g = {0};
    int64_t exp = 0;
    int rc = 0;
    oidc_token_refresh_hash(app, token, hash);
    if (store_refresh_get(app->store, hash, wp_now(), &g, &exp) == WP_OK) {
        rc = strcmp(g.client_id, client_id) == 0 ? 1 : -1;
        if (rc == 1)
            store_grant_revoke(app->store, g.family, wp_now());
    }
    store_grant_clear(&g);
    return rc;
}

/* Revokes an access token of client_id; same results as revoke_refresh. */
static int revoke_access(app_t *app, const char *client_id, const char *token)
{
    json_t *claims = NULL;
    int rc = 0;
    if (oidc_token_access_verify(app, token, &claims) == 0) {
        const char *owner = json_string_value(json_object_get(claims, "client_id"));
        rc = owner && strcmp(owner, client_id) == 0 ? 1 : -1;
        if (rc == 1)
            store_access_revoke(app->store, json_string_value(json_object_get(claims, "jti")),
                                wp_now());
    }
    json_decref(claims);
    return rc;
}

void oidc_revoke_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *client = NULL;
    const char *token = http_form(req, "token");
    const char *hint = http_form(req, "token_type_hint");

    if (oidc_client_auth(req, resp, "/revoke", &client) != WP_OK)
        return;
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    if (!token || !*token) {
        oidc_client_auth_error(resp, 400, "invalid_request", "token is required.");
        goto out;
    }
    int rc = 0;
    if (strlen(token) <= MAX_TOKEN) {
        /* The hint says where to look first; the other kind is searched too (§2.1). */
        int access_first = hint && strcmp(hint, "access_token") == 0;
        rc = access_first ? revoke_access(req->app, client_id, token)
                          : revoke_refresh(req->app, client_id, token);
        if (rc == 0)
            rc = access_first ? revoke_refresh(req->app, client_id, token)
                              : revoke_access(req->app, client_id, token);
    }
    if (rc < 0) {
        /* §2.1: a token of another client is refused, and the client told. */
        oidc_client_auth_error(resp, 400, "unauthorized_client",
                               "The token was not issued to this client.");
        goto out;
    }
    http_resp_text(resp, 200, "application/json", "{}");
    resp->cache = "no-store";
    http_resp_header(resp, "Pragma", "no-cache");
out:
    json_decref(client);
}
