/* Unit tests for crypto/token.c: random tokens, one-time codes, keyed hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/token.h"

#define ALPHABET "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

/* 1 when s is "XXXX-XXXX" over the code alphabet. */
static int code_well_formed(const char *s)
{
    if (strlen(s) != CODE_LEN || s[4] != '-')
        return 0;
    for (size_t i = 0; i < CODE_LEN; i++) {
        if (i != 4 && (s[i] == '\0' || strchr(ALPHABET, s[i]) == NULL))
            return 0;
    }
    return 1;
}

static void test_code_new_format(void **state)
{
    int seen[256] = {0};
    (void)state;

    for (int i = 0; i < 2000; i++) {
        char code[CODE_LEN + 1];
        char again[CODE_LEN + 1];

        memset(code, 'x', sizeof(code));
        token_code_new(code);
        if (!code_well_formed(code))
            fail_msg("malformed code \"%s\"", code);
        for (size_t j = 0; j < CODE_LEN; j++)
            seen[(unsigned char)code[j]]++;
        /* A fresh code normalises to itself. */
        assert_int_equal(token_code_normalize(code, again), 0);
        assert_string_equal(again, code);
    }
    /* 16000 draws over 31 symbols: every symbol shows up, look-alikes never. */
    for (const char *p = ALPHABET; *p != '\0'; p++)
        assert_true(seen[(unsigned char)*p] > 0);
    for (const char *p = "0O1IL"; *p != '\0'; p++)
        assert_int_equal(seen[(unsigned char)*p], 0);
}

typedef struct {
    const char *in;
    const char *out; /* NULL: must be rejected */
} norm_row_t;

static const norm_row_t norm_rows[] = {
    {"ABCD-EFGH", "ABCD-EFGH"},
    {"abcd-efgh", "ABCD-EFGH"},
    {"AbCd-eFgH", "ABCD-EFGH"},
    {"ABCDEFGH", "ABCD-EFGH"},
    {"abcdefgh", "ABCD-EFGH"},
    {"ABCD EFGH", "ABCD-EFGH"},
    {" AB CD - EF GH ", "ABCD-EFGH"},
    {"A-B-C-D-E-F-G-H", "ABCD-EFGH"},
    {"2345-6789", "2345-6789"},
    {"XYZ2-3WVU", "XYZ2-3WVU"},
    /* Look-alikes are outside the alphabet. */
    {"ABCD-EFG0", NULL},
    {"ABCD-EFGO", NULL},
    {"ABCD-EFG1", NULL},
    {"ABCD-EFGI", NULL},
    {"ABCD-EFGL", NULL},
    {"abcd-efgl", NULL},
    {"abcd-efgo", NULL},
    /* Wrong length. */
    {"ABCD-EFG", NULL},
    {"ABCD-EFGHJ", NULL},
    {"", NULL},
    {"--------", NULL},
    /* Other characters. */
    {"ABCD_EFGH", NULL},
    {"ABCD\tEFGH", NULL},
    {"ABCD.EFGH", NULL},
    {"ABCD-EFG\xc3\xa9", NULL},
};

static void test_code_normalize_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(norm_rows) / sizeof(norm_rows[0]); i++) {
        char out[CODE_LEN + 1] = "";
        int rc = token_code_normalize(norm_rows[i].in, out);

        if (norm_rows[i].out == NULL) {
            if (rc != -1)
                fail_msg("row %zu (\"%s\") accepted as \"%s\"", i, norm_rows[i].in, out);
            continue;
        }
        if (rc != 0)
            fail_msg("row %zu (\"%s\") rejected", i, norm_rows[i].in);
        assert_string_equal(out, norm_rows[i].out);
    }
    assert_int_equal(token_code_normalize(NULL, (char[CODE_LEN + 1]){0}), -1);
}

