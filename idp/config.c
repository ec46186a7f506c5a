/* Configuration: safe development defaults, then an INI file read with libinih.
 *
 * Every key is described once in the table `keys` (section, name, type, where it lives in
 * config_t, allowed range). Unknown keys and bad values are errors naming FILE:LINE. The
 * line number is tracked by our own reader function, because the packaged libinih is
 * built without INI_HANDLER_LINENO. */
#include "idp/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WP_MAX_CONFIG_VALUE 1024

typedef enum { KEY_STRING, KEY_INT, KEY_SIZE } key_type_t;

/* A check of a string value: NULL when good, else the reason. */
typedef const char *(*check_fn)(const char *value);

typedef struct {
    const char *section;
    const char *name;
    key_type_t type;
    size_t offset;
    long long min;
    long long max;
    check_fn check;
} config_key_t;

static const char *check_issuer(const char *v);
static const char *check_listen(const char *v);
static const char *check_transport(const char *v);
static const char *check_nonempty(const char *v);
static const char *check_from(const char *v);
static const char *check_confidential_auth(const char *v);

#define STR(sec, name, field, chk)                                                                 \
    {                                                                                              \
        sec, name, KEY_STRING, offsetof(config_t, field), 0, 0, chk                                \
    }
#define INT(sec, name, field, lo, hi)                                                              \
    {                                                                                              \
        sec, name, KEY_INT, offsetof(config_t, field), lo, hi, NULL                                \
    }
#define SIZE(sec, name, field, lo, hi)                                                             \
    {                                                                                              \
        sec, name, KEY_SIZE, offsetof(config_t, field), lo, hi, NULL                               \
    }

static const config_key_t keys[] = {
    STR("server", "issuer", issuer, check_issuer),
    STR("server", "listen", listen, check_listen),
    INT("server", "threads", threads, 1, 256),
    STR("server", "source_url", source_url, check_nonempty),
    STR("server", "trusted_proxy", trusted_proxy, NULL),
    STR("storage", "url", storage_url, check_nonempty),
    STR("secrets", "master_key_file", master_key_file, check_nonempty),
    STR("mail", "transport", mail_transport, check_transport),
    STR("mail", "outbox", mail_outbox, check_nonempty),
    STR("mail", "smtp_url", mail_smtp_url, check_nonempty),
    STR("mail", "from", mail_from, check_from),
    STR("assurance", "acr_diploma", acr_diploma, check_nonempty),
    STR("assurance", "acr_assisted", acr_assisted, check_nonempty),
    SIZE("limits", "max_body_bytes", max_body_bytes, 1024, 16LL * 1024 * 1024),
    SIZE("limits", "max_url_bytes", max_url_bytes, 512, 65536),
    INT("limits", "max_params", max_params, 8, 1024),
    INT("limits", "max_connections", max_connections, 1, 100000),
    INT("limits", "max_connections_per_ip", max_connections_per_ip, 1, 100000),
    INT("limits", "connection_timeout", connection_timeout, 1, 3600),
    INT("limits", "request_deadline", request_deadline, 1, 3600),
    INT("limits", "flow_ttl", flow_ttl, 60, 86400),
    INT("limits", "challenge_ttl", challenge_ttl, 30, 3600),
    INT("limits", "session_ttl", session_ttl, 60, 30LL * 86400),
    INT("limits", "code_ttl", code_ttl, 10, 600),
    INT("limits", "enrol_code_ttl", enrol_code_ttl, 300, 90LL * 86400),
    INT("limits", "enrol_code_attempts", enrol_code_attempts, 1, 100),
    /* issue 5: staff console and recovery */
    INT("limits", "staff_idle_timeout", staff_idle_timeout, 1, 3600),
    INT("limits", "staff_codes_per_hour", staff_codes_per_hour, 1, 1000),
    INT("limits", "recovery_code_ttl", recovery_code_ttl, 1, 30LL * 86400),
    INT("limits", "recovery_code_attempts", recovery_code_attempts, 1, 20),
    INT("limits", "recovery_cooling_off", recovery_cooling_off, 0, 30LL * 86400),
    INT("limits", "staff_fail_window", staff_fail_window, 10, 86400),
    INT("limits", "staff_fail_per_ip", staff_fail_per_ip, 1, 100000),
    INT("limits", "staff_fail_per_credential", staff_fail_per_credential, 1, 1000),
    INT("limits", "staff_searches_per_minute", staff_searches_per_minute, 1, 10000),
    INT("limits", "staff_cases_per_hour", staff_cases_per_hour, 1, 1000),
    INT("limits", "fail_window", fail_window, 10, 86400),
    INT("limits", "fail_per_ip", fail_per_ip, 1, 1000000),
    INT("limits", "fail_per_client", fail_per_client, 1, 1000000),
    INT("limits", "id_token_ttl", id_token_ttl, 30, 3600),
    INT("limits", "access_token_ttl", access_token_ttl, 30, 86400),
    INT("limits", "refresh_token_ttl", refresh_token_ttl, 60, 365LL * 86400),
    INT("limits", "par_ttl", par_ttl, 10, 600),
    INT("limits", "assertion_max_ttl", assertion_max_ttl, 30, 3600),
    STR("oidc", "confidential_auth", confidential_auth, check_confidential_auth),
    INT("limits", "diploma_code_ttl", diploma_code_ttl, 1, 7LL * 86400),
    INT("limits", "diploma_fail_window", diploma_fail_window, 10, 7LL * 86400),
    INT("limits", "diploma_fail_per_person", diploma_fail_per_person, 1, 1000),
    INT("limits", "diploma_fail_global", diploma_fail_global, 1, 100000000),
    INT("limits", "diploma_mails_per_person", diploma_mails_per_person, 1, 1000),
    INT("limits", "diploma_min_answer_ms", diploma_min_answer_ms, 0, 10000),
    INT("limits", "mail_retry_min", mail_retry_min, 1, 86400),
    INT("limits", "mail_retry_max", mail_retry_max, 1, 86400),
    INT("limits", "mail_give_up", mail_give_up, 60, 30LL * 86400),
};

