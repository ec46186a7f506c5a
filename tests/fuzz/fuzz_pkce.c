/* Fuzzes PKCE: pkce_challenge_valid and pkce_s256_check with verifier and challenge from
 * the input (verifier FUZZ_SEP challenge), and checks that a verifier matches its own
 * S256 challenge exactly when the verifier is well formed (RFC 7636 §4.1). */
#include <openssl/sha.h>

#include "crypto/b64url.h"
#include "crypto/pkce.h"
#include "tests/fuzz/fuzz_util.h"

static int verifier_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 43 || n > 128)
        return 0;
    for (; *v; v++)
        if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') ||
              *v == '-' || *v == '.' || *v == '_' || *v == '~'))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    fuzz_part_t part[FUZZ_MAX_PARTS];
    size_t n = fuzz_split(data, len, part, 2);
    char *verifier = fuzz_strndup(part[0].p, part[0].len);
    char *challenge = n == 2 ? fuzz_strndup(part[1].p, part[1].len) : strdup("");
    uint8_t digest[32];

    if (pkce_challenge_valid(challenge))
        FUZZ_CHECK(strlen(challenge) == 43);
    (void)pkce_s256_check(verifier, challenge);

    SHA256((const uint8_t *)verifier, strlen(verifier), digest);
    char *own = b64url_encode(digest, sizeof digest);
    FUZZ_CHECK(own != NULL);
    FUZZ_CHECK(pkce_challenge_valid(own));
    FUZZ_CHECK(pkce_s256_check(verifier, own) == verifier_ok(verifier));
    free(own);
    free(verifier);
    free(challenge);
    return 0;
}
