/* Maps method and path to a handler. Every handler fills resp; none may fail silently. */
#ifndef IDP_ROUTER_H
#define IDP_ROUTER_H

#include "idp/http.h"

typedef void (*handler_t)(http_req_t *req, http_resp_t *resp);

void router_dispatch(http_req_t *req, http_resp_t *resp);

/* Handlers, by file. */
void oidc_discovery_handle(http_req_t *req, http_resp_t *resp);            /* oidc_discovery.c */
void oidc_jwks_handle(http_req_t *req, http_resp_t *resp);                 /* oidc_discovery.c */
void oidc_authorize_handle(http_req_t *req, http_resp_t *resp);            /* oidc_authorize.c */
void oidc_continue_handle(http_req_t *req, http_resp_t *resp);             /* oidc_authorize.c */
void oidc_token_handle(http_req_t *req, http_resp_t *resp);                /* oidc_token.c */
void oidc_userinfo_handle(http_req_t *req, http_resp_t *resp);             /* oidc_userinfo.c */
void oidc_logout_handle(http_req_t *req, http_resp_t *resp);               /* oidc_logout.c */
void page_login_handle(http_req_t *req, http_resp_t *resp);                /* page_login.c */
void page_enrol_handle(http_req_t *req, http_resp_t *resp);                /* page_enrol.c */
void page_enrol_code_handle(http_req_t *req, http_resp_t *resp);           /* page_enrol.c */
void page_enrol_diploma_handle(http_req_t *req, http_resp_t *resp);        /* page_enrol.c */
void page_recover_handle(http_req_t *req, http_resp_t *resp);              /* page_login.c */
void page_account_handle(http_req_t *req, http_resp_t *resp);              /* page_account.c */
void webauthn_register_options_handle(http_req_t *req, http_resp_t *resp); /* webauthn_http.c */
void webauthn_register_verify_handle(http_req_t *req, http_resp_t *resp);
void webauthn_login_options_handle(http_req_t *req, http_resp_t *resp);
void webauthn_login_verify_handle(http_req_t *req, http_resp_t *resp);
void health_healthz_handle(http_req_t *req, http_resp_t *resp); /* health.c */
void health_readyz_handle(http_req_t *req, http_resp_t *resp);
void health_metrics_handle(http_req_t *req, http_resp_t *resp);

#endif