typedef struct {
    config_t *cfg;
    FILE *fp;
    const char *path;
    int line;   /* line number of the line inih is handling */
    int failed; /* an error was written into err */
    char *err;
    size_t err_size;
} parse_ctx_t;

static void set_error(parse_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(parse_ctx_t *ctx, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    if (ctx->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(ctx->err, ctx->err_size, "%s:%d: %s", ctx->path, ctx->line, reason);
    ctx->failed = 1;
}

/* fgets-style reader for ini_parse_stream that counts lines and refuses lines longer
 * than inih's buffer (instead of letting inih split them silently). */
static char *reader(char *str, int num, void *stream)
{
    parse_ctx_t *ctx = stream;
    char max[16];
    if (ctx->failed || !fgets(str, num, ctx->fp))
        return NULL;
    ctx->line++;
    if (!strchr(str, '\n') && !feof(ctx->fp)) {
        snprintf(max, sizeof max, "%d", num - 3);
        set_error(ctx, "line too long (at most %s bytes)", max);
        return NULL;
    }
    return str;
}

/* Parses a whole decimal number in [min, max]. Returns 0 or -1. */
static int parse_number(const char *v, long long min, long long max, long long *out)
{
    char *end;
    long long n;
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

/* Checks "scheme://host[:port]" with nothing after it. Writes the lowercased host into
 * host[host_size] and whether the scheme is https. Returns NULL or a reason. */
static const char *split_origin(const char *url, char *host, size_t host_size, int *https)
{
    const char *p, *h, *end;
    size_t hlen;

    if (strncmp(url, "https://", 8) == 0) {
        *https = 1;
        h = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        *https = 0;
        h = url + 7;
    } else {
        return "issuer must start with https:// or http://";
    }
    for (p = h; *p && *p != ':' && *p != '/' && *p != '?' && *p != '#'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            return "issuer host has a character that is not allowed";
    }
    hlen = (size_t)(p - h);
    if (hlen == 0 || hlen >= host_size)
        return "issuer has no host or a host that is too long";
    for (size_t i = 0; i < hlen; i++)
        host[i] = (char)tolower((unsigned char)h[i]);
    host[hlen] = '\0';
    end = p;
    if (*end == ':') {
        long long port;
        char digits[8];
        size_t dlen = strcspn(end + 1, "/?#");
        if (dlen == 0 || dlen >= sizeof digits)
            return "issuer has a bad port";
        memcpy(digits, end + 1, dlen);
        digits[dlen] = '\0';
        if (parse_number(digits, 1, 65535, &port))
            return "issuer has a bad port";
        end += 1 + dlen;
    }
    if (*end)
        return "issuer must be scheme://host[:port] without path, query or fragment (no "
               "trailing '/')";
    return NULL;
}

static int is_loopback_host(const char *host)
{
    return strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0;
}

static const char *check_issuer(const char *v)
{
    char host[256];
    int https;
    const char *why = split_origin(v, host, sizeof host, &https);
    if (why)
        return why;
    if (!https && !is_loopback_host(host))
        return "issuer must use https unless its host is localhost or 127.0.0.1";
    return NULL;
}

/* Splits "host:port"; the host may be a name, IPv4 or [IPv6]. Returns NULL or a reason. */
static const char *split_listen(const char *v, size_t *host_len, int *port)
{
    const char *colon = strrchr(v, ':');
    long long n;
    if (!colon || colon == v || parse_number(colon + 1, 0, 65535, &n))
        return "listen must be host:port with a port from 0 to 65535";
    for (const char *p = v; p < colon; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("-.:[]", *p))
            return "listen host has a character that is not allowed";
    }
    *host_len = (size_t)(colon - v);
    *port = (int)n;
    return NULL;
}

static const char *check_listen(const char *v)
{
    size_t len;
    int port;
    return split_listen(v, &len, &port);
}

static const char *check_transport(const char *v)
{
    if (strcmp(v, "dir") != 0 && strcmp(v, "smtp") != 0)
        return "transport must be dir or smtp";
    return NULL;
}

static const char *check_confidential_auth(const char *v)
{
    if (strcmp(v, "any") != 0 && strcmp(v, "private_key_jwt") != 0)
        return "confidential_auth must be any or private_key_jwt";
    return NULL;
}

static const char *check_nonempty(const char *v)
{
    return v[0] ? NULL : "value must not be empty";
}

static const char *check_from(const char *v)
{
    return strchr(v, '@') ? NULL : "from must hold a mail address";
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx_t *ctx = user;
    const config_key_t *key = NULL;
    char range[64];
    const char *why;
    long long n;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0) {
            key = &keys[i];
            break;
        }
    }
    if (!key) {
        set_error(ctx, "unknown key '%s' in [%s]", name, section);
        return 0;
    }
    if (strlen(value) > WP_MAX_CONFIG_VALUE) {
        set_error(ctx, "value of '%s' is too long", name);
        return 0;
    }
    char *field = (char *)ctx->cfg + key->offset;
    switch (key->type) {
    case KEY_STRING: {
        char *copy;
        if (key->check && (why = key->check(value)) != NULL) {
            set_error(ctx, "%s: %s", name, why);
            return 0;
        }
        copy = strdup(value);
        if (!copy) {
            set_error(ctx, "out of memory");
            return 0;
        }
        free(*(char **)field);
        *(char **)field = copy;
        break;
    }
    case KEY_INT:
    case KEY_SIZE:
        if (parse_number(value, key->min, key->max, &n)) {
            snprintf(range, sizeof range, "%lld and %lld", key->min, key->max);
            set_error(ctx, "'%s' must be a whole number between %s", name, range);
            return 0;
        }
        if (key->type == KEY_INT)
            *(int *)field = (int)n;
        else
            *(size_t *)field = (size_t)n;
        break;
    }
    return 1;
}

