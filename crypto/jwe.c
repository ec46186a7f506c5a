/* Compact JWE with RSA keys and A256GCM.
 *
 * Everything is checked before any key is touched: five parts, each strict base64url
 * of a bounded (or, for the IV and tag of A256GCM, exact) size, and a protected header
 * naming one of the two algorithm pairs we accept.
 *
 * "RSA-OAEP" (RFC 7518 §4.3: OAEP with SHA-1 and MGF1-SHA-1) goes through cjose, which
 * unwraps or wraps the content key and does A256GCM. cjose 0.6 has no "RSA-OAEP-256"
 * (OAEP with SHA-256 and MGF1-SHA-256), so that one is assembled here from OpenSSL EVP:
 * EVP_PKEY_encrypt/decrypt with OAEP padding for the 256-bit content key, then
 * AES-256-GCM with a 96-bit IV, a 128-bit tag and the ASCII of the protected header's
 * base64url as additional authenticated data (RFC 7516 §5.1 steps 14-15).
 *
 * No padding oracle: when the wrapped key does not unwrap (or has the wrong size) a
 * random content key takes its place and the GCM step runs anyway, so a bad wrapped key
 * and a bad tag fail at the same point with the same -1 (RFC 7516 §11.5). */
#include "crypto/jwe.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b64url.h"

#define JWE_PARTS 5
#define JWE_HEADER_MAX 1024
#define JWE_KEY_MAX 512  /* an RSA 4096 wrapped key */
#define JWE_CEK_BYTES 32 /* A256GCM */
#define JWE_IV_BYTES 12  /* A256GCM */
#define JWE_TAG_BYTES 16 /* A256GCM */

enum { PART_HEADER, PART_KEY, PART_IV, PART_CIPHERTEXT, PART_TAG };

/* The decoded parts of a compact JWE. */
typedef struct {
    uint8_t *raw[JWE_PARTS]; /* free() */
    size_t len[JWE_PARTS];
    size_t aad_len; /* characters of the protected header's base64url (the AAD) */
    json_t *header; /* json_decref */
} jwe_parts_t;

int jwe_alg_supported(const char *alg)
{
    return alg != NULL && (strcmp(alg, "RSA-OAEP") == 0 || strcmp(alg, "RSA-OAEP-256") == 0);
}

int jwe_is_compact(const char *compact)
{
    size_t dots = 0;

    if (compact == NULL)
        return 0;
    for (const char *p = strchr(compact, '.'); p != NULL; p = strchr(p + 1, '.'))
        dots++;
    return dots == JWE_PARTS - 1;
}

static void parts_free(jwe_parts_t *parts)
{
    for (size_t i = 0; i < JWE_PARTS; i++) {
        free(parts->raw[i]);
        parts->raw[i] = NULL;
    }
    json_decref(parts->header);
    parts->header = NULL;
}

/* Decodes part [s, s + n) as strict base64url of at most max bytes; when exact is not 0
 * the size must be exactly that. Returns 0 and *out (free()) or -1. */
static int part_decode(const char *s, size_t n, size_t max, size_t exact, uint8_t **out,
                       size_t *len)
{
    char *text = strndup(s, n);
    int rc = -1;

    if (text == NULL)
        return -1;
    if (b64url_decode(text, max, out, len) == 0) {
        rc = exact != 0 && *len != exact ? -1 : 0;
        if (rc != 0) {
            free(*out);
            *out = NULL;
        }
    }
    free(text);
    return rc;
}

/* Splits and decodes the five parts of compact (at most JWE_MAX_LEN characters, five
 * parts) into *parts, the header parsed as an object. Returns 0, or -1 with *parts
 * empty. */
static int parts_parse(const char *compact, jwe_parts_t *parts)
{
    static const struct {
        size_t max, exact;
    } limits[JWE_PARTS] = {
        {JWE_HEADER_MAX, 0},
        {JWE_KEY_MAX, 0},
        {JWE_IV_BYTES, JWE_IV_BYTES},
        {JWE_PLAINTEXT_MAX, 0},
        {JWE_TAG_BYTES, JWE_TAG_BYTES},
    };
    const char *start = compact;

    memset(parts, 0, sizeof *parts);
    for (size_t i = 0; i < JWE_PARTS; i++) {
        const char *dot = strchr(start, '.');
        const char *end = dot != NULL ? dot : start + strlen(start);

        /* With RSA-OAEP and A256GCM no part is empty (an empty content is refused). */
        if (end == start || part_decode(start, (size_t)(end - start), limits[i].max,
                                        limits[i].exact, &parts->raw[i], &parts->len[i]) != 0)
            goto fail;
        if (i == PART_HEADER)
            parts->aad_len = (size_t)(end - start);
        start = end + 1;
    }
    parts->header = json_loadb((const char *)parts->raw[PART_HEADER], parts->len[PART_HEADER],
                               JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(parts->header))
        return 0;

fail:
    parts_free(parts);
    return -1;
}

