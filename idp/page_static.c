/* Pages without a flow or a session: the accessibility statement. */
#include "idp/page.h"
#include "idp/router.h"

void page_static_accessibility_handle(http_req_t *req, http_resp_t *resp)
{
    const char *lang = page_lang(req, http_query(req, "ui_locales"));
    json_t *ctx = json_object();
    if (!ctx) {
        http_resp_text(resp, 500, "text/plain; charset=utf-8", "Internal error.");
        return;
    }
    page_render(req, resp, 200, "accessibility", lang, ctx);
    json_decref(ctx);
}
