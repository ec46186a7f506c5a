/* Unit tests for crypto/cose.c: a table of good and malformed COSE keys, and signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/cose.h"
#include "softauthn.c"

enum { E_INT, E_BYTES, E_TEXT };

typedef struct {
    int64_t label;
    int kind;
    int64_t i;
    const uint8_t *b;
    size_t blen;
} ent_t;

/* Builds a CBOR map from entries; extra appends that many 0x00 bytes. */
static uint8_t *build(const ent_t *e, size_t n, size_t extra, size_t *len)
{
    cbor_item_t *map = cbor_new_definite_map(n);
    uint8_t *buf = NULL, *out;
    size_t blen = 0;

    for (size_t k = 0; k < n; k++) {
        cbor_item_t *v = e[k].kind == E_INT     ? sa_int(e[k].i)
                         : e[k].kind == E_BYTES ? cbor_build_bytestring(e[k].b, e[k].blen)
                                                : cbor_build_string("x");
        sa_put(map, sa_int(e[k].label), v);
    }
    assert_int_equal(sa_serialize(map, &buf, &blen), 0);
    out = calloc(1, blen + extra);
    assert_non_null(out);
    memcpy(out, buf, blen);
    free(buf);
    *len = blen + extra;
    return out;
}

static uint8_t ec_x[32], ec_y[32], ec_y_bad[32], ed_x[32], rsa_n[256], rsa_n_small[128];
static const uint8_t rsa_e[] = {0x01, 0x00, 0x01};

/* Fills coordinates from freshly made keys. */
static int setup(void **state)
{
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *rsa1k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    uint8_t pub[65];
    size_t n = sizeof pub, nl;
    uint8_t *b;

    (void)state;
    if (ec == NULL || ed == NULL || rsa == NULL || rsa1k == NULL)
        return -1;
    EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &n);
    memcpy(ec_x, pub + 1, 32);
    memcpy(ec_y, pub + 33, 32);
    memcpy(ec_y_bad, ec_y, 32);
    ec_y_bad[31] ^= 1; /* (x, y^1) is not on the curve */
    n = 32;
    EVP_PKEY_get_raw_public_key(ed, ed_x, &n);
    b = sa_bn(rsa, OSSL_PKEY_PARAM_RSA_N, &nl);
    memcpy(rsa_n, b, sizeof rsa_n);
    free(b);
    b = sa_bn(rsa1k, OSSL_PKEY_PARAM_RSA_N, &nl);
    memcpy(rsa_n_small, b, sizeof rsa_n_small);
    free(b);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa1k);
    return 0;
}

#define I(l, v)                                                                                    \
    {                                                                                              \
        l, E_INT, v, NULL, 0                                                                       \
    }
#define B(l, p, n)                                                                                 \
    {                                                                                              \
        l, E_BYTES, 0, p, n                                                                        \
    }
#define T(l)                                                                                       \
    {                                                                                              \
        l, E_TEXT, 0, NULL, 0                                                                      \
    }

typedef struct {
    const char *name;
    ent_t e[6];
    size_t n;
    size_t extra;
    int want_alg; /* 0: must fail */
} key_row_t;

