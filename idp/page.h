/* Rendering a page for a request: language choice, common context, error pages. */
#ifndef IDP_PAGE_H
#define IDP_PAGE_H

#include <jansson.h>

#include "idp/http.h"

/* The language for this request: ui_locales (given, e.g. from the flow), then
 * Accept-Language, else English. */
const char *page_lang(const http_req_t *req, const char *ui_locales);

/* Renders template name with ctx (borrowed) as an HTML response of status. */
void page_render(http_req_t *req, http_resp_t *resp, int status, const char *name, const char *lang,
                 json_t *ctx);

/* An error page with the catalog message msg_key, in the request's language. */
void page_error(http_req_t *req, http_resp_t *resp, int status, const char *msg_key);

#endif
