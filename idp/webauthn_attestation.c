/* Attestation objects and statements: formats "none" (§8.7) and "packed" (§8.2).
 * Trust anchors are not checked: there is no metadata service, so a packed x5c
 * statement proves only that the leaf key signed this credential. */
#include "idp/webauthn_internal.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cose.h"

#define ATT_MAX_X5C 8 /* certificates in x5c */
#define ATT_AAGUID_OID "1.3.6.1.4.1.45724.1.1.4"

const cbor_item_t *webauthn_cbor_get(const cbor_item_t *map, const char *key)
{
    struct cbor_pair *pairs;
    size_t n, klen = strlen(key);

    if (map == NULL || !cbor_isa_map(map))
        return NULL;
    pairs = cbor_map_handle(map);
    n = cbor_map_size(map);
    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *k = pairs[i].key;
        if (cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == klen &&
            memcmp(cbor_string_handle(k), key, klen) == 0)
            return pairs[i].value;
    }
    return NULL;
}

/* Returns 1 when every key of map is a definite text string found in allowed (a NULL
 * terminated list) and no key repeats. */
static int keys_only(const cbor_item_t *map, const char *const *allowed)
{
    struct cbor_pair *pairs = cbor_map_handle(map);
    size_t n = cbor_map_size(map);
    unsigned seen = 0;

    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *k = pairs[i].key;
        size_t j;
        if (!cbor_isa_string(k) || !cbor_string_is_definite(k))
            return 0;
        for (j = 0; allowed[j] != NULL; j++) {
            if (cbor_string_length(k) == strlen(allowed[j]) &&
                memcmp(cbor_string_handle(k), allowed[j], strlen(allowed[j])) == 0)
                break;
        }
        if (allowed[j] == NULL || (seen & (1u << j)))
            return 0;
        seen |= 1u << j;
    }
    return 1;
}

static int is_bytes(const cbor_item_t *item)
{
    return item != NULL && cbor_isa_bytestring(item) && cbor_bytestring_is_definite(item);
}

wp_err_t webauthn_attobj_decode(const uint8_t *buf, size_t len, webauthn_attobj_t *out)
{
    static const char *const keys[] = {"fmt", "attStmt", "authData", NULL};
    cbor_item_t *root = NULL;
    const cbor_item_t *fmt, *stmt, *ad;
    size_t read = 0;

    memset(out, 0, sizeof *out);
    if (buf == NULL || len == 0 || len > WEBAUTHN_MAX_ATT_OBJECT)
        return WP_ERR_INVALID;
    root = cose_cbor_load(buf, len, &read);
    if (root == NULL)
        return WP_ERR_INVALID;
    if (read != len || !cbor_isa_map(root) || !keys_only(root, keys))
        goto bad;
    fmt = webauthn_cbor_get(root, "fmt");
    stmt = webauthn_cbor_get(root, "attStmt");
    ad = webauthn_cbor_get(root, "authData");
    if (fmt == NULL || !cbor_isa_string(fmt) || !cbor_string_is_definite(fmt) ||
        cbor_string_length(fmt) == 0 || cbor_string_length(fmt) >= sizeof out->fmt)
        goto bad;
    if (stmt == NULL || !cbor_isa_map(stmt) || !is_bytes(ad))
        goto bad;
    memcpy(out->fmt, cbor_string_handle(fmt), cbor_string_length(fmt));
    out->fmt[cbor_string_length(fmt)] = '\0';
    if (strlen(out->fmt) != cbor_string_length(fmt))
        goto bad; /* embedded NUL */
    out->root = root;
    out->att_stmt = stmt;
    out->auth_data = cbor_bytestring_handle(ad);
    out->auth_data_len = cbor_bytestring_length(ad);
    return WP_OK;

bad:
    cbor_decref(&root);
    memset(out, 0, sizeof *out);
    return WP_ERR_INVALID;
}

void webauthn_attobj_clear(webauthn_attobj_t *obj)
{
    if (obj == NULL)
        return;
    if (obj->root != NULL)
        cbor_decref(&obj->root);
    memset(obj, 0, sizeof *obj);
}

