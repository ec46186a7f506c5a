/* Discovery (OIDC Discovery §3, RFC 8414) and the JWKS. */
#include <stdio.h>

#include "idp/router.h"

static json_t *endpoint(const char *issuer, const char *path)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", issuer, path);
    return json_string(url);
}

void oidc_discovery_handle(http_req_t *req, http_resp_t *resp)
{
    const char *iss = req->app->cfg->issuer;
    json_t *d = json_object();
    json_object_set_new(d, "issuer", json_string(iss));
    json_object_set_new(d, "authorization_endpoint", endpoint(iss, "/authorize"));
    json_object_set_new(d, "token_endpoint", endpoint(iss, "/token"));
    json_object_set_new(d, "userinfo_endpoint", endpoint(iss, "/userinfo"));
    json_object_set_new(d, "jwks_uri", endpoint(iss, "/jwks"));
    json_object_set_new(d, "end_session_endpoint", endpoint(iss, "/logout"));
    json_object_set_new(d, "scopes_supported",
                        json_pack("[s,s,s,s]", "openid", "profile", "email", "duo"));
    json_object_set_new(d, "response_types_supported", json_pack("[s]", "code"));
    json_object_set_new(d, "response_modes_supported", json_pack("[s,s]", "query", "form_post"));
    json_object_set_new(d, "grant_types_supported", json_pack("[s]", "authorization_code"));
    json_object_set_new(d, "subject_types_supported", json_pack("[s,s]", "pairwise", "public"));
    json_object_set_new(d, "id_token_signing_alg_values_supported",
                        json_pack("[s,s,s,s]", "RS256", "PS256", "ES256", "EdDSA"));
    json_object_set_new(d, "token_endpoint_auth_methods_supported",
                        json_pack("[s,s,s]", "client_secret_basic", "client_secret_post", "none"));
    json_object_set_new(d, "code_challenge_methods_supported", json_pack("[s]", "S256"));
    json_object_set_new(d, "claims_supported",
                        json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "iss", "sub", "aud", "exp",
                                  "iat", "nbf", "jti", "auth_time", "nonce", "acr", "sid", "name",
                                  "given_name", "family_name", "birthdate", "email"));
    json_object_set_new(
        d, "acr_values_supported",
        json_pack("[s,s]", req->app->cfg->acr_diploma, req->app->cfg->acr_assisted));
    json_object_set_new(d, "prompt_values_supported",
                        json_pack("[s,s,s,s]", "none", "login", "consent", "select_account"));
    json_object_set_new(d, "ui_locales_supported", json_pack("[s,s]", "en", "nl"));
    json_object_set_new(d, "claims_parameter_supported", json_true());
    json_object_set_new(d, "request_parameter_supported", json_false());
    json_object_set_new(d, "request_uri_parameter_supported", json_false());
    json_object_set_new(d, "authorization_response_iss_parameter_supported", json_true());
    json_object_set_new(d, "frontchannel_logout_supported", json_false());
    http_resp_json(resp, 200, d);
    resp->cache = "public, max-age=3600";
}

void oidc_jwks_handle(http_req_t *req, http_resp_t *resp)
{
    http_resp_json(resp, 200, keyring_jwks(req->app->keys));
    resp->content_type = "application/jwk-set+json";
    resp->cache = "public, max-age=300";
}
