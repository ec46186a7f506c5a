/* Fuzzes webauthn_clientdata_verify with clientDataJSON bytes as the client sends them
 * (base64url-encoded here), for both ceremonies; also the raw input as the base64url text
 * itself. */
#include "crypto/b64url.h"
#include "idp/webauthn_internal.h"
#include "tests/fuzz/fuzz_util.h"

static void check(const char *b64)
{
    static const char *const types[] = {"webauthn.create", "webauthn.get"};
    for (size_t i = 0; i < 2; i++) {
        uint8_t hash[32];
        const char *why = NULL;
        if (webauthn_clientdata_verify(b64, types[i], &fuzz_rp, fuzz_challenge,
                                       sizeof fuzz_challenge, hash, &why) != WP_OK)
            FUZZ_CHECK(why && *why);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len > 16384)
        return 0;
    char *b64 = b64url_encode(data, len);
    char *raw = fuzz_strndup(data, len);
    if (b64)
        check(b64);
    check(raw);
    free(b64);
    free(raw);
    return 0;
}
