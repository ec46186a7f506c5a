/* The support console /support/ (issue 5): staff enrolment and sign-in pages, person
 * search, a person's page (proofing history, passkeys, sign-ins, audit trail), assisted
 * enrolment codes, and recovery cases with four-eyes approval. Staff see what they need
 * to help and never a credential; every action is audited, refused actions say why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/token.h"
#include "idp/audit.h"
#include "idp/flow.h"
#include "idp/mail.h"
#include "idp/page.h"
#include "idp/register_csv.h"
#include "idp/render.h"
#include "idp/router.h"
#include "idp/support.h"

#define SUPPORT_AUDIT_ROWS 50
#define SUPPORT_TEXT_MAX 500

/* ---- browser cookie, sessions, CSRF (idp/support.h) */

static int token_shaped(const char *v)
{
    if (!v || strlen(v) != SUPPORT_TOKEN_LEN)
        return 0;
    for (const char *p = v; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

const char *support_browser(const http_req_t *req)
{
    const char *v = http_cookie(req, SUPPORT_BROWSER_COOKIE);
    return token_shaped(v) ? v : NULL;
}

void support_browser_ensure(http_req_t *req, http_resp_t *resp, char out[64])
{
    const char *v = support_browser(req);
    if (v) {
        snprintf(out, 64, "%s", v);
        return;
    }
    token_random(out, 64, 32);
    http_resp_cookie(resp, req->app, SUPPORT_BROWSER_COOKIE, out, -1);
}

void support_browser_hash(const http_req_t *req, const char *cookie,
                          char out[TOKEN_HASH_HEX_LEN + 1])
{
    token_hash(req->app->hash_key, "staff_browser", cookie, out);
}

json_t *support_staff(http_req_t *req)
{
    char hash[TOKEN_HASH_HEX_LEN + 1];
    char *id = NULL;
    json_t *staff = NULL;
    const char *cookie = http_cookie(req, SUPPORT_SESSION_COOKIE);
    if (!token_shaped(cookie))
        return NULL;
    token_hash(req->app->hash_key, "staff_session", cookie, hash);
    if (store_staff_session_get(req->app->store, hash, wp_now(), req->app->cfg->staff_idle_timeout,
                                &id) == WP_OK)
        store_staff_get(req->app->store, id, &staff);
    free(id);
    return staff;
}

wp_err_t support_session_start(http_req_t *req, http_resp_t *resp, const char *staff_id)
{
    char cookie[64], hash[TOKEN_HASH_HEX_LEN + 1];
    int64_t now = wp_now();
    token_random(cookie, sizeof cookie, 32);
    token_hash(req->app->hash_key, "staff_session", cookie, hash);
    wp_err_t rc =
        store_staff_session_create(req->app->store, hash, staff_id, now, now + SUPPORT_SESSION_MAX);
    if (rc == WP_OK)
        http_resp_cookie(resp, req->app, SUPPORT_SESSION_COOKIE, cookie, -1);
    return rc;
}

void support_csrf(const app_t *app, const char *cookie, char out[TOKEN_HASH_HEX_LEN + 1])
{
    token_hash(app->csrf_key, "staff_csrf", cookie ? cookie : "", out);
}

int support_csrf_ok(const http_req_t *req)
{
    char want[TOKEN_HASH_HEX_LEN + 1];
    const char *got = http_form(req, "csrf");
    const char *cookie = support_browser(req);
    if (!got || !cookie)
        return 0;
    support_csrf(req->app, cookie, want);
    return token_equal(got, want);
}

int64_t support_limit(http_req_t *req, http_resp_t *resp, const char *key, int window, int max,
                      int add)
{
    int count = 0;
    int64_t now = wp_now();
    char secs[24];
    if (window <= 0)
        return 0;
    wp_err_t rc = add ? store_ratelimit_add(req->app->store, key, window, now, &count)
                      : store_ratelimit_count(req->app->store, key, window, now, &count);
    if (rc != WP_OK || (add ? count <= max : count < max))
        return 0;
    /* The store counts in fixed windows aligned on multiples of window. */
    int64_t r = now % window;
    int64_t until = now - (r < 0 ? r + window : r) + window;
    if (resp) {
        snprintf(secs, sizeof secs, "%lld", (long long)(until - now));
        http_resp_header(resp, "Retry-After", secs);
    }
    return until;
}

/* ---- rendering */

/* The catalog key of the heading that names console page tpl (with ctx) in its title. */
static const char *support_title_key(const char *tpl, const json_t *ctx)
{
    if (strcmp(tpl, "support_login") == 0)
        return "sup_login_title";
    if (strcmp(tpl, "support_enrol") == 0)
        return json_is_true(json_object_get(ctx, "ready")) ? "sup_enrol_ready_title"
                                                           : "sup_enrol_title";
    if (strcmp(tpl, "support_person") == 0)
        return "sup_person_page_title"; /* not the person's name: titles end up in history */
    if (strcmp(tpl, "support_code") == 0)
        return json_is_true(json_object_get(ctx, "recovery")) ? "sup_code_recovery_title"
                                                              : "sup_code_enrol_title";
    if (strcmp(tpl, "support_refused") == 0)
        return "sup_refused_title";
    return "sup_home_title";
}

/* Renders a console template with ctx (stolen): adds the staff member, the CSRF token
 * (setting the browser cookie when missing), the console script, a page title, and
 * translates the "error" and "notice" catalog keys. */
static void support_page(http_req_t *req, http_resp_t *resp, int status, const char *tpl,
                         const json_t *staff, json_t *ctx)
{
    char cookie[64], csrf[TOKEN_HASH_HEX_LEN + 1];
    const char *lang = page_lang(req, http_query(req, "ui_locales"));
    support_browser_ensure(req, resp, cookie);
    support_csrf(req->app, cookie, csrf);
    json_object_set_new(ctx, "csrf", json_string(csrf));
    json_object_set_new(ctx, "support_js",
                        json_string(render_asset_url(req->app->render, "support.js")));
    if (staff) {
        const char *role = json_string_value(json_object_get(staff, "role"));
        json_object_set_new(ctx, "staff",
                            json_pack("{s:O, s:O, s:b}", "name", json_object_get(staff, "name"),
                                      "role", json_object_get(staff, "role"), "supervisor",
                                      role && strcmp(role, "supervisor") == 0));
    }
    char title[256];
    snprintf(title, sizeof title, "%s - %s",
             render_msg(req->app->render, lang, support_title_key(tpl, ctx)),
             render_msg(req->app->render, lang, "app_name"));
    json_object_set_new(ctx, "title", json_string(title));
    static const char *const keyed[] = {"error", "notice"};
    for (size_t i = 0; i < 2; i++) {
        const char *k = json_string_value(json_object_get(ctx, keyed[i]));
        if (k)
            json_object_set_new(ctx, keyed[i], json_string(render_msg(req->app->render, lang, k)));
    }
    page_render(req, resp, status, tpl, lang, ctx);
    json_decref(ctx);
}

/* The staff member for a console page; else the sign-in page is sent and NULL returned.
 * When role is "supervisor" a support member gets a refusal page instead. */
static json_t *require_staff(http_req_t *req, http_resp_t *resp, const char *role)
{
    json_t *staff = support_staff(req);
    if (!staff) {
        support_page(
            req, resp, http_cookie(req, SUPPORT_SESSION_COOKIE) ? 401 : 200, "support_login", NULL,
            json_pack("{s:s?}", "error",
                      http_cookie(req, SUPPORT_SESSION_COOKIE) ? "sup_error_session_ended" : NULL));
        return NULL;
    }
    if (role && strcmp(json_string_value(json_object_get(staff, "role")), role) != 0) {
        support_page(req, resp, 403, "support_refused", staff,
                     json_pack("{s:s}", "error", "sup_error_role"));
        json_decref(staff);
        return NULL;
    }
    return staff;
}

/* For a POST: the staff member (role checked) and a valid CSRF token, else a page. */
static json_t *require_staff_post(http_req_t *req, http_resp_t *resp, const char *role)
{
    json_t *staff = require_staff(req, resp, role);
    if (staff && !support_csrf_ok(req)) {
        support_page(req, resp, 403, "support_refused", staff,
                     json_pack("{s:s}", "error", "sup_error_csrf"));
        json_decref(staff);
        return NULL;
    }
    return staff;
}

static void staff_actor(const json_t *staff, char out[64])
{
    snprintf(out, 64, "staff:%s", json_string_value(json_object_get(staff, "id")));
}

/* Counts one more action of kind ("codes", "searches", "cases") by the staff member.
 * 0 when allowed; else the refusal is audited, ctx (when not NULL) gets the error key and
 * the time it ends ("retry_until"), and that time is returned. */
static int64_t staff_action_limited(http_req_t *req, http_resp_t *resp, const json_t *staff,
                                    const char *kind, json_t *ctx)
{
    const config_t *cfg = req->app->cfg;
    char key[96], actor[64];
    int window = 3600, max = cfg->staff_codes_per_hour;
    const char *error = "sup_error_rate";
    if (strcmp(kind, "searches") == 0) {
        window = 60;
        max = cfg->staff_searches_per_minute;
        error = "sup_error_search_rate";
    } else if (strcmp(kind, "cases") == 0) {
        max = cfg->staff_cases_per_hour;
        error = "sup_error_case_rate";
    }
    snprintf(key, sizeof key, "staff%s:%s", kind, json_string_value(json_object_get(staff, "id")));
    int64_t until = support_limit(req, resp, key, window, max, 1);
    if (!until)
        return 0;
    staff_actor(staff, actor);
    audit_record(req->app->store, "staff_rate_limited", actor, actor,
                 json_pack("{s:s, s:I}", "action", kind, "until", (json_int_t)until));
    if (ctx) {
        json_object_set_new(ctx, "error", json_string(error));
        json_object_set_new(ctx, "retry_until", render_time(until)); /* in the page's language */
    }
    return until;
}

/* Text typed by staff: 1..max bytes, no control characters except none. */
static int text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* The evidence of a proofing from the form: document type, issuing country (2 letters),
 * the last four characters of the document number, method video|desk. NULL when a field
 * is missing or malformed (*error_key says which). */
static json_t *evidence_from_form(http_req_t *req, const char **error_key)
{
    const char *doc = http_form(req, "document_type"), *country = http_form(req, "country");
    const char *last4 = http_form(req, "document_last4"), *method = http_form(req, "method");
    static const char *const docs[] = {"passport", "id_card", "residence_permit",
                                       "driving_licence"};
    int doc_ok = 0;
    for (size_t i = 0; doc && i < sizeof docs / sizeof docs[0]; i++)
        doc_ok |= strcmp(doc, docs[i]) == 0;
    if (!doc_ok) {
        *error_key = "sup_error_document_type";
        return NULL;
    }
    if (!country || strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' ||
        country[1] < 'A' || country[1] > 'Z') {
        *error_key = "sup_error_country";
        return NULL;
    }
    int l4 = last4 && strlen(last4) == 4;
    for (size_t i = 0; l4 && i < 4; i++)
        l4 = (last4[i] >= 'A' && last4[i] <= 'Z') || (last4[i] >= '0' && last4[i] <= '9');
    if (!l4) {
        *error_key = "sup_error_last4";
        return NULL;
    }
    if (!method || (strcmp(method, "video") != 0 && strcmp(method, "desk") != 0)) {
        *error_key = "sup_error_method";
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s}", "document_type", doc, "country", country,
                     "document_last4", last4, "method", method);
}

/* ---- pages */

/* GET /support/: the home page (search, cases waiting), or the sign-in page. */
void support_home_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *staff = require_staff(req, resp, NULL), *cases = NULL;
    if (!staff)
        return;
    store_case_list(req->app->store, NULL, "open", &cases);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        json_object_set_new(c, "opened",
                            render_time(json_integer_value(json_object_get(c, "created_at"))));
        json_object_set_new(c, "mine",
                            json_boolean(json_equal(json_object_get(c, "opened_by"),
                                                    json_object_get(staff, "id"))));
    }
    support_page(req, resp, 200, "support_home", staff,
                 json_pack("{s:o, s:b}", "cases", cases ? cases : json_array(), "has_cases",
                           json_array_size(cases) > 0));
    json_decref(staff);
}

