#include "idp/page.h"

#include <oauth2/mem.h>
#include <oauth2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idp/flow.h"
#include "idp/render.h"
#include "idp/router.h"

#define LANG_COOKIE "wp_lang"
#define RP_COOKIE "wp_rp" /* the client of this browser's latest journey */
#define BACK_MAX 2048
#define CLIENT_ID_MAX 128

const char *page_lang_saved(const http_req_t *req, const char *ui_locales, const char *saved)
{
    const char *tag = render_lang_list(ui_locales);
    if (tag)
        return tag;
    if ((tag = render_lang_supported(http_cookie(req, LANG_COOKIE))) != NULL)
        return tag;
    if ((tag = render_lang_supported(saved)) != NULL)
        return tag;
    return render_lang(req->app->render, NULL, http_header(req, "Accept-Language"));
}

const char *page_lang(const http_req_t *req, const char *ui_locales)
{
    return page_lang_saved(req, ui_locales, NULL);
}

const char *page_flow_lang(const http_req_t *req, const json_t *request, const char *saved)
{
    const char *picked = render_lang_supported(json_string_value(json_object_get(request, "lang")));
    if (picked)
        return picked;
    return page_lang_saved(req, json_string_value(json_object_get(request, "ui_locales")), saved);
}

/* The current page as a local URL (path and query), URL-encoded for the switcher's
 * back= parameter. malloc'd or NULL. */
static char *back_link(const http_req_t *req)
{
    char *here = NULL, *enc = NULL;
    size_t len = 0;
    const char *key;
    json_t *v;
    FILE *f;

    if (req->method != HTTP_GET || !(f = open_memstream(&here, &len)))
        return NULL;
    fputs(req->path, f);
    char sep = '?';
    json_object_foreach(req->query, key, v)
    {
        if (strcmp(key, "ui_locales") == 0)
            continue;
        char *k = oauth2_url_encode(NULL, key);
        char *val = oauth2_url_encode(NULL, json_string_value(v));
        fprintf(f, "%c%s=%s", sep, k ? k : "", val ? val : "");
        oauth2_mem_free(k);
        oauth2_mem_free(val);
        sep = '&';
    }
    fclose(f);
    if (here && len <= BACK_MAX)
        enc = oauth2_url_encode(NULL, here);
    free(here);
    char *out = enc ? strdup(enc) : NULL;
    oauth2_mem_free(enc);
    return out;
}

/* Sets ctx "title" (unless set) to "[Error: ]PAGE - Wereldpas" from the catalog key
 * "title_<name>_<state>" for the first true state flag of ctx, else "title_<name>"; leaves
 * ctx alone when the catalog has no such key (the layout then shows the service name). */
static void page_title(const render_t *r, const char *name, const char *lang, json_t *ctx)
{
    static const char *const states[] = {"proofed", "sent", "signed_out"};
    static const char *const errors[] = {"error", "has_errors", "alert"};
    char key[96];
    const char *title = NULL, *prefix = "";

    if (json_object_get(ctx, "title"))
        return;
    for (size_t i = 0; i < sizeof states / sizeof states[0] && !title; i++) {
        if (!json_is_true(json_object_get(ctx, states[i])) ||
            snprintf(key, sizeof key, "title_%s_%s", name, states[i]) >= (int)sizeof key)
            continue;
        title = render_msg(r, lang, key);
        title = strcmp(title, key) == 0 ? NULL : title; /* the key itself: not in the catalog */
    }
    if (!title && snprintf(key, sizeof key, "title_%s", name) < (int)sizeof key) {
        title = render_msg(r, lang, key);
        title = strcmp(title, key) == 0 ? NULL : title;
    }
    if (!title)
        return;
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        const json_t *v = json_object_get(ctx, errors[i]);
        if (v && !json_is_false(v) && !json_is_null(v))
            prefix = render_msg(r, lang, "title_error_prefix");
    }
    json_object_set_new(ctx, "title",
                        json_sprintf("%s%s - %s", prefix, title, render_msg(r, lang, "app_name")));
}

void page_render(http_req_t *req, http_resp_t *resp, int status, const char *name, const char *lang,
                 json_t *ctx)
{
    size_t len = 0;
    char *back = back_link(req);
    page_title(req->app->render, name, lang, ctx);
    json_object_set_new(ctx, "source_url", json_string(req->app->cfg->source_url));
    if (back)
        json_object_set_new(ctx, "back", json_string(back));
    free(back);
    char *html = render_page(req->app->render, name, lang, ctx, &len);
    if (!html) {
        WP_LOG_ERR("template %s failed to render", name);
        http_resp_text(resp, 500, "text/plain; charset=utf-8", "Internal error.");
        return;
    }
    http_resp_take(resp, status, "text/html; charset=utf-8", html, len);
    http_resp_header(resp, "Content-Language", lang);
    http_resp_header(resp, "Vary", "Accept-Language, Cookie");
}

