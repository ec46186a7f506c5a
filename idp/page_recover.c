/* /recover/code?flow=F (issue 5): the person enters their person number and the one-time
 * recovery code that support gave them after a four-eyes approved recovery case. On
 * success every old passkey and session of the account ends (a lost or stolen device
 * stops working at once), a notice goes to the contact address, and the page offers to
 * create a new passkey in this flow, which then continues to the relying party. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/token.h"
#include "idp/audit.h"
#include "idp/flow.h"
#include "idp/mail.h"
#include "idp/oidc_backchannel.h"
#include "idp/page.h"
#include "idp/register_csv.h"
#include "idp/render.h"
#include "idp/router.h"

static void recover_page(http_req_t *req, http_resp_t *resp, int status, const char *id,
                         const json_t *request, json_t *ctx)
{
    char csrf[TOKEN_HASH_HEX_LEN + 1];
    const char *lang = page_flow_lang(req, request, NULL);
    flow_csrf(req, id, csrf);
    json_object_set_new(ctx, "flow", json_string(id));
    json_object_set_new(ctx, "csrf", json_string(csrf));
    const char *k = json_string_value(json_object_get(ctx, "error"));
    if (k)
        json_object_set_new(ctx, "error", json_string(render_msg(req->app->render, lang, k)));
    page_render(req, resp, status, "recover_code", lang, ctx);
    json_decref(ctx);
}

void page_recover_code_handle(http_req_t *req, http_resp_t *resp)
{
    const char *id = req->method == HTTP_POST ? http_form(req, "flow") : NULL;
    store_flow_t flow = {0};
    store_account_t account = {0};
    store_person_t person = {0};
    json_t *request = NULL, *c = NULL;
    char normal[CODE_LEN + 1] = "", hash[TOKEN_HASH_HEX_LEN + 1], subject[AUDIT_SUBJECT_MAX];
    int attempts = 0, removed = 0;
    const config_t *cfg = req->app->cfg;

    if (!id)
        id = http_query(req, "flow");
    if (page_flow_load(req, resp, id, &flow, &request) != 0)
        goto out;
    if (req->method != HTTP_POST) {
        recover_page(req, resp, 200, id, request, json_object());
        goto out;
    }
    if (!flow_csrf_ok(req, id)) {
        recover_page(req, resp, 403, id, request, json_pack("{s:s}", "error", "error_csrf"));
        goto out;
    }
    if (flow.code_attempts >= cfg->enrol_code_attempts || flow_ip_limited(req, "code", 0)) {
        recover_page(req, resp, 429, id, request, json_pack("{s:s}", "error", "error_code_locked"));
        goto out;
    }
    const char *pn = http_form(req, "person_number"), *typed = http_form(req, "code");
    if (!pn || !register_csv_person_number_valid(pn)) {
        recover_page(req, resp, 400, id, request,
                     json_pack("{s:s}", "error", "rec_error_person_number"));
        goto out;
    }
    if (!typed || strlen(typed) > 64 || token_code_normalize(typed, normal) != 0) {
        recover_page(req, resp, 400, id, request, json_pack("{s:s}", "error", "error_code_format"));
        goto out;
    }
    token_hash(req->app->hash_key, "recovery_code", normal, hash);
    wp_err_t rc =
        store_case_redeem(req->app->store, pn, hash, wp_now(), cfg->recovery_code_attempts, &c);
    if (rc == WP_ERR_LIMIT) {
        json_t *ctx = json_pack("{s:s, s:o}", "error", "rec_error_cooling_off", "from",
                                render_time(json_integer_value(json_object_get(c, "not_before"))));
        recover_page(req, resp, 403, id, request, ctx);
        goto out;
    }
    if (rc) {
        flow_ip_limited(req, "code", 1);
        store_flow_code_failed(req->app->store, flow.id_hash, cfg->enrol_code_attempts, &attempts);
        recover_page(req, resp, rc == WP_ERR_USED ? 429 : 400, id, request,
                     json_pack("{s:s}", "error",
                               rc == WP_ERR_EXPIRED ? "error_code_expired"
                               : rc == WP_ERR_USED  ? "rec_error_locked"
                                                    : "error_code_wrong"));
        goto out;
    }
    if (store_account_by_person(req->app->store, pn, &account) != WP_OK) {
        recover_page(req, resp, 500, id, request, json_pack("{s:s}", "error", "error_internal"));
        goto out;
    }
    /* Relying parties hear that every session of the account ends (queued, before the
     * session records go). */
    oidc_backchannel_logout(req->app, NULL, account.id);
    if (store_account_reset(req->app->store, account.id, &removed) != WP_OK ||
        store_flow_set_proofed(req->app->store, flow.id_hash, pn, account.acr, account.proofing) !=
            WP_OK) {
        recover_page(req, resp, 500, id, request, json_pack("{s:s}", "error", "error_internal"));
        goto out;
    }
    audit_person_subject(req->app->hash_key, pn, subject);
    audit_record(
        req->app->store, "recovery_redeemed", "person", subject,
        json_pack("{s:O, s:i}", "case", json_object_get(c, "id"), "passkeys_removed", removed));
    if (store_person_get(req->app->store, pn, &person) == WP_OK)
        mail_send(req->app, person.contact_email,
                  page_flow_lang(req, request, person.preferred_language), "recovered",
                  person.given_names, NULL);
    recover_page(req, resp, 200, id, request, json_pack("{s:b}", "proofed", 1));
out:
    sodium_memzero(normal, sizeof normal);
    store_person_clear(&person);
    store_account_clear(&account);
    json_decref(c);
    json_decref(request);
    store_flow_clear(&flow);
}