/* GET /support/search?person_number=N or ?family_name=F&birthdate=D */
void support_search_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *staff = require_staff(req, resp, NULL), *found = NULL;
    if (!staff)
        return;
    const char *pn = http_query(req, "person_number");
    const char *family = http_query(req, "family_name"), *birth = http_query(req, "birthdate");
    if (pn && !*pn)
        pn = NULL;
    if (pn ? !register_csv_person_number_valid(pn)
           : (!text_ok(family, 200) || !birth || strlen(birth) != 10)) {
        support_page(req, resp, 400, "support_home", staff,
                     json_pack("{s:s, s:[]}", "error", "sup_error_search", "cases"));
        json_decref(staff);
        return;
    }
    json_t *refusal = json_pack("{s:[]}", "cases");
    if (staff_action_limited(req, resp, staff, "searches", refusal)) {
        support_page(req, resp, 429, "support_home", staff, refusal);
        json_decref(staff);
        return;
    }
    json_decref(refusal);
    char actor[64];
    staff_actor(staff, actor);
    audit_record(req->app->store, "staff_search", actor, NULL,
                 json_pack("{s:s}", "by", pn ? "person_number" : "name_birthdate"));
    store_person_search(req->app->store, pn, pn ? NULL : family, pn ? NULL : birth, &found);
    support_page(req, resp, 200, "support_home", staff,
                 json_pack("{s:o, s:b, s:b, s:[]}", "results", found ? found : json_array(),
                           "searched", 1, "none_found", json_array_size(found) == 0, "cases"));
    json_decref(staff);
}

