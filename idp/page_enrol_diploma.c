/* /enrol/diploma: enrolment by verified diploma.
 *
 * The person types their person number, birth date and the year and month of any of
 * their diplomas. When a register row that is not withdrawn matches, a one-time code
 * (kind "diploma", stored as a keyed hash) is queued for the contact address on file.
 * The answer is the same page, after the same minimum time, whether or not anything
 * matched, and never shows the address: nobody can learn from it who is in the register.
 * Failed attempts are counted per person number (as a keyed hash), per source address and
 * globally in the rate-limit table, so they hold across restarts and nodes. */
#include "idp/page_enrol_diploma.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/token.h"
#include "idp/flow.h"
#include "idp/mail.h"
#include "idp/page.h"
#include "idp/register_csv.h"
#include "idp/render.h"
#include "idp/router.h"

#define DIPLOMA_MAX_FIELD 40        /* bytes of a typed field we look at */
#define DIPLOMA_MAIL_WINDOW 86400   /* codes mailed per person are counted per day */
#define RL_PERSON "diploma:person:" /* failed forms per person number */
#define RL_GLOBAL "diploma:global"  /* failed forms of everyone */
#define RL_MAIL "diploma:mail:"     /* codes mailed per person */
#define RL_CODE "diploma:code:"     /* wrong codes per person */
#define RL_KEY_MAX (TOKEN_HASH_HEX_LEN + 32)

/* ---- input checks */

/* Copies in without surrounding spaces into out[size]; returns its length, or size when
 * it does not fit. */
static size_t trimmed(const char *in, char *out, size_t size)
{
    size_t len;
    while (*in == ' ' || *in == '\t')
        in++;
    len = strlen(in);
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    if (len >= size)
        return size;
    memcpy(out, in, len);
    out[len] = '\0';
    return len;
}

const char *enrol_diploma_person_number(const char *in, char out[10])
{
    size_t n = 0;
    int other = 0;
    out[0] = '\0';
    if (!in)
        return "dip_error_pn_missing";
    for (const char *p = in; *p && n <= DIPLOMA_MAX_FIELD; p++) {
        if (*p == ' ' || *p == '.' || *p == '-' || *p == '\t')
            continue;
        if (!isdigit((unsigned char)*p)) {
            other = 1;
            continue;
        }
        if (n < 9)
            out[n] = *p;
        n++;
    }
    out[n < 9 ? n : 9] = '\0';
    if (n == 0 && !other)
        return "dip_error_pn_missing";
    if (other || n != 9)
        return "dip_error_pn_format";
    if (!register_csv_person_number_valid(out))
        return "dip_error_pn_typo";
    return NULL;
}

const char *enrol_diploma_birthdate(const char *in, char out[11])
{
    char t[DIPLOMA_MAX_FIELD];
    size_t len = in ? trimmed(in, t, sizeof t) : 0;
    out[0] = '\0';
    if (len == 0)
        return "dip_error_bd_missing";
    if (len != 10)
        return "dip_error_bd_format";
    if ((t[2] == '-' || t[2] == '/') && t[5] == t[2]) /* DD-MM-YYYY */
        snprintf(out, 11, "%.4s-%.2s-%.2s", t + 6, t + 3, t);
    else
        memcpy(out, t, 11);
    if (!register_csv_date_valid(out)) {
        out[0] = '\0';
        return "dip_error_bd_format";
    }
    return NULL;
}

const char *enrol_diploma_month(const char *in, char out[8])
{
    char t[DIPLOMA_MAX_FIELD], day[11];
    size_t len = in ? trimmed(in, t, sizeof t) : 0;
    out[0] = '\0';
    if (len == 0)
        return "dip_error_dd_missing";
    if (len == 7 && (t[2] == '-' || t[2] == '/')) /* MM-YYYY */
        snprintf(day, sizeof day, "%.4s-%.2s-01", t + 3, t);
    else if (len == 7)
        snprintf(day, sizeof day, "%.7s-01", t);
    else if (len == 10)
        memcpy(day, t, sizeof day);
    else
        return "dip_error_dd_format";
    if (!register_csv_date_valid(day))
        return "dip_error_dd_format";
    memcpy(out, day, 7);
    out[7] = '\0';
    return NULL;
}

/* ---- throttling */

static void person_key(const app_t *app, const char *person_number,
                       char out[TOKEN_HASH_HEX_LEN + 1])
{
    token_hash(app->hash_key, "diploma_person", person_number, out);
}

/* The end of the fixed window of secs seconds that holds now (as the store counts). */
static int64_t window_end(int secs, int64_t now)
{
    return now - now % secs + secs;
}

