/* Random tokens, one-time codes and keyed hashes of secrets (libsodium). */
#ifndef CRYPTO_TOKEN_H
#define CRYPTO_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_HASH_KEY_BYTES 32
#define TOKEN_HASH_HEX_LEN 64 /* hex chars of a keyed hash, without the NUL */
#define CODE_LEN 9            /* "XXXX-XXXX" without the NUL */

/* Fills out with a base64url string of nbytes random bytes (nbytes <= 64).
 * out must hold at least 4 * ceil(nbytes / 3) + 1 bytes; 32 bytes give 43 chars.
 * Returns 0, or -1 when out is too small. */
int token_random(char *out, size_t out_size, size_t nbytes);

/* Writes a new one-time code "XXXX-XXXX" (uppercase letters and digits without
 * look-alikes: no 0 O 1 I L) plus NUL into out[CODE_LEN + 1]. */
void token_code_new(char out[CODE_LEN + 1]);

/* Normalises a code typed by a person: drops spaces and hyphens, uppercases, and
 * rejects characters outside the alphabet. Writes "XXXX-XXXX" into
 * out[CODE_LEN + 1]. Returns 0, or -1 when it is not 8 characters of the alphabet. */
int token_code_normalize(const char *in, char out[CODE_LEN + 1]);

/* Keyed hash (BLAKE2b-256 keyed with key, domain-separated by purpose) of a secret,
 * as lowercase hex into out[TOKEN_HASH_HEX_LEN + 1]. Used to store tokens, codes,
 * session ids and client secrets: the database holds only these. */
void token_hash(const uint8_t key[TOKEN_HASH_KEY_BYTES], const char *purpose, const char *secret,
                char out[TOKEN_HASH_HEX_LEN + 1]);

/* Constant-time equality of two NUL-terminated strings (lengths may leak). 1 if equal. */
int token_equal(const char *a, const char *b);

#endif
