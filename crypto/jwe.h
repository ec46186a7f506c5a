/* Compact JWE (RFC 7516) with RSA keys and A256GCM: decryption of request objects
 * encrypted to the provider (RFC 9101 §6.1, OIDC Core §6.3.3), and encryption of ID
 * tokens and userinfo responses to a client's registered key (OIDC Core §10.2).
 * Two key-management algorithms (RFC 7518 §4.3): "RSA-OAEP" (SHA-1, through cjose) and
 * "RSA-OAEP-256" (SHA-256 and MGF1-SHA-256, through OpenSSL EVP: cjose has none). */
#ifndef CRYPTO_JWE_H
#define CRYPTO_JWE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sigkey.h"

#define JWE_MAX_LEN 32768       /* characters of the compact form */
#define JWE_PLAINTEXT_MAX 16384 /* bytes of the content, in or out */

/* 1 when alg is "RSA-OAEP" or "RSA-OAEP-256" (exact names), else 0. The only content
 * encryption is "A256GCM". */
int jwe_alg_supported(const char *alg);

/* 1 when compact has the shape of a compact JWE: exactly five dot-separated parts. */
int jwe_is_compact(const char *compact);

/* Decrypts a compact JWE made with alg RSA-OAEP or RSA-OAEP-256 and enc A256GCM (other
 * algorithms, zip and crit are refused; cty, when present, must be "JWT") with one of
 * keys[0..nkeys) (SIGKEY_RSA_OAEP keys; any other key is skipped). A header kid must
 * name one of them; without a kid each is tried. At most JWE_MAX_LEN characters in and
 * JWE_PLAINTEXT_MAX bytes out. Every failure (shape, header, wrapped key, tag) gives the
 * same -1. On success returns 0 and *plaintext, NUL-terminated and without an inner NUL
 * (free() after sodium_memzero); on error *plaintext is untouched. */
int jwe_decrypt(const char *compact, sigkey_t *const *keys, size_t nkeys, char **plaintext);

/* Encrypts len bytes (1 to JWE_PLAINTEXT_MAX) to the public half of the RSA key `to`
 * (from sigkey_from_public_jwk or sigkey_generate) with alg "RSA-OAEP" or
 * "RSA-OAEP-256" and enc A256GCM. kid and cty, when not NULL, go into the protected
 * header. Returns the compact JWE (free()) or NULL on any error; the content key is
 * wiped either way. */
char *jwe_encrypt(const sigkey_t *to, const char *alg, const char *kid, const char *cty,
                  const uint8_t *plaintext, size_t len);

/* Picks from a JWKS document ({"keys": [...]}) the key to encrypt to with alg: the first
 * RSA key of "use" "enc" whose "alg", when present, is alg, and which imports (at least
 * 2048 bits). Returns it (sigkey_free) and sets *kid to its "kid" inside jwks (valid
 * while jwks lives; NULL when it has none), or returns NULL. */
sigkey_t *jwe_recipient_key(const json_t *jwks, const char *alg, const char **kid);

#endif
