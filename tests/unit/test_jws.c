/* Unit tests for crypto/sigkey.c and crypto/jws.c.
 *
 * Signatures made by jws_sign are checked independently here with OpenSSL EVP, from
 * the public JWK the key publishes, with this file's own base64url decoder (OpenSSL
 * EVP_DecodeBlock after translating the alphabet) and its own RFC 7638 thumbprint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "crypto/jws.h"
#include "crypto/sigkey.h"

#define NALGS 4

static const sigkey_alg_t all_algs[NALGS] = {SIGKEY_RS256, SIGKEY_PS256, SIGKEY_ES256,
                                             SIGKEY_EDDSA};

/* RFC 7638 §3.1 example key and its thumbprint. */
#define RFC7638_N                                                                                  \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"      \
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_"                              \
    "RN5w6Cf0h4QyQ5v-65YGjQR0_"                                                                    \
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI"                         \
    "SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-"                   \
    "csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_KID "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

typedef struct {
    sigkey_t *keys[NALGS];  /* one per algorithm, in all_algs order */
    sigkey_t *extra[NALGS]; /* a second key per algorithm */
} fixture_t;

/* ---- the test's own helpers, independent of crypto/ ---- */

/* Decodes base64url (no padding) with OpenSSL. Returns malloc'd bytes or NULL. */
static uint8_t *t_b64url_decode(const char *s, size_t n, size_t *out_len)
{
    size_t padded = (n + 3) / 4 * 4;
    char *std = calloc(1, padded + 1);
    uint8_t *out = malloc(padded / 4 * 3 + 1);
    int len;

    assert_non_null(std);
    assert_non_null(out);
    for (size_t i = 0; i < padded; i++) {
        char c = i < n ? s[i] : '=';
        std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    len = EVP_DecodeBlock(out, (const unsigned char *)std, (int)padded);
    free(std);
    if (len < 0) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)len - (padded - n); /* EVP_DecodeBlock counts padding as zeros */
    return out;
}

/* Encodes base64url (no padding) with OpenSSL. Returns a malloc'd string. */
static char *t_b64url_encode(const uint8_t *buf, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    int len;

    assert_non_null(out);
    len = EVP_EncodeBlock((unsigned char *)out, buf, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p != '\0'; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* RFC 7638 thumbprint computed here: required members only, sorted, compact. */
static char *t_thumbprint(const json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *members[4];
    size_t nm = 0;
    json_t *canon = json_object();
    uint8_t digest[32];
    unsigned int dlen = 0;
    char *text, *kid;

    assert_non_null(kty);
    members[nm++] = "kty";
    if (strcmp(kty, "RSA") == 0) {
        members[nm++] = "n";
        members[nm++] = "e";
    } else if (strcmp(kty, "EC") == 0) {
        members[nm++] = "crv";
        members[nm++] = "x";
        members[nm++] = "y";
    } else {
        members[nm++] = "crv";
        members[nm++] = "x";
    }
    for (size_t i = 0; i < nm; i++) {
        json_t *v = json_object_get(jwk, members[i]);
        assert_true(json_is_string(v));
        json_object_set(canon, members[i], v);
    }
    text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    assert_int_equal(EVP_Digest(text, strlen(text), digest, &dlen, EVP_sha256(), NULL), 1);
    kid = t_b64url_encode(digest, dlen);
    free(text);
    json_decref(canon);
    return kid;
}

static BIGNUM *t_member_bn(const json_t *jwk, const char *name)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    size_t len = 0;
    uint8_t *buf;
    BIGNUM *bn;

    assert_non_null(s);
    buf = t_b64url_decode(s, strlen(s), &len);
    assert_non_null(buf);
    bn = BN_bin2bn(buf, (int)len, NULL);
    free(buf);
    assert_non_null(bn);
    return bn;
}

/* Builds an OpenSSL public key from a public JWK. */
static EVP_PKEY *t_pkey_from_jwk(const json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *a = NULL, *b = NULL;
    uint8_t point[65] = {0x04}; /* the builder keeps a pointer until to_param */
    const char *type;

    assert_non_null(bld);
    if (strcmp(kty, "OKP") == 0) {
        const char *x = json_string_value(json_object_get(jwk, "x"));
        size_t len = 0;
        uint8_t *raw = t_b64url_decode(x, strlen(x), &len);

        assert_int_equal(len, 32);
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, raw, len);
        free(raw);
        OSSL_PARAM_BLD_free(bld);
        return pkey;
    }
    if (strcmp(kty, "RSA") == 0) {
        type = "RSA";
        a = t_member_bn(jwk, "n");
        b = t_member_bn(jwk, "e");
        assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, a));
        assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, b));
    } else {
        type = "EC";
        a = t_member_bn(jwk, "x");
        b = t_member_bn(jwk, "y");
        assert_int_equal(BN_bn2binpad(a, point + 1, 32), 32);
        assert_int_equal(BN_bn2binpad(b, point + 33, 32), 32);
        assert_true(
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0));
        assert_true(
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)));
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(a);
    BN_free(b);
    return pkey;
}

