/* A deadline for each request on a connection, on top of libmicrohttpd's idle timeout.
 *
 * libmicrohttpd's connection timeout is an idle timeout: a client that sends one byte a
 * second never reaches it and holds a connection for as long as it likes. This module
 * remembers when each connection began its current request (the connection's start, or
 * the end of its previous answer) and a watchdog thread shuts down the socket of any
 * connection whose request has taken longer than the deadline. libmicrohttpd then sees
 * the connection end and cleans it up in its own thread. */
#ifndef WP_HTTP_DEADLINE_H
#define WP_HTTP_DEADLINE_H

#include <microhttpd.h>
#include <stdatomic.h>

/* Starts the watchdog with a deadline of SECONDS (> 0) per request; CLOSED counts the
 * connections it ends. Returns 0, or -1 when the thread cannot start (nothing started). */
int http_deadline_start(int seconds, atomic_ulong *closed);

/* Stops the watchdog and forgets every connection. Safe when not started. Call after
 * MHD_stop_daemon, when no callback can run any more. */
void http_deadline_stop(void);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback: tracks a connection from
 * MHD_CONNECTION_NOTIFY_STARTED to MHD_CONNECTION_NOTIFY_CLOSED in *SOCKET_CONTEXT. */
void http_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);

/* Called when a request on CONN has been answered: its next request starts the clock
 * again. */
void http_deadline_request_done(struct MHD_Connection *conn);

#endif
