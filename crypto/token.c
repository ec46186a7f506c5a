/* Random tokens, one-time codes and keyed hashes of secrets (libsodium). */
#include "crypto/token.h"

#include <sodium.h>
#include <string.h>

/* Code alphabet: uppercase letters and digits without 0 O 1 I L. */
static const char code_alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
#define CODE_ALPHABET_LEN (sizeof(code_alphabet) - 1)
#define CODE_HALF ((size_t)4) /* characters on each side of the hyphen */
#define TOKEN_RANDOM_MAX 64   /* largest nbytes token_random accepts */
#define TOKEN_HASH_BYTES 32   /* BLAKE2b-256 */

int token_random(char *out, size_t out_size, size_t nbytes)
{
    uint8_t buf[TOKEN_RANDOM_MAX];

    if (out == NULL || nbytes == 0 || nbytes > TOKEN_RANDOM_MAX)
        return -1;
    if (out_size < sodium_base64_ENCODED_LEN(nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return -1;
    randombytes_buf(buf, nbytes);
    sodium_bin2base64(out, out_size, buf, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(buf, sizeof(buf));
    return 0;
}

void token_code_new(char out[CODE_LEN + 1])
{
    size_t j = 0;

    for (size_t i = 0; i < 2 * CODE_HALF; i++) {
        if (i == CODE_HALF)
            out[j++] = '-';
        out[j++] = code_alphabet[randombytes_uniform((uint32_t)CODE_ALPHABET_LEN)];
    }
    out[j] = '\0';
}

int token_code_normalize(const char *in, char out[CODE_LEN + 1])
{
    char chars[2 * CODE_HALF];
    size_t n = 0;

    if (in == NULL)
        return -1;
    for (const char *p = in; *p != '\0'; p++) {
        char c = *p;

        if (c == ' ' || c == '-')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == '\0' || strchr(code_alphabet, c) == NULL || n == sizeof(chars))
            return -1;
        chars[n++] = c;
    }
    if (n != sizeof(chars))
        return -1;
    memcpy(out, chars, CODE_HALF);
    out[CODE_HALF] = '-';
    memcpy(out + CODE_HALF + 1, chars + CODE_HALF, CODE_HALF);
    out[CODE_LEN] = '\0';
    return 0;
}

void token_hash(const uint8_t key[TOKEN_HASH_KEY_BYTES], const char *purpose, const char *secret,
                char out[TOKEN_HASH_HEX_LEN + 1])
{
    crypto_generichash_state st;
    uint8_t hash[TOKEN_HASH_BYTES];
    static const uint8_t sep = 0x00;

    crypto_generichash_init(&st, key, TOKEN_HASH_KEY_BYTES, sizeof(hash));
    crypto_generichash_update(&st, (const uint8_t *)purpose, strlen(purpose));
    crypto_generichash_update(&st, &sep, 1);
    crypto_generichash_update(&st, (const uint8_t *)secret, strlen(secret));
    crypto_generichash_final(&st, hash, sizeof(hash));
    sodium_bin2hex(out, TOKEN_HASH_HEX_LEN + 1, hash, sizeof(hash));
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(hash, sizeof(hash));
}

int token_equal(const char *a, const char *b)
{
    size_t na, nb;

    if (a == NULL || b == NULL)
        return 0;
    na = strlen(a);
    nb = strlen(b);
    if (na != nb)
        return 0;
    return sodium_memcmp(a, b, na) == 0;
}
