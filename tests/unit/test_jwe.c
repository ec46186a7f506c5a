/* Unit tests for crypto/jwe.c: request objects encrypted to the provider's RSA-OAEP key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <cmocka.h>
#include <sodium.h>

#include "crypto/b64url.h"
#include "crypto/jwe.h"

#define PLAIN "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJycCJ9.c2lnbmF0dXJl"

typedef struct {
    sigkey_t *enc;   /* our RSA-OAEP key */
    sigkey_t *other; /* another RSA-OAEP key, not ours */
    sigkey_t *sig;   /* an RS256 key: an RSA key, but a signing one */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    f->enc = sigkey_generate(SIGKEY_RSA_OAEP);
    f->other = sigkey_generate(SIGKEY_RSA_OAEP);
    f->sig = sigkey_generate(SIGKEY_RS256);
    assert_non_null(f->enc);
    assert_non_null(f->other);
    assert_non_null(f->sig);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    sigkey_free(f->enc);
    sigkey_free(f->other);
    sigkey_free(f->sig);
    free(f);
    return 0;
}

/* A compact JWE of PLAIN to the public half of key, with the given header members
 * (NULL leaves one out). Returns it (free()). */
static char *encrypt_to(const sigkey_t *key, const char *alg, const char *enc, const char *kid,
                        const char *cty, const char *zip)
{
    json_t *pub = sigkey_public_jwk(key);
    char *text = json_dumps(pub, JSON_COMPACT);
    cjose_err err;
    cjose_jwk_t *jwk = cjose_jwk_import(text, strlen(text), &err);
    cjose_header_t *hdr = cjose_header_new(&err);
    cjose_jwe_t *jwe;
    char *compact, *out;

    assert_non_null(jwk);
    assert_non_null(hdr);
    assert_true(cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &err));
    assert_true(cjose_header_set(hdr, CJOSE_HDR_ENC, enc, &err));
    if (kid)
        assert_true(cjose_header_set(hdr, CJOSE_HDR_KID, kid, &err));
    if (cty)
        assert_true(cjose_header_set(hdr, CJOSE_HDR_CTY, cty, &err));
    if (zip)
        assert_true(cjose_header_set(hdr, "zip", zip, &err));
    jwe = cjose_jwe_encrypt(jwk, hdr, (const uint8_t *)PLAIN, strlen(PLAIN), &err);
    assert_non_null(jwe);
    compact = cjose_jwe_export(jwe, &err);
    assert_non_null(compact);
    out = strdup(compact);
    cjose_get_dealloc()(compact);
    cjose_jwe_release(jwe);
    cjose_header_release(hdr);
    cjose_jwk_release(jwk);
    free(text);
    json_decref(pub);
    return out;
}

/* Returns jwe_decrypt's result for compact against keys, checking the plaintext on
 * success. */
static int decrypt(const char *compact, sigkey_t *const *keys, size_t n)
{
    char *plain = NULL;
    int rc = jwe_decrypt(compact, keys, n, &plain);
    if (rc == 0) {
        assert_non_null(plain);
        assert_string_equal(plain, PLAIN);
        free(plain);
    } else {
        assert_null(plain);
    }
    return rc;
}

static void test_headers(void **state)
{
    fixture_t *f = *state;
    const struct {
        const char *name;
        const char *alg, *enc, *kid, *cty, *zip;
        int to_other; /* encrypt to f->other instead of f->enc */
        int want;
    } cases[] = {
        {"kid and cty JWT", "RSA-OAEP", "A256GCM", "ours", "JWT", NULL, 0, 0},
        {"no kid, no cty", "RSA-OAEP", "A256GCM", NULL, NULL, NULL, 0, 0},
        {"cty in lower case", "RSA-OAEP", "A256GCM", NULL, "jwt", NULL, 0, 0},
        {"unknown kid", "RSA-OAEP", "A256GCM", "someone-else", "JWT", NULL, 0, -1},
        {"cty not JWT", "RSA-OAEP", "A256GCM", "ours", "json", NULL, 0, -1},
        {"enc A256CBC-HS512", "RSA-OAEP", "A256CBC-HS512", "ours", "JWT", NULL, 0, -1},
        {"alg RSA1_5", "RSA1_5", "A256GCM", "ours", "JWT", NULL, 0, -1},
        {"zip", "RSA-OAEP", "A256GCM", "ours", "JWT", "DEF", 0, -1},
        {"to a key not ours, no kid", "RSA-OAEP", "A256GCM", NULL, "JWT", NULL, 1, -1},
        {"to a key not ours, our kid", "RSA-OAEP", "A256GCM", "ours", "JWT", NULL, 1, -1},
    };
    sigkey_t *keys[] = {f->enc};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *kid =
            cases[i].kid && strcmp(cases[i].kid, "ours") == 0 ? f->enc->kid : cases[i].kid;
        char *jwe = encrypt_to(cases[i].to_other ? f->other : f->enc, cases[i].alg, cases[i].enc,
                               kid, cases[i].cty, cases[i].zip);
        assert_true(jwe_is_compact(jwe));
        if (decrypt(jwe, keys, 1) != cases[i].want)
            fail_msg("case '%s': expected %d", cases[i].name, cases[i].want);
        free(jwe);
    }
}

