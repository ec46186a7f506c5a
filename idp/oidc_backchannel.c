/* Back-channel logout (OpenID Connect Back-Channel Logout 1.0). Logout tokens are built
 * and signed by the caller's thread (no network); one background thread, started on
 * first use, POSTs them with libcurl: 2 s to connect, 5 s in all, no redirects, http and
 * https only, and retries a failed delivery after 1, 2, 4 and 8 seconds. The queue holds
 * copies of URL and token only, so it never touches app after the call returns. */
#include "idp/oidc_backchannel.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/jws.h"
#include "crypto/token.h"
#include "idp/oidc.h"

#define BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"
#define BCL_TOKEN_TTL 120
#define BCL_ATTEMPTS 5
#define BCL_QUEUE_MAX 10000
#define BCL_CONNECT_TIMEOUT_MS 2000L
#define BCL_TIMEOUT_MS 5000L

typedef struct bcl_job {
    struct bcl_job *next;
    char *uri;
    char *body; /* logout_token=... */
    int attempts;
    int64_t due; /* seconds since the epoch */
} bcl_job_t;

static pthread_mutex_t bcl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bcl_cond = PTHREAD_COND_INITIALIZER;
static pthread_once_t bcl_once = PTHREAD_ONCE_INIT;
static bcl_job_t *bcl_queue;
static size_t bcl_count;
static int bcl_running;

static void job_free(bcl_job_t *j)
{
    if (!j)
        return;
    free(j->uri);
    free(j->body);
    free(j);
}

/* One POST; 1 when the relying party answered 2xx. */
static int deliver(const bcl_job_t *j)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    long status = 0;
    if (!c)
        return 0;
    h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(c, CURLOPT_URL, j->uri);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, BCL_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, BCL_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "wereldpas-backchannel-logout");
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status >= 200 && status < 300;
}

/* Takes the first job that is due, waiting for one; never returns NULL. */
static bcl_job_t *next_due(void)
{
    pthread_mutex_lock(&bcl_lock);
    for (;;) {
        bcl_job_t **best = NULL;
        for (bcl_job_t **p = &bcl_queue; *p; p = &(*p)->next)
            if (!best || (*p)->due < (*best)->due)
                best = p;
        if (best && (*best)->due <= wp_now()) {
            bcl_job_t *j = *best;
            *best = j->next;
            j->next = NULL;
            bcl_count--;
            pthread_mutex_unlock(&bcl_lock);
            return j;
        }
        if (best) {
            struct timespec ts = {.tv_sec = (time_t)(*best)->due};
            pthread_cond_timedwait(&bcl_cond, &bcl_lock, &ts);
        } else {
            pthread_cond_wait(&bcl_cond, &bcl_lock);
        }
    }
}

static void enqueue(bcl_job_t *j)
{
    pthread_mutex_lock(&bcl_lock);
    if (bcl_count >= BCL_QUEUE_MAX) {
        pthread_mutex_unlock(&bcl_lock);
        WP_LOG_WARN("backchannel logout: queue full, a logout token is dropped");
        job_free(j);
        return;
    }
    j->next = bcl_queue;
    bcl_queue = j;
    bcl_count++;
    pthread_cond_signal(&bcl_cond);
    pthread_mutex_unlock(&bcl_lock);
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        bcl_job_t *j = next_due();
        if (deliver(j)) {
            job_free(j);
            continue;
        }
        j->attempts++;
        if (j->attempts >= BCL_ATTEMPTS) {
            WP_LOG_WARN("backchannel logout: %s did not accept a logout token after %d tries",
                        j->uri, j->attempts);
            job_free(j);
            continue;
        }
        j->due = wp_now() + (1 << (j->attempts - 1));
        enqueue(j);
    }
    return NULL;
}

static void start_worker(void)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    bcl_running = pthread_create(&t, &attr, worker, NULL) == 0;
    pthread_attr_destroy(&attr);
    if (!bcl_running)
        WP_LOG_ERR("backchannel logout: cannot start the delivery thread");
}

/* The form body "logout_token=..." for one client and session, or NULL. */
static char *logout_body(app_t *app, const json_t *client, const char *sid, const char *account_id)
{
    const char *client_id = json_string_value(json_object_get(client, "client_id"));
    const char *alg_name =
        json_string_value(json_object_get(client, "id_token_signed_response_alg"));
    char sub[96], jti[48];
    sigkey_alg_t alg;
    int64_t now = wp_now();
    char *token = NULL, *body = NULL;

    if (!alg_name || sigkey_alg_parse(alg_name, &alg) != 0)
        alg = SIGKEY_RS256;
    const sigkey_t *key = keyring_signing_key(app->keys, alg, now);
    oidc_subject(app, client, account_id, sub, sizeof sub);
    token_random(jti, sizeof jti, 16);
    json_t *claims =
        json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:{s:{}}}", "iss", app->cfg->issuer, "aud",
                  client_id, "iat", (json_int_t)now, "exp", (json_int_t)now + BCL_TOKEN_TTL, "jti",
                  jti, "sub", sub, "events", BCL_EVENT);
    if (claims && sid)
        json_object_set_new(claims, "sid", json_string(sid));
    if (claims && key)
        token = jws_sign(key, "logout+jwt", claims);
    if (token) {
        /* A compact JWS is base64url and dots: nothing to escape in a form body. */
        size_t n = strlen("logout_token=") + strlen(token) + 1;
        body = malloc(n);
        if (body)
            snprintf(body, n, "logout_token=%s", token);
    }
    json_decref(claims);
    free(token);
    return body;
}

void oidc_backchannel_logout(app_t *app, const char *sid_or_null, const char *account_id)
{
    json_t *rows = NULL, *row;
    size_t i;

    if (!account_id ||
        store_session_clients_take(app->store, sid_or_null, account_id, &rows) != WP_OK)
        return;
    json_array_foreach(rows, i, row)
    {
        json_t *client = NULL;
        const char *client_id = json_string_value(json_object_get(row, "client_id"));
        if (!client_id || store_client_get(app->store, client_id, &client) != WP_OK)
            continue;
        const char *uri = json_string_value(json_object_get(client, "backchannel_logout_uri"));
        bcl_job_t *j = uri ? calloc(1, sizeof *j) : NULL;
        if (j) {
            j->uri = strdup(uri);
            j->body = logout_body(app, client, json_string_value(json_object_get(row, "sid")),
                                  account_id);
            j->due = wp_now();
        }
        json_decref(client);
        if (!j)
            continue;
        if (!j->uri || !j->body) {
            WP_LOG_ERR("backchannel logout: cannot build a logout token");
            job_free(j);
            continue;
        }
        pthread_once(&bcl_once, start_worker);
        if (bcl_running)
            enqueue(j);
        else
            job_free(j);
    }
    json_decref(rows);
}
