/* Storage interface. Callers see only these functions; a backend (store_sqlite.c now,
 * store_pg.c later) implements store_ops_t. All functions are safe to call from several
 * threads on one store_t. Strings in records are malloc'd copies owned by the record and
 * freed by its *_clear function. Every "take"/"redeem" is atomic: of two concurrent
 * callers at most one succeeds. Secrets never reach storage: only keyed hashes
 * (crypto/token.h) and sealed blobs (crypto/seal.h). */
#ifndef IDP_STORE_H
#define IDP_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "idp/wp.h"

typedef struct store store_t;

/* Opens the store named by url ("sqlite:PATH" or a bare path; "postgresql://..." later).
 * When migrate is non-zero, creates or upgrades the schema. On error returns WP_ERR and
 * writes a readable reason into err. *out is freed with store_close. */
wp_err_t store_open(const char *url, int migrate, store_t **out, char *err, size_t err_size);
void store_close(store_t *s);
/* WP_OK when the database answers (readiness). */
wp_err_t store_ping(store_t *s);
/* Schema version now in force. */
int store_schema_version(store_t *s);
/* Deletes expired flows, codes, sessions, authorization codes and rate-limit windows. */
wp_err_t store_purge_expired(store_t *s, int64_t now);

/* ---- clients: a JSON object per client, keys as in `client add`:
 * client_id, client_name, secret_hash (or absent), token_endpoint_auth_method,
 * redirect_uris [], post_logout_redirect_uris [], subject_type, scopes [],
 * id_token_signed_response_alg, pkce ("required"|"optional"), backchannel_logout_uri,
 * jwks (object), created_at. */
wp_err_t store_client_add(store_t *s, json_t *client); /* WP_ERR_EXISTS for a taken id */
wp_err_t store_client_get(store_t *s, const char *client_id, json_t **out); /* json_decref */
wp_err_t store_client_list(store_t *s, json_t **out);            /* array of objects, json_decref */
wp_err_t store_client_remove(store_t *s, const char *client_id); /* WP_ERR_NOTFOUND */

/* ---- signing keys, private part sealed with the master key */
typedef struct {
    char *kid;
    char *alg;       /* "RS256", "ES256", ... */
    uint8_t *sealed; /* seal_encrypt output */
    size_t sealed_len;
    int64_t created_at;
    int64_t retired_at; /* 0 while published */
} store_key_t;

wp_err_t store_key_add(store_t *s, const store_key_t *key);
/* All published keys, oldest first: not retired, or retiring (retired_at still in the
 * future). *keys freed with store_keys_free. */
wp_err_t store_key_list(store_t *s, store_key_t **keys, size_t *n);
/* Sets the time at which a key not yet retired leaves the JWKS (now, or later for a key
 * whose tokens are still valid: it stops signing at once). WP_ERR_NOTFOUND. */
wp_err_t store_key_retire(store_t *s, const char *kid, int64_t leaves_at);
void store_keys_free(store_key_t *keys, size_t n);

/* ---- diploma register */
typedef struct {
    char *person_number; /* 9 digits */
    char *family_name;
    char *given_names;
    char *birthdate; /* YYYY-MM-DD */
    char *institution;
    char *programme;
    char *diploma_date; /* YYYY-MM-DD */
    char *contact_email;
    char *preferred_language; /* may be NULL */
} store_person_t;

void store_person_clear(store_person_t *p);
/* Replaces the whole register in one transaction: calls next(ctx, &row) until it returns
 * 0 (end) or an error (< 0, then nothing changes). A person may have several diploma rows.
 * *count receives the number of rows stored. */
typedef int (*store_person_iter_t)(void *ctx, store_person_t *row);
wp_err_t store_register_import(store_t *s, store_person_iter_t next, void *ctx, size_t *count);
/* The first register row of a person (names, birthdate, contact) that is not withdrawn
 * (issue 4: rows that vanish from an import are kept, marked withdrawn). WP_ERR_NOTFOUND. */
wp_err_t store_person_get(store_t *s, const char *person_number, store_person_t *out);

