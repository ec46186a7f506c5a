/* Internals shared by idp/webauthn_*.c and their unit tests: not part of the program's
 * interface. Each failed check is named by one of the WEBAUTHN_WHY_* strings. */
#ifndef IDP_WEBAUTHN_INTERNAL_H
#define IDP_WEBAUTHN_INTERNAL_H

#include <cbor.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "idp/webauthn.h"

#define WEBAUTHN_MAX_CLIENT_DATA 4096 /* bytes of clientDataJSON */
#define WEBAUTHN_MAX_ATT_OBJECT 65536 /* bytes of attestationObject */
#define WEBAUTHN_MAX_AUTH_DATA 8192   /* bytes of assertion authenticatorData */
#define WEBAUTHN_MAX_SIGNATURE 1024   /* bytes of a signature */
#define WEBAUTHN_MAX_CHALLENGE 64     /* bytes of a challenge */
#define WEBAUTHN_MAX_USER_HANDLE 64   /* bytes of a user handle (§5.4.3) */

#define WEBAUTHN_WHY_JSON "malformed credential JSON"
#define WEBAUTHN_WHY_TYPE "credential type is not public-key"
#define WEBAUTHN_WHY_ID "credential id does not match rawId"
#define WEBAUTHN_WHY_CLIENT_DATA "malformed clientDataJSON"
#define WEBAUTHN_WHY_CD_TYPE "wrong clientDataJSON type"
#define WEBAUTHN_WHY_CHALLENGE "challenge mismatch"
#define WEBAUTHN_WHY_ORIGIN "origin mismatch"
#define WEBAUTHN_WHY_CROSS_ORIGIN "cross-origin use refused"
#define WEBAUTHN_WHY_ATT_OBJECT "malformed attestationObject"
#define WEBAUTHN_WHY_AUTH_DATA "malformed authenticator data"
#define WEBAUTHN_WHY_RP_ID "rpIdHash mismatch"
#define WEBAUTHN_WHY_UP "user not present"
#define WEBAUTHN_WHY_UV "user not verified"
#define WEBAUTHN_WHY_BS "backup state without backup eligibility"
#define WEBAUTHN_WHY_NO_AT "no attested credential data"
#define WEBAUTHN_WHY_UNEXPECTED_AT "unexpected attested credential data"
#define WEBAUTHN_WHY_CRED_ID_LEN "credential id too long"
#define WEBAUTHN_WHY_CRED_ID "credential id differs from authenticator data"
#define WEBAUTHN_WHY_ALG "unsupported credential algorithm"
#define WEBAUTHN_WHY_KEY "malformed credential public key"
#define WEBAUTHN_WHY_FMT "unsupported attestation format"
#define WEBAUTHN_WHY_ATT_STMT "malformed attestation statement"
#define WEBAUTHN_WHY_ATT_ALG "attestation alg differs from credential alg"
#define WEBAUTHN_WHY_ATT_SIG "attestation signature invalid"
#define WEBAUTHN_WHY_ATT_CERT "attestation certificate requirements not met"
#define WEBAUTHN_WHY_ATT_AAGUID "attestation certificate aaguid mismatch"
#define WEBAUTHN_WHY_BE "backup eligibility changed"
#define WEBAUTHN_WHY_SIG "signature invalid"
#define WEBAUTHN_WHY_COUNTER "signature counter did not increase"
#define WEBAUTHN_WHY_NOMEM "out of memory"

/* A decoded attestation object (§6.5.4). root owns everything; fmt, att_stmt and
 * auth_data point into it. */
typedef struct {
    cbor_item_t *root;
    char fmt[32];
    const cbor_item_t *att_stmt;
    const uint8_t *auth_data;
    size_t auth_data_len;
} webauthn_attobj_t;

/* Decodes attestationObject bytes: exactly one CBOR map with the text keys fmt (text),
 * attStmt (map) and authData (bytes) and no others, no trailing bytes. Returns WP_OK and
 * *out (free with webauthn_attobj_clear), or WP_ERR_INVALID with *out zeroed. */
wp_err_t webauthn_attobj_decode(const uint8_t *buf, size_t len, webauthn_attobj_t *out);
void webauthn_attobj_clear(webauthn_attobj_t *obj);

/* Verifies the attestation statement for fmt "none" or "packed" (§8.2, §8.7) given
 * the raw authenticator data, its parsed form, the credential key and alg and the
 * clientDataHash. Trust anchors are not checked (no metadata service). Returns WP_OK or
 * WP_ERR_INVALID with *why. */
wp_err_t webauthn_attestation_verify(const char *fmt, const cbor_item_t *att_stmt,
                                     const uint8_t *auth_data, size_t auth_data_len,
                                     const webauthn_authdata_t *ad, int cred_alg,
                                     EVP_PKEY *cred_key, const uint8_t client_data_hash[32],
                                     const char **why);

/* Returns the value for a text key in a CBOR map, or NULL (none, or not a map). */
const cbor_item_t *webauthn_cbor_get(const cbor_item_t *map, const char *key);

/* Decodes clientDataJSON from base64url and checks it (§7.1 steps 7-10, §7.2 steps
 * 11-14): a JSON object at most WEBAUTHN_MAX_CLIENT_DATA bytes, type equal to type,
 * challenge equal to the expected bytes (constant time), origin equal to rp->origin,
 * crossOrigin absent or false, topOrigin absent. Writes SHA-256 of the bytes to hash.
 * Returns WP_OK or WP_ERR_INVALID with *why (hash untouched then). */
wp_err_t webauthn_clientdata_verify(const char *b64, const char *type, const webauthn_rp_t *rp,
                                    const uint8_t *challenge, size_t challenge_len,
                                    uint8_t hash[32], const char **why);

/* Checks the parts of authenticator data common to both ceremonies: rpIdHash is
 * SHA-256(rp->rp_id), UP set, UV set, BS not set without BE. Returns WP_OK or
 * WP_ERR_INVALID with *why. */
wp_err_t webauthn_authdata_check(const webauthn_rp_t *rp, const webauthn_authdata_t *ad,
                                 const char **why);

/* Verifies an assertion signature over auth_data || client_data_hash with a stored
 * COSE key. Returns WP_OK, or WP_ERR_INVALID with *why (WEBAUTHN_WHY_KEY or
 * WEBAUTHN_WHY_SIG). */
wp_err_t webauthn_signature_verify(const uint8_t *cose_key, size_t cose_key_len,
                                   const uint8_t *auth_data, size_t auth_data_len,
                                   const uint8_t client_data_hash[32], const uint8_t *sig,
                                   size_t sig_len, const char **why);

#endif
