/* Compact JWS/JWT signing and verification with the provider's keys. */
#ifndef CRYPTO_JWS_H
#define CRYPTO_JWS_H

#include <jansson.h>

#include "crypto/sigkey.h"

/* Signs claims as a compact JWS with header {alg, kid, typ}. typ may be NULL ("JWT"
 * then omitted) or e.g. "at+jwt", "logout+jwt". RSA/EC through cjose, EdDSA through
 * OpenSSL EVP. Returns the compact string (free with free()) or NULL. */
char *jws_sign(const sigkey_t *key, const char *typ, json_t *claims);

/* Verifies a compact JWS against one of keys[0..nkeys) chosen by the header's kid,
 * requiring that key's algorithm and, when typ is not NULL, that header typ.
 * On success returns 0 and the claims (json_decref); -1 otherwise. Does not check
 * time claims: the caller does. */
int jws_verify(const char *compact, sigkey_t *const *keys, size_t nkeys, const char *typ,
               json_t **claims);

#endif
