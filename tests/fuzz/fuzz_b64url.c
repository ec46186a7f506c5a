/* Fuzzes b64url_decode on the input as text (with several output caps) and checks that
 * decode(encode(bytes)) gives the bytes back. */
#include "crypto/b64url.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *text = fuzz_strndup(data, len);
    static const size_t caps[] = {0, 1, 32, 4096, 1u << 20};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        uint8_t *out = (uint8_t *)"untouched";
        size_t out_len = 7777;
        if (b64url_decode(text, caps[i], &out, &out_len) == 0) {
            FUZZ_CHECK(out_len <= caps[i]);
            FUZZ_CHECK(out_len <= len);
            free(out);
        } else {
            FUZZ_CHECK(out_len == 7777);
        }
    }
    free(text);

    char *enc = b64url_encode(data, len);
    FUZZ_CHECK(enc != NULL);
    FUZZ_CHECK(strcspn(enc, "=+/") == strlen(enc));
    uint8_t *back = NULL;
    size_t back_len = 0;
    FUZZ_CHECK(b64url_decode(enc, len, &back, &back_len) == 0);
    FUZZ_CHECK(back_len == len && (len == 0 || memcmp(back, data, len) == 0));
    free(back);
    free(enc);
    return 0;
}