/* 0 when a diploma form may be checked now; else the time its lockout ends, with *why
 * the catalog key that explains it. */
static int64_t throttled(http_req_t *req, const char *pkey, const char **why)
{
    const config_t *cfg = req->app->cfg;
    int64_t now = wp_now();
    char key[RL_KEY_MAX];
    int count = 0;

    if (flow_ip_limited(req, "diploma", 0)) {
        *why = "dip_locked_address";
        return window_end(cfg->fail_window, now);
    }
    if (store_ratelimit_count(req->app->store, RL_GLOBAL, cfg->diploma_fail_window, now, &count) ==
            WP_OK &&
        count >= cfg->diploma_fail_global) {
        *why = "dip_locked_busy";
        return window_end(cfg->diploma_fail_window, now);
    }
    snprintf(key, sizeof key, "%s%s", RL_PERSON, pkey);
    if (store_ratelimit_count(req->app->store, key, cfg->diploma_fail_window, now, &count) ==
            WP_OK &&
        count >= cfg->diploma_fail_per_person) {
        *why = "dip_locked_person";
        return window_end(cfg->diploma_fail_window, now);
    }
    return 0;
}

/* Sets the lockout message of why in ctx: "alert" is the catalog text, which the
 * template fills ({{%alert}}) with "time", the end of the lockout as a date in the page's
 * language (render_time), and "minutes", the minutes left (at least 1). */
static void lock_message(const app_t *app, const char *lang, json_t *ctx, const char *why,
                         int64_t until)
{
    int64_t left = (until - wp_now() + 59) / 60;
    json_object_set_new(ctx, "alert", json_string(render_msg(app->render, lang, why)));
    json_object_set_new(ctx, "time", render_time(until));
    json_object_set_new(ctx, "minutes", json_integer(left > 0 ? left : 1));
}

/* Waits until min_ms milliseconds have passed since start. */
static void pad_to(const struct timespec *start, int min_ms)
{
    struct timespec now, rest;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t spent =
        (int64_t)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
    if (spent >= min_ms)
        return;
    int64_t left = min_ms - spent;
    rest.tv_sec = (time_t)(left / 1000);
    rest.tv_nsec = (long)(left % 1000) * 1000000;
    while (nanosleep(&rest, &rest) != 0 && errno == EINTR)
        ;
}

/* ---- the check itself */

/* Checks the register and, on a match, queues a code for the contact address; on a
 * mismatch counts the failure. Both paths make a code and hash it, so they take about the
 * same work; the caller pads the answer to a fixed minimum time on top. */
static void check_register(http_req_t *req, const store_flow_t *flow, const json_t *request,
                           const char *pn, const char *birthdate, const char *month,
                           const char *pkey)
{
    app_t *app = req->app;
    const config_t *cfg = app->cfg;
    int64_t now = wp_now();
    store_person_t person = {0};
    char code[CODE_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1], key[RL_KEY_MAX];
    int count = 0;

    token_code_new(code);
    token_hash(app->hash_key, "enrol_code", code, hash);
    wp_err_t rc = store_register_match(app->store, pn, birthdate, month, &person);
    if (rc == WP_ERR_NOTFOUND) {
        flow_ip_limited(req, "diploma", 1);
        store_ratelimit_add(app->store, RL_GLOBAL, cfg->diploma_fail_window, now, &count);
        snprintf(key, sizeof key, "%s%s", RL_PERSON, pkey);
        store_ratelimit_add(app->store, key, cfg->diploma_fail_window, now, &count);
        WP_LOG_INFO("diploma form: no match");
        goto out;
    }
    if (rc != WP_OK) {
        WP_LOG_ERR("diploma form: the register cannot be read");
        goto out;
    }
    snprintf(key, sizeof key, "%s%s", RL_MAIL, pkey);
    if (store_ratelimit_count(app->store, key, DIPLOMA_MAIL_WINDOW, now, &count) != WP_OK ||
        count >= cfg->diploma_mails_per_person) {
        WP_LOG_WARN("diploma form: match, but this person was sent enough codes today");
        goto out;
    }
    store_code_t c = {.hash = hash,
                      .kind = DIPLOMA_CODE_KIND,
                      .person_number = person.person_number,
                      .acr = cfg->acr_diploma,
                      .proofing = "diploma",
                      .expires_at = now + cfg->diploma_code_ttl,
                      .flow_hash = flow->id_hash};
    /* Only the newest code works, and only in this journey. */
    if (store_code_replace(app->store, &c, NULL) != WP_OK ||
        mail_send(app, person.contact_email,
                  page_flow_lang(req, request, person.preferred_language), MAIL_KIND_CODE,
                  person.given_names, code) != WP_OK) {
        WP_LOG_ERR("diploma form: match, but the code could not be queued");
        goto out;
    }
    store_ratelimit_add(app->store, key, DIPLOMA_MAIL_WINDOW, now, &count);
    store_flow_set_diploma(app->store, flow->id_hash, pkey);
    WP_LOG_INFO("diploma form: match; code queued for the contact address");
out:
    sodium_memzero(code, sizeof code);
    store_person_clear(&person);
}