/* Returns 1 when name has exactly one entry for nid with a non-empty value, and when
 * want is given, that value equals it. */
static int name_has(const X509_NAME *name, int nid, const char *want)
{
    int idx = X509_NAME_get_index_by_NID(name, nid, -1);
    const ASN1_STRING *s;

    if (idx < 0 || X509_NAME_get_index_by_NID(name, nid, idx) >= 0)
        return 0;
    s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    if (s == NULL || ASN1_STRING_length(s) <= 0)
        return 0;
    if (want == NULL)
        return 1;
    return (size_t)ASN1_STRING_length(s) == strlen(want) &&
           memcmp(ASN1_STRING_get0_data(s), want, strlen(want)) == 0;
}

/* Leaf certificate requirements of §8.2.1. Returns NULL when met, else the why. */
static const char *check_leaf(X509 *leaf, const uint8_t *aaguid)
{
    const X509_NAME *subject = X509_get_subject_name(leaf);
    BASIC_CONSTRAINTS *bc;
    ASN1_OBJECT *oid = NULL;
    ASN1_OCTET_STRING *inner = NULL;
    const char *why = WEBAUTHN_WHY_ATT_CERT;
    int crit = 0, idx, ca;

    if (X509_get_version(leaf) != 2)
        return why;
    if (!name_has(subject, NID_countryName, NULL) ||
        !name_has(subject, NID_organizationName, NULL) ||
        !name_has(subject, NID_organizationalUnitName, "Authenticator Attestation") ||
        !name_has(subject, NID_commonName, NULL))
        return why;
    bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
    if (bc == NULL)
        return why;
    ca = bc->ca;
    BASIC_CONSTRAINTS_free(bc);
    if (ca)
        return why;

    oid = OBJ_txt2obj(ATT_AAGUID_OID, 1);
    if (oid == NULL)
        return why;
    idx = X509_get_ext_by_OBJ(leaf, oid, -1);
    if (idx >= 0) {
        X509_EXTENSION *ext = X509_get_ext(leaf, idx);
        const ASN1_OCTET_STRING *outer = X509_EXTENSION_get_data(ext);
        const unsigned char *p = ASN1_STRING_get0_data(outer);
        long plen = ASN1_STRING_length(outer);
        why = WEBAUTHN_WHY_ATT_AAGUID;
        if (X509_EXTENSION_get_critical(ext) || X509_get_ext_by_OBJ(leaf, oid, idx) >= 0)
            goto out;
        inner = d2i_ASN1_OCTET_STRING(NULL, &p, plen);
        if (inner == NULL || p != ASN1_STRING_get0_data(outer) + plen ||
            ASN1_STRING_length(inner) != 16 ||
            CRYPTO_memcmp(ASN1_STRING_get0_data(inner), aaguid, 16) != 0)
            goto out;
    }
    why = NULL;

out:
    ASN1_OCTET_STRING_free(inner);
    ASN1_OBJECT_free(oid);
    return why;
}