/* ---- accounts and passkeys */
typedef struct {
    char *id; /* random, opaque; the basis of `sub` */
    char *person_number;
    char *acr;
    char *proofing; /* "assisted", "diploma", ... */
    int64_t created_at;
    int64_t proofed_at;
} store_account_t;

typedef struct {
    char *cred_id; /* base64url */
    char *account_id;
    uint8_t *public_key; /* COSE_Key CBOR */
    size_t public_key_len;
    int alg;
    uint32_t sign_count;
    int backup_eligible;
    int backup_state;
    char *aaguid;
    char *transports; /* JSON array text */
    char *name;
    int64_t created_at;
    int64_t last_used_at;
} store_credential_t;

void store_account_clear(store_account_t *a);
void store_credential_clear(store_credential_t *c);
void store_credentials_free(store_credential_t *c, size_t n);

wp_err_t store_account_get(store_t *s, const char *account_id, store_account_t *out);
wp_err_t store_account_by_person(store_t *s, const char *person_number, store_account_t *out);
/* In one transaction: finds or creates the account of person_number (a new account gets
 * a random id; an existing one gets acr/proofing/proofed_at updated), then adds cred
 * (cred->account_id is ignored). WP_ERR_EXISTS when the credential id is taken.
 * *account_id (free) receives the account's id. */
wp_err_t store_account_bind_credential(store_t *s, const char *person_number, const char *acr,
                                       const char *proofing, int64_t now,
                                       const store_credential_t *cred, char **account_id);
wp_err_t store_credential_get(store_t *s, const char *cred_id, store_credential_t *out);
/* Records a use: sets sign_count and backup_state and last_used_at only if the stored
 * counter still equals old_count (else WP_ERR_USED: a concurrent use won). */
wp_err_t store_credential_touch(store_t *s, const char *cred_id, uint32_t old_count,
                                uint32_t new_count, int backup_state, int64_t now);
wp_err_t store_credential_list(store_t *s, const char *account_id, store_credential_t **out,
                               size_t *n);

/* ---- one-time codes (enrolment now, recovery later) */
typedef struct {
    char *hash; /* keyed hash of the normalised code */
    char *kind; /* "enrol" */
    char *person_number;
    char *acr;
    char *proofing;
    int64_t expires_at;
    char *flow_hash; /* keyed hash of the only flow it may be redeemed in; NULL: any flow */
} store_code_t;

void store_code_clear(store_code_t *c);
wp_err_t store_code_add(store_t *s, const store_code_t *code);
/* Adds code and, in the same transaction, deletes every unused code of the same kind and
 * person (code->person_number required), so only the newest one works. *cancelled (may
 * be NULL) receives how many were deleted. On error nothing changes. */
wp_err_t store_code_replace(store_t *s, const store_code_t *code, int *cancelled);
/* Marks the code used and returns it, atomically. WP_ERR_NOTFOUND (no such code of that
 * kind, or a code bound to a flow: see store_code_redeem_in), WP_ERR_EXPIRED,
 * WP_ERR_USED. */
wp_err_t store_code_redeem(store_t *s, const char *hash, const char *kind, int64_t now,
                           store_code_t *out);
/* As store_code_redeem, in the flow with id hash flow_hash (may be NULL): a code bound to
 * a flow is found only in that flow, and elsewhere gives WP_ERR_NOTFOUND whether or not
 * it is used or expired (and stays as it was), exactly like a code that does not exist. */
wp_err_t store_code_redeem_in(store_t *s, const char *hash, const char *kind, const char *flow_hash,
                              int64_t now, store_code_t *out);

/* ---- login flows: one per journey, bound to a browser */
typedef struct {
    char *id_hash;       /* keyed hash of the flow id in the URL */
    char *browser_hash;  /* keyed hash of the browser's flow cookie */
    char *request;       /* JSON text of the validated authorization request */
    char *person_number; /* set after a code was redeemed (enrolment) */
    char *acr;
    char *proofing;
    int code_attempts;
    int64_t created_at;
    int64_t expires_at;
} store_flow_t;

