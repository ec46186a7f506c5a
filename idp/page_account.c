/* /account: the signed-in person's own page (issue 5). Lists their passkeys (name,
 * created, last used, synced or device-bound) and recent sign-ins; lets them add another
 * passkey, rename or remove one (the last only after an explicit confirmation), and sign
 * out everywhere. Every form carries a CSRF token bound to the browser and the session;
 * every change is audited. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "idp/audit.h"
#include "idp/flow.h"
#include "idp/oidc_backchannel.h"
#include "idp/page.h"
#include "idp/render.h"
#include "idp/router.h"

#define ACCOUNT_NAME_MAX 60
#define ACCOUNT_SIGNINS 10
#define ACCOUNT_REAUTH_MAX 600 /* adding a passkey needs a sign-in at most this recent */

/* A passkey name as typed: 1..ACCOUNT_NAME_MAX bytes without control characters. */
static int name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > ACCOUNT_NAME_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

typedef struct {
    store_session_t session;
    store_account_t account;
    store_credential_t *creds;
    size_t ncreds;
    char subject[AUDIT_SUBJECT_MAX];
    char purpose[96];
    const char *lang;
} acct_t;

static void acct_clear(acct_t *a)
{
    store_credentials_free(a->creds, a->ncreds);
    store_account_clear(&a->account);
    store_session_clear(&a->session);
}

/* Renders the page with the current passkeys and sign-ins, plus extra members of ctx
 * (stolen): "notice" / "error" catalog keys, "add_flow", "confirm_remove". */
static void render_account(http_req_t *req, http_resp_t *resp, int status, acct_t *a, json_t *ctx)
{
    char csrf[TOKEN_HASH_HEX_LEN + 1];
    json_t *signins = NULL, *list = json_array(), *rows = json_array();

    flow_csrf(req, a->purpose, csrf);
    for (size_t i = 0; i < a->ncreds; i++) {
        const store_credential_t *c = &a->creds[i];
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o, s:o, s:b}", "id", c->cred_id, "name",
                            c->name ? c->name
                                    : render_msg(req->app->render, a->lang, "passkey_default_name"),
                            "created", render_time(c->created_at), "last_used",
                            render_time(c->last_used_at), "synced", c->backup_state));
    }
    if (store_audit_list(req->app->store, a->subject, "signin", 0, ACCOUNT_SIGNINS, 1, &signins) ==
        WP_OK) {
        size_t i;
        json_t *e;
        json_array_foreach(signins, i, e)
        {
            const char *client =
                json_string_value(json_object_get(json_object_get(e, "details"), "client"));
            json_array_append_new(
                rows, json_pack("{s:o, s:s}", "when",
                                render_time(json_integer_value(json_object_get(e, "at"))), "client",
                                client ? client : "-"));
        }
    }
    json_decref(signins);
    json_t *common =
        json_pack("{s:o, s:o, s:s, s:b, s:b}", "passkeys", list, "signins", rows, "csrf", csrf,
                  "has_signins", json_array_size(rows) > 0, "one_left", a->ncreds == 1);
    json_object_update(ctx, common);
    json_decref(common);
    json_t *tmp = json_object_get(ctx, "notice");
    if (json_is_string(tmp))
        json_object_set_new(
            ctx, "notice",
            json_string(render_msg(req->app->render, a->lang, json_string_value(tmp))));
    tmp = json_object_get(ctx, "error");
    if (json_is_string(tmp))
        json_object_set_new(
            ctx, "error",
            json_string(render_msg(req->app->render, a->lang, json_string_value(tmp))));
    page_render(req, resp, status, "account", a->lang, ctx);
    json_decref(ctx);
}

/* Loads the session, account and passkeys. 0, or -1 with an error page sent. */
static int acct_load(http_req_t *req, http_resp_t *resp, acct_t *a)
{
    memset(a, 0, sizeof *a);
    a->lang = page_lang(req, http_query(req, "ui_locales"));
    if (session_current(req, &a->session) != WP_OK ||
        store_account_get(req->app->store, a->session.account_id, &a->account) != WP_OK) {
        page_error(req, resp, 401, "error_not_signed_in");
        return -1;
    }
    /* The person's saved language (from the register) comes after the switcher's cookie. */
    store_person_t person = {0};
    if (store_person_get(req->app->store, a->account.person_number, &person) == WP_OK)
        a->lang = page_lang_saved(req, http_query(req, "ui_locales"), person.preferred_language);
    store_person_clear(&person);
    if (store_credential_list(req->app->store, a->account.id, &a->creds, &a->ncreds) != WP_OK) {
        page_error(req, resp, 500, "error_internal");
        return -1;
    }
    audit_person_subject(req->app->hash_key, a->account.person_number, a->subject);
    snprintf(a->purpose, sizeof a->purpose, "account|%s", a->session.sid);
    return 0;
}

/* Starts an "add a passkey" ceremony: a flow of this browser, proofed as this account
 * (same person number, acr and proofing), which the WebAuthn register endpoints accept
 * like an enrolment flow and which returns to /account when done, keeping this session.
 * A new passkey is a way into the account, so it needs a recent sign-in: when the
 * session's sign-in is older than ACCOUNT_REAUTH_MAX, the flow is instead a sign-in
 * with one of this account's passkeys (like prompt=login) that returns here. */