/* Verifies a JWS signature with plain OpenSSL. Returns 1 when valid. */
static int t_verify(sigkey_alg_t alg, EVP_PKEY *pub, const char *input, size_t input_len,
                    const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *der = NULL;
    int der_len = 0;
    int ok;

    assert_non_null(md);
    if (alg == SIGKEY_EDDSA) {
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub), 1);
    } else {
        assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub), 1);
    }
    if (alg == SIGKEY_PS256) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
    }
    if (alg == SIGKEY_ES256) {
        /* JWS carries R || S (32 bytes each); OpenSSL wants DER. */
        ECDSA_SIG *es = ECDSA_SIG_new();

        assert_int_equal(sig_len, 64);
        assert_non_null(es);
        assert_int_equal(
            ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
        der_len = i2d_ECDSA_SIG(es, &der);
        assert_true(der_len > 0);
        ECDSA_SIG_free(es);
        sig = der;
        sig_len = (size_t)der_len;
    }
    ok = EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)input, input_len) == 1;
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return ok;
}

/* Replaces part idx (0 header, 1 payload, 2 signature) of a compact JWS. */
static char *t_replace_part(const char *compact, int idx, const char *part)
{
    char *copy = strdup(compact);
    char *parts[3];
    char *save = NULL;
    char *out;
    size_t n;

    assert_non_null(copy);
    parts[0] = strtok_r(copy, ".", &save);
    parts[1] = strtok_r(NULL, ".", &save);
    parts[2] = strtok_r(NULL, ".", &save);
    assert_non_null(parts[2]);
    parts[idx] = (char *)part;
    n = strlen(parts[0]) + strlen(parts[1]) + strlen(parts[2]) + 3;
    out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%s.%s.%s", parts[0], parts[1], parts[2]);
    free(copy);
    return out;
}

/* Base64url of a JSON text. */
static char *t_b64_json(const char *text)
{
    return t_b64url_encode((const uint8_t *)text, strlen(text));
}

static json_t *sample_claims(void)
{
    json_t *c =
        json_pack("{s:s, s:s, s:s, s:I, s:s}", "iss", "https://idp.example.test", "sub", "user-1",
                  "aud", "client-1", "exp", (json_int_t)2000000000, "name", "J\xc3\xa9r\xc3\xb4me");
    assert_non_null(c);
    return c;
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    for (size_t i = 0; i < NALGS; i++) {
        f->keys[i] = sigkey_generate(all_algs[i]);
        f->extra[i] = sigkey_generate(all_algs[i]);
        if (f->keys[i] == NULL || f->extra[i] == NULL)
            return -1;
    }
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        sigkey_free(f->keys[i]);
        sigkey_free(f->extra[i]);
    }
    free(f);
    return 0;
}

/* ---- tests ---- */

static void test_alg_names(void **state)
{
    static const char *const names[NALGS] = {"RS256", "PS256", "ES256", "EdDSA"};
    sigkey_alg_t alg;
    (void)state;

    for (size_t i = 0; i < NALGS; i++) {
        assert_int_equal(sigkey_alg_parse(names[i], &alg), 0);
        assert_int_equal(alg, all_algs[i]);
        assert_string_equal(sigkey_alg_name(all_algs[i]), names[i]);
    }
    assert_int_equal(sigkey_alg_parse("none", &alg), -1);
    assert_int_equal(sigkey_alg_parse("HS256", &alg), -1);
    assert_int_equal(sigkey_alg_parse("rs256", &alg), -1);
    assert_int_equal(sigkey_alg_parse("EDDSA", &alg), -1);
    assert_int_equal(sigkey_alg_parse(NULL, &alg), -1);
}