void store_flow_clear(store_flow_t *f);
wp_err_t store_flow_create(store_t *s, const store_flow_t *flow);
/* WP_ERR_NOTFOUND, or WP_ERR_EXPIRED when past expires_at. */
wp_err_t store_flow_get(store_t *s, const char *id_hash, int64_t now, store_flow_t *out);
wp_err_t store_flow_set_proofed(store_t *s, const char *id_hash, const char *person_number,
                                const char *acr, const char *proofing);
/* Counts one failed code attempt; WP_ERR_LIMIT when the count now exceeds max. */
wp_err_t store_flow_code_failed(store_t *s, const char *id_hash, int max, int *attempts);
wp_err_t store_flow_delete(store_t *s, const char *id_hash);
/* Updates a flow that has not expired at now: request (JSON text) when not NULL, and
 * expires_at when that is later than the stored one (activity extends a journey).
 * WP_ERR_NOTFOUND when there is no such live flow. */
wp_err_t store_flow_update(store_t *s, const char *id_hash, const char *request, int64_t expires_at,
                           int64_t now);

/* WebAuthn challenges, single use, per flow and ceremony ("register" or "login"). A new
 * challenge replaces the previous one of that flow and kind. */
wp_err_t store_challenge_put(store_t *s, const char *flow_hash, const char *kind,
                             const char *challenge_b64, int64_t expires_at);
/* Returns and deletes it atomically: WP_ERR_NOTFOUND or WP_ERR_EXPIRED (deleted too).
 * *challenge_b64 is freed with free(). */
wp_err_t store_challenge_take(store_t *s, const char *flow_hash, const char *kind, int64_t now,
                              char **challenge_b64);

/* ---- sessions */
typedef struct {
    char *hash; /* keyed hash of the session cookie */
    char *sid;  /* public session id for the `sid` claim */
    char *account_id;
    char *acr;
    int64_t auth_time;
    int64_t expires_at;
} store_session_t;

void store_session_clear(store_session_t *x);
wp_err_t store_session_create(store_t *s, const store_session_t *x);
wp_err_t store_session_get(store_t *s, const char *hash, int64_t now, store_session_t *out);
wp_err_t store_session_delete(store_t *s, const char *hash);

/* ---- authorization codes */
typedef struct {
    char *hash;
    char *client_id;
    char *redirect_uri;
    char *code_challenge; /* may be NULL when the client's PKCE is optional */
    char *nonce;          /* may be NULL */
    char *account_id;
    char *scope;
    char *acr;
    char *sid;
    char *claims; /* JSON text of the claims request, may be NULL */
    int64_t auth_time;
    int64_t expires_at;
} store_authcode_t;

void store_authcode_clear(store_authcode_t *c);
wp_err_t store_authcode_add(store_t *s, const store_authcode_t *c);
/* Single use: WP_ERR_NOTFOUND, WP_ERR_EXPIRED, or WP_ERR_USED when taken before (the row
 * is kept, marked used, until it expires, so reuse can be told apart). */
wp_err_t store_authcode_take(store_t *s, const char *hash, int64_t now, store_authcode_t *out);

/* ---- failure counters for rate limits (fixed windows, shared by all threads and
 * surviving restarts). key is e.g. "code:ip:1.2.3.4". */
/* Current count of the window that contains now (0 when none). */
wp_err_t store_ratelimit_count(store_t *s, const char *key, int window_secs, int64_t now,
                               int *count);
/* Adds one failure to the window that contains now; *count receives the new count. */
wp_err_t store_ratelimit_add(store_t *s, const char *key, int window_secs, int64_t now, int *count);

/* ==== issue 5: audit log, account self-service, staff, recovery cases ==== */

/* ---- audit log: append-only, each entry's hash covers the previous one (idp/audit.c) */
/* Computes the hash of entry (an object with seq, at, event, actor, subject, details,
 * prev) as lowercase hex into out[TOKEN_HASH_HEX_LEN + 1]. */
typedef void (*store_audit_hash_t)(const json_t *entry, char *out);
/* In one write transaction: reads the last entry's seq and hash, sets "seq" (last + 1)
 * and "prev" (its hash, 64 zeros for the first) in entry (which must hold at, event,
 * actor, subject (string or null) and details (object)), calls hash and inserts the
 * entry, so two writers can never fork the chain. *seq (may be NULL) gets the new seq. */
