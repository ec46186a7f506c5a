/* Unit tests for idp/keyring.c on a temporary SQLite store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/b64url.h"
#include "crypto/jws.h"
#include "idp/keyring.h"

typedef struct {
    char dir[64];
    char db[128];
    store_t *store;
    uint8_t master[SEAL_KEY_BYTES];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char url[160], err[256];
    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    strcpy(f->dir, "/tmp/wp_test_keyring_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/wp.db", f->dir);
    snprintf(url, sizeof url, "sqlite:%s", f->db);
    randombytes_buf(f->master, sizeof f->master);
    if (store_open(url, 1, &f->store, err, sizeof err) != WP_OK)
        fail_msg("store_open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char path[200];
    store_close(f->store);
    unlink(f->db);
    snprintf(path, sizeof path, "%s-wal", f->db);
    unlink(path);
    snprintf(path, sizeof path, "%s-shm", f->db);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static size_t jwks_count(keyring_t *k, const char *kid)
{
    json_t *doc = keyring_jwks(k), *jwk;
    size_t i, n = 0;
    assert_non_null(doc);
    json_array_foreach(json_object_get(doc, "keys"), i, jwk)
    {
        /* Only public parts are published. */
        assert_null(json_object_get(jwk, "d"));
        assert_non_null(json_object_get(jwk, "kid"));
        if (!kid || strcmp(json_string_value(json_object_get(jwk, "kid")), kid) == 0)
            n++;
    }
    json_decref(doc);
    return n;
}

/* The algorithms keyring_open makes a key of when asked to ensure them. */
static const sigkey_alg_t algs[] = {SIGKEY_RS256, SIGKEY_ES256, SIGKEY_PS256, SIGKEY_EDDSA};
#define NALGS (sizeof algs / sizeof algs[0])
/* The JWKS also carries the RSA-OAEP key for encrypted request objects. */
#define NKEYS (NALGS + 1)

static void test_ensure_makes_keys(void **state)
{
    fixture_t *f = *state;
    keyring_t *k = NULL;
    sigkey_t *const *all;
    size_t n;
    char kids[NALGS][SIGKEY_KID_MAX];

    /* Without ensure, an empty store gives an empty keyring. */
    assert_int_equal(keyring_open(f->store, f->master, 0, &k), WP_OK);
    assert_null(keyring_signing_key(k, SIGKEY_RS256, wp_now()));
    assert_int_equal(jwks_count(k, NULL), 0);
    keyring_free(k);

    /* With ensure, one key of each ID token algorithm is made and published. */
    assert_int_equal(keyring_open(f->store, f->master, 1, &k), WP_OK);
    for (size_t i = 0; i < NALGS; i++) {
        const sigkey_t *key = keyring_signing_key(k, algs[i], wp_now());
        assert_non_null(key);
        assert_int_equal(key->alg, algs[i]);
        assert_int_equal(jwks_count(k, key->kid), 1);
        snprintf(kids[i], sizeof kids[i], "%s", key->kid);
    }
    assert_int_equal(jwks_count(k, NULL), NKEYS);
    keyring_all(k, &all, &n);
    assert_int_equal(n, NALGS);
    keyring_free(k);

    /* A second open with ensure finds them and makes none. */
    assert_int_equal(keyring_open(f->store, f->master, 1, &k), WP_OK);
    assert_int_equal(jwks_count(k, NULL), NKEYS);
    for (size_t i = 0; i < NALGS; i++)
        assert_string_equal(keyring_signing_key(k, algs[i], wp_now())->kid, kids[i]);
    keyring_free(k);

    /* The wrong master key cannot unseal them. */
    uint8_t wrong[SEAL_KEY_BYTES];
    memcpy(wrong, f->master, sizeof wrong);
    wrong[0] ^= 1;
    assert_int_not_equal(keyring_open(f->store, wrong, 0, &k), WP_OK);
    assert_null(k);
}

