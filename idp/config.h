/* Configuration: INI file (libinih) over safe development defaults. */
#ifndef IDP_CONFIG_H
#define IDP_CONFIG_H

#include <stddef.h>

#include "idp/wp.h"

typedef struct {
    /* [server] */
    char *issuer;        /* default "http://localhost:8080"; no trailing slash */
    char *listen;        /* default "127.0.0.1:8080" */
    char *rp_id;         /* derived: the issuer's host */
    char *listen_host;   /* derived from listen */
    int listen_port;     /* derived from listen */
    int threads;         /* [server] threads, default 4 */
    char *source_url;    /* [server] source_url: footer link to the source code */
    char *trusted_proxy; /* [server] trusted_proxy: address whose X-Forwarded-For is used; default
                            none */
    /* [storage] */
    char *storage_url; /* default "sqlite:./var/wereldpas.db" */
    /* [secrets] */
    char *master_key_file; /* default "./var/master.key" */
    /* [mail] */
    char *mail_transport; /* "dir" (default) or "smtp" */
    char *mail_outbox;    /* default "./var/outbox" */
    char *mail_smtp_url;  /* default "smtp://127.0.0.1:25" */
    char *mail_from;      /* default "Wereldpas <no-reply@localhost>" */
    /* [assurance] acr values per proofing method */
    char *acr_diploma;  /* default "http://eidas.europa.eu/NotNotified/LoA/low" */
    char *acr_assisted; /* default "http://eidas.europa.eu/NotNotified/LoA/substantial" */
    /* [limits] (all have safe defaults) */
    size_t max_body_bytes;      /* max_body_bytes = 65536 */
    size_t max_url_bytes;       /* max_url_bytes = 8192 */
    int max_params;             /* max_params = 64 */
    int max_connections;        /* max_connections = 512 */
    int max_connections_per_ip; /* max_connections_per_ip = 64 */
    int connection_timeout;     /* connection_timeout = 15 (seconds idle) */
    int request_deadline; /* request_deadline = 30 (seconds to send one request and get its answer)
                           */
    int flow_ttl;         /* flow_ttl = 1800 */
    int challenge_ttl;    /* challenge_ttl = 300 */
    int session_ttl;      /* session_ttl = 28800 */
    int code_ttl;         /* authorization code, code_ttl = 60 */
    int enrol_code_ttl;   /* enrol_code_ttl = 604800 (7 days) */
    int enrol_code_attempts; /* enrol_code_attempts = 5 per flow */
    /* issue 5: staff console and recovery */
    int staff_idle_timeout;     /* staff_idle_timeout = 900 seconds of console inactivity */
    int staff_codes_per_hour;   /* staff_codes_per_hour = 30 codes issued per staff member */
    int recovery_code_ttl;      /* recovery_code_ttl = 259200 (72 hours) */
    int recovery_code_attempts; /* recovery_code_attempts = 5 per code */
    int recovery_cooling_off; /* recovery_cooling_off = 172800 for cases without a verified call */
    int staff_fail_window;    /* staff_fail_window = 900 seconds for failed staff sign-ins */
    int staff_fail_per_ip;    /* staff_fail_per_ip = 30 failed staff sign-ins per address */
    int staff_fail_per_credential; /* staff_fail_per_credential = 5 per staff passkey */
    int staff_searches_per_minute; /* staff_searches_per_minute = 60 per staff member */
    int staff_cases_per_hour;      /* staff_cases_per_hour = 20 recovery cases opened */
    int fail_window;               /* fail_window = 900 seconds */
    int fail_per_ip;               /* fail_per_ip = 100 failures per address per window */
    int fail_per_client;           /* fail_per_client = 20 bad client credentials per window */
    int id_token_ttl;              /* id_token_ttl = 300 */
    int access_token_ttl;          /* access_token_ttl = 600 */
    /* issue 3: tokens and client authentication */
    int refresh_token_ttl;   /* [limits] refresh_token_ttl = 21600: each refresh token */
    int par_ttl;             /* [limits] par_ttl = 60: a pushed authorization request */
    int assertion_max_ttl;   /* [limits] assertion_max_ttl = 600: exp of a client assertion */
    char *confidential_auth; /* [oidc] confidential_auth = any | private_key_jwt */
    /* [limits] enrolment by diploma and the mail queue (issue 4) */
    int diploma_code_ttl;         /* diploma_code_ttl = 86400 (1 s .. 7 days) */
    int diploma_fail_window;      /* diploma_fail_window = 3600 seconds */
    int diploma_fail_per_person;  /* diploma_fail_per_person = 5 per window */
    int diploma_fail_global;      /* diploma_fail_global = 10000 per window */
    int diploma_mails_per_person; /* diploma_mails_per_person = 5 codes per day */
    int diploma_min_answer_ms;    /* diploma_min_answer_ms = 400 */
    int mail_retry_min;           /* mail_retry_min = 30 seconds, doubled per attempt */
    int mail_retry_max;           /* mail_retry_max = 3600 seconds between attempts */
    int mail_give_up;             /* mail_give_up = 172800 seconds after queuing */
} config_t;

/* Fills cfg with the defaults, then reads path if it is not NULL. Unknown sections or
 * keys and bad values are errors: returns WP_ERR_INVALID and writes "FILE:LINE: reason"
 * into err. Free with config_clear. */
wp_err_t config_load(const char *path, config_t *cfg, char *err, size_t err_size);
void config_clear(config_t *cfg);

#endif
