/* Unit tests for crypto/jwe.c: JWEs with RSA-OAEP and RSA-OAEP-256 and A256GCM, made by
 * cjose and by jwe_encrypt, opened by jwe_decrypt; and the choice of a client's key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
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

/* Part index of compact as a new string (free()). */
static char *part_text(const char *compact, int index)
{
    const char *start = compact;
    char *out;

    for (int i = 0; i < index; i++)
        start = strchr(start, '.') + 1;
    out = strndup(start, strcspn(start, "."));
    assert_non_null(out);
    return out;
}

/* Replaces part index of compact by part (base64url text). Returns a new string (free()). */
static char *with_part(const char *compact, int index, const char *part)
{
    const char *start = compact, *end;
    size_t cap = strlen(compact) + strlen(part) + 1;
    char *out = malloc(cap);

    assert_non_null(out);
    for (int i = 0; i < index; i++)
        start = strchr(start, '.') + 1;
    end = strchr(start, '.');
    if (end == NULL)
        end = start + strlen(start);
    snprintf(out, cap, "%.*s%s%s", (int)(start - compact), compact, part, end);
    return out;
}

/* Replaces part index of compact by the base64url of n bytes of value c. */
static char *with_bytes(const char *compact, int index, uint8_t c, size_t n)
{
    uint8_t *raw = malloc(n ? n : 1);
    char *b64, *out;

    assert_non_null(raw);
    memset(raw, c, n);
    b64 = b64url_encode(raw, n);
    assert_non_null(b64);
    out = with_part(compact, index, b64);
    free(b64);
    free(raw);
    return out;
}

/* Replaces the protected header of compact by the base64url of json. */
static char *with_header(const char *compact, const char *json)
{
    char *b64 = b64url_encode((const uint8_t *)json, strlen(json));
    char *out;

    assert_non_null(b64);
    out = with_part(compact, 0, b64);
    free(b64);
    return out;
}

/* The public half of key as a verification-only key, as a client's JWK would give. */
static sigkey_t *public_half(const sigkey_t *key)
{
    json_t *jwk = sigkey_public_jwk(key);
    sigkey_t *pub = sigkey_from_public_jwk(jwk, SIGKEY_RSA_OAEP);

    assert_non_null(pub);
    json_decref(jwk);
    return pub;
}

static const char *const algs[] = {"RSA-OAEP", "RSA-OAEP-256"};
#define NALGS (sizeof algs / sizeof algs[0])

