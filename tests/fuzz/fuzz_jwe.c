/* Fuzzes compact JWE decryption as for request objects encrypted to us: jwe_decrypt of
 * the input against one RSA-OAEP key (made once), and round trips: the input encrypted
 * to that key with RSA-OAEP/A256GCM by cjose, and with RSA-OAEP-256/A256GCM by
 * jwe_encrypt, must decrypt to itself exactly when it is a text (no NUL) of 1 to
 * JWE_PLAINTEXT_MAX bytes. */
#include <cjose/cjose.h>
#include <jansson.h>

#include "crypto/jwe.h"
#include "tests/fuzz/fuzz_util.h"

static sigkey_t *key;
static cjose_jwk_t *pub;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cjose_err err;
    key = sigkey_generate(SIGKEY_RSA_OAEP);
    json_t *jwk = key ? sigkey_public_jwk(key) : NULL;
    char *text = jwk ? json_dumps(jwk, JSON_COMPACT) : NULL;
    pub = text ? cjose_jwk_import(text, strlen(text), &err) : NULL;
    if (!pub)
        abort();
    free(text);
    json_decref(jwk);
    return 0;
}

/* Encrypts data to pub; returns the compact JWE (free()) or NULL. */
static char *encrypt(const uint8_t *data, size_t len)
{
    cjose_err err;
    cjose_header_t *hdr = cjose_header_new(&err);
    cjose_jwe_t *jwe = NULL;
    char *compact = NULL, *out = NULL;

    if (hdr && cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RSA_OAEP, &err) &&
        cjose_header_set(hdr, CJOSE_HDR_ENC, CJOSE_HDR_ENC_A256GCM, &err) &&
        cjose_header_set(hdr, CJOSE_HDR_KID, key->kid, &err))
        jwe = cjose_jwe_encrypt(pub, hdr, data, len, &err);
    if (jwe)
        compact = cjose_jwe_export(jwe, &err);
    if (compact) {
        out = strdup(compact);
        cjose_get_dealloc()(compact);
    }
    if (jwe)
        cjose_jwe_release(jwe);
    if (hdr)
        cjose_header_release(hdr);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    sigkey_t *keys[1] = {key};
    char *plain = NULL;

    if (len > JWE_MAX_LEN + 16)
        return 0;
    char *compact = fuzz_strndup(data, len);
    if (jwe_decrypt(compact, keys, 1, &plain) == 0) {
        FUZZ_CHECK(plain != NULL && strlen(plain) <= JWE_PLAINTEXT_MAX);
        free(plain);
        plain = NULL;
    } else {
        FUZZ_CHECK(plain == NULL);
    }
    free(compact);

    if (len == 0 || len > JWE_PLAINTEXT_MAX + 16)
        return 0;
    char *jwe = encrypt(data, len);
    FUZZ_CHECK(jwe != NULL);
    int want = len <= JWE_PLAINTEXT_MAX && memchr(data, '\0', len) == NULL;
    int rc = jwe_decrypt(jwe, keys, 1, &plain);
    char *jwe256 = jwe_encrypt(key, "RSA-OAEP-256", key->kid, NULL, data, len);
    char *plain256 = NULL;

    /* Ours refuses more than JWE_PLAINTEXT_MAX up front. */
    FUZZ_CHECK((jwe256 != NULL) == (len <= JWE_PLAINTEXT_MAX));
    FUZZ_CHECK((jwe256 && jwe_decrypt(jwe256, keys, 1, &plain256) == 0) == want);
    if (plain256) {
        FUZZ_CHECK(strlen(plain256) == len && memcmp(plain256, data, len) == 0);
        free(plain256);
    }
    free(jwe256);
    /* A 16 KB plaintext gives a compact form within JWE_MAX_LEN. */
    FUZZ_CHECK((rc == 0) == want);
    if (rc == 0) {
        FUZZ_CHECK(strlen(plain) == len && memcmp(plain, data, len) == 0);
        free(plain);
    }
    free(jwe);
    return 0;
}