static void action_add(http_req_t *req, http_resp_t *resp, acct_t *a)
{
    char id[FLOW_ID_MAX], hash[TOKEN_HASH_HEX_LEN + 1];
    int fresh = wp_now() - a->session.auth_time <= ACCOUNT_REAUTH_MAX;
    json_t *request = fresh ? json_pack("{s:s}", "return_to", "/account?notice=added")
                            : json_pack("{s:s, s:s}", "return_to", "/account?notice=reauth",
                                        "reauth_account", a->account.id);
    wp_err_t rc = request ? flow_create(req, resp, request, id) : WP_ERR;
    json_decref(request);
    if (!rc && fresh) {
        flow_hash(req, id, hash);
        rc = store_flow_set_proofed(req->app->store, hash, a->account.person_number, a->account.acr,
                                    a->account.proofing);
    }
    if (rc) {
        render_account(req, resp, 500, a, json_pack("{s:s}", "error", "error_internal"));
        return;
    }
    render_account(req, resp, fresh ? 200 : 401, a,
                   json_pack("{s:s}", fresh ? "add_flow" : "reauth_flow", id));
}

static const store_credential_t *find_cred(const acct_t *a, const char *id)
{
    for (size_t i = 0; id && i < a->ncreds; i++)
        if (strcmp(a->creds[i].cred_id, id) == 0)
            return &a->creds[i];
    return NULL;
}

/* Reloads the passkeys after a change. */
static void reload(http_req_t *req, acct_t *a)
{
    store_credentials_free(a->creds, a->ncreds);
    a->creds = NULL;
    a->ncreds = 0;
    store_credential_list(req->app->store, a->account.id, &a->creds, &a->ncreds);
}

static void action_rename(http_req_t *req, http_resp_t *resp, acct_t *a)
{
    const char *cred = http_form(req, "credential"), *name = http_form(req, "name");
    if (!find_cred(a, cred)) {
        render_account(req, resp, 400, a, json_pack("{s:s}", "error", "acct_error_no_passkey"));
        return;
    }
    if (!name_ok(name)) {
        render_account(req, resp, 400, a, json_pack("{s:s}", "error", "acct_error_name"));
        return;
    }
    if (store_credential_rename(req->app->store, a->account.id, cred, name) != WP_OK) {
        render_account(req, resp, 500, a, json_pack("{s:s}", "error", "error_internal"));
        return;
    }
    audit_record(req->app->store, "passkey_renamed", "person", a->subject,
                 json_pack("{s:s%}", "credential", cred, strlen(cred) < 12 ? strlen(cred) : 12));
    reload(req, a);
    render_account(req, resp, 200, a, json_pack("{s:s}", "notice", "acct_notice_renamed"));
}

static void action_remove(http_req_t *req, http_resp_t *resp, acct_t *a)
{
    const char *cred = http_form(req, "credential"), *confirm = http_form(req, "confirm");
    const store_credential_t *c = find_cred(a, cred);
    if (!c) {
        render_account(req, resp, 400, a, json_pack("{s:s}", "error", "acct_error_no_passkey"));
        return;
    }
    /* The last passkey goes only with an explicit confirmation: without it the person
     * can no longer sign in and must enrol again. */
    if (a->ncreds == 1 && (!confirm || strcmp(confirm, "yes") != 0)) {
        render_account(req, resp, 200, a,
                       json_pack("{s:{s:s, s:s}}", "confirm_remove", "id", c->cred_id, "name",
                                 c->name ? c->name : ""));
        return;
    }
    if (store_credential_remove(req->app->store, a->account.id, cred) != WP_OK) {
        render_account(req, resp, 500, a, json_pack("{s:s}", "error", "error_internal"));
        return;
    }
    audit_record(req->app->store, "passkey_removed", "person", a->subject,
                 json_pack("{s:s%, s:b}", "credential", cred, strlen(cred) < 12 ? strlen(cred) : 12,
                           "last", a->ncreds == 1));
    reload(req, a);
    render_account(req, resp, 200, a, json_pack("{s:s}", "notice", "acct_notice_removed"));
}

static void action_signout_all(http_req_t *req, http_resp_t *resp, acct_t *a)
{
    int ended = 0;
    oidc_backchannel_logout(req->app, NULL, a->account.id);
    if (store_account_sessions_end(req->app->store, a->account.id, &ended) != WP_OK) {
        render_account(req, resp, 500, a, json_pack("{s:s}", "error", "error_internal"));
        return;
    }
    audit_record(req->app->store, "signed_out_everywhere", "person", a->subject,
                 json_pack("{s:i}", "sessions", ended));
    session_end(req, resp);
    json_t *ctx = json_pack("{s:b}", "signed_out", 1);
    page_render(req, resp, 200, "account", a->lang, ctx);
    json_decref(ctx);
}

void page_account_handle(http_req_t *req, http_resp_t *resp)
{
    acct_t a;
    if (acct_load(req, resp, &a) != 0)
        goto out;
    if (req->method != HTTP_POST) {
        const char *notice = http_query(req, "notice");
        render_account(req, resp, 200, &a,
                       json_pack("{s:s?}", "notice",
                                 !notice                         ? NULL
                                 : strcmp(notice, "added") == 0  ? "acct_notice_added"
                                 : strcmp(notice, "reauth") == 0 ? "acct_notice_reauth"
                                                                 : NULL));
        goto out;
    }
    if (!flow_csrf_ok(req, a.purpose)) {
        render_account(req, resp, 403, &a, json_pack("{s:s}", "error", "error_csrf"));
        goto out;
    }
    const char *action = http_form(req, "action");
    if (action && strcmp(action, "add") == 0)
        action_add(req, resp, &a);
    else if (action && strcmp(action, "rename") == 0)
        action_rename(req, resp, &a);
    else if (action && strcmp(action, "remove") == 0)
        action_remove(req, resp, &a);
    else if (action && strcmp(action, "signout_all") == 0)
        action_signout_all(req, resp, &a);
    else
        render_account(req, resp, 400, &a, json_pack("{s:s}", "error", "error_bad_request"));
out:
    acct_clear(&a);
}
