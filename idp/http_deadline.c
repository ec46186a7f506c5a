/* A deadline for each request on a connection (see http_deadline.h). */
#include "idp/http_deadline.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "idp/wp.h"

/* One tracked connection, in a doubly linked list under watch.mu. */
typedef struct tracked {
    struct tracked *prev, *next;
    MHD_socket fd;
    struct timespec since; /* start of the current request (CLOCK_MONOTONIC) */
    bool cut;              /* the watchdog already shut it down */
} tracked_t;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    tracked_t *head;
    int seconds;
    atomic_ulong *closed;
    bool running;
    bool stop;
} watch = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct timespec mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

/* Cuts every connection whose request is older than the deadline. Called with watch.mu
 * held. A connection is removed from the list (under the same lock) before
 * libmicrohttpd closes its socket, so every fd here is still that connection's. */
static void cut_overdue(void)
{
    struct timespec now = mono_now();
    for (tracked_t *t = watch.head; t; t = t->next) {
        if (t->cut || now.tv_sec - t->since.tv_sec <= watch.seconds)
            continue;
        t->cut = true;
        if (shutdown(t->fd, SHUT_RDWR) == 0 && watch.closed)
            atomic_fetch_add(watch.closed, 1);
    }
}

static void *watchdog(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&watch.mu);
    while (!watch.stop) {
        struct timespec wake;
        clock_gettime(CLOCK_REALTIME, &wake);
        wake.tv_sec += 1;
        int rc = pthread_cond_timedwait(&watch.cv, &watch.mu, &wake);
        if (rc != 0 && rc != ETIMEDOUT)
            break;
        if (!watch.stop)
            cut_overdue();
    }
    pthread_mutex_unlock(&watch.mu);
    return NULL;
}

int http_deadline_start(int seconds, atomic_ulong *closed)
{
    if (seconds <= 0 || watch.running)
        return -1;
    pthread_cond_init(&watch.cv, NULL);
    watch.seconds = seconds;
    watch.closed = closed;
    watch.stop = false;
    if (pthread_create(&watch.thread, NULL, watchdog, NULL) != 0) {
        pthread_cond_destroy(&watch.cv);
        return -1;
    }
    watch.running = true;
    return 0;
}

void http_deadline_stop(void)
{
    if (watch.running) {
        pthread_mutex_lock(&watch.mu);
        watch.stop = true;
        pthread_cond_signal(&watch.cv);
        pthread_mutex_unlock(&watch.mu);
        pthread_join(watch.thread, NULL);
        pthread_cond_destroy(&watch.cv);
        watch.running = false;
    }
    pthread_mutex_lock(&watch.mu);
    while (watch.head) {
        tracked_t *t = watch.head;
        watch.head = t->next;
        free(t);
    }
    pthread_mutex_unlock(&watch.mu);
}

void http_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    tracked_t *t = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        t = info ? calloc(1, sizeof *t) : NULL;
        if (!t) {
            WP_LOG_ERR("cannot track a connection's deadline");
            return;
        }
        t->fd = info->connect_fd;
        t->since = mono_now();
        pthread_mutex_lock(&watch.mu);
        t->next = watch.head;
        if (watch.head)
            watch.head->prev = t;
        watch.head = t;
        pthread_mutex_unlock(&watch.mu);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && t) {
        pthread_mutex_lock(&watch.mu);
        if (t->prev)
            t->prev->next = t->next;
        else
            watch.head = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&watch.mu);
        free(t);
        *socket_context = NULL;
    }
}

void http_deadline_request_done(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    tracked_t *t = info ? info->socket_context : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&watch.mu);
    t->since = mono_now();
    pthread_mutex_unlock(&watch.mu);
}