static void test_rotate_reload_retire(void **state)
{
    fixture_t *f = *state;
    keyring_t *k = NULL;
    char kid[SIGKEY_KID_MAX];
    int64_t now = wp_now();
    /* Well past the publish delay (an hour), even when making the keys took a while. */
    int64_t later = now + 2 * 3600;

    assert_int_equal(keyring_open(f->store, f->master, 1, &k), WP_OK);
    const sigkey_t *old = keyring_signing_key(k, SIGKEY_RS256, now);
    assert_non_null(old);

    assert_int_equal(keyring_rotate(f->store, f->master, SIGKEY_RS256, kid, sizeof kid), WP_OK);
    assert_string_not_equal(kid, old->kid);
    /* Not seen before a reload. */
    assert_int_equal(jwks_count(k, kid), 0);
    assert_int_equal(keyring_reload(k), WP_OK);
    /* Published at once... */
    assert_int_equal(jwks_count(k, kid), 1);
    assert_int_equal(jwks_count(k, NULL), NKEYS + 1);
    /* ...but the old key keeps signing until the new one is an hour old, */
    assert_ptr_equal(keyring_signing_key(k, SIGKEY_RS256, now), old);
    /* then the new one signs. */
    const sigkey_t *fresh = keyring_signing_key(k, SIGKEY_RS256, later);
    assert_non_null(fresh);
    assert_string_equal(fresh->kid, kid);

    /* Retiring the old key removes it from the JWKS; its pointer stays valid. */
    char old_kid[SIGKEY_KID_MAX];
    strcpy(old_kid, old->kid);
    assert_int_equal(store_key_retire(f->store, old_kid, now), WP_OK);
    assert_int_equal(keyring_reload(k), WP_OK);
    assert_int_equal(jwks_count(k, old_kid), 0);
    assert_int_equal(jwks_count(k, NULL), NKEYS);
    assert_string_equal(old->kid, old_kid);
    /* The only RS256 key left signs at once. */
    assert_string_equal(keyring_signing_key(k, SIGKEY_RS256, now)->kid, kid);

    /* Other algorithms rotate the same way. */
    const sigkey_t *old_ed = keyring_signing_key(k, SIGKEY_EDDSA, now);
    assert_non_null(old_ed);
    assert_int_equal(keyring_rotate(f->store, f->master, SIGKEY_EDDSA, kid, sizeof kid), WP_OK);
    assert_int_equal(keyring_reload(k), WP_OK);
    assert_int_equal(jwks_count(k, kid), 1);
    assert_int_equal(jwks_count(k, NULL), NKEYS + 1);
    assert_ptr_equal(keyring_signing_key(k, SIGKEY_EDDSA, now), old_ed);
    assert_string_equal(keyring_signing_key(k, SIGKEY_EDDSA, later)->kid, kid);
    keyring_free(k);
}

/* The JWKS entry of the key with kid, or NULL (a new reference). */
static json_t *jwks_entry(keyring_t *k, const char *kid)
{
    json_t *doc = keyring_jwks(k), *jwk, *found = NULL;
    size_t i;
    assert_non_null(doc);
    json_array_foreach(json_object_get(doc, "keys"), i, jwk)
    {
        if (strcmp(json_string_value(json_object_get(jwk, "kid")), kid) == 0)
            found = json_incref(jwk);
    }
    json_decref(doc);
    return found;
}

/* The RSA-OAEP key: made on first start, published with use enc and its thumbprint as
 * kid, never handed out for signing or verifying, never able to sign; rotatable. */
