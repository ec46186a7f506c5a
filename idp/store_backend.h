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
    wp_err_t (*code_redeem)(void *impl, const char *hash, const char *kind, int64_t now,
                            store_code_t *out);

    wp_err_t (*flow_create)(void *impl, const store_flow_t *flow);
    wp_err_t (*flow_get)(void *impl, const char *id_hash, int64_t now, store_flow_t *out);
    wp_err_t (*flow_set_proofed)(void *impl, const char *id_hash, const char *person_number,
                                 const char *acr, const char *proofing);
    wp_err_t (*flow_code_failed)(void *impl, const char *id_hash, int max, int *attempts);
    wp_err_t (*flow_delete)(void *impl, const char *id_hash);

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
} store_ops_t;

extern const store_ops_t store_sqlite_ops;

/* Opens (creating parent folder and file when migrate is non-zero) the SQLite database at
 * path. On success returns WP_OK and *impl for store_sqlite_ops; on error WP_ERR with a
 * readable reason in err and *impl untouched. */
wp_err_t store_sqlite_open(const char *path, int migrate, void **impl, char *err, size_t err_size);

#endif
