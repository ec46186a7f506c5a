/* The provider's signing keys and its RSA-OAEP encryption keys: loaded from storage and unsealed,
 * made on first start, rotated. Thread-safe for readers; keyring_reload swaps the set. */
#ifndef IDP_KEYRING_H
#define IDP_KEYRING_H

#include <jansson.h>
#include <stdint.h>

#include "crypto/seal.h"
#include "crypto/sigkey.h"
#include "idp/store.h"

typedef struct keyring keyring_t;

/* Loads every published key. When ensure is non-zero and a key of RS256, ES256, PS256,
 * EdDSA or RSA-OAEP is missing, makes one (and stores it sealed). Returns WP_OK and *out
 * (keyring_free). */
wp_err_t keyring_open(store_t *s, const uint8_t master[SEAL_KEY_BYTES], int ensure,
                      keyring_t **out);
void keyring_free(keyring_t *k);
/* Re-reads keys from storage (after a rotation by another process). */
wp_err_t keyring_reload(keyring_t *k);

/* Makes a new key of alg and stores it sealed. It is published at once (next JWKS) and
 * becomes the signing key of its algorithm once older than the publish delay; an
 * RSA-OAEP key decrypts as soon as it is loaded. */
wp_err_t keyring_rotate(store_t *s, const uint8_t master[SEAL_KEY_BYTES], sigkey_alg_t alg,
                        char *kid_out, size_t kid_size);

/* The key to sign with for alg: the newest key of that alg that has been published for
 * at least publish_delay seconds (or the only one). NULL when none, and always NULL for
 * SIGKEY_RSA_OAEP. The pointer stays
 * valid until keyring_free (reload keeps old keys alive). */
const sigkey_t *keyring_signing_key(keyring_t *k, sigkey_alg_t alg, int64_t now);

/* The latest time at which the published key kid may have signed a token: now while it
 * signs (or may sign again), the moment a newer key of its algorithm took over, or 0
 * when it never signed (a pending key). An encryption key counts as in use now. -1 when
 * kid is not published. */
int64_t keyring_last_signed(keyring_t *k, const char *kid, int64_t now);

/* JWKS document {"keys": [...]} of every published key. New reference. */
json_t *keyring_jwks(keyring_t *k);

/* All published signing keys (never an encryption key), for verifying tokens we issued.
 * *keys points into the keyring. */
void keyring_all(keyring_t *k, sigkey_t *const **keys, size_t *n);

/* All published RSA-OAEP keys, for decrypting request objects encrypted to us. *keys
 * points into the keyring, valid until keyring_free. */
void keyring_enc_keys(keyring_t *k, sigkey_t *const **keys, size_t *n);

#endif
