/* Fuzzes webauthn_authdata_parse: authenticator data straight from the client. On success
 * every pointer must lie inside the input and the parts must add up to its length. */
#include "tests/fuzz/fuzz_util.h"

static int inside(const uint8_t *base, size_t len, const uint8_t *p, size_t n)
{
    return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    webauthn_authdata_t ad;
    memset(&ad, 0xa5, sizeof ad);
    if (webauthn_authdata_parse(data, len, &ad) != WP_OK)
        return 0;
    FUZZ_CHECK(len >= 37);
    FUZZ_CHECK(inside(data, len, ad.rp_id_hash, 32));
    if (ad.flags & WEBAUTHN_FLAG_AT) {
        FUZZ_CHECK(inside(data, len, ad.aaguid, 16));
        FUZZ_CHECK(inside(data, len, ad.cred_id, ad.cred_id_len));
        FUZZ_CHECK(inside(data, len, ad.cose_key, ad.cose_key_len));
        FUZZ_CHECK(ad.cose_key_len > 0);
    }
    return 0;
}
