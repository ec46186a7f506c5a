/* Software authenticator for unit tests (see softauthn.h). Test code: it aborts through
 * the caller's assertions on library failure by returning NULL or -1. */
#include "softauthn.h"

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"

static cbor_item_t *sa_int(int64_t v)
{
    if (v >= 0)
        return cbor_build_uint32((uint32_t)v);
    return cbor_build_negint32((uint32_t)(-1 - v));
}

static void sa_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
    cbor_map_add(map, (struct cbor_pair){.key = cbor_move(key), .value = cbor_move(value)});
}

/* Serializes and releases item. Returns 0 with *out (free) and *len. */
static int sa_serialize(cbor_item_t *item, uint8_t **out, size_t *len)
{
    unsigned char *buf = NULL;
    size_t size = 0;
    size_t n = cbor_serialize_alloc(item, &buf, &size);

    cbor_decref(&item);
    if (n == 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

int sa_hex(const char *hex, uint8_t **out, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *buf;

    if (n % 2 != 0)
        return -1;
    buf = malloc(n / 2 + 1);
    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
            free(buf);
            return -1;
        }
        buf[i] = (uint8_t)b;
    }
    *out = buf;
    *len = n / 2;
    return 0;
}

static uint8_t *sa_bn(EVP_PKEY *key, const char *name, size_t *len)
{
    BIGNUM *bn = NULL;
    uint8_t *buf;

    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
        return NULL;
    *len = (size_t)BN_num_bytes(bn);
    buf = malloc(*len);
    if (buf != NULL)
        BN_bn2bin(bn, buf);
    BN_free(bn);
    return buf;
}

int sa_cose_key(EVP_PKEY *key, int alg, int alg_label, uint8_t **out, size_t *len)
{
    cbor_item_t *map = cbor_new_definite_map(5);
    uint8_t pub[65];
    size_t pub_len = sizeof pub;

    if (map == NULL)
        return -1;
    if (alg_label == 0)
        alg_label = alg;
    if (alg == -7) {
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub,
                                            &pub_len) != 1 ||
            pub_len != 65)
            goto bad;
        sa_put(map, sa_int(1), sa_int(2));
        sa_put(map, sa_int(3), sa_int(alg_label));
        sa_put(map, sa_int(-1), sa_int(1));
        sa_put(map, sa_int(-2), cbor_build_bytestring(pub + 1, 32));
        sa_put(map, sa_int(-3), cbor_build_bytestring(pub + 33, 32));
    } else if (alg == -8) {
        pub_len = 32;
        if (EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1)
            goto bad;
        sa_put(map, sa_int(1), sa_int(1));
        sa_put(map, sa_int(3), sa_int(alg_label));
        sa_put(map, sa_int(-1), sa_int(6));
        sa_put(map, sa_int(-2), cbor_build_bytestring(pub, 32));
    } else {
        size_t nl = 0, el = 0;
        uint8_t *n = sa_bn(key, OSSL_PKEY_PARAM_RSA_N, &nl);
        uint8_t *e = sa_bn(key, OSSL_PKEY_PARAM_RSA_E, &el);
        if (n == NULL || e == NULL) {
            free(n);
            free(e);
            goto bad;
        }
        sa_put(map, sa_int(1), sa_int(3));
        sa_put(map, sa_int(3), sa_int(alg_label));
        sa_put(map, sa_int(-1), cbor_build_bytestring(n, nl));
        sa_put(map, sa_int(-2), cbor_build_bytestring(e, el));
        free(n);
        free(e);
    }
    return sa_serialize(map, out, len);

bad:
    cbor_decref(&map);
    return -1;
}

softauthn_t *sa_new(int alg, size_t cred_id_len)
{
    softauthn_t *sa = calloc(1, sizeof *sa);

    if (sa == NULL)
        return NULL;
    sa->alg = alg;
    if (alg == -7)
        sa->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (alg == -8)
        sa->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else
        sa->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    sa->cred_id = malloc(cred_id_len);
    sa->cred_id_len = cred_id_len;
    if (sa->key == NULL || sa->cred_id == NULL || RAND_bytes(sa->cred_id, (int)cred_id_len) != 1 ||
        RAND_bytes(sa->aaguid, sizeof sa->aaguid) != 1) {
        sa_free(sa);
        return NULL;
    }
    return sa;
}

