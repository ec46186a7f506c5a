/* Storage front: picks the backend named by the URL and forwards every call to it, plus
 * the backend-independent helpers that free records. */
#include "idp/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "idp/store_backend.h"

struct store {
    const store_ops_t *ops;
    void *impl;
};

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

wp_err_t store_open(const char *url, int migrate, store_t **out, char *err, size_t err_size)
{
    wp_err_t rc = WP_ERR;
    store_t *s = NULL;
    const char *path = NULL;

    if (err_size > 0)
        err[0] = '\0';
    if (!url || !*url) {
        snprintf(err, err_size, "storage URL is empty");
        goto out;
    }
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
        snprintf(err, err_size, "PostgreSQL backend not built yet");
        goto out;
    }
    if (has_prefix(url, "sqlite:"))
        path = url + strlen("sqlite:");
    else if (strstr(url, "://"))
        snprintf(err, err_size, "unsupported storage URL scheme (use sqlite:PATH)");
    else
        path = url; /* a bare path */
    if (!path)
        goto out;
    if (!*path) {
        snprintf(err, err_size, "storage URL names no database file");
        goto out;
    }

    s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    s->ops = &store_sqlite_ops;
    rc = store_sqlite_open(path, migrate, &s->impl, err, err_size);
    if (rc)
        goto out;
    *out = s;
    s = NULL;
    rc = WP_OK;
out:
    free(s);
    return rc;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    s->ops->close(s->impl);
    free(s);
}

wp_err_t store_ping(store_t *s)
{
    return s->ops->ping(s->impl);
}

int store_schema_version(store_t *s)
{
    return s->ops->schema_version(s->impl);
}

wp_err_t store_purge_expired(store_t *s, int64_t now)
{
    return s->ops->purge_expired(s->impl, now);
}

wp_err_t store_client_add(store_t *s, json_t *client)
{
    return s->ops->client_add(s->impl, client);
}

wp_err_t store_client_get(store_t *s, const char *client_id, json_t **out)
{
    return s->ops->client_get(s->impl, client_id, out);
}

wp_err_t store_client_list(store_t *s, json_t **out)
{
    return s->ops->client_list(s->impl, out);
}

wp_err_t store_client_remove(store_t *s, const char *client_id)
{
    return s->ops->client_remove(s->impl, client_id);
}

wp_err_t store_key_add(store_t *s, const store_key_t *key)
{
    return s->ops->key_add(s->impl, key);
}

wp_err_t store_key_list(store_t *s, store_key_t **keys, size_t *n)
{
    return s->ops->key_list(s->impl, keys, n);
}

wp_err_t store_key_retire(store_t *s, const char *kid, int64_t now)
{
    return s->ops->key_retire(s->impl, kid, now);
}

wp_err_t store_register_import(store_t *s, store_person_iter_t next, void *ctx, size_t *count)
{
    return s->ops->register_import(s->impl, next, ctx, count);
}

wp_err_t store_person_get(store_t *s, const char *person_number, store_person_t *out)
{
    return s->ops->person_get(s->impl, person_number, out);
}

wp_err_t store_account_get(store_t *s, const char *account_id, store_account_t *out)
{
    return s->ops->account_get(s->impl, account_id, out);
}

wp_err_t store_account_by_person(store_t *s, const char *person_number, store_account_t *out)
{
    return s->ops->account_by_person(s->impl, person_number, out);
}

wp_err_t store_account_bind_credential(store_t *s, const char *person_number, const char *acr,
                                       const char *proofing, int64_t now,
                                       const store_credential_t *cred, char **account_id)
{
    return s->ops->account_bind_credential(s->impl, person_number, acr, proofing, now, cred,
                                           account_id);
}

wp_err_t store_credential_get(store_t *s, const char *cred_id, store_credential_t *out)
{
    return s->ops->credential_get(s->impl, cred_id, out);
}

wp_err_t store_credential_touch(store_t *s, const char *cred_id, uint32_t old_count,
                                uint32_t new_count, int backup_state, int64_t now)
{
    return s->ops->credential_touch(s->impl, cred_id, old_count, new_count, backup_state, now);
}

