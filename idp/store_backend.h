/* Internal to storage: the table of operations a backend implements. idp/store.c turns
 * each public store_* call into ops->fn(impl, ...); a backend never sees store_t.
 * Every operation has the contract of the store_* function of the same name in
 * idp/store.h, and must be safe to call from several threads on one impl. */
#ifndef IDP_STORE_BACKEND_H
#define IDP_STORE_BACKEND_H

#include "idp/store.h"

typedef struct store_ops {
    const char *name; /* "sqlite", "postgresql" */
    void (*close)(void *impl);
    wp_err_t (*ping)(void *impl);
    int (*schema_version)(void *impl);
    wp_err_t (*purge_expired)(void *impl, int64_t now);

    wp_err_t (*client_add)(void *impl, json_t *client);
    wp_err_t (*client_get)(void *impl, const char *client_id, json_t **out);
    wp_err_t (*client_list)(void *impl, json_t **out);
    wp_err_t (*client_remove)(void *impl, const char *client_id);

    wp_err_t (*key_add)(void *impl, const store_key_t *key);
    wp_err_t (*key_list)(void *impl, store_key_t **keys, size_t *n);
    wp_err_t (*key_retire)(void *impl, const char *kid, int64_t now);

    wp_err_t (*register_import)(void *impl, store_person_iter_t next, void *ctx, size_t *count);
    wp_err_t (*person_get)(void *impl, const char *person_number, store_person_t *out);

    wp_err_t (*account_get)(void *impl, const char *account_id, store_account_t *out);
    wp_err_t (*account_by_person)(void *impl, const char *person_number, store_account_t *out);
    wp_err_t (*account_bind_credential)(void *impl, const char *person_number, const char *acr,
                                        const char *proofing, int64_t now,
                                        const store_credential_t *cred, char **account_id);
    wp_err_t (*credential_get)(void *impl, const char *cred_id, store_credential_t *out);
    wp_err_t (*credential_touch)(void *impl, const char *cred_id, uint32_t old_count,
                                 uint32_t new_count, int backup_state, int64_t now);
    wp_err_t (*credential_list)(void *impl, const char *account_id, store_credential_t **out,
                                size_t *n);

    wp_err_t (*code_add)(void *impl, const store_code_t *code);
    wp_err_t (*code_replace)(void *impl, const store_code_t *code, int *cancelled);
    /* store_code_redeem_in; store_code_redeem passes a NULL flow_hash */
    wp_err_t (*code_redeem)(void *impl, const char *hash, const char *kind, const char *flow_hash,
                            int64_t now, store_code_t *out);

    wp_err_t (*flow_create)(void *impl, const store_flow_t *flow);
    wp_err_t (*flow_get)(void *impl, const char *id_hash, int64_t now, store_flow_t *out);
    wp_err_t (*flow_set_proofed)(void *impl, const char *id_hash, const char *person_number,
                                 const char *acr, const char *proofing);
    wp_err_t (*flow_code_failed)(void *impl, const char *id_hash, int max, int *attempts);
    wp_err_t (*flow_delete)(void *impl, const char *id_hash);
    wp_err_t (*flow_update)(void *impl, const char *id_hash, const char *request,
                            int64_t expires_at, int64_t now);

    wp_err_t (*challenge_put)(void *impl, const char *flow_hash, const char *kind,
                              const char *challenge_b64, int64_t expires_at);
    wp_err_t (*challenge_take)(void *impl, const char *flow_hash, const char *kind, int64_t now,
                               char **challenge_b64);

    wp_err_t (*session_create)(void *impl, const store_session_t *x);
    wp_err_t (*session_get)(void *impl, const char *hash, int64_t now, store_session_t *out);
    wp_err_t (*session_delete)(void *impl, const char *hash);

    wp_err_t (*authcode_add)(void *impl, const store_authcode_t *c);
    wp_err_t (*authcode_take)(void *impl, const char *hash, int64_t now, store_authcode_t *out);

    wp_err_t (*ratelimit_count)(void *impl, const char *key, int window_secs, int64_t now,
                                int *count);
    wp_err_t (*ratelimit_add)(void *impl, const char *key, int window_secs, int64_t now,
                              int *count);
    /* ---- issue 5: audit log, account self-service, staff, recovery cases */
    wp_err_t (*audit_append)(void *impl, json_t *entry, store_audit_hash_t hash, int64_t *seq);
    wp_err_t (*audit_list)(void *impl, const char *subject, const char *event, int64_t after_seq,
                           int limit, int newest_first, json_t **out);
    wp_err_t (*credential_rename)(void *impl, const char *account_id, const char *cred_id,
                                  const char *name);
    wp_err_t (*credential_remove)(void *impl, const char *account_id, const char *cred_id);
    wp_err_t (*account_sessions_end)(void *impl, const char *account_id, int *ended);
    wp_err_t (*account_reset)(void *impl, const char *account_id, int *removed);
    wp_err_t (*person_search)(void *impl, const char *person_number, const char *family_name,
                              const char *birthdate, json_t **out);
    wp_err_t (*staff_add)(void *impl, const json_t *staff);
    wp_err_t (*staff_get)(void *impl, const char *id, json_t **out);
    wp_err_t (*staff_credential_add)(void *impl, const store_credential_t *cred);
    wp_err_t (*staff_credential_get)(void *impl, const char *cred_id, store_credential_t *out);
    wp_err_t (*staff_credential_touch)(void *impl, const char *cred_id, uint32_t old_count,
                                       uint32_t new_count, int64_t now);
    wp_err_t (*staff_session_create)(void *impl, const char *hash, const char *staff_id,
                                     int64_t now, int64_t expires_at);
    wp_err_t (*staff_session_get)(void *impl, const char *hash, int64_t now, int idle,
                                  char **staff_id);
    wp_err_t (*staff_session_delete)(void *impl, const char *hash);
    wp_err_t (*case_open)(void *impl, const json_t *c);
    wp_err_t (*case_get)(void *impl, const char *id, json_t **out);
    wp_err_t (*case_list)(void *impl, const char *person_number, const char *status, json_t **out);
    wp_err_t (*case_approve)(void *impl, const char *id, const char *approver,
                             const char *code_hash, int64_t code_expires_at, int64_t not_before,
                             int64_t now);
    wp_err_t (*case_redeem)(void *impl, const char *person_number, const char *code_hash,
                            int64_t now, int max_attempts, json_t **out);
    wp_err_t (*case_reopen)(void *impl, const char *id, const char *approver, int64_t now);
    /* ---- end of issue 5 */
    /* ---- issue 4: enrolment by diploma, mail queue */
    wp_err_t (*register_match)(void *impl, const char *person_number, const char *birthdate,
                               const char *diploma_month, store_person_t *out);
    wp_err_t (*register_withdrawn_count)(void *impl, size_t *count);
    wp_err_t (*flow_set_diploma)(void *impl, const char *id_hash, const char *person_key);
    wp_err_t (*flow_get_diploma)(void *impl, const char *id_hash, char **person_key);
    wp_err_t (*mail_put)(void *impl, const uint8_t *sealed, size_t sealed_len, int64_t now,
                         int64_t *id);
    wp_err_t (*mail_lease)(void *impl, int64_t now, int64_t lease_until, store_mail_t *out);
    wp_err_t (*mail_delete)(void *impl, int64_t id);
    wp_err_t (*mail_retry)(void *impl, int64_t id, int attempts, int64_t next_at);
    wp_err_t (*mail_count)(void *impl, size_t *count);
    /* ---- end of issue 4 */

    /* ==== issue 3: tokens beyond the code (see store.h) ==== */
    wp_err_t (*grant_add)(void *impl, const store_grant_t *g);
    wp_err_t (*grant_revoke)(void *impl, const char *family, int64_t now);
    wp_err_t (*grant_revoke_code)(void *impl, const char *code_hash, int64_t now);
    wp_err_t (*access_add)(void *impl, const char *jti, const char *family, int64_t expires_at);
    wp_err_t (*access_check)(void *impl, const char *jti);
    wp_err_t (*access_revoke)(void *impl, const char *jti, int64_t now);
    wp_err_t (*refresh_add)(void *impl, const char *hash, const char *family, int64_t issued_at,
                            int64_t expires_at);
    wp_err_t (*refresh_rotate)(void *impl, const char *old_hash, const char *new_hash,
                               int64_t new_expires_at, int64_t now, store_grant_t *out);
    wp_err_t (*refresh_get)(void *impl, const char *hash, int64_t now, store_grant_t *out,
                            int64_t *expires_at);
    wp_err_t (*assertion_jti_use)(void *impl, const char *client_id, const char *jti,
                                  int64_t expires_at);
    wp_err_t (*par_add)(void *impl, const char *hash, const char *client_id, const char *params,
                        int64_t expires_at);
    wp_err_t (*par_take)(void *impl, const char *hash, const char *client_id, int64_t now,
                         char **params);
    wp_err_t (*session_client_add)(void *impl, const char *sid, const char *client_id,
                                   const char *account_id, int64_t expires_at);
    wp_err_t (*session_clients_take)(void *impl, const char *sid, const char *account_id,
                                     json_t **out);
    /* ==== end of issue 3 ==== */

    /* ==== personal data at rest ==== */
    void (*set_keys)(void *impl, const uint8_t lookup_key[32], const uint8_t seal_key[32]);
    /* ==== end of personal data at rest ==== */
} store_ops_t;

extern const store_ops_t store_sqlite_ops;

/* Opens (creating parent folder and file when migrate is non-zero) the SQLite database at
 * path. On success returns WP_OK and *impl for store_sqlite_ops; on error WP_ERR with a
 * readable reason in err and *impl untouched. */
wp_err_t store_sqlite_open(const char *path, int migrate, void **impl, char *err, size_t err_size);

#endif
