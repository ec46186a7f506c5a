/* Keys of the provider: generation, private serialisation, public JWK, kid. Signing keys,
 * and one kind of encryption key (SIGKEY_RSA_OAEP, for request objects encrypted to us)
 * that never signs and never verifies. */
#ifndef CRYPTO_SIGKEY_H
#define CRYPTO_SIGKEY_H

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>

#define SIGKEY_KID_MAX 64

typedef enum {
    SIGKEY_RS256,
    SIGKEY_PS256,
    SIGKEY_ES256,
    SIGKEY_EDDSA,
    SIGKEY_RSA_OAEP /* RSA 3072 decryption key ("use":"enc"); never a signature alg */
} sigkey_alg_t;

typedef struct {
    sigkey_alg_t alg;
    char kid[SIGKEY_KID_MAX]; /* RFC 7638 thumbprint, base64url */
    cjose_jwk_t *jwk;         /* RSA and EC keys (cjose); NULL for EdDSA */
    EVP_PKEY *pkey;           /* always set: the same key for OpenSSL */
} sigkey_t;

/* "RS256" -> SIGKEY_RS256 etc., signature algorithms only: "RSA-OAEP" is unknown here,
 * so a name from a client or a token header never selects the encryption key.
 * Returns 0 or -1 for an unknown name. */
int sigkey_alg_parse(const char *name, sigkey_alg_t *out);
/* Like sigkey_alg_parse, and also "RSA-OAEP" -> SIGKEY_RSA_OAEP: for our stored keys
 * and the key rotation command. */
int sigkey_alg_parse_any(const char *name, sigkey_alg_t *out);
const char *sigkey_alg_name(sigkey_alg_t alg);

/* Makes a new key: RSA 3072 for RS256/PS256/RSA-OAEP, P-256 for ES256, Ed25519 for EdDSA.
 * Returns a key freed with sigkey_free, or NULL. */
sigkey_t *sigkey_generate(sigkey_alg_t alg);

/* Private key as a JSON text (a private JWK, OKP for Ed25519), for sealing at rest.
 * Free with free() after sodium_memzero. NULL on error. */
char *sigkey_private_json(const sigkey_t *key);

/* Reads what sigkey_private_json wrote. Returns a key or NULL. */
sigkey_t *sigkey_from_private_json(const char *json, sigkey_alg_t alg);

/* Public JWK with kid, alg and "use" ("enc" for SIGKEY_RSA_OAEP, then without "alg": it
 * serves RSA-OAEP and RSA-OAEP-256; else "sig"). New reference,
 * json_decref. NULL on error. */
json_t *sigkey_public_jwk(const sigkey_t *key);

/* Verification-only key from a public JWK (e.g. a client's key for private_key_jwt):
 * kty must suit alg (RSA for RS256/PS256, EC P-256 for ES256, OKP Ed25519 for EdDSA;
 * RSA at least 2048 bits). kid is the JWK's "kid" when present, else its RFC 7638
 * thumbprint. Private members are ignored. Returns a key (sigkey_free) or NULL. */
sigkey_t *sigkey_from_public_jwk(const json_t *jwk, sigkey_alg_t alg);

/* RFC 7638 thumbprint (SHA-256, base64url) of an RSA, EC or OKP JWK, private members
 * ignored, into kid. Returns 0 or -1 for an unsupported or malformed key. */
int sigkey_thumbprint(const json_t *jwk, char kid[SIGKEY_KID_MAX]);

void sigkey_free(sigkey_t *key);

#endif