static void test_rfc7638_thumbprint(void **state)
{
    json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "n", RFC7638_N, "e", "AQAB",
                            "alg", "RS256");
    char kid[SIGKEY_KID_MAX] = "";
    char *mine;
    (void)state;

    assert_non_null(jwk);
    mine = t_thumbprint(jwk);
    assert_string_equal(mine, RFC7638_KID);
    assert_int_equal(sigkey_thumbprint(jwk, kid), 0);
    assert_string_equal(kid, RFC7638_KID);
    free(mine);
    json_decref(jwk);
}

static void test_public_jwk(void **state)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"};
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        json_t *jwk = sigkey_public_jwk(f->keys[i]);
        char *kid;

        assert_non_null(jwk);
        assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
        assert_string_equal(json_string_value(json_object_get(jwk, "alg")),
                            sigkey_alg_name(all_algs[i]));
        assert_string_equal(json_string_value(json_object_get(jwk, "kid")), f->keys[i]->kid);
        for (size_t j = 0; j < sizeof(private_members) / sizeof(private_members[0]); j++)
            assert_null(json_object_get(jwk, private_members[j]));
        kid = t_thumbprint(jwk);
        assert_string_equal(kid, f->keys[i]->kid);
        assert_string_not_equal(f->keys[i]->kid, f->extra[i]->kid);
        free(kid);
        if (all_algs[i] == SIGKEY_RS256 || all_algs[i] == SIGKEY_PS256) {
            assert_int_equal(EVP_PKEY_get_bits(f->keys[i]->pkey), 3072);
            assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
        }
        json_decref(jwk);
    }
}

static void test_sign_verified_by_openssl(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        json_t *claims = sample_claims();
        json_t *jwk = sigkey_public_jwk(f->keys[i]);
        char *compact = jws_sign(f->keys[i], "at+jwt", claims);
        const char *dot1, *dot2;
        uint8_t *hdr, *pl, *sig;
        size_t hdr_len = 0, pl_len = 0, sig_len = 0;
        json_t *header, *payload;
        EVP_PKEY *pub;
        char *mutated;

        assert_non_null(compact);
        dot1 = strchr(compact, '.');
        assert_non_null(dot1);
        dot2 = strchr(dot1 + 1, '.');
        assert_non_null(dot2);
        assert_null(strchr(dot2 + 1, '.'));
        assert_null(strchr(compact, '='));

        hdr = t_b64url_decode(compact, (size_t)(dot1 - compact), &hdr_len);
        pl = t_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &pl_len);
        sig = t_b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig_len);
        assert_non_null(hdr);
        assert_non_null(pl);
        assert_non_null(sig);

        header = json_loadb((const char *)hdr, hdr_len, 0, NULL);
        assert_non_null(header);
        assert_string_equal(json_string_value(json_object_get(header, "alg")),
                            sigkey_alg_name(all_algs[i]));
        assert_string_equal(json_string_value(json_object_get(header, "kid")), f->keys[i]->kid);
        assert_string_equal(json_string_value(json_object_get(header, "typ")), "at+jwt");
        payload = json_loadb((const char *)pl, pl_len, 0, NULL);
        assert_non_null(payload);
        assert_true(json_equal(payload, claims));

        pub = t_pkey_from_jwk(jwk);
        assert_non_null(pub);
        if (!t_verify(all_algs[i], pub, compact, (size_t)(dot2 - compact), sig, sig_len))
            fail_msg("%s signature not accepted by OpenSSL", sigkey_alg_name(all_algs[i]));
        /* The independent check is not vacuous: a changed input fails. */
        mutated = strdup(compact);
        mutated[dot1 - compact + 2] ^= 0x01;
        assert_false(t_verify(all_algs[i], pub, mutated, (size_t)(dot2 - compact), sig, sig_len));
        free(mutated);

        EVP_PKEY_free(pub);
        json_decref(payload);
        json_decref(header);
        free(sig);
        free(pl);
        free(hdr);
        free(compact);
        json_decref(jwk);
        json_decref(claims);
    }
}

static void test_sign_without_typ(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        json_t *claims = sample_claims();
        char *compact = jws_sign(f->keys[i], NULL, claims);
        const char *dot1 = strchr(compact, '.');
        size_t len = 0;
        uint8_t *hdr = t_b64url_decode(compact, (size_t)(dot1 - compact), &len);
        json_t *header = json_loadb((const char *)hdr, len, 0, NULL);
        json_t *out = NULL;

        assert_non_null(header);
        assert_null(json_object_get(header, "typ"));
        assert_int_equal(json_object_size(header), 2);
        /* Verifying with a typ requirement rejects a token without typ. */
        assert_int_equal(jws_verify(compact, f->keys, NALGS, "at+jwt", &out), -1);
        assert_int_equal(jws_verify(compact, f->keys, NALGS, NULL, &out), 0);
        json_decref(out);
        json_decref(header);
        free(hdr);
        free(compact);
        json_decref(claims);
    }
    assert_null(jws_sign(f->keys[0], NULL, NULL));
    json_t *arr = json_array();
    assert_null(jws_sign(f->keys[0], NULL, arr));
    json_decref(arr);
}

