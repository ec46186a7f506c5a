/* The WebAuthn JSON endpoints of DESIGN.md: options and verification for registration
 * (after a proofing step in the flow) and for sign-in (discoverable credentials). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b64url.h"
#include "crypto/token.h"
#include "idp/page_enrol_diploma.h"
#include "idp/audit.h"
#include "idp/flow.h"
#include "idp/render.h"
#include "idp/router.h"
#include "idp/webauthn.h"

#define CEREMONY_TIMEOUT_MS 300000

/* Common checks of every WebAuthn endpoint: same origin, JSON body, the flow of this
 * browser. Returns 0 and fills flow (store_flow_clear) and *id, or -1 with resp set. */
static int ceremony_flow(http_req_t *req, http_resp_t *resp, store_flow_t *flow, const char **id)
{
    /* Browsers send Origin (and Sec-Fetch-Site) with every such POST: when present they must
     * name us. A cross-site page cannot send application/json without a CORS preflight,
     * which we never grant, so a request without them comes from a non-browser client. */
    const char *origin = http_header(req, "Origin");
    const char *site = http_header(req, "Sec-Fetch-Site");
    if ((origin && strcmp(origin, req->app->origin) != 0) ||
        (site && strcmp(site, "same-origin") != 0)) {
        http_resp_json_error(resp, 403, "invalid_request", "Cross-origin requests are refused.");
        return -1;
    }
    const char *ctype = http_header(req, "Content-Type");
    if (!ctype || strncasecmp(ctype, "application/json", 16) != 0) {
        http_resp_json_error(resp, 415, "invalid_request", "Send Content-Type: application/json.");
        return -1;
    }
    if (!req->json) {
        http_resp_json_error(resp, 400, "invalid_request", "Send a JSON object.");
        return -1;
    }
    *id = json_string_value(json_object_get(req->json, "flow"));
    if (!*id) {
        http_resp_json_error(resp, 400, "invalid_request", "The member \"flow\" is missing.");
        return -1;
    }
    if (flow_load(req, *id, flow, NULL) != WP_OK) {
        http_resp_json_error(resp, 400, "invalid_flow",
                             "This sign-in has expired or belongs to another browser.");
        return -1;
    }
    return 0;
}

/* A new challenge stored for the flow and ceremony; base64url into out[64]. */
static wp_err_t new_challenge(http_req_t *req, const store_flow_t *flow, const char *kind,
                              char out[64])
{
    token_random(out, 64, WEBAUTHN_CHALLENGE_BYTES);
    return store_challenge_put(req->app->store, flow->id_hash, kind, out,
                               wp_now() + req->app->cfg->challenge_ttl);
}

/* Takes the stored challenge (single use) and decodes it. 0 or -1 with resp set. */
static int take_challenge(http_req_t *req, http_resp_t *resp, const store_flow_t *flow,
                          const char *kind, uint8_t **raw, size_t *raw_len)
{
    char *b64 = NULL;
    wp_err_t rc = store_challenge_take(req->app->store, flow->id_hash, kind, wp_now(), &b64);
    if (rc != WP_OK) {
        http_resp_json_error(resp, 400, "invalid_challenge",
                             "No current challenge: ask for new options and try again.");
        return -1;
    }
    int ok = b64url_decode(b64, 64, raw, raw_len);
    free(b64);
    if (ok != 0) {
        http_resp_json_error(resp, 500, "server_error", "Stored challenge is damaged.");
        return -1;
    }
    return 0;
}

/* The user handle of a person: opaque, stable, no personal data. base64url into out. */
static void user_handle(const app_t *app, const char *person_number, char out[64])
{
    char hex[TOKEN_HASH_HEX_LEN + 1];
    token_hash(app->hash_key, "user_handle", person_number, hex);
    char *b = b64url_encode((const uint8_t *)hex, 32);
    snprintf(out, 64, "%s", b ? b : "");
    free(b);
}

/* Issue 5: one audit entry for a passkey event of a person (pseudonymous subject), with
 * the start of the credential id and, for a sign-in, the client asking. */
