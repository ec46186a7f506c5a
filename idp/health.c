/* Liveness, readiness and Prometheus metrics. */
#include <stdio.h>
#include <stdlib.h>

#include "idp/router.h"

void health_healthz_handle(http_req_t *req, http_resp_t *resp)
{
    (void)req;
    http_resp_text(resp, 200, "text/plain; charset=utf-8", "ok\n");
}

void health_readyz_handle(http_req_t *req, http_resp_t *resp)
{
    if (store_ping(req->app->store) == WP_OK)
        http_resp_text(resp, 200, "text/plain; charset=utf-8", "ready\n");
    else
        http_resp_text(resp, 503, "text/plain; charset=utf-8", "database unreachable\n");
}

void health_metrics_handle(http_req_t *req, http_resp_t *resp)
{
    const app_metrics_t *m = &req->app->metrics;
    char *text = NULL;
    int n = asprintf(&text,
                     "# TYPE wereldpas_http_requests_total counter\n"
                     "wereldpas_http_requests_total %lu\n"
                     "# TYPE wereldpas_http_responses_4xx_total counter\n"
                     "wereldpas_http_responses_4xx_total %lu\n"
                     "# TYPE wereldpas_http_responses_5xx_total counter\n"
                     "wereldpas_http_responses_5xx_total %lu\n"
                     "# TYPE wereldpas_logins_total counter\n"
                     "wereldpas_logins_total %lu\n"
                     "# TYPE wereldpas_passkeys_registered_total counter\n"
                     "wereldpas_passkeys_registered_total %lu\n"
                     "# TYPE wereldpas_tokens_issued_total counter\n"
                     "wereldpas_tokens_issued_total %lu\n"
                     "# TYPE wereldpas_http_deadline_closed_total counter\n"
                     "wereldpas_http_deadline_closed_total %lu\n",
                     atomic_load(&m->requests), atomic_load(&m->responses_4xx),
                     atomic_load(&m->responses_5xx), atomic_load(&m->logins),
                     atomic_load(&m->enrolments), atomic_load(&m->tokens),
                     atomic_load(&m->deadline_closed));
    if (n < 0) {
        http_resp_text(resp, 500, "text/plain; charset=utf-8", "error\n");
        return;
    }
    http_resp_take(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, (size_t)n);
}