static void test_verify_round_trip(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        json_t *claims = sample_claims();
        char *compact = jws_sign(f->keys[i], "logout+jwt", claims);
        json_t *out = NULL;
        sigkey_t *only[1] = {f->keys[i]};

        assert_non_null(compact);
        assert_int_equal(jws_verify(compact, f->keys, NALGS, "logout+jwt", &out), 0);
        assert_true(json_equal(out, claims));
        json_decref(out);
        out = NULL;
        assert_int_equal(jws_verify(compact, only, 1, NULL, &out), 0);
        json_decref(out);
        out = NULL;
        /* typ compare ignores case and an application/ prefix (RFC 7515 §4.1.9). */
        assert_int_equal(jws_verify(compact, only, 1, "Logout+JWT", &out), 0);
        json_decref(out);
        out = (json_t *)0x1;
        assert_int_equal(jws_verify(compact, only, 1, "at+jwt", &out), -1);
        assert_ptr_equal(out, (json_t *)0x1); /* untouched on failure */
        free(compact);
        json_decref(claims);
    }
}

static void test_tampered_rejected(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        json_t *claims = sample_claims();
        char *compact = jws_sign(f->keys[i], NULL, claims);
        char *other_payload =
            t_b64_json("{\"iss\":\"https://idp.example.test\",\"sub\":\"user-2\"}");
        char *tampered = t_replace_part(compact, 1, other_payload);
        char *flipped = strdup(compact);
        size_t len = strlen(flipped);
        json_t *out = NULL;

        assert_int_equal(jws_verify(tampered, f->keys, NALGS, NULL, &out), -1);
        /* A '=' inside the payload or signature of a token with a known kid: cjose's
         * decoder aborts the process on "a=bc", so it must never see one. */
        const char *bad_parts[][2] = {{"1", "e3=0"}, {"1", "a=bc"}, {"2", "AA=A"}, {"2", "a=bc"}};
        for (size_t j = 0; j < sizeof bad_parts / sizeof bad_parts[0]; j++) {
            char *bad = t_replace_part(compact, bad_parts[j][0][0] - '0', bad_parts[j][1]);
            assert_int_equal(jws_verify(bad, f->keys, NALGS, NULL, &out), -1);
            free(bad);
        }
        /* Change the signature's first character. */
        flipped[strrchr(flipped, '.') - flipped + 1] ^= 0x02;
        assert_int_equal(jws_verify(flipped, f->keys, NALGS, NULL, &out), -1);
        /* Truncated signature. */
        flipped[len - 2] = '\0';
        assert_int_equal(jws_verify(flipped, f->keys, NALGS, NULL, &out), -1);
        assert_null(out);
        free(flipped);
        free(tampered);
        free(other_payload);
        free(compact);
        json_decref(claims);
    }
}

static void test_wrong_kid_rejected(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        json_t *claims = sample_claims();
        char *compact = jws_sign(f->keys[i], NULL, claims);
        json_t *out = NULL;
        char hdr_text[256];
        char *hdr, *swapped;

        /* The signer's key is not in the set: only a same-algorithm key with another kid. */
        assert_int_equal(jws_verify(compact, f->extra, NALGS, NULL, &out), -1);
        assert_int_equal(jws_verify(compact, f->keys, 0, NULL, &out), -1);
        /* A header naming the other key's kid: signature does not match that key. */
        snprintf(hdr_text, sizeof(hdr_text), "{\"alg\":\"%s\",\"kid\":\"%s\"}",
                 sigkey_alg_name(all_algs[i]), f->extra[i]->kid);
        hdr = t_b64_json(hdr_text);
        swapped = t_replace_part(compact, 0, hdr);
        {
            sigkey_t *both[2] = {f->keys[i], f->extra[i]};
            assert_int_equal(jws_verify(swapped, both, 2, NULL, &out), -1);
        }
        /* No kid at all. */
        free(hdr);
        free(swapped);
        snprintf(hdr_text, sizeof(hdr_text), "{\"alg\":\"%s\"}", sigkey_alg_name(all_algs[i]));
        hdr = t_b64_json(hdr_text);
        swapped = t_replace_part(compact, 0, hdr);
        assert_int_equal(jws_verify(swapped, f->keys, NALGS, NULL, &out), -1);
        assert_null(out);
        free(hdr);
        free(swapped);
        free(compact);
        json_decref(claims);
    }
}

