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
/* All keys not retired, oldest first. *keys freed with store_keys_free. */
wp_err_t store_key_list(store_t *s, store_key_t **keys, size_t *n);
wp_err_t store_key_retire(store_t *s, const char *kid, int64_t now); /* WP_ERR_NOTFOUND */
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
/* The first register row of a person (names, birthdate, contact). WP_ERR_NOTFOUND. */
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
} store_code_t;

void store_code_clear(store_code_t *c);
wp_err_t store_code_add(store_t *s, const store_code_t *code);
/* Marks the code used and returns it, atomically. WP_ERR_NOTFOUND (no such code of that
 * kind), WP_ERR_EXPIRED, WP_ERR_USED. */
wp_err_t store_code_redeem(store_t *s, const char *hash, const char *kind, int64_t now,
                           store_code_t *out);

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

#endif