wp_err_t store_audit_append(store_t *s, json_t *entry, store_audit_hash_t hash, int64_t *seq);
/* Entries with seq > after_seq, at most limit, oldest first (newest first when
 * newest_first), optionally only of subject and/or event (NULL = any). *out is an array
 * of objects {seq, at, event, actor, subject, details, prev, hash} (json_decref). */
wp_err_t store_audit_list(store_t *s, const char *subject, const char *event, int64_t after_seq,
                          int limit, int newest_first, json_t **out);

/* ---- account self-service */
/* Renames / removes a passkey of that account: WP_ERR_NOTFOUND when it is not theirs. */
wp_err_t store_credential_rename(store_t *s, const char *account_id, const char *cred_id,
                                 const char *name);
wp_err_t store_credential_remove(store_t *s, const char *account_id, const char *cred_id);
/* Deletes every session of the account; *ended (may be NULL) gets how many. */
wp_err_t store_account_sessions_end(store_t *s, const char *account_id, int *ended);
/* Deletes every passkey and session of the account, in one transaction (recovery). */
wp_err_t store_account_reset(store_t *s, const char *account_id, int *removed);
/* Register rows matching person_number, or else family_name (case-insensitive) and
 * birthdate; an array of {person_number, family_name, given_names, birthdate,
 * contact_email}, one per person, at most 20 (json_decref). */
wp_err_t store_person_search(store_t *s, const char *person_number, const char *family_name,
                             const char *birthdate, json_t **out);

/* ---- support staff: {id, name, role, created_at}. Their passkeys and sessions live in
 * their own tables: a staff passkey never signs a person in, and no person's passkey
 * reaches the console. */
wp_err_t store_staff_add(store_t *s, const json_t *staff);          /* WP_ERR_EXISTS */
wp_err_t store_staff_get(store_t *s, const char *id, json_t **out); /* json_decref */
/* cred->account_id names the staff member. */
wp_err_t store_staff_credential_add(store_t *s, const store_credential_t *cred);
/* Fills out (account_id = staff id); WP_ERR_NOTFOUND. */
wp_err_t store_staff_credential_get(store_t *s, const char *cred_id, store_credential_t *out);
/* As store_credential_touch, for a staff passkey. */
wp_err_t store_staff_credential_touch(store_t *s, const char *cred_id, uint32_t old_count,
                                      uint32_t new_count, int64_t now);
wp_err_t store_staff_session_create(store_t *s, const char *hash, const char *staff_id, int64_t now,
                                    int64_t expires_at);
/* The staff member of a session seen within idle seconds and not past its end; moves its
 * last-seen time to now. WP_ERR_NOTFOUND or WP_ERR_EXPIRED (then deleted). *staff_id
 * (free). */
wp_err_t store_staff_session_get(store_t *s, const char *hash, int64_t now, int idle,
                                 char **staff_id);
wp_err_t store_staff_session_delete(store_t *s, const char *hash);

/* ---- recovery cases: {id, person_number, opened_by, reason, evidence (object),
 * verified_call (0|1), status ("open", "approved", "redeemed", "locked"), approved_by,
 * code_expires_at, not_before, attempts, created_at, updated_at}. */
wp_err_t store_case_open(store_t *s, const json_t *c);
wp_err_t store_case_get(store_t *s, const char *id, json_t **out);
/* Cases of a person (NULL: all) with status (NULL: any), newest first, at most 50. */
wp_err_t store_case_list(store_t *s, const char *person_number, const char *status, json_t **out);
/* Approves an open case by approver with a new code: WP_ERR_NOTFOUND, WP_ERR_INVALID
 * when approver opened the case (four eyes), WP_ERR_USED when it is no longer open.
 * Any earlier approved case of the person is then void. */
wp_err_t store_case_approve(store_t *s, const char *id, const char *approver, const char *code_hash,
                            int64_t code_expires_at, int64_t not_before, int64_t now);