/* jwe_alg_supported: exact names only. */
static void test_alg_names(void **state)
{
    (void)state;
    const struct {
        const char *name;
        int want;
    } cases[] = {
        {"RSA-OAEP", 1},      {"RSA-OAEP-256", 1}, {"rsa-oaep", 0}, {"RSA-OAEP-384", 0},
        {"RSA-OAEP-512", 0},  {"RSA1_5", 0},       {"dir", 0},      {"ECDH-ES", 0},
        {"RSA-OAEP-2560", 0}, {"RSA-OAEP ", 0},    {"", 0},         {NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (jwe_alg_supported(cases[i].name) != cases[i].want)
            fail_msg("case '%s': expected %d", cases[i].name ? cases[i].name : "(null)",
                     cases[i].want);
    }
}

/* jwe_encrypt then jwe_decrypt, both algorithms, with and without kid and cty; the header
 * carries exactly what was asked for. */
static void test_round_trip(void **state)
{
    fixture_t *f = *state;
    sigkey_t *to = public_half(f->enc);
    sigkey_t *ours[] = {f->enc}, *both[] = {f->other, f->enc};
    const struct {
        const char *kid, *cty;
    } headers[] = {{"ours", "JWT"}, {NULL, NULL}, {NULL, "JWT"}, {"ours", NULL}};

    for (size_t a = 0; a < NALGS; a++) {
        for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
            const char *kid = headers[h].kid ? f->enc->kid : NULL;
            char *jwe = jwe_encrypt(to, algs[a], kid, headers[h].cty, (const uint8_t *)PLAIN,
                                    strlen(PLAIN));
            uint8_t *raw = NULL;
            size_t raw_len = 0;
            char *hdr_b64 = NULL;
            json_t *hdr;

            if (jwe == NULL)
                fail_msg("%s, header %zu: no JWE", algs[a], h);
            assert_true(jwe_is_compact(jwe));
            hdr_b64 = part_text(jwe, 0);
            assert_int_equal(b64url_decode(hdr_b64, 1024, &raw, &raw_len), 0);
            hdr = json_loadb((const char *)raw, raw_len, 0, NULL);
            assert_non_null(hdr);
            assert_string_equal(json_string_value(json_object_get(hdr, "alg")), algs[a]);
            assert_string_equal(json_string_value(json_object_get(hdr, "enc")), "A256GCM");
            if (kid)
                assert_string_equal(json_string_value(json_object_get(hdr, "kid")), kid);
            else
                assert_null(json_object_get(hdr, "kid"));
            if (headers[h].cty)
                assert_string_equal(json_string_value(json_object_get(hdr, "cty")), "JWT");
            else
                assert_null(json_object_get(hdr, "cty"));
            assert_int_equal(decrypt(jwe, ours, 1), 0);
            assert_int_equal(decrypt(jwe, both, 2), 0);
            assert_int_equal(decrypt(jwe, both, 1), -1); /* another key only */
            json_decref(hdr);
            free(raw);
            free(hdr_b64);
            free(jwe);
        }
    }
    sigkey_free(to);
}

/* Two encryptions of the same text differ in every random part: wrapped key, IV,
 * ciphertext and tag (a fresh content key and IV each time). */
static void test_fresh_key_and_iv(void **state)
{
    fixture_t *f = *state;
    sigkey_t *to = public_half(f->enc);

    for (size_t a = 0; a < NALGS; a++) {
        char *one = jwe_encrypt(to, algs[a], NULL, NULL, (const uint8_t *)PLAIN, strlen(PLAIN));
        char *two = jwe_encrypt(to, algs[a], NULL, NULL, (const uint8_t *)PLAIN, strlen(PLAIN));

        assert_non_null(one);
        assert_non_null(two);
        for (int part = 1; part < 5; part++) {
            char *p1 = part_text(one, part), *p2 = part_text(two, part);
            if (strcmp(p1, p2) == 0)
                fail_msg("%s: part %d repeated", algs[a], part);
            free(p1);
            free(p2);
        }
        free(one);
        free(two);
    }
    sigkey_free(to);
}

/* RSA-OAEP-256 really is OAEP with SHA-256 and MGF1-SHA-256 (RFC 7518 §4.3): its wrapped
 * key opens with those parameters to 32 bytes, and not with OAEP's SHA-1 defaults. The
 * RSA-OAEP one is the other way round. */
static void test_oaep_parameters(void **state)
{
    fixture_t *f = *state;
    sigkey_t *to = public_half(f->enc);

    for (size_t a = 0; a < NALGS; a++) {
        char *jwe = jwe_encrypt(to, algs[a], NULL, NULL, (const uint8_t *)PLAIN, strlen(PLAIN));
        char *ek_b64 = part_text(jwe, 1);
        uint8_t *ek = NULL, out[512];
        size_t ek_len = 0;

        assert_int_equal(b64url_decode(ek_b64, 512, &ek, &ek_len), 0);
        assert_int_equal(ek_len, 384); /* RSA 3072 */
        for (int sha256 = 0; sha256 <= 1; sha256++) {
            EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->enc->pkey, NULL);
            size_t out_len = sizeof out;
            int ok;

            assert_non_null(ctx);
            assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
            assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
            if (sha256) {
                assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0);
                assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0);
            }
            ok = EVP_PKEY_decrypt(ctx, out, &out_len, ek, ek_len) == 1 && out_len == 32;
            if (ok != (sha256 == (int)a))
                fail_msg("%s: unwrap with SHA-%s gave %d", algs[a], sha256 ? "256" : "1", ok);
            EVP_PKEY_CTX_free(ctx);
        }
        free(ek);
        free(ek_b64);
        free(jwe);
    }
    sigkey_free(to);
}

