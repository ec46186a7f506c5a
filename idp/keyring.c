/* The provider's signing keys, and its RSA-OAEP keys for request objects encrypted to it
 * (published with "use":"enc", never used to sign or verify). Private keys live in
 * storage sealed with a subkey of the master key; here they are unsealed once and kept
 * for the life of the keyring.
 *
 * Which key signs: among the published keys of an algorithm, the newest one that has been
 * published for at least WP_KEY_PUBLISH_DELAY seconds; when none is that old (a fresh
 * install, or a rotation right after it), the oldest one. So a rotated key appears in the
 * JWKS an hour before it signs, and relying parties that cache the JWKS keep working.
 *
 * Concurrency: readers take a read lock; keyring_reload takes the write lock, only ever
 * appends keys and marks retired ones unpublished. A sigkey_t is freed only by
 * keyring_free, so pointers handed out stay valid. The arrays handed out by keyring_all
 * are kept (never reallocated) until keyring_free too. */
#include "idp/keyring.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define WP_KEY_PUBLISH_DELAY 3600 /* seconds a rotated key is published before it signs */
#define WP_KEY_SEAL_ID 1
#define WP_KEY_SEAL_CONTEXT "sealkeys"
#define WP_MAX_KEYS 256

typedef struct {
    sigkey_t *key;
    int64_t created_at;
    int64_t retired_at; /* 0, or when a retiring key leaves the JWKS: it no longer signs */
    int published;
} entry_t;

/* A snapshot of the published keys: signing keys (keyring_all) and encryption keys
 * (keyring_enc_keys). */
typedef struct snapshot {
    sigkey_t **keys;
    size_t n;
    sigkey_t **enc;
    size_t n_enc;
    struct snapshot *older; /* kept until keyring_free */
} snapshot_t;

struct keyring {
    store_t *store;
    uint8_t seal_key[SEAL_KEY_BYTES];
    pthread_rwlock_t lock;
    entry_t entries[WP_MAX_KEYS];
    size_t n;
    snapshot_t *published;
};

static void seal_key_derive(const uint8_t master[SEAL_KEY_BYTES], uint8_t out[SEAL_KEY_BYTES])
{
    seal_subkey(master, WP_KEY_SEAL_ID, WP_KEY_SEAL_CONTEXT, out);
}

/* Unseals one stored key. Returns the key (sigkey_free) or NULL. */
static sigkey_t *unseal(const uint8_t seal_key[SEAL_KEY_BYTES], const store_key_t *row)
{
    sigkey_alg_t alg;
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    sigkey_t *key = NULL;

    if (sigkey_alg_parse_any(row->alg, &alg))
        goto out;
    if (seal_decrypt(seal_key, row->sealed, row->sealed_len, &pt, &pt_len))
        goto out;
    key = sigkey_from_private_json((const char *)pt, alg);
    if (key && strcmp(key->kid, row->kid) != 0) {
        /* The row's kid must be the thumbprint of the key it holds. */
        sigkey_free(key);
        key = NULL;
    }
out:
    if (pt) {
        sodium_memzero(pt, pt_len);
        free(pt);
    }
    return key;
}

/* Makes a new key of alg, seals it and stores it. Writes its kid into kid_out when not
 * NULL. */
static wp_err_t make_key(store_t *s, const uint8_t seal_key[SEAL_KEY_BYTES], sigkey_alg_t alg,
                         int64_t now, char *kid_out, size_t kid_size)
{
    wp_err_t rc = WP_ERR;
    sigkey_t *key = sigkey_generate(alg);
    char *json = NULL;
    store_key_t row = {0};

    if (!key)
        goto out;
    json = sigkey_private_json(key);
    if (!json)
        goto out;
    if (seal_encrypt(seal_key, (const uint8_t *)json, strlen(json), &row.sealed, &row.sealed_len))
        goto out;
    row.kid = key->kid;
    row.alg = (char *)sigkey_alg_name(alg);
    row.created_at = now;
    rc = store_key_add(s, &row);
    if (rc)
        goto out;
    if (kid_out)
        snprintf(kid_out, kid_size, "%s", key->kid);
out:
    if (json) {
        sodium_memzero(json, strlen(json));
        free(json);
    }
    free(row.sealed);
    sigkey_free(key);
    return rc;
}

