/* Unit tests for crypto/seal.c: master key file, subkeys, secretbox round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/seal.h"

typedef struct {
    char dir[64];
    char keydir[128];
    char path[192];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));

    if (f == NULL || sodium_init() < 0) {
        free(f);
        return -1;
    }
    strcpy(f->dir, "/tmp/wp_test_seal_XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->keydir, sizeof(f->keydir), "%s/keys", f->dir);
    snprintf(f->path, sizeof(f->path), "%s/master.key", f->keydir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    unlink(f->path);
    rmdir(f->keydir);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
    FILE *fp;

    unlink(path);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_master_key_file(void **state)
{
    fixture_t *f = *state;
    uint8_t key[SEAL_KEY_BYTES], again[SEAL_KEY_BYTES], zero[SEAL_KEY_BYTES] = {0};
    char err[256] = "";
    char text[80] = "";
    char hex[2 * SEAL_KEY_BYTES + 1];
    struct stat st;
    FILE *fp;

    /* Missing and not allowed to create. */
    assert_int_equal(seal_master_key_load(f->path, 0, key, err, sizeof(err)), -1);
    assert_true(strlen(err) > 0);

    /* Created: folder 0700, file 0600 holding 64 hex chars and a newline. */
    assert_int_equal(seal_master_key_load(f->path, 1, key, err, sizeof(err)), 0);
    assert_memory_not_equal(key, zero, sizeof(key));
    assert_int_equal(stat(f->keydir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    fp = fopen(f->path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(text, sizeof(text), fp));
    fclose(fp);
    sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
    assert_memory_equal(text, hex, 64);
    assert_int_equal(text[64], '\n');

    /* Reloaded, with or without create, equal. */
    assert_int_equal(seal_master_key_load(f->path, 1, again, err, sizeof(err)), 0);
    assert_memory_equal(key, again, sizeof(key));
    memset(again, 0, sizeof(again));
    assert_int_equal(seal_master_key_load(f->path, 0, again, err, sizeof(err)), 0);
    assert_memory_equal(key, again, sizeof(key));

    /* Readable by group or others: refused, key untouched. */
    static const mode_t bad_modes[] = {0644, 0640, 0604, 0660, 0602};
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        assert_int_equal(chmod(f->path, bad_modes[i]), 0);
        memset(again, 0xaa, sizeof(again));
        err[0] = '\0';
        assert_int_equal(seal_master_key_load(f->path, 1, again, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "group or others"));
        for (size_t j = 0; j < sizeof(again); j++)
            assert_int_equal(again[j], 0xaa);
    }
    assert_int_equal(chmod(f->path, 0400), 0);
    assert_int_equal(seal_master_key_load(f->path, 0, again, err, sizeof(err)), 0);
    assert_memory_equal(key, again, sizeof(key));
}

typedef struct {
    const char *content;
    size_t len;
    int ok;
} keyfile_row_t;

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define RAW32                                                                                      \
    "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"                             \
    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"

