/* PKCE (RFC 7636), S256 only. */
#include "crypto/pkce.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"

#define PKCE_CHALLENGE_LEN 43 /* base64url of a SHA-256 digest */
#define PKCE_VERIFIER_MIN 43
#define PKCE_VERIFIER_MAX 128
#define PKCE_DIGEST_LEN 32

/* 1 when c is an RFC 3986 unreserved character, the verifier alphabet. */
static int pkce_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int pkce_challenge_valid(const char *challenge)
{
    uint8_t *digest = NULL;
    size_t len = 0;

    if (challenge == NULL || strnlen(challenge, PKCE_CHALLENGE_LEN + 1) != PKCE_CHALLENGE_LEN)
        return 0;
    /* Strict decode also rejects non-canonical trailing bits. */
    if (b64url_decode(challenge, PKCE_DIGEST_LEN, &digest, &len) != 0)
        return 0;
    free(digest);
    return len == PKCE_DIGEST_LEN;
}

int pkce_s256_check(const char *verifier, const char *challenge)
{
    uint8_t digest[PKCE_DIGEST_LEN];
    unsigned int digest_len = 0;
    char *computed = NULL;
    size_t n;
    int ok = 0;

    if (verifier == NULL || !pkce_challenge_valid(challenge))
        return 0;
    n = strnlen(verifier, PKCE_VERIFIER_MAX + 1);
    if (n < PKCE_VERIFIER_MIN || n > PKCE_VERIFIER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!pkce_unreserved((unsigned char)verifier[i]))
            return 0;
    }
    if (EVP_Digest(verifier, n, digest, &digest_len, EVP_sha256(), NULL) != 1 ||
        digest_len != sizeof(digest))
        goto out;
    computed = b64url_encode(digest, sizeof(digest));
    if (computed == NULL || strlen(computed) != PKCE_CHALLENGE_LEN)
        goto out;
    ok = CRYPTO_memcmp(computed, challenge, PKCE_CHALLENGE_LEN) == 0;

out:
    free(computed);
    return ok;
}
