/* Client authentication (RFC 6749 §2.3.1, RFC 7523 §2.2 and §3, OIDC Core §9).
 *
 * private_key_jwt assertions are verified with our own crypto/jws.c (jws_verify) and
 * crypto/sigkey.c (sigkey_from_public_jwk) rather than liboauth2's oauth2_token_verify:
 * the latter takes its keys as a verify-context configuration string (so a client's
 * registered JWKS would be serialised and re-parsed per request), goes through cjose,
 * which has no EdDSA, and checks none of aud, jti or the allowed algorithms anyway; our
 * jws_verify already pins the header alg to the key's algorithm for all four registered
 * algorithms (RS256, PS256, ES256, EdDSA) and is the one verifier the rest of the
 * provider uses. */
#include "idp/oidc_client_auth.h"

#include <oauth2/mem.h>
#include <pthread.h>
#include <oauth2/util.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b64url.h"
#include "crypto/jws.h"
#include "crypto/sigkey.h"
#include "crypto/token.h"
#include "idp/flow.h"
#include "idp/http_fetch.h"

#define MAX_CLIENT_ID 256
#define MAX_SECRET 512
#define MAX_ASSERTION 8192
#define MAX_JTI 256
#define MAX_CLIENT_KEYS 20
#define CLOCK_SKEW 60

void oidc_client_auth_error(http_resp_t *resp, int status, const char *code, const char *desc)
{
    http_resp_json_error(resp, status, code, desc);
    resp->cache = "no-store";
    http_resp_header(resp, "Pragma", "no-cache");
    if (status == 401)
        http_resp_header(resp, "WWW-Authenticate", "Basic realm=\"wereldpas\"");
}

int oidc_client_is_public(const json_t *client)
{
    const char *m = json_string_value(json_object_get(client, "token_endpoint_auth_method"));
    return m && strcmp(m, "none") == 0;
}

/* Splits "Basic base64(urlenc(id):urlenc(secret))" (RFC 6749 §2.3.1). 0 or -1; on 0
 * *id and *secret are freed with oauth2_mem_free. */
static int parse_basic(const char *header, char **id, char **secret)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0, b64_len;
    char *text = NULL;
    int rc = -1;
    if (strncasecmp(header, "Basic ", 6) != 0 || (b64_len = strlen(header + 6)) > 4096)
        return -1;
    /* libsodium's decoder refuses any malformed input; the one liboauth2 uses (cjose's)
     * aborts the process on some of it (found by tests/fuzz/fuzz_http). */
    raw = malloc(b64_len / 4 * 3 + 3);
    if (!raw || sodium_base642bin(raw, b64_len / 4 * 3 + 3, header + 6, b64_len, NULL, &raw_len,
                                  NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        goto out;
    text = calloc(1, raw_len + 1);
    if (!text)
        goto out;
    memcpy(text, raw, raw_len);
    char *colon = strchr(text, ':');
    if (!colon || strlen(text) != raw_len)
        goto out;
    *colon = '\0';
    *id = oauth2_url_decode(NULL, text);
    *secret = oauth2_url_decode(NULL, colon + 1);
    if (*id && *secret) {
        rc = 0;
    } else {
        oauth2_mem_free(*id);
        oauth2_mem_free(*secret);
        *id = *secret = NULL;
    }
out:
    if (text)
        sodium_memzero(text, raw_len);
    free(text);
    if (raw)
        sodium_memzero(raw, raw_len);
    free(raw);
    return rc;
}

/* Decodes part index (0 header, 1 payload) of a compact JWS without verifying it.
 * Returns an object (json_decref) or NULL. */
static json_t *jws_part(const char *compact, int index)
{
    const char *p = compact;
    for (int i = 0; i < index && p; i++) {
        p = strchr(p, '.');
        if (p)
            p++;
    }
    if (!p)
        return NULL;
    size_t n = strcspn(p, ".");
    char *text = strndup(p, n);
    uint8_t *raw = NULL;
    size_t len = 0;
    json_t *j = NULL;
    if (text && b64url_decode(text, MAX_ASSERTION, &raw, &len) == 0)
        j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    free(text);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* 1 when alg is one the client may sign assertions with: its registered
 * token_endpoint_auth_signing_alg when set, else any of RS256, PS256, ES256, EdDSA. */
static int alg_allowed(const json_t *client, const char *alg, sigkey_alg_t *out)
{
    const char *reg = json_string_value(json_object_get(client, "token_endpoint_auth_signing_alg"));
    if (!alg || sigkey_alg_parse(alg, out) != 0)
        return 0;
    return !reg || strcmp(reg, alg) == 0;
}

/* 1 when aud (string or array) names the issuer, the token endpoint or this endpoint. */
static int aud_ok(const app_t *app, const json_t *aud, const char *endpoint)
{
    char token_url[1024], this_url[1024];
    snprintf(token_url, sizeof token_url, "%s/token", app->cfg->issuer);
    snprintf(this_url, sizeof this_url, "%s%s", app->cfg->issuer, endpoint);
    if (json_is_string(aud)) {
        const char *a = json_string_value(aud);
        return strcmp(a, app->cfg->issuer) == 0 || strcmp(a, token_url) == 0 ||
               strcmp(a, this_url) == 0;
    }
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && aud_ok(app, v, endpoint))
            return 1;
    }
    return 0;
}

