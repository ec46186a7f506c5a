/* The token endpoint (RFC 6749 §3.2, §4.1.3, §6; OIDC Core §3.1.3, §12): the
 * authorization-code grant with PKCE and the refresh-token grant, issuing ID tokens,
 * JWT access tokens (RFC 9068) and rotating refresh tokens (RFC 9700 §4.14). Every
 * token issued from one code belongs to one grant (store_grant_t): a reused code or a
 * reused refresh token revokes the whole grant. */
#include "idp/oidc_token.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"
#include "crypto/jws.h"
#include "crypto/pkce.h"
#include "crypto/seal.h"
#include "idp/oidc.h"
#include "idp/oidc_client_auth.h"
#include "idp/oidc_jwe.h"
#include "idp/router.h"

#define MAX_TOKEN_PARAM 512
#define MAX_ACCESS_TOKEN 8192
#define RANDOM_BYTES 32
#define RANDOM_SIZE 48 /* base64url of RANDOM_BYTES plus NUL */

void oidc_token_refresh_hash(const app_t *app, const char *token, char out[TOKEN_HASH_HEX_LEN + 1])
{
    token_hash(app->hash_key, "refresh", token, out);
}

int oidc_token_access_verify(app_t *app, const char *token, json_t **claims)
{
    sigkey_t *const *keys;
    size_t nkeys;
    json_t *c = NULL;

    if (!token || strlen(token) > MAX_ACCESS_TOKEN)
        return -1;
    keyring_all(app->keys, &keys, &nkeys);
    if (jws_verify(token, keys, nkeys, "at+jwt", &c) != 0)
        return -1;
    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *aud = json_string_value(json_object_get(c, "aud"));
    const char *jti = json_string_value(json_object_get(c, "jti"));
    json_t *exp = json_object_get(c, "exp");
    if (!iss || strcmp(iss, app->cfg->issuer) != 0 || !aud || strcmp(aud, app->cfg->issuer) != 0 ||
        !json_is_integer(exp) || json_integer_value(exp) <= wp_now() || !jti ||
        store_access_check(app->store, jti) != WP_OK) {
        json_decref(c);
        return -1;
    }
    *claims = c;
    return 0;
}

char *oidc_token_account(const app_t *app, const json_t *claims)
{
    const char *ctx = json_string_value(json_object_get(claims, "ctx"));
    uint8_t *sealed = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    if (!ctx || b64url_decode(ctx, 512, &sealed, &len) != 0)
        return NULL;
    int rc = seal_decrypt(app->context_key, sealed, len, &plain, &plain_len);
    free(sealed);
    return rc == 0 ? (char *)plain : NULL;
}

/* Signs claims with the algorithm alg_name (RS256 when NULL or unknown). malloc'd or
 * NULL. */
static char *sign_with(app_t *app, const char *alg_name, const char *typ, json_t *claims)
{
    sigkey_alg_t alg;
    if (!alg_name || sigkey_alg_parse(alg_name, &alg) != 0)
        alg = SIGKEY_RS256;
    const sigkey_t *key = keyring_signing_key(app->keys, alg, wp_now());
    if (!key) {
        WP_LOG_ERR("no signing key for %s", sigkey_alg_name(alg));
        return NULL;
    }
    return jws_sign(key, typ, claims);
}

/* The ID token for client: jws as it is, or, when the client registered
 * id_token_encrypted_response_alg (RSA-OAEP or RSA-OAEP-256, A256GCM), nested in a JWE
 * to its "use":"enc" key (OIDC Core §10.2: signed, then encrypted; cty "JWT").
 * Returns a malloc'd string or NULL on error. */
static char *encrypt_for(const json_t *client, const char *jws)
{
    char *jwe = NULL;

    if (oidc_jwe_for_client(client, "id_token", jws, "JWT", &jwe) != 0)
        return NULL;
    return jwe ? jwe : strdup(jws);
}

/* The sealed account id carried inside access tokens, base64url. malloc'd or NULL. */
static char *seal_context(const app_t *app, const char *account_id)
{
    uint8_t *sealed = NULL;
    size_t len = 0;
    if (seal_encrypt(app->context_key, (const uint8_t *)account_id, strlen(account_id), &sealed,
                     &len) != 0)
        return NULL;
    char *out = b64url_encode(sealed, len);
    free(sealed);
    return out;
}