wp_err_t store_credential_list(store_t *s, const char *account_id, store_credential_t **out,
                               size_t *n)
{
    return s->ops->credential_list(s->impl, account_id, out, n);
}

wp_err_t store_code_add(store_t *s, const store_code_t *code)
{
    return s->ops->code_add(s->impl, code);
}

wp_err_t store_code_replace(store_t *s, const store_code_t *code, int *cancelled)
{
    return s->ops->code_replace(s->impl, code, cancelled);
}

wp_err_t store_code_redeem(store_t *s, const char *hash, const char *kind, int64_t now,
                           store_code_t *out)
{
    return s->ops->code_redeem(s->impl, hash, kind, NULL, now, out);
}

wp_err_t store_code_redeem_in(store_t *s, const char *hash, const char *kind, const char *flow_hash,
                              int64_t now, store_code_t *out)
{
    return s->ops->code_redeem(s->impl, hash, kind, flow_hash, now, out);
}

wp_err_t store_flow_create(store_t *s, const store_flow_t *flow)
{
    return s->ops->flow_create(s->impl, flow);
}

wp_err_t store_flow_get(store_t *s, const char *id_hash, int64_t now, store_flow_t *out)
{
    return s->ops->flow_get(s->impl, id_hash, now, out);
}

wp_err_t store_flow_set_proofed(store_t *s, const char *id_hash, const char *person_number,
                                const char *acr, const char *proofing)
{
    return s->ops->flow_set_proofed(s->impl, id_hash, person_number, acr, proofing);
}

wp_err_t store_flow_code_failed(store_t *s, const char *id_hash, int max, int *attempts)
{
    return s->ops->flow_code_failed(s->impl, id_hash, max, attempts);
}

wp_err_t store_flow_delete(store_t *s, const char *id_hash)
{
    return s->ops->flow_delete(s->impl, id_hash);
}

wp_err_t store_flow_update(store_t *s, const char *id_hash, const char *request, int64_t expires_at,
                           int64_t now)
{
    return s->ops->flow_update(s->impl, id_hash, request, expires_at, now);
}

wp_err_t store_challenge_put(store_t *s, const char *flow_hash, const char *kind,
                             const char *challenge_b64, int64_t expires_at)
{
    return s->ops->challenge_put(s->impl, flow_hash, kind, challenge_b64, expires_at);
}

wp_err_t store_challenge_take(store_t *s, const char *flow_hash, const char *kind, int64_t now,
                              char **challenge_b64)
{
    return s->ops->challenge_take(s->impl, flow_hash, kind, now, challenge_b64);
}

wp_err_t store_session_create(store_t *s, const store_session_t *x)
{
    return s->ops->session_create(s->impl, x);
}

wp_err_t store_session_get(store_t *s, const char *hash, int64_t now, store_session_t *out)
{
    return s->ops->session_get(s->impl, hash, now, out);
}

wp_err_t store_session_delete(store_t *s, const char *hash)
{
    return s->ops->session_delete(s->impl, hash);
}

wp_err_t store_authcode_add(store_t *s, const store_authcode_t *c)
{
    return s->ops->authcode_add(s->impl, c);
}

wp_err_t store_authcode_take(store_t *s, const char *hash, int64_t now, store_authcode_t *out)
{
    return s->ops->authcode_take(s->impl, hash, now, out);
}

wp_err_t store_ratelimit_count(store_t *s, const char *key, int window_secs, int64_t now,
                               int *count)
{
    return s->ops->ratelimit_count(s->impl, key, window_secs, now, count);
}

wp_err_t store_ratelimit_add(store_t *s, const char *key, int window_secs, int64_t now, int *count)
{
    return s->ops->ratelimit_add(s->impl, key, window_secs, now, count);
}

/* ---- freeing records */

static void free_str(char **p)
{
    free(*p);
    *p = NULL;
}