static void audit_passkey_event(http_req_t *req, const char *event, const char *person_number,
                                const char *cred_id, const store_flow_t *flow)
{
    char subject[AUDIT_SUBJECT_MAX];
    audit_person_subject(req->app->hash_key, person_number, subject);
    json_t *details =
        json_pack("{s:s%}", "credential", cred_id, strlen(cred_id) < 12 ? strlen(cred_id) : 12);
    json_t *request = flow && flow->request ? json_loads(flow->request, 0, NULL) : NULL;
    const char *client = json_string_value(json_object_get(request, "client_id"));
    if (details && client)
        json_object_set_new(details, "client", json_string(client));
    json_decref(request);
    audit_record(req->app->store, event, "person", subject, details);
}

static void next_url(http_resp_t *resp, const char *id)
{
    char next[128];
    snprintf(next, sizeof next, "/continue?flow=%s", id);
    http_resp_json(resp, 200, json_pack("{s:s}", "next", next));
}

void webauthn_register_options_handle(http_req_t *req, http_resp_t *resp)
{
    store_flow_t flow = {0};
    store_person_t person = {0};
    store_account_t account = {0};
    store_credential_t *creds = NULL;
    size_t ncreds = 0;
    const char *id;
    char challenge[64], handle[64], display[512];

    if (ceremony_flow(req, resp, &flow, &id) != 0)
        goto out;
    if (!flow.person_number) {
        http_resp_json_error(resp, 403, "not_proofed",
                             "Enter your enrolment code before creating a passkey.");
        goto out;
    }
    if (store_person_get(req->app->store, flow.person_number, &person) != WP_OK) {
        http_resp_json_error(resp, 400, "not_proofed", "No register record for this person.");
        goto out;
    }
    if (new_challenge(req, &flow, "register", challenge) != WP_OK) {
        http_resp_json_error(resp, 500, "server_error", "Could not store the challenge.");
        goto out;
    }
    user_handle(req->app, flow.person_number, handle);
    snprintf(display, sizeof display, "%s %s", person.given_names, person.family_name);
    json_t *exclude = json_array();
    if (store_account_by_person(req->app->store, flow.person_number, &account) == WP_OK &&
        store_credential_list(req->app->store, account.id, &creds, &ncreds) == WP_OK) {
        for (size_t i = 0; i < ncreds; i++)
            json_array_append_new(
                exclude, json_pack("{s:s, s:s}", "type", "public-key", "id", creds[i].cred_id));
    }
    json_t *pk = json_pack(
        "{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}], s:i, "
        "s:o, s:{s:s, s:b, s:s}, s:s, s:{s:b}}",
        "challenge", challenge, "rp", "id", req->app->cfg->rp_id, "name", "Wereldpas", "user", "id",
        handle, "name", display, "displayName", display, "pubKeyCredParams", "type", "public-key",
        "alg", -8, "type", "public-key", "alg", -7, "type", "public-key", "alg", -257, "timeout",
        CEREMONY_TIMEOUT_MS, "excludeCredentials", exclude, "authenticatorSelection", "residentKey",
        "required", "requireResidentKey", 1, "userVerification", "required", "attestation", "none",
        "extensions", "credProps", 1);
    http_resp_json(resp, 200, json_pack("{s:o}", "publicKey", pk));
out:
    store_credentials_free(creds, ncreds);
    store_account_clear(&account);
    store_person_clear(&person);
    store_flow_clear(&flow);
}