static void test_enc_key(void **state)
{
    fixture_t *f = *state;
    keyring_t *k = NULL;
    sigkey_t *const *enc, *const *all;
    size_t n_enc, n_all, i;
    char kid[SIGKEY_KID_MAX], thumb[SIGKEY_KID_MAX];
    sigkey_alg_t alg;
    json_t *jwk, *doc, *v;

    /* A name from outside never selects the encryption algorithm for signing. */
    assert_int_equal(sigkey_alg_parse("RSA-OAEP", &alg), -1);
    assert_int_equal(sigkey_alg_parse_any("RSA-OAEP", &alg), 0);
    assert_int_equal(alg, SIGKEY_RSA_OAEP);
    assert_int_equal(sigkey_alg_parse_any("RSA-OAEP-256", &alg), -1);

    assert_int_equal(keyring_open(f->store, f->master, 1, &k), WP_OK);
    keyring_enc_keys(k, &enc, &n_enc);
    assert_int_equal(n_enc, 1);
    assert_int_equal(enc[0]->alg, SIGKEY_RSA_OAEP);
    assert_int_equal(EVP_PKEY_get_bits(enc[0]->pkey), 3072);
    assert_null(keyring_signing_key(k, SIGKEY_RSA_OAEP, wp_now()));
    assert_null(keyring_signing_key(k, SIGKEY_RSA_OAEP, wp_now() + (int64_t)2 * 3600));
    keyring_all(k, &all, &n_all);
    for (i = 0; i < n_all; i++)
        assert_int_not_equal(all[i]->alg, SIGKEY_RSA_OAEP);

    jwk = jwks_entry(k, enc[0]->kid);
    assert_non_null(jwk);
    assert_string_equal(json_string_value(json_object_get(jwk, "use")), "enc");
    /* No "alg": the key takes RSA-OAEP and RSA-OAEP-256 (see sigkey_public_jwk). */
    assert_null(json_object_get(jwk, "alg"));
    assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
    assert_null(json_object_get(jwk, "d"));
    assert_int_equal(sigkey_thumbprint(jwk, thumb), 0);
    assert_string_equal(thumb, enc[0]->kid);
    json_decref(jwk);
    /* Every other published key is a signing key. */
    doc = keyring_jwks(k);
    json_array_foreach(json_object_get(doc, "keys"), i, v)
    {
        const char *use = json_string_value(json_object_get(v, "use"));
        if (strcmp(json_string_value(json_object_get(v, "kid")), enc[0]->kid) != 0)
            assert_string_equal(use, "sig");
    }
    json_decref(doc);

    /* It cannot sign, and a JWS naming it never verifies. */
    json_t *claims = json_pack("{s:s}", "iss", "x");
    assert_null(jws_sign(enc[0], NULL, claims));
    const sigkey_t *rs = keyring_signing_key(k, SIGKEY_RS256, wp_now());
    char *token = jws_sign(rs, NULL, claims);
    json_t *got = NULL;
    assert_non_null(token);
    assert_int_equal(jws_verify(token, enc, n_enc, NULL, &got), -1);
    assert_null(got);
    /* Even with a header naming the encryption key and its algorithm. */
    char forged[4096], hdr_json[160];
    snprintf(hdr_json, sizeof hdr_json, "{\"alg\":\"RSA-OAEP\",\"kid\":\"%s\"}", enc[0]->kid);
    char *hdr = b64url_encode((const uint8_t *)hdr_json, strlen(hdr_json));
    assert_non_null(hdr);
    snprintf(forged, sizeof forged, "%s%s", hdr, strchr(token, '.'));
    assert_int_equal(jws_verify(forged, enc, n_enc, NULL, &got), -1);
    assert_null(got);
    free(hdr);
    free(token);
    json_decref(claims);

    /* Rotation adds a second one; both decrypt, both are published with use enc. */
    assert_int_equal(keyring_rotate(f->store, f->master, SIGKEY_RSA_OAEP, kid, sizeof kid), WP_OK);
    assert_int_equal(keyring_reload(k), WP_OK);
    keyring_enc_keys(k, &enc, &n_enc);
    assert_int_equal(n_enc, 2);
    assert_string_equal(enc[1]->kid, kid);
    jwk = jwks_entry(k, kid);
    assert_non_null(jwk);
    assert_string_equal(json_string_value(json_object_get(jwk, "use")), "enc");
    json_decref(jwk);
    assert_int_equal(jwks_count(k, NULL), NKEYS + 1);
    keyring_free(k);

    /* Sealed at rest: a fresh open unseals both and makes no third one. */
    assert_int_equal(keyring_open(f->store, f->master, 1, &k), WP_OK);
    keyring_enc_keys(k, &enc, &n_enc);
    assert_int_equal(n_enc, 2);
    keyring_free(k);
}

/* The private key is sealed: no part of its JSON form appears in the database file. */
static void test_sealed_at_rest(void **state)
{
    fixture_t *f = *state;
    keyring_t *k = NULL;
    FILE *fp;
    long size;
    char *db;

    assert_int_equal(keyring_open(f->store, f->master, 1, &k), WP_OK);
    const sigkey_t *es = keyring_signing_key(k, SIGKEY_ES256, wp_now());
    char *json = sigkey_private_json(es);
    json_t *priv = json_loads(json, 0, NULL);
    assert_non_null(priv);
    const char *d = json_string_value(json_object_get(priv, "d"));
    assert_non_null(d);
    store_close(f->store); /* flush everything to the file */
    f->store = NULL;

    fp = fopen(f->db, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    rewind(fp);
    db = malloc((size_t)size);
    assert_int_equal(fread(db, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    assert_null(memmem(db, (size_t)size, d, strlen(d)));
    assert_null(memmem(db, (size_t)size, "\"d\"", 3));
    free(db);
    json_decref(priv);
    sodium_memzero(json, strlen(json));
    free(json);
    keyring_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ensure_makes_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_reload_retire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_at_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enc_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
