/* Encryption at rest with the master key (libsodium secretbox) and the master key file. */
#ifndef CRYPTO_SEAL_H
#define CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_BYTES 32

/* Loads the 32-byte master key from path (raw or hex file). When the file does not
 * exist and create is non-zero, makes a new random key and writes it with mode 0600
 * (creating the parent folder 0700 when missing). Refuses a key file readable by
 * group or others. Returns 0, or -1 with a reason in err (err_size bytes). */
int seal_master_key_load(const char *path, int create, uint8_t key[SEAL_KEY_BYTES], char *err,
                         size_t err_size);

/* Derives a purpose-specific 32-byte subkey from the master key (crypto_kdf,
 * context is at most 8 chars e.g. "tokenhsh", "sealkeys", "pairwise"). */
void seal_subkey(const uint8_t master[SEAL_KEY_BYTES], uint64_t id, const char *context,
                 uint8_t out[SEAL_KEY_BYTES]);

/* Encrypts n bytes: *out = nonce || MAC || ciphertext, free with free().
 * Returns 0 or -1. */
int seal_encrypt(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *pt, size_t n, uint8_t **out,
                 size_t *out_len);

/* Decrypts what seal_encrypt made. *out is NUL-terminated one byte past *out_len for
 * convenience; free with free() after sodium_memzero if it held a secret.
 * Returns 0, or -1 when the input is short or fails authentication. */
int seal_decrypt(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *in, size_t n, uint8_t **out,
                 size_t *out_len);

#endif
