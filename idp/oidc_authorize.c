/* The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636, RFC 9207) and
 * /continue, where a finished login flow returns to the client. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/jwe.h"
#include "crypto/jws.h"
#include "crypto/pkce.h"
#include "crypto/sigkey.h"
#include "idp/flow.h"
#include "idp/oidc.h"
#include "idp/oidc_par.h"
#include "idp/page.h"
#include "idp/router.h"

#define MAX_PARAM_LEN 2048

/* The requested scopes that the client may have, always with openid. malloc'd. */
static char *granted_scope(const json_t *client, const char *scope)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    fputs("openid", f);
    for (const char *p = scope; *p;) {
        size_t m = strcspn(p, " ");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(client, "scopes"), i, v)
        {
            const char *s = json_string_value(v);
            if (s && strlen(s) == m && strncmp(p, s, m) == 0 && strcmp(s, "openid") != 0) {
                fprintf(f, " %s", s);
                break;
            }
        }
        p += m;
        p += strspn(p, " ");
    }
    fclose(f);
    return out;
}

/* The values of an acr claim request ({"value": V} or {"values": [...]}) as a
 * space-separated list, malloc'd; NULL when there are none. */
static char *acr_list(const json_t *acr)
{
    char *out = NULL;
    size_t len = 0, i;
    json_t *v;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    if (json_is_string(json_object_get(acr, "value")))
        fprintf(f, "%s", json_string_value(json_object_get(acr, "value")));
    json_array_foreach(json_object_get(acr, "values"), i, v)
    {
        if (json_is_string(v))
            fprintf(f, "%s%s", ftell(f) > 0 ? " " : "", json_string_value(v));
    }
    fclose(f);
    if (out && !*out) {
        free(out);
        out = NULL;
    }
    return out;
}

/* A request parameter, or NULL when it is absent or empty (RFC 6749 §3.1: a parameter
 * sent without a value is treated as omitted). */
static const char *param(const json_t *params, const char *name)
{
    const char *v = json_string_value(json_object_get(params, name));
    return v && *v ? v : NULL;
}

/* Validates the parameters after client and redirect URI are known good. Returns NULL
 * and fills request, or the OAuth error code with *desc. */
static const char *validate(http_req_t *req, const json_t *params, const json_t *client,
                            json_t *request, const char **desc)
{
    const char *response_type = param(params, "response_type");
    const char *scope = param(params, "scope");
    const char *challenge = param(params, "code_challenge");
    const char *method = param(params, "code_challenge_method");
    const char *prompt = param(params, "prompt");
    const char *max_age = param(params, "max_age");
    const char *response_mode = param(params, "response_mode");
    const char *pkce = json_string_value(json_object_get(client, "pkce"));
    const char *names[] = {"state", "nonce", "acr_values", "ui_locales", "login_hint", "prompt"};

    if (req->dup_param) {
        *desc = "A parameter was repeated.";
        return "invalid_request";
    }
    if (!response_type) {
        *desc = "response_type is missing.";
        return "invalid_request";
    }
    if (strcmp(response_type, "code") != 0) {
        *desc = "Only response_type=code is supported.";
        return "unsupported_response_type";
    }
    if (response_mode && strcmp(response_mode, "query") != 0 &&
        strcmp(response_mode, "form_post") != 0) {
        *desc = "response_mode must be query or form_post.";
        return "invalid_request";
    }
    if (!scope || !oidc_list_has(scope, "openid")) {
        *desc = "The scope must include openid.";
        return "invalid_scope";
    }
    if (method && strcmp(method, "S256") != 0) {
        *desc = "Only code_challenge_method=S256 is supported.";
        return "invalid_request";
    }
    if (challenge && !pkce_challenge_valid(challenge)) {
        *desc = "code_challenge is malformed.";
        return "invalid_request";
    }
    if (challenge && !method) {
        *desc = "code_challenge_method=S256 is required with code_challenge.";
        return "invalid_request";
    }
    if (!challenge && !(pkce && strcmp(pkce, "optional") == 0)) {
        *desc = "PKCE (code_challenge with S256) is required.";
        return "invalid_request";
    }
    if (prompt) {
        for (const char *p = prompt; *p;) {
            size_t m = strcspn(p, " ");
            if (!((m == 4 && !strncmp(p, "none", 4)) || (m == 5 && !strncmp(p, "login", 5)) ||
                  (m == 7 && !strncmp(p, "consent", 7)) ||
                  (m == 14 && !strncmp(p, "select_account", 14)))) {
                *desc = "Unknown prompt value.";
                return "invalid_request";
            }
            p += m;
            p += strspn(p, " ");
        }
        if (oidc_list_has(prompt, "none") && strcmp(prompt, "none") != 0) {
            *desc = "prompt=none cannot be combined with other values.";
            return "invalid_request";
        }
    }
    if (max_age) {
        char *end = NULL;
        long v = strtol(max_age, &end, 10);
        if (!*max_age || *end || v < 0) {
            *desc = "max_age must be a non-negative integer.";
            return "invalid_request";
        }
        json_object_set_new(request, "max_age", json_integer(v));
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = param(params, names[i]);
        if (v && strlen(v) > MAX_PARAM_LEN) {
            *desc = "A parameter is too long.";
            return "invalid_request";
        }
        if (v)
            json_object_set_new(request, names[i], json_string(v));
    }
    const char *claims = param(params, "claims");
    if (claims) {
        json_t *c = json_loads(claims, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(c)) {
            json_decref(c);
            *desc = "claims is not a JSON object.";
            return "invalid_request";
        }
        json_object_set_new(request, "claims", c);
        /* An essential acr claim is a hard requirement (OIDC Core §5.5.1.1). */
        const json_t *acr = json_object_get(json_object_get(c, "id_token"), "acr");
        if (json_is_true(json_object_get(acr, "essential"))) {
            char *list = acr_list(acr);
            if (!list) {
                *desc = "The essential acr claim names no level.";
                return "invalid_request";
            }
            json_object_set_new(request, "acr_essential", json_string(list));
            free(list);
        }
    }
    const char *hint = param(params, "id_token_hint");
    if (hint) {
        json_t *hc = NULL;
        if (oidc_id_token_hint(req->app, hint, &hc) != WP_OK ||
            !oidc_hint_has_audience(hc, param(params, "client_id"))) {
            json_decref(hc);
            *desc = "id_token_hint is not an ID token issued to this client.";
            return "invalid_request";
        }
        json_object_set(request, "hint_sub", json_object_get(hc, "sub"));
        json_decref(hc);
    }
    char *granted = granted_scope(client, scope);
    if (!granted) {
        *desc = "Out of memory.";
        return "server_error";
    }
    json_object_set_new(request, "scope", json_string(granted));
    free(granted);
    if (challenge)
        json_object_set_new(request, "code_challenge", json_string(challenge));
    return NULL;
}

