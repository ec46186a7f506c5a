#include "idp/oidc.h"

#include <oauth2/mem.h>
#include <oauth2/util.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/jws.h"
#include "crypto/token.h"
#include "idp/oidc_backchannel.h"
#include "idp/oidc_par.h"
#include "idp/page.h"

int oidc_client_has_redirect(const json_t *client, const char *uri)
{
    size_t i;
    json_t *v;
    if (!uri)
        return 0;
    json_array_foreach(json_object_get(client, "redirect_uris"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), uri) == 0)
            return 1;
    }
    return 0;
}

int oidc_client_has_scope(const json_t *client, const char *scope)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(client, "scopes"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), scope) == 0)
            return 1;
    }
    return 0;
}

/* The host part of an absolute URL, into out. */
static void url_host(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, ":/?#");
    snprintf(out, size, "%.*s", (int)n, p);
}

void oidc_subject(const app_t *app, const json_t *client, const char *account_id, char *out,
                  size_t size)
{
    const char *type = json_string_value(json_object_get(client, "subject_type"));
    char sector[256] = "", hex[TOKEN_HASH_HEX_LEN + 1];
    if (type && strcmp(type, "public") == 0) {
        snprintf(out, size, "%s", account_id);
        return;
    }
    /* The sector: the host of the client's sector_identifier_uri (OIDC Core §8.1),
     * checked and stored at registration; else the host of its first redirect URI. */
    const char *registered = json_string_value(json_object_get(client, "sector"));
    const char *first =
        json_string_value(json_array_get(json_object_get(client, "redirect_uris"), 0));
    if (registered)
        snprintf(sector, sizeof sector, "%s", registered);
    else
        url_host(first ? first : "", sector, sizeof sector);
    token_hash(app->pairwise_key, sector, account_id, hex);
    snprintf(out, size, "%s", hex);
}

int oidc_acr_rank(const app_t *app, const char *acr)
{
    if (!acr)
        return 0;
    size_t n = strlen(acr);
    if (strcmp(acr, app->cfg->acr_assisted) == 0)
        return 2;
    if (strcmp(acr, app->cfg->acr_diploma) == 0)
        return 1;
    /* Other eIDAS levels are known by their last path segment. */
    if (n >= 5 && strcmp(acr + n - 5, "/high") == 0)
        return 3;
    if (n >= 12 && strcmp(acr + n - 12, "/substantial") == 0)
        return 2;
    if (n >= 4 && strcmp(acr + n - 4, "/low") == 0)
        return 1;
    return 0;
}

int oidc_list_has(const char *list, const char *word)
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

/* Walks a space-separated list of acr values: *known when any value has a rank, *reached
 * when one of those is at most the rank of acr. */
static void acr_scan(const app_t *app, const char *levels, const char *acr, int *known,
                     int *reached)
{
    int have = oidc_acr_rank(app, acr);
    *known = *reached = 0;
    for (const char *p = levels; p && *p;) {
        size_t n = strcspn(p, " ");
        char one[256];
        if (n > 0 && n < sizeof one) {
            memcpy(one, p, n);
            one[n] = '\0';
            int want = oidc_acr_rank(app, one);
            *known |= want > 0;
            *reached |= want > 0 && have >= want;
        }
        p += n;
        p += strspn(p, " ");
    }
}

int oidc_acr_satisfied(const app_t *app, const char *acr_values, const char *acr)
{
    int known, reached;
    acr_scan(app, acr_values, acr, &known, &reached);
    return reached || !known;
}

int oidc_acr_reaches(const app_t *app, const char *levels, const char *acr)
{
    int known, reached;
    acr_scan(app, levels, acr, &known, &reached);
    return reached;
}

void oidc_redirect_with(http_resp_t *resp, const char *redirect_uri, ...)
{
    va_list ap;
    char *url = NULL;
    size_t len = 0;
    char sep = strchr(redirect_uri, '?') ? '&' : '?';
    FILE *f = open_memstream(&url, &len);

    if (!f) {
        http_resp_text(resp, 500, "text/plain; charset=utf-8", "Internal error.");
        return;
    }
    fputs(redirect_uri, f);
    va_start(ap, redirect_uri);
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above */
    for (const char *name = va_arg(ap, const char *); name; name = va_arg(ap, const char *)) {
        const char *value = va_arg(ap, const char *);
        if (!value)
            continue;
        char *enc = oauth2_url_encode(NULL, value);
        fprintf(f, "%c%s=%s", sep, name, enc ? enc : "");
        oauth2_mem_free(enc);
        sep = '&';
    }
    va_end(ap);
    fclose(f);
    http_resp_redirect(resp, 302, url);
    free(url);
}

static const char *req_str(const json_t *request, const char *name)
{
    return json_string_value(json_object_get(request, name));
}

/* Sends the authorization response: a redirect with the parameters in the query, or
 * with response_mode=form_post a page that POSTs them (OAuth 2.0 Form Post Response
 * Mode): submitted by the JS file, or by the person's click without JavaScript.
 * names/values: n pairs, NULL values skipped. */
