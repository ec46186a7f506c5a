/* The userinfo endpoint (OIDC Core §5.3) with bearer JWT access tokens (RFC 6750, 9068).
 * A client registered with userinfo_signed_response_alg gets a signed JWT, one registered
 * with userinfo_encrypted_response_alg a JWE (signed inside when both; application/jwt,
 * OIDC Core §5.3.2) instead of JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/jws.h"
#include "idp/oidc.h"
#include "idp/oidc_jwe.h"
#include "idp/oidc_token.h"
#include "idp/router.h"

static void bearer_error(http_resp_t *resp, int status, const char *code, const char *desc)
{
    char challenge[256];
    if (code)
        snprintf(challenge, sizeof challenge,
                 "Bearer realm=\"wereldpas\", error=\"%s\", error_description=\"%s\"", code, desc);
    else
        snprintf(challenge, sizeof challenge, "Bearer realm=\"wereldpas\"");
    http_resp_json_error(resp, status, code ? code : "invalid_request", desc);
    http_resp_header(resp, "WWW-Authenticate", challenge);
}

/* 1 when the claim name is asked for by scope or by the claims request member. */
static int wanted(const char *scope, const char *scope_name, const json_t *requested,
                  const char *claim)
{
    return oidc_list_has(scope, scope_name) || json_object_get(requested, claim) != NULL;
}

json_t *oidc_person_claims(app_t *app, const char *account_id, const char *scope,
                           const json_t *requested, int allow_duo)
{
    store_account_t account = {0};
    store_person_t person = {0};
    json_t *out = json_object();
    if (!out || store_account_get(app->store, account_id, &account) != WP_OK ||
        store_person_get(app->store, account.person_number, &person) != WP_OK)
        goto out;
    if (wanted(scope, "profile", requested, "name")) {
        char name[512];
        snprintf(name, sizeof name, "%s %s", person.given_names, person.family_name);
        json_object_set_new(out, "name", json_string(name));
    }
    if (wanted(scope, "profile", requested, "given_name"))
        json_object_set_new(out, "given_name", json_string(person.given_names));
    if (wanted(scope, "profile", requested, "family_name"))
        json_object_set_new(out, "family_name", json_string(person.family_name));
    if (wanted(scope, "profile", requested, "birthdate"))
        json_object_set_new(out, "birthdate", json_string(person.birthdate));
    if (wanted(scope, "email", requested, "email") && person.contact_email)
        json_object_set_new(out, "email", json_string(person.contact_email));
    /* The person number only for clients allowed the duo scope, whatever is asked. */
    if (allow_duo && wanted(scope, "duo", requested, "duo_person_number"))
        json_object_set_new(out, "duo_person_number", json_string(person.person_number));
out:
    store_account_clear(&account);
    store_person_clear(&person);
    return out;
}

void oidc_userinfo_handle(http_req_t *req, http_resp_t *resp)
{
    const char *auth = http_header(req, "Authorization");
    const char *token = NULL;
    json_t *claims = NULL, *out = NULL, *client = NULL;
    char *account_id = NULL, *jwt = NULL, *jwe = NULL, *text = NULL;
    store_account_t account = {0};

    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        token = auth + 7;
        if (req->method == HTTP_POST && http_form(req, "access_token")) {
            bearer_error(resp, 400, "invalid_request", "Send the access token only once.");
            goto out;
        }
    } else if (!auth && req->method == HTTP_POST) {
        token = http_form(req, "access_token");
    }
    if (!token || !*token) {
        /* RFC 6750 §3.1: no error code when the request carried no token at all. */
        bearer_error(resp, 401, NULL, "A bearer access token is required.");
        goto out;
    }
    if (oidc_token_access_verify(req->app, token, &claims) != 0) {
        bearer_error(resp, 401, "invalid_token", "The access token is not valid.");
        goto out;
    }
    account_id = oidc_token_account(req->app, claims);
    const char *client_id = json_string_value(json_object_get(claims, "client_id"));
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    if (!account_id || !client_id ||
        store_client_get(req->app->store, client_id, &client) != WP_OK ||
        store_account_get(req->app->store, account_id, &account) != WP_OK) {
        bearer_error(resp, 401, "invalid_token", "The access token is no longer valid.");
        goto out;
    }
    if (!oidc_list_has(scope, "openid")) {
        bearer_error(resp, 403, "insufficient_scope", "The access token lacks the openid scope.");
        goto out;
    }
    out = oidc_person_claims(req->app, account_id, scope, json_object_get(claims, "uc"),
                             oidc_client_has_scope(client, "duo"));
    if (out)
        json_object_set(out, "sub", json_object_get(claims, "sub"));
    if (!out) {
        http_resp_json_error(resp, 500, "server_error", "Could not read the claims.");
        goto out;
    }
    const char *alg = json_string_value(json_object_get(client, "userinfo_signed_response_alg"));
    if (alg) {
        sigkey_alg_t a;
        const sigkey_t *key = sigkey_alg_parse(alg, &a) == 0
                                  ? keyring_signing_key(req->app->keys, a, wp_now())
                                  : NULL;
        json_object_set_new(out, "iss", json_string(req->app->cfg->issuer));
        json_object_set_new(out, "aud", json_string(client_id));
        json_object_set_new(out, "iat", json_integer(wp_now()));
        jwt = key ? jws_sign(key, NULL, out) : NULL;
        if (!jwt) {
            http_resp_json_error(resp, 500, "server_error", "Could not sign the claims.");
            goto out;
        }
    }
    /* OIDC Core §5.3.2: signed then encrypted when both are registered (cty JWT), the
     * JSON claims encrypted when only encryption is. */
    if (json_object_get(client, "userinfo_encrypted_response_alg")) {
        text = jwt ? NULL : json_dumps(out, JSON_COMPACT);
        if ((!jwt && !text) ||
            oidc_jwe_for_client(client, "userinfo", jwt ? jwt : text, jwt ? "JWT" : NULL, &jwe) ||
            !jwe) {
            http_resp_json_error(resp, 500, "server_error", "Could not encrypt the claims.");
            goto out;
        }
        http_resp_text(resp, 200, "application/jwt", jwe);
        goto out;
    }
    if (jwt) {
        http_resp_text(resp, 200, "application/jwt", jwt);
        goto out;
    }
    http_resp_json(resp, 200, out);
    out = NULL;
out:
    store_account_clear(&account);
    json_decref(claims);
    json_decref(client);
    json_decref(out);
    free(account_id);
    free(jwt);
    free(jwe);
    free(text);
}