static void test_random(void **state)
{
    char a[44], b[44], big[90];
    (void)state;

    assert_int_equal(token_random(a, sizeof(a), 32), 0);
    assert_int_equal(token_random(b, sizeof(b), 32), 0);
    assert_int_equal(strlen(a), 43);
    assert_string_not_equal(a, b);
    for (const char *p = a; *p != '\0'; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    assert_int_equal(token_random(a, 43, 32), -1); /* no room for the NUL */
    assert_int_equal(token_random(big, sizeof(big), 64), 0);
    assert_int_equal(strlen(big), 86);
    assert_int_equal(token_random(big, sizeof(big), 65), -1);
    assert_int_equal(token_random(big, sizeof(big), 0), -1);
}

static void test_hash(void **state)
{
    uint8_t k1[TOKEN_HASH_KEY_BYTES], k2[TOKEN_HASH_KEY_BYTES];
    char h[TOKEN_HASH_HEX_LEN + 1], h_same[TOKEN_HASH_HEX_LEN + 1];
    char h_key[TOKEN_HASH_HEX_LEN + 1], h_purpose[TOKEN_HASH_HEX_LEN + 1];
    char h_secret[TOKEN_HASH_HEX_LEN + 1], h_shift[TOKEN_HASH_HEX_LEN + 1];
    (void)state;

    memset(k1, 0x11, sizeof(k1));
    memset(k2, 0x11, sizeof(k2));
    k2[31] = 0x12;
    token_hash(k1, "code", "ABCD-EFGH", h);
    token_hash(k1, "code", "ABCD-EFGH", h_same);
    token_hash(k2, "code", "ABCD-EFGH", h_key);
    token_hash(k1, "session", "ABCD-EFGH", h_purpose);
    token_hash(k1, "code", "ABCD-EFGJ", h_secret);
    /* Domain separation: "cod" || 0 || "eABCD-EFGH" differs from "code" || 0 || ... */
    token_hash(k1, "cod", "eABCD-EFGH", h_shift);

    assert_int_equal(strlen(h), TOKEN_HASH_HEX_LEN);
    for (const char *p = h; *p != '\0'; p++)
        assert_non_null(strchr("0123456789abcdef", *p));
    assert_string_equal(h, h_same);
    assert_string_not_equal(h, h_key);
    assert_string_not_equal(h, h_purpose);
    assert_string_not_equal(h, h_secret);
    assert_string_not_equal(h, h_shift);
}

/* Independent check of the construction: BLAKE2b-256 keyed, over purpose || 0 || secret. */
static void test_hash_construction(void **state)
{
    uint8_t key[TOKEN_HASH_KEY_BYTES];
    uint8_t msg[] = "purpose\0secret";
    uint8_t digest[32];
    char want[TOKEN_HASH_HEX_LEN + 1], got[TOKEN_HASH_HEX_LEN + 1];
    (void)state;

    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
    crypto_generichash_blake2b(digest, sizeof(digest), msg, sizeof(msg) - 1, key, sizeof(key));
    sodium_bin2hex(want, sizeof(want), digest, sizeof(digest));
    token_hash(key, "purpose", "secret", got);
    assert_string_equal(got, want);
}

typedef struct {
    const char *a, *b;
    int equal;
} eq_row_t;

static const eq_row_t eq_rows[] = {
    {"", "", 1},      {"abc", "abc", 1}, {"abc", "abd", 0}, {"abc", "ab", 0},
    {"ab", "abc", 0}, {"abc", "ABC", 0}, {"", "a", 0},
};

static void test_equal_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(eq_rows) / sizeof(eq_rows[0]); i++) {
        if (token_equal(eq_rows[i].a, eq_rows[i].b) != eq_rows[i].equal)
            fail_msg("row %zu (\"%s\" vs \"%s\")", i, eq_rows[i].a, eq_rows[i].b);
    }
    assert_int_equal(token_equal(NULL, "a"), 0);
    assert_int_equal(token_equal("a", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_new_format),
        cmocka_unit_test(test_code_normalize_table),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_hash_construction),
        cmocka_unit_test(test_equal_table),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
