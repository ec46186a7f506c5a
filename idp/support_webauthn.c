/* Passkey ceremonies of the support console (issue 5): a staff member registers a passkey
 * once with the one-time code from `wereldpas staff add`, then signs in with it. Staff
 * passkeys live in their own table with their own user handles, so they never sign a
 * person in, and a person's passkey is refused here. The verification itself is the same
 * as for people (idp/webauthn.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b64url.h"
#include "crypto/token.h"
#include "idp/audit.h"
#include "idp/flow.h"
#include "idp/router.h"
#include "idp/support.h"
#include "idp/webauthn.h"

#define STAFF_CEREMONY_TIMEOUT_MS 300000
#define STAFF_ENROL_TTL 900

/* Same-origin JSON request from a console browser. Fills bhash (the browser's storage
 * key). 0, or -1 with resp set. */
static int staff_ceremony(http_req_t *req, http_resp_t *resp, char bhash[TOKEN_HASH_HEX_LEN + 1])
{
    const char *origin = http_header(req, "Origin");
    const char *site = http_header(req, "Sec-Fetch-Site");
    const char *ctype = http_header(req, "Content-Type");
    const char *cookie = support_browser(req);
    if ((origin && strcmp(origin, req->app->origin) != 0) ||
        (site && strcmp(site, "same-origin") != 0)) {
        http_resp_json_error(resp, 403, "invalid_request", "Cross-origin requests are refused.");
        return -1;
    }
    if (!ctype || strncasecmp(ctype, "application/json", 16) != 0 || !req->json) {
        http_resp_json_error(resp, 415, "invalid_request", "Send a JSON object.");
        return -1;
    }
    if (!cookie) {
        http_resp_json_error(resp, 400, "invalid_flow",
                             "Open the console page again in this browser, then retry.");
        return -1;
    }
    support_browser_hash(req, cookie, bhash);
    return 0;
}

/* The user handle of a staff member: opaque, and never equal to a person's. */
static void staff_handle(const app_t *app, const char *staff_id, char out[64])
{
    char hex[TOKEN_HASH_HEX_LEN + 1];
    token_hash(app->hash_key, "staff_handle", staff_id, hex);
    char *b = b64url_encode((const uint8_t *)hex, 32);
    snprintf(out, 64, "%s", b ? b : "");
    free(b);
}

/* Failed staff sign-ins are counted per address and per staff passkey (cred_id may be
 * NULL). With add, counts one more failure; without, checks. 0 when allowed, else the
 * time the refusal ends, with a 429 JSON answer saying so already set on resp. */
static int64_t signin_limited(http_req_t *req, http_resp_t *resp, const char *cred_id, int add)
{
    const config_t *cfg = req->app->cfg;
    char key[160], hex[TOKEN_HASH_HEX_LEN + 1], text[200];
    int64_t until = 0;
    const char *what = "this address";
    snprintf(key, sizeof key, "stafffail:ip:%s", req->client_ip);
    until = support_limit(req, add ? NULL : resp, key, cfg->staff_fail_window,
                          cfg->staff_fail_per_ip, add);
    if (cred_id) {
        token_hash(req->app->hash_key, "staff_fail_cred", cred_id, hex);
        snprintf(key, sizeof key, "stafffail:cred:%s", hex);
        int64_t c = support_limit(req, add ? NULL : resp, key, cfg->staff_fail_window,
                                  cfg->staff_fail_per_credential, add);
        if (c > until) {
            until = c;
            what = "this passkey";
        }
    }
    if (until && !add) {
        /* For programs; the console shows its own message in the staff member's language,
         * with the end of the refusal from Retry-After. */
        snprintf(text, sizeof text,
                 "Too many failed sign-ins with %s. Signing in is refused for %lld seconds "
                 "(Retry-After); if you did not cause this, tell your supervisor.",
                 what, (long long)(until - wp_now()));
        http_resp_json_error(resp, 429, "slow_down", text);
    }
    return until;
}

/* Takes a stored challenge (single use) of kind and decodes it into *raw (free). */
static int take_raw(http_req_t *req, const char *bhash, const char *kind, uint8_t **raw,
                    size_t *len)
{
    char *b64 = NULL;
    int rc = -1;
    if (store_challenge_take(req->app->store, bhash, kind, wp_now(), &b64) == WP_OK)
        rc = b64url_decode(b64, 64, raw, len) == 0 ? 0 : -1;
    free(b64);
    return rc;
}