void page_error(http_req_t *req, http_resp_t *resp, int status, const char *msg_key)
{
    const char *lang = page_lang(req, http_param(req, "ui_locales"));
    json_t *ctx = json_pack("{s:s}", "message", render_msg(req->app->render, lang, msg_key));
    page_render(req, resp, status, "error", lang, ctx);
    json_decref(ctx);
}

/* 1 for a client id that can be a cookie value as it is. */
static int client_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n > 0 && n <= CLIENT_ID_MAX &&
           strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* The page for a flow that is gone (expired, finished, or of another browser), with a
 * link to the start page (scheme, host and port of its first redirect URI) of the client
 * of this browser's latest journey when that is known. */
static void flow_gone(http_req_t *req, http_resp_t *resp)
{
    const char *lang = page_lang(req, NULL), *id = http_cookie(req, RP_COOKIE);
    json_t *client = NULL;
    json_t *ctx = json_pack("{s:s}", "message", render_msg(req->app->render, lang, "error_flow"));
    if (ctx && client_id_ok(id) && store_client_get(req->app->store, id, &client) == WP_OK) {
        const char *uri =
            json_string_value(json_array_get(json_object_get(client, "redirect_uris"), 0));
        const char *name = json_string_value(json_object_get(client, "client_name"));
        const char *host = uri ? strstr(uri, "://") : NULL;
        size_t end = host ? (size_t)(host - uri) + 3 + strcspn(host + 3, "/?#") : 0;
        if (host && (strncmp(uri, "https://", 8) == 0 || strncmp(uri, "http://", 7) == 0)) {
            json_object_set_new(ctx, "restart_url", json_sprintf("%.*s/", (int)end, uri));
            json_object_set_new(ctx, "client", json_string(name ? name : id));
        }
    }
    json_decref(client);
    page_render(req, resp, 400, "error", lang, ctx);
    json_decref(ctx);
}

int page_flow_load(http_req_t *req, http_resp_t *resp, const char *id, store_flow_t *flow,
                   json_t **request)
{
    int64_t now = wp_now();
    if (!id || flow_load(req, id, flow, request) != WP_OK) {
        flow_gone(req, resp);
        return -1;
    }
    /* Activity keeps the journey alive: flow_ttl counts from the latest page. */
    if (flow->expires_at - now < req->app->cfg->flow_ttl - 60)
        store_flow_update(req->app->store, flow->id_hash, NULL, now + req->app->cfg->flow_ttl, now);
    const char *client = json_string_value(json_object_get(*request, "client_id"));
    const char *had = http_cookie(req, RP_COOKIE);
    if (client_id_ok(client) && (!had || strcmp(had, client) != 0))
        http_resp_cookie(resp, req->app, RP_COOKIE, client, -1);
    return 0;
}

/* When back is a page of a flow of this browser ("...?flow=F..."), remembers tag as the
 * language picked in that flow, so that it wins over the flow's ui_locales from now on. */
static void flow_remember_lang(http_req_t *req, const char *back, const char *tag)
{
    char id[FLOW_ID_MAX];
    const char *p = back ? strstr(back, "flow=") : NULL;
    store_flow_t flow = {0};
    json_t *request = NULL;
    if (!p || (p != back && p[-1] != '?' && p[-1] != '&'))
        return;
    p += 5;
    size_t n = strcspn(p, "&#");
    if (n == 0 || n >= sizeof id)
        return;
    memcpy(id, p, n);
    id[n] = '\0';
    if (flow_load(req, id, &flow, &request) == WP_OK) {
        json_object_set_new(request, "lang", json_string(tag));
        char *text = json_dumps(request, JSON_COMPACT);
        if (text)
            store_flow_update(req->app->store, flow.id_hash, text, 0, wp_now());
        free(text);
    }
    json_decref(request);
    store_flow_clear(&flow);
}

/* 1 when back is a path on this site: "/..." but not "//..." (another host) and without
 * backslashes or control characters, so the redirect can never leave the origin. */
static int local_path(const char *back)
{
    if (!back || back[0] != '/' || back[1] == '/' || strlen(back) > BACK_MAX)
        return 0;
    for (const char *p = back; *p; p++)
        if (*p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

void page_lang_handle(http_req_t *req, http_resp_t *resp)
{
    const char *tag = render_lang_supported(http_query(req, "to"));
    const char *back = http_query(req, "back");
    if (!tag) {
        page_error(req, resp, 400, "error_bad_request");
        return;
    }
    http_resp_cookie(resp, req->app, LANG_COOKIE, tag, 365L * 24 * 3600);
    if (local_path(back))
        flow_remember_lang(req, back, tag);
    http_resp_redirect(resp, 303, local_path(back) ? back : "/");
}
