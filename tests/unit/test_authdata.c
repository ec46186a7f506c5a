/* Unit tests for idp/webauthn_authdata.c: a table of good and malformed authenticator
 * data built from parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idp/webauthn.h"

#define MAXBUF 2200

static const uint8_t cose_key[] = {0xa1, 0x01, 0x02};      /* {1: 2} */
static const uint8_t ext_map[] = {0xa1, 0x61, 0x61, 0xf5}; /* {"a": true} */
static const uint8_t not_map[] = {0x82, 0x01, 0x02};       /* [1, 2] */
static const uint8_t bad_cbor[] = {0xa2, 0x01};            /* map cut short */
static const uint8_t huge_map[] = {0xbb, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

typedef struct {
    const char *name;
    uint8_t flags;
    int attested;       /* write attested credential data */
    size_t cred_len;    /* credential id length */
    const uint8_t *key; /* CBOR after the credential id */
    size_t key_len;
    const uint8_t *ext; /* CBOR after that */
    size_t ext_len;
    size_t trailing; /* extra zero bytes */
    size_t cut;      /* bytes removed from the end */
    int ok;
} ad_row_t;

#define UP 0x01
#define UV 0x04
#define AT 0x40
#define ED 0x80

static const ad_row_t rows[] = {
    {"minimal", UP | UV, 0, 0, NULL, 0, NULL, 0, 0, 0, 1},
    {"attested", UP | UV | AT, 1, 16, cose_key, 3, NULL, 0, 0, 0, 1},
    {"attested + ext", UP | AT | ED, 1, 16, cose_key, 3, ext_map, 4, 0, 0, 1},
    {"ext only", UP | ED, 0, 0, NULL, 0, ext_map, 4, 0, 0, 1},
    {"cred id 1023", UP | AT, 1, 1023, cose_key, 3, NULL, 0, 0, 0, 1},
    {"cred id 1024", UP | AT, 1, 1024, cose_key, 3, NULL, 0, 0, 0, 0},
    {"cred id 0", UP | AT, 1, 0, cose_key, 3, NULL, 0, 0, 0, 0},
    {"empty", UP, 0, 0, NULL, 0, NULL, 0, 0, 37, 0},
    {"cut in rpIdHash", UP, 0, 0, NULL, 0, NULL, 0, 0, 6, 0},
    {"cut before flags", UP, 0, 0, NULL, 0, NULL, 0, 0, 5, 0},
    {"cut in counter", UP, 0, 0, NULL, 0, NULL, 0, 0, 1, 0},
    {"cut in aaguid", UP | AT, 1, 16, cose_key, 3, NULL, 0, 0, 3 + 16 + 2 + 8, 0},
    {"cut in id length", UP | AT, 1, 16, cose_key, 3, NULL, 0, 0, 3 + 16 + 1, 0},
    {"cut in id", UP | AT, 1, 16, cose_key, 3, NULL, 0, 0, 3 + 5, 0},
    {"cut in key", UP | AT, 1, 16, cose_key, 3, NULL, 0, 0, 1, 0},
    {"cut in ext", UP | ED, 0, 0, NULL, 0, ext_map, 4, 0, 1, 0},
    {"AT without data", UP | AT, 0, 0, NULL, 0, NULL, 0, 0, 0, 0},
    {"data without AT", UP, 1, 16, cose_key, 3, NULL, 0, 0, 0, 0},
    {"ED without ext", UP | ED, 0, 0, NULL, 0, NULL, 0, 0, 0, 0},
    {"ext without ED", UP, 0, 0, NULL, 0, ext_map, 4, 0, 0, 0},
    {"ext not a map", UP | ED, 0, 0, NULL, 0, not_map, 3, 0, 0, 0},
    {"key not a map", UP | AT, 1, 16, not_map, 3, NULL, 0, 0, 0, 0},
    {"key bad cbor", UP | AT, 1, 16, bad_cbor, 2, NULL, 0, 0, 0, 0},
    {"key declares 2^60 pairs", UP | AT, 1, 16, huge_map, 9, NULL, 0, 0, 0, 0},
    {"ext declares 2^60 pairs", UP | ED, 0, 0, NULL, 0, huge_map, 9, 0, 0, 0},
    {"key missing", UP | AT, 1, 16, NULL, 0, NULL, 0, 0, 0, 0},
    {"trailing byte", UP | UV, 0, 0, NULL, 0, NULL, 0, 1, 0, 0},
    {"trailing after key", UP | AT, 1, 16, cose_key, 3, NULL, 0, 1, 0, 0},
    {"trailing after ext", UP | ED, 0, 0, NULL, 0, ext_map, 4, 2, 0, 0},
};

static size_t compose(const ad_row_t *r, uint8_t *buf)
{
    size_t n = 0;

    for (int i = 0; i < 32; i++)
        buf[n++] = (uint8_t)(0xa0 + i);
    buf[n++] = r->flags;
    buf[n++] = 0x00;
    buf[n++] = 0x00;
    buf[n++] = 0x01;
    buf[n++] = 0x02;
    if (r->attested) {
        for (int i = 0; i < 16; i++)
            buf[n++] = (uint8_t)(0x10 + i);
        buf[n++] = (uint8_t)(r->cred_len >> 8);
        buf[n++] = (uint8_t)r->cred_len;
        memset(buf + n, 0x5a, r->cred_len);
        n += r->cred_len;
        if (r->key_len > 0)
            memcpy(buf + n, r->key, r->key_len);
        n += r->key_len;
    }
    if (r->ext_len > 0)
        memcpy(buf + n, r->ext, r->ext_len);
    n += r->ext_len;
    memset(buf + n, 0, r->trailing);
    n += r->trailing;
    return n - r->cut;
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const ad_row_t *r = &rows[i];
        uint8_t *buf = malloc(MAXBUF);
        size_t n;
        webauthn_authdata_t ad;
        wp_err_t rc;

        assert_non_null(buf);
        n = compose(r, buf);
        /* Copy to an exact-size buffer so ASan sees any over-read. */
        uint8_t *exact = malloc(n ? n : 1);
        assert_non_null(exact);
        memcpy(exact, buf, n);
        memset(&ad, 0x77, sizeof ad);
        rc = webauthn_authdata_parse(exact, n, &ad);
        if (r->ok) {
            if (rc != WP_OK)
                fail_msg("row %s: refused", r->name);
            assert_ptr_equal(ad.rp_id_hash, exact);
            assert_int_equal(ad.flags, r->flags);
            assert_int_equal(ad.sign_count, 0x0102);
            if (r->attested) {
                assert_ptr_equal(ad.aaguid, exact + 37);
                assert_int_equal(ad.cred_id_len, r->cred_len);
                assert_ptr_equal(ad.cred_id, exact + 55);
                assert_ptr_equal(ad.cose_key, exact + 55 + r->cred_len);
                assert_int_equal(ad.cose_key_len, r->key_len);
            } else {
                assert_null(ad.cred_id);
                assert_null(ad.cose_key);
            }
        } else {
            if (rc != WP_ERR_INVALID)
                fail_msg("row %s: accepted", r->name);
            assert_int_equal(ad.flags, 0x77); /* out untouched */
        }
        free(exact);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