void webauthn_register_verify_handle(http_req_t *req, http_resp_t *resp)
{
    store_flow_t flow = {0};
    webauthn_registration_t reg = {0};
    uint8_t *challenge = NULL;
    size_t challenge_len = 0;
    char *account_id = NULL;
    const char *id, *why = NULL;
    webauthn_rp_t rp = {.rp_id = req->app->cfg->rp_id, .origin = req->app->origin};
    json_t *request = NULL;
    store_session_t current = {0};
    store_account_t owner = {0};

    if (ceremony_flow(req, resp, &flow, &id) != 0)
        goto out;
    if (!flow.person_number) {
        http_resp_json_error(resp, 403, "not_proofed",
                             "Enter your enrolment code before creating a passkey.");
        goto out;
    }
    /* Issue 5: a flow made by /account ("add a passkey") has no client; it returns there
     * and belongs to the signed-in person's session, which it keeps (no new session). */
    request = json_loads(flow.request ? flow.request : "", 0, NULL);
    const char *back = json_string_value(json_object_get(request, "return_to"));
    int from_account = back && strncmp(back, "/account", 8) == 0;
    if (from_account && (session_current(req, &current) != WP_OK ||
                         store_account_get(req->app->store, current.account_id, &owner) != WP_OK ||
                         strcmp(owner.person_number, flow.person_number) != 0)) {
        http_resp_json_error(resp, 401, "login_required",
                             "You are no longer signed in: sign in again, then add the passkey "
                             "from your account page.");
        goto out;
    }
    if (take_challenge(req, resp, &flow, "register", &challenge, &challenge_len) != 0)
        goto out;
    json_t *cred = json_object_get(req->json, "credential");
    if (!json_is_object(cred) ||
        webauthn_verify_registration(&rp, challenge, challenge_len, cred, &reg, &why) != WP_OK) {
        flow_ip_limited(req, "webauthn", 1);
        WP_LOG_WARN("passkey registration refused: %s", why ? why : "no credential");
        http_resp_json_error(resp, 400, "invalid_credential",
                             why ? why : "The credential is missing.");
        goto out;
    }
    store_credential_t c = {.cred_id = reg.cred_id,
                            .public_key = reg.public_key,
                            .public_key_len = reg.public_key_len,
                            .alg = reg.alg,
                            .sign_count = reg.sign_count,
                            .backup_eligible = reg.backup_eligible,
                            .backup_state = reg.backup_state,
                            .aaguid = reg.aaguid,
                            .transports = reg.transports,
                            .name =
                                (char *)render_msg(req->app->render, "en", "passkey_default_name"),
                            .created_at = wp_now()};
    wp_err_t rc = store_account_bind_credential(req->app->store, flow.person_number, flow.acr,
                                                flow.proofing, wp_now(), &c, &account_id);
    if (rc == WP_ERR_EXISTS) {
        http_resp_json_error(resp, 400, "invalid_credential",
                             "This passkey is registered already.");
        goto out;
    }
    if (rc != WP_OK ||
        (!from_account && session_start(req, resp, account_id, flow.acr, NULL) != WP_OK)) {
        http_resp_json_error(resp, 500, "server_error", "Could not save the passkey.");
        goto out;
    }
    atomic_fetch_add(&req->app->metrics.enrolments, 1);
    audit_passkey_event(req, "passkey_registered", flow.person_number, reg.cred_id,
                        NULL);                                        /* issue 5 */
    enrol_diploma_passkey_added(req, flow.person_number, account_id); /* issue 4: notice mail */
    WP_LOG_INFO("passkey registered (alg %d, attestation %s)", reg.alg, reg.attestation_fmt);
    if (from_account) {
        store_flow_delete(req->app->store, flow.id_hash); /* one passkey per flow */
        http_resp_json(resp, 200, json_pack("{s:s}", "next", back));
    } else
        next_url(resp, id);
out:
    json_decref(request);
    store_session_clear(&current);
    store_account_clear(&owner);
    free(challenge);
    free(account_id);
    webauthn_registration_clear(&reg);
    store_flow_clear(&flow);
}

void webauthn_login_options_handle(http_req_t *req, http_resp_t *resp)
{
    store_flow_t flow = {0};
    const char *id;
    char challenge[64];

    if (ceremony_flow(req, resp, &flow, &id) != 0)
        goto out;
    if (new_challenge(req, &flow, "login", challenge) != WP_OK) {
        http_resp_json_error(resp, 500, "server_error", "Could not store the challenge.");
        goto out;
    }
    json_t *pk = json_pack("{s:s, s:s, s:i, s:s, s:[]}", "challenge", challenge, "rpId",
                           req->app->cfg->rp_id, "timeout", CEREMONY_TIMEOUT_MS, "userVerification",
                           "required", "allowCredentials");
    http_resp_json(resp, 200, json_pack("{s:o}", "publicKey", pk));
out:
    store_flow_clear(&flow);
}

