/* Compact JWE decryption with the provider's RSA-OAEP keys.
 *
 * Everything cjose is handed has been checked first: five parts, each strict base64url
 * of a bounded (or, for the IV and tag of A256GCM, exact) size, and a protected header
 * naming exactly the one algorithm pair we accept. cjose then unwraps the content key
 * with RSA-OAEP (SHA-1, as RFC 7518 §4.3 defines "RSA-OAEP") and decrypts A256GCM. */
#include "crypto/jwe.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b64url.h"

#define JWE_PARTS 5
#define JWE_HEADER_MAX 1024
#define JWE_KEY_MAX 512  /* an RSA 4096 wrapped key */
#define JWE_IV_BYTES 12  /* A256GCM */
#define JWE_TAG_BYTES 16 /* A256GCM */

int jwe_is_compact(const char *compact)
{
    size_t dots = 0;

    if (compact == NULL)
        return 0;
    for (const char *p = strchr(compact, '.'); p != NULL; p = strchr(p + 1, '.'))
        dots++;
    return dots == JWE_PARTS - 1;
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

/* Checks the five parts of compact (whose dots are at dot[0..4)) and returns the
 * protected header as an object (json_decref), or NULL. */
static json_t *check_parts(const char *compact, const char *const dot[JWE_PARTS - 1])
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
    json_t *header = NULL;

    for (size_t i = 0; i < JWE_PARTS; i++) {
        const char *start = i == 0 ? compact : dot[i - 1] + 1;
        const char *end = i == JWE_PARTS - 1 ? start + strlen(start) : dot[i];
        uint8_t *raw = NULL;
        size_t raw_len = 0;

        /* With RSA-OAEP and A256GCM no part is empty (an empty content is refused). */
        if (end == start || part_decode(start, (size_t)(end - start), limits[i].max,
                                        limits[i].exact, &raw, &raw_len) != 0) {
            json_decref(header);
            return NULL;
        }
        if (i == 0) {
            header = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
            if (!json_is_object(header)) {
                json_decref(header);
                free(raw);
                return NULL;
            }
        }
        free(raw);
    }
    return header;
}

/* 1 when the protected header asks for exactly what we support. */
static int header_acceptable(const json_t *header)
{
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *enc = json_string_value(json_object_get(header, "enc"));
    const json_t *cty = json_object_get(header, "cty");
    const json_t *kid = json_object_get(header, "kid");

    /* "RSA-OAEP" only: cjose has no RSA-OAEP-256, and any other name is refused too. */
    if (alg == NULL || strcmp(alg, "RSA-OAEP") != 0)
        return 0;
    if (enc == NULL || strcmp(enc, "A256GCM") != 0)
        return 0;
    if (json_object_get(header, "zip") != NULL || json_object_get(header, "crit") != NULL)
        return 0;
    if (cty != NULL && (!json_is_string(cty) || strcasecmp(json_string_value(cty), "JWT") != 0))
        return 0;
    return kid == NULL || json_is_string(kid);
}

/* Decrypts jwe with key. Returns 0 and *plaintext (NUL-terminated) or -1. */
static int decrypt_with(cjose_jwe_t *jwe, const sigkey_t *key, char **plaintext)
{
    cjose_err err;
    size_t len = 0;
    uint8_t *content = cjose_jwe_decrypt(jwe, key->jwk, &len, &err);
    int rc = -1;

    if (content == NULL)
        return -1;
    /* A text without inner NUL and within bounds, else refused. */
    if (len > 0 && len <= JWE_PLAINTEXT_MAX && memchr(content, '\0', len) == NULL) {
        *plaintext = malloc(len + 1);
        if (*plaintext != NULL) {
            memcpy(*plaintext, content, len);
            (*plaintext)[len] = '\0';
            rc = 0;
        }
    }
    sodium_memzero(content, len);
    cjose_get_dealloc()(content);
    return rc;
}

int jwe_decrypt(const char *compact, sigkey_t *const *keys, size_t nkeys, char **plaintext)
{
    const char *dot[JWE_PARTS - 1];
    const char *kid;
    json_t *header = NULL;
    cjose_jwe_t *jwe = NULL;
    cjose_err err;
    size_t len;
    int rc = -1;

    if (compact == NULL || plaintext == NULL || keys == NULL)
        return -1;
    len = strnlen(compact, JWE_MAX_LEN + 1);
    if (len > JWE_MAX_LEN || !jwe_is_compact(compact))
        return -1;
    dot[0] = strchr(compact, '.');
    for (size_t i = 1; i < JWE_PARTS - 1; i++)
        dot[i] = strchr(dot[i - 1] + 1, '.');
    header = check_parts(compact, dot);
    if (header == NULL || !header_acceptable(header))
        goto out;
    jwe = cjose_jwe_import(compact, len, &err);
    if (jwe == NULL)
        goto out;
    kid = json_string_value(json_object_get(header, "kid"));
    for (size_t i = 0; i < nkeys && rc != 0; i++) {
        const sigkey_t *key = keys[i];

        if (key == NULL || key->alg != SIGKEY_RSA_OAEP || key->jwk == NULL)
            continue;
        if (kid != NULL && strcmp(kid, key->kid) != 0)
            continue;
        rc = decrypt_with(jwe, key, plaintext);
    }

out:
    if (jwe != NULL)
        cjose_jwe_release(jwe);
    json_decref(header);
    return rc;
}