/* Fills ctx with everything the person page shows. */
static void person_context(http_req_t *req, const char *pn, const json_t *staff, json_t *ctx)
{
    store_person_t person = {0};
    store_account_t account = {0};
    store_credential_t *creds = NULL;
    size_t n = 0;
    char subject[AUDIT_SUBJECT_MAX];
    json_t *audit = NULL, *signins = json_array(), *cases = NULL, *keys = json_array();

    audit_person_subject(req->app->hash_key, pn, subject);
    if (store_person_get(req->app->store, pn, &person) == WP_OK)
        json_object_set_new(ctx, "person",
                            json_pack("{s:s, s:s, s:s, s:s, s:b}", "person_number", pn,
                                      "family_name", person.family_name, "given_names",
                                      person.given_names, "birthdate", person.birthdate,
                                      "has_email", person.contact_email != NULL));
    if (store_account_by_person(req->app->store, pn, &account) == WP_OK) {
        json_object_set_new(ctx, "account",
                            json_pack("{s:s, s:s, s:o, s:o}", "proofing", account.proofing, "acr",
                                      account.acr, "created", render_time(account.created_at),
                                      "proofed", render_time(account.proofed_at)));
        if (store_credential_list(req->app->store, account.id, &creds, &n) == WP_OK)
            for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    keys,
                    json_pack("{s:s, s:o, s:o, s:b}", "name", creds[i].name ? creds[i].name : "-",
                              "created", render_time(creds[i].created_at), "last_used",
                              render_time(creds[i].last_used_at), "synced", creds[i].backup_state));
    }
    if (store_audit_list(req->app->store, subject, NULL, 0, SUPPORT_AUDIT_ROWS, 1, &audit) ==
        WP_OK) {
        size_t i;
        json_t *e;
        json_array_foreach(audit, i, e)
        {
            json_t *when = render_time(json_integer_value(json_object_get(e, "at")));
            char *details =
                json_dumps(json_object_get(e, "details"), JSON_COMPACT | JSON_SORT_KEYS);
            json_object_set_new(e, "when", when);
            json_object_set_new(e, "details_text", json_string(details ? details : ""));
            free(details);
            if (strcmp(json_string_value(json_object_get(e, "event")), "signin") == 0)
                json_array_append(signins, e);
        }
    }
    store_case_list(req->app->store, pn, NULL, &cases);
    const char *me = json_string_value(json_object_get(staff, "id"));
    const char *role = json_string_value(json_object_get(staff, "role"));
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *status = json_string_value(json_object_get(c, "status"));
        int own = json_equal(json_object_get(c, "opened_by"), json_object_get(staff, "id"));
        json_object_set_new(c, "opened",
                            render_time(json_integer_value(json_object_get(c, "created_at"))));
        json_object_set_new(c, "is_open", json_boolean(strcmp(status, "open") == 0));
        json_object_set_new(
            c, "can_approve",
            json_boolean(strcmp(status, "open") == 0 && !own && strcmp(role, "supervisor") == 0));
        json_object_set_new(c, "own", json_boolean(own));
        json_object_set_new(
            c, "status_text",
            json_string(render_msg(req->app->render, page_lang(req, NULL),
                                   strcmp(status, "open") == 0       ? "sup_status_open"
                                   : strcmp(status, "approved") == 0 ? "sup_status_approved"
                                   : strcmp(status, "redeemed") == 0 ? "sup_status_redeemed"
                                   : strcmp(status, "locked") == 0   ? "sup_status_locked"
                                                                     : "sup_status_void")));
    }
    (void)me;
    json_object_set_new(ctx, "pn", json_string(pn));
    json_object_set_new(ctx, "passkeys", keys);
    json_object_set_new(ctx, "has_passkeys", json_boolean(n > 0));
    json_object_set_new(ctx, "signins", signins);
    json_object_set_new(ctx, "audit", audit ? audit : json_array());
    json_object_set_new(ctx, "cases", cases ? cases : json_array());
    store_credentials_free(creds, n);
    store_account_clear(&account);
    store_person_clear(&person);
}