void webauthn_login_verify_handle(http_req_t *req, http_resp_t *resp)
{
    store_flow_t flow = {0};
    store_credential_t stored = {0};
    store_account_t account = {0};
    webauthn_assertion_t result = {0};
    uint8_t *challenge = NULL;
    size_t challenge_len = 0;
    const char *id, *cred_id = NULL, *handle = NULL, *why = NULL;
    char expected_handle[64];
    webauthn_rp_t rp = {.rp_id = req->app->cfg->rp_id, .origin = req->app->origin};
    json_t *request = NULL;

    if (ceremony_flow(req, resp, &flow, &id) != 0)
        goto out;
    if (flow_ip_limited(req, "webauthn", 0)) {
        http_resp_json_error(resp, 429, "slow_down", "Too many failed attempts; try again later.");
        goto out;
    }
    /* The challenge is spent whatever happens next. */
    if (take_challenge(req, resp, &flow, "login", &challenge, &challenge_len) != 0)
        goto out;
    json_t *cred = json_object_get(req->json, "credential");
    if (!json_is_object(cred) || webauthn_assertion_ids(cred, &cred_id, &handle) != WP_OK) {
        http_resp_json_error(resp, 400, "invalid_credential", "The credential is malformed.");
        goto out;
    }
    if (store_credential_get(req->app->store, cred_id, &stored) != WP_OK ||
        store_account_get(req->app->store, stored.account_id, &account) != WP_OK) {
        flow_ip_limited(req, "webauthn", 1);
        http_resp_json_error(resp, 400, "unknown_credential",
                             "This passkey is not registered with Wereldpas.");
        goto out;
    }
    user_handle(req->app, account.person_number, expected_handle);
    /* allowCredentials was empty, so §7.2 step 6 requires the user handle, and it must
     * name the owner of the credential. */
    if (!handle || !token_equal(handle, expected_handle)) {
        flow_ip_limited(req, "webauthn", 1);
        http_resp_json_error(resp, 400, "invalid_credential",
                             handle ? "userHandle does not match the passkey's owner."
                                    : "userHandle is required for a discoverable passkey.");
        goto out;
    }
    if (webauthn_verify_assertion(&rp, challenge, challenge_len, cred, stored.public_key,
                                  stored.public_key_len, stored.sign_count, stored.backup_eligible,
                                  &result, &why) != WP_OK) {
        flow_ip_limited(req, "webauthn", 1);
        WP_LOG_WARN("passkey sign-in refused: %s", why);
        http_resp_json_error(resp, 400, "invalid_credential", why);
        goto out;
    }
    /* Issue 5: /account asked the signed-in person to sign in again before adding a
     * passkey; only a passkey of that same account answers it. */
    request = json_loads(flow.request ? flow.request : "", 0, NULL);
    const char *reauth = json_string_value(json_object_get(request, "reauth_account"));
    if (reauth && strcmp(reauth, account.id) != 0) {
        http_resp_json_error(resp, 400, "invalid_credential",
                             "Use a passkey of the account you are managing.");
        goto out;
    }
    if (store_credential_touch(req->app->store, stored.cred_id, stored.sign_count,
                               result.sign_count, result.backup_state, wp_now()) != WP_OK) {
        http_resp_json_error(resp, 400, "invalid_credential",
                             "This passkey was used at the same moment elsewhere.");
        goto out;
    }
    if (session_start(req, resp, account.id, account.acr, NULL) != WP_OK) {
        http_resp_json_error(resp, 500, "server_error", "Could not start the session.");
        goto out;
    }
    audit_passkey_event(req, "signin", account.person_number, stored.cred_id, &flow); /* issue 5 */
    if (reauth) {
        store_flow_delete(req->app->store, flow.id_hash);
        http_resp_json(
            resp, 200,
            json_pack("{s:s}", "next", json_string_value(json_object_get(request, "return_to"))));
    } else
        next_url(resp, id);
out:
    json_decref(request);
    free(challenge);
    store_credential_clear(&stored);
    store_account_clear(&account);
    store_flow_clear(&flow);
}