/* ---- pages */

/* The flow id of a page: the form's hidden field, else the URL's ?flow=. */
static const char *flow_param(http_req_t *req)
{
    const char *id = req->method == HTTP_POST ? http_form(req, "flow") : NULL;
    return id ? id : http_query(req, "flow");
}

/* Adds the common fields (flow, csrf, code lifetime in hours) to ctx and renders. */
static void render(http_req_t *req, http_resp_t *resp, int status, const char *id, const char *lang,
                   json_t *ctx)
{
    char csrf[TOKEN_HASH_HEX_LEN + 1];
    flow_csrf(req, id, csrf);
    json_object_set_new(ctx, "flow", json_string(id));
    json_object_set_new(ctx, "csrf", json_string(csrf));
    json_object_set_new(ctx, "hours",
                        json_integer((req->app->cfg->diploma_code_ttl + 3599) / 3600));
    char title[256];
    snprintf(
        title, sizeof title, "%s - %s",
        render_msg(req->app->render, lang,
                   json_is_true(json_object_get(ctx, "sent")) ? "dip_sent_title" : "dip_title"),
        render_msg(req->app->render, lang, "app_name"));
    json_object_set_new(ctx, "title", json_string(title));
    page_render(req, resp, status, "enrol_diploma", lang, ctx);
}

/* Adds the error of field (catalog key why) to ctx: "err_FIELD" and a summary item. */
static void field_error(const app_t *app, const char *lang, json_t *ctx, const char *field,
                        const char *why)
{
    char name[48];
    const char *text = render_msg(app->render, lang, why);
    json_t *list = json_object_get(ctx, "errors");
    snprintf(name, sizeof name, "err_%s", field);
    json_object_set_new(ctx, name, json_string(text));
    if (!list) {
        list = json_array();
        json_object_set_new(ctx, "errors", list);
        json_object_set_new(ctx, "has_errors", json_true());
    }
    json_array_append_new(list, json_pack("{s:s, s:s}", "field", field, "text", text));
}

/* Keeps what the person typed (bounded) so a form with an error need not be retyped. */
static void keep_value(http_req_t *req, json_t *ctx, const char *field)
{
    const char *v = http_form(req, field);
    json_t *copy = v && strlen(v) <= DIPLOMA_MAX_FIELD ? json_string(v) : NULL;
    if (copy) /* NULL also for text that is not UTF-8 */
        json_object_set_new(ctx, field, copy);
}

void page_enrol_diploma_handle(http_req_t *req, http_resp_t *resp)
{
    struct timespec started;
    const char *id = flow_param(req);
    store_flow_t flow = {0};
    json_t *request = NULL, *ctx = json_object();
    char pn[10], birthdate[11], month[8], pkey[TOKEN_HASH_HEX_LEN + 1];
    const char *why, *lang;

    clock_gettime(CLOCK_MONOTONIC, &started);
    if (!ctx || page_flow_load(req, resp, id, &flow, &request) != 0) {
        if (!ctx)
            page_error(req, resp, 500, "error_internal");
        goto out;
    }
    lang = page_flow_lang(req, request, NULL);
    if (req->method != HTTP_POST) {
        render(req, resp, 200, id, lang, ctx);
        goto out;
    }
    if (!flow_csrf_ok(req, id)) {
        json_object_set_new(ctx, "alert",
                            json_string(render_msg(req->app->render, lang, "error_csrf")));
        render(req, resp, 403, id, lang, ctx);
        goto out;
    }
    keep_value(req, ctx, "person_number");
    keep_value(req, ctx, "birthdate");
    keep_value(req, ctx, "diploma_date");
    if ((why = enrol_diploma_person_number(http_form(req, "person_number"), pn)) != NULL)
        field_error(req->app, lang, ctx, "person_number", why);
    if ((why = enrol_diploma_birthdate(http_form(req, "birthdate"), birthdate)) != NULL)
        field_error(req->app, lang, ctx, "birthdate", why);
    if ((why = enrol_diploma_month(http_form(req, "diploma_date"), month)) != NULL)
        field_error(req->app, lang, ctx, "diploma_date", why);
    if (json_object_get(ctx, "errors")) {
        render(req, resp, 400, id, lang, ctx);
        goto out;
    }
    person_key(req->app, pn, pkey);
    int64_t until = throttled(req, pkey, &why);
    if (until) {
        lock_message(req->app, lang, ctx, why, until);
        render(req, resp, 429, id, lang, ctx);
        goto out;
    }
    check_register(req, &flow, request, pn, birthdate, month, pkey);
    /* A mailed code works only in this journey, so the journey lasts as long as the code
     * (mail can be slow to arrive abroad). Done whether or not a code was sent, so that
     * nothing differs between a match and none. */
    store_flow_update(req->app->store, flow.id_hash, NULL,
                      wp_now() + req->app->cfg->diploma_code_ttl, wp_now());
    pad_to(&started, req->app->cfg->diploma_min_answer_ms);
    json_object_clear(ctx);
    json_object_set_new(ctx, "sent", json_true());
    render(req, resp, 200, id, lang, ctx);
out:
    sodium_memzero(pn, sizeof pn);
    json_decref(ctx);
    json_decref(request);
    store_flow_clear(&flow);
}

