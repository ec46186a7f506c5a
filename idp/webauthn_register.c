/* Registration ceremony, relying-party side (WebAuthn L3 §7.1). */
#include "idp/webauthn.h"
#include "idp/webauthn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/b64url.h"
#include "crypto/cose.h"

#define REG_MAX_TRANSPORTS 8
#define REG_MAX_TRANSPORT_LEN 32
#define REG_MAX_RAW_ID 4096 /* decoded, so an overlong id is named as such */

void webauthn_registration_clear(webauthn_registration_t *reg)
{
    if (reg == NULL)
        return;
    free(reg->cred_id);
    free(reg->public_key);
    free(reg->transports);
    free(reg->attestation_fmt);
    memset(reg, 0, sizeof *reg);
}

/* Returns the string member key of obj, or NULL when absent or not a string. */
static const char *str_member(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Returns response.transports as compact JSON text (free with free()): "[]" when absent,
 * NULL when malformed or out of memory. */
static char *transports_text(const json_t *response, int *malformed)
{
    const json_t *t = json_object_get(response, "transports");
    size_t i;
    const json_t *v;

    *malformed = 0;
    if (t == NULL)
        return strdup("[]");
    if (!json_is_array(t) || json_array_size(t) > REG_MAX_TRANSPORTS) {
        *malformed = 1;
        return NULL;
    }
    json_array_foreach(t, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > REG_MAX_TRANSPORT_LEN) {
            *malformed = 1;
            return NULL;
        }
    }
    return json_dumps(t, JSON_COMPACT);
}

static void format_aaguid(const uint8_t *g, char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0],
             g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13],
             g[14], g[15]);
}

wp_err_t webauthn_verify_registration(const webauthn_rp_t *rp, const uint8_t *challenge,
                                      size_t challenge_len, const json_t *credential,
                                      webauthn_registration_t *out, const char **why)
{
    webauthn_registration_t reg;
    webauthn_attobj_t att;
    webauthn_authdata_t ad;
    const json_t *response;
    const char *id, *raw_id, *type, *cdj, *ao;
    uint8_t cd_hash[32];
    uint8_t *ao_bytes = NULL, *raw_bytes = NULL;
    size_t ao_len = 0, raw_len = 0;
    EVP_PKEY *key = NULL;
    int alg = 0, malformed = 0;
    const char *what = WEBAUTHN_WHY_JSON;
    wp_err_t rc = WP_ERR_INVALID;

    memset(&reg, 0, sizeof reg);
    memset(&att, 0, sizeof att);

    /* §7.1 steps 1-3: the credential's JSON form. */
    if (rp == NULL || out == NULL || !json_is_object(credential))
        goto out;
    response = json_object_get(credential, "response");
    id = str_member(credential, "id");
    raw_id = str_member(credential, "rawId");
    type = str_member(credential, "type");
    cdj = str_member(response, "clientDataJSON");
    ao = str_member(response, "attestationObject");
    if (!json_is_object(response) || id == NULL || raw_id == NULL || type == NULL || cdj == NULL ||
        ao == NULL)
        goto out;
    if (strcmp(type, "public-key") != 0) {
        what = WEBAUTHN_WHY_TYPE;
        goto out;
    }
    if (strcmp(id, raw_id) != 0 ||
        b64url_decode(raw_id, REG_MAX_RAW_ID, &raw_bytes, &raw_len) != 0) {
        what = WEBAUTHN_WHY_ID;
        goto out;
    }
    if (raw_len == 0 || raw_len > WEBAUTHN_MAX_CRED_ID) {
        what = WEBAUTHN_WHY_CRED_ID_LEN;
        goto out;
    }
    reg.transports = transports_text(response, &malformed);
    if (malformed)
        goto out;

    /* Steps 5-11: client data. */
    rc = webauthn_clientdata_verify(cdj, "webauthn.create", rp, challenge, challenge_len, cd_hash,
                                    &what);
    if (rc != WP_OK)
        goto out;
    rc = WP_ERR_INVALID;

    /* Step 12: the attestation object and its authenticator data. */
    what = WEBAUTHN_WHY_ATT_OBJECT;
    if (b64url_decode(ao, WEBAUTHN_MAX_ATT_OBJECT, &ao_bytes, &ao_len) != 0 ||
        webauthn_attobj_decode(ao_bytes, ao_len, &att) != WP_OK)
        goto out;
    if (webauthn_authdata_parse(att.auth_data, att.auth_data_len, &ad) != WP_OK) {
        what = WEBAUTHN_WHY_AUTH_DATA;
        goto out;
    }
    /* Steps 13-17: rpIdHash, UP, UV, BE/BS. */
    if (webauthn_authdata_check(rp, &ad, &what) != WP_OK)
        goto out;
    if (!(ad.flags & WEBAUTHN_FLAG_AT)) {
        what = WEBAUTHN_WHY_NO_AT;
        goto out;
    }
    /* Steps 23-24 (length is capped by the parser): id is the credential id. */
    if (raw_len != ad.cred_id_len || memcmp(raw_bytes, ad.cred_id, raw_len) != 0) {
        what = WEBAUTHN_WHY_CRED_ID;
        goto out;
    }
    /* Step 18: the algorithm is one we offered in pubKeyCredParams. */
    if (cose_key_alg(ad.cose_key, ad.cose_key_len, &alg) != 0) {
        what = WEBAUTHN_WHY_KEY;
        goto out;
    }
    if (alg != COSE_ALG_ES256 && alg != COSE_ALG_EDDSA && alg != COSE_ALG_RS256) {
        what = WEBAUTHN_WHY_ALG;
        goto out;
    }
    if (cose_key_parse(ad.cose_key, ad.cose_key_len, &alg, &key) != 0) {
        what = WEBAUTHN_WHY_KEY;
        goto out;
    }
    /* Steps 20-22: the attestation statement. */
    rc = webauthn_attestation_verify(att.fmt, att.att_stmt, att.auth_data, att.auth_data_len, &ad,
                                     alg, key, cd_hash, &what);
    if (rc != WP_OK)
        goto out;

    /* Step 27: what the caller stores. */
    rc = WP_ERR;
    what = WEBAUTHN_WHY_NOMEM;
    reg.cred_id = b64url_encode(ad.cred_id, ad.cred_id_len);
    reg.public_key = malloc(ad.cose_key_len);
    reg.attestation_fmt = strdup(att.fmt);
    if (reg.cred_id == NULL || reg.public_key == NULL || reg.attestation_fmt == NULL ||
        reg.transports == NULL)
        goto out;
    memcpy(reg.public_key, ad.cose_key, ad.cose_key_len);
    reg.public_key_len = ad.cose_key_len;
    reg.alg = alg;
    reg.sign_count = ad.sign_count;
    reg.backup_eligible = (ad.flags & WEBAUTHN_FLAG_BE) != 0;
    reg.backup_state = (ad.flags & WEBAUTHN_FLAG_BS) != 0;
    format_aaguid(ad.aaguid, reg.aaguid);
    *out = reg;
    memset(&reg, 0, sizeof reg);
    rc = WP_OK;

out:
    if (rc != WP_OK && why != NULL)
        *why = what;
    webauthn_registration_clear(&reg);
    webauthn_attobj_clear(&att);
    EVP_PKEY_free(key);
    free(ao_bytes);
    free(raw_bytes);
    return rc;
}