/* "packed" (§8.2.2 verification procedure). */
static wp_err_t verify_packed(const cbor_item_t *stmt, const uint8_t *msg, size_t msg_len,
                              const webauthn_authdata_t *ad, int cred_alg, EVP_PKEY *cred_key,
                              const char **why)
{
    static const char *const keys[] = {"alg", "sig", "x5c", NULL};
    const cbor_item_t *alg_item = webauthn_cbor_get(stmt, "alg");
    const cbor_item_t *sig = webauthn_cbor_get(stmt, "sig");
    const cbor_item_t *x5c = webauthn_cbor_get(stmt, "x5c");
    X509 *leaf = NULL;
    wp_err_t rc = WP_ERR_INVALID;
    const char *what = WEBAUTHN_WHY_ATT_STMT;
    int alg;

    if (!keys_only(stmt, keys) || alg_item == NULL || !cbor_isa_negint(alg_item) ||
        cbor_get_int(alg_item) > 0x7fff || !is_bytes(sig) || cbor_bytestring_length(sig) == 0)
        goto out;
    alg = -1 - (int)cbor_get_int(alg_item);

    if (x5c == NULL) {
        /* Self attestation: the credential key signs. */
        if (alg != cred_alg) {
            what = WEBAUTHN_WHY_ATT_ALG;
            goto out;
        }
        if (!cose_verify(alg, cred_key, msg, msg_len, cbor_bytestring_handle(sig),
                         cbor_bytestring_length(sig))) {
            what = WEBAUTHN_WHY_ATT_SIG;
            goto out;
        }
    } else {
        cbor_item_t **certs;
        const unsigned char *p;
        size_t n;

        if (!cbor_isa_array(x5c) || !cbor_array_is_definite(x5c))
            goto out;
        n = cbor_array_size(x5c);
        certs = cbor_array_handle(x5c);
        if (n == 0 || n > ATT_MAX_X5C)
            goto out;
        for (size_t i = 0; i < n; i++) {
            if (!is_bytes(certs[i]) || cbor_bytestring_length(certs[i]) == 0 ||
                cbor_bytestring_length(certs[i]) > 8192)
                goto out;
        }
        if (alg != COSE_ALG_ES256 && alg != COSE_ALG_EDDSA && alg != COSE_ALG_RS256) {
            what = WEBAUTHN_WHY_ALG;
            goto out;
        }
        p = cbor_bytestring_handle(certs[0]);
        leaf = d2i_X509(NULL, &p, (long)cbor_bytestring_length(certs[0]));
        if (leaf == NULL ||
            p != cbor_bytestring_handle(certs[0]) + cbor_bytestring_length(certs[0])) {
            what = WEBAUTHN_WHY_ATT_CERT;
            goto out;
        }
        if (!cose_verify(alg, X509_get0_pubkey(leaf), msg, msg_len, cbor_bytestring_handle(sig),
                         cbor_bytestring_length(sig))) {
            what = WEBAUTHN_WHY_ATT_SIG;
            goto out;
        }
        what = check_leaf(leaf, ad->aaguid);
        if (what != NULL)
            goto out;
    }
    rc = WP_OK;

out:
    if (rc != WP_OK)
        *why = what;
    X509_free(leaf);
    return rc;
}

wp_err_t webauthn_attestation_verify(const char *fmt, const cbor_item_t *att_stmt,
                                     const uint8_t *auth_data, size_t auth_data_len,
                                     const webauthn_authdata_t *ad, int cred_alg,
                                     EVP_PKEY *cred_key, const uint8_t client_data_hash[32],
                                     const char **why)
{
    uint8_t *msg = NULL;
    wp_err_t rc;

    if (strcmp(fmt, "none") == 0) {
        if (!cbor_isa_map(att_stmt) || cbor_map_size(att_stmt) != 0) {
            *why = WEBAUTHN_WHY_ATT_STMT;
            return WP_ERR_INVALID;
        }
        return WP_OK;
    }
    if (strcmp(fmt, "packed") != 0) {
        /* tpm, android-key, android-safetynet, fido-u2f, apple, compound: these need
         * vendor roots or formats we do not verify, so they are refused, not trusted. */
        *why = WEBAUTHN_WHY_FMT;
        return WP_ERR_INVALID;
    }
    if (auth_data_len > WEBAUTHN_MAX_ATT_OBJECT) {
        *why = WEBAUTHN_WHY_ATT_OBJECT;
        return WP_ERR_INVALID;
    }
    msg = malloc(auth_data_len + 32);
    if (msg == NULL) {
        *why = WEBAUTHN_WHY_NOMEM;
        return WP_ERR;
    }
    memcpy(msg, auth_data, auth_data_len);
    memcpy(msg + auth_data_len, client_data_hash, 32);
    rc = verify_packed(att_stmt, msg, auth_data_len + 32, ad, cred_alg, cred_key, why);
    free(msg);
    return rc;
}