/* 1 when the protected header asks for exactly what we support. */
static int header_acceptable(const json_t *header)
{
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *enc = json_string_value(json_object_get(header, "enc"));
    const json_t *cty = json_object_get(header, "cty");
    const json_t *kid = json_object_get(header, "kid");

    if (!jwe_alg_supported(alg))
        return 0;
    if (enc == NULL || strcmp(enc, "A256GCM") != 0)
        return 0;
    if (json_object_get(header, "zip") != NULL || json_object_get(header, "crit") != NULL)
        return 0;
    if (cty != NULL && (!json_is_string(cty) || strcasecmp(json_string_value(cty), "JWT") != 0))
        return 0;
    return kid == NULL || json_is_string(kid);
}

/* Checks a decrypted content and copies it NUL-terminated into *plaintext. A text
 * without inner NUL and within bounds, else refused. Returns 0 or -1. */
static int plaintext_take(const uint8_t *content, size_t len, char **plaintext)
{
    char *copy;

    if (len == 0 || len > JWE_PLAINTEXT_MAX || memchr(content, '\0', len) != NULL)
        return -1;
    copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, content, len);
    copy[len] = '\0';
    *plaintext = copy;
    return 0;
}

/* Decrypts jwe with key through cjose (RSA-OAEP). Returns 0 and *plaintext or -1. */
static int cjose_decrypt_with(cjose_jwe_t *jwe, const sigkey_t *key, char **plaintext)
{
    cjose_err err;
    size_t len = 0;
    uint8_t *content = cjose_jwe_decrypt(jwe, key->jwk, &len, &err);
    int rc;

    if (content == NULL)
        return -1;
    rc = plaintext_take(content, len, plaintext);
    sodium_memzero(content, len);
    cjose_get_dealloc()(content);
    return rc;
}

/* Sets OAEP padding with SHA-256 and MGF1-SHA-256 (RSA-OAEP-256) on an initialised
 * encrypt or decrypt context. Returns 0 or -1. */
static int oaep256_params(EVP_PKEY_CTX *ctx)
{
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0)
        return -1;
    return 0;
}

/* Unwraps an RSA-OAEP-256 encrypted key with pkey into cek. Returns 0, or -1 when it does
 * not unwrap to exactly JWE_CEK_BYTES (cek then holds random bytes). */
static int oaep256_unwrap(EVP_PKEY *pkey, const uint8_t *ek, size_t ek_len,
                          uint8_t cek[JWE_CEK_BYTES])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    uint8_t buf[JWE_KEY_MAX];
    size_t out_len = sizeof buf;
    int rc = -1;

    /* Random first, so a failure leaves a key that the GCM step will refuse. */
    randombytes_buf(cek, JWE_CEK_BYTES);
    if (ctx != NULL && EVP_PKEY_decrypt_init(ctx) == 1 && oaep256_params(ctx) == 0 &&
        (size_t)EVP_PKEY_get_size(pkey) <= sizeof buf &&
        EVP_PKEY_decrypt(ctx, buf, &out_len, ek, ek_len) == 1 && out_len == JWE_CEK_BYTES) {
        memcpy(cek, buf, JWE_CEK_BYTES);
        rc = 0;
    }
    sodium_memzero(buf, sizeof buf);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* AES-256-GCM: seals (encrypt != 0: in -> out, tag written) or opens (in -> out, tag
 * checked) n bytes with cek, iv and aad. out holds n bytes. Returns 0 or -1. */
static int gcm(int encrypt, const uint8_t cek[JWE_CEK_BYTES], const uint8_t iv[JWE_IV_BYTES],
               const char *aad, size_t aad_len, const uint8_t *in, size_t n, uint8_t *out,
               uint8_t tag[JWE_TAG_BYTES])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, rc = -1;

    if (ctx == NULL || n > INT_MAX || aad_len > INT_MAX)
        goto out;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, JWE_IV_BYTES, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, cek, iv, encrypt) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &len, (const uint8_t *)aad, (int)aad_len) != 1 ||
        EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
        goto out;
    if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, JWE_TAG_BYTES, tag) != 1)
        goto out;
    /* GCM is a stream mode: Final writes nothing, and for opening checks the tag. */
    if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1)
        goto out;
    if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, JWE_TAG_BYTES, tag) != 1)
        goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* Decrypts an RSA-OAEP-256 / A256GCM JWE (its parts, the protected header's base64url at
 * aad) with key. Returns 0 and *plaintext or -1. */