/* Renders the person page of pn, with ctx's extra members (stolen). */
static void person_page(http_req_t *req, http_resp_t *resp, int status, const char *pn,
                        const json_t *staff, json_t *ctx)
{
    person_context(req, pn, staff, ctx);
    support_page(req, resp, status, "support_person", staff, ctx);
}

/* GET /support/person?person_number=N */
void support_person_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *staff = require_staff(req, resp, NULL);
    if (!staff)
        return;
    const char *pn = http_query(req, "person_number");
    store_person_t p = {0};
    if (!pn || !register_csv_person_number_valid(pn) ||
        store_person_get(req->app->store, pn, &p) != WP_OK) {
        support_page(req, resp, 404, "support_refused", staff,
                     json_pack("{s:s}", "error", "sup_error_no_person"));
        json_decref(staff);
        return;
    }
    store_person_clear(&p);
    char actor[64], subject[AUDIT_SUBJECT_MAX];
    staff_actor(staff, actor);
    audit_person_subject(req->app->hash_key, pn, subject);
    audit_record(req->app->store, "staff_viewed_person", actor, subject, NULL);
    person_page(req, resp, 200, pn, staff, json_object());
    json_decref(staff);
}

/* The person number of a console POST, checked against the register; else a page. */
static const char *posted_person(http_req_t *req, http_resp_t *resp, const json_t *staff)
{
    const char *pn = http_form(req, "person_number");
    store_person_t p = {0};
    if (!pn || !register_csv_person_number_valid(pn) ||
        store_person_get(req->app->store, pn, &p) != WP_OK) {
        support_page(req, resp, 404, "support_refused", staff,
                     json_pack("{s:s}", "error", "sup_error_no_person"));
        return NULL;
    }
    store_person_clear(&p);
    return pn;
}