/* 1 when login_hint names the session's own person: the subject this client would
 * receive for it, or (a hint with '@') the contact address on file, compared without
 * regard to case. Any other hint, whether or not it names somebody we know, is 0: the
 * answer depends on the session's person only, so it tells nothing about others. */
static int login_hint_matches(app_t *app, const json_t *client, const char *hint,
                              const char *account_id)
{
    char sub[96];
    store_account_t account = {0};
    store_person_t person = {0};
    int match = 0;

    oidc_subject(app, client, account_id, sub, sizeof sub);
    if (strcmp(sub, hint) == 0)
        return 1;
    if (!strchr(hint, '@'))
        return 0;
    if (store_account_get(app->store, account_id, &account) == WP_OK &&
        store_person_get(app->store, account.person_number, &person) == WP_OK &&
        person.contact_email)
        match = strcasecmp(person.contact_email, hint) == 0;
    store_person_clear(&person);
    store_account_clear(&account);
    return match;
}

/* 1 when the session satisfies id_token_hint, login_hint, prompt, max_age and the
 * acr_values of the request. */
static int session_usable(app_t *app, const json_t *client, const json_t *request,
                          const store_session_t *s)
{
    const char *hint_sub = json_string_value(json_object_get(request, "hint_sub"));
    const char *login_hint = json_string_value(json_object_get(request, "login_hint"));
    const char *essential = json_string_value(json_object_get(request, "acr_essential"));
    if (hint_sub) {
        char sub[96];
        oidc_subject(app, client, s->account_id, sub, sizeof sub);
        if (strcmp(sub, hint_sub) != 0)
            return 0;
    }
    if (login_hint && !login_hint_matches(app, client, login_hint, s->account_id))
        return 0;
    if (essential && !oidc_acr_reaches(app, essential, s->acr))
        return 0;
    const char *prompt = json_string_value(json_object_get(request, "prompt"));
    json_t *max_age = json_object_get(request, "max_age");
    /* select_account: the passkey chooser of a new ceremony is where the person picks
     * the account (OIDC Core §3.1.2.1). consent is satisfied by the client's registration
     * for its scopes. */
    if (prompt && (oidc_list_has(prompt, "login") || oidc_list_has(prompt, "select_account")))
        return 0;
    if (max_age && wp_now() - s->auth_time > json_integer_value(max_age))
        return 0;
    return oidc_acr_satisfied(app, json_string_value(json_object_get(request, "acr_values")),
                              s->acr);
}

