/* The token endpoint (RFC 6749 §3.2, §4.1.3; OIDC Core §3.1.3): client authentication,
 * the authorization-code grant with PKCE, ID tokens and JWT access tokens (RFC 9068). */
#include <oauth2/mem.h>
#include <oauth2/util.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b64url.h"
#include "crypto/jws.h"
#include "crypto/pkce.h"
#include "crypto/seal.h"
#include "crypto/token.h"
#include "idp/flow.h"
#include "idp/oidc.h"
#include "idp/router.h"

#define MAX_CLIENT_ID 256
#define MAX_SECRET 512

static void token_error(http_resp_t *resp, int status, const char *code, const char *desc)
{
    http_resp_json_error(resp, status, code, desc);
    http_resp_header(resp, "Pragma", "no-cache");
    if (status == 401)
        http_resp_header(resp, "WWW-Authenticate", "Basic realm=\"wereldpas\"");
}

/* Splits "Basic base64(urlenc(id):urlenc(secret))" (RFC 6749 §2.3.1). 0 or -1. */
static int parse_basic(const char *header, char **id, char **secret)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int rc = -1;
    if (strncasecmp(header, "Basic ", 6) != 0 || strlen(header) > 4096)
        return -1;
    if (!oauth2_base64_decode(NULL, header + 6, &raw, &raw_len) || !raw)
        return -1;
    char *text = calloc(1, raw_len + 1);
    if (!text)
        goto out;
    memcpy(text, raw, raw_len);
    char *colon = strchr(text, ':');
    if (!colon || strlen(text) != raw_len)
        goto out;
    *colon = '\0';
    *id = oauth2_url_decode(NULL, text);
    *secret = oauth2_url_decode(NULL, colon + 1);
    rc = (*id && *secret) ? 0 : -1;
out:
    if (text)
        sodium_memzero(text, raw_len);
    free(text);
    oauth2_mem_free(raw);
    return rc;
}

/* Authenticates the client. On success returns WP_OK and *client (json_decref).
 * On failure fills resp and returns an error. */
static wp_err_t authenticate_client(http_req_t *req, http_resp_t *resp, json_t **client)
{
    const char *auth = http_header(req, "Authorization");
    const char *form_id = http_form(req, "client_id");
    const char *form_secret = http_form(req, "client_secret");
    char *basic_id = NULL, *basic_secret = NULL;
    const char *id, *secret, *used;
    char key[MAX_CLIENT_ID + 16];
    int count = 0;
    wp_err_t rc = WP_ERR_INVALID;

    if (auth && parse_basic(auth, &basic_id, &basic_secret) != 0) {
        token_error(resp, 401, "invalid_client", "The Authorization header is malformed.");
        goto out;
    }
    if (basic_id && form_secret) {
        token_error(resp, 400, "invalid_request", "Use one client authentication method.");
        goto out;
    }
    if (basic_id && form_id && strcmp(basic_id, form_id) != 0) {
        token_error(resp, 400, "invalid_request", "client_id does not match the credentials.");
        goto out;
    }
    id = basic_id ? basic_id : form_id;
    secret = basic_id ? basic_secret : form_secret;
    used = basic_id ? "client_secret_basic" : form_secret ? "client_secret_post" : "none";
    if (!id || !*id || strlen(id) > MAX_CLIENT_ID || (secret && strlen(secret) > MAX_SECRET)) {
        token_error(resp, 401, "invalid_client", "Client authentication is missing.");
        goto out;
    }
    snprintf(key, sizeof key, "client:%s", id);
    store_ratelimit_count(req->app->store, key, req->app->cfg->fail_window, wp_now(), &count);
    if (count >= req->app->cfg->fail_per_client || flow_ip_limited(req, "token", 0)) {
        token_error(resp, 429, "invalid_client", "Too many failed attempts; try again later.");
        goto out;
    }
    if (store_client_get(req->app->store, id, client) != WP_OK)
        goto fail;
    const char *method = json_string_value(json_object_get(*client, "token_endpoint_auth_method"));
    if (!method || strcmp(method, used) != 0)
        goto fail;
    if (strcmp(used, "none") != 0) {
        char hash[TOKEN_HASH_HEX_LEN + 1];
        const char *stored = json_string_value(json_object_get(*client, "secret_hash"));
        token_hash(req->app->hash_key, "client_secret", secret, hash);
        if (!stored || !token_equal(hash, stored))
            goto fail;
    }
    rc = WP_OK;
    goto out;
fail:
    json_decref(*client);
    *client = NULL;
    store_ratelimit_add(req->app->store, key, req->app->cfg->fail_window, wp_now(), &count);
    flow_ip_limited(req, "token", 1);
    WP_LOG_WARN("token: client authentication failed for a client id from %s", req->client_ip);
    token_error(resp, 401, "invalid_client", "Client authentication failed.");
out:
    if (basic_secret)
        sodium_memzero(basic_secret, strlen(basic_secret));
    oauth2_mem_free(basic_id);
    oauth2_mem_free(basic_secret);
    return rc;
}