static void test_alg_mismatch_rejected(void **state)
{
    fixture_t *f = *state;
    json_t *claims = sample_claims();
    json_t *out = NULL;
    /* The same RSA key material as an RS256 key and as a PS256 key: same kid. */
    char *priv = sigkey_private_json(f->keys[0]);
    sigkey_t *as_ps = sigkey_from_private_json(priv, SIGKEY_PS256);
    sigkey_t *rs_only[1] = {f->keys[0]};
    sigkey_t *ps_only[1];
    char *ps_token, *rs_token;
    (void)state;

    assert_non_null(as_ps);
    assert_string_equal(as_ps->kid, f->keys[0]->kid);
    ps_only[0] = as_ps;
    ps_token = jws_sign(as_ps, NULL, claims);
    rs_token = jws_sign(f->keys[0], NULL, claims);
    /* A valid PS256 signature by the key is refused when the key is registered RS256. */
    assert_int_equal(jws_verify(ps_token, rs_only, 1, NULL, &out), -1);
    assert_int_equal(jws_verify(rs_token, ps_only, 1, NULL, &out), -1);
    assert_int_equal(jws_verify(ps_token, ps_only, 1, NULL, &out), 0);
    json_decref(out);
    out = NULL;

    /* Headers claiming another alg for a known kid: none, HS256, and the other keys' algs. */
    static const char *const bad_algs[] = {"none", "HS256", "PS256", "ES256", "EdDSA", "rs256", ""};
    for (size_t j = 0; j < sizeof(bad_algs) / sizeof(bad_algs[0]); j++) {
        char hdr_text[256];
        char *hdr, *token;

        snprintf(hdr_text, sizeof(hdr_text), "{\"alg\":\"%s\",\"kid\":\"%s\"}", bad_algs[j],
                 f->keys[0]->kid);
        hdr = t_b64_json(hdr_text);
        token = t_replace_part(rs_token, 0, hdr);
        if (jws_verify(token, rs_only, 1, NULL, &out) != -1)
            fail_msg("alg \"%s\" accepted", bad_algs[j]);
        free(token);
        free(hdr);
    }
    assert_null(out);
    sigkey_free(as_ps);
    free(priv);
    free(ps_token);
    free(rs_token);
    json_decref(claims);
}

static void test_malformed_compact_table(void **state)
{
    fixture_t *f = *state;
    json_t *claims = sample_claims();
    char *good = jws_sign(f->keys[3], NULL, claims);
    char *dot1 = strchr(good, '.');
    char *hdr = strndup(good, (size_t)(dot1 - good));
    char *crit_hdr, *arr_payload, *tok_crit, *tok_arr;
    char buf[1024];
    json_t *out = NULL;
    char hdr_text[256];
    (void)state;

    snprintf(hdr_text, sizeof(hdr_text), "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"crit\":[\"exp\"]}",
             f->keys[3]->kid);
    crit_hdr = t_b64_json(hdr_text);
    tok_crit = t_replace_part(good, 0, crit_hdr);
    arr_payload = t_b64_json("[1,2]");
    tok_arr = t_replace_part(good, 1, arr_payload);

    const char *rows[] = {
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        tok_crit,
        tok_arr,
        "e30.e30.",
        ".e30.AAAA",
        "e30..AAAA",
        "bm90IGpzb24.e30.AAAA", /* "not json" */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (jws_verify(rows[i], f->keys, NALGS, NULL, &out) != -1)
            fail_msg("row %zu accepted", i);
    }
    /* Extra characters: padding, whitespace, a fourth part. */
    snprintf(buf, sizeof(buf), "%s=", good);
    assert_int_equal(jws_verify(buf, f->keys, NALGS, NULL, &out), -1);
    snprintf(buf, sizeof(buf), "%s ", good);
    assert_int_equal(jws_verify(buf, f->keys, NALGS, NULL, &out), -1);
    snprintf(buf, sizeof(buf), "%s.", good);
    assert_int_equal(jws_verify(buf, f->keys, NALGS, NULL, &out), -1);
    snprintf(buf, sizeof(buf), " %s", good);
    assert_int_equal(jws_verify(buf, f->keys, NALGS, NULL, &out), -1);
    assert_int_equal(jws_verify(NULL, f->keys, NALGS, NULL, &out), -1);
    assert_null(out);
    assert_int_equal(jws_verify(good, f->keys, NALGS, NULL, &out), 0);
    json_decref(out);

    free(tok_arr);
    free(arr_payload);
    free(tok_crit);
    free(crit_hdr);
    free(hdr);
    free(good);
    json_decref(claims);
}

