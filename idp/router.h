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
void oidc_revoke_handle(http_req_t *req, http_resp_t *resp);               /* oidc_revoke.c */
void oidc_introspect_handle(http_req_t *req, http_resp_t *resp);           /* oidc_introspect.c */
void oidc_par_handle(http_req_t *req, http_resp_t *resp);                  /* oidc_par.c */
void oidc_logout_handle(http_req_t *req, http_resp_t *resp);               /* oidc_logout.c */
void page_lang_handle(http_req_t *req, http_resp_t *resp);                 /* page.c */
void page_static_accessibility_handle(http_req_t *req, http_resp_t *resp); /* page_static.c */
void page_login_handle(http_req_t *req, http_resp_t *resp);                /* page_login.c */
void page_enrol_handle(http_req_t *req, http_resp_t *resp);                /* page_enrol.c */
void page_enrol_code_handle(http_req_t *req, http_resp_t *resp);           /* page_enrol.c */
void page_enrol_diploma_handle(http_req_t *req, http_resp_t *resp); /* page_enrol_diploma.c */
void page_recover_handle(http_req_t *req, http_resp_t *resp);       /* page_login.c */
void page_account_handle(http_req_t *req, http_resp_t *resp);       /* page_account.c */
/* issue 5: recovery code, support console */
void page_recover_code_handle(http_req_t *req, http_resp_t *resp); /* page_recover.c */
void support_home_handle(http_req_t *req, http_resp_t *resp);      /* page_support.c */
void support_search_handle(http_req_t *req, http_resp_t *resp);
void support_person_handle(http_req_t *req, http_resp_t *resp);
void support_enrol_code_handle(http_req_t *req, http_resp_t *resp);
void support_case_open_handle(http_req_t *req, http_resp_t *resp);
void support_case_approve_handle(http_req_t *req, http_resp_t *resp);
void support_enrol_handle(http_req_t *req, http_resp_t *resp);
void support_logout_handle(http_req_t *req, http_resp_t *resp);
void support_register_options_handle(http_req_t *req, http_resp_t *resp); /* support_webauthn.c */
void support_register_verify_handle(http_req_t *req, http_resp_t *resp);
void support_login_options_handle(http_req_t *req, http_resp_t *resp);
void support_login_verify_handle(http_req_t *req, http_resp_t *resp);
void webauthn_register_options_handle(http_req_t *req, http_resp_t *resp); /* webauthn_http.c */
void webauthn_register_verify_handle(http_req_t *req, http_resp_t *resp);
void webauthn_login_options_handle(http_req_t *req, http_resp_t *resp);
void webauthn_login_verify_handle(http_req_t *req, http_resp_t *resp);
void health_healthz_handle(http_req_t *req, http_resp_t *resp); /* health.c */
void health_readyz_handle(http_req_t *req, http_resp_t *resp);
void health_metrics_handle(http_req_t *req, http_resp_t *resp);

#endif
