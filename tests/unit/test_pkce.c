/* Unit tests for crypto/pkce.c: RFC 7636 Appendix B vector and a table of verifiers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/pkce.h"

/* RFC 7636 Appendix B. */
#define RFC_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

/* 43 and 128 characters of the unreserved set; their challenges were computed with
 * `printf %s VERIFIER | openssl dgst -sha256 -binary | basenc --base64url`. */
#define V43 "abcdefghijklmnopqrstuvwxyz0123456789-._~ABC"
#define V128                                                                                       \
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-._~"                           \
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define V43_CHALLENGE "01ZMlLDptILCmAeK1WZ14Du9xRCvfr-aPWvX7e4Hk4U"
#define V128_CHALLENGE "-M3PRG_yFUX99qiorFlnC0W1egXPkF64JU809TJCnh4"

typedef struct {
    const char *verifier;
    const char *challenge;
    int expect;
} pkce_row_t;

static const pkce_row_t rows[] = {
    {RFC_VERIFIER, RFC_CHALLENGE, 1},
    {V43, V43_CHALLENGE, 1},
    {V128, V128_CHALLENGE, 1},
    /* A different verifier or a changed challenge. */
    {"eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", RFC_CHALLENGE, 0},
    {RFC_VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN", 0},
    {RFC_VERIFIER, "e9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", 0},
    /* Well-formed but unrelated challenge. */
    {RFC_VERIFIER, "E9Melhoa2OwvFrEMTJguCQaoWL5jKRTPWGh8gxyaSqM", 0},
    /* The plain method is not supported: verifier == challenge fails. */
    {RFC_VERIFIER, RFC_VERIFIER, 0},
    /* Too short (42) and too long (129). */
    {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX", RFC_CHALLENGE, 0},
    {V128 "0", RFC_CHALLENGE, 0},
    /* Characters outside [A-Za-z0-9-._~]. */
    {"dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk", RFC_CHALLENGE, 0},
    {"dBjftJeZ4CVP/mB92K27uhbUJU1p1r_wW1gFWFOEjXk", RFC_CHALLENGE, 0},
    {"dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk", RFC_CHALLENGE, 0},
    {"dBjftJeZ4CVP=mB92K27uhbUJU1p1r_wW1gFWFOEjXk", RFC_CHALLENGE, 0},
    {"dBjftJeZ4CVP%mB92K27uhbUJU1p1r_wW1gFWFOEjXk", RFC_CHALLENGE, 0},
    {"dBjftJeZ4CVP\xc3\xa9mB92K27uhbUJU1p1r_wW1gFWFOEjX", RFC_CHALLENGE, 0},
    /* Malformed challenges. */
    {RFC_VERIFIER, RFC_CHALLENGE "=", 0},
    {RFC_VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", 0},
    {RFC_VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", 0},
    {RFC_VERIFIER, "", 0},
    {"", "", 0},
};

static void test_s256_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int got = pkce_s256_check(rows[i].verifier, rows[i].challenge);

        if (got != rows[i].expect)
            fail_msg("row %zu: got %d, want %d", i, got, rows[i].expect);
    }
}

static void test_null_inputs(void **state)
{
    (void)state;
    assert_int_equal(pkce_s256_check(NULL, RFC_CHALLENGE), 0);
    assert_int_equal(pkce_s256_check(RFC_VERIFIER, NULL), 0);
    assert_int_equal(pkce_challenge_valid(NULL), 0);
}

typedef struct {
    const char *challenge;
    int expect;
} challenge_row_t;

static const challenge_row_t challenge_rows[] = {
    {RFC_CHALLENGE, 1},
    {V43_CHALLENGE, 1},
    {V128_CHALLENGE, 1},
    {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", 0},   /* 42 chars */
    {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMA", 0}, /* 44 chars */
    {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=", 0},  /* padding */
    {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", 0},  /* base64, not base64url */
    {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN", 0},  /* non-canonical last char */
    {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSs w-cM", 0},
    {"", 0},
};

static void test_challenge_valid_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(challenge_rows) / sizeof(challenge_rows[0]); i++) {
        int got = pkce_challenge_valid(challenge_rows[i].challenge);

        if (got != challenge_rows[i].expect)
            fail_msg("challenge row %zu (\"%s\"): got %d, want %d", i, challenge_rows[i].challenge,
                     got, challenge_rows[i].expect);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s256_table),
        cmocka_unit_test(test_null_inputs),
        cmocka_unit_test(test_challenge_valid_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