/* What jwe_encrypt refuses: unknown algorithm names, no or too much content, no key, a
 * key that is not RSA. */
static void test_encrypt_refusals(void **state)
{
    fixture_t *f = *state;
    sigkey_t *to = public_half(f->enc);
    sigkey_t *ec = sigkey_generate(SIGKEY_ES256);
    uint8_t *big = malloc(JWE_PLAINTEXT_MAX + 1);
    char *jwe;
    sigkey_t *ours[] = {f->enc};

    assert_non_null(ec);
    assert_non_null(big);
    memset(big, 'x', JWE_PLAINTEXT_MAX + 1);
    const char *bad_algs[] = {"RSA1_5", "rsa-oaep-256", "RSA-OAEP-384", "A256KW", "", NULL};
    for (size_t i = 0; i < sizeof bad_algs / sizeof bad_algs[0]; i++)
        assert_null(jwe_encrypt(to, bad_algs[i], NULL, NULL, (const uint8_t *)PLAIN, 5));
    for (size_t a = 0; a < NALGS; a++) {
        assert_null(jwe_encrypt(to, algs[a], NULL, NULL, (const uint8_t *)PLAIN, 0));
        assert_null(jwe_encrypt(to, algs[a], NULL, NULL, NULL, 5));
        assert_null(jwe_encrypt(NULL, algs[a], NULL, NULL, (const uint8_t *)PLAIN, 5));
        assert_null(jwe_encrypt(ec, algs[a], NULL, NULL, (const uint8_t *)PLAIN, 5));
        assert_null(jwe_encrypt(to, algs[a], NULL, NULL, big, JWE_PLAINTEXT_MAX + 1));
        /* The largest content goes, and comes back. */
        big[JWE_PLAINTEXT_MAX - 1] = '\0'; /* not stored: only the length counts */
        jwe = jwe_encrypt(to, algs[a], NULL, NULL, big, JWE_PLAINTEXT_MAX - 1);
        assert_non_null(jwe);
        assert_true(strlen(jwe) <= JWE_MAX_LEN);
        char *plain = NULL;
        assert_int_equal(jwe_decrypt(jwe, ours, 1, &plain), 0);
        assert_int_equal(strlen(plain), JWE_PLAINTEXT_MAX - 1);
        free(plain);
        free(jwe);
        big[JWE_PLAINTEXT_MAX - 1] = 'x';
    }
    free(big);
    sigkey_free(ec);
    sigkey_free(to);
}

/* A header rewritten after encryption is refused: another algorithm name (the AAD and
 * the key unwrapping both change), an added member, another kid of ours. */
static void test_header_rewritten(void **state)
{
    fixture_t *f = *state;
    sigkey_t *to = public_half(f->enc);
    sigkey_t *keys[] = {f->enc};

    for (size_t a = 0; a < NALGS; a++) {
        char *jwe = jwe_encrypt(to, algs[a], NULL, NULL, (const uint8_t *)PLAIN, strlen(PLAIN));
        char json[256];
        const char *rewrites[4];

        snprintf(json, sizeof json, "{\"alg\":\"%s\",\"enc\":\"A256GCM\"}", algs[1 - a]);
        rewrites[0] = json;
        rewrites[1] = a ? "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"x\":1}"
                        : "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"x\":1}";
        rewrites[2] = a ? "{\"enc\":\"A256GCM\",\"alg\":\"RSA-OAEP-256\"}"
                        : "{\"enc\":\"A256GCM\",\"alg\":\"RSA-OAEP\"}";
        rewrites[3] = a ? "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A128GCM\"}"
                        : "{\"alg\":\"RSA-OAEP\",\"enc\":\"A128GCM\"}";
        assert_non_null(jwe);
        assert_int_equal(decrypt(jwe, keys, 1), 0);
        for (size_t r = 0; r < sizeof rewrites / sizeof rewrites[0]; r++) {
            char *bad = with_header(jwe, rewrites[r]);
            if (decrypt(bad, keys, 1) != -1)
                fail_msg("%s: rewritten header %s accepted", algs[a], rewrites[r]);
            free(bad);
        }
        free(jwe);
    }
    sigkey_free(to);
}