/* ---- codes, for /enrol/code */

wp_err_t enrol_diploma_code_redeem(store_t *s, const char *hash, const char *flow_hash, int64_t now,
                                   store_code_t *out, const char **kind)
{
    wp_err_t rc = store_code_redeem(s, hash, "enrol", now, out);
    if (kind)
        *kind = rc == WP_ERR_NOTFOUND ? NULL : "enrol";
    if (rc != WP_ERR_NOTFOUND)
        return rc;
    /* A mailed code works only in the flow it was asked for in: elsewhere it is not found,
     * like a wrong code. */
    rc = store_code_redeem_in(s, hash, DIPLOMA_CODE_KIND, flow_hash, now, out);
    if (kind)
        *kind = rc == WP_ERR_NOTFOUND ? NULL : DIPLOMA_CODE_KIND;
    return rc;
}

/* The rate-limit key of wrong codes for the person of person_number, or of the person
 * whose diploma form matched in the flow. Returns 0, or -1 when there is no such person. */
static int code_key(http_req_t *req, const char *flow_hash, const char *person_number,
                    char key[RL_KEY_MAX])
{
    char pkey[TOKEN_HASH_HEX_LEN + 1];
    char *stored = NULL;
    if (person_number) {
        person_key(req->app, person_number, pkey);
    } else {
        if (!flow_hash || store_flow_get_diploma(req->app->store, flow_hash, &stored) != WP_OK ||
            !stored || strlen(stored) != TOKEN_HASH_HEX_LEN) {
            free(stored);
            return -1;
        }
        memcpy(pkey, stored, sizeof pkey);
        free(stored);
    }
    snprintf(key, RL_KEY_MAX, "%s%s", RL_CODE, pkey);
    return 0;
}

int enrol_diploma_code_locked(http_req_t *req, const char *flow_hash, const char *person_number)
{
    char key[RL_KEY_MAX];
    int count = 0;
    if (code_key(req, flow_hash, person_number, key) != 0)
        return 0;
    store_ratelimit_count(req->app->store, key, req->app->cfg->diploma_fail_window, wp_now(),
                          &count);
    return count >= req->app->cfg->enrol_code_attempts;
}

void enrol_diploma_code_failed(http_req_t *req, const char *flow_hash)
{
    char key[RL_KEY_MAX];
    int count = 0;
    if (code_key(req, flow_hash, NULL, key) == 0)
        store_ratelimit_add(req->app->store, key, req->app->cfg->diploma_fail_window, wp_now(),
                            &count);
}

void enrol_diploma_passkey_added(http_req_t *req, const char *person_number, const char *account_id)
{
    store_credential_t *creds = NULL;
    store_person_t person = {0};
    size_t n = 0;
    if (!person_number || !account_id ||
        store_credential_list(req->app->store, account_id, &creds, &n) != WP_OK || n < 2)
        goto out;
    if (store_person_get(req->app->store, person_number, &person) != WP_OK ||
        mail_send(req->app, person.contact_email,
                  page_lang_saved(req, NULL, person.preferred_language), MAIL_KIND_PASSKEY_ADDED,
                  person.given_names, NULL) != WP_OK)
        WP_LOG_ERR("could not queue the notice of a new passkey");
out:
    store_credentials_free(creds, n);
    store_person_clear(&person);
}
