/* COSE_Key parsing (RFC 9052/9053, RFC 8230) with libcbor and signature checks with
 * OpenSSL EVP.
 *
 * Why not libfido2: fido_assert_verify() wants the authenticator data CBOR-wrapped,
 * an rpId and its own UP/UV policy and re-does the checks made by idp/webauthn_*.c,
 * and its es256/eddsa/rs256 verify helpers are not exported; for the packed attestation
 * signatures (made by an X.509 leaf key) it offers nothing. Plain EVP_DigestVerify over
 * (authData || clientDataHash) is the smaller and clearer dependency here. */
#include "crypto/cose.h"

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdbool.h>
#include <string.h>

#define COSE_KTY_OKP 1
#define COSE_KTY_EC2 2
#define COSE_KTY_RSA 3
#define COSE_CRV_P256 1
#define COSE_CRV_ED25519 6
#define COSE_RSA_MIN_BITS 2048
#define COSE_RSA_MAX_BITS 4096
#define COSE_MAX_KEY_LEN 2048 /* bytes of CBOR; a 4096-bit RSA key needs about 530 */

/* The members of a COSE_Key we look at; pointers into the decoded item. */
typedef struct {
    int64_t kty;
    int64_t alg;
    int have_kty, have_alg;
    const cbor_item_t *m1; /* crv (EC2/OKP) or n (RSA) */
    const cbor_item_t *m2; /* x (EC2/OKP) or e (RSA) */
    const cbor_item_t *m3; /* y (EC2) */
} cose_members_t;

/* Reads a CBOR integer (major type 0 or 1) that fits int64_t. Returns 0 or -1. */
static int cose_int(const cbor_item_t *item, int64_t *out)
{
    uint64_t v;

    if (!cbor_isa_uint(item) && !cbor_isa_negint(item))
        return -1;
    v = cbor_get_int(item);
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = cbor_isa_uint(item) ? (int64_t)v : -1 - (int64_t)v;
    return 0;
}

/* Returns the bytes of a definite byte string of exactly want bytes (any length when
 * want is 0), or NULL. */
static const uint8_t *cose_bytes(const cbor_item_t *item, size_t want, size_t *len)
{
    if (item == NULL || !cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
        return NULL;
    if (want != 0 && cbor_bytestring_length(item) != want)
        return NULL;
    *len = cbor_bytestring_length(item);
    return cbor_bytestring_handle(item);
}

/* Collects kty, alg and the labels -1, -2, -3 from a map whose integer labels are
 * unique. Other labels (integer or text) are allowed and ignored. Returns 0 or -1. */
static int cose_collect(const cbor_item_t *map, cose_members_t *m)
{
    struct cbor_pair *pairs = cbor_map_handle(map);
    size_t n = cbor_map_size(map);
    const cbor_item_t **slot;
    int64_t label;

    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        if (cbor_isa_string(pairs[i].key))
            continue;
        if (cose_int(pairs[i].key, &label) != 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            int64_t other;
            if (cose_int(pairs[j].key, &other) == 0 && other == label)
                return -1; /* duplicate label */
        }
        if (label == 1 || label == 3) {
            int64_t v;
            if (cose_int(pairs[i].value, &v) != 0)
                return -1;
            if (label == 1) {
                m->kty = v;
                m->have_kty = 1;
            } else {
                m->alg = v;
                m->have_alg = 1;
            }
            continue;
        }
        slot = label == -1 ? &m->m1 : label == -2 ? &m->m2 : label == -3 ? &m->m3 : NULL;
        if (slot != NULL)
            *slot = pairs[i].value;
    }
    return m->have_kty && m->have_alg ? 0 : -1;
}

/* EC2 P-256 public key from x and y (32 bytes each); the point must be on the curve. */
static EVP_PKEY *cose_ec2(const cose_members_t *m)
{
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY *result = NULL;
    uint8_t point[65];
    const uint8_t *x, *y;
    size_t xl, yl;
    int64_t crv;

    if (m->m1 == NULL || cose_int(m->m1, &crv) != 0 || crv != COSE_CRV_P256)
        goto out;
    x = cose_bytes(m->m2, 32, &xl);
    y = cose_bytes(m->m3, 32, &yl);
    if (x == NULL || y == NULL)
        goto out;
    point[0] = 0x04;
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto out;
    EVP_PKEY_CTX_free(ctx);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL || EVP_PKEY_public_check(ctx) != 1)
        goto out;
    result = pkey;
    pkey = NULL;

