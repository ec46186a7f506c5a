/* Compact JWS/JWT signing and verification with the provider's keys.
 *
 * RS256, PS256 and ES256 go through cjose. EdDSA (Ed25519) goes through OpenSSL EVP
 * because cjose has no EdDSA; the compact form is then assembled here. Verification
 * parses and checks the protected header itself before any signature work: the key is
 * picked by kid and the header alg must be exactly that key's algorithm. */
#include "crypto/jws.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/b64url.h"

#define JWS_MAX_LEN 65536        /* longest compact JWS accepted */
#define JWS_HEADER_MAX 2048      /* decoded protected header */
#define JWS_ED25519_SIG_BYTES 64 /* Ed25519 signature */

/* Signs input (header.payload) with an Ed25519 key. Returns the base64url signature
 * (free()) or NULL. */
static char *eddsa_sign(EVP_PKEY *pkey, const char *input, size_t len)
{
    uint8_t sig[JWS_ED25519_SIG_BYTES];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *enc = NULL;

    if (md == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1 ||
        EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)input, len) != 1 ||
        sig_len != sizeof(sig))
        goto out;
    enc = b64url_encode(sig, sig_len);

out:
    EVP_MD_CTX_free(md);
    return enc;
}

/* Compact EdDSA JWS of payload (a JSON text). Returns it (free()) or NULL. */
static char *jws_sign_eddsa(const sigkey_t *key, const char *typ, const char *payload)
{
    json_t *header = NULL;
    char *header_json = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *result = NULL;
    char *input = NULL;
    size_t hlen, plen, slen;

    header = json_pack("{s:s, s:s}", "alg", "EdDSA", "kid", key->kid);
    if (header == NULL)
        goto out;
    if (typ != NULL && json_object_set_new(header, "typ", json_string(typ)) != 0)
        goto out;
    header_json = json_dumps(header, JSON_COMPACT);
    if (header_json == NULL)
        goto out;
    h64 = b64url_encode((const uint8_t *)header_json, strlen(header_json));
    p64 = b64url_encode((const uint8_t *)payload, strlen(payload));
    if (h64 == NULL || p64 == NULL)
        goto out;
    hlen = strlen(h64);
    plen = strlen(p64);
    /* The signing input: header '.' payload NUL. */
    input = malloc(hlen + 1 + plen + 1);
    if (input == NULL)
        goto out;
    memcpy(input, h64, hlen);
    input[hlen] = '.';
    memcpy(input + hlen + 1, p64, plen + 1);
    s64 = eddsa_sign(key->pkey, input, hlen + 1 + plen);
    if (s64 == NULL)
        goto out;
    slen = strlen(s64);
    result = malloc(hlen + 1 + plen + 1 + slen + 1);
    if (result == NULL)
        goto out;
    memcpy(result, input, hlen + 1 + plen);
    result[hlen + 1 + plen] = '.';
    memcpy(result + hlen + 1 + plen + 1, s64, slen + 1);

out:
    free(input);
    free(s64);
    free(p64);
    free(h64);
    free(header_json);
    json_decref(header);
    return result;
}

/* Compact RS256/PS256/ES256 JWS of payload through cjose. Returns it (free()) or NULL. */
static char *jws_sign_cjose(const sigkey_t *key, const char *typ, const char *payload)
{
    cjose_header_t *header = NULL;
    cjose_jws_t *jws = NULL;
    const char *compact = NULL;
    char *result = NULL;
    cjose_err err;

    if (key->jwk == NULL)
        return NULL;
    header = cjose_header_new(&err);
    if (header == NULL ||
        !cjose_header_set(header, CJOSE_HDR_ALG, sigkey_alg_name(key->alg), &err) ||
        !cjose_header_set(header, CJOSE_HDR_KID, key->kid, &err) ||
        (typ != NULL && !cjose_header_set(header, "typ", typ, &err)))
        goto out;
    jws = cjose_jws_sign(key->jwk, header, (const uint8_t *)payload, strlen(payload), &err);
    if (jws == NULL || !cjose_jws_export(jws, &compact, &err) || compact == NULL)
        goto out;
    result = strdup(compact);

out:
    if (jws != NULL)
        cjose_jws_release(jws);
    if (header != NULL)
        cjose_header_release(header);
    return result;
}

char *jws_sign(const sigkey_t *key, const char *typ, json_t *claims)
{
    char *payload;
    char *result;

    if (key == NULL || key->pkey == NULL || key->alg == SIGKEY_RSA_OAEP || !json_is_object(claims))
        return NULL;
    payload = json_dumps(claims, JSON_COMPACT);
    if (payload == NULL)
        return NULL;
    if (key->alg == SIGKEY_EDDSA)
        result = jws_sign_eddsa(key, typ, payload);
    else
        result = jws_sign_cjose(key, typ, payload);
    free(payload);
    return result;
}

/* Decodes the base64url text [s, s + n) as a JSON object of at most max bytes.
 * Returns it (json_decref) or NULL. */
