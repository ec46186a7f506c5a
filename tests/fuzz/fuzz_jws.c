/* Fuzzes JWS/JWT parsing: jws_verify of a compact string against a fixed key set (one key
 * per algorithm, made once), with and without a required typ, as for client assertions,
 * request objects and ID token hints; and sigkey_from_public_jwk on the input as a JWK,
 * as for a client's registered keys. Input starting with '{' is a JWK, else a compact
 * JWS. */
#include <jansson.h>

#include "crypto/jws.h"
#include "tests/fuzz/fuzz_util.h"

static sigkey_t *keys[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const sigkey_alg_t algs[4] = {SIGKEY_RS256, SIGKEY_PS256, SIGKEY_ES256, SIGKEY_EDDSA};
    for (size_t i = 0; i < 4; i++) {
        keys[i] = sigkey_generate(algs[i]);
        if (!keys[i])
            abort();
    }
    return 0;
}

static void as_jwk(const uint8_t *data, size_t len)
{
    json_error_t err;
    json_t *jwk = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);
    if (!jwk)
        return;
    for (int alg = SIGKEY_RS256; alg <= SIGKEY_EDDSA; alg++) {
        sigkey_t *k = sigkey_from_public_jwk(jwk, (sigkey_alg_t)alg);
        if (k) {
            FUZZ_CHECK(k->pkey != NULL && k->kid[0] != '\0');
            sigkey_free(k);
        }
    }
    char kid[SIGKEY_KID_MAX];
    (void)sigkey_thumbprint(jwk, kid);
    json_decref(jwk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len > 65536)
        return 0;
    if (len && data[0] == '{') {
        as_jwk(data, len);
        return 0;
    }
    char *compact = fuzz_strndup(data, len);
    static const char *const typs[] = {NULL, "JWT", "at+jwt"};
    for (size_t i = 0; i < 3; i++) {
        json_t *claims = NULL;
        if (jws_verify(compact, keys, 4, typs[i], &claims) == 0) {
            FUZZ_CHECK(claims != NULL);
            json_decref(claims);
        } else {
            FUZZ_CHECK(claims == NULL);
        }
    }
    free(compact);
    return 0;
}
