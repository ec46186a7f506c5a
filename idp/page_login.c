/* /login (the passkey sign-in page of a flow) and /recover (what to do after losing every
 * passkey). */
#include "idp/flow.h"
#include "idp/page.h"
#include "idp/router.h"

/* Loads the flow of ?flow= for a page, answering with an error page when it is gone.
 * Returns 0 with *request (json_decref) or -1. */
static int page_flow(http_req_t *req, http_resp_t *resp, const char **id, json_t **request)
{
    store_flow_t flow = {0};
    *id = http_query(req, "flow");
    if (page_flow_load(req, resp, *id, &flow, request) != 0)
        return -1;
    store_flow_clear(&flow);
    return 0;
}

void page_login_handle(http_req_t *req, http_resp_t *resp)
{
    const char *id;
    json_t *request = NULL;
    if (page_flow(req, resp, &id, &request) != 0)
        return;
    const char *lang = page_flow_lang(req, request, NULL);
    json_t *ctx = json_pack("{s:s}", "flow", id);
    page_render(req, resp, 200, "login", lang, ctx);
    json_decref(ctx);
    json_decref(request);
}

void page_recover_handle(http_req_t *req, http_resp_t *resp)
{
    const char *id;
    json_t *request = NULL;
    if (page_flow(req, resp, &id, &request) != 0)
        return;
    const char *lang = page_flow_lang(req, request, NULL);
    json_t *ctx = json_pack("{s:s}", "flow", id);
    page_render(req, resp, 200, "recover", lang, ctx);
    json_decref(ctx);
    json_decref(request);
}
