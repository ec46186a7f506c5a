/* The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636, RFC 9207) and
 * /continue, where a finished login flow returns to the client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pkce.h"
#include "idp/flow.h"
#include "idp/oidc.h"
#include "idp/page.h"
#include "idp/router.h"

#define MAX_PARAM_LEN 2048

/* 1 when the space-separated list contains word. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        size_t m = strcspn(p, " ");
        if (m == n && strncmp(p, word, n) == 0)
            return 1;
        p += m;
        p += strspn(p, " ");
    }
    return 0;
}

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

/* Validates the parameters after client and redirect URI are known good. Returns NULL
 * and fills request, or the OAuth error code with *desc. */
static const char *validate(http_req_t *req, const json_t *client, json_t *request,
                            const char **desc)
{
    const char *response_type = http_param(req, "response_type");
    const char *scope = http_param(req, "scope");
    const char *challenge = http_param(req, "code_challenge");
    const char *method = http_param(req, "code_challenge_method");
    const char *prompt = http_param(req, "prompt");
    const char *max_age = http_param(req, "max_age");
    const char *response_mode = http_param(req, "response_mode");
    const char *pkce = json_string_value(json_object_get(client, "pkce"));
    const char *names[] = {"state", "nonce", "acr_values", "ui_locales", "login_hint", "prompt"};

    if (req->dup_param) {
        *desc = "A parameter was repeated.";
        return "invalid_request";
    }
    if (http_param(req, "request")) {
        *desc = "Request objects are not supported yet.";
        return "request_not_supported";
    }
    if (http_param(req, "request_uri")) {
        *desc = "request_uri is not supported yet.";
        return "request_uri_not_supported";
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
    if (!scope || !has_word(scope, "openid")) {
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
        if (has_word(prompt, "none") && strcmp(prompt, "none") != 0) {
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
        const char *v = http_param(req, names[i]);
        if (v && strlen(v) > MAX_PARAM_LEN) {
            *desc = "A parameter is too long.";
            return "invalid_request";
        }
        if (v)
            json_object_set_new(request, names[i], json_string(v));
    }
    const char *claims = http_param(req, "claims");
    if (claims) {
        json_t *c = json_loads(claims, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(c)) {
            json_decref(c);
            *desc = "claims is not a JSON object.";
            return "invalid_request";
        }
        json_object_set_new(request, "claims", c);
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

/* 1 when the session satisfies prompt, max_age and acr_values of the request. */
static int session_usable(const app_t *app, const json_t *request, const store_session_t *s)
{
    const char *prompt = json_string_value(json_object_get(request, "prompt"));
    json_t *max_age = json_object_get(request, "max_age");
    if (prompt && has_word(prompt, "login"))
        return 0;
    if (max_age && wp_now() - s->auth_time > json_integer_value(max_age))
        return 0;
    return oidc_acr_satisfied(app, json_string_value(json_object_get(request, "acr_values")),
                              s->acr);
}

void oidc_authorize_handle(http_req_t *req, http_resp_t *resp)
{
    const char *client_id = http_param(req, "client_id");
    const char *redirect_uri = http_param(req, "redirect_uri");
    json_t *client = NULL, *request = NULL;
    store_session_t session = {0};
    const char *error, *desc = NULL;
    char flow[FLOW_ID_MAX];

    /* Client and redirect URI first: until both are known good nothing redirects. */
    if (!client_id || !redirect_uri ||
        (req->dup_param &&
         (!strcmp(req->dup_param, "client_id") || !strcmp(req->dup_param, "redirect_uri")))) {
        page_error(req, resp, 400, "error_authorize_request");
        goto out;
    }
    if (strlen(client_id) > 256 || store_client_get(req->app->store, client_id, &client) != WP_OK) {
        page_error(req, resp, 400, "error_unknown_client");
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
    /* response_mode and state first, so that even errors use and carry them. */
    const char *mode = http_param(req, "response_mode");
    if (mode && strcmp(mode, "form_post") == 0)
        json_object_set_new(request, "response_mode", json_string(mode));
    if (http_param(req, "state") && strlen(http_param(req, "state")) <= MAX_PARAM_LEN)
        json_object_set_new(request, "state", json_string(http_param(req, "state")));
    error = validate(req, client, request, &desc);
    if (error) {
        oidc_redirect_error(req, resp, request, error, desc);
        goto out;
    }
    if (session_current(req, &session) == WP_OK && session_usable(req->app, request, &session)) {
        oidc_finish(req, resp, request, &session);
        goto out;
    }
    const char *prompt = json_string_value(json_object_get(request, "prompt"));
    if (prompt && strcmp(prompt, "none") == 0) {
        oidc_redirect_error(req, resp, request, "login_required", "The person is not signed in.");
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