/* Derives rp_id, listen_host and listen_port from values that were checked already.
 * Returns 0, or -1 when out of memory. */
static int derive(config_t *cfg)
{
    char host[256];
    int https;
    size_t len;

    if (split_origin(cfg->issuer, host, sizeof host, &https) ||
        split_listen(cfg->listen, &len, &cfg->listen_port))
        return -1; /* not reached: both were checked */
    cfg->rp_id = strdup(host);
    cfg->listen_host = strndup(cfg->listen, len);
    if (cfg->trusted_proxy && !cfg->trusted_proxy[0]) {
        free(cfg->trusted_proxy);
        cfg->trusted_proxy = NULL;
    }
    return cfg->rp_id && cfg->listen_host ? 0 : -1;
}

static int set_defaults(config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->issuer = strdup("http://localhost:8080");
    cfg->listen = strdup("127.0.0.1:8080");
    cfg->threads = 4;
    cfg->source_url = strdup("https://github.com/wereldpas/wereldpas");
    cfg->storage_url = strdup("sqlite:./var/wereldpas.db");
    cfg->master_key_file = strdup("./var/master.key");
    cfg->mail_transport = strdup("dir");
    cfg->mail_outbox = strdup("./var/outbox");
    cfg->mail_smtp_url = strdup("smtp://127.0.0.1:25");
    cfg->mail_from = strdup("Wereldpas <no-reply@localhost>");
    cfg->acr_diploma = strdup("http://eidas.europa.eu/NotNotified/LoA/low");
    cfg->acr_assisted = strdup("http://eidas.europa.eu/NotNotified/LoA/substantial");
    cfg->max_body_bytes = 65536;
    cfg->max_url_bytes = 8192;
    cfg->max_params = 64;
    cfg->max_connections = 512;
    cfg->max_connections_per_ip = 64;
    cfg->connection_timeout = 15;
    cfg->request_deadline = 30;
    cfg->flow_ttl = 1800;
    cfg->challenge_ttl = 300;
    cfg->session_ttl = 28800;
    cfg->code_ttl = 60;
    cfg->enrol_code_ttl = 604800;
    cfg->enrol_code_attempts = 5;
    cfg->staff_idle_timeout = 900; /* issue 5 */
    cfg->staff_codes_per_hour = 30;
    cfg->staff_fail_window = 900;
    cfg->staff_fail_per_ip = 30;
    cfg->staff_fail_per_credential = 5;
    cfg->staff_searches_per_minute = 60;
    cfg->staff_cases_per_hour = 20;
    cfg->recovery_code_ttl = 72 * 3600;
    cfg->recovery_code_attempts = 5;
    cfg->recovery_cooling_off = 48 * 3600;
    cfg->fail_window = 900;
    cfg->fail_per_ip = 100;
    cfg->fail_per_client = 20;
    cfg->id_token_ttl = 300;
    cfg->access_token_ttl = 600;
    cfg->refresh_token_ttl = 21600;
    cfg->par_ttl = 60;
    cfg->assertion_max_ttl = 600;
    cfg->confidential_auth = strdup("any");
    if (!cfg->confidential_auth)
        return -1;
    cfg->diploma_code_ttl = 86400;
    cfg->diploma_fail_window = 3600;
    cfg->diploma_fail_per_person = 5;
    cfg->diploma_fail_global = 10000;
    cfg->diploma_mails_per_person = 5;
    cfg->diploma_min_answer_ms = 400;
    cfg->mail_retry_min = 30;
    cfg->mail_retry_max = 3600;
    cfg->mail_give_up = 172800;
    if (!cfg->issuer || !cfg->listen || !cfg->source_url || !cfg->storage_url ||
        !cfg->master_key_file || !cfg->mail_transport || !cfg->mail_outbox || !cfg->mail_smtp_url ||
        !cfg->mail_from || !cfg->acr_diploma || !cfg->acr_assisted)
        return -1;
    return 0;
}

