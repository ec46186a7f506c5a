/* The userinfo endpoint (OIDC Core §5.3) with bearer JWT access tokens (RFC 6750, 9068). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b64url.h"
#include "crypto/jws.h"
#include "crypto/seal.h"
#include "idp/oidc.h"
#include "idp/router.h"

static void bearer_error(http_resp_t *resp, int status, const char *code, const char *desc)
{
    char challenge[256];
    snprintf(challenge, sizeof challenge, "Bearer error=\"%s\", error_description=\"%s\"", code,
             desc);
    http_resp_json_error(resp, status, code, desc);
    http_resp_header(resp, "WWW-Authenticate", challenge);
}

static int has_scope(const char *scope, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = scope; p && *p;) {
        size_t m = strcspn(p, " ");
        if (m == n && strncmp(p, want, n) == 0)
            return 1;
        p += m;
        p += strspn(p, " ");
    }
    return 0;
}

/* Opens the sealed account id of an access token. malloc'd or NULL. */
static char *open_context(const app_t *app, const char *ctx)
{
    uint8_t *sealed = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    if (!ctx || b64url_decode(ctx, 512, &sealed, &len) != 0)
        return NULL;
    int rc = seal_decrypt(app->context_key, sealed, len, &plain, &plain_len);
    free(sealed);
    return rc == 0 ? (char *)plain : NULL;
}

void oidc_userinfo_handle(http_req_t *req, http_resp_t *resp)
{
    const char *auth = http_header(req, "Authorization");
    const char *token = NULL;
    sigkey_t *const *keys;
    size_t nkeys;
    json_t *claims = NULL, *out = NULL, *client = NULL;
    char *account_id = NULL;
    store_account_t account = {0};
    store_person_t person = {0};

    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        token = auth + 7;
    else if (!auth && req->method == HTTP_POST)
        token = http_form(req, "access_token");
    if (!token || !*token || strlen(token) > 8192) {
        bearer_error(resp, 401, "invalid_token", "A bearer access token is required.");
        goto out;
    }
    keyring_all(req->app->keys, &keys, &nkeys);
    if (jws_verify(token, keys, nkeys, "at+jwt", &claims) != 0) {
        bearer_error(resp, 401, "invalid_token", "The access token is not valid.");
        goto out;
    }
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    if (!iss || strcmp(iss, req->app->cfg->issuer) != 0 || !aud ||
        strcmp(aud, req->app->cfg->issuer) != 0 || exp <= wp_now()) {
        bearer_error(resp, 401, "invalid_token", "The access token has expired or is not for us.");
        goto out;
    }
    account_id = open_context(req->app, json_string_value(json_object_get(claims, "ctx")));
    const char *client_id = json_string_value(json_object_get(claims, "client_id"));
    if (!account_id || !client_id ||
        store_client_get(req->app->store, client_id, &client) != WP_OK ||
        store_account_get(req->app->store, account_id, &account) != WP_OK) {
        bearer_error(resp, 401, "invalid_token", "The access token is no longer valid.");
        goto out;
    }
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    out = json_pack("{s:O}", "sub", json_object_get(claims, "sub"));
    if ((has_scope(scope, "profile") || has_scope(scope, "email") || has_scope(scope, "duo")) &&
        store_person_get(req->app->store, account.person_number, &person) == WP_OK) {
        if (has_scope(scope, "profile")) {
            char name[512];
            snprintf(name, sizeof name, "%s %s", person.given_names, person.family_name);
            json_object_set_new(out, "name", json_string(name));
            json_object_set_new(out, "given_name", json_string(person.given_names));
            json_object_set_new(out, "family_name", json_string(person.family_name));
            json_object_set_new(out, "birthdate", json_string(person.birthdate));
        }
        if (has_scope(scope, "email") && person.contact_email)
            json_object_set_new(out, "email", json_string(person.contact_email));
        if (has_scope(scope, "duo"))
            json_object_set_new(out, "duo_person_number", json_string(person.person_number));
    }
    http_resp_json(resp, 200, out);
    out = NULL;
out:
    store_account_clear(&account);
    store_person_clear(&person);
    json_decref(claims);
    json_decref(client);
    json_decref(out);
    free(account_id);
}
