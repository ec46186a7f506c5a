/* `wereldpas serve`: builds the application context, starts the HTTP daemon, purges
 * expired records once a minute, and drains on SIGTERM or SIGINT. */
#include "idp/server.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idp/app.h"
#include "idp/http.h"
#include "idp/mail.h"
#include "idp/render.h"

#define PURGE_INTERVAL 60

static const char *template_dir(void)
{
    const char *dir = getenv("WERELDPAS_TEMPLATES");
    if (dir && *dir)
        return dir;
    if (access(WP_TEMPLATE_DIR "/layout.html", R_OK) == 0)
        return WP_TEMPLATE_DIR;
    return WP_TEMPLATE_DIR_INSTALLED;
}

/* scheme://host[:port] of the issuer (the WebAuthn origin). */
static void issuer_origin(const char *issuer, char *out, size_t size)
{
    const char *p = strstr(issuer, "://");
    size_t n = p ? (size_t)(p - issuer) + 3 + strcspn(p + 3, "/?#") : strlen(issuer);
    snprintf(out, size, "%.*s", (int)n, issuer);
}

int server_run(const config_t *cfg, store_t *store, keyring_t *keys, const uint8_t master[32])
{
    app_t *app = calloc(1, sizeof *app);
    char err[512] = "";
    void *daemon = NULL;
    sigset_t set;
    int rc = 1;

    if (!app)
        return 1;
    app->cfg = cfg;
    app->store = store;
    app->keys = keys;
    app->https = strncmp(cfg->issuer, "https://", 8) == 0;
    issuer_origin(cfg->issuer, app->origin, sizeof app->origin);
    seal_subkey(master, APP_SUBKEY_HASH, "tokenhsh", app->hash_key);
    seal_subkey(master, APP_SUBKEY_CSRF, "csrftokn", app->csrf_key);
    seal_subkey(master, APP_SUBKEY_PAIRWISE, "pairwise", app->pairwise_key);
    seal_subkey(master, APP_SUBKEY_CONTEXT, "atcontxt", app->context_key);
    app->render = render_open(template_dir(), err, sizeof err);
    if (!app->render) {
        fprintf(stderr, "wereldpas: %s\n", err);
        goto out;
    }
    /* Signals are taken synchronously by this thread; the HTTP threads never see them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (mail_start(app, master) != 0) {
        fprintf(stderr, "wereldpas: cannot start the mail sender\n");
        goto out;
    }
    daemon = http_start(app);
    if (!daemon) {
        fprintf(stderr, "wereldpas: cannot listen on %s\n", cfg->listen);
        goto out;
    }
    WP_LOG_INFO("serving %s on %s", cfg->issuer, cfg->listen);
    for (;;) {
        struct timespec ts = {.tv_sec = PURGE_INTERVAL};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP) {
            /* systemctl reload: rotated and retired keys take effect at once. */
            WP_LOG_INFO("reloading the keys");
            keyring_reload(keys);
            continue;
        }
        if (sig < 0 && errno != EAGAIN && errno != EINTR)
            break;
        store_purge_expired(store, wp_now());
        keyring_reload(keys);
    }
    WP_LOG_INFO("draining and stopping");
    http_drain(daemon, 3);
    rc = 0;
out:
    http_stop(daemon);
    mail_stop();
    render_free(app->render);
    sodium_memzero(app, sizeof *app);
    free(app);
    return rc;
}