void support_register_options_handle(http_req_t *req, http_resp_t *resp)
{
    char bhash[TOKEN_HASH_HEX_LEN + 1], challenge[64], handle[64];
    char *staff_id = NULL;
    json_t *staff = NULL;
    if (staff_ceremony(req, resp, bhash) != 0)
        goto out;
    /* The staff id waiting for its passkey, set by /support/enrol; kept for verify. */
    if (store_challenge_take(req->app->store, bhash, "staff_enrol", wp_now(), &staff_id) != WP_OK ||
        store_staff_get(req->app->store, staff_id, &staff) != WP_OK) {
        http_resp_json_error(resp, 403, "not_proofed",
                             "Enter your one-time staff code on the console enrolment page first.");
        goto out;
    }
    token_random(challenge, sizeof challenge, WEBAUTHN_CHALLENGE_BYTES);
    if (store_challenge_put(req->app->store, bhash, "staff_enrol", staff_id,
                            wp_now() + STAFF_ENROL_TTL) != WP_OK ||
        store_challenge_put(req->app->store, bhash, "staff_register", challenge,
                            wp_now() + req->app->cfg->challenge_ttl) != WP_OK) {
        http_resp_json_error(resp, 500, "server_error", "Could not store the challenge.");
        goto out;
    }
    staff_handle(req->app, staff_id, handle);
    const char *name = json_string_value(json_object_get(staff, "name"));
    json_t *pk = json_pack(
        "{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}], s:i, "
        "s:[], s:{s:s, s:b, s:s}, s:s}",
        "challenge", challenge, "rp", "id", req->app->cfg->rp_id, "name", "Wereldpas support",
        "user", "id", handle, "name", name, "displayName", name, "pubKeyCredParams", "type",
        "public-key", "alg", -8, "type", "public-key", "alg", -7, "type", "public-key", "alg", -257,
        "timeout", STAFF_CEREMONY_TIMEOUT_MS, "excludeCredentials", "authenticatorSelection",
        "residentKey", "required", "requireResidentKey", 1, "userVerification", "required",
        "attestation", "none");
    http_resp_json(resp, 200, json_pack("{s:o}", "publicKey", pk));
out:
    free(staff_id);
    json_decref(staff);
}

void support_register_verify_handle(http_req_t *req, http_resp_t *resp)
{
    char bhash[TOKEN_HASH_HEX_LEN + 1], subject[64];
    char *staff_id = NULL;
    uint8_t *challenge = NULL;
    size_t challenge_len = 0;
    const char *why = NULL;
    webauthn_registration_t reg = {0};
    webauthn_rp_t rp = {.rp_id = req->app->cfg->rp_id, .origin = req->app->origin};

    if (staff_ceremony(req, resp, bhash) != 0)
        goto out;
    if (store_challenge_take(req->app->store, bhash, "staff_enrol", wp_now(), &staff_id) != WP_OK) {
        http_resp_json_error(resp, 403, "not_proofed",
                             "Enter your one-time staff code on the console enrolment page first.");
        goto out;
    }
    if (take_raw(req, bhash, "staff_register", &challenge, &challenge_len) != 0) {
        http_resp_json_error(resp, 400, "invalid_challenge",
                             "No current challenge: ask for new options and try again.");
        goto restore;
    }
    json_t *cred = json_object_get(req->json, "credential");
    if (!json_is_object(cred) ||
        webauthn_verify_registration(&rp, challenge, challenge_len, cred, &reg, &why) != WP_OK) {
        signin_limited(req, resp, NULL, 1);
        http_resp_json_error(resp, 400, "invalid_credential", why ? why : "Missing credential.");
        goto restore;
    }
    store_credential_t c = {.cred_id = reg.cred_id,
                            .account_id = staff_id,
                            .public_key = reg.public_key,
                            .public_key_len = reg.public_key_len,
                            .alg = reg.alg,
                            .sign_count = reg.sign_count,
                            .backup_eligible = reg.backup_eligible,
                            .backup_state = reg.backup_state,
                            .created_at = wp_now()};
    if (store_staff_credential_add(req->app->store, &c) != WP_OK ||
        support_session_start(req, resp, staff_id) != WP_OK) {
        http_resp_json_error(resp, 500, "server_error", "Could not save the passkey.");
        goto restore;
    }
    snprintf(subject, sizeof subject, "staff:%s", staff_id);
    audit_record(req->app->store, "staff_passkey_registered", subject, subject, NULL);
    http_resp_json(resp, 200, json_pack("{s:s}", "next", "/support/"));
    goto out;
restore:
    /* A failed attempt keeps the enrolment open (the code itself is spent). */
    store_challenge_put(req->app->store, bhash, "staff_enrol", staff_id,
                        wp_now() + STAFF_ENROL_TTL);
out:
    free(staff_id);
    free(challenge);
    webauthn_registration_clear(&reg);
}