/* Issues an ID token, an access token and (refresh non-NULL: the new refresh token,
 * stored already) a refresh token of grant g to client, and answers. nonce may be NULL;
 * scope is the scope of these tokens. */
static void issue(http_req_t *req, http_resp_t *resp, const json_t *client, const store_grant_t *g,
                  const char *scope, const char *nonce, const char *refresh,
                  const char *claims_request)
{
    json_t *creq = claims_request ? json_loads(claims_request, 0, NULL) : NULL;
    app_t *app = req->app;
    const config_t *cfg = app->cfg;
    const char *issuer = cfg->issuer;
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    char sub[96], jti[RANDOM_SIZE], ajti[RANDOM_SIZE];
    json_t *id_claims = NULL, *at_claims = NULL, *answer = NULL;
    char *id_jws = NULL, *id_token = NULL, *access_token = NULL, *context = NULL;
    int64_t now = wp_now();

    oidc_subject(app, client, g->account_id, sub, sizeof sub);
    token_random(jti, sizeof jti, 16);
    token_random(ajti, sizeof ajti, 16);
    id_claims =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "iss", issuer, "sub", sub, "aud",
                  client_id, "exp", (json_int_t)now + cfg->id_token_ttl, "iat", (json_int_t)now,
                  "nbf", (json_int_t)now, "jti", jti, "auth_time", (json_int_t)g->auth_time);
    if (id_claims && g->acr)
        json_object_set_new(id_claims, "acr", json_string(g->acr));
    if (id_claims && g->sid)
        json_object_set_new(id_claims, "sid", json_string(g->sid));
    if (id_claims && nonce)
        json_object_set_new(id_claims, "nonce", json_string(nonce));
    /* Claims asked for in the ID token itself (claims request parameter). */
    const json_t *in_id = json_object_get(creq, "id_token");
    if (id_claims && json_is_object(in_id) && json_object_size(in_id) > 0) {
        json_t *person =
            oidc_person_claims(app, g->account_id, "", in_id, oidc_client_has_scope(client, "duo"));
        if (person)
            json_object_update_missing(id_claims, person);
        json_decref(person);
    }
    context = seal_context(app, g->account_id);
    at_claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:s}", "iss", issuer,
                          "sub", sub, "aud", issuer, "client_id", client_id, "exp",
                          (json_int_t)now + cfg->access_token_ttl, "iat", (json_int_t)now, "jti",
                          ajti, "scope", scope, "auth_time", (json_int_t)g->auth_time, "ctx",
                          context ? context : "");
    if (at_claims && g->acr)
        json_object_set_new(at_claims, "acr", json_string(g->acr));
    /* Claims asked for at userinfo ride along in the (signed) access token. */
    const json_t *in_ui = json_object_get(creq, "userinfo");
    if (at_claims && json_is_object(in_ui) && json_object_size(in_ui) > 0)
        json_object_set(at_claims, "uc", (json_t *)in_ui);
    if (!id_claims || !at_claims || !context ||
        store_access_add(app->store, ajti, g->family, now + cfg->access_token_ttl) != WP_OK) {
        oidc_client_auth_error(resp, 500, "server_error", "Could not issue tokens.");
        goto out;
    }
    id_jws =
        sign_with(app, json_string_value(json_object_get(client, "id_token_signed_response_alg")),
                  NULL, id_claims);
    id_token = id_jws ? encrypt_for(client, id_jws) : NULL;
    access_token = sign_with(app, "ES256", "at+jwt", at_claims);
    if (!id_token || !access_token) {
        oidc_client_auth_error(resp, 500, "server_error", "Could not sign tokens.");
        goto out;
    }
    if (g->sid)
        store_session_client_add(app->store, g->sid, client_id, g->account_id,
                                 now + cfg->session_ttl);
    answer =
        json_pack("{s:s, s:s, s:i, s:s, s:s}", "access_token", access_token, "token_type", "Bearer",
                  "expires_in", cfg->access_token_ttl, "id_token", id_token, "scope", scope);
    if (answer && refresh)
        json_object_set_new(answer, "refresh_token", json_string(refresh));
    if (!answer) {
        oidc_client_auth_error(resp, 500, "server_error", "Could not issue tokens.");
        goto out;
    }
    atomic_fetch_add(&app->metrics.tokens, 1);
    http_resp_json(resp, 200, answer);
    resp->cache = "no-store";
    http_resp_header(resp, "Pragma", "no-cache");