/* POST /support/enrol-code: assisted enrolment after checking an identity document. */
void support_enrol_code_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *staff = require_staff_post(req, resp, NULL), *evidence = NULL;
    const char *pn, *err = NULL;
    char code[CODE_LEN + 1] = "", hash[TOKEN_HASH_HEX_LEN + 1], actor[64],
                         subject[AUDIT_SUBJECT_MAX];
    if (!staff || !(pn = posted_person(req, resp, staff)))
        goto out;
    evidence = evidence_from_form(req, &err);
    if (!evidence) {
        person_page(req, resp, 400, pn, staff, json_pack("{s:s}", "error", err));
        goto out;
    }
    json_t *refusal = json_object();
    if (staff_action_limited(req, resp, staff, "codes", refusal)) {
        person_page(req, resp, 429, pn, staff, refusal);
        goto out;
    }
    json_decref(refusal);
    token_code_new(code);
    token_hash(req->app->hash_key, "enrol_code", code, hash);
    store_code_t row = {.hash = hash,
                        .kind = "enrol",
                        .person_number = (char *)pn,
                        .acr = req->app->cfg->acr_assisted,
                        .proofing = "assisted",
                        .expires_at = wp_now() + req->app->cfg->enrol_code_ttl};
    if (store_code_add(req->app->store, &row) != WP_OK) {
        person_page(req, resp, 500, pn, staff, json_pack("{s:s}", "error", "error_internal"));
        goto out;
    }
    staff_actor(staff, actor);
    audit_person_subject(req->app->hash_key, pn, subject);
    json_object_set_new(evidence, "proofing", json_string("assisted"));
    audit_record(req->app->store, "enrol_code_issued", actor, subject, json_incref(evidence));
    support_page(req, resp, 200, "support_code", staff,
                 json_pack("{s:s, s:s, s:o, s:b}", "code", code, "pn", pn, "until",
                           render_time(row.expires_at), "enrolment", 1));
