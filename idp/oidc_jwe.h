/* Encrypting responses to a client (OIDC Core §10.2, OIDC Registration §2): ID tokens
 * and userinfo responses, for clients that registered id_token_encrypted_response_alg
 * or userinfo_encrypted_response_alg. */
#ifndef IDP_OIDC_JWE_H
#define IDP_OIDC_JWE_H

#include <jansson.h>

/* Encrypts payload (a text) for client as it registered for what ("id_token" or
 * "userinfo": the members <what>_encrypted_response_alg and _enc), to the RSA key of
 * "use" "enc" in its jwks or jwks_uri; cty (may be NULL) goes into the header, with the
 * key's kid when it has one. Returns 0 and *out NULL when the client registered no
 * encryption for what; 0 and *out (a compact JWE, free()) when it did; -1 when it did
 * and no JWE could be made (unsupported registration, no usable key). */
int oidc_jwe_for_client(const json_t *client, const char *what, const char *payload,
                        const char *cty, char **out);

#endif
