/* CollectedClientData (WebAuthn L3 §5.8.1) checks shared by both ceremonies. */
#include "idp/webauthn_internal.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"

/* Compares the base64url challenge from the client with the expected bytes in constant
 * time (over the expected length). Returns 1 when equal. */
static int challenge_equal(const char *text, const uint8_t *want, size_t want_len)
{
    uint8_t *got = NULL;
    size_t got_len = 0;
    int eq;

    if (b64url_decode(text, WEBAUTHN_MAX_CHALLENGE, &got, &got_len) != 0)
        return 0;
    eq = got_len == want_len && CRYPTO_memcmp(got, want, want_len) == 0;
    free(got);
    return eq;
}

wp_err_t webauthn_clientdata_verify(const char *b64, const char *type, const webauthn_rp_t *rp,
                                    const uint8_t *challenge, size_t challenge_len,
                                    uint8_t hash[32], const char **why)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    json_t *root = NULL;
    json_t *v;
    const char *what = WEBAUTHN_WHY_CLIENT_DATA;
    wp_err_t rc = WP_ERR_INVALID;

    if (b64 == NULL || b64url_decode(b64, WEBAUTHN_MAX_CLIENT_DATA, &raw, &raw_len) != 0)
        goto out;
    root = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL || !json_is_object(root))
        goto out;

    v = json_object_get(root, "type");
    if (!json_is_string(v) || strcmp(json_string_value(v), type) != 0) {
        what = WEBAUTHN_WHY_CD_TYPE;
        goto out;
    }
    v = json_object_get(root, "challenge");
    if (!json_is_string(v) || challenge == NULL || challenge_len == 0 ||
        !challenge_equal(json_string_value(v), challenge, challenge_len)) {
        what = WEBAUTHN_WHY_CHALLENGE;
        goto out;
    }
    v = json_object_get(root, "origin");
    if (!json_is_string(v) || strcmp(json_string_value(v), rp->origin) != 0) {
        what = WEBAUTHN_WHY_ORIGIN;
        goto out;
    }
    /* We are never embedded: crossOrigin must be absent or false, topOrigin absent. */
    v = json_object_get(root, "crossOrigin");
    if ((v != NULL && !json_is_false(v)) || json_object_get(root, "topOrigin") != NULL) {
        what = WEBAUTHN_WHY_CROSS_ORIGIN;
        goto out;
    }
    SHA256(raw, raw_len, hash);
    rc = WP_OK;

out:
    if (rc != WP_OK)
        *why = what;
    json_decref(root);
    free(raw);
    return rc;
}