out:
    sodium_memzero(code, sizeof code);
    json_decref(evidence);
    json_decref(staff);
}

/* POST /support/case/open: a support member opens a recovery case. */
void support_case_open_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *staff = require_staff_post(req, resp, NULL), *evidence = NULL;
    const char *pn, *err = NULL;
    char id[32], actor[64], subject[AUDIT_SUBJECT_MAX];
    store_account_t account = {0};
    if (!staff || !(pn = posted_person(req, resp, staff)))
        goto out;
    const char *reason = http_form(req, "reason");
    int verified = http_form(req, "verified_call") != NULL;
    if (!text_ok(reason, SUPPORT_TEXT_MAX)) {
        person_page(req, resp, 400, pn, staff, json_pack("{s:s}", "error", "sup_error_reason"));
        goto out;
    }
    evidence = evidence_from_form(req, &err);
    if (!evidence) {
        person_page(req, resp, 400, pn, staff, json_pack("{s:s}", "error", err));
        goto out;
    }
    if (store_account_by_person(req->app->store, pn, &account) != WP_OK) {
        person_page(req, resp, 400, pn, staff, json_pack("{s:s}", "error", "sup_error_no_account"));
        goto out;
    }
    json_t *refusal = json_object();
    if (staff_action_limited(req, resp, staff, "cases", refusal)) {
        person_page(req, resp, 429, pn, staff, refusal);
        goto out;
    }
    json_decref(refusal);
    token_random(id, sizeof id, 12);
    json_t *c = json_pack("{s:s, s:s, s:O, s:s, s:O, s:b, s:I}", "id", id, "person_number", pn,
                          "opened_by", json_object_get(staff, "id"), "reason", reason, "evidence",
                          evidence, "verified_call", verified, "created_at", (json_int_t)wp_now());
    wp_err_t rc = c ? store_case_open(req->app->store, c) : WP_ERR;
    json_decref(c);
    if (rc) {
        person_page(req, resp, 500, pn, staff, json_pack("{s:s}", "error", "error_internal"));
        goto out;
    }
    staff_actor(staff, actor);
    audit_person_subject(req->app->hash_key, pn, subject);
    json_object_set_new(evidence, "case", json_string(id));
    json_object_set_new(evidence, "verified_call", json_boolean(verified));
    audit_record(req->app->store, "recovery_opened", actor, subject, json_incref(evidence));
    person_page(req, resp, 200, pn, staff, json_pack("{s:s}", "notice", "sup_notice_case_opened"));