/* Redeems the person's approved case with code_hash, atomically: WP_OK with *out (the
 * case, now "redeemed"); WP_ERR_NOTFOUND (no approved case), WP_ERR_EXPIRED, WP_ERR_LIMIT
 * (not_before not reached: *out is set so the time can be told), WP_ERR_INVALID (wrong
 * code, counted; after max attempts the case becomes "locked" and WP_ERR_USED is
 * returned). */
wp_err_t store_case_redeem(store_t *s, const char *person_number, const char *code_hash,
                           int64_t now, int max_attempts, json_t **out);
/* Undoes the approval by approver of case id whose code never reached the person (the
 * mail could not be queued): the case is open again and its code is void. WP_ERR_USED
 * when the case is not approved by approver. */
wp_err_t store_case_reopen(store_t *s, const char *id, const char *approver, int64_t now);
/* ==== end of issue 5 ==== */

/* ==== issue 4: enrolment by diploma, the mail queue, register withdrawal ==== */

/* The register row of person_number that is not withdrawn, whose birthdate is birthdate
 * (YYYY-MM-DD) and whose diploma_date lies in diploma_month (YYYY-MM). Fills out
 * (store_person_clear) or returns WP_ERR_NOTFOUND. */
wp_err_t store_register_match(store_t *s, const char *person_number, const char *birthdate,
                              const char *diploma_month, store_person_t *out);
/* Number of register rows marked withdrawn (rows that vanished from an import). */
wp_err_t store_register_withdrawn_count(store_t *s, size_t *count);

/* Remembers on a flow the keyed hash of the person number whose diploma form matched,
 * so wrong codes in that flow count against that person. WP_ERR_NOTFOUND for no flow. */
wp_err_t store_flow_set_diploma(store_t *s, const char *id_hash, const char *person_key);
/* *person_key (free()) receives it, or NULL when the flow has none. */
wp_err_t store_flow_get_diploma(store_t *s, const char *id_hash, char **person_key);

/* ---- mail queue: sealed messages waiting for delivery (idp/mail.c). A message is
 * leased to one sender at a time and deleted only after delivery. */
typedef struct {
    int64_t id;
    uint8_t *sealed; /* seal_encrypt output of the recipient and the message */
    size_t sealed_len;
    int attempts;
    int64_t created_at;
} store_mail_t;

void store_mail_clear(store_mail_t *m);
/* Queues a message, due at once. *id (may be NULL) receives its id. */
wp_err_t store_mail_put(store_t *s, const uint8_t *sealed, size_t sealed_len, int64_t now,
                        int64_t *id);
/* Takes the oldest due message (next attempt <= now) and moves its next attempt to
 * lease_until, atomically, so no other sender takes it meanwhile. WP_ERR_NOTFOUND when
 * none is due. Fills out (store_mail_clear). */
wp_err_t store_mail_lease(store_t *s, int64_t now, int64_t lease_until, store_mail_t *out);
/* Deletes a delivered (or abandoned) message. */
wp_err_t store_mail_delete(store_t *s, int64_t id);
/* Records a failed attempt: attempts and the time of the next one. */
wp_err_t store_mail_retry(store_t *s, int64_t id, int attempts, int64_t next_at);
/* Number of queued messages. */
wp_err_t store_mail_count(store_t *s, size_t *count);
/* ==== end of issue 4 ==== */

/* ==== issue 3: tokens beyond the code ====
 * A grant is everything issued from one authorization code: its access tokens and its
 * chain ("family") of refresh tokens. Revoking the grant stops all of them. */
typedef struct {
    char *family; /* random id of the grant */
    char *client_id;
    char *account_id;
    char *scope;
    char *acr;
    char *sid;       /* may be NULL */
    char *code_hash; /* keyed hash of the code it came from, may be NULL */
    int64_t auth_time;
    int64_t expires_at; /* kept until then: the last expiry of any of its tokens */
    /* Filled by store_refresh_get and store_refresh_rotate: when the refresh token that
     * was looked up was issued; 0 elsewhere. */
    int64_t refresh_issued_at;
} store_grant_t;

void store_grant_clear(store_grant_t *g);
wp_err_t store_grant_add(store_t *s, const store_grant_t *g);
/* Revokes the grant (WP_OK also when unknown or revoked already). */
wp_err_t store_grant_revoke(store_t *s, const char *family, int64_t now);
/* Revokes the grant issued from the code with that hash (a reused code). WP_OK also when
 * no grant came from it. */
