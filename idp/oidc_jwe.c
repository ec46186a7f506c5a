/* Encrypting ID tokens and userinfo responses to a client's registered RSA key, with
 * RSA-OAEP or RSA-OAEP-256 and A256GCM (crypto/jwe.c). */
#include "idp/oidc_jwe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/jwe.h"
#include "idp/oidc_client_auth.h"
#include "idp/wp.h"

int oidc_jwe_for_client(const json_t *client, const char *what, const char *payload,
                        const char *cty, char **out)
{
    char alg_member[64], enc_member[64];
    const char *alg, *enc, *kid = NULL;
    json_t *jwks = NULL;
    sigkey_t *to = NULL;
    char *jwe = NULL;
    int rc = -1;

    *out = NULL;
    snprintf(alg_member, sizeof alg_member, "%s_encrypted_response_alg", what);
    snprintf(enc_member, sizeof enc_member, "%s_encrypted_response_enc", what);
    alg = json_string_value(json_object_get(client, alg_member));
    enc = json_string_value(json_object_get(client, enc_member));
    if (alg == NULL)
        return 0;
    /* We register A256GCM always; an older or foreign registration with another enc (the
     * OIDC default is A128CBC-HS256) is refused rather than answered in the clear. */
    if (!jwe_alg_supported(alg) || (enc != NULL && strcmp(enc, "A256GCM") != 0)) {
        WP_LOG_ERR("%s: client registered %s/%s, which we cannot make", what, alg,
                   enc ? enc : "(none)");
        goto out;
    }
    jwks = oidc_client_jwks(client);
    to = jwks ? jwe_recipient_key(jwks, alg, &kid) : NULL;
    if (to == NULL) {
        WP_LOG_ERR("%s: the client has no usable RSA key of use enc for %s", what, alg);
        goto out;
    }
    jwe = jwe_encrypt(to, alg, kid, cty, (const uint8_t *)payload, strlen(payload));
    if (jwe == NULL) {
        WP_LOG_ERR("%s: cannot encrypt for a client", what);
        goto out;
    }
    *out = jwe;
    rc = 0;
out:
    sigkey_free(to);
    json_decref(jwks);
    return rc;
}