void support_login_options_handle(http_req_t *req, http_resp_t *resp)
{
    char bhash[TOKEN_HASH_HEX_LEN + 1], challenge[64];
    if (staff_ceremony(req, resp, bhash) != 0)
        return;
    token_random(challenge, sizeof challenge, WEBAUTHN_CHALLENGE_BYTES);
    if (store_challenge_put(req->app->store, bhash, "staff_login", challenge,
                            wp_now() + req->app->cfg->challenge_ttl) != WP_OK) {
        http_resp_json_error(resp, 500, "server_error", "Could not store the challenge.");
        return;
    }
    json_t *pk = json_pack("{s:s, s:s, s:i, s:s, s:[]}", "challenge", challenge, "rpId",
                           req->app->cfg->rp_id, "timeout", STAFF_CEREMONY_TIMEOUT_MS,
                           "userVerification", "required", "allowCredentials");
    http_resp_json(resp, 200, json_pack("{s:o}", "publicKey", pk));
}

void support_login_verify_handle(http_req_t *req, http_resp_t *resp)
{
    char bhash[TOKEN_HASH_HEX_LEN + 1], expected[64], subject[64];
    uint8_t *challenge = NULL;
    size_t challenge_len = 0;
    const char *cred_id = NULL, *handle = NULL, *why = NULL;
    store_credential_t stored = {0};
    webauthn_assertion_t result = {0};
    webauthn_rp_t rp = {.rp_id = req->app->cfg->rp_id, .origin = req->app->origin};

    if (staff_ceremony(req, resp, bhash) != 0)
        goto out;
    if (signin_limited(req, resp, NULL, 0))
        goto out;
    if (take_raw(req, bhash, "staff_login", &challenge, &challenge_len) != 0) {
        http_resp_json_error(resp, 400, "invalid_challenge",
                             "No current challenge: ask for new options and try again.");
        goto out;
    }
    json_t *cred = json_object_get(req->json, "credential");
    if (!json_is_object(cred) || webauthn_assertion_ids(cred, &cred_id, &handle) != WP_OK) {
        http_resp_json_error(resp, 400, "invalid_credential", "The credential is malformed.");
        goto out;
    }
    if (store_staff_credential_get(req->app->store, cred_id, &stored) != WP_OK) {
        signin_limited(req, resp, NULL, 1);
        http_resp_json_error(resp, 400, "unknown_credential",
                             "This passkey is not a support staff passkey.");
        goto out;
    }
    snprintf(subject, sizeof subject, "staff:%s", stored.account_id);
    if (signin_limited(req, resp, stored.cred_id, 0)) {
        audit_record(req->app->store, "staff_signin_limited", subject, subject, NULL);
        goto out;
    }
    staff_handle(req->app, stored.account_id, expected);
    if (!handle || !token_equal(handle, expected) ||
        webauthn_verify_assertion(&rp, challenge, challenge_len, cred, stored.public_key,
                                  stored.public_key_len, stored.sign_count, stored.backup_eligible,
                                  &result, &why) != WP_OK) {
        signin_limited(req, resp, stored.cred_id, 1);
        audit_record(req->app->store, "staff_signin_failed", subject, subject, NULL);
        http_resp_json_error(resp, 400, "invalid_credential",
                             why ? why : "userHandle does not match the passkey's owner.");
        goto out;
    }
    if (store_staff_credential_touch(req->app->store, stored.cred_id, stored.sign_count,
                                     result.sign_count, wp_now()) != WP_OK ||
        support_session_start(req, resp, stored.account_id) != WP_OK) {
        http_resp_json_error(resp, 400, "invalid_credential", "Could not start the session.");
        goto out;
    }
    audit_record(req->app->store, "staff_signin", subject, subject, NULL);
    http_resp_json(resp, 200, json_pack("{s:s}", "next", "/support/"));
out:
    free(challenge);
    store_credential_clear(&stored);
}
