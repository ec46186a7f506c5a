/* Compact JWE decryption (RFC 7516) with the provider's RSA-OAEP keys, for request
 * objects encrypted to us (RFC 9101 §6.1, OIDC Core §6.3.3). */
#ifndef CRYPTO_JWE_H
#define CRYPTO_JWE_H

#include <stddef.h>

#include "crypto/sigkey.h"

#define JWE_MAX_LEN 32768       /* characters of the compact form */
#define JWE_PLAINTEXT_MAX 16384 /* bytes of the decrypted content */

/* 1 when compact has the shape of a compact JWE: exactly five dot-separated parts. */
int jwe_is_compact(const char *compact);

/* Decrypts a compact JWE made with alg RSA-OAEP and enc A256GCM only (RSA-OAEP-256,
 * other algorithms, zip and crit are refused; cty, when present, must be "JWT") with one
 * of keys[0..nkeys) (SIGKEY_RSA_OAEP keys; any other key is skipped). A header kid must
 * name one of them; without a kid each is tried. At most JWE_MAX_LEN characters in and
 * JWE_PLAINTEXT_MAX bytes out. On success returns 0 and *plaintext, NUL-terminated and
 * without an inner NUL (free() after sodium_memzero); -1 otherwise. */
int jwe_decrypt(const char *compact, sigkey_t *const *keys, size_t nkeys, char **plaintext);

#endif