#define JWKS_MAX_BYTES 65536
#define JWKS_CACHE_TTL 300    /* a fetched jwks_uri document is used this long */
#define JWKS_REFETCH_AFTER 10 /* a failed verification refetches a document this old */
#define JWKS_CACHE_MAX 64

/* Documents fetched from clients' jwks_uri, shared by all threads. */
typedef struct {
    char *uri;
    json_t *jwks;
    int64_t fetched_at;
} jwks_entry_t;

static pthread_mutex_t jwks_lock = PTHREAD_MUTEX_INITIALIZER;
static jwks_entry_t jwks_cache[JWKS_CACHE_MAX];

/* GETs a JWKS document (http or https, no redirects, short timeouts, at most
 * JWKS_MAX_BYTES). Returns {"keys": [...]} (json_decref) or NULL. */
static json_t *jwks_fetch(const char *uri)
{
    long status = 0;
    json_t *doc = http_fetch_json(uri, JWKS_MAX_BYTES, 5000L, &status, NULL);
    if (doc && !json_is_array(json_object_get(doc, "keys"))) {
        json_decref(doc);
        doc = NULL;
    }
    if (!doc)
        WP_LOG_WARN("client auth: cannot fetch a JWKS from %s (HTTP %ld)", uri, status);
    return doc;
}

/* The client's keys: its registered "jwks", else the document at its "jwks_uri",
 * cached for JWKS_CACHE_TTL and refetched when refresh is set and the copy is older
 * than JWKS_REFETCH_AFTER (a key rotation). New reference (json_decref) or NULL. */
static json_t *client_jwks(const json_t *client, int refresh)
{
    const char *uri = json_string_value(json_object_get(client, "jwks_uri"));
    int64_t now = wp_now();
    json_t *doc = NULL;
    size_t slot = 0;

    if (json_object_get(client, "jwks"))
        return json_incref(json_object_get(client, "jwks"));
    if (!uri)
        return NULL;
    pthread_mutex_lock(&jwks_lock);
    for (size_t i = 0; i < JWKS_CACHE_MAX; i++) {
        jwks_entry_t *e = &jwks_cache[i];
        if (e->uri && strcmp(e->uri, uri) == 0) {
            int64_t age = now - e->fetched_at;
            if (age < JWKS_CACHE_TTL && !(refresh && age >= JWKS_REFETCH_AFTER))
                doc = json_incref(e->jwks);
            slot = i;
            break;
        }
        if (!e->uri || (jwks_cache[slot].uri && e->fetched_at < jwks_cache[slot].fetched_at))
            slot = i;
    }
    pthread_mutex_unlock(&jwks_lock);
    if (doc)
        return doc;
    doc = jwks_fetch(uri);
    if (!doc)
        return NULL;
    char *copy = strdup(uri);
    pthread_mutex_lock(&jwks_lock);
    if (copy) {
        jwks_entry_t *e = &jwks_cache[slot];
        free(e->uri);
        json_decref(e->jwks);
        e->uri = copy;
        e->jwks = json_incref(doc);
        e->fetched_at = now;
    }
    pthread_mutex_unlock(&jwks_lock);
    return doc;
}