void sa_free(softauthn_t *sa)
{
    if (sa == NULL)
        return;
    EVP_PKEY_free(sa->key);
    free(sa->cred_id);
    free(sa->cose_key);
    free(sa);
}

sa_opts_t sa_opts(const char *rp_id, const char *origin, const uint8_t *challenge,
                  size_t challenge_len)
{
    sa_opts_t o;

    memset(&o, 0, sizeof o);
    o.rp_id = rp_id;
    o.origin = origin;
    o.challenge = challenge;
    o.challenge_len = challenge_len;
    return o;
}

/* Signs msg with key as COSE alg. Returns 0 with *sig (free) and *len. */
static int sa_sign(EVP_PKEY *key, int alg, const uint8_t *msg, size_t msg_len, uint8_t **sig,
                   size_t *len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = alg == -8 ? NULL : EVP_sha256();
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = -1;

    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
        EVP_DigestSign(ctx, NULL, &n, msg, msg_len) != 1)
        goto out;
    buf = malloc(n);
    if (buf == NULL || EVP_DigestSign(ctx, buf, &n, msg, msg_len) != 1)
        goto out;
    *sig = buf;
    *len = n;
    buf = NULL;
    rc = 0;

out:
    free(buf);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* clientDataJSON text (free). */
static char *sa_client_data(const sa_opts_t *o, const char *type)
{
    char *chal = b64url_encode(o->challenge, o->challenge_len);
    json_t *cd = json_object();
    char *text;

    json_object_set_new(cd, "type", json_string(o->cd_type ? o->cd_type : type));
    json_object_set_new(cd, "challenge", json_string(chal));
    json_object_set_new(cd, "origin", json_string(o->origin));
    json_object_set_new(cd, "crossOrigin", json_boolean(o->cross_origin));
    if (o->top_origin)
        json_object_set_new(cd, "topOrigin", json_string("https://evil.example"));
    text = json_dumps(cd, JSON_COMPACT);
    json_decref(cd);
    free(chal);
    return text;
}

/* authData bytes (free). att: include attested credential data. */
static uint8_t *sa_auth_data(softauthn_t *sa, const sa_opts_t *o, int att, size_t *len)
{
    uint8_t flags = 0x01 | 0x04 | (att ? 0x40 : 0);
    uint8_t *ext = NULL;
    size_t ext_len = 0, n, off;
    uint8_t *buf;

    flags = (uint8_t)((flags | o->flags_set) & ~o->flags_clear);
    if (o->extensions) {
        cbor_item_t *m = cbor_new_definite_map(1);
        sa_put(m, cbor_build_string("credProtect"), sa_int(2));
        if (sa_serialize(m, &ext, &ext_len) != 0)
            return NULL;
        flags |= 0x80;
    }
    n = 37 + (att ? 18 + sa->cred_id_len + sa->cose_key_len : 0) + ext_len + 1;
    buf = calloc(1, n);
    if (buf == NULL) {
        free(ext);
        return NULL;
    }
    SHA256((const unsigned char *)o->rp_id, strlen(o->rp_id), buf);
    buf[32] = flags;
    buf[33] = (uint8_t)(o->sign_count >> 24);
    buf[34] = (uint8_t)(o->sign_count >> 16);
    buf[35] = (uint8_t)(o->sign_count >> 8);
    buf[36] = (uint8_t)o->sign_count;
    off = 37;
    if (att) {
        memcpy(buf + off, sa->aaguid, 16);
        buf[off + 16] = (uint8_t)(sa->cred_id_len >> 8);
        buf[off + 17] = (uint8_t)sa->cred_id_len;
        memcpy(buf + off + 18, sa->cred_id, sa->cred_id_len);
        memcpy(buf + off + 18 + sa->cred_id_len, sa->cose_key, sa->cose_key_len);
        off += 18 + sa->cred_id_len + sa->cose_key_len;
    }
    if (ext_len > 0)
        memcpy(buf + off, ext, ext_len);
    off += ext_len;
    free(ext);
    if (o->trailing)
        buf[off++] = 0x00;
    if (o->truncate)
        off--;
    *len = off;
    return buf;
}

