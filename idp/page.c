#include "idp/page.h"

#include "idp/render.h"

const char *page_lang(const http_req_t *req, const char *ui_locales)
{
    return render_lang(req->app->render, ui_locales, http_header(req, "Accept-Language"));
}

void page_render(http_req_t *req, http_resp_t *resp, int status, const char *name, const char *lang,
                 json_t *ctx)
{
    size_t len = 0;
    json_object_set_new(ctx, "source_url", json_string(req->app->cfg->source_url));
    char *html = render_page(req->app->render, name, lang, ctx, &len);
    if (!html) {
        WP_LOG_ERR("template %s failed to render", name);
        http_resp_text(resp, 500, "text/plain; charset=utf-8", "Internal error.");
        return;
    }
    http_resp_take(resp, status, "text/html; charset=utf-8", html, len);
}

void page_error(http_req_t *req, http_resp_t *resp, int status, const char *msg_key)
{
    const char *lang = page_lang(req, http_query(req, "ui_locales"));
    json_t *ctx = json_pack("{s:s}", "message", render_msg(req->app->render, lang, msg_key));
    page_render(req, resp, status, "error", lang, ctx);
    json_decref(ctx);
}