out:
    store_account_clear(&account);
    json_decref(evidence);
    json_decref(staff);
}

/* POST /support/case/approve: a supervisor other than the opener approves; the recovery
 * code is shown once (to read out in the verified call) or mailed to the contact address
 * on file. Without a verified call the code works only after the cooling-off time. */
void support_case_approve_handle(http_req_t *req, http_resp_t *resp)
{
    json_t *staff = require_staff_post(req, resp, NULL), *c = NULL;
    char code[CODE_LEN + 1] = "", hash[TOKEN_HASH_HEX_LEN + 1], actor[64],
                         subject[AUDIT_SUBJECT_MAX];
    store_person_t person = {0};
    const char *id = http_form(req, "case"), *delivery = http_form(req, "delivery");
    if (!staff)
        goto out;
    if (!id || store_case_get(req->app->store, id, &c) != WP_OK) {
        support_page(req, resp, 404, "support_refused", staff,
                     json_pack("{s:s}", "error", "sup_error_no_case"));
        goto out;
    }
    const char *pn = json_string_value(json_object_get(c, "person_number"));
    /* The role check comes after loading the case so the refusal can name it. */
    if (strcmp(json_string_value(json_object_get(staff, "role")), "supervisor") != 0) {
        person_page(req, resp, 403, pn, staff, json_pack("{s:s}", "error", "sup_error_role"));
        goto out;
    }
    if (json_equal(json_object_get(c, "opened_by"), json_object_get(staff, "id"))) {
        person_page(req, resp, 403, pn, staff, json_pack("{s:s}", "error", "sup_error_own_case"));
        goto out;
    }
    if (!delivery || (strcmp(delivery, "read") != 0 && strcmp(delivery, "mail") != 0)) {
        person_page(req, resp, 400, pn, staff, json_pack("{s:s}", "error", "sup_error_delivery"));
        goto out;
    }
    json_t *refusal = json_object();
    if (staff_action_limited(req, resp, staff, "codes", refusal)) {
        person_page(req, resp, 429, pn, staff, refusal);
        goto out;
    }
    json_decref(refusal);
    int64_t now = wp_now();
    int verified = json_integer_value(json_object_get(c, "verified_call")) != 0;
    int64_t not_before = verified ? 0 : now + req->app->cfg->recovery_cooling_off;
    int64_t until = now + req->app->cfg->recovery_code_ttl;
    if (until < not_before + req->app->cfg->recovery_code_ttl)
        until = not_before + req->app->cfg->recovery_code_ttl;
    token_code_new(code);
    token_hash(req->app->hash_key, "recovery_code", code, hash);
    wp_err_t rc =
        store_case_approve(req->app->store, id, json_string_value(json_object_get(staff, "id")),
                           hash, until, not_before, now);
    if (rc) {
        person_page(req, resp, rc == WP_ERR_INVALID ? 403 : 409, pn, staff,
                    json_pack("{s:s}", "error",
                              rc == WP_ERR_INVALID ? "sup_error_own_case" : "sup_error_not_open"));
        goto out;
    }
    staff_actor(staff, actor);
    audit_person_subject(req->app->hash_key, pn, subject);
    audit_record(
        req->app->store, "recovery_approved", actor, subject,
        json_pack("{s:s, s:s, s:b}", "case", id, "delivery", delivery, "cooling_off", !verified));
    int mailed = 0;
    wp_err_t sent = WP_ERR;
    if (strcmp(delivery, "mail") == 0 && store_person_get(req->app->store, pn, &person) == WP_OK)
        sent = mail_send(req->app, person.contact_email, person.preferred_language, "recovery",
                         person.given_names, code);
    mailed = sent == WP_OK;
    if (strcmp(delivery, "mail") == 0 && !mailed) {
        /* The code never left: undo the approval so the case can be approved again (and
         * the code read out) instead of being stranded as approved. */
        wp_err_t undo = store_case_reopen(req->app->store, id,
                                          json_string_value(json_object_get(staff, "id")), now);
        audit_record(req->app->store, "recovery_approval_undone", actor, subject,
                     json_pack("{s:s, s:s, s:b}", "case", id, "why",
                               sent == WP_ERR_INVALID ? "no_contact_address" : "mail_not_queued",
                               "reopened", undo == WP_OK));
        person_page(req, resp, sent == WP_ERR_INVALID ? 409 : 500, pn, staff,
                    json_pack("{s:s}", "error",
                              undo != WP_OK            ? "error_internal"
                              : sent == WP_ERR_INVALID ? "sup_error_no_address"
                                                       : "sup_error_mail"));
        goto out;
    }
    support_page(req, resp, 200, "support_code", staff,
                 json_pack("{s:s?, s:s, s:o, s:b, s:b, s:o}", "code", mailed ? NULL : code, "pn",
                           pn, "until", render_time(until), "recovery", 1, "mailed", mailed,
                           "not_before", not_before ? render_time(not_before) : json_null()));
out:
    sodium_memzero(code, sizeof code);
    store_person_clear(&person);
    json_decref(c);
    json_decref(staff);
}