void store_keys_free(store_key_t *keys, size_t n)
{
    if (!keys)
        return;
    for (size_t i = 0; i < n; i++) {
        free(keys[i].kid);
        free(keys[i].alg);
        if (keys[i].sealed)
            sodium_memzero(keys[i].sealed, keys[i].sealed_len);
        free(keys[i].sealed);
    }
    free(keys);
}

void store_person_clear(store_person_t *p)
{
    if (!p)
        return;
    free_str(&p->person_number);
    free_str(&p->family_name);
    free_str(&p->given_names);
    free_str(&p->birthdate);
    free_str(&p->institution);
    free_str(&p->programme);
    free_str(&p->diploma_date);
    free_str(&p->contact_email);
    free_str(&p->preferred_language);
}

void store_account_clear(store_account_t *a)
{
    if (!a)
        return;
    free_str(&a->id);
    free_str(&a->person_number);
    free_str(&a->acr);
    free_str(&a->proofing);
    a->created_at = 0;
    a->proofed_at = 0;
}

void store_credential_clear(store_credential_t *c)
{
    if (!c)
        return;
    free_str(&c->cred_id);
    free_str(&c->account_id);
    free(c->public_key);
    free_str(&c->aaguid);
    free_str(&c->transports);
    free_str(&c->name);
    memset(c, 0, sizeof *c);
}

void store_credentials_free(store_credential_t *c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        store_credential_clear(&c[i]);
    free(c);
}

void store_code_clear(store_code_t *c)
{
    if (!c)
        return;
    free_str(&c->hash);
    free_str(&c->kind);
    free_str(&c->person_number);
    free_str(&c->acr);
    free_str(&c->proofing);
    free_str(&c->flow_hash);
    c->expires_at = 0;
}

void store_flow_clear(store_flow_t *f)
{
    if (!f)
        return;
    free_str(&f->id_hash);
    free_str(&f->browser_hash);
    free_str(&f->request);
    free_str(&f->person_number);
    free_str(&f->acr);
    free_str(&f->proofing);
    memset(f, 0, sizeof *f);
}

void store_session_clear(store_session_t *x)
{
    if (!x)
        return;
    free_str(&x->hash);
    free_str(&x->sid);
    free_str(&x->account_id);
    free_str(&x->acr);
    memset(x, 0, sizeof *x);
}

void store_authcode_clear(store_authcode_t *c)
{
    if (!c)
        return;
    free_str(&c->hash);
    free_str(&c->client_id);
    free_str(&c->redirect_uri);
    free_str(&c->code_challenge);
    free_str(&c->nonce);
    free_str(&c->account_id);
    free_str(&c->scope);
    free_str(&c->acr);
    free_str(&c->sid);
    free_str(&c->claims);
    memset(c, 0, sizeof *c);
}

/* ---- issue 5: audit log, account self-service, staff, recovery cases */

wp_err_t store_audit_append(store_t *s, json_t *entry, store_audit_hash_t hash, int64_t *seq)
{
    return s->ops->audit_append(s->impl, entry, hash, seq);
}

wp_err_t store_audit_list(store_t *s, const char *subject, const char *event, int64_t after_seq,
                          int limit, int newest_first, json_t **out)
{
    return s->ops->audit_list(s->impl, subject, event, after_seq, limit, newest_first, out);
}

wp_err_t store_credential_rename(store_t *s, const char *account_id, const char *cred_id,
                                 const char *name)
{
    return s->ops->credential_rename(s->impl, account_id, cred_id, name);
}

wp_err_t store_credential_remove(store_t *s, const char *account_id, const char *cred_id)
{
    return s->ops->credential_remove(s->impl, account_id, cred_id);
}

wp_err_t store_account_sessions_end(store_t *s, const char *account_id, int *ended)
{
    return s->ops->account_sessions_end(s->impl, account_id, ended);
}

wp_err_t store_account_reset(store_t *s, const char *account_id, int *removed)
{
    return s->ops->account_reset(s->impl, account_id, removed);
}