out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return result;
}

/* OKP Ed25519 public key from x (32 bytes). */
static EVP_PKEY *cose_okp(const cose_members_t *m)
{
    const uint8_t *x;
    size_t xl = 0;
    int64_t crv;

    if (m->m1 == NULL || cose_int(m->m1, &crv) != 0 || crv != COSE_CRV_ED25519)
        return NULL;
    if (m->m3 != NULL)
        return NULL;
    x = cose_bytes(m->m2, 32, &xl);
    if (x == NULL)
        return NULL;
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
}

/* RSA public key from n (2048..4096 bits) and e (odd, > 1, at most 8 bytes). */
static EVP_PKEY *cose_rsa(const cose_members_t *m)
{
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL, *e = NULL;
    const uint8_t *nb, *eb;
    size_t nl = 0, el = 0;
    int bits;

    nb = cose_bytes(m->m1, 0, &nl);
    eb = cose_bytes(m->m2, 0, &el);
    if (nb == NULL || eb == NULL || nl == 0 || el == 0 || el > 8)
        goto out;
    n = BN_bin2bn(nb, (int)nl, NULL);
    e = BN_bin2bn(eb, (int)el, NULL);
    if (n == NULL || e == NULL)
        goto out;
    bits = BN_num_bits(n);
    if (bits < COSE_RSA_MIN_BITS || bits > COSE_RSA_MAX_BITS || !BN_is_odd(e) || BN_is_one(e))
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* Bounded pre-scan of one CBOR item with the streaming decoder, so that cbor_load never
 * sees a container that declares more members than bytes remain (libcbor allocates the
 * declared count up front) nor a nesting deeper than COSE_CBOR_MAX_DEPTH. Indefinite
 * lengths, tags and floats do not occur in WebAuthn's CTAP2 canonical CBOR: refused. */
#define COSE_CBOR_MAX_DEPTH 16

typedef struct {
    size_t remaining; /* bytes after the current header's first byte */
    size_t pending[COSE_CBOR_MAX_DEPTH];
    int depth;
    int fail;
    int done;
} cbor_scan_t;

static void scan_item_done(cbor_scan_t *s)
{
    while (s->depth > 0) {
        if (--s->pending[s->depth - 1] > 0)
            return;
        s->depth--;
    }
    s->done = 1;
}

static void scan_open(cbor_scan_t *s, size_t members)
{
    if (members > s->remaining || s->depth >= COSE_CBOR_MAX_DEPTH) {
        s->fail = 1;
        return;
    }
    if (members == 0) {
        scan_item_done(s);
        return;
    }
    s->pending[s->depth++] = members;
}

static void scan_leaf(void *ctx)
{
    scan_item_done(ctx);
}
static void scan_u8(void *ctx, uint8_t v)
{
    (void)v;
    scan_leaf(ctx);
}
static void scan_u16(void *ctx, uint16_t v)
{
    (void)v;
    scan_leaf(ctx);
}
static void scan_u32(void *ctx, uint32_t v)
{
    (void)v;
    scan_leaf(ctx);
}
static void scan_u64(void *ctx, uint64_t v)
{
    (void)v;
    scan_leaf(ctx);
}
static void scan_bytes(void *ctx, cbor_data d, size_t n)
{
    (void)d;
    (void)n;
    scan_leaf(ctx);
}
static void scan_bool(void *ctx, bool b)
{
    (void)b;
    scan_leaf(ctx);
}
static void scan_array(void *ctx, size_t n)
{
    scan_open(ctx, n);
}
static void scan_map(void *ctx, size_t n)
{
    cbor_scan_t *s = ctx;

    if (n > SIZE_MAX / 2) {
        s->fail = 1;
        return;
    }
    scan_open(s, 2 * n);
}
static void scan_refuse(void *ctx)
{
    ((cbor_scan_t *)ctx)->fail = 1;
}
static void scan_refuse_u64(void *ctx, uint64_t v)
{
    (void)v;
    scan_refuse(ctx);
}
static void scan_refuse_float(void *ctx, float v)
{
    (void)v;
    scan_refuse(ctx);
}
static void scan_refuse_double(void *ctx, double v)
{
    (void)v;
    scan_refuse(ctx);
}

cbor_item_t *cose_cbor_load(const uint8_t *buf, size_t len, size_t *read)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    struct cbor_decoder_result dr;
    struct cbor_load_result res;
    cbor_scan_t s;
    size_t off = 0;
    cbor_item_t *item;

    if (buf == NULL || len == 0)
        return NULL;
    memset(&s, 0, sizeof s);
    cb.uint8 = cb.negint8 = scan_u8;
    cb.uint16 = cb.negint16 = scan_u16;
    cb.uint32 = cb.negint32 = scan_u32;
    cb.uint64 = cb.negint64 = scan_u64;
    cb.byte_string = cb.string = scan_bytes;
    cb.array_start = scan_array;
    cb.map_start = scan_map;
    cb.null = cb.undefined = scan_leaf;
    cb.boolean = scan_bool;
    cb.byte_string_start = cb.string_start = cb.indef_array_start = cb.indef_map_start =
        cb.indef_break = scan_refuse;
    cb.tag = scan_refuse_u64;
    cb.float2 = cb.float4 = scan_refuse_float;
    cb.float8 = scan_refuse_double;
    while (!s.done) {
        s.remaining = len - off - 1;
        dr = cbor_stream_decode(buf + off, len - off, &cb, &s);
        if (dr.status != CBOR_DECODER_FINISHED || dr.read == 0 || s.fail)
            return NULL;
        off += dr.read;
        if (!s.done && off >= len)
            return NULL;
    }
    item = cbor_load(buf, off, &res);
    if (item == NULL)
        return NULL;
    if (res.error.code != CBOR_ERR_NONE || res.read != off) {
        cbor_decref(&item);
        return NULL;
    }
    *read = off;
    return item;
}