/* A header claiming RSA-OAEP-256 (which cjose cannot make) is refused by name. */
static void test_rsa_oaep_256_refused(void **state)
{
    fixture_t *f = *state;
    sigkey_t *keys[] = {f->enc};
    char *jwe = encrypt_to(f->enc, "RSA-OAEP", "A256GCM", NULL, NULL, NULL);
    const char *hdr_json = "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}";
    char *hdr = b64url_encode((const uint8_t *)hdr_json, strlen(hdr_json));
    char forged[JWE_MAX_LEN];

    assert_non_null(hdr);
    snprintf(forged, sizeof forged, "%s%s", hdr, strchr(jwe, '.'));
    assert_true(jwe_is_compact(forged));
    assert_int_equal(decrypt(forged, keys, 1), -1);
    free(hdr);
    free(jwe);
}

/* Only RSA-OAEP keys decrypt: a signing key of the right type is skipped. */
static void test_signing_key_never_decrypts(void **state)
{
    fixture_t *f = *state;
    sigkey_t *keys[] = {f->sig, f->enc};
    char *jwe = encrypt_to(f->sig, "RSA-OAEP", "A256GCM", NULL, NULL, NULL);

    assert_int_equal(decrypt(jwe, keys, 1), -1);
    assert_int_equal(decrypt(jwe, keys, 2), -1);
    free(jwe);
    /* With both in the list, ours is still found. */
    jwe = encrypt_to(f->enc, "RSA-OAEP", "A256GCM", NULL, NULL, NULL);
    assert_int_equal(decrypt(jwe, keys, 2), 0);
    free(jwe);
}

/* Tampering with any part, a wrong number of parts and oversized input are refused. */
static void test_malformed(void **state)
{
    fixture_t *f = *state;
    sigkey_t *keys[] = {f->enc};
    char *jwe = encrypt_to(f->enc, "RSA-OAEP", "A256GCM", f->enc->kid, "JWT", NULL);
    size_t len = strlen(jwe);
    char *copy = malloc(len + 2);
    char *big;

    assert_non_null(copy);
    assert_int_equal(decrypt(jwe, keys, 1), 0);
    /* Flip one character in each of the five parts (the first of each part). */
    for (const char *p = jwe, *end; p; p = *end ? end + 1 : NULL) {
        end = strchr(p, '.');
        if (!end)
            end = p + strlen(p);
        memcpy(copy, jwe, len + 1);
        copy[p - jwe] = copy[p - jwe] == 'A' ? 'B' : 'A';
        if (decrypt(copy, keys, 1) != -1)
            fail_msg("a change in part at offset %zu was accepted", (size_t)(p - jwe));
    }
    /* Four and six parts. */
    memcpy(copy, jwe, len + 1);
    *strrchr(copy, '.') = '\0';
    assert_false(jwe_is_compact(copy));
    assert_int_equal(decrypt(copy, keys, 1), -1);
    snprintf(copy, len + 2, "%s.", jwe);
    assert_false(jwe_is_compact(copy));
    assert_int_equal(decrypt(copy, keys, 1), -1);
    /* Not base64url. */
    memcpy(copy, jwe, len + 1);
    copy[len - 1] = '=';
    assert_int_equal(decrypt(copy, keys, 1), -1);
    /* No keys, no input. */
    assert_int_equal(decrypt(jwe, keys, 0), -1);
    assert_int_equal(jwe_decrypt(NULL, keys, 1, &(char *){NULL}), -1);
    /* Over JWE_MAX_LEN. */
    big = malloc(JWE_MAX_LEN + 2);
    assert_non_null(big);
    memset(big, 'A', JWE_MAX_LEN + 1);
    big[JWE_MAX_LEN + 1] = '\0';
    memcpy(big, jwe, len);
    assert_int_equal(decrypt(big, keys, 1), -1);
    free(big);
    free(copy);
    free(jwe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_rsa_oaep_256_refused),
        cmocka_unit_test(test_signing_key_never_decrypts),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