/* Builds a new snapshot of the published keys. Caller holds the write lock. */
static wp_err_t snapshot_rebuild(keyring_t *k)
{
    snapshot_t *snap = calloc(1, sizeof *snap);
    if (!snap)
        return WP_ERR;
    snap->keys = calloc(k->n ? k->n : 1, sizeof(sigkey_t *)); /* arrays of pointers */
    snap->enc = calloc(k->n ? k->n : 1, sizeof(sigkey_t *));
    if (!snap->keys || !snap->enc) {
        free(snap->keys);
        free(snap->enc);
        free(snap);
        return WP_ERR;
    }
    for (size_t i = 0; i < k->n; i++) {
        if (!k->entries[i].published)
            continue;
        if (k->entries[i].key->alg == SIGKEY_RSA_OAEP)
            snap->enc[snap->n_enc++] = k->entries[i].key;
        else
            snap->keys[snap->n++] = k->entries[i].key;
    }
    snap->older = k->published;
    k->published = snap;
    return WP_OK;
}

/* Reads the stored keys: appends the ones not loaded yet, unpublishes the ones no longer
 * listed. Caller holds the write lock (or owns k alone). */
static wp_err_t load(keyring_t *k)
{
    wp_err_t rc;
    store_key_t *rows = NULL;
    size_t nrows = 0;
    int changed = 0;

    rc = store_key_list(k->store, &rows, &nrows);
    if (rc)
        goto out;
    for (size_t i = 0; i < k->n; i++) {
        int listed = 0;
        for (size_t j = 0; j < nrows && !listed; j++) {
            listed = strcmp(rows[j].kid, k->entries[i].key->kid) == 0;
            if (listed)
                k->entries[i].retired_at = rows[j].retired_at;
        }
        if (!listed && k->entries[i].published) {
            k->entries[i].published = 0;
            changed = 1;
        }
    }
    for (size_t j = 0; j < nrows; j++) {
        int known = 0;
        for (size_t i = 0; i < k->n && !known; i++)
            known = strcmp(rows[j].kid, k->entries[i].key->kid) == 0;
        if (known)
            continue;
        if (k->n == WP_MAX_KEYS) {
            WP_LOG_ERR("keyring: more than %d keys; retire old ones", WP_MAX_KEYS);
            rc = WP_ERR_LIMIT;
            goto out;
        }
        sigkey_t *key = unseal(k->seal_key, &rows[j]);
        if (!key) {
            WP_LOG_ERR("keyring: cannot unseal key %s (wrong master key?)", rows[j].kid);
            rc = WP_ERR;
            goto out;
        }
        k->entries[k->n].key = key;
        k->entries[k->n].created_at = rows[j].created_at;
        k->entries[k->n].retired_at = rows[j].retired_at;
        k->entries[k->n].published = 1;
        k->n++;
        changed = 1;
    }
    /* A new snapshot only when the set changed: old ones are kept until keyring_free. */
    rc = changed || !k->published ? snapshot_rebuild(k) : WP_OK;
out:
    store_keys_free(rows, nrows);
    return rc;
}

static int has_alg(const keyring_t *k, sigkey_alg_t alg)
{
    for (size_t i = 0; i < k->n; i++) {
        if (k->entries[i].published && k->entries[i].key->alg == alg)
            return 1;
    }
    return 0;
}

wp_err_t keyring_open(store_t *s, const uint8_t master[SEAL_KEY_BYTES], int ensure, keyring_t **out)
{
    static const sigkey_alg_t required[] = {SIGKEY_RS256, SIGKEY_ES256, SIGKEY_PS256, SIGKEY_EDDSA,
                                            SIGKEY_RSA_OAEP};
    wp_err_t rc = WP_ERR;
    keyring_t *k = calloc(1, sizeof *k);
    int lock_ready = 0;

    if (!k)
        goto out;
    k->store = s;
    seal_key_derive(master, k->seal_key);
    if (pthread_rwlock_init(&k->lock, NULL))
        goto out;
    lock_ready = 1;
    rc = load(k);
    if (rc)
        goto out;
    for (size_t i = 0; ensure && i < sizeof required / sizeof required[0]; i++) {
        if (has_alg(k, required[i]))
            continue;
        rc = make_key(s, k->seal_key, required[i], wp_now(), NULL, 0);
        if (rc)
            goto out;
        rc = load(k);
        if (rc)
            goto out;
    }
    rc = WP_OK;
out:
    if (rc != WP_OK && k) {
        if (!lock_ready) {
            sodium_memzero(k->seal_key, sizeof k->seal_key);
            free(k);
        } else {
            keyring_free(k);
        }
        k = NULL;
    }
    *out = k;
    return rc;
}

void keyring_free(keyring_t *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        sigkey_free(k->entries[i].key);
    while (k->published) {
        snapshot_t *older = k->published->older;
        free(k->published->keys);
        free(k->published->enc);
        free(k->published);
        k->published = older;
    }
    pthread_rwlock_destroy(&k->lock);
    sodium_memzero(k->seal_key, sizeof k->seal_key);
    free(k);
}