static json_t *decode_json_part(const char *s, size_t n, size_t max)
{
    char *text = strndup(s, n);
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    json_t *obj = NULL;

    if (text == NULL)
        return NULL;
    if (b64url_decode(text, max, &raw, &raw_len) == 0) {
        obj = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
        if (obj != NULL && !json_is_object(obj)) {
            json_decref(obj);
            obj = NULL;
        }
    }
    free(raw);
    free(text);
    return obj;
}

/* 1 when the header typ equals want, ignoring case and an "application/" prefix
 * (RFC 7515 §4.1.9). */
static int typ_matches(const char *have, const char *want)
{
    static const char prefix[] = "application/";

    if (have == NULL)
        return 0;
    if (strncasecmp(have, prefix, sizeof(prefix) - 1) == 0 && strchr(want, '/') == NULL)
        have += sizeof(prefix) - 1;
    return strcasecmp(have, want) == 0;
}

/* Verifies an EdDSA signature over [compact, compact + input_len) with the base64url
 * signature sig64. Returns 1 when valid. */
static int eddsa_verify(EVP_PKEY *pkey, const char *compact, size_t input_len, const char *sig64)
{
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    EVP_MD_CTX *md = NULL;
    int ok = 0;

    if (b64url_decode(sig64, JWS_ED25519_SIG_BYTES, &sig, &sig_len) != 0 ||
        sig_len != JWS_ED25519_SIG_BYTES)
        goto out;
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) != 1)
        goto out;
    ok = EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)compact, input_len) == 1;

out:
    EVP_MD_CTX_free(md);
    free(sig);
    return ok;
}

/* Verifies an RS256/PS256/ES256 compact JWS with cjose and returns its payload as a
 * NUL-terminated copy (free()) in *payload. Returns 1 when valid. */
static int cjose_verify(const sigkey_t *key, const char *compact, size_t len, char **payload)
{
    cjose_jws_t *jws = NULL;
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    cjose_err err;
    int ok = 0;

    if (key->jwk == NULL)
        return 0;
    jws = cjose_jws_import(compact, len, &err);
    if (jws == NULL || !cjose_jws_verify(jws, key->jwk, &err) ||
        !cjose_jws_get_plaintext(jws, &pt, &pt_len, &err))
        goto out;
    *payload = strndup((const char *)pt, pt_len);
    ok = *payload != NULL && strlen(*payload) == pt_len;
    if (!ok) {
        free(*payload);
        *payload = NULL;
    }

out:
    if (jws != NULL)
        cjose_jws_release(jws);
    return ok;
}

int jws_verify(const char *compact, sigkey_t *const *keys, size_t nkeys, const char *typ,
               json_t **claims)
{
    const char *dot1, *dot2, *alg, *kid;
    const sigkey_t *key = NULL;
    json_t *header = NULL, *payload = NULL;
    char *payload_json = NULL;
    size_t len;
    int rc = -1;

    if (compact == NULL || claims == NULL || keys == NULL)
        return -1;
    len = strnlen(compact, JWS_MAX_LEN + 1);
    if (len > JWS_MAX_LEN)
        return -1;
    dot1 = strchr(compact, '.');
    dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL || dot1 == compact ||
        dot2 == dot1 + 1 || dot2[1] == '\0')
        return -1;
    /* Every part strict base64url before cjose sees it: its decoder aborts on a '=' in
     * the middle of a part. */
    if (!b64url_valid(compact, (size_t)(dot1 - compact)) ||
        !b64url_valid(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
        !b64url_valid(dot2 + 1, len - (size_t)(dot2 + 1 - compact)))
        return -1;

    header = decode_json_part(compact, (size_t)(dot1 - compact), JWS_HEADER_MAX);
    if (header == NULL)
        goto out;
    alg = json_string_value(json_object_get(header, "alg"));
    kid = json_string_value(json_object_get(header, "kid"));
    if (alg == NULL || kid == NULL || json_object_get(header, "crit") != NULL)
        goto out;
    if (typ != NULL && !typ_matches(json_string_value(json_object_get(header, "typ")), typ))
        goto out;
    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i] != NULL && strcmp(keys[i]->kid, kid) == 0) {
            key = keys[i];
            break;
        }
    }
    /* An encryption key never verifies, whatever the header claims. */
    if (key == NULL || key->alg == SIGKEY_RSA_OAEP || strcmp(alg, sigkey_alg_name(key->alg)) != 0)
        goto out;

    if (key->alg == SIGKEY_EDDSA) {
        if (!eddsa_verify(key->pkey, compact, (size_t)(dot2 - compact), dot2 + 1))
            goto out;
        payload = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), JWS_MAX_LEN);
    } else {
        if (!cjose_verify(key, compact, len, &payload_json))
            goto out;
        payload = json_loads(payload_json, JSON_REJECT_DUPLICATES, NULL);
        if (payload != NULL && !json_is_object(payload)) {
            json_decref(payload);
            payload = NULL;
        }
    }
    if (payload == NULL)
        goto out;
    *claims = payload;
    payload = NULL;
    rc = 0;

out:
    free(payload_json);
    json_decref(payload);
    json_decref(header);
    return rc;
}
