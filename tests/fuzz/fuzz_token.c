/* Fuzzes the checks on values a person types or a browser sends back: token_code_normalize
 * (enrolment and recovery codes) must give "XXXX-XXXX" and be idempotent; token_equal
 * must agree with strcmp; token_hash must be 64 hex characters for any secret. */
#include <ctype.h>

#include "crypto/token.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    fuzz_part_t part[FUZZ_MAX_PARTS];
    size_t n = fuzz_split(data, len, part, 2);
    char *a = fuzz_strndup(part[0].p, part[0].len);
    char *b = n == 2 ? fuzz_strndup(part[1].p, part[1].len) : strdup(a);
    char code[CODE_LEN + 1], again[CODE_LEN + 1];
    char hash[TOKEN_HASH_HEX_LEN + 1];
    static const uint8_t key[TOKEN_HASH_KEY_BYTES] = {1};

    memset(code, 'z', sizeof code);
    if (token_code_normalize(a, code) == 0) {
        FUZZ_CHECK(strlen(code) == CODE_LEN && code[4] == '-');
        for (size_t i = 0; i < CODE_LEN; i++)
            FUZZ_CHECK(i == 4 || isupper((unsigned char)code[i]) ||
                       isdigit((unsigned char)code[i]));
        FUZZ_CHECK(token_code_normalize(code, again) == 0 && strcmp(code, again) == 0);
    }
    FUZZ_CHECK(token_equal(a, b) == (strcmp(a, b) == 0));
    token_hash(key, "fuzz", a, hash);
    FUZZ_CHECK(strlen(hash) == TOKEN_HASH_HEX_LEN && strspn(hash, "0123456789abcdef") == 64);
    free(a);
    free(b);
    return 0;
}