/* Parts of the wrong size, empty or oversized, are refused before any key is used. */
static void test_part_sizes(void **state)
{
    fixture_t *f = *state;
    sigkey_t *to = public_half(f->enc);
    sigkey_t *keys[] = {f->enc};
    const struct {
        const char *name;
        int part;
        size_t n;
    } cases[] = {
        {"empty wrapped key", 1, 0},
        {"wrapped key of 513 bytes", 1, 513},
        {"wrapped key of 383 bytes", 1, 383},
        {"IV of 11 bytes", 2, 11},
        {"IV of 13 bytes", 2, 13},
        {"IV empty", 2, 0},
        {"ciphertext empty", 3, 0},
        {"ciphertext over the limit", 3, JWE_PLAINTEXT_MAX + 1},
        {"tag of 15 bytes", 4, 15},
        {"tag of 17 bytes", 4, 17},
        {"tag empty", 4, 0},
        {"header empty", 0, 0},
        {"header over the limit", 0, 1025},
    };

    for (size_t a = 0; a < NALGS; a++) {
        char *jwe = jwe_encrypt(to, algs[a], NULL, NULL, (const uint8_t *)PLAIN, strlen(PLAIN));
        assert_non_null(jwe);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char *bad = with_bytes(jwe, cases[i].part, ' ', cases[i].n);
            if (decrypt(bad, keys, 1) != -1)
                fail_msg("%s, %s: accepted", algs[a], cases[i].name);
            free(bad);
        }
        free(jwe);
    }
    sigkey_free(to);
}

/* Contents that are not a text are refused after decryption: an inner NUL. */
static void test_inner_nul(void **state)
{
    fixture_t *f = *state;
    sigkey_t *to = public_half(f->enc);
    sigkey_t *keys[] = {f->enc};
    static const uint8_t nul[] = {'a', 0, 'b'};

    for (size_t a = 0; a < NALGS; a++) {
        char *jwe = jwe_encrypt(to, algs[a], NULL, NULL, nul, sizeof nul);
        assert_non_null(jwe);
        assert_int_equal(decrypt(jwe, keys, 1), -1);
        free(jwe);
    }
    sigkey_free(to);
}

