#include "idp/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/token.h"

#define COOKIE_TOKEN_LEN 43 /* base64url of 32 random bytes */

/* A cookie value we issued: exactly 43 base64url characters. */
static int token_shaped(const char *v)
{
    if (!v || strlen(v) != COOKIE_TOKEN_LEN)
        return 0;
    for (const char *p = v; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

const char *flow_browser_cookie(const http_req_t *req)
{
    const char *v = http_cookie(req, FLOW_COOKIE);
    return token_shaped(v) ? v : NULL;
}

void flow_hash(const http_req_t *req, const char *id, char out[TOKEN_HASH_HEX_LEN + 1])
{
    token_hash(req->app->hash_key, "flow", id, out);
}

wp_err_t flow_create(http_req_t *req, http_resp_t *resp, json_t *request, char *id_out)
{
    char browser[64], id[64];
    char id_hash[TOKEN_HASH_HEX_LEN + 1], browser_hash[TOKEN_HASH_HEX_LEN + 1];
    const char *cookie = flow_browser_cookie(req);
    int64_t now = wp_now();
    wp_err_t rc;

    if (cookie) {
        snprintf(browser, sizeof browser, "%s", cookie);
    } else {
        token_random(browser, sizeof browser, 32);
        http_resp_cookie(resp, req->app, FLOW_COOKIE, browser, -1);
    }
    /* Make the new cookie visible to the rest of this request. */
    token_random(id, sizeof id, 32);
    flow_hash(req, id, id_hash);
    token_hash(req->app->hash_key, "browser", browser, browser_hash);
    char *text = json_dumps(request, JSON_COMPACT);
    if (!text)
        return WP_ERR;
    store_flow_t flow = {.id_hash = id_hash,
                         .browser_hash = browser_hash,
                         .request = text,
                         .created_at = now,
                         .expires_at = now + req->app->cfg->flow_ttl};
    rc = store_flow_create(req->app->store, &flow);
    free(text);
    if (rc == WP_OK)
        snprintf(id_out, FLOW_ID_MAX, "%s", id);
    return rc;
}

wp_err_t flow_load(http_req_t *req, const char *id, store_flow_t *out, json_t **request)
{
    char id_hash[TOKEN_HASH_HEX_LEN + 1], browser_hash[TOKEN_HASH_HEX_LEN + 1];
    const char *cookie = flow_browser_cookie(req);
    store_flow_t f = {0};

    if (!token_shaped(id) || !cookie)
        return WP_ERR_NOTFOUND;
    flow_hash(req, id, id_hash);
    if (store_flow_get(req->app->store, id_hash, wp_now(), &f) != WP_OK)
        return WP_ERR_NOTFOUND;
    token_hash(req->app->hash_key, "browser", cookie, browser_hash);
    if (!f.browser_hash || !token_equal(f.browser_hash, browser_hash)) {
        store_flow_clear(&f);
        return WP_ERR_NOTFOUND;
    }
    if (request) {
        *request = json_loads(f.request ? f.request : "", 0, NULL);
        if (!json_is_object(*request)) {
            json_decref(*request);
            *request = NULL;
            store_flow_clear(&f);
            return WP_ERR;
        }
    }
    *out = f;
    return WP_OK;
}

void flow_csrf_with(const app_t *app, const char *cookie, const char *purpose,
                    char out[TOKEN_HASH_HEX_LEN + 1])
{
    char material[256];
    snprintf(material, sizeof material, "%s|%s", cookie ? cookie : "", purpose);
    token_hash(app->csrf_key, "csrf", material, out);
}

void flow_csrf(const http_req_t *req, const char *purpose, char out[TOKEN_HASH_HEX_LEN + 1])
{
    flow_csrf_with(req->app, flow_browser_cookie(req), purpose, out);
}

int flow_csrf_ok(const http_req_t *req, const char *purpose)
{
    char want[TOKEN_HASH_HEX_LEN + 1];
    const char *got = http_form(req, "csrf");
    if (!got || !flow_browser_cookie(req))
        return 0;
    flow_csrf(req, purpose, want);
    return token_equal(got, want);
}

wp_err_t session_current(http_req_t *req, store_session_t *out)
{
    char hash[TOKEN_HASH_HEX_LEN + 1];
    const char *cookie = http_cookie(req, SESSION_COOKIE);
    if (!token_shaped(cookie))
        return WP_ERR_NOTFOUND;
    token_hash(req->app->hash_key, "session", cookie, hash);
    return store_session_get(req->app->store, hash, wp_now(), out);
}

wp_err_t session_start(http_req_t *req, http_resp_t *resp, const char *account_id, const char *acr,
                       store_session_t *out)
{
    char cookie[64], hash[TOKEN_HASH_HEX_LEN + 1], sid[64];
    int64_t now = wp_now();
    token_random(cookie, sizeof cookie, 32);
    token_random(sid, sizeof sid, 16);
    token_hash(req->app->hash_key, "session", cookie, hash);
    store_session_t x = {.hash = hash,
                         .sid = sid,
                         .account_id = (char *)account_id,
                         .acr = (char *)acr,
                         .auth_time = now,
                         .expires_at = now + req->app->cfg->session_ttl};
    wp_err_t rc = store_session_create(req->app->store, &x);
    if (rc != WP_OK)
        return rc;
    /* The new cookie replaces this browser's old one: its session ends now rather than
     * lingering until it expires. */
    const char *old = http_cookie(req, SESSION_COOKIE);
    if (token_shaped(old)) {
        char old_hash[TOKEN_HASH_HEX_LEN + 1];
        token_hash(req->app->hash_key, "session", old, old_hash);
        store_session_delete(req->app->store, old_hash);
    }
    http_resp_cookie(resp, req->app, SESSION_COOKIE, cookie, -1);
    if (out) {
        memset(out, 0, sizeof *out);
        out->sid = strdup(sid);
        out->account_id = strdup(account_id);
        out->acr = strdup(acr);
        out->auth_time = now;
        out->expires_at = x.expires_at;
        if (!out->sid || !out->account_id || !out->acr) {
            store_session_clear(out);
            return WP_ERR;
        }
    }
    return WP_OK;
}

void session_end(http_req_t *req, http_resp_t *resp)
{
    char hash[TOKEN_HASH_HEX_LEN + 1];
    const char *cookie = http_cookie(req, SESSION_COOKIE);
    if (token_shaped(cookie)) {
        token_hash(req->app->hash_key, "session", cookie, hash);
        store_session_delete(req->app->store, hash);
    }
    http_resp_cookie(resp, req->app, SESSION_COOKIE, "", 0);
}

int flow_ip_limited(http_req_t *req, const char *what, int add_failure)
{
    char key[160];
    int count = 0;
    const config_t *cfg = req->app->cfg;
    snprintf(key, sizeof key, "%s:ip:%s", what, req->client_ip);
    if (add_failure)
        store_ratelimit_add(req->app->store, key, cfg->fail_window, wp_now(), &count);
    else
        store_ratelimit_count(req->app->store, key, cfg->fail_window, wp_now(), &count);
    return count >= cfg->fail_per_ip;
}
