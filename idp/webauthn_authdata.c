/* Authenticator data (WebAuthn L3 §6.1) through one bounded reader. */
#include "idp/webauthn.h"
#include "idp/webauthn_internal.h"

#include "crypto/cose.h"

#include <cbor.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

/* A cursor over untrusted bytes: every take checks the length first. */
typedef struct {
    const uint8_t *p;
    size_t len;
} reader_t;

static int take_bytes(reader_t *r, size_t n, const uint8_t **out)
{
    if (r->len < n)
        return -1;
    *out = r->p;
    r->p += n;
    r->len -= n;
    return 0;
}

static int take_u8(reader_t *r, uint8_t *out)
{
    const uint8_t *b;

    if (take_bytes(r, 1, &b) != 0)
        return -1;
    *out = b[0];
    return 0;
}

static int take_u16be(reader_t *r, uint16_t *out)
{
    const uint8_t *b;

    if (take_bytes(r, 2, &b) != 0)
        return -1;
    *out = (uint16_t)((uint16_t)b[0] << 8 | b[1]);
    return 0;
}

static int take_u32be(reader_t *r, uint32_t *out)
{
    const uint8_t *b;

    if (take_bytes(r, 4, &b) != 0)
        return -1;
    *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 0;
}

/* Takes one CBOR data item that must be a map, as many bytes as decoding it took
 * (cose_cbor_load: bounded pre-scan, then libcbor). Returns 0 with *out and *n, or -1. */
static int take_cbor_map(reader_t *r, const uint8_t **out, size_t *n)
{
    cbor_item_t *item;
    size_t read = 0;
    int ok;

    if (r->len == 0)
        return -1;
    item = cose_cbor_load(r->p, r->len, &read);
    if (item == NULL)
        return -1;
    ok = cbor_isa_map(item) && read > 0 && read <= r->len;
    cbor_decref(&item);
    if (!ok)
        return -1;
    *n = read;
    return take_bytes(r, read, out);
}

wp_err_t webauthn_authdata_parse(const uint8_t *data, size_t len, webauthn_authdata_t *out)
{
    reader_t r = {data, len};
    webauthn_authdata_t ad;
    uint16_t id_len;
    const uint8_t *ext;
    size_t ext_len;

    if (data == NULL || out == NULL)
        return WP_ERR_INVALID;
    memset(&ad, 0, sizeof ad);
    if (take_bytes(&r, 32, &ad.rp_id_hash) != 0 || take_u8(&r, &ad.flags) != 0 ||
        take_u32be(&r, &ad.sign_count) != 0)
        return WP_ERR_INVALID;
    if (ad.flags & WEBAUTHN_FLAG_AT) {
        if (take_bytes(&r, 16, &ad.aaguid) != 0 || take_u16be(&r, &id_len) != 0)
            return WP_ERR_INVALID;
        if (id_len == 0 || id_len > WEBAUTHN_MAX_CRED_ID)
            return WP_ERR_INVALID;
        ad.cred_id_len = id_len;
        if (take_bytes(&r, id_len, &ad.cred_id) != 0)
            return WP_ERR_INVALID;
        if (take_cbor_map(&r, &ad.cose_key, &ad.cose_key_len) != 0)
            return WP_ERR_INVALID;
    }
    if (ad.flags & WEBAUTHN_FLAG_ED) {
        if (take_cbor_map(&r, &ext, &ext_len) != 0)
            return WP_ERR_INVALID;
    }
    if (r.len != 0)
        return WP_ERR_INVALID;
    *out = ad;
    return WP_OK;
}

wp_err_t webauthn_authdata_check(const webauthn_rp_t *rp, const webauthn_authdata_t *ad,
                                 const char **why)
{
    uint8_t hash[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)rp->rp_id, strlen(rp->rp_id), hash);
    if (CRYPTO_memcmp(hash, ad->rp_id_hash, sizeof hash) != 0) {
        *why = WEBAUTHN_WHY_RP_ID;
        return WP_ERR_INVALID;
    }
    if (!(ad->flags & WEBAUTHN_FLAG_UP)) {
        *why = WEBAUTHN_WHY_UP;
        return WP_ERR_INVALID;
    }
    if (!(ad->flags & WEBAUTHN_FLAG_UV)) {
        *why = WEBAUTHN_WHY_UV;
        return WP_ERR_INVALID;
    }
    if ((ad->flags & WEBAUTHN_FLAG_BS) && !(ad->flags & WEBAUTHN_FLAG_BE)) {
        *why = WEBAUTHN_WHY_BS;
        return WP_ERR_INVALID;
    }
    return WP_OK;
}