/* jwe_recipient_key: the first RSA key of use enc whose alg (when present) matches. */
static void test_recipient_key(void **state)
{
    fixture_t *f = *state;
    json_t *enc = sigkey_public_jwk(f->enc), *sig = sigkey_public_jwk(f->sig);
    sigkey_t *ec = sigkey_generate(SIGKEY_ES256);
    json_t *ec_jwk = sigkey_public_jwk(ec);
    json_t *small = NULL;
    EVP_PKEY *pk1024 = EVP_RSA_gen(1024);
    BIGNUM *n = NULL, *e = NULL;
    uint8_t nb[512], eb[8];

    /* A 1024-bit RSA key as a JWK, by hand from its n and e. */
    assert_non_null(pk1024);
    assert_int_equal(EVP_PKEY_get_bn_param(pk1024, "n", &n), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(pk1024, "e", &e), 1);
    int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
    char *n64 = b64url_encode(nb, (size_t)nl), *e64 = b64url_encode(eb, (size_t)el);
    small = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "use", "enc", "kid", "small", "n",
                      n64, "e", e64);
    assert_non_null(small);
    assert_non_null(ec_jwk);
    json_object_set_new(ec_jwk, "use", json_string("enc"));
    json_object_set_new(enc, "kid", json_string("client-enc"));

    const struct {
        const char *name;
        json_t *keys; /* the "keys" array */
        const char *alg;
        const char *want_kid; /* NULL: no key */
    } cases[] = {
        {"enc key without alg, RSA-OAEP", json_pack("[O]", enc), "RSA-OAEP", "client-enc"},
        {"enc key without alg, RSA-OAEP-256", json_pack("[O]", enc), "RSA-OAEP-256", "client-enc"},
        {"signing keys only", json_pack("[O]", sig), "RSA-OAEP", NULL},
        {"an EC key of use enc", json_pack("[O]", ec_jwk), "RSA-OAEP-256", NULL},
        {"a 1024-bit RSA key of use enc", json_pack("[O]", small), "RSA-OAEP", NULL},
        {"the usable one after others", json_pack("[O,O,O,O]", sig, ec_jwk, small, enc),
         "RSA-OAEP-256", "client-enc"},
        {"no keys", json_pack("[]"), "RSA-OAEP", NULL},
        {"unknown alg", json_pack("[O]", enc), "RSA1_5", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *jwks = json_pack("{s:o}", "keys", cases[i].keys);
        const char *kid = "unset";
        sigkey_t *key = jwe_recipient_key(jwks, cases[i].alg, &kid);

        if ((key != NULL) != (cases[i].want_kid != NULL))
            fail_msg("case '%s': %s", cases[i].name, key ? "a key" : "no key");
        if (key) {
            assert_string_equal(kid, cases[i].want_kid);
            sigkey_free(key);
        }
        json_decref(jwks);
    }
    /* A key whose alg names the other algorithm is not used for this one. */
    json_t *pinned = json_deep_copy(enc);
    json_object_set_new(pinned, "alg", json_string("RSA-OAEP"));
    json_t *jwks = json_pack("{s:[O]}", "keys", pinned);
    const char *kid = NULL;
    sigkey_t *key = jwe_recipient_key(jwks, "RSA-OAEP-256", &kid);
    assert_null(key);
    key = jwe_recipient_key(jwks, "RSA-OAEP", &kid);
    assert_non_null(key);
    sigkey_free(key);
    /* Without a kid, *kid is NULL. */
    json_object_del(pinned, "kid");
    key = jwe_recipient_key(jwks, "RSA-OAEP", &kid);
    assert_non_null(key);
    assert_null(kid);
    sigkey_free(key);
    json_decref(jwks);
    json_decref(pinned);

    free(n64);
    free(e64);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(pk1024);
    json_decref(small);
    json_decref(ec_jwk);
    sigkey_free(ec);
    json_decref(enc);
    json_decref(sig);
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
static void malformed(fixture_t *f, char *jwe)
{
    sigkey_t *keys[] = {f->enc};
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

/* The same for a JWE made by cjose and for ours, with either algorithm. */
static void test_malformed(void **state)
{
    fixture_t *f = *state;
    sigkey_t *to = public_half(f->enc);

    malformed(f, encrypt_to(f->enc, "RSA-OAEP", "A256GCM", f->enc->kid, "JWT", NULL));
    for (size_t a = 0; a < NALGS; a++)
        malformed(
            f, jwe_encrypt(to, algs[a], f->enc->kid, "JWT", (const uint8_t *)PLAIN, strlen(PLAIN)));
    sigkey_free(to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_fresh_key_and_iv),
        cmocka_unit_test(test_oaep_parameters),
        cmocka_unit_test(test_encrypt_refusals),
        cmocka_unit_test(test_header_rewritten),
        cmocka_unit_test(test_part_sizes),
        cmocka_unit_test(test_inner_nul),
        cmocka_unit_test(test_recipient_key),
        cmocka_unit_test(test_signing_key_never_decrypts),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
