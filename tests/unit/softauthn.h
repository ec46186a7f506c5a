/* A software WebAuthn authenticator and client for unit tests: makes ES256, EdDSA and
 * RS256 credentials with OpenSSL, attestation objects ("none", "packed" self and x5c
 * with a self-made leaf certificate) and assertions with libcbor, and returns the
 * WebAuthn L3 JSON forms built with jansson. Knobs in sa_opts_t break one thing each. */
#ifndef TESTS_UNIT_SOFTAUTHN_H
#define TESTS_UNIT_SOFTAUTHN_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SA_ATT_NONE, SA_ATT_PACKED_SELF, SA_ATT_PACKED_X5C } sa_att_t;

typedef struct {
    const char *rp_id;  /* hashed into authData */
    const char *origin; /* clientDataJSON origin */
    const uint8_t *challenge;
    size_t challenge_len;
    const char *cd_type;    /* clientDataJSON type; NULL: the right one */
    const char *cred_type;  /* credential type; NULL: "public-key" */
    uint8_t flags_set;      /* flags added to the default UP|UV (and AT) */
    uint8_t flags_clear;    /* flags removed from it */
    uint32_t sign_count;    /* counter in authData */
    int cross_origin;       /* crossOrigin: true */
    int top_origin;         /* add topOrigin */
    int bad_sig;            /* sign other bytes than the right ones */
    int trailing;           /* one extra byte after authData */
    int truncate;           /* authData one byte short */
    int extensions;         /* ED flag with an extensions map */
    int wrong_raw_id;       /* rawId differs from id */
    sa_att_t att;           /* attestation form */
    const char *fmt;        /* fmt override, e.g. "tpm" */
    int cose_alg;           /* alg label written in the COSE key; 0: the real one */
    int att_alg;            /* packed attStmt alg; 0: the right one */
    const char *cert_ou;    /* leaf OU; NULL: "Authenticator Attestation" */
    int cert_ca;            /* leaf basicConstraints CA:TRUE */
    int cert_aaguid;        /* 0: right aaguid extension, 1: wrong one, 2: none */
    int none_stmt_nonempty; /* "none" with a non-empty attStmt */
} sa_opts_t;

typedef struct {
    int alg;
    EVP_PKEY *key;
    uint8_t *cred_id;
    size_t cred_id_len;
    uint8_t aaguid[16];
    uint8_t *cose_key; /* as registered */
    size_t cose_key_len;
} softauthn_t;

/* Makes a credential of COSE alg -7, -8 or -257 with a random id of cred_id_len bytes.
 * Returns it (sa_free) or NULL. */
softauthn_t *sa_new(int alg, size_t cred_id_len);
void sa_free(softauthn_t *sa);

/* Default options for rp_id/origin/challenge. */
sa_opts_t sa_opts(const char *rp_id, const char *origin, const uint8_t *challenge,
                  size_t challenge_len);

/* RegistrationResponseJSON (json_decref), or NULL. Sets sa->cose_key. */
json_t *sa_register(softauthn_t *sa, const sa_opts_t *o);

/* AuthenticationResponseJSON (json_decref), or NULL. */
json_t *sa_assert(softauthn_t *sa, const sa_opts_t *o);

/* The COSE_Key CBOR of a public key with an alg label (0: the key's own alg).
 * Returns 0 with *out (free) and *len. */
int sa_cose_key(EVP_PKEY *key, int alg, int alg_label, uint8_t **out, size_t *len);

/* Hex text to bytes (free). Returns 0 or -1. */
int sa_hex(const char *hex, uint8_t **out, size_t *len);

#endif