wp_err_t store_grant_revoke_code(store_t *s, const char *code_hash, int64_t now);

/* Records the jti of an access token of a grant, kept until its exp. */
wp_err_t store_access_add(store_t *s, const char *jti, const char *family, int64_t expires_at);
/* WP_OK when the access token is known and neither it nor its grant is revoked;
 * WP_ERR_USED when revoked; WP_ERR_NOTFOUND when unknown. */
wp_err_t store_access_check(store_t *s, const char *jti);
/* Revokes one access token (WP_OK also when unknown). */
wp_err_t store_access_revoke(store_t *s, const char *jti, int64_t now);

/* Stores the keyed hash of a grant's first refresh token, issued at issued_at, and moves
 * the grant's expires_at to at least expires_at. */
wp_err_t store_refresh_add(store_t *s, const char *hash, const char *family, int64_t issued_at,
                           int64_t expires_at);
/* Rotation, atomically: marks the token old_hash used, stores new_hash in its family
 * (issued at now, expiring at new_expires_at) and returns the grant in *out
 * (store_grant_clear; its refresh_issued_at is that of old_hash).
 * A token used before revokes its whole grant and gives WP_ERR_USED; WP_ERR_EXPIRED;
 * WP_ERR_NOTFOUND for an unknown token or a revoked grant. */
wp_err_t store_refresh_rotate(store_t *s, const char *old_hash, const char *new_hash,
                              int64_t new_expires_at, int64_t now, store_grant_t *out);
/* The grant of a usable (unused, unexpired, unrevoked) refresh token, without using it;
 * *expires_at receives the token's own expiry, out->refresh_issued_at its issue time.
 * WP_ERR_NOTFOUND otherwise. */
wp_err_t store_refresh_get(store_t *s, const char *hash, int64_t now, store_grant_t *out,
                           int64_t *expires_at);

/* Remembers a client assertion's jti until expires_at: WP_OK the first time,
 * WP_ERR_USED when that client used that jti before. */
wp_err_t store_assertion_jti_use(store_t *s, const char *client_id, const char *jti,
                                 int64_t expires_at);

/* Pushed authorization requests (RFC 9126): the validated parameters as JSON text under
 * the keyed hash of the request_uri. take is single use: WP_ERR_NOTFOUND (also for
 * another client's request), WP_ERR_EXPIRED; *params (free) on success. */
wp_err_t store_par_add(store_t *s, const char *hash, const char *client_id, const char *params,
                       int64_t expires_at);
wp_err_t store_par_take(store_t *s, const char *hash, const char *client_id, int64_t now,
                        char **params);

/* Which clients got tokens in which session (for back-channel logout). add is
 * idempotent per (sid, client_id). take returns and deletes, atomically, the rows of
 * sid, or every row of account_id when sid is NULL, as an array of
 * {"sid", "client_id", "account_id"} (json_decref). */
wp_err_t store_session_client_add(store_t *s, const char *sid, const char *client_id,
                                  const char *account_id, int64_t expires_at);
wp_err_t store_session_clients_take(store_t *s, const char *sid, const char *account_id,
                                    json_t **out);
/* ==== end of issue 3 ==== */

/* ==== personal data at rest ====
 * Gives the backend its two keys (derived from the master key, see idp/app.h): lookup_key
 * for the keyed hashes it searches person numbers, diploma matches and names by, and
 * seal_key for the sealed copies of register rows and person numbers, and of what staff
 * and people type (staff names, the reason and evidence of recovery cases, passkey
 * names). Call it once, right after store_open, before other threads use the store: on a
 * database migrated from before that text was sealed, it seals the text then, in one
 * transaction (a failure is logged and retried at the next call). Until it is called,
 * every function that reads or writes personal data (register, accounts, codes, flows with
 * a person, recovery cases, staff, named passkeys) returns WP_ERR. The keys are copied. */
void store_set_keys(store_t *s, const uint8_t lookup_key[32], const uint8_t seal_key[32]);
/* ==== end of personal data at rest ==== */

#endif
