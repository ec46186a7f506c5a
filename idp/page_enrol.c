/* Enrolment pages: the choice of proofing paths, the one-time code from support staff,
 * and the diploma path's entry. */
#include <stdio.h>
#include <string.h>

#include "crypto/token.h"
#include "idp/audit.h"
#include "idp/flow.h"
#include "idp/page.h"
#include "idp/page_enrol_diploma.h"
#include "idp/render.h"
#include "idp/router.h"

static int page_flow(http_req_t *req, http_resp_t *resp, const char *id, store_flow_t *flow,
                     json_t **request)
{
    return page_flow_load(req, resp, id, flow, request);
}

/* The flow id of a page: the form's hidden field, else the URL's ?flow=. */
static const char *flow_param(http_req_t *req)
{
    const char *id = req->method == HTTP_POST ? http_form(req, "flow") : NULL;
    return id ? id : http_query(req, "flow");
}

static const char *flow_lang(http_req_t *req, const json_t *request)
{
    return page_flow_lang(req, request, NULL);
}

void page_enrol_handle(http_req_t *req, http_resp_t *resp)
{
    const char *id = http_query(req, "flow");
    store_flow_t flow = {0};
    json_t *request = NULL;
    if (page_flow(req, resp, id, &flow, &request) != 0)
        return;
    json_t *ctx = json_pack("{s:s}", "flow", id);
    page_render(req, resp, 200, "enrol", flow_lang(req, request), ctx);
    json_decref(ctx);
    json_decref(request);
    store_flow_clear(&flow);
}

/* Renders the code page, with an error message key or the passkey step. */
static void code_page(http_req_t *req, http_resp_t *resp, int status, const char *id,
                      const json_t *request, const char *error_key, int proofed)
{
    char csrf[TOKEN_HASH_HEX_LEN + 1];
    const char *lang = flow_lang(req, request);
    flow_csrf(req, id, csrf);
    json_t *ctx = json_pack("{s:s, s:s, s:b}", "flow", id, "csrf", csrf, "proofed", proofed);
    if (error_key)
        json_object_set_new(ctx, "error",
                            json_string(render_msg(req->app->render, lang, error_key)));
    page_render(req, resp, status, "enrol_code", lang, ctx);
    json_decref(ctx);
}

void page_enrol_code_handle(http_req_t *req, http_resp_t *resp)
{
    const char *id = flow_param(req);
    store_flow_t flow = {0};
    store_code_t code = {0};
    json_t *request = NULL;
    char normal[CODE_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1];
    int attempts = 0;

    if (page_flow(req, resp, id, &flow, &request) != 0)
        return;
    if (req->method != HTTP_POST) {
        code_page(req, resp, 200, id, request, NULL, flow.person_number != NULL);
        goto out;
    }
    if (!flow_csrf_ok(req, id)) {
        code_page(req, resp, 403, id, request, "error_csrf", 0);
        goto out;
    }
    if (flow.code_attempts >= req->app->cfg->enrol_code_attempts ||
        flow_ip_limited(req, "code", 0) || enrol_diploma_code_locked(req, flow.id_hash, NULL)) {
        code_page(req, resp, 429, id, request, "error_code_locked", 0);
        goto out;
    }
    const char *typed = http_form(req, "code");
    if (!typed || strlen(typed) > 64 || token_code_normalize(typed, normal) != 0) {
        code_page(req, resp, 400, id, request, "error_code_format", 0);
        goto out;
    }
    token_hash(req->app->hash_key, "enrol_code", normal, hash);
    const char *kind = NULL; /* "enrol" (support staff) or "diploma" (issue 4) */
    wp_err_t rc =
        enrol_diploma_code_redeem(req->app->store, hash, flow.id_hash, wp_now(), &code, &kind);
    if (rc == WP_OK && strcmp(kind, DIPLOMA_CODE_KIND) == 0 &&
        enrol_diploma_code_locked(req, NULL, code.person_number)) {
        code_page(req, resp, 429, id, request, "error_code_locked", 0);
        goto out;
    }
    if (rc != WP_OK) {
        flow_ip_limited(req, "code", 1);
        enrol_diploma_code_failed(req, flow.id_hash);
        if (store_flow_code_failed(req->app->store, flow.id_hash,
                                   req->app->cfg->enrol_code_attempts, &attempts) == WP_ERR_LIMIT ||
            attempts >= req->app->cfg->enrol_code_attempts)
            code_page(req, resp, 429, id, request, "error_code_locked", 0);
        else if (rc == WP_ERR_EXPIRED && kind && strcmp(kind, DIPLOMA_CODE_KIND) == 0)
            code_page(req, resp, 400, id, request, "dip_code_expired", 0);
        else
            code_page(req, resp, 400, id, request,
                      rc == WP_ERR_EXPIRED ? "error_code_expired" : "error_code_wrong", 0);
        goto out;
    }
    if (store_flow_set_proofed(req->app->store, flow.id_hash, code.person_number, code.acr,
                               code.proofing) != WP_OK) {
        code_page(req, resp, 500, id, request, "error_internal", 0);
        goto out;
    }
    WP_LOG_INFO("enrolment code redeemed (%s)", code.proofing);
    { /* issue 5: audit */
        char subject[AUDIT_SUBJECT_MAX];
        audit_person_subject(req->app->hash_key, code.person_number, subject);
        audit_record(req->app->store, "enrol_code_redeemed", "person", subject,
                     json_pack("{s:s}", "proofing", code.proofing));
    }
    code_page(req, resp, 200, id, request, NULL, 1);
out:
    store_code_clear(&code);
    store_flow_clear(&flow);
    json_decref(request);
}
