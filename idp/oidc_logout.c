/* /logout: ends the session after a confirmation (RP-initiated logout is deepened in a
 * later step: id_token_hint, post_logout_redirect_uri, back-channel). */
#include <string.h>

#include "crypto/token.h"
#include "idp/flow.h"
#include "idp/oidc.h"
#include "idp/page.h"
#include "idp/router.h"

void oidc_logout_handle(http_req_t *req, http_resp_t *resp)
{
    const char *lang = page_lang(req, http_param(req, "ui_locales"));
    char csrf[TOKEN_HASH_HEX_LEN + 1];

    if (req->method == HTTP_POST && flow_browser_cookie(req)) {
        if (!flow_csrf_ok(req, "logout")) {
            page_error(req, resp, 403, "error_csrf");
            return;
        }
        session_end(req, resp);
        json_t *ctx = json_object();
        page_render(req, resp, 200, "signed_out", lang, ctx);
        json_decref(ctx);
        return;
    }
    /* The confirmation form needs a browser cookie to bind its CSRF token to. */
    if (!flow_browser_cookie(req)) {
        char browser[64];
        token_random(browser, sizeof browser, 32);
        http_resp_cookie(resp, req->app, FLOW_COOKIE, browser, -1);
        flow_csrf_with(req->app, browser, "logout", csrf);
    } else {
        flow_csrf(req, "logout", csrf);
    }
    json_t *ctx = json_pack("{s:s}", "csrf", csrf);
    page_render(req, resp, 200, "logout", lang, ctx);
    json_decref(ctx);
}
