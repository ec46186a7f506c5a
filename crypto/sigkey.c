/* Signing keys of the provider: generation, private serialisation, public JWK, kid.
 *
 * RSA and P-256 keys live twice: as a cjose JWK (for cjose_jws_sign/verify) and as an
 * OpenSSL EVP_PKEY built from the same JWK members with EVP_PKEY_fromdata. Ed25519 keys
 * (cjose has no EdDSA) live only as an EVP_PKEY. Every key is checked on load: members
 * of the right size, the private and public halves belong together. */
#include "crypto/sigkey.h"

#include <oauth2/jose.h>
#include <oauth2/mem.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"

#define SIGKEY_RSA_BITS 3072
#define SIGKEY_RSA_MIN_BITS 2048
#define SIGKEY_RSA_MAX_BYTES 512 /* 4096-bit modulus */
#define SIGKEY_EC_COORD_BYTES 32 /* P-256 */
#define SIGKEY_ED25519_BYTES 32
#define SIGKEY_JSON_MAX 16384 /* a private RSA 4096 JWK is about 3.3 KB */

/* The signature algorithms, then the one encryption algorithm (sigkey_alg_parse stops
 * before it). */
static const char *const alg_names[] = {
    [SIGKEY_RS256] = "RS256",       /* RSASSA-PKCS1-v1_5 */
    [SIGKEY_PS256] = "PS256",       /* RSASSA-PSS */
    [SIGKEY_ES256] = "ES256",       /* ECDSA P-256 */
    [SIGKEY_EDDSA] = "EdDSA",       /* Ed25519 */
    [SIGKEY_RSA_OAEP] = "RSA-OAEP", /* decryption only */
};

/* Looks name up among the first n entries of alg_names. Returns 0 or -1. */
static int alg_lookup(const char *name, size_t n, sigkey_alg_t *out)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(name, alg_names[i]) == 0) {
            *out = (sigkey_alg_t)i;
            return 0;
        }
    }
    return -1;
}

int sigkey_alg_parse(const char *name, sigkey_alg_t *out)
{
    return alg_lookup(name, SIGKEY_RSA_OAEP, out); /* the signature algorithms come first */
}

int sigkey_alg_parse_any(const char *name, sigkey_alg_t *out)
{
    return alg_lookup(name, sizeof(alg_names) / sizeof(alg_names[0]), out);
}

const char *sigkey_alg_name(sigkey_alg_t alg)
{
    if ((size_t)alg >= sizeof(alg_names) / sizeof(alg_names[0]))
        return "none";
    return alg_names[alg];
}

/* The JWK "kty" an algorithm needs. */
static const char *sigkey_kty(sigkey_alg_t alg)
{
    switch (alg) {
    case SIGKEY_RS256:
    case SIGKEY_PS256:
    case SIGKEY_RSA_OAEP:
        return "RSA";
    case SIGKEY_ES256:
        return "EC";
    case SIGKEY_EDDSA:
        return "OKP";
    }
    return "";
}

/* Decodes the base64url member name of jwk, at most max bytes. Returns 0 and *out
 * (free with free(), after sodium_memzero when secret) or -1. */
static int jwk_bytes(const json_t *jwk, const char *name, size_t max, uint8_t **out, size_t *len)
{
    const char *s = json_string_value(json_object_get(jwk, name));

    if (s == NULL || *s == '\0')
        return -1;
    return b64url_decode(s, max, out, len);
}

/* Reads a big-endian unsigned integer member as a BIGNUM (secure memory when secret).
 * Returns it (BN_clear_free) or NULL. */
static BIGNUM *jwk_bn(const json_t *jwk, const char *name, size_t max, int secret)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    BIGNUM *bn = NULL;

    if (jwk_bytes(jwk, name, max, &buf, &len) != 0)
        return NULL;
    bn = secret ? BN_secure_new() : BN_new();
    if (bn != NULL && BN_bin2bn(buf, (int)len, bn) == NULL) {
        BN_clear_free(bn);
        bn = NULL;
    }
    sodium_memzero(buf, len);
    free(buf);
    return bn;
}

/* Builds an EVP_PKEY of type name from the parameters in bld (a key pair when priv,
 * else a public key). Returns it (EVP_PKEY_free) or NULL. */
