/* Fuzzes webauthn_verify_registration with the whole RegistrationResponseJSON body as the
 * client sends it to /webauthn/register/verify ({"flow":..., "credential":{...}} or the
 * credential alone), parsed the way http.c parses JSON bodies. */
#include <jansson.h>

#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    json_error_t err;
    json_t *body = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);
    webauthn_registration_t reg = {0};
    const char *why = NULL;
    const json_t *cred;

    if (!json_is_object(body))
        goto out;
    cred = json_object_get(body, "credential");
    if (!cred)
        cred = body;
    if (webauthn_verify_registration(&fuzz_rp, fuzz_challenge, sizeof fuzz_challenge, cred, &reg,
                                     &why) == WP_OK) {
        FUZZ_CHECK(reg.cred_id && reg.public_key && reg.transports && reg.attestation_fmt);
        webauthn_registration_clear(&reg);
    } else {
        FUZZ_CHECK(why && *why);
        FUZZ_CHECK(reg.cred_id == NULL);
    }
out:
    json_decref(body);
    return 0;
}
