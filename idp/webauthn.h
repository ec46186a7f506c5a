/* WebAuthn Level 3 relying-party ceremonies: registration (§7.1) and authentication (§7.2).
 * Pure verification: the caller supplies the expected challenge and stored credential,
 * and stores the result. No I/O here. */
#ifndef IDP_WEBAUTHN_H
#define IDP_WEBAUTHN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "idp/wp.h"

#define WEBAUTHN_CHALLENGE_BYTES 32
#define WEBAUTHN_MAX_CRED_ID 1023 /* bytes, §7.1 step 23 */

typedef struct {
    const char *rp_id;  /* e.g. "localhost", the issuer's host */
    const char *origin; /* e.g. "http://localhost:8080", the issuer */
} webauthn_rp_t;

/* Authenticator data flags (§6.1). */
#define WEBAUTHN_FLAG_UP 0x01
#define WEBAUTHN_FLAG_UV 0x04
#define WEBAUTHN_FLAG_BE 0x08
#define WEBAUTHN_FLAG_BS 0x10
#define WEBAUTHN_FLAG_AT 0x40
#define WEBAUTHN_FLAG_ED 0x80

/* Parsed authenticator data; pointers point into the caller's buffer. */
typedef struct {
    const uint8_t *rp_id_hash; /* 32 bytes */
    uint8_t flags;
    uint32_t sign_count;
    /* attested credential data, when flags & AT */
    const uint8_t *aaguid; /* 16 bytes */
    const uint8_t *cred_id;
    size_t cred_id_len;
    const uint8_t *cose_key; /* CBOR COSE_Key */
    size_t cose_key_len;
} webauthn_authdata_t;

/* Parses authenticator data with a bounded reader. Requires AT data exactly when
 * flags say AT, a CBOR map of extensions exactly when ED, and no trailing bytes.
 * Returns WP_OK or WP_ERR_INVALID (out untouched then). */
wp_err_t webauthn_authdata_parse(const uint8_t *data, size_t len, webauthn_authdata_t *out);

/* What a verified registration yields, to be stored. Strings are malloc'd; free
 * with webauthn_registration_clear. */
typedef struct {
    char *cred_id;       /* base64url of the credential id */
    uint8_t *public_key; /* COSE_Key CBOR as sent */
    size_t public_key_len;
    int alg; /* COSE alg */
    uint32_t sign_count;
    int backup_eligible;   /* BE */
    int backup_state;      /* BS */
    char aaguid[37];       /* 8-4-4-4-12 lowercase hex */
    char *transports;      /* JSON array text from response.transports, or "[]" */
    char *attestation_fmt; /* "none" or "packed" */
} webauthn_registration_t;

void webauthn_registration_clear(webauthn_registration_t *reg);

/* Verifies a RegistrationResponseJSON (WebAuthn L3 §5.1, base64url fields) against the
 * expected challenge (raw bytes) following §7.1: id/rawId/type, clientDataJSON type
 * "webauthn.create", challenge, origin, no cross-origin top frame, attestationObject,
 * rpIdHash, UP, UV (required), BE/BS consistency, alg in {ES256, EdDSA, RS256},
 * attestation fmt "none" (empty attStmt) or "packed" (self: alg matches, signature by
 * the credential key; x5c: certificate requirements of §8.2.1 and signature by the leaf).
 * On success WP_OK and *out filled; else WP_ERR_INVALID and *why names the failed check
 * (a static string, safe to log and to show as error_description). */
wp_err_t webauthn_verify_registration(const webauthn_rp_t *rp, const uint8_t *challenge,
                                      size_t challenge_len, const json_t *credential,
                                      webauthn_registration_t *out, const char **why);

/* Reads the credential id (base64url string "id") and, if present, userHandle from an
 * AuthenticationResponseJSON without verifying anything, so the caller can load the
 * stored credential. Returns pointers into credential (valid while it lives). */
wp_err_t webauthn_assertion_ids(const json_t *credential, const char **cred_id,
                                const char **user_handle);

typedef struct {
    uint32_t sign_count; /* new counter to store */
    int backup_state;    /* BS now */
    int user_verified;
} webauthn_assertion_t;

/* Verifies an AuthenticationResponseJSON (§7.2) for the stored credential: type,
 * clientDataJSON type "webauthn.get", challenge, origin, rpIdHash, UP, UV (required),
 * BE unchanged from stored_be, signature over authData || SHA-256(clientDataJSON) with the
 * stored COSE key, and the sign counter rule (when either counter is non-zero the new one
 * must be greater; otherwise refused as a possible clone).
 * Returns WP_OK with *out, or WP_ERR_INVALID with *why. */
wp_err_t webauthn_verify_assertion(const webauthn_rp_t *rp, const uint8_t *challenge,
                                   size_t challenge_len, const json_t *credential,
                                   const uint8_t *public_key, size_t public_key_len,
                                   uint32_t stored_sign_count, int stored_be,
                                   webauthn_assertion_t *out, const char **why);

#endif