static const keyfile_row_t keyfile_rows[] = {
    {HEX64, 64, 1},
    {HEX64 "\n", 65, 1},
    {HEX64 "\r\n", 66, 1},
    {RAW32, 32, 1},
    {HEX64 "00", 66, 0},
    {HEX64 "\nzz", 67, 0},
    {"00" HEX64, 66, 0},
    {"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 64, 0},
    {"", 0, 0},
    {"0001", 4, 0},
};

static void test_key_file_formats(void **state)
{
    fixture_t *f = *state;
    uint8_t key[SEAL_KEY_BYTES];
    char err[256];

    assert_int_equal(mkdir(f->keydir, 0700) == 0 || access(f->keydir, F_OK) == 0, 1);
    for (size_t i = 0; i < sizeof(keyfile_rows) / sizeof(keyfile_rows[0]); i++) {
        int rc;

        write_file(f->path, keyfile_rows[i].content, keyfile_rows[i].len, 0600);
        rc = seal_master_key_load(f->path, 0, key, err, sizeof(err));
        if (rc != (keyfile_rows[i].ok ? 0 : -1))
            fail_msg("row %zu: rc %d (%s)", i, rc, err);
        if (keyfile_rows[i].ok)
            assert_memory_equal(key, RAW32, SEAL_KEY_BYTES);
    }
}

static void test_subkey(void **state)
{
    uint8_t master[SEAL_KEY_BYTES], a[SEAL_KEY_BYTES], b[SEAL_KEY_BYTES];
    uint8_t c[SEAL_KEY_BYTES], d[SEAL_KEY_BYTES], e[SEAL_KEY_BYTES];
    (void)state;

    memset(master, 7, sizeof(master));
    seal_subkey(master, 1, "tokenhsh", a);
    seal_subkey(master, 1, "tokenhsh", b);
    seal_subkey(master, 2, "tokenhsh", c);
    seal_subkey(master, 1, "sealkeys", d);
    master[0] ^= 1;
    seal_subkey(master, 1, "tokenhsh", e);
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    assert_memory_not_equal(a, d, sizeof(a));
    assert_memory_not_equal(a, e, sizeof(a));
    assert_memory_not_equal(a, master, sizeof(a));
    /* Shorter contexts are allowed. */
    seal_subkey(master, 1, "pw", c);
}

static void test_round_trip_and_tamper(void **state)
{
    static const char msg[] = "{\"kty\":\"OKP\",\"d\":\"secret\"}";
    uint8_t key[SEAL_KEY_BYTES], other[SEAL_KEY_BYTES];
    uint8_t *box = NULL, *box2 = NULL, *pt = NULL;
    size_t box_len = 0, box2_len = 0, pt_len = 0;
    (void)state;

    crypto_secretbox_keygen(key);
    crypto_secretbox_keygen(other);
    assert_int_equal(seal_encrypt(key, (const uint8_t *)msg, strlen(msg), &box, &box_len), 0);
    assert_int_equal(box_len, strlen(msg) + 40);
    assert_int_equal(seal_decrypt(key, box, box_len, &pt, &pt_len), 0);
    assert_int_equal(pt_len, strlen(msg));
    assert_string_equal((char *)pt, msg); /* NUL-terminated */
    free(pt);

    /* Random nonce: sealing twice gives different boxes. */
    assert_int_equal(seal_encrypt(key, (const uint8_t *)msg, strlen(msg), &box2, &box2_len), 0);
    assert_int_equal(box2_len, box_len);
    assert_memory_not_equal(box, box2, box_len);
    free(box2);

    /* Every flipped bit (nonce, MAC, ciphertext) is detected. */
    for (size_t i = 0; i < box_len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            pt = (uint8_t *)"untouched";
            box[i] ^= (uint8_t)(1u << bit);
            if (seal_decrypt(key, box, box_len, &pt, &pt_len) != -1)
                fail_msg("tampered byte %zu bit %d accepted", i, bit);
            assert_string_equal((char *)pt, "untouched");
            box[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Truncated, too short, wrong key. */
    assert_int_equal(seal_decrypt(key, box, box_len - 1, &pt, &pt_len), -1);
    assert_int_equal(seal_decrypt(key, box, 39, &pt, &pt_len), -1);
    assert_int_equal(seal_decrypt(key, box, 0, &pt, &pt_len), -1);
    assert_int_equal(seal_decrypt(other, box, box_len, &pt, &pt_len), -1);
    free(box);

    /* Empty plaintext is fine. */
    assert_int_equal(seal_encrypt(key, NULL, 0, &box, &box_len), 0);
    assert_int_equal(box_len, 40);
    assert_int_equal(seal_decrypt(key, box, box_len, &pt, &pt_len), 0);
    assert_int_equal(pt_len, 0);
    assert_int_equal(pt[0], 0);
    free(pt);
    free(box);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_master_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_formats, setup, teardown),
        cmocka_unit_test(test_subkey),
        cmocka_unit_test(test_round_trip_and_tamper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