out:
    json_decref(creq);
    json_decref(id_claims);
    json_decref(at_claims);
    free(id_jws);
    free(id_token);
    free(access_token);
    free(context);
}

/* 1 when the client may hold refresh tokens for this scope: offline_access requested
 * and among the client's allowed scopes. */
static int wants_refresh(const json_t *client, const char *scope)
{
    return oidc_list_has(scope, "offline_access") &&
           oidc_client_has_scope(client, "offline_access");
}

/* A form parameter, or NULL when it is absent or empty (RFC 6749 §3.1). */
static const char *form_value(http_req_t *req, const char *name)
{
    const char *v = http_form(req, name);
    return v && *v ? v : NULL;
}

static void grant_code(http_req_t *req, http_resp_t *resp, const json_t *client)
{
    app_t *app = req->app;
    const char *code = form_value(req, "code");
    const char *redirect_uri = form_value(req, "redirect_uri");
    const char *verifier = form_value(req, "code_verifier");
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    char hash[TOKEN_HASH_HEX_LEN + 1], family[RANDOM_SIZE], refresh[RANDOM_SIZE] = "";
    char rhash[TOKEN_HASH_HEX_LEN + 1];
    store_authcode_t c = {0};
    int64_t now = wp_now();
    int with_refresh;
    wp_err_t rc;

    if (!code || !redirect_uri || strlen(code) > MAX_TOKEN_PARAM) {
        oidc_client_auth_error(resp, 400, "invalid_request", "code and redirect_uri are required.");
        goto out;
    }
    token_hash(app->hash_key, "authcode", code, hash);
    rc = store_authcode_take(app->store, hash, now, &c);
    if (rc == WP_ERR_USED)
        WP_LOG_WARN("token: an authorization code was used twice; its tokens are revoked");
    /* RFC 6749 §4.1.2, RFC 9700 §4.5: the tokens issued from a reused code are revoked,
     * also when the used code itself has expired and been purged already (its grant
     * remembers the code's hash; a code never redeemed has no grant). */
    if (rc != WP_OK)
        store_grant_revoke_code(app->store, hash, now);
    if (rc != WP_OK) {
        oidc_client_auth_error(resp, 400, "invalid_grant",
                               rc == WP_ERR_USED      ? "The code was used already."
                               : rc == WP_ERR_EXPIRED ? "The code has expired."
                                                      : "The code is not valid.");
        goto out;
    }
    if (strcmp(c.client_id, client_id) != 0) {
        oidc_client_auth_error(resp, 400, "invalid_grant",
                               "The code was issued to another client.");
        goto out;
    }
    if (strcmp(c.redirect_uri, redirect_uri) != 0) {
        oidc_client_auth_error(resp, 400, "invalid_grant", "redirect_uri does not match.");
        goto out;
    }
    if (c.code_challenge ? !verifier || !pkce_s256_check(verifier, c.code_challenge)
                         : verifier != NULL || oidc_client_is_public(client)) {
        oidc_client_auth_error(resp, 400, "invalid_grant",
                               "The PKCE code_verifier does not match.");
        goto out;
    }
    token_random(family, sizeof family, RANDOM_BYTES);
    with_refresh = wants_refresh(client, c.scope);
    store_grant_t g = {.family = family,
                       .client_id = c.client_id,
                       .account_id = c.account_id,
                       .scope = c.scope,
                       .acr = c.acr,
                       .sid = c.sid,
                       .code_hash = hash,
                       .auth_time = c.auth_time,
                       .expires_at = now + app->cfg->access_token_ttl};
    if (store_grant_add(app->store, &g) != WP_OK) {
        oidc_client_auth_error(resp, 500, "server_error", "Could not record the grant.");
        goto out;
    }
    if (with_refresh) {
        token_random(refresh, sizeof refresh, RANDOM_BYTES);
        oidc_token_refresh_hash(app, refresh, rhash);
        if (store_refresh_add(app->store, rhash, family, now, now + app->cfg->refresh_token_ttl) !=
            WP_OK) {
            oidc_client_auth_error(resp, 500, "server_error", "Could not issue tokens.");
            goto out;
        }
    }
    issue(req, resp, client, &g, c.scope, c.nonce, with_refresh ? refresh : NULL, c.claims);
out:
    sodium_memzero(refresh, sizeof refresh);
    store_authcode_clear(&c);
}

