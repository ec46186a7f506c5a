/* Fuzzes webauthn_assertion_ids and webauthn_verify_assertion. The input is either an
 * AuthenticationResponseJSON (first byte '{') checked against a stored key taken from the
 * input's "storedKey" member (base64url COSE_Key, as the database would hold it), or the
 * binary parts COSE_Key | authenticatorData | signature | clientDataJSON separated by
 * FUZZ_SEP, wrapped into JSON here. */
#include <jansson.h>

#include "crypto/b64url.h"
#include "tests/fuzz/fuzz_util.h"

static void verify(const json_t *cred, const uint8_t *key, size_t key_len, uint32_t count, int be)
{
    const char *id = NULL, *uh = NULL, *why = NULL;
    webauthn_assertion_t a;
    if (webauthn_assertion_ids(cred, &id, &uh) == WP_OK)
        FUZZ_CHECK(id != NULL);
    if (webauthn_verify_assertion(&fuzz_rp, fuzz_challenge, sizeof fuzz_challenge, cred, key,
                                  key_len, count, be, &a, &why) == WP_OK) {
        FUZZ_CHECK(a.user_verified);
        FUZZ_CHECK(count == 0 ? 1 : a.sign_count > count);
    } else {
        FUZZ_CHECK(why && *why);
    }
}

static void from_json(const uint8_t *data, size_t len)
{
    json_error_t err;
    json_t *body = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);
    uint8_t *key = NULL;
    size_t key_len = 0;
    const json_t *cred;
    const char *stored;

    if (!json_is_object(body))
        goto out;
    cred = json_object_get(body, "credential");
    if (!cred)
        cred = body;
    stored = json_string_value(json_object_get(body, "storedKey"));
    if (!stored || b64url_decode(stored, 4096, &key, &key_len) != 0)
        key = NULL;
    verify(cred, key ? key : (const uint8_t *)"", key_len, 0, 0);
    verify(cred, key ? key : (const uint8_t *)"", key_len, 5, 1);
out:
    free(key);
    json_decref(body);
}

static void from_parts(const uint8_t *data, size_t len)
{
    fuzz_part_t part[FUZZ_MAX_PARTS];
    char *ad = NULL, *sig = NULL, *cd = NULL;
    json_t *cred = NULL;

    if (fuzz_split(data, len, part, 4) != 4)
        return;
    ad = b64url_encode(part[1].p, part[1].len);
    sig = b64url_encode(part[2].p, part[2].len);
    cd = b64url_encode(part[3].p, part[3].len);
    if (!ad || !sig || !cd)
        goto out;
    cred = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "id", "AAAA", "rawId", "AAAA", "type",
                     "public-key", "response", "clientDataJSON", cd, "authenticatorData", ad,
                     "signature", sig);
    if (cred) {
        verify(cred, part[0].p, part[0].len, 0, 0);
        verify(cred, part[0].p, part[0].len, 1, 0);
    }
out:
    json_decref(cred);
    free(ad);
    free(sig);
    free(cd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len > 65536)
        return 0;
    if (len && data[0] == '{')
        from_json(data, len);
    else
        from_parts(data, len);
    return 0;
}