wp_err_t store_person_search(store_t *s, const char *person_number, const char *family_name,
                             const char *birthdate, json_t **out)
{
    return s->ops->person_search(s->impl, person_number, family_name, birthdate, out);
}

wp_err_t store_staff_add(store_t *s, const json_t *staff)
{
    return s->ops->staff_add(s->impl, staff);
}

wp_err_t store_staff_get(store_t *s, const char *id, json_t **out)
{
    return s->ops->staff_get(s->impl, id, out);
}

wp_err_t store_staff_credential_add(store_t *s, const store_credential_t *cred)
{
    return s->ops->staff_credential_add(s->impl, cred);
}

wp_err_t store_staff_credential_get(store_t *s, const char *cred_id, store_credential_t *out)
{
    return s->ops->staff_credential_get(s->impl, cred_id, out);
}

wp_err_t store_staff_credential_touch(store_t *s, const char *cred_id, uint32_t old_count,
                                      uint32_t new_count, int64_t now)
{
    return s->ops->staff_credential_touch(s->impl, cred_id, old_count, new_count, now);
}

wp_err_t store_staff_session_create(store_t *s, const char *hash, const char *staff_id, int64_t now,
                                    int64_t expires_at)
{
    return s->ops->staff_session_create(s->impl, hash, staff_id, now, expires_at);
}

wp_err_t store_staff_session_get(store_t *s, const char *hash, int64_t now, int idle,
                                 char **staff_id)
{
    return s->ops->staff_session_get(s->impl, hash, now, idle, staff_id);
}

wp_err_t store_staff_session_delete(store_t *s, const char *hash)
{
    return s->ops->staff_session_delete(s->impl, hash);
}

wp_err_t store_case_open(store_t *s, const json_t *c)
{
    return s->ops->case_open(s->impl, c);
}

wp_err_t store_case_get(store_t *s, const char *id, json_t **out)
{
    return s->ops->case_get(s->impl, id, out);
}

wp_err_t store_case_list(store_t *s, const char *person_number, const char *status, json_t **out)
{
    return s->ops->case_list(s->impl, person_number, status, out);
}

wp_err_t store_case_approve(store_t *s, const char *id, const char *approver, const char *code_hash,
                            int64_t code_expires_at, int64_t not_before, int64_t now)
{
    return s->ops->case_approve(s->impl, id, approver, code_hash, code_expires_at, not_before, now);
}

wp_err_t store_case_redeem(store_t *s, const char *person_number, const char *code_hash,
                           int64_t now, int max_attempts, json_t **out)
{
    return s->ops->case_redeem(s->impl, person_number, code_hash, now, max_attempts, out);
}

wp_err_t store_case_reopen(store_t *s, const char *id, const char *approver, int64_t now)
{
    return s->ops->case_reopen(s->impl, id, approver, now);
}

/* ---- issue 4: enrolment by diploma, mail queue */

wp_err_t store_register_match(store_t *s, const char *person_number, const char *birthdate,
                              const char *diploma_month, store_person_t *out)
{
    return s->ops->register_match(s->impl, person_number, birthdate, diploma_month, out);
}

wp_err_t store_register_withdrawn_count(store_t *s, size_t *count)
{
    return s->ops->register_withdrawn_count(s->impl, count);
}

wp_err_t store_flow_set_diploma(store_t *s, const char *id_hash, const char *person_key)
{
    return s->ops->flow_set_diploma(s->impl, id_hash, person_key);
}

wp_err_t store_flow_get_diploma(store_t *s, const char *id_hash, char **person_key)
{
    return s->ops->flow_get_diploma(s->impl, id_hash, person_key);
}

void store_mail_clear(store_mail_t *m)
{
    if (!m)
        return;
    free(m->sealed);
    memset(m, 0, sizeof *m);
}

wp_err_t store_mail_put(store_t *s, const uint8_t *sealed, size_t sealed_len, int64_t now,
                        int64_t *id)
{
    return s->ops->mail_put(s->impl, sealed, sealed_len, now, id);
}