/* Signs claims with the client's ID token algorithm. malloc'd or NULL. */
static char *sign_with(http_req_t *req, const char *alg_name, const char *typ, json_t *claims)
{
    sigkey_alg_t alg;
    if (!alg_name || sigkey_alg_parse(alg_name, &alg) != 0)
        alg = SIGKEY_RS256;
    const sigkey_t *key = keyring_signing_key(req->app->keys, alg, wp_now());
    if (!key) {
        WP_LOG_ERR("no signing key for %s", sigkey_alg_name(alg));
        return NULL;
    }
    return jws_sign(key, typ, claims);
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

static void grant_code(http_req_t *req, http_resp_t *resp, const json_t *client)
{
    const char *code = http_form(req, "code");
    const char *redirect_uri = http_form(req, "redirect_uri");
    const char *verifier = http_form(req, "code_verifier");
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    const char *issuer = req->app->cfg->issuer;
    char hash[TOKEN_HASH_HEX_LEN + 1], sub[96], jti[32], ajti[32];
    store_authcode_t c = {0};
    json_t *id_claims = NULL, *at_claims = NULL;
    char *id_token = NULL, *access_token = NULL, *context = NULL;
    int64_t now = wp_now();
    const config_t *cfg = req->app->cfg;
    wp_err_t rc;

    if (!code || !redirect_uri || strlen(code) > 128) {
        token_error(resp, 400, "invalid_request", "code and redirect_uri are required.");
        goto out;
    }
    token_hash(req->app->hash_key, "authcode", code, hash);
    rc = store_authcode_take(req->app->store, hash, now, &c);
    if (rc != WP_OK) {
        token_error(resp, 400, "invalid_grant",
                    rc == WP_ERR_USED      ? "The code was used already."
                    : rc == WP_ERR_EXPIRED ? "The code has expired."
                                           : "The code is not valid.");
        goto out;
    }
    if (strcmp(c.client_id, client_id) != 0) {
        token_error(resp, 400, "invalid_grant", "The code was issued to another client.");
        goto out;
    }
    if (strcmp(c.redirect_uri, redirect_uri) != 0) {
        token_error(resp, 400, "invalid_grant", "redirect_uri does not match.");
        goto out;
    }
    if (c.code_challenge ? !verifier || !pkce_s256_check(verifier, c.code_challenge)
                         : verifier != NULL) {
        token_error(resp, 400, "invalid_grant", "The PKCE code_verifier does not match.");
        goto out;
    }
    oidc_subject(req->app, client, c.account_id, sub, sizeof sub);
    token_random(jti, sizeof jti, 16);
    token_random(ajti, sizeof ajti, 16);
    id_claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:s, s:s}", "iss", issuer,
                          "sub", sub, "aud", client_id, "exp", (json_int_t)now + cfg->id_token_ttl,
                          "iat", (json_int_t)now, "nbf", (json_int_t)now, "jti", jti, "auth_time",
                          (json_int_t)c.auth_time, "acr", c.acr, "sid", c.sid);
    if (id_claims && c.nonce)
        json_object_set_new(id_claims, "nonce", json_string(c.nonce));
    context = seal_context(req->app, c.account_id);
    at_claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:s, s:s}", "iss", issuer,
                          "sub", sub, "aud", issuer, "client_id", client_id, "exp",
                          (json_int_t)now + cfg->access_token_ttl, "iat", (json_int_t)now, "jti",
                          ajti, "scope", c.scope, "auth_time", (json_int_t)c.auth_time, "acr",
                          c.acr, "ctx", context ? context : "");
    if (!id_claims || !at_claims || !context) {
        token_error(resp, 500, "server_error", "Could not issue tokens.");
        goto out;
    }
    id_token =
        sign_with(req, json_string_value(json_object_get(client, "id_token_signed_response_alg")),
                  NULL, id_claims);
    access_token = sign_with(req, "ES256", "at+jwt", at_claims);
    if (!id_token || !access_token) {
        token_error(resp, 500, "server_error", "Could not sign tokens.");
        goto out;
    }
    atomic_fetch_add(&req->app->metrics.tokens, 1);
    http_resp_json(resp, 200,
                   json_pack("{s:s, s:s, s:i, s:s, s:s}", "access_token", access_token,
                             "token_type", "Bearer", "expires_in", cfg->access_token_ttl,
                             "id_token", id_token, "scope", c.scope));
    http_resp_header(resp, "Pragma", "no-cache");
out:
    store_authcode_clear(&c);
    json_decref(id_claims);
    json_decref(at_claims);
    free(id_token);
    free(access_token);
    free(context);
}

void oidc_token_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *client = NULL;
    const char *grant = http_form(req, "grant_type");

    if (!req->form || !http_header(req, "Content-Type")) {
        token_error(resp, 400, "invalid_request",
                    "Send the parameters as application/x-www-form-urlencoded.");
        return;
    }
    if (req->dup_param) {
        token_error(resp, 400, "invalid_request", "A parameter was repeated.");
        return;
    }
    if (authenticate_client(req, resp, &client) != WP_OK)
        return;
    if (!grant)
        token_error(resp, 400, "invalid_request", "grant_type is missing.");
    else if (strcmp(grant, "authorization_code") == 0)
        grant_code(req, resp, client);
    else
        token_error(resp, 400, "unsupported_grant_type", "Only authorization_code is supported.");
    json_decref(client);
}