/* Decodes exactly one CBOR map filling all len bytes. Returns it (cbor_decref) or NULL. */
static cbor_item_t *cose_load_map(const uint8_t *cbor, size_t len)
{
    cbor_item_t *item;
    size_t read = 0;

    if (cbor == NULL || len == 0 || len > COSE_MAX_KEY_LEN)
        return NULL;
    item = cose_cbor_load(cbor, len, &read);
    if (item == NULL)
        return NULL;
    if (read != len || !cbor_isa_map(item)) {
        cbor_decref(&item);
        return NULL;
    }
    return item;
}

int cose_key_alg(const uint8_t *cbor, size_t len, int *alg)
{
    cbor_item_t *map = cose_load_map(cbor, len);
    cose_members_t m;
    int rc = -1;

    if (map == NULL)
        return -1;
    if (cose_collect(map, &m) == 0 && m.alg >= INT32_MIN && m.alg <= INT32_MAX) {
        *alg = (int)m.alg;
        rc = 0;
    }
    cbor_decref(&map);
    return rc;
}

int cose_key_parse(const uint8_t *cbor, size_t len, int *alg, EVP_PKEY **pkey)
{
    cbor_item_t *map = cose_load_map(cbor, len);
    cose_members_t m;
    EVP_PKEY *key = NULL;

    if (map == NULL)
        return -1;
    if (cose_collect(map, &m) != 0)
        goto out;
    if (m.kty == COSE_KTY_EC2 && m.alg == COSE_ALG_ES256)
        key = cose_ec2(&m);
    else if (m.kty == COSE_KTY_OKP && m.alg == COSE_ALG_EDDSA)
        key = cose_okp(&m);
    else if (m.kty == COSE_KTY_RSA && m.alg == COSE_ALG_RS256 && m.m3 == NULL)
        key = cose_rsa(&m);

out:
    cbor_decref(&map);
    if (key == NULL)
        return -1;
    *alg = (int)m.alg;
    *pkey = key;
    return 0;
}

int cose_verify(int alg, EVP_PKEY *pkey, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                size_t sig_len)
{
    EVP_MD_CTX *ctx = NULL;
    const EVP_MD *md = NULL;
    const char *type;
    int ok = 0;

    if (pkey == NULL || msg == NULL || sig == NULL || sig_len == 0)
        return 0;
    switch (alg) {
    case COSE_ALG_ES256:
        type = "EC";
        md = EVP_sha256();
        break;
    case COSE_ALG_EDDSA:
        type = "ED25519";
        break;
    case COSE_ALG_RS256:
        type = "RSA";
        md = EVP_sha256();
        break;
    default:
        return 0;
    }
    if (!EVP_PKEY_is_a(pkey, type))
        return 0;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return 0;
    /* RSA keys default to PKCS#1 v1.5 padding, which RS256 is. */
    if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
        EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1)
        ok = 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}
