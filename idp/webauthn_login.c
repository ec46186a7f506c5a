/* Authentication ceremony, relying-party side (WebAuthn L3 §7.2). */
#include "idp/webauthn.h"
#include "idp/webauthn_internal.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"
#include "crypto/cose.h"

/* Returns the string member key of obj, or NULL when absent or not a string. */
static const char *str_member(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

wp_err_t webauthn_assertion_ids(const json_t *credential, const char **cred_id,
                                const char **user_handle)
{
    const json_t *response = json_object_get(credential, "response");
    const json_t *uh;
    const char *id = str_member(credential, "id");

    if (id == NULL || id[0] == '\0' || !json_is_object(response))
        return WP_ERR_INVALID;
    uh = json_object_get(response, "userHandle");
    if (uh != NULL && !json_is_null(uh) && !json_is_string(uh))
        return WP_ERR_INVALID;
    *cred_id = id;
    if (user_handle != NULL)
        *user_handle = json_is_string(uh) ? json_string_value(uh) : NULL;
    return WP_OK;
}

wp_err_t webauthn_signature_verify(const uint8_t *cose_key, size_t cose_key_len,
                                   const uint8_t *auth_data, size_t auth_data_len,
                                   const uint8_t client_data_hash[32], const uint8_t *sig,
                                   size_t sig_len, const char **why)
{
    EVP_PKEY *key = NULL;
    uint8_t *msg = NULL;
    int alg = 0;
    wp_err_t rc = WP_ERR_INVALID;
    const char *what = WEBAUTHN_WHY_KEY;

    if (cose_key_parse(cose_key, cose_key_len, &alg, &key) != 0)
        goto out;
    what = WEBAUTHN_WHY_SIG;
    if (auth_data_len > WEBAUTHN_MAX_AUTH_DATA)
        goto out;
    msg = malloc(auth_data_len + 32);
    if (msg == NULL) {
        rc = WP_ERR;
        what = WEBAUTHN_WHY_NOMEM;
        goto out;
    }
    memcpy(msg, auth_data, auth_data_len);
    memcpy(msg + auth_data_len, client_data_hash, 32);
    if (cose_verify(alg, key, msg, auth_data_len + 32, sig, sig_len))
        rc = WP_OK;

out:
    if (rc != WP_OK)
        *why = what;
    free(msg);
    EVP_PKEY_free(key);
    return rc;
}

wp_err_t webauthn_verify_assertion(const webauthn_rp_t *rp, const uint8_t *challenge,
                                   size_t challenge_len, const json_t *credential,
                                   const uint8_t *public_key, size_t public_key_len,
                                   uint32_t stored_sign_count, int stored_be,
                                   webauthn_assertion_t *out, const char **why)
{
    const json_t *response, *uh;
    const char *id, *raw_id, *type, *cdj, *adj, *sigj;
    uint8_t *ad_bytes = NULL, *sig = NULL, *handle = NULL;
    size_t ad_len = 0, sig_len = 0, handle_len = 0;
    webauthn_authdata_t ad;
    uint8_t cd_hash[32];
    const char *what = WEBAUTHN_WHY_JSON;
    wp_err_t rc = WP_ERR_INVALID;

    /* §7.2 steps 1-3: the credential's JSON form. */
    if (rp == NULL || out == NULL || !json_is_object(credential))
        goto out;
    response = json_object_get(credential, "response");
    id = str_member(credential, "id");
    raw_id = str_member(credential, "rawId");
    type = str_member(credential, "type");
    cdj = str_member(response, "clientDataJSON");
    adj = str_member(response, "authenticatorData");
    sigj = str_member(response, "signature");
    if (!json_is_object(response) || id == NULL || raw_id == NULL || type == NULL || cdj == NULL ||
        adj == NULL || sigj == NULL)
        goto out;
    uh = json_object_get(response, "userHandle");
    if (uh != NULL && !json_is_null(uh) &&
        (!json_is_string(uh) ||
         b64url_decode(json_string_value(uh), WEBAUTHN_MAX_USER_HANDLE, &handle, &handle_len) != 0))
        goto out;
    if (strcmp(type, "public-key") != 0) {
        what = WEBAUTHN_WHY_TYPE;
        goto out;
    }
    if (strcmp(id, raw_id) != 0) {
        what = WEBAUTHN_WHY_ID;
        goto out;
    }
    if (b64url_decode(adj, WEBAUTHN_MAX_AUTH_DATA, &ad_bytes, &ad_len) != 0 ||
        b64url_decode(sigj, WEBAUTHN_MAX_SIGNATURE, &sig, &sig_len) != 0 || sig_len == 0)
        goto out;

    /* Steps 10-14: client data. */
    rc = webauthn_clientdata_verify(cdj, "webauthn.get", rp, challenge, challenge_len, cd_hash,
                                    &what);
    if (rc != WP_OK)
        goto out;
    rc = WP_ERR_INVALID;

    /* Steps 15-18: authenticator data. ED may be set; AT must not be. */
    if (webauthn_authdata_parse(ad_bytes, ad_len, &ad) != WP_OK) {
        what = WEBAUTHN_WHY_AUTH_DATA;
        goto out;
    }
    if (ad.flags & WEBAUTHN_FLAG_AT) {
        what = WEBAUTHN_WHY_UNEXPECTED_AT;
        goto out;
    }
    if (webauthn_authdata_check(rp, &ad, &what) != WP_OK)
        goto out;
    /* Step 19: backup eligibility is fixed when the credential is made. */
    if (((ad.flags & WEBAUTHN_FLAG_BE) != 0) != (stored_be != 0)) {
        what = WEBAUTHN_WHY_BE;
        goto out;
    }
    /* Steps 20-21: the signature. */
    rc = webauthn_signature_verify(public_key, public_key_len, ad_bytes, ad_len, cd_hash, sig,
                                   sig_len, &what);
    if (rc != WP_OK)
        goto out;
    /* Step 22: a counter that does not grow may mean a cloned authenticator. */
    if ((ad.sign_count != 0 || stored_sign_count != 0) && ad.sign_count <= stored_sign_count) {
        rc = WP_ERR_INVALID;
        what = WEBAUTHN_WHY_COUNTER;
        goto out;
    }
    out->sign_count = ad.sign_count;
    out->backup_state = (ad.flags & WEBAUTHN_FLAG_BS) != 0;
    out->user_verified = (ad.flags & WEBAUTHN_FLAG_UV) != 0;
    rc = WP_OK;

out:
    if (rc != WP_OK && why != NULL)
        *why = what;
    free(ad_bytes);
    free(sig);
    free(handle);
    return rc;
}