static EVP_PKEY *pkey_fromdata(const char *name, OSSL_PARAM_BLD *bld, int priv)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1)
        goto out;
    if (EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;

out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* RSA key from the JWK members n, e (and d, p, q, dp, dq, qi when priv). */
static EVP_PKEY *pkey_from_rsa_jwk(const json_t *jwk, int priv)
{
    static const struct {
        const char *member;
        const char *param;
    } secret[] = {
        {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    };
    BIGNUM *bn[2 + sizeof(secret) / sizeof(secret[0])] = {NULL};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    size_t nbn = 0;

    if (bld == NULL)
        goto out;
    bn[nbn] = jwk_bn(jwk, "n", SIGKEY_RSA_MAX_BYTES, 0);
    if (bn[nbn] == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn[nbn]))
        goto out;
    nbn++;
    bn[nbn] = jwk_bn(jwk, "e", 8, 0);
    if (bn[nbn] == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn[nbn]))
        goto out;
    nbn++;
    for (size_t i = 0; priv && i < sizeof(secret) / sizeof(secret[0]); i++) {
        bn[nbn] = jwk_bn(jwk, secret[i].member, SIGKEY_RSA_MAX_BYTES, 1);
        if (bn[nbn] == NULL || !OSSL_PARAM_BLD_push_BN(bld, secret[i].param, bn[nbn]))
            goto out;
        nbn++;
    }
    pkey = pkey_fromdata("RSA", bld, priv);
    if (pkey != NULL && (EVP_PKEY_get_bits(pkey) < SIGKEY_RSA_MIN_BITS)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

out:
    for (size_t i = 0; i < sizeof(bn) / sizeof(bn[0]); i++)
        BN_clear_free(bn[i]);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* Decodes a P-256 coordinate or scalar member into exactly 32 bytes (left-padded).
 * Returns 0 or -1. */
static int jwk_fixed32(const json_t *jwk, const char *name, uint8_t out[SIGKEY_EC_COORD_BYTES])
{
    uint8_t *buf = NULL;
    size_t len = 0;

    if (jwk_bytes(jwk, name, SIGKEY_EC_COORD_BYTES, &buf, &len) != 0)
        return -1;
    memset(out, 0, SIGKEY_EC_COORD_BYTES - len);
    memcpy(out + SIGKEY_EC_COORD_BYTES - len, buf, len);
    sodium_memzero(buf, len);
    free(buf);
    return 0;
}

/* P-256 key from the JWK members crv, x, y (and d when priv). The point is checked to
 * be on the curve by OpenSSL while importing. */
static EVP_PKEY *pkey_from_ec_jwk(const json_t *jwk, int priv)
{
    uint8_t point[1 + 2 * SIGKEY_EC_COORD_BYTES];
    OSSL_PARAM_BLD *bld = NULL;
    BIGNUM *d = NULL;
    EVP_PKEY *pkey = NULL;
    const char *crv = json_string_value(json_object_get(jwk, "crv"));

    if (crv == NULL || strcmp(crv, "P-256") != 0)
        goto out;
    point[0] = 0x04; /* uncompressed */
    if (jwk_fixed32(jwk, "x", point + 1) != 0 ||
        jwk_fixed32(jwk, "y", point + 1 + SIGKEY_EC_COORD_BYTES) != 0)
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
        goto out;
    if (priv) {
        d = jwk_bn(jwk, "d", SIGKEY_EC_COORD_BYTES, 1);
        if (d == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
            goto out;
    }
    pkey = pkey_fromdata("EC", bld, priv);

out:
    BN_clear_free(d);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* Ed25519 key from the JWK members crv, x (and d when priv); with d, x must be the
 * public key that belongs to d. */
static EVP_PKEY *pkey_from_okp_jwk(const json_t *jwk, int priv)
{
    uint8_t *x = NULL, *d = NULL;
    size_t x_len = 0, d_len = 0;
    uint8_t derived[SIGKEY_ED25519_BYTES];
    size_t derived_len = sizeof(derived);
    EVP_PKEY *pkey = NULL;
    const char *crv = json_string_value(json_object_get(jwk, "crv"));

    if (crv == NULL || strcmp(crv, "Ed25519") != 0)
        goto out;
    if (jwk_bytes(jwk, "x", SIGKEY_ED25519_BYTES, &x, &x_len) != 0 || x_len != SIGKEY_ED25519_BYTES)
        goto out;
    if (!priv) {
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, x_len);
        goto out;
    }
    if (jwk_bytes(jwk, "d", SIGKEY_ED25519_BYTES, &d, &d_len) != 0 || d_len != SIGKEY_ED25519_BYTES)
        goto out;
    pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, d, d_len);
    if (pkey == NULL)
        goto out;
    if (EVP_PKEY_get_raw_public_key(pkey, derived, &derived_len) != 1 || derived_len != x_len ||
        memcmp(derived, x, x_len) != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

out:
    if (d != NULL) {
        sodium_memzero(d, d_len);
        free(d);
    }
    free(x);
    return pkey;
}

/* Checks that a key pair's halves belong together. Returns 1 when they do. */
static int pkey_pair_ok(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_pairwise_check(ctx) == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* A new object with only the public members of jwk (by its kty), or NULL. */
static json_t *jwk_public_members(const json_t *jwk)
{
    static const char *const rsa[] = {"kty", "n", "e", NULL};
    static const char *const ec[] = {"kty", "crv", "x", "y", NULL};
    static const char *const okp[] = {"kty", "crv", "x", NULL};
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *const *names;
    json_t *pub;

    if (kty == NULL)
        return NULL;
    if (strcmp(kty, "RSA") == 0)
        names = rsa;
    else if (strcmp(kty, "EC") == 0)
        names = ec;
    else if (strcmp(kty, "OKP") == 0)
        names = okp;
    else
        return NULL;
    pub = json_object();
    if (pub == NULL)
        return NULL;
    for (size_t i = 0; names[i] != NULL; i++) {
        json_t *v = json_object_get(jwk, names[i]);
        uint8_t *bytes = NULL;
        size_t n = 0;

        /* Key members must be strict base64url: cjose asserts (aborts) on some
         * malformed base64 (tests/fuzz/regressions/fuzz_jws). */
        if (i > 0 && strcmp(names[i], "crv") != 0 && json_is_string(v)) {
            if (b64url_decode(json_string_value(v), 1024, &bytes, &n) != 0)
                v = NULL;
            free(bytes);
        }
        if (!json_is_string(v) || json_object_set(pub, names[i], v) != 0) {
            json_decref(pub);
            return NULL;
        }
    }
    return pub;
}

/* Thumbprint of an OKP key: SHA-256 over {"crv","kty","x"} in lexicographic order
 * without whitespace. Returns 0 and *out (free()) or -1. */
static int okp_thumbprint(const json_t *pub, uint8_t **out, size_t *out_len)
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    char *canon = json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = -1;

    if (canon == NULL)
        return -1;
    if (EVP_Digest(canon, strlen(canon), digest, &digest_len, EVP_sha256(), NULL) != 1)
        goto out;
    *out = malloc(digest_len);
    if (*out == NULL)
        goto out;
    memcpy(*out, digest, digest_len);
    *out_len = digest_len;
    rc = 0;

out:
    free(canon);
    return rc;
}

int sigkey_thumbprint(const json_t *jwk, char kid[SIGKEY_KID_MAX])
{
    json_t *pub = jwk_public_members(jwk);
    cjose_jwk_t *cj = NULL;
    cjose_err err;
    unsigned char *hash = NULL;
    unsigned int hash_len = 0;
    uint8_t *okp_hash = NULL;
    size_t okp_len = 0;
    char *enc = NULL;
    size_t enc_len = 0;
    int rc = -1;

    if (pub == NULL)
        goto out;
    if (strcmp(json_string_value(json_object_get(pub, "kty")), "OKP") == 0) {
        if (okp_thumbprint(pub, &okp_hash, &okp_len) != 0)
            goto out;
        enc = b64url_encode(okp_hash, okp_len);
    } else {
        /* RSA and EC: liboauth2 builds the canonical members and hashes them. */
        cj = cjose_jwk_import_json((cjose_header_t *)pub, &err);
        if (cj == NULL || !oauth2_jose_jwk_thumbprint(NULL, cj, &hash, &hash_len) || hash_len != 32)
            goto out;
        enc = b64url_encode(hash, hash_len);
    }
    if (enc == NULL)
        goto out;
    enc_len = strlen(enc);
    if (enc_len >= SIGKEY_KID_MAX)
        goto out;
    memcpy(kid, enc, enc_len + 1);
    rc = 0;

out:
    free(enc);
    free(okp_hash);
    if (hash != NULL)
        oauth2_mem_free(hash);
    if (cj != NULL)
        cjose_jwk_release(cj);
    json_decref(pub);
    return rc;
}

/* Makes a key from a private JWK object whose kty suits alg: imports it into cjose
 * (RSA, EC) and OpenSSL, checks the pair, computes the kid. Returns the key or NULL;
 * jwk stays the caller's. */
static sigkey_t *sigkey_from_jwk(const json_t *jwk, sigkey_alg_t alg)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    sigkey_t *key = NULL;
    cjose_err err;
    int ok = 0;

    if (!json_is_object(jwk) || kty == NULL || strcmp(kty, sigkey_kty(alg)) != 0 ||
        !json_is_string(json_object_get(jwk, "d")))
        return NULL;
    key = calloc(1, sizeof(*key));
    if (key == NULL)
        return NULL;
    key->alg = alg;
    switch (alg) {
    case SIGKEY_RS256:
    case SIGKEY_PS256:
    case SIGKEY_RSA_OAEP:
        key->pkey = pkey_from_rsa_jwk(jwk, 1);
        break;
    case SIGKEY_ES256:
        key->pkey = pkey_from_ec_jwk(jwk, 1);
        break;
    case SIGKEY_EDDSA:
        key->pkey = pkey_from_okp_jwk(jwk, 1);
        break;
    }
    if (key->pkey == NULL)
        goto out;
    if (alg != SIGKEY_EDDSA) {
        if (!pkey_pair_ok(key->pkey))
            goto out;
        key->jwk = cjose_jwk_import_json((cjose_header_t *)jwk, &err);
        if (key->jwk == NULL)
            goto out;
    }
    if (sigkey_thumbprint(jwk, key->kid) != 0)
        goto out;
    ok = 1;

out:
    if (!ok) {
        sigkey_free(key);
        key = NULL;
    }
    return key;
}

/* Sets member name of obj to the base64url text of n bytes. Returns 0 or -1. */
static int json_set_b64(json_t *obj, const char *name, const uint8_t *buf, size_t n)
{
    char *enc = b64url_encode(buf, n);
    int rc = -1;

    if (enc != NULL)
        rc = json_object_set_new(obj, name, json_string(enc));
    if (enc != NULL) {
        sodium_memzero(enc, strlen(enc));
        free(enc);
    }
    return rc;
}

/* The private JWK of a cjose key as a jansson object (json_decref), or NULL. */
static json_t *cjose_private_object(const cjose_jwk_t *jwk)
{
    cjose_err err;
    char *s = cjose_jwk_to_json(jwk, true, &err);
    json_t *obj;

    if (s == NULL)
        return NULL;
    obj = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
    sodium_memzero(s, strlen(s));
    cjose_get_dealloc()(s);
    return obj;
}

/* The private OKP JWK of an Ed25519 key (json_decref), or NULL. */
static json_t *okp_private_object(EVP_PKEY *pkey)
{
    uint8_t x[SIGKEY_ED25519_BYTES], d[SIGKEY_ED25519_BYTES];
    size_t x_len = sizeof(x), d_len = sizeof(d);
    json_t *obj = json_pack("{s:s, s:s}", "kty", "OKP", "crv", "Ed25519");

    if (obj == NULL || EVP_PKEY_get_raw_public_key(pkey, x, &x_len) != 1 ||
        EVP_PKEY_get_raw_private_key(pkey, d, &d_len) != 1 || json_set_b64(obj, "x", x, x_len) ||
        json_set_b64(obj, "d", d, d_len)) {
        json_decref(obj);
        obj = NULL;
    }
    sodium_memzero(d, sizeof(d));
    return obj;
}

sigkey_t *sigkey_generate(sigkey_alg_t alg)
{
    static const uint8_t e65537[] = {0x01, 0x00, 0x01};
    cjose_jwk_t *cj = NULL;
    EVP_PKEY *ed = NULL;
    json_t *priv = NULL;
    sigkey_t *key = NULL;
    cjose_err err;

    switch (alg) {
    case SIGKEY_RS256:
    case SIGKEY_PS256:
    case SIGKEY_RSA_OAEP:
        cj = cjose_jwk_create_RSA_random(SIGKEY_RSA_BITS, e65537, sizeof(e65537), &err);
        break;
    case SIGKEY_ES256:
        cj = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
        break;
    case SIGKEY_EDDSA:
        ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    default:
        return NULL;
    }
    if (cj != NULL)
        priv = cjose_private_object(cj);
    else if (ed != NULL)
        priv = okp_private_object(ed);
    if (priv != NULL)
        key = sigkey_from_jwk(priv, alg);

    json_decref(priv);
    if (cj != NULL)
        cjose_jwk_release(cj);
    EVP_PKEY_free(ed);
    return key;
}

char *sigkey_private_json(const sigkey_t *key)
{
    json_t *obj = NULL;
    char *s;

    if (key == NULL)
        return NULL;
    if (key->alg == SIGKEY_EDDSA)
        obj = okp_private_object(key->pkey);
    else
        obj = cjose_private_object(key->jwk);
    if (obj == NULL)
        return NULL;
    s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    return s;
}

sigkey_t *sigkey_from_private_json(const char *json, sigkey_alg_t alg)
{
    json_t *obj;
    sigkey_t *key;

    if (json == NULL || strnlen(json, SIGKEY_JSON_MAX + 1) > SIGKEY_JSON_MAX)
        return NULL;
    obj = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    if (obj == NULL)
        return NULL;
    key = sigkey_from_jwk(obj, alg);
    json_decref(obj);
    return key;
}

/* The public members of key as a new object (json_decref), or NULL. */
static json_t *sigkey_public_members(const sigkey_t *key)
{
    uint8_t x[SIGKEY_ED25519_BYTES];
    size_t x_len = sizeof(x);
    cjose_err err;
    json_t *all, *pub;
    char *s;

    if (key->alg == SIGKEY_EDDSA) {
        pub = json_pack("{s:s, s:s}", "kty", "OKP", "crv", "Ed25519");
        if (pub == NULL || EVP_PKEY_get_raw_public_key(key->pkey, x, &x_len) != 1 ||
            json_set_b64(pub, "x", x, x_len) != 0) {
            json_decref(pub);
            return NULL;
        }
        return pub;
    }
    s = cjose_jwk_to_json(key->jwk, false, &err);
    if (s == NULL)
        return NULL;
    all = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
    cjose_get_dealloc()(s);
    pub = all != NULL ? jwk_public_members(all) : NULL;
    json_decref(all);
    return pub;
}

json_t *sigkey_public_jwk(const sigkey_t *key)
{
    json_t *pub;
    const char *use;

    if (key == NULL)
        return NULL;
    use = key->alg == SIGKEY_RSA_OAEP ? "enc" : "sig";
    pub = sigkey_public_members(key);
    if (pub == NULL)
        return NULL;
    /* The encryption key is published without "alg": it takes both RSA-OAEP and
     * RSA-OAEP-256, and RP libraries treat a JWK "alg" as the only algorithm allowed with
     * it (jose refuses CompactEncrypt to a JWK whose "alg" differs, openid-client filters
     * the JWKS by it), so a second key per algorithm would buy nothing. */
    if (json_object_set_new(pub, "kid", json_string(key->kid)) != 0 ||
        (key->alg != SIGKEY_RSA_OAEP &&
         json_object_set_new(pub, "alg", json_string(sigkey_alg_name(key->alg))) != 0) ||
        json_object_set_new(pub, "use", json_string(use)) != 0) {
        json_decref(pub);
        return NULL;
    }
    return pub;
}

sigkey_t *sigkey_from_public_jwk(const json_t *jwk, sigkey_alg_t alg)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    json_t *pub = NULL;
    sigkey_t *key = NULL;
    cjose_err err;
    int ok = 0;

    if (!json_is_object(jwk) || kty == NULL || strcmp(kty, sigkey_kty(alg)) != 0)
        return NULL;
    pub = jwk_public_members(jwk);
    key = calloc(1, sizeof(*key));
    if (pub == NULL || key == NULL)
        goto out;
    key->alg = alg;
    if (alg == SIGKEY_EDDSA) {
        key->pkey = pkey_from_okp_jwk(pub, 0);
    } else {
        key->pkey = alg == SIGKEY_ES256 ? pkey_from_ec_jwk(pub, 0) : pkey_from_rsa_jwk(pub, 0);
        if (key->pkey != NULL)
            key->jwk = cjose_jwk_import_json((cjose_header_t *)pub, &err);
        if (key->jwk == NULL)
            goto out;
    }
    if (key->pkey == NULL)
        goto out;
    if (kid != NULL) {
        size_t kid_len = strlen(kid);

        if (kid_len == 0 || kid_len >= sizeof key->kid)
            goto out;
        memcpy(key->kid, kid, kid_len + 1);
    } else if (sigkey_thumbprint(pub, key->kid) != 0) {
        goto out;
    }
    ok = 1;

out:
    json_decref(pub);
    if (!ok) {
        sigkey_free(key);
        key = NULL;
    }
    return key;
}

void sigkey_free(sigkey_t *key)
{
    if (key == NULL)
        return;
    if (key->jwk != NULL)
        cjose_jwk_release(key->jwk);
    EVP_PKEY_free(key->pkey);
    sodium_memzero(key, sizeof(*key));
    free(key);
}