static void respond(http_req_t *req, http_resp_t *resp, const json_t *request,
                    const char *const *names, const char *const *values, size_t n)
{
    const char *uri = req_str(request, "redirect_uri");
    const char *mode = req_str(request, "response_mode");
    if (mode && strcmp(mode, "form_post") == 0) {
        json_t *params = json_array();
        for (size_t i = 0; i < n; i++)
            if (values[i])
                json_array_append_new(
                    params, json_pack("{s:s, s:s}", "name", names[i], "value", values[i]));
        json_t *ctx = json_pack("{s:s, s:o}", "action", uri, "params", params);
        page_render(req, resp, 200, "form_post", page_lang(req, req_str(request, "ui_locales")),
                    ctx);
        json_decref(ctx);
        return;
    }
    oidc_redirect_with(resp, uri, n > 0 ? names[0] : NULL, n > 0 ? values[0] : NULL,
                       n > 1 ? names[1] : NULL, n > 1 ? values[1] : NULL, n > 2 ? names[2] : NULL,
                       n > 2 ? values[2] : NULL, n > 3 ? names[3] : NULL, n > 3 ? values[3] : NULL,
                       (const char *)NULL);
}

void oidc_redirect_error(http_req_t *req, http_resp_t *resp, const json_t *request,
                         const char *error, const char *description)
{
    const char *names[] = {"error", "error_description", "state", "iss"};
    const char *values[] = {error, description, req_str(request, "state"), req->app->cfg->issuer};
    respond(req, resp, request, names, values, 4);
}

void oidc_finish(http_req_t *req, http_resp_t *resp, const json_t *request,
                 const store_session_t *session)
{
    char code[64], hash[TOKEN_HASH_HEX_LEN + 1];
    int64_t now = wp_now();

    const char *essential = req_str(request, "acr_essential");
    if (essential && !oidc_acr_reaches(req->app, essential, session->acr)) {
        oidc_redirect_error(req, resp, request, "unmet_authentication_requirements",
                            "The person does not reach the essential assurance level.");
        return;
    }
    if (!oidc_acr_satisfied(req->app, req_str(request, "acr_values"), session->acr)) {
        oidc_redirect_error(req, resp, request, "access_denied",
                            "The person does not reach the requested assurance level.");
        return;
    }
    token_random(code, sizeof code, 32);
    token_hash(req->app->hash_key, "authcode", code, hash);
    char *claims = NULL;
    if (json_object_get(request, "claims"))
        claims = json_dumps(json_object_get(request, "claims"), JSON_COMPACT);
    store_authcode_t c = {.hash = hash,
                          .client_id = (char *)req_str(request, "client_id"),
                          .redirect_uri = (char *)req_str(request, "redirect_uri"),
                          .code_challenge = (char *)req_str(request, "code_challenge"),
                          .nonce = (char *)req_str(request, "nonce"),
                          .account_id = session->account_id,
                          .scope = (char *)req_str(request, "scope"),
                          .acr = session->acr,
                          .sid = session->sid,
                          .claims = claims,
                          .auth_time = session->auth_time,
                          .expires_at = now + req->app->cfg->code_ttl};
    wp_err_t rc = store_authcode_add(req->app->store, &c);
    free(claims);
    if (rc != WP_OK) {
        oidc_redirect_error(req, resp, request, "server_error", "Could not issue a code.");
        return;
    }
    atomic_fetch_add(&req->app->metrics.logins, 1);
    const char *names[] = {"code", "state", "iss"};
    const char *values[] = {code, req_str(request, "state"), req->app->cfg->issuer};
    respond(req, resp, request, names, values, 3);
}

wp_err_t oidc_id_token_hint(const app_t *app, const char *hint, json_t **claims)
{
    sigkey_t *const *keys;
    size_t n;
    json_t *c = NULL;
    if (!hint || strlen(hint) > 8192)
        return WP_ERR_INVALID;
    keyring_all(app->keys, &keys, &n);
    if (jws_verify(hint, keys, n, NULL, &c) != 0)
        return WP_ERR_INVALID;
    const char *iss = json_string_value(json_object_get(c, "iss"));
    if (!iss || strcmp(iss, app->cfg->issuer) != 0 || !json_is_string(json_object_get(c, "sub"))) {
        json_decref(c);
        return WP_ERR_INVALID;
    }
    *claims = c;
    return WP_OK;
}

int oidc_hint_has_audience(const json_t *claims, const char *client_id)
{
    const json_t *aud = json_object_get(claims, "aud");
    size_t i;
    json_t *v;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), client_id) == 0;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), client_id) == 0)
            return 1;
    }
    return 0;
}

void oidc_session_ended(app_t *app, const char *sid, const char *account_id)
{
    oidc_backchannel_logout(app, sid, account_id);
}

wp_err_t oidc_request_uri_take(app_t *app, const char *client_id, const char *request_uri,
                               json_t **params)
{
    return oidc_par_take(app, client_id, request_uri, params);
}