wp_err_t store_mail_lease(store_t *s, int64_t now, int64_t lease_until, store_mail_t *out)
{
    return s->ops->mail_lease(s->impl, now, lease_until, out);
}

wp_err_t store_mail_delete(store_t *s, int64_t id)
{
    return s->ops->mail_delete(s->impl, id);
}

wp_err_t store_mail_retry(store_t *s, int64_t id, int attempts, int64_t next_at)
{
    return s->ops->mail_retry(s->impl, id, attempts, next_at);
}

wp_err_t store_mail_count(store_t *s, size_t *count)
{
    return s->ops->mail_count(s->impl, count);
}

/* ==== issue 3: tokens beyond the code ==== */

void store_grant_clear(store_grant_t *g)
{
    if (!g)
        return;
    free(g->family);
    free(g->client_id);
    free(g->account_id);
    free(g->scope);
    free(g->acr);
    free(g->sid);
    free(g->code_hash);
    memset(g, 0, sizeof *g);
}

wp_err_t store_grant_add(store_t *s, const store_grant_t *g)
{
    return s->ops->grant_add(s->impl, g);
}

wp_err_t store_grant_revoke(store_t *s, const char *family, int64_t now)
{
    return s->ops->grant_revoke(s->impl, family, now);
}

wp_err_t store_grant_revoke_code(store_t *s, const char *code_hash, int64_t now)
{
    return s->ops->grant_revoke_code(s->impl, code_hash, now);
}

wp_err_t store_access_add(store_t *s, const char *jti, const char *family, int64_t expires_at)
{
    return s->ops->access_add(s->impl, jti, family, expires_at);
}

wp_err_t store_access_check(store_t *s, const char *jti)
{
    return s->ops->access_check(s->impl, jti);
}

wp_err_t store_access_revoke(store_t *s, const char *jti, int64_t now)
{
    return s->ops->access_revoke(s->impl, jti, now);
}

wp_err_t store_refresh_add(store_t *s, const char *hash, const char *family, int64_t issued_at,
                           int64_t expires_at)
{
    return s->ops->refresh_add(s->impl, hash, family, issued_at, expires_at);
}

wp_err_t store_refresh_rotate(store_t *s, const char *old_hash, const char *new_hash,
                              int64_t new_expires_at, int64_t now, store_grant_t *out)
{
    return s->ops->refresh_rotate(s->impl, old_hash, new_hash, new_expires_at, now, out);
}

wp_err_t store_refresh_get(store_t *s, const char *hash, int64_t now, store_grant_t *out,
                           int64_t *expires_at)
{
    return s->ops->refresh_get(s->impl, hash, now, out, expires_at);
}

wp_err_t store_assertion_jti_use(store_t *s, const char *client_id, const char *jti,
                                 int64_t expires_at)
{
    return s->ops->assertion_jti_use(s->impl, client_id, jti, expires_at);
}

wp_err_t store_par_add(store_t *s, const char *hash, const char *client_id, const char *params,
                       int64_t expires_at)
{
    return s->ops->par_add(s->impl, hash, client_id, params, expires_at);
}

wp_err_t store_par_take(store_t *s, const char *hash, const char *client_id, int64_t now,
                        char **params)
{
    return s->ops->par_take(s->impl, hash, client_id, now, params);
}

wp_err_t store_session_client_add(store_t *s, const char *sid, const char *client_id,
                                  const char *account_id, int64_t expires_at)
{
    return s->ops->session_client_add(s->impl, sid, client_id, account_id, expires_at);
}

wp_err_t store_session_clients_take(store_t *s, const char *sid, const char *account_id,
                                    json_t **out)
{
    return s->ops->session_clients_take(s->impl, sid, account_id, out);
}
/* ==== end of issue 3 ==== */

/* ==== personal data at rest ==== */

void store_set_keys(store_t *s, const uint8_t lookup_key[32], const uint8_t seal_key[32])
{
    s->ops->set_keys(s->impl, lookup_key, seal_key);
}
/* ==== end of personal data at rest ==== */