/* 1 when every scope in want is in have. */
static int scope_subset(const char *want, const char *have)
{
    for (const char *p = want; *p;) {
        size_t m = strcspn(p, " ");
        char one[128];
        if (m >= sizeof one)
            return 0;
        memcpy(one, p, m);
        one[m] = '\0';
        if (m > 0 && !oidc_list_has(have, one))
            return 0;
        p += m;
        p += strspn(p, " ");
    }
    return 1;
}

static void grant_refresh(http_req_t *req, http_resp_t *resp, const json_t *client)
{
    app_t *app = req->app;
    const char *token = form_value(req, "refresh_token");
    const char *scope = http_form(req, "scope");
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    char hash[TOKEN_HASH_HEX_LEN + 1], next[RANDOM_SIZE] = "", next_hash[TOKEN_HASH_HEX_LEN + 1];
    store_grant_t g = {0};
    store_account_t account = {0};
    int64_t now = wp_now(), exp = 0;
    wp_err_t rc;

    if (!token || !*token || strlen(token) > MAX_TOKEN_PARAM) {
        oidc_client_auth_error(resp, 400, "invalid_request", "refresh_token is required.");
        goto out;
    }
    oidc_token_refresh_hash(app, token, hash);
    /* A token of another client is refused without touching it. */
    if (store_refresh_get(app->store, hash, now, &g, &exp) == WP_OK &&
        strcmp(g.client_id, client_id) != 0) {
        oidc_client_auth_error(resp, 400, "invalid_grant",
                               "The refresh token was issued to another client.");
        goto out;
    }
    store_grant_clear(&g);
    token_random(next, sizeof next, RANDOM_BYTES);
    oidc_token_refresh_hash(app, next, next_hash);
    rc = store_refresh_rotate(app->store, hash, next_hash, now + app->cfg->refresh_token_ttl, now,
                              &g);
    if (rc == WP_ERR_USED)
        WP_LOG_WARN("token: a rotated refresh token came back; its grant is revoked");
    if (rc != WP_OK) {
        oidc_client_auth_error(resp, 400, "invalid_grant",
                               rc == WP_ERR_USED      ? "The refresh token was used already."
                               : rc == WP_ERR_EXPIRED ? "The refresh token has expired."
                                                      : "The refresh token is not valid.");
        goto out;
    }
    if (strcmp(g.client_id, client_id) != 0) {
        store_grant_revoke(app->store, g.family, now);
        oidc_client_auth_error(resp, 400, "invalid_grant",
                               "The refresh token was issued to another client.");
        goto out;
    }
    if (scope && !scope_subset(scope, g.scope)) {
        oidc_client_auth_error(resp, 400, "invalid_scope",
                               "The scope may only narrow the original grant.");
        goto out;
    }
    if (store_account_get(app->store, g.account_id, &account) != WP_OK) {
        store_grant_revoke(app->store, g.family, now);
        oidc_client_auth_error(resp, 400, "invalid_grant", "The account no longer exists.");
        goto out;
    }
    issue(req, resp, client, &g, scope && *scope ? scope : g.scope, NULL, next, NULL);
out:
    sodium_memzero(next, sizeof next);
    store_account_clear(&account);
    store_grant_clear(&g);
}

void oidc_token_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *client = NULL;
    const char *grant = form_value(req, "grant_type");

    if (oidc_client_auth(req, resp, "/token", &client) != WP_OK)
        return;
    if (!grant)
        oidc_client_auth_error(resp, 400, "invalid_request", "grant_type is missing.");
    else if (strcmp(grant, "authorization_code") == 0)
        grant_code(req, resp, client);
    else if (strcmp(grant, "refresh_token") == 0)
        grant_refresh(req, resp, client);
    else
        oidc_client_auth_error(resp, 400, "unsupported_grant_type",
                               "Use authorization_code or refresh_token.");
    json_decref(client);
}