static const key_row_t rows[] = {
    {"ec2 good", {I(1, 2), I(3, -7), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)}, 5, 0, -7},
    {"okp good", {I(1, 1), I(3, -8), I(-1, 6), B(-2, ed_x, 32)}, 4, 0, -8},
    {"rsa good", {I(1, 3), I(3, -257), B(-1, rsa_n, 256), B(-2, rsa_e, 3)}, 4, 0, -257},
    {"ec2 extra label ignored",
     {I(1, 2), I(3, -7), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32), I(2, 7)},
     6,
     0,
     -7},
    {"ec2 wrong crv", {I(1, 2), I(3, -7), I(-1, 2), B(-2, ec_x, 32), B(-3, ec_y, 32)}, 5, 0, 0},
    {"ec2 not on curve",
     {I(1, 2), I(3, -7), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y_bad, 32)},
     5,
     0,
     0},
    {"ec2 missing y", {I(1, 2), I(3, -7), I(-1, 1), B(-2, ec_x, 32)}, 4, 0, 0},
    {"ec2 missing x", {I(1, 2), I(3, -7), I(-1, 1), B(-3, ec_y, 32)}, 4, 0, 0},
    {"ec2 missing crv", {I(1, 2), I(3, -7), B(-2, ec_x, 32), B(-3, ec_y, 32)}, 4, 0, 0},
    {"ec2 missing alg", {I(1, 2), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)}, 4, 0, 0},
    {"ec2 missing kty", {I(3, -7), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)}, 4, 0, 0},
    {"ec2 short x", {I(1, 2), I(3, -7), I(-1, 1), B(-2, ec_x, 31), B(-3, ec_y, 32)}, 5, 0, 0},
    {"ec2 x as text", {I(1, 2), I(3, -7), I(-1, 1), T(-2), B(-3, ec_y, 32)}, 5, 0, 0},
    {"ec2 kty as text", {T(1), I(3, -7), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)}, 5, 0, 0},
    {"ec2 alg as bytes",
     {I(1, 2), B(3, ec_x, 1), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)},
     5,
     0,
     0},
    {"ec2 with eddsa alg",
     {I(1, 2), I(3, -8), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)},
     5,
     0,
     0},
    {"ec2 es384 alg", {I(1, 2), I(3, -35), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)}, 5, 0, 0},
    {"ec2 trailing byte", {I(1, 2), I(3, -7), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)}, 5, 1, 0},
    {"ec2 duplicate label",
     {I(1, 2), I(3, -7), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32), I(-1, 1)},
     6,
     0,
     0},
    {"okp wrong crv", {I(1, 1), I(3, -8), I(-1, 7), B(-2, ed_x, 32)}, 4, 0, 0},
    {"okp short x", {I(1, 1), I(3, -8), I(-1, 6), B(-2, ed_x, 31)}, 4, 0, 0},
    {"okp missing x", {I(1, 1), I(3, -8), I(-1, 6)}, 3, 0, 0},
    {"rsa 1024 bits", {I(1, 3), I(3, -257), B(-1, rsa_n_small, 128), B(-2, rsa_e, 3)}, 4, 0, 0},
    {"rsa missing e", {I(1, 3), I(3, -257), B(-1, rsa_n, 256)}, 3, 0, 0},
    {"rsa even e", {I(1, 3), I(3, -257), B(-1, rsa_n, 256), B(-2, rsa_e, 2)}, 4, 0, 0},
    {"rsa with ps256 alg", {I(1, 3), I(3, -37), B(-1, rsa_n, 256), B(-2, rsa_e, 3)}, 4, 0, 0},
    {"empty map", {I(0, 0)}, 0, 0, 0},
};

static void test_key_table(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        size_t len;
        uint8_t *cbor = build(rows[r].e, rows[r].n, rows[r].extra, &len);
        EVP_PKEY *pkey = NULL;
        int alg = 12345;
        int rc = cose_key_parse(cbor, len, &alg, &pkey);
        if (rows[r].want_alg != 0) {
            if (rc != 0)
                fail_msg("row %s: refused", rows[r].name);
            assert_int_equal(alg, rows[r].want_alg);
            assert_non_null(pkey);
        } else {
            if (rc != -1)
                fail_msg("row %s: accepted", rows[r].name);
            assert_int_equal(alg, 12345);
            assert_null(pkey);
        }
        EVP_PKEY_free(pkey);
        free(cbor);
    }
}

static void test_not_cbor(void **state)
{
    static const uint8_t not_map[] = {0x83, 0x01, 0x02, 0x03};
    static const uint8_t junk[] = {0xff, 0xff};
    static const uint8_t truncated[] = {0xa5, 0x01, 0x02};
    EVP_PKEY *pkey = NULL;
    int alg = 0;

    (void)state;
    assert_int_equal(cose_key_parse(not_map, sizeof not_map, &alg, &pkey), -1);
    assert_int_equal(cose_key_parse(junk, sizeof junk, &alg, &pkey), -1);
    assert_int_equal(cose_key_parse(truncated, sizeof truncated, &alg, &pkey), -1);
    assert_int_equal(cose_key_parse(junk, 0, &alg, &pkey), -1);
    assert_int_equal(cose_key_alg(not_map, sizeof not_map, &alg), -1);
    assert_null(pkey);
}

static void test_key_alg(void **state)
{
    ent_t e[] = {I(1, 2), I(3, -35), I(-1, 1), B(-2, ec_x, 32), B(-3, ec_y, 32)};
    size_t len;
    uint8_t *cbor = build(e, 5, 0, &len);
    int alg = 0;

    (void)state;
    assert_int_equal(cose_key_alg(cbor, len, &alg), 0);
    assert_int_equal(alg, -35);
    free(cbor);
}