/* A leaf attestation certificate (DER, free) for key, signed by itself. */
static uint8_t *sa_leaf_cert(EVP_PKEY *key, const uint8_t aaguid[16], const sa_opts_t *o,
                             size_t *len)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_EXTENSION *ext = NULL;
    ASN1_OBJECT *oid = NULL;
    ASN1_OCTET_STRING *os = NULL;
    uint8_t inner[18] = {0x04, 0x10};
    uint8_t *der = NULL;
    unsigned char *p;
    X509V3_CTX v3;
    int n;

    if (x == NULL || name == NULL)
        goto out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"NL", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Soft", -1, -1, 0);
    X509_NAME_add_entry_by_txt(
        name, "OU", MBSTRING_ASC,
        (const unsigned char *)(o->cert_ou ? o->cert_ou : "Authenticator Attestation"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Soft Leaf", -1, -1,
                               0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                              o->cert_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (ext == NULL || !X509_add_ext(x, ext, -1))
        goto out;
    X509_EXTENSION_free(ext);
    ext = NULL;
    if (o->cert_aaguid != 2) {
        memcpy(inner + 2, aaguid, 16);
        if (o->cert_aaguid == 1)
            inner[2] ^= 0xff;
        oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
        os = ASN1_OCTET_STRING_new();
        if (oid == NULL || os == NULL || !ASN1_OCTET_STRING_set(os, inner, sizeof inner))
            goto out;
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
        if (ext == NULL || !X509_add_ext(x, ext, -1))
            goto out;
    }
    if (X509_sign(x, key, EVP_sha256()) == 0)
        goto out;
    n = i2d_X509(x, NULL);
    if (n <= 0)
        goto out;
    der = malloc((size_t)n);
    p = der;
    if (der == NULL || i2d_X509(x, &p) != n) {
        free(der);
        der = NULL;
        goto out;
    }
    *len = (size_t)n;

out:
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(os);
    X509_NAME_free(name);
    X509_free(x);
    return der;
}

/* Fills a base64url string member. */
static void sa_set_b64(json_t *obj, const char *key, const uint8_t *b, size_t n)
{
    char *s = b64url_encode(b, n);
    json_object_set_new(obj, key, json_string(s));
    free(s);
}

/* id, rawId and type members. */
static json_t *sa_credential(softauthn_t *sa, const sa_opts_t *o)
{
    json_t *cred = json_object();

    sa_set_b64(cred, "id", sa->cred_id, sa->cred_id_len);
    if (o->wrong_raw_id) {
        uint8_t other[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        sa_set_b64(cred, "rawId", other, sizeof other);
    } else {
        sa_set_b64(cred, "rawId", sa->cred_id, sa->cred_id_len);
    }
    json_object_set_new(cred, "type", json_string(o->cred_type ? o->cred_type : "public-key"));
    json_object_set_new(cred, "clientExtensionResults", json_object());
    return cred;
}

json_t *sa_register(softauthn_t *sa, const sa_opts_t *o)
{
    char *cdj = NULL;
    uint8_t *ad = NULL, *sig = NULL, *msg = NULL, *ao = NULL, *cert = NULL;
    size_t ad_len = 0, sig_len = 0, ao_len = 0, cert_len = 0;
    cbor_item_t *root = NULL, *stmt = NULL;
    EVP_PKEY *att_key = NULL;
    json_t *cred = NULL, *resp;
    const char *fmt;

    free(sa->cose_key);
    sa->cose_key = NULL;
    if (sa_cose_key(sa->key, sa->alg, o->cose_alg, &sa->cose_key, &sa->cose_key_len) != 0)
        goto out;
    cdj = sa_client_data(o, "webauthn.create");
    ad = sa_auth_data(sa, o, 1, &ad_len);
    if (cdj == NULL || ad == NULL)
        goto out;
    msg = malloc(ad_len + 32);
    if (msg == NULL)
        goto out;
    memcpy(msg, ad, ad_len);
    SHA256((const unsigned char *)cdj, strlen(cdj), msg + ad_len);
    if (o->bad_sig)
        msg[0] ^= 1;

    fmt = o->att == SA_ATT_NONE ? "none" : "packed";
    stmt = cbor_new_definite_map(3);
    if (o->att == SA_ATT_NONE && o->none_stmt_nonempty)
        sa_put(stmt, cbor_build_string("alg"), sa_int(-7));
    if (o->att == SA_ATT_PACKED_SELF) {
        if (sa_sign(sa->key, sa->alg, msg, ad_len + 32, &sig, &sig_len) != 0)
            goto out;
        sa_put(stmt, cbor_build_string("alg"), sa_int(o->att_alg ? o->att_alg : sa->alg));
        sa_put(stmt, cbor_build_string("sig"), cbor_build_bytestring(sig, sig_len));
    } else if (o->att == SA_ATT_PACKED_X5C) {
        cbor_item_t *arr = cbor_new_definite_array(1);
        att_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (att_key == NULL || sa_sign(att_key, -7, msg, ad_len + 32, &sig, &sig_len) != 0)
            goto out;
        cert = sa_leaf_cert(att_key, sa->aaguid, o, &cert_len);
        if (cert == NULL)
            goto out;
        cbor_array_push(arr, cbor_move(cbor_build_bytestring(cert, cert_len)));
        sa_put(stmt, cbor_build_string("alg"), sa_int(o->att_alg ? o->att_alg : -7));
        sa_put(stmt, cbor_build_string("sig"), cbor_build_bytestring(sig, sig_len));
        sa_put(stmt, cbor_build_string("x5c"), arr);
    }
    root = cbor_new_definite_map(3);
    sa_put(root, cbor_build_string("fmt"), cbor_build_string(o->fmt ? o->fmt : fmt));
    sa_put(root, cbor_build_string("attStmt"), stmt);
    stmt = NULL;
    sa_put(root, cbor_build_string("authData"), cbor_build_bytestring(ad, ad_len));
    if (sa_serialize(root, &ao, &ao_len) != 0)
        goto out;

    cred = sa_credential(sa, o);
    resp = json_object();
    sa_set_b64(resp, "clientDataJSON", (const uint8_t *)cdj, strlen(cdj));
    sa_set_b64(resp, "attestationObject", ao, ao_len);
    json_object_set_new(resp, "transports", json_pack("[s]", "internal"));
    json_object_set_new(cred, "response", resp);

out:
    if (stmt != NULL)
        cbor_decref(&stmt);
    EVP_PKEY_free(att_key);
    free(cdj);
    free(ad);
    free(sig);
    free(msg);
    free(ao);
    free(cert);
    return cred;
}

json_t *sa_assert(softauthn_t *sa, const sa_opts_t *o)
{
    char *cdj = sa_client_data(o, "webauthn.get");
    uint8_t *ad = NULL, *sig = NULL, *msg = NULL;
    size_t ad_len = 0, sig_len = 0;
    json_t *cred = NULL, *resp;

    ad = sa_auth_data(sa, o, 0, &ad_len);
    if (cdj == NULL || ad == NULL)
        goto out;
    msg = malloc(ad_len + 32);
    if (msg == NULL)
        goto out;
    memcpy(msg, ad, ad_len);
    SHA256((const unsigned char *)cdj, strlen(cdj), msg + ad_len);
    if (o->bad_sig)
        msg[ad_len] ^= 1;
    if (sa_sign(sa->key, sa->alg, msg, ad_len + 32, &sig, &sig_len) != 0)
        goto out;
    cred = sa_credential(sa, o);
    resp = json_object();
    sa_set_b64(resp, "clientDataJSON", (const uint8_t *)cdj, strlen(cdj));
    sa_set_b64(resp, "authenticatorData", ad, ad_len);
    sa_set_b64(resp, "signature", sig, sig_len);
    sa_set_b64(resp, "userHandle", (const uint8_t *)"user-1", 6);
    json_object_set_new(cred, "response", resp);

out:
    free(cdj);
    free(ad);
    free(sig);
    free(msg);
    return cred;
}