wp_err_t keyring_reload(keyring_t *k)
{
    wp_err_t rc;
    pthread_rwlock_wrlock(&k->lock);
    rc = load(k);
    pthread_rwlock_unlock(&k->lock);
    return rc;
}

wp_err_t keyring_rotate(store_t *s, const uint8_t master[SEAL_KEY_BYTES], sigkey_alg_t alg,
                        char *kid_out, size_t kid_size)
{
    uint8_t seal_key[SEAL_KEY_BYTES];
    wp_err_t rc;
    seal_key_derive(master, seal_key);
    rc = make_key(s, seal_key, alg, wp_now(), kid_out, kid_size);
    sodium_memzero(seal_key, sizeof seal_key);
    return rc;
}

const sigkey_t *keyring_signing_key(keyring_t *k, sigkey_alg_t alg, int64_t now)
{
    const entry_t *oldest = NULL, *ready = NULL;

    if (alg == SIGKEY_RSA_OAEP)
        return NULL; /* an encryption key never signs */
    pthread_rwlock_rdlock(&k->lock);
    for (size_t i = 0; i < k->n; i++) {
        const entry_t *e = &k->entries[i];
        if (!e->published || e->retired_at || e->key->alg != alg)
            continue;
        if (!oldest || e->created_at < oldest->created_at)
            oldest = e;
        if (e->created_at <= now - WP_KEY_PUBLISH_DELAY &&
            (!ready || e->created_at >= ready->created_at))
            ready = e;
    }
    pthread_rwlock_unlock(&k->lock);
    if (ready)
        return ready->key;
    return oldest ? oldest->key : NULL;
}

int64_t keyring_last_signed(keyring_t *k, const char *kid, int64_t now)
{
    const entry_t *key = NULL;
    const sigkey_t *signer = NULL;
    int64_t until = now;

    int found = 0;
    sigkey_alg_t alg = SIGKEY_RS256;
    pthread_rwlock_rdlock(&k->lock);
    for (size_t i = 0; i < k->n && !found; i++) {
        found = k->entries[i].published && strcmp(k->entries[i].key->kid, kid) == 0;
        if (found)
            alg = k->entries[i].key->alg;
    }
    pthread_rwlock_unlock(&k->lock);
    if (found)
        signer = keyring_signing_key(k, alg, now);
    pthread_rwlock_rdlock(&k->lock);
    for (size_t i = 0; i < k->n && !key; i++) {
        if (k->entries[i].published && strcmp(k->entries[i].key->kid, kid) == 0)
            key = &k->entries[i];
    }
    if (key && signer && signer != key->key && !key->retired_at) {
        /* The signer is newer: it took over from this key when it had been published for
         * the delay. The signer is older: this key is pending and never signed. */
        int64_t took_over = 0;
        for (size_t i = 0; i < k->n; i++) {
            const entry_t *e = &k->entries[i];
            if (e->published && e->key == signer)
                took_over =
                    e->created_at > key->created_at ? e->created_at + WP_KEY_PUBLISH_DELAY : 0;
        }
        until = took_over < now ? took_over : now;
    }
    pthread_rwlock_unlock(&k->lock);
    return key ? until : -1;
}

json_t *keyring_jwks(keyring_t *k)
{
    json_t *doc = json_object();
    json_t *arr = json_array();

    if (!doc || !arr || json_object_set(doc, "keys", arr))
        goto fail;
    pthread_rwlock_rdlock(&k->lock);
    for (size_t i = 0; i < k->published->n + k->published->n_enc; i++) {
        size_t n = k->published->n;
        json_t *jwk = sigkey_public_jwk(i < n ? k->published->keys[i] : k->published->enc[i - n]);
        if (!jwk || json_array_append_new(arr, jwk)) {
            pthread_rwlock_unlock(&k->lock);
            goto fail;
        }
    }
    pthread_rwlock_unlock(&k->lock);
    json_decref(arr);
    return doc;
fail:
    json_decref(arr);
    json_decref(doc);
    return NULL;
}

void keyring_all(keyring_t *k, sigkey_t *const **keys, size_t *n)
{
    pthread_rwlock_rdlock(&k->lock);
    *keys = k->published->keys;
    *n = k->published->n;
    pthread_rwlock_unlock(&k->lock);
}

void keyring_enc_keys(keyring_t *k, sigkey_t *const **keys, size_t *n)
{
    pthread_rwlock_rdlock(&k->lock);
    *keys = k->published->enc;
    *n = k->published->n_enc;
    pthread_rwlock_unlock(&k->lock);
}
