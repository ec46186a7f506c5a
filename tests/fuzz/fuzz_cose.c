/* Fuzzes the COSE code: cose_cbor_load, cose_key_alg and cose_key_parse on a credential
 * public key, and cose_verify with the parsed key over message and signature parts.
 * Input: COSE_Key [FUZZ_SEP message FUZZ_SEP signature]. */
#include "crypto/cose.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    fuzz_part_t part[FUZZ_MAX_PARTS];
    size_t n = fuzz_split(data, len, part, 3), read = 0;
    EVP_PKEY *key = NULL;
    int alg = 0, alg_only = 0;

    cbor_item_t *item = cose_cbor_load(part[0].p, part[0].len, &read);
    if (item) {
        FUZZ_CHECK(read > 0 && read <= part[0].len);
        cbor_decref(&item);
    }
    int has_alg = cose_key_alg(part[0].p, part[0].len, &alg_only) == 0;
    if (cose_key_parse(part[0].p, part[0].len, &alg, &key) != 0) {
        FUZZ_CHECK(key == NULL);
        return 0;
    }
    FUZZ_CHECK(key != NULL);
    FUZZ_CHECK(has_alg && alg == alg_only);
    FUZZ_CHECK(alg == COSE_ALG_ES256 || alg == COSE_ALG_EDDSA || alg == COSE_ALG_RS256);
    if (n == 3) {
        int ok = cose_verify(alg, key, part[1].p, part[1].len, part[2].p, part[2].len);
        FUZZ_CHECK(ok == 0 || ok == 1);
    }
    EVP_PKEY_free(key);
    return 0;
}
