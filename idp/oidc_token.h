/* Tokens the provider issues, as the other endpoints need to read them back. */
#ifndef IDP_OIDC_TOKEN_H
#define IDP_OIDC_TOKEN_H

#include <jansson.h>

#include "crypto/token.h"
#include "idp/app.h"

/* Verifies an access token we issued (RFC 9068): signature by one of our published
 * keys, typ at+jwt, iss and aud the issuer, exp in the future, and neither it nor its
 * grant revoked. Returns 0 and *claims (json_decref), or -1. */
int oidc_token_access_verify(app_t *app, const char *token, json_t **claims);

/* The account id sealed inside a verified access token's ctx claim. malloc'd (free) or
 * NULL. */
char *oidc_token_account(const app_t *app, const json_t *claims);

/* The keyed hash under which a refresh token is stored. */
void oidc_token_refresh_hash(const app_t *app, const char *token, char out[TOKEN_HASH_HEX_LEN + 1]);

/* The person's claims for scope plus the names in requested (a member of the claims
 * request parameter, OIDC Core §5.5; may be NULL). duo_person_number only when allow_duo.
 * New reference (json_decref), without sub. */
json_t *oidc_person_claims(app_t *app, const char *account_id, const char *scope,
                           const json_t *requested, int allow_duo);

#endif
