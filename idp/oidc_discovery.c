/* Discovery (OIDC Discovery §3, RFC 8414) and the JWKS. The document lists exactly what
 * works, and states explicitly the features whose defaults would claim more
 * (request_uri fetching, front-channel logout, client certificates). */
#include <stdio.h>
#include <string.h>

#include "idp/router.h"

static json_t *endpoint(const char *issuer, const char *path)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", issuer, path);
    return json_string(url);
}

/* The algorithms we sign and verify with, as a new JSON array. */
static json_t *sig_algs(void)
{
    return json_pack("[s,s,s,s]", "RS256", "PS256", "ES256", "EdDSA");
}

/* The key-management algorithms of JWEs we make and open (crypto/jwe.c), with A256GCM,
 * as a new JSON array. */
static json_t *enc_algs(void)
{
    return json_pack("[s,s]", "RSA-OAEP", "RSA-OAEP-256");
}

void oidc_discovery_handle(http_req_t *req, http_resp_t *resp)
{
    const config_t *cfg = req->app->cfg;
    const char *iss = cfg->issuer;
    int pkjwt_only = strcmp(cfg->confidential_auth, "private_key_jwt") == 0;
    json_t *d = json_object();
    json_object_set_new(d, "issuer", json_string(iss));
    json_object_set_new(d, "authorization_endpoint", endpoint(iss, "/authorize"));
    json_object_set_new(d, "token_endpoint", endpoint(iss, "/token"));
    json_object_set_new(d, "userinfo_endpoint", endpoint(iss, "/userinfo"));
    json_object_set_new(d, "jwks_uri", endpoint(iss, "/jwks"));
    json_object_set_new(d, "end_session_endpoint", endpoint(iss, "/logout"));
    json_object_set_new(d, "revocation_endpoint", endpoint(iss, "/revoke"));
    json_object_set_new(d, "introspection_endpoint", endpoint(iss, "/introspect"));
    json_object_set_new(d, "pushed_authorization_request_endpoint", endpoint(iss, "/par"));
    json_object_set_new(d, "require_pushed_authorization_requests", json_false());
    json_object_set_new(
        d, "scopes_supported",
        json_pack("[s,s,s,s,s]", "openid", "profile", "email", "duo", "offline_access"));
    json_object_set_new(d, "response_types_supported", json_pack("[s]", "code"));
    json_object_set_new(d, "response_modes_supported", json_pack("[s,s]", "query", "form_post"));
    json_object_set_new(d, "grant_types_supported",
                        json_pack("[s,s]", "authorization_code", "refresh_token"));
    json_object_set_new(d, "subject_types_supported", json_pack("[s,s]", "pairwise", "public"));
    json_object_set_new(d, "id_token_signing_alg_values_supported", sig_algs());
    json_object_set_new(d, "id_token_encryption_alg_values_supported", enc_algs());
    json_object_set_new(d, "id_token_encryption_enc_values_supported", json_pack("[s]", "A256GCM"));
    json_object_set_new(d, "userinfo_signing_alg_values_supported", sig_algs());
    json_object_set_new(d, "userinfo_encryption_alg_values_supported", enc_algs());
    json_object_set_new(d, "userinfo_encryption_enc_values_supported", json_pack("[s]", "A256GCM"));
    json_object_set_new(d, "request_object_signing_alg_values_supported", sig_algs());
    /* Request objects encrypted to our "use":"enc" key (nested: signed, then encrypted). */
    json_object_set_new(d, "request_object_encryption_alg_values_supported", enc_algs());
    json_object_set_new(d, "request_object_encryption_enc_values_supported",
                        json_pack("[s]", "A256GCM"));
    /* Client authentication: private_key_jwt always; secrets unless switched off. */
    json_t *methods = pkjwt_only ? json_pack("[s,s]", "private_key_jwt", "none")
                                 : json_pack("[s,s,s,s]", "private_key_jwt", "client_secret_basic",
                                             "client_secret_post", "none");
    json_object_set_new(d, "token_endpoint_auth_methods_supported", methods);
    json_object_set_new(d, "token_endpoint_auth_signing_alg_values_supported", sig_algs());
    json_object_set_new(d, "revocation_endpoint_auth_methods_supported", json_copy(methods));
    json_object_set_new(d, "revocation_endpoint_auth_signing_alg_values_supported", sig_algs());
    json_object_set_new(d, "introspection_endpoint_auth_methods_supported",
                        pkjwt_only ? json_pack("[s]", "private_key_jwt")
                                   : json_pack("[s,s,s]", "private_key_jwt", "client_secret_basic",
                                               "client_secret_post"));
    json_object_set_new(d, "introspection_endpoint_auth_signing_alg_values_supported", sig_algs());
    json_object_set_new(d, "code_challenge_methods_supported", json_pack("[s]", "S256"));
    json_object_set_new(d, "claims_supported",
                        json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "iss", "sub", "aud", "exp",
                                  "iat", "nbf", "jti", "auth_time", "nonce", "acr", "sid", "name",
                                  "given_name", "family_name", "birthdate", "email",
                                  "duo_person_number"));
    json_object_set_new(d, "acr_values_supported",
                        json_pack("[s,s]", cfg->acr_diploma, cfg->acr_assisted));
    json_object_set_new(d, "prompt_values_supported",
                        json_pack("[s,s,s,s]", "none", "login", "consent", "select_account"));
    /* Every language of the pages (render.c); claims come in one language only. */
    json_object_set_new(d, "ui_locales_supported",
                        json_pack("[s,s,s,s,s,s,s,s,s]", "en", "nl", "de", "fr", "es", "tr", "ar",
                                  "zh-Hans", "pap"));
    json_object_set_new(d, "claim_types_supported", json_pack("[s]", "normal"));
    json_object_set_new(d, "claims_parameter_supported", json_true());
    json_object_set_new(d, "request_parameter_supported", json_true());
    /* request_uri only as a PAR urn; we never fetch request objects by URL. */
    json_object_set_new(d, "request_uri_parameter_supported", json_false());
    json_object_set_new(d, "require_request_uri_registration", json_false());
    json_object_set_new(d, "authorization_response_iss_parameter_supported", json_true());
    json_object_set_new(d, "frontchannel_logout_supported", json_false());
    json_object_set_new(d, "frontchannel_logout_session_supported", json_false());
    json_object_set_new(d, "backchannel_logout_supported", json_true());
    json_object_set_new(d, "backchannel_logout_session_supported", json_true());
    json_object_set_new(d, "tls_client_certificate_bound_access_tokens", json_false());
    http_resp_json(resp, 200, d);
    resp->cache = "public, max-age=3600";
}

void oidc_jwks_handle(http_req_t *req, http_resp_t *resp)
{
    http_resp_json(resp, 200, keyring_jwks(req->app->keys));
    resp->content_type = "application/jwk-set+json";
    resp->cache = "public, max-age=300";
}
