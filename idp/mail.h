/* Mail: RFC 5322 messages built from the message catalogs, a durable queue in storage, and
 * a sender thread that delivers queued messages to the outbox folder (transport = dir) or
 * to an SMTP server through libcurl (transport = smtp), retrying with backoff.
 *
 * A message is queued (sealed with a key derived from the master key, because it holds a
 * one-time code) before anyone is told it is on its way, and is deleted only after it
 * was delivered, so a failed delivery never loses a code. */
#ifndef IDP_MAIL_H
#define IDP_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "idp/app.h"

#define MAIL_MAX_MESSAGE 65536 /* bytes of one built message */
#define MAIL_MAX_ADDRESS 254   /* bytes of a mail address (RFC 5321 path limit) */

/* Kinds of mail; each has catalog keys mail_<kind>_subject and mail_<kind>_body. */
#define MAIL_KIND_CODE "code"                   /* a one-time code for enrolment by diploma */
#define MAIL_KIND_PASSKEY_ADDED "passkey_added" /* notice: a new passkey was added */

/* One message to build. All strings are UTF-8 and borrowed. */
typedef struct {
    const char *from;       /* "Display Name <addr@host>" or "addr@host" */
    const char *to;         /* a bare address */
    const char *subject;    /* encoded per RFC 2047 when not ASCII */
    const char *body;       /* text with LF line ends; sent quoted-printable */
    int64_t date;           /* seconds since the epoch, for the Date header */
    const char *message_id; /* left part of the Message-ID (random), or NULL for a new one */
} mail_msg_t;

/* Builds the RFC 5322 message (CRLF line ends) into *out (free()) and *len. Returns
 * WP_ERR_INVALID when from or to is not a plain address (e.g. holds CR, LF, '<' or
 * spaces) or the result would exceed MAIL_MAX_MESSAGE, WP_ERR when out of memory. */
wp_err_t mail_build(const mail_msg_t *m, char **out, size_t *len);

/* 1 when s looks like a deliverable address: local@domain, printable ASCII without
 * spaces, quotes, angle brackets or control characters, at most MAIL_MAX_ADDRESS bytes. */
int mail_address_ok(const char *s);

/* Writes msg atomically into folder dir: a temporary file "tmp-RANDOM" (mode 0600),
 * fsync, then rename to "RANDOM.eml" and fsync of the folder. Creates dir (0700) when
 * missing. Returns WP_OK or WP_ERR (logged, no file left behind). */
wp_err_t mail_deliver_dir(const char *dir, const char *msg, size_t len);

/* Submits msg to the SMTP server at url (smtp:// or smtps://) with libcurl: envelope
 * sender from, recipient to. Returns WP_OK once the server accepted it, else WP_ERR. */
wp_err_t mail_deliver_smtp(const char *url, const char *from, const char *to, const char *msg,
                           size_t len);

/* Queues a mail of kind (MAIL_KIND_*) to address to, in lang, greeting given_name (the
 * first given name is used; NULL or "" gives a greeting without a name), with code
 * (may be NULL) in the body. Returns WP_OK once the message is stored in the queue (it
 * is delivered later by the sender thread), WP_ERR_INVALID for a bad address, WP_ERR
 * when the sender is not running or storage failed (the message was not queued). */
wp_err_t mail_send(app_t *app, const char *to, const char *lang, const char *kind,
                   const char *given_name, const char *code);

/* Starts the sender thread for app (once per process, before the HTTP threads start);
 * master is the master key, from which the queue's sealing key is derived. Returns 0 or
 * -1. */
int mail_start(app_t *app, const uint8_t master[32]);
/* Stops the sender thread (waiting for a delivery in progress); queued messages stay in
 * storage for the next start. Safe to call when not started. */
void mail_stop(void);

#endif
