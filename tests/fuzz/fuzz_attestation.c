/* Fuzzes the attestation object path: webauthn_attobj_decode, the authenticator data in
 * it, the credential's COSE key, the attestation statement, and then the whole
 * webauthn_verify_registration with a valid clientDataJSON wrapped around the fuzzed
 * attestationObject (so the fuzzer spends its time past the JSON checks). */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "crypto/b64url.h"
#include "crypto/cose.h"
#include "idp/webauthn_internal.h"
#include "tests/fuzz/fuzz_util.h"

static const char client_data[] = "{\"type\":\"webauthn.create\",\"challenge\":"
                                  "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                                  "\"origin\":\"" FUZZ_ORIGIN "\",\"crossOrigin\":false}";

/* Runs the full registration with attestationObject = data and id = cred_id (or a fixed
 * id when the authenticator data did not parse). */
static void full_registration(const uint8_t *data, size_t len, const uint8_t *cred_id,
                              size_t cred_id_len)
{
    char *ao = b64url_encode(data, len);
    char *cd = b64url_encode((const uint8_t *)client_data, sizeof client_data - 1);
    char *id = cred_id ? b64url_encode(cred_id, cred_id_len) : strdup("AAAA");
    json_t *cred = NULL;
    webauthn_registration_t reg = {0};
    const char *why = NULL;

    if (!ao || !cd || !id)
        goto out;
    cred = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:[s]}}", "id", id, "rawId", id, "type",
                     "public-key", "response", "clientDataJSON", cd, "attestationObject", ao,
                     "transports", "internal");
    if (!cred)
        goto out;
    if (webauthn_verify_registration(&fuzz_rp, fuzz_challenge, sizeof fuzz_challenge, cred, &reg,
                                     &why) == WP_OK) {
        FUZZ_CHECK(reg.cred_id && reg.public_key && reg.public_key_len > 0);
        FUZZ_CHECK(reg.attestation_fmt && reg.transports);
        webauthn_registration_clear(&reg);
    } else {
        FUZZ_CHECK(why && *why);
    }
out:
    json_decref(cred);
    free(ao);
    free(cd);
    free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    webauthn_attobj_t att;
    webauthn_authdata_t ad;
    const uint8_t *cred_id = NULL;
    size_t cred_id_len = 0;

    if (len > WEBAUTHN_MAX_ATT_OBJECT)
        return 0;
    if (webauthn_attobj_decode(data, len, &att) == WP_OK) {
        FUZZ_CHECK(att.root && att.att_stmt);
        if (webauthn_authdata_parse(att.auth_data, att.auth_data_len, &ad) == WP_OK &&
            (ad.flags & WEBAUTHN_FLAG_AT)) {
            EVP_PKEY *key = NULL;
            int alg = 0;
            cred_id = ad.cred_id;
            cred_id_len = ad.cred_id_len;
            if (cose_key_parse(ad.cose_key, ad.cose_key_len, &alg, &key) == 0) {
                uint8_t hash[32];
                const char *why = NULL;
                SHA256((const uint8_t *)client_data, sizeof client_data - 1, hash);
                if (webauthn_attestation_verify(att.fmt, att.att_stmt, att.auth_data,
                                                att.auth_data_len, &ad, alg, key, hash,
                                                &why) != WP_OK)
                    FUZZ_CHECK(why && *why);
                EVP_PKEY_free(key);
            }
        }
        /* cred_id points into att.root's bytes: copy the id before clearing. */
        uint8_t *copy = cred_id ? malloc(cred_id_len + 1) : NULL;
        if (copy)
            memcpy(copy, cred_id, cred_id_len);
        webauthn_attobj_clear(&att);
        full_registration(data, len, copy, cred_id_len);
        free(copy);
        return 0;
    }
    full_registration(data, len, NULL, 0);
    return 0;
}
