/* /logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). With a valid
 * id_token_hint naming the current session the session ends at once; without one the
 * person confirms on a page (CSRF-protected form). A post_logout_redirect_uri is honoured
 * only when it exactly matches one registered for the client, which must be known from
 * client_id or the hint; otherwise the signed-out page is shown. Relying parties that
 * registered a back-channel logout URI are told by oidc_backchannel.c. */
#include <string.h>

#include "crypto/token.h"
#include "idp/flow.h"
#include "idp/oidc.h"
#include "idp/page.h"
#include "idp/router.h"

#define LOGOUT_PARAM_MAX 2048

/* 1 when uri is one of the client's registered post_logout_redirect_uris. */
static int has_post_logout(const json_t *client, const char *uri)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(client, "post_logout_redirect_uris"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), uri) == 0)
            return 1;
    }
    return 0;
}

/* Ends the session of this browser (and tells the relying parties), then answers with the
 * redirect or the signed-out page. */
static void finish(http_req_t *req, http_resp_t *resp, const char *lang, const char *redirect,
                   const char *state)
{
    store_session_t session = {0};
    if (session_current(req, &session) == WP_OK)
        oidc_session_ended(req->app, session.sid, session.account_id);
    store_session_clear(&session);
    session_end(req, resp);
    if (redirect) {
        oidc_redirect_with(resp, redirect, "state", state, (const char *)NULL);
        return;
    }
    json_t *ctx = json_object();
    page_render(req, resp, 200, "signed_out", lang, ctx);
    json_decref(ctx);
}

void oidc_logout_handle(http_req_t *req, http_resp_t *resp)
{
    const char *lang = page_lang(req, http_param(req, "ui_locales"));
    const char *hint = http_param(req, "id_token_hint");
    const char *client_id = http_param(req, "client_id");
    const char *redirect = http_param(req, "post_logout_redirect_uri");
    const char *state = http_param(req, "state");
    json_t *claims = NULL, *client = NULL;
    store_session_t session = {0};
    char csrf[TOKEN_HASH_HEX_LEN + 1], browser[64];
    const char *cookie = flow_browser_cookie(req);

    if (req->dup_param || (state && strlen(state) > LOGOUT_PARAM_MAX) ||
        (redirect && strlen(redirect) > LOGOUT_PARAM_MAX)) {
        page_error(req, resp, 400, "error_logout_request");
        goto out;
    }
    if (hint && oidc_id_token_hint(req->app, hint, &claims) != WP_OK) {
        page_error(req, resp, 400, "error_logout_hint");
        goto out;
    }
    if (claims && client_id && !oidc_hint_has_audience(claims, client_id)) {
        page_error(req, resp, 400, "error_logout_hint");
        goto out;
    }
    if (!client_id && claims) {
        const json_t *aud = json_object_get(claims, "aud");
        client_id =
            json_is_array(aud) ? json_string_value(json_array_get(aud, 0)) : json_string_value(aud);
    }
    if (redirect) {
        if (!client_id || store_client_get(req->app->store, client_id, &client) != WP_OK ||
            !has_post_logout(client, redirect)) {
            page_error(req, resp, 400, "error_logout_redirect");
            goto out;
        }
    }
    /* The confirmation form posts back with csrf; an RP may also POST its request (with
     * a hint), which is treated like a GET. A bare POST is a forgery attempt. */
    if (req->method == HTTP_POST && (http_form(req, "csrf") || !hint)) {
        if (!flow_csrf_ok(req, "logout")) {
            page_error(req, resp, 403, "error_csrf");
            goto out;
        }
        finish(req, resp, lang, redirect, state);
        goto out;
    }
    /* A valid hint for the session of this browser: no need to ask. */
    if (claims && session_current(req, &session) == WP_OK) {
        const char *sid = json_string_value(json_object_get(claims, "sid"));
        if (sid && strcmp(sid, session.sid) == 0) {
            finish(req, resp, lang, redirect, state);
            goto out;
        }
    }
    /* Ask. The form needs a browser cookie to bind its CSRF token to. */
    if (!cookie) {
        token_random(browser, sizeof browser, 32);
        http_resp_cookie(resp, req->app, FLOW_COOKIE, browser, -1);
        cookie = browser;
    }
    flow_csrf_with(req->app, cookie, "logout", csrf);
    json_t *ctx = json_pack("{s:s}", "csrf", csrf);
    if (client_id && (redirect || claims))
        json_object_set_new(ctx, "client_id", json_string(client_id));
    if (redirect)
        json_object_set_new(ctx, "post_logout_redirect_uri", json_string(redirect));
    if (state)
        json_object_set_new(ctx, "state", json_string(state));
    page_render(req, resp, 200, "logout", lang, ctx);
    json_decref(ctx);
out:
    store_session_clear(&session);
    json_decref(claims);
    json_decref(client);
}
