/* OpenID Connect Back-Channel Logout 1.0: telling relying parties that a session ended. */
#ifndef IDP_OIDC_BACKCHANNEL_H
#define IDP_OIDC_BACKCHANNEL_H

#include "idp/app.h"

/* For every client that got tokens in session sid of account_id (every session of the
 * account when sid is NULL) and registered a backchannel_logout_uri: builds a logout
 * token (typ logout+jwt, signed with the client's ID token algorithm; iss, aud, iat,
 * exp, jti, sub, sid, events) and queues it for a background thread that POSTs it with
 * short timeouts and a few retries. Never blocks on the network; the sessions'
 * client records are consumed. Failures are logged. */
void oidc_backchannel_logout(app_t *app, const char *sid_or_null, const char *account_id);

#endif