/* GET|POST /support/enrol: a new staff member's one-time code, then their passkey. */
void support_enrol_handle(http_req_t *req, http_resp_t *resp)
{
    char normal[CODE_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1], bhash[TOKEN_HASH_HEX_LEN + 1];
    store_code_t code = {0};
    if (req->method != HTTP_POST) {
        support_page(req, resp, 200, "support_enrol", NULL, json_object());
        return;
    }
    if (!support_csrf_ok(req)) {
        support_page(req, resp, 403, "support_enrol", NULL,
                     json_pack("{s:s}", "error", "sup_error_csrf"));
        return;
    }
    if (flow_ip_limited(req, "staffcode", 0)) {
        support_page(req, resp, 429, "support_enrol", NULL,
                     json_pack("{s:s}", "error", "error_code_locked"));
        return;
    }
    const char *typed = http_form(req, "code");
    if (!typed || strlen(typed) > 64 || token_code_normalize(typed, normal) != 0) {
        support_page(req, resp, 400, "support_enrol", NULL,
                     json_pack("{s:s}", "error", "error_code_format"));
        return;
    }
    token_hash(req->app->hash_key, "staff_code", normal, hash);
    wp_err_t rc = store_code_redeem(req->app->store, hash, "staff", wp_now(), &code);
    if (rc) {
        flow_ip_limited(req, "staffcode", 1);
        support_page(req, resp, 400, "support_enrol", NULL,
                     json_pack("{s:s}", "error",
                               rc == WP_ERR_EXPIRED ? "error_code_expired" : "error_code_wrong"));
        return;
    }
    /* The code is spent; this browser may now register the staff member's passkey. */
    support_browser_hash(req, support_browser(req), bhash);
    store_challenge_put(req->app->store, bhash, "staff_enrol", code.person_number, wp_now() + 900);
    char subject[64];
    snprintf(subject, sizeof subject, "staff:%s", code.person_number);
    audit_record(req->app->store, "staff_code_redeemed", subject, subject, NULL);
    support_page(req, resp, 200, "support_enrol", NULL, json_pack("{s:b}", "ready", 1));
    store_code_clear(&code);
}

/* POST /support/logout */
void support_logout_handle(http_req_t *req, http_resp_t *resp)
{
    char hash[TOKEN_HASH_HEX_LEN + 1];
    const char *cookie = http_cookie(req, SUPPORT_SESSION_COOKIE);
    if (support_csrf_ok(req) && token_shaped(cookie)) {
        token_hash(req->app->hash_key, "staff_session", cookie, hash);
        store_staff_session_delete(req->app->store, hash);
    }
    http_resp_cookie(resp, req->app, SUPPORT_SESSION_COOKIE, "", 0);
    support_page(req, resp, 200, "support_login", NULL,
                 json_pack("{s:s}", "notice", "sup_notice_signed_out"));
}