/* Each alg: a good signature verifies; another message, a flipped signature or the wrong
 * alg do not. */
static void test_verify(void **state)
{
    static const int algs[] = {COSE_ALG_ES256, COSE_ALG_EDDSA, COSE_ALG_RS256};
    static const uint8_t msg[] = "authData || clientDataHash";

    (void)state;
    for (size_t a = 0; a < 3; a++) {
        softauthn_t *sa = sa_new(algs[a], 16);
        uint8_t *cbor = NULL, *sig = NULL;
        size_t len = 0, sig_len = 0;
        EVP_PKEY *pkey = NULL;
        int alg = 0;

        assert_non_null(sa);
        assert_int_equal(sa_cose_key(sa->key, algs[a], 0, &cbor, &len), 0);
        assert_int_equal(cose_key_parse(cbor, len, &alg, &pkey), 0);
        assert_int_equal(alg, algs[a]);
        assert_int_equal(sa_sign(sa->key, algs[a], msg, sizeof msg, &sig, &sig_len), 0);
        assert_int_equal(cose_verify(alg, pkey, msg, sizeof msg, sig, sig_len), 1);
        assert_int_equal(cose_verify(alg, pkey, msg, sizeof msg - 1, sig, sig_len), 0);
        assert_int_equal(cose_verify(algs[(a + 1) % 3], pkey, msg, sizeof msg, sig, sig_len), 0);
        assert_int_equal(cose_verify(-35, pkey, msg, sizeof msg, sig, sig_len), 0);
        sig[sig_len / 2] ^= 0x01;
        assert_int_equal(cose_verify(alg, pkey, msg, sizeof msg, sig, sig_len), 0);
        assert_int_equal(cose_verify(alg, pkey, msg, sizeof msg, sig, 0), 0);
        free(sig);
        free(cbor);
        EVP_PKEY_free(pkey);
        sa_free(sa);
    }
}

/* The bounded pre-scan: huge declared counts, deep nesting, indefinite lengths, tags. */
static void test_cbor_load_bounds(void **state)
{
    static const uint8_t huge_map[] = {0xbb, 0, 0, 0, 0x10, 0, 0, 0, 0};
    static const uint8_t huge_inner[] = {0xa1, 0x01, 0x9b, 0x0f, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t count_over_bytes[] = {0x84, 0x01, 0x02, 0x03};
    static const uint8_t indef_map[] = {0xbf, 0x01, 0x02, 0xff};
    static const uint8_t tagged[] = {0xc1, 0x01};
    static const uint8_t trailing[] = {0xa1, 0x01, 0x02, 0x00};
    static const uint8_t empty_in_array[] = {0x82, 0xa0, 0x80, 0x05};
    uint8_t deep[40];
    size_t read = 0;
    cbor_item_t *item;
    EVP_PKEY *pkey = NULL;
    int alg = 0;

    (void)state;
    assert_null(cose_cbor_load(huge_map, sizeof huge_map, &read));
    assert_null(cose_cbor_load(huge_inner, sizeof huge_inner, &read));
    assert_null(cose_cbor_load(count_over_bytes, sizeof count_over_bytes, &read));
    assert_null(cose_cbor_load(indef_map, sizeof indef_map, &read));
    assert_null(cose_cbor_load(tagged, sizeof tagged, &read));
    assert_int_equal(cose_key_parse(huge_map, sizeof huge_map, &alg, &pkey), -1);
    assert_int_equal(cose_key_parse(huge_inner, sizeof huge_inner, &alg, &pkey), -1);

    item = cose_cbor_load(trailing, sizeof trailing, &read);
    assert_non_null(item);
    assert_int_equal(read, 3);
    cbor_decref(&item);
    item = cose_cbor_load(empty_in_array, sizeof empty_in_array, &read);
    assert_non_null(item);
    assert_int_equal(read, 3);
    cbor_decref(&item);

    /* 16 nested arrays are fine, 17 are not. */
    memset(deep, 0x81, sizeof deep);
    deep[16] = 0x01;
    item = cose_cbor_load(deep, 17, &read);
    assert_non_null(item);
    assert_int_equal(read, 17);
    cbor_decref(&item);
    deep[16] = 0x81;
    deep[17] = 0x01;
    assert_null(cose_cbor_load(deep, 18, &read));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_table),        cmocka_unit_test(test_not_cbor),
        cmocka_unit_test(test_key_alg),          cmocka_unit_test(test_verify),
        cmocka_unit_test(test_cbor_load_bounds),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