static int oaep256_decrypt_with(const jwe_parts_t *parts, const char *aad, const sigkey_t *key,
                                char **plaintext)
{
    uint8_t cek[JWE_CEK_BYTES];
    size_t n = parts->len[PART_CIPHERTEXT];
    uint8_t *content = malloc(n);
    int rc = -1;

    if (content == NULL)
        return -1;
    /* The unwrap result is deliberately ignored: a failed unwrap leaves a random key. */
    (void)oaep256_unwrap(key->pkey, parts->raw[PART_KEY], parts->len[PART_KEY], cek);
    if (gcm(0, cek, parts->raw[PART_IV], aad, parts->aad_len, parts->raw[PART_CIPHERTEXT], n,
            content, parts->raw[PART_TAG]) == 0)
        rc = plaintext_take(content, n, plaintext);
    sodium_memzero(cek, sizeof cek);
    sodium_memzero(content, n);
    free(content);
    return rc;
}

int jwe_decrypt(const char *compact, sigkey_t *const *keys, size_t nkeys, char **plaintext)
{
    jwe_parts_t parts = {0};
    cjose_jwe_t *jwe = NULL;
    const char *kid, *alg;
    cjose_err err;
    size_t len;
    int rc = -1;

    if (compact == NULL || plaintext == NULL || keys == NULL)
        return -1;
    len = strnlen(compact, JWE_MAX_LEN + 1);
    if (len > JWE_MAX_LEN || !jwe_is_compact(compact))
        return -1;
    if (parts_parse(compact, &parts) != 0)
        return -1;
    if (!header_acceptable(parts.header))
        goto out;
    alg = json_string_value(json_object_get(parts.header, "alg"));
    kid = json_string_value(json_object_get(parts.header, "kid"));
    if (strcmp(alg, "RSA-OAEP") == 0) {
        jwe = cjose_jwe_import(compact, len, &err);
        if (jwe == NULL)
            goto out;
    }
    for (size_t i = 0; i < nkeys && rc != 0; i++) {
        const sigkey_t *key = keys[i];

        if (key == NULL || key->alg != SIGKEY_RSA_OAEP || key->jwk == NULL || key->pkey == NULL)
            continue;
        if (kid != NULL && strcmp(kid, key->kid) != 0)
            continue;
        rc = jwe != NULL ? cjose_decrypt_with(jwe, key, plaintext)
                         : oaep256_decrypt_with(&parts, compact, key, plaintext);
    }

out:
    if (jwe != NULL)
        cjose_jwe_release(jwe);
    parts_free(&parts);
    return rc;
}

/* Encrypts through cjose (RSA-OAEP). Returns the compact JWE (free()) or NULL. */
static char *cjose_encrypt_to(const sigkey_t *to, const char *kid, const char *cty,
                              const uint8_t *plaintext, size_t len)
{
    cjose_header_t *hdr = NULL;
    cjose_jwe_t *jwe = NULL;
    cjose_err err;
    char *compact = NULL, *out = NULL;

    if (to->jwk == NULL)
        return NULL;
    hdr = cjose_header_new(&err);
    if (hdr == NULL || !cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RSA_OAEP, &err) ||
        !cjose_header_set(hdr, CJOSE_HDR_ENC, CJOSE_HDR_ENC_A256GCM, &err) ||
        (cty != NULL && !cjose_header_set(hdr, CJOSE_HDR_CTY, cty, &err)) ||
        (kid != NULL && !cjose_header_set(hdr, CJOSE_HDR_KID, kid, &err)))
        goto out;
    jwe = cjose_jwe_encrypt(to->jwk, hdr, plaintext, len, &err);
    compact = jwe != NULL ? cjose_jwe_export(jwe, &err) : NULL;
    if (compact != NULL)
        out = strdup(compact);

out:
    if (compact != NULL)
        cjose_get_dealloc()(compact);
    if (jwe != NULL)
        cjose_jwe_release(jwe);
    if (hdr != NULL)
        cjose_header_release(hdr);
    return out;
}

/* Wraps cek for pkey with RSA-OAEP-256. Returns 0 and *ek (free()) of *ek_len bytes, or
 * -1. */
static int oaep256_wrap(EVP_PKEY *pkey, const uint8_t cek[JWE_CEK_BYTES], uint8_t **ek,
                        size_t *ek_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = -1;

    if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1 || oaep256_params(ctx) != 0 ||
        EVP_PKEY_encrypt(ctx, NULL, &n, cek, JWE_CEK_BYTES) != 1 || n == 0 || n > JWE_KEY_MAX)
        goto out;
    buf = malloc(n);
    if (buf == NULL || EVP_PKEY_encrypt(ctx, buf, &n, cek, JWE_CEK_BYTES) != 1)
        goto out;
    *ek = buf;
    *ek_len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* Joins the five base64url parts with dots. Returns the compact form (free()) or NULL. */