/* The signed request object inside an encrypted one (RFC 9101 §6.1, OIDC Core §6.3.3):
 * a compact JWE to one of our encryption keys, alg RSA-OAEP or RSA-OAEP-256, enc
 * A256GCM. Returns its
 * plaintext (free with request_plain_free) or NULL. The plaintext is only a candidate:
 * it must still verify as a JWS signed by the client, so an unsigned one is refused. */
static char *request_decrypt(const app_t *app, const char *jwe)
{
    sigkey_t *const *keys = NULL;
    size_t n = 0;
    char *plain = NULL;

    keyring_enc_keys(app->keys, &keys, &n);
    if (jwe_decrypt(jwe, keys, n, &plain) != 0)
        return NULL;
    return plain;
}

static void request_plain_free(char *plain)
{
    if (plain) {
        sodium_memzero(plain, strlen(plain));
        free(plain);
    }
}

/* Verifies a request object (RFC 9101 §6.2: signed by one of the client's registered
 * keys, iss = client_id, aud = our issuer, not expired; when encrypted to us, that
 * signed object nested in the JWE) and returns its claims as the request parameters
 * (new reference), or NULL. */
static json_t *request_object(const app_t *app, const json_t *client, const char *value)
{
    const json_t *jwks = json_object_get(json_object_get(client, "jwks"), "keys");
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    sigkey_t *keys[8] = {0};
    size_t n = 0, i;
    json_t *jwk, *claims = NULL, *params = NULL;
    char *plain = NULL;
    const char *jwt = value;

    if (jwe_is_compact(value)) {
        plain = request_decrypt(app, value);
        if (!plain)
            return NULL;
        jwt = plain;
    }
    if (strlen(jwt) > 16384)
        goto out;
    json_array_foreach(jwks, i, jwk)
    {
        sigkey_alg_t alg;
        const char *name = json_string_value(json_object_get(jwk, "alg"));
        const char *use = json_string_value(json_object_get(jwk, "use"));
        if (n == sizeof keys / sizeof keys[0] || !name || sigkey_alg_parse(name, &alg) != 0 ||
            (use && strcmp(use, "sig") != 0))
            continue;
        keys[n] = sigkey_from_public_jwk(jwk, alg);
        if (keys[n])
            n++;
    }
    if (n == 0 || jws_verify(jwt, keys, n, NULL, &claims) != 0)
        goto out;
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const json_t *aud = json_object_get(claims, "aud");
    json_t *exp = json_object_get(claims, "exp");
    if (!iss || strcmp(iss, client_id) != 0 || !oidc_hint_has_audience(claims, app->cfg->issuer) ||
        (aud == NULL) || (exp && (!json_is_integer(exp) || json_integer_value(exp) <= wp_now())))
        goto out;
    params = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(claims, key, v)
    {
        char num[32];
        if (!strcmp(key, "iss") || !strcmp(key, "aud") || !strcmp(key, "exp") ||
            !strcmp(key, "iat") || !strcmp(key, "nbf") || !strcmp(key, "jti"))
            continue;
        if (json_is_string(v)) {
            json_object_set(params, key, v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            json_object_set_new(params, key, json_string(num));
        } else if (json_is_object(v)) {
            char *text = json_dumps(v, JSON_COMPACT);
            if (text)
                json_object_set_new(params, key, json_string(text));
            free(text);
        }
    }
out:
    for (i = 0; i < n; i++)
        sigkey_free(keys[i]);
    json_decref(claims);
    request_plain_free(plain);
    return params;
}

void oidc_authorize_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *src = req->method == HTTP_POST ? req->form : req->query;
    const char *client_id = param(src, "client_id");
    json_t *client = NULL, *request = NULL, *params = NULL;
    store_session_t session = {0};
    const char *error, *desc = NULL;
    char flow[FLOW_ID_MAX];
    int foreign_uri = 0, bad_object = 0;

    /* Client and redirect URI first: until both are known good nothing redirects. */
    if (!client_id ||
        (req->dup_param &&
         (strcmp(req->dup_param, "client_id") == 0 || strcmp(req->dup_param, "redirect_uri") == 0 ||
          strcmp(req->dup_param, "request") == 0 || strcmp(req->dup_param, "request_uri") == 0))) {
        page_error(req, resp, 400, "error_authorize_request");
        goto out;
    }
    if (strlen(client_id) > 256 || store_client_get(req->app->store, client_id, &client) != WP_OK) {
        page_error(req, resp, 400, "error_unknown_client");
        goto out;
    }
    if (param(src, "request_uri") &&
        strncmp(param(src, "request_uri"), OIDC_PAR_URN, strlen(OIDC_PAR_URN)) != 0) {
        /* We never fetch request objects by URL: request_uri_not_supported (OIDC Core
         * §3.1.2.6) once the plain parameters name a trusted redirect URI. */
        foreign_uri = 1;
        params = json_incref(src);
    } else if (param(src, "request_uri")) {
        /* Only our own PAR request URIs; none is trusted until taken from storage. */
        if (oidc_request_uri_take(req->app, client_id, param(src, "request_uri"), &params) !=
            WP_OK) {
            page_error(req, resp, 400, "error_request_uri");
            goto out;
        }
    } else if (param(src, "request")) {
        params = request_object(req->app, client, param(src, "request"));
        if (!params && param(src, "redirect_uri")) {
            /* RFC 9101 §6.3: invalid_request_object to the plain redirect_uri, once it is
             * known to be registered (checked below like any other). */
            bad_object = 1;
            params = json_deep_copy(src);
        } else if (!params) {
            page_error(req, resp, 400, "error_request_object");
            goto out;
        }
        const char *inner = param(params, "client_id");
        if (inner && strcmp(inner, client_id) != 0) {
            page_error(req, resp, 400, "error_request_object");
            goto out;
        }
        json_object_set_new(params, "client_id", json_string(client_id));
    } else {
        params = json_incref(src);
    }
    const char *redirect_uri = param(params, "redirect_uri");
    if (!redirect_uri) {
        page_error(req, resp, 400, "error_authorize_request");
        goto out;
    }
    if (!oidc_client_has_redirect(client, redirect_uri)) {
        page_error(req, resp, 400, "error_redirect_uri");
        goto out;
    }
    request = json_pack("{s:s, s:s}", "client_id", client_id, "redirect_uri", redirect_uri);
    if (!request) {
        http_resp_text(resp, 500, "text/plain; charset=utf-8", "Internal error.");
        goto out;
    }
    /* response_mode and state first, so that even errors use and carry them; without a
     * response_type there is no response mode to honour, so that error goes in the query
     * (RFC 6749 §3.1.1, as the OpenID conformance suite expects). */
    const char *mode = param(params, "response_mode");
    if (mode && strcmp(mode, "form_post") == 0 && param(params, "response_type"))
        json_object_set_new(request, "response_mode", json_string(mode));
    const char *state = param(params, "state");
    if (state && strlen(state) <= MAX_PARAM_LEN)
        json_object_set_new(request, "state", json_string(state));
    if (foreign_uri) {
        oidc_redirect_error(req, resp, request, "request_uri_not_supported",
                            "Only request_uri values from the PAR endpoint are accepted.");
        goto out;
    }
    if (bad_object) {
        oidc_redirect_error(req, resp, request, "invalid_request_object",
                            "The request object is not valid.");
        goto out;
    }
    if (json_is_true(json_object_get(client, "require_par")) && !param(src, "request_uri")) {
        oidc_redirect_error(req, resp, request, "invalid_request",
                            "This client must use pushed authorization requests.");
        goto out;
    }
    error = validate(req, params, client, request, &desc);
    if (error) {
        oidc_redirect_error(req, resp, request, error, desc);
        goto out;
    }
    int have_session = session_current(req, &session) == WP_OK;
    if (have_session && session_usable(req->app, client, request, &session)) {
        oidc_finish(req, resp, request, &session);
        goto out;
    }
    const char *prompt = json_string_value(json_object_get(request, "prompt"));
    if (prompt && strcmp(prompt, "none") == 0) {
        oidc_redirect_error(req, resp, request, "login_required",
                            have_session ? "A new sign-in is needed."
                                         : "The person is not signed in.");
        goto out;
    }
    if (flow_create(req, resp, request, flow) != WP_OK) {
        oidc_redirect_error(req, resp, request, "server_error", "Could not start the sign-in.");
        goto out;
    }
    char location[128];
    snprintf(location, sizeof location, "/login?flow=%s", flow);
    http_resp_redirect(resp, 302, location);
out:
    store_session_clear(&session);
    json_decref(client);
    json_decref(request);
    json_decref(params);
}

void oidc_continue_handle(http_req_t *req, http_resp_t *resp)
{
    const char *id = http_query(req, "flow");
    store_flow_t flow = {0};
    store_session_t session = {0};
    json_t *request = NULL;

    if (!id || flow_load(req, id, &flow, &request) != WP_OK) {
        page_error(req, resp, 400, "error_flow");
        goto out;
    }
    /* The session must come from a ceremony inside this flow. */
    if (session_current(req, &session) != WP_OK || session.auth_time < flow.created_at) {
        char location[128];
        snprintf(location, sizeof location, "/login?flow=%s", id);
        http_resp_redirect(resp, 303, location);
        goto out;
    }
    store_flow_delete(req->app->store, flow.id_hash);
    oidc_finish(req, resp, request, &session);
out:
    store_flow_clear(&flow);
    store_session_clear(&session);
    json_decref(request);
}