static void test_private_json_round_trip(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        char *priv = sigkey_private_json(f->keys[i]);
        sigkey_t *loaded, *wrong;
        json_t *claims = sample_claims(), *out = NULL, *obj;
        char *compact, *priv2;

        assert_non_null(priv);
        obj = json_loads(priv, 0, NULL);
        assert_non_null(obj);
        assert_non_null(json_object_get(obj, "d"));
        loaded = sigkey_from_private_json(priv, all_algs[i]);
        assert_non_null(loaded);
        assert_string_equal(loaded->kid, f->keys[i]->kid);
        assert_int_equal(EVP_PKEY_eq(loaded->pkey, f->keys[i]->pkey), 1);
        priv2 = sigkey_private_json(loaded);
        assert_string_equal(priv2, priv);
        /* The loaded key signs what the original verifies. */
        compact = jws_sign(loaded, NULL, claims);
        assert_int_equal(jws_verify(compact, f->keys, NALGS, NULL, &out), 0);
        json_decref(out);
        /* A key of another type is refused for this algorithm. */
        wrong = sigkey_from_private_json(priv,
                                         all_algs[i] == SIGKEY_ES256 ? SIGKEY_EDDSA : SIGKEY_ES256);
        assert_null(wrong);
        /* Mismatched halves are refused: swap in the other key's public part. */
        {
            json_t *other = sigkey_public_jwk(f->extra[i]);
            const char *member =
                all_algs[i] == SIGKEY_RS256 || all_algs[i] == SIGKEY_PS256 ? "n" : "x";
            char *text;

            json_object_set(obj, member, json_object_get(other, member));
            text = json_dumps(obj, JSON_COMPACT);
            assert_null(sigkey_from_private_json(text, all_algs[i]));
            free(text);
            json_decref(other);
        }
        assert_null(sigkey_from_private_json("{}", all_algs[i]));
        assert_null(sigkey_from_private_json("not json", all_algs[i]));
        free(compact);
        free(priv2);
        json_decref(obj);
        json_decref(claims);
        sigkey_free(loaded);
        free(priv);
    }
}

static void test_public_only_key_verifies(void **state)
{
    fixture_t *f = *state;

    for (size_t i = 0; i < NALGS; i++) {
        json_t *jwk = sigkey_public_jwk(f->keys[i]);
        sigkey_t *pub = sigkey_from_public_jwk(jwk, all_algs[i]);
        json_t *claims = sample_claims(), *out = NULL;
        char *compact = jws_sign(f->keys[i], NULL, claims);
        sigkey_t *set[1];

        assert_non_null(pub);
        assert_string_equal(pub->kid, f->keys[i]->kid);
        set[0] = pub;
        assert_int_equal(jws_verify(compact, set, 1, NULL, &out), 0);
        assert_true(json_equal(out, claims));
        json_decref(out);
        /* Without "kid" the thumbprint is used, which is the same here. */
        json_object_del(jwk, "kid");
        sigkey_free(pub);
        pub = sigkey_from_public_jwk(jwk, all_algs[i]);
        assert_non_null(pub);
        assert_string_equal(pub->kid, f->keys[i]->kid);
        sigkey_free(pub);
        free(compact);
        json_decref(claims);
        json_decref(jwk);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_rfc7638_thumbprint),
        cmocka_unit_test(test_public_jwk),
        cmocka_unit_test(test_sign_verified_by_openssl),
        cmocka_unit_test(test_sign_without_typ),
        cmocka_unit_test(test_verify_round_trip),
        cmocka_unit_test(test_tampered_rejected),
        cmocka_unit_test(test_wrong_kid_rejected),
        cmocka_unit_test(test_alg_mismatch_rejected),
        cmocka_unit_test(test_malformed_compact_table),
        cmocka_unit_test(test_private_json_round_trip),
        cmocka_unit_test(test_public_only_key_verifies),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