wp_err_t config_load(const char *path, config_t *cfg, char *err, size_t err_size)
{
    wp_err_t rc = WP_ERR_INVALID;
    parse_ctx_t ctx = {
        .cfg = cfg, .path = path ? path : "defaults", .err = err, .err_size = err_size};
    int r;

    if (err_size)
        err[0] = '\0';
    if (set_defaults(cfg)) {
        snprintf(err, err_size, "out of memory");
        rc = WP_ERR;
        goto out;
    }
    if (path) {
        ctx.fp = fopen(path, "r");
        if (!ctx.fp) {
            snprintf(err, err_size, "%s: cannot open config file: %s", path, strerror(errno));
            goto out;
        }
        /* One value per key: no continuation lines; stop at the first error. */
        ini_allow_multiline = false;
        ini_stop_on_first_error = true;
        r = ini_parse_stream(reader, &ctx, handler, &ctx);
        if (ctx.failed)
            goto out;
        if (r > 0) {
            snprintf(err, err_size, "%s:%d: not a section header or key = value", path, r);
            goto out;
        }
        if (r < 0) {
            snprintf(err, err_size, "%s: cannot read config file", path);
            goto out;
        }
    }
    if (derive(cfg)) {
        snprintf(err, err_size, "out of memory");
        rc = WP_ERR;
        goto out;
    }
    rc = WP_OK;
out:
    if (ctx.fp)
        fclose(ctx.fp);
    if (rc != WP_OK)
        config_clear(cfg);
    return rc;
}

void config_clear(config_t *cfg)
{
    if (!cfg)
        return;
    free(cfg->issuer);
    free(cfg->listen);
    free(cfg->rp_id);
    free(cfg->listen_host);
    free(cfg->source_url);
    free(cfg->trusted_proxy);
    free(cfg->storage_url);
    free(cfg->master_key_file);
    free(cfg->mail_transport);
    free(cfg->mail_outbox);
    free(cfg->mail_smtp_url);
    free(cfg->mail_from);
    free(cfg->acr_diploma);
    free(cfg->acr_assisted);
    free(cfg->confidential_auth);
    memset(cfg, 0, sizeof *cfg);
}