static char *join_parts(char *const part[JWE_PARTS])
{
    size_t total = JWE_PARTS; /* four dots and the NUL */
    char *out, *p;

    for (size_t i = 0; i < JWE_PARTS; i++) {
        if (part[i] == NULL)
            return NULL;
        total += strlen(part[i]); /* each is bounded: no overflow */
    }
    out = malloc(total);
    if (out == NULL)
        return NULL;
    p = out;
    for (size_t i = 0; i < JWE_PARTS; i++) {
        size_t n = strlen(part[i]);

        memcpy(p, part[i], n);
        p += n;
        *p++ = i + 1 < JWE_PARTS ? '.' : '\0';
    }
    return out;
}

/* Encrypts with RSA-OAEP-256 and A256GCM over OpenSSL EVP. Returns the compact JWE
 * (free()) or NULL. */
static char *oaep256_encrypt_to(const sigkey_t *to, const char *kid, const char *cty,
                                const uint8_t *plaintext, size_t len)
{
    uint8_t cek[JWE_CEK_BYTES], iv[JWE_IV_BYTES], tag[JWE_TAG_BYTES];
    uint8_t *ek = NULL, *ct = NULL;
    size_t ek_len = 0;
    json_t *header = json_pack("{s:s, s:s}", "alg", "RSA-OAEP-256", "enc", "A256GCM");
    char *header_json = NULL, *part[JWE_PARTS] = {0}, *out = NULL;

    randombytes_buf(cek, sizeof cek);
    randombytes_buf(iv, sizeof iv);
    if (header == NULL || (cty != NULL && json_object_set_new(header, "cty", json_string(cty))) ||
        (kid != NULL && json_object_set_new(header, "kid", json_string(kid))))
        goto out;
    header_json = json_dumps(header, JSON_COMPACT);
    if (header_json == NULL || strlen(header_json) > JWE_HEADER_MAX)
        goto out;
    part[PART_HEADER] = b64url_encode((const uint8_t *)header_json, strlen(header_json));
    ct = malloc(len);
    if (part[PART_HEADER] == NULL || ct == NULL || oaep256_wrap(to->pkey, cek, &ek, &ek_len) != 0 ||
        gcm(1, cek, iv, part[PART_HEADER], strlen(part[PART_HEADER]), plaintext, len, ct, tag) != 0)
        goto out;
    part[PART_KEY] = b64url_encode(ek, ek_len);
    part[PART_IV] = b64url_encode(iv, sizeof iv);
    part[PART_CIPHERTEXT] = b64url_encode(ct, len);
    part[PART_TAG] = b64url_encode(tag, sizeof tag);
    out = join_parts(part);

out:
    sodium_memzero(cek, sizeof cek);
    for (size_t i = 0; i < JWE_PARTS; i++)
        free(part[i]);
    free(ek);
    free(ct);
    free(header_json);
    json_decref(header);
    return out;
}

char *jwe_encrypt(const sigkey_t *to, const char *alg, const char *kid, const char *cty,
                  const uint8_t *plaintext, size_t len)
{
    if (to == NULL || to->pkey == NULL || EVP_PKEY_get_base_id(to->pkey) != EVP_PKEY_RSA ||
        !jwe_alg_supported(alg) || plaintext == NULL || len == 0 || len > JWE_PLAINTEXT_MAX)
        return NULL;
    if (strcmp(alg, "RSA-OAEP") == 0)
        return cjose_encrypt_to(to, kid, cty, plaintext, len);
    return oaep256_encrypt_to(to, kid, cty, plaintext, len);
}

sigkey_t *jwe_recipient_key(const json_t *jwks, const char *alg, const char **kid)
{
    const json_t *jwk;
    size_t i;

    if (!jwe_alg_supported(alg) || kid == NULL)
        return NULL;
    json_array_foreach(json_object_get(jwks, "keys"), i, jwk)
    {
        const char *use = json_string_value(json_object_get(jwk, "use"));
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        const char *key_alg = json_string_value(json_object_get(jwk, "alg"));
        sigkey_t *key;

        if (use == NULL || strcmp(use, "enc") != 0 || kty == NULL || strcmp(kty, "RSA") != 0 ||
            (key_alg != NULL && strcmp(key_alg, alg) != 0))
            continue;
        key = sigkey_from_public_jwk(jwk, SIGKEY_RSA_OAEP);
        if (key != NULL) {
            *kid = json_string_value(json_object_get(jwk, "kid"));
            return key;
        }
    }
    return NULL;
}
