/* Rendering a page for a request: language choice, common context, error pages. */
#ifndef IDP_PAGE_H
#define IDP_PAGE_H

#include <jansson.h>

#include "idp/http.h"
#include "idp/store.h"

/* The language for this request, in issue 6's order: the first supported tag of
 * ui_locales (the relying party's request), then the person's saved choice (the cookie
 * the language switcher sets, else saved, e.g. the register's preferred language; may
 * be NULL), then Accept-Language, else English. Returns a static string. */
const char *page_lang_saved(const http_req_t *req, const char *ui_locales, const char *saved);
/* The same without a saved language. */
const char *page_lang(const http_req_t *req, const char *ui_locales);
/* For a page of a flow: a language picked on the switcher during this flow ("lang" of
 * the flow's request, a newer and explicit choice) wins; else page_lang_saved with the
 * flow's ui_locales. request may be NULL. */
const char *page_flow_lang(const http_req_t *req, const json_t *request, const char *saved);

/* Loads the flow id for a page (see flow_load) and extends its lifetime, since the person
 * is active. 0 with *flow (store_flow_clear) and *request (json_decref), or -1 after an
 * error page: a gone or expired flow gets a page, in the person's language, that says so
 * and leads back to the relying party where the journey started when that is known. */
int page_flow_load(http_req_t *req, http_resp_t *resp, const char *id, store_flow_t *flow,
                   json_t **request);

/* Renders template name with ctx (borrowed) as an HTML response of status. */
void page_render(http_req_t *req, http_resp_t *resp, int status, const char *name, const char *lang,
                 json_t *ctx);

/* An error page with the catalog message msg_key, in the request's language. */
void page_error(http_req_t *req, http_resp_t *resp, int status, const char *msg_key);

#endif