json_t *oidc_client_jwks(const json_t *client)
{
    return client_jwks(client, 0);
}

/* Verifies the signature of assertion with the client's keys of algorithm alg (from its
 * jwks, or its jwks_uri, refetched for a rotated key when refresh is set).
 * 0 and *claims (json_decref), or -1. */
static int assertion_verify(const json_t *client, const char *assertion, sigkey_alg_t alg,
                            int refresh, json_t **claims)
{
    json_t *jwks = client_jwks(client, refresh), *v;
    sigkey_t *keys[MAX_CLIENT_KEYS] = {0};
    size_t nkeys = 0, i;
    int rc = -1;
    json_array_foreach(json_object_get(jwks, "keys"), i, v)
    {
        const char *use = json_string_value(json_object_get(v, "use"));
        const char *key_alg = json_string_value(json_object_get(v, "alg"));
        if (nkeys == MAX_CLIENT_KEYS || (use && strcmp(use, "sig") != 0) ||
            (key_alg && strcmp(key_alg, sigkey_alg_name(alg)) != 0))
            continue;
        keys[nkeys] = sigkey_from_public_jwk(v, alg);
        if (keys[nkeys])
            nkeys++;
    }
    if (nkeys > 0)
        rc = jws_verify(assertion, keys, nkeys, NULL, claims);
    for (i = 0; i < nkeys; i++)
        sigkey_free(keys[i]);
    json_decref(jwks);
    return rc;
}

/* Verifies a private_key_jwt assertion of client (RFC 7523 §3). 0, or -1 with *why. */
static int assertion_check(http_req_t *req, const json_t *client, const char *assertion,
                           const char *endpoint, const char **why)
{
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    json_t *header = jws_part(assertion, 0), *claims = NULL;
    sigkey_alg_t alg;
    int64_t now = wp_now();
    int rc = -1;

    *why = "signature";
    if (!header || !alg_allowed(client, json_string_value(json_object_get(header, "alg")), &alg)) {
        *why = "algorithm not allowed";
        goto out;
    }
    if (assertion_verify(client, assertion, alg, 0, &claims) != 0 &&
        (!json_object_get(client, "jwks_uri") ||
         assertion_verify(client, assertion, alg, 1, &claims) != 0))
        goto out;
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
    json_t *iat = json_object_get(claims, "iat");
    if (!iss || !sub || strcmp(iss, client_id) != 0 || strcmp(sub, client_id) != 0) {
        *why = "iss and sub must be the client_id";
        goto out;
    }
    if (!aud_ok(req->app, json_object_get(claims, "aud"), endpoint)) {
        *why = "aud";
        goto out;
    }
    if (!json_is_integer(exp) || json_integer_value(exp) <= now - CLOCK_SKEW ||
        json_integer_value(exp) > now + req->app->cfg->assertion_max_ttl) {
        *why = "exp missing, past or too far ahead";
        goto out;
    }
    if ((nbf && (!json_is_integer(nbf) || json_integer_value(nbf) > now + CLOCK_SKEW)) ||
        (iat && (!json_is_integer(iat) || json_integer_value(iat) > now + CLOCK_SKEW))) {
        *why = "nbf or iat in the future";
        goto out;
    }
    if (!jti || !*jti || strlen(jti) > MAX_JTI) {
        *why = "jti missing";
        goto out;
    }
    if (store_assertion_jti_use(req->app->store, client_id, jti,
                                json_integer_value(exp) + CLOCK_SKEW) != WP_OK) {
        *why = "jti replayed";
        goto out;
    }
    rc = 0;
out:
    json_decref(header);
    json_decref(claims);
    return rc;
}

