#include "idp/router.h"

#include <string.h>
#include <strings.h>

#include "idp/page.h"
#include "idp/render.h"

typedef struct {
    unsigned methods;
    const char *path;
    handler_t handler;
} route_t;

#define GP (HTTP_GET | HTTP_HEAD | HTTP_POST)
#define G (HTTP_GET | HTTP_HEAD)
#define P HTTP_POST
/* Also answers other origins (see cors()): no cookie is read there, so "*" is safe. */
#define CORS 0x100u

static const route_t ROUTES[] = {
    {G | CORS, "/.well-known/openid-configuration", oidc_discovery_handle},
    {G | CORS, "/.well-known/oauth-authorization-server", oidc_discovery_handle},
    {G | CORS, "/jwks", oidc_jwks_handle},
    {GP, "/authorize", oidc_authorize_handle},
    {G, "/continue", oidc_continue_handle},
    {P | CORS, "/token", oidc_token_handle},
    {GP | CORS, "/userinfo", oidc_userinfo_handle},
    {P | CORS, "/revoke", oidc_revoke_handle},
    {P, "/introspect", oidc_introspect_handle},
    {P, "/par", oidc_par_handle},
    {GP, "/logout", oidc_logout_handle},
    {G, "/login", page_login_handle},
    {G, "/lang", page_lang_handle},
    {G, "/accessibility", page_static_accessibility_handle}, /* issue 6 */
    {G, "/enrol", page_enrol_handle},
    {GP, "/enrol/code", page_enrol_code_handle},
    {GP, "/enrol/diploma", page_enrol_diploma_handle},
    {G, "/recover", page_recover_handle},
    {GP, "/account", page_account_handle},
    /* issue 5: recovery code, support console */
    {GP, "/recover/code", page_recover_code_handle},
    {G, "/support", support_home_handle},
    {G, "/support/", support_home_handle},
    {G, "/support/search", support_search_handle},
    {G, "/support/person", support_person_handle},
    {P, "/support/enrol-code", support_enrol_code_handle},
    {P, "/support/case/open", support_case_open_handle},
    {P, "/support/case/approve", support_case_approve_handle},
    {GP, "/support/enrol", support_enrol_handle},
    {P, "/support/logout", support_logout_handle},
    {P, "/support/webauthn/register/options", support_register_options_handle},
    {P, "/support/webauthn/register/verify", support_register_verify_handle},
    {P, "/support/webauthn/login/options", support_login_options_handle},
    {P, "/support/webauthn/login/verify", support_login_verify_handle},
    {P, "/webauthn/register/options", webauthn_register_options_handle},
    {P, "/webauthn/register/verify", webauthn_register_verify_handle},
    {P, "/webauthn/login/options", webauthn_login_options_handle},
    {P, "/webauthn/login/verify", webauthn_login_verify_handle},
    {G, "/healthz", health_healthz_handle},
    {G, "/readyz", health_readyz_handle},
    {G, "/metrics", health_metrics_handle},
};

static int wants_json(const http_req_t *req)
{
    return strncmp(req->path, "/webauthn/", 10) == 0 ||
           strncmp(req->path, "/support/webauthn/", 18) == 0 || strcmp(req->path, "/token") == 0 ||
           strcmp(req->path, "/revoke") == 0 || strcmp(req->path, "/introspect") == 0 ||
           strcmp(req->path, "/par") == 0 || strcmp(req->path, "/userinfo") == 0 ||
           strncmp(req->path, "/.well-known/", 13) == 0;
}

/* 1 when Accept-Encoding lists gzip without q=0. */
static int accepts_gzip(const char *ae)
{
    for (const char *p = ae; p && *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        size_t tok = strcspn(p, " ;,");
        if (tok == 4 && strncasecmp(p, "gzip", 4) == 0) {
            const char *q = memchr(p, ';', n);
            return !(q && strstr(q, "q=0") && !strstr(q, "q=0."));
        }
        p += n;
    }
    return 0;
}

/* CORS for the endpoints a browser-based relying party calls (discovery, JWKS, token,
 * userinfo, revocation): any origin may read the answers, never with credentials, since
 * these endpoints take the client's credentials or a bearer token, not cookies. Answers a
 * preflight (OPTIONS) itself and returns 1; else adds the headers and returns 0. */
static int cors(const http_req_t *req, http_resp_t *resp, unsigned methods)
{
    if (!http_header(req, "Origin"))
        return 0;
    http_resp_header(resp, "Access-Control-Allow-Origin", "*");
    if (req->method != HTTP_OPTIONS) {
        http_resp_header(resp, "Access-Control-Expose-Headers", "WWW-Authenticate");
        return 0;
    }
    http_resp_header(resp, "Access-Control-Allow-Methods",
                     (methods & HTTP_POST) ? ((methods & HTTP_GET) ? "GET, POST" : "POST") : "GET");
    http_resp_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    http_resp_header(resp, "Access-Control-Max-Age", "86400");
    http_resp_text(resp, 204, "text/plain; charset=utf-8", "");
    return 1;
}

void router_dispatch(http_req_t *req, http_resp_t *resp)
{
    const char *body;
    size_t len;
    const char *ctype;

    if (render_static(req->app->render, req->path, &body, &len, &ctype) == 0 &&
        (req->method & (HTTP_GET | HTTP_HEAD))) {
        const unsigned char *gz;
        size_t gz_len;
        int gzip = accepts_gzip(http_header(req, "Accept-Encoding")) &&
                   render_static_gzip(req->app->render, req->path, &gz, &gz_len) == 0;
        if (gzip) {
            body = (const char *)gz;
            len = gz_len;
        }
        char *copy = malloc(len ? len : 1);
        if (copy)
            memcpy(copy, body, len);
        http_resp_take(resp, copy ? 200 : 500, ctype, copy, copy ? len : 0);
        resp->cache = "public, max-age=31536000, immutable";
        http_resp_header(resp, "Vary", "Accept-Encoding");
        if (gzip && copy)
            http_resp_header(resp, "Content-Encoding", "gzip");
        return;
    }
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (strcmp(ROUTES[i].path, req->path) != 0)
            continue;
        if ((ROUTES[i].methods & CORS) && cors(req, resp, ROUTES[i].methods))
            return;
        if (!(ROUTES[i].methods & req->method)) {
            http_resp_header(resp, "Allow",
                             (ROUTES[i].methods & HTTP_POST)
                                 ? ((ROUTES[i].methods & HTTP_GET) ? "GET, HEAD, POST" : "POST")
                                 : "GET, HEAD");
            http_resp_json_error(resp, 405, "invalid_request", "Method not allowed.");
            return;
        }
        if (req->bad_body) {
            if (wants_json(req))
                http_resp_json_error(resp, 400, "invalid_request",
                                     "The request body is malformed.");
            else
                page_error(req, resp, 400, "error_bad_request");
            return;
        }
        ROUTES[i].handler(req, resp);
        return;
    }
    if (wants_json(req))
        http_resp_json_error(resp, 404, "not_found", "No such endpoint.");
    else
        page_error(req, resp, 404, "error_not_found");
}