wp_err_t oidc_client_auth(http_req_t *req, http_resp_t *resp, const char *endpoint, json_t **client)
{
    const char *auth = http_header(req, "Authorization");
    const char *form_id = http_form(req, "client_id");
    const char *form_secret = http_form(req, "client_secret");
    const char *atype = http_form(req, "client_assertion_type");
    const char *assertion = http_form(req, "client_assertion");
    char *basic_id = NULL, *basic_secret = NULL, *jwt_id = NULL;
    const char *id, *secret = NULL, *used, *why = "credentials";
    char key[MAX_CLIENT_ID + 16];
    int count = 0;
    wp_err_t rc = WP_ERR_INVALID;

    *client = NULL;
    /* Every endpoint that authenticates clients takes a form body without repeats. */
    if (!req->form || !http_header(req, "Content-Type")) {
        oidc_client_auth_error(resp, 400, "invalid_request",
                               "Send the parameters as application/x-www-form-urlencoded.");
        goto out;
    }
    if (req->dup_param) {
        oidc_client_auth_error(resp, 400, "invalid_request", "A parameter was repeated.");
        goto out;
    }
    if (auth && parse_basic(auth, &basic_id, &basic_secret) != 0) {
        oidc_client_auth_error(resp, 401, "invalid_client",
                               "The Authorization header is malformed.");
        goto out;
    }
    if ((basic_id != NULL) + (form_secret != NULL) + (atype != NULL || assertion != NULL) > 1) {
        oidc_client_auth_error(resp, 400, "invalid_request",
                               "Use one client authentication method.");
        goto out;
    }
    if (atype || assertion) {
        json_t *payload;
        if (!atype || strcmp(atype, OIDC_ASSERTION_TYPE) != 0 || !assertion ||
            strlen(assertion) > MAX_ASSERTION) {
            oidc_client_auth_error(resp, 400, "invalid_request",
                                   "client_assertion_type must be " OIDC_ASSERTION_TYPE
                                   " with a client_assertion.");
            goto out;
        }
        payload = jws_part(assertion, 1);
        const char *iss = json_string_value(json_object_get(payload, "iss"));
        jwt_id = iss ? strdup(iss) : NULL;
        json_decref(payload);
        if (!jwt_id) {
            oidc_client_auth_error(resp, 401, "invalid_client",
                                   "The client assertion is malformed.");
            goto out;
        }
        id = jwt_id;
        used = "private_key_jwt";
    } else {
        id = basic_id ? basic_id : form_id;
        secret = basic_id ? basic_secret : form_secret;
        used = basic_id ? "client_secret_basic" : form_secret ? "client_secret_post" : "none";
    }
    if (form_id && id && strcmp(form_id, id) != 0) {
        oidc_client_auth_error(resp, 400, "invalid_request",
                               "client_id does not match the credentials.");
        goto out;
    }
    if (!id || !*id || strlen(id) > MAX_CLIENT_ID || (secret && strlen(secret) > MAX_SECRET)) {
        oidc_client_auth_error(resp, 401, "invalid_client", "Client authentication is missing.");
        goto out;
    }
    snprintf(key, sizeof key, "client:%s", id);
    store_ratelimit_count(req->app->store, key, req->app->cfg->fail_window, wp_now(), &count);
    if (count >= req->app->cfg->fail_per_client || flow_ip_limited(req, "token", 0)) {
        oidc_client_auth_error(resp, 429, "invalid_client",
                               "Too many failed attempts; try again later.");
        rc = WP_ERR_LIMIT;
        goto out;
    }
    if (store_client_get(req->app->store, id, client) != WP_OK) {
        why = "unknown client";
        goto fail;
    }
    const char *method = json_string_value(json_object_get(*client, "token_endpoint_auth_method"));
    if (!method || strcmp(method, used) != 0) {
        why = "not the registered method";
        goto fail;
    }
    if (strncmp(used, "client_secret_", 14) == 0 &&
        strcmp(req->app->cfg->confidential_auth, "private_key_jwt") == 0) {
        why = "secrets are switched off (confidential_auth = private_key_jwt)";
        goto fail;
    }
    if (strcmp(used, "private_key_jwt") == 0) {
        if (assertion_check(req, *client, assertion, endpoint, &why) != 0)
            goto fail;
    } else if (strcmp(used, "none") != 0) {
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
    WP_LOG_WARN("%s: client authentication (%s) failed from %s: %s", endpoint, used, req->client_ip,
                why);
    oidc_client_auth_error(resp, 401, "invalid_client", "Client authentication failed.");
out:
    if (basic_secret)
        sodium_memzero(basic_secret, strlen(basic_secret));
    oauth2_mem_free(basic_id);
    oauth2_mem_free(basic_secret);
    free(jwt_id);
    return rc;
}
