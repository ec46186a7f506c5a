/* Mail: building RFC 5322 messages, the durable queue and the sender thread. See mail.h. */
#include "idp/mail.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/seal.h"
#include "crypto/token.h"
#include "idp/render.h"
#include "idp/store.h"

#define MAIL_SEAL_CONTEXT "mailqueu" /* crypto_kdf context of the queue's sealing key */
#define MAIL_SEAL_ID 1
#define MAIL_LEASE_SECS 120  /* a message being delivered is not taken by another sender */
#define MAIL_POLL_SECS 1     /* the sender looks for due retries this often */
#define MAIL_QP_LINE 75      /* quoted-printable characters per line before the soft break */
#define MAIL_WORD_BYTES 39   /* UTF-8 bytes per RFC 2047 encoded word (52 base64 chars) */
#define MAIL_MAX_NAME 64     /* bytes of the given name in a greeting */
#define MAIL_SMTP_TIMEOUT 20 /* seconds for a whole SMTP submission */

/* ---- a growing text buffer with a hard cap */

typedef struct {
    char *p;
    size_t len;
    size_t cap;
    wp_err_t err;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (n > MAIL_MAX_MESSAGE - b->len) {
        b->err = WP_ERR_INVALID;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2; /* cannot overflow: len + n <= MAIL_MAX_MESSAGE */
        char *p = realloc(b->p, cap);
        if (!p) {
            b->err = WP_ERR;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_free(buf_t *b)
{
    if (b->p) {
        sodium_memzero(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof *b);
}

/* ---- addresses and header values */

int mail_address_ok(const char *s)
{
    const char *at;
    size_t len;
    if (!s)
        return 0;
    len = strlen(s);
    at = strchr(s, '@');
    if (len < 3 || len > MAIL_MAX_ADDRESS || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
            return 0;
    }
    return 1;
}

/* The address inside from ("Name <addr>" or "addr") into out[MAIL_MAX_ADDRESS + 1].
 * Returns 0, or -1 when there is none or it is not plain. */
static int from_address(const char *from, char out[MAIL_MAX_ADDRESS + 1])
{
    const char *lt = strrchr(from, '<');
    const char *start = lt ? lt + 1 : from;
    size_t n = lt ? strcspn(start, ">") : strlen(from);
    if (lt && (start[n] != '>' || start[n + 1] != '\0'))
        return -1;
    if (n == 0 || n > MAIL_MAX_ADDRESS)
        return -1;
    memcpy(out, start, n);
    out[n] = '\0';
    return mail_address_ok(out) ? 0 : -1;
}

static int has_ctl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

static int is_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80)
            return 0;
    }
    return 1;
}

/* Appends text as RFC 2047 encoded words (UTF-8, base64), folded between words; a word
 * never splits a UTF-8 character. */
static void add_encoded_words(buf_t *b, const char *text)
{
    size_t len = strlen(text), pos = 0;
    char b64[sodium_base64_ENCODED_LEN(MAIL_WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    while (pos < len) {
        size_t n = len - pos < MAIL_WORD_BYTES ? len - pos : MAIL_WORD_BYTES;
        while (pos + n < len && n > 1 && ((unsigned char)text[pos + n] & 0xc0) == 0x80)
            n--;
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)text + pos, n,
                          sodium_base64_VARIANT_ORIGINAL);
        if (pos)
            buf_str(b, "\r\n ");
        buf_str(b, "=?UTF-8?B?");
        buf_str(b, b64);
        buf_str(b, "?=");
        pos += n;
    }
}

/* "Name: value CRLF", value encoded when it is not ASCII. */
static void add_header(buf_t *b, const char *name, const char *value)
{
    buf_str(b, name);
    buf_str(b, ": ");
    if (is_ascii(value))
        buf_str(b, value);
    else
        add_encoded_words(b, value);
    buf_str(b, "\r\n");
}

/* The From header: a display name that is not ASCII is encoded, the address kept. */
static void add_from(buf_t *b, const char *from, const char *addr)
{
    const char *lt = strrchr(from, '<');
    if (is_ascii(from) || !lt) {
        add_header(b, "From", is_ascii(from) ? from : addr);
        return;
    }
    size_t n = (size_t)(lt - from);
    while (n > 0 && from[n - 1] == ' ')
        n--;
    char name[256];
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, from, n);
    name[n] = '\0';
    buf_str(b, "From: ");
    add_encoded_words(b, name);
    buf_str(b, "\r\n <"); /* folded, so no line grows past 78 characters */
    buf_str(b, addr);
    buf_str(b, ">\r\n");
}

static void format_date(int64_t t, char *out, size_t size)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Appends body as quoted-printable (RFC 2045 6.7) with CRLF hard line breaks. */
static void add_qp_body(buf_t *b, const char *body)
{
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)body; *p; p++) {
        char enc[4];
        size_t n;
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            buf_str(b, "\r\n");
            col = 0;
            continue;
        }
        int at_end = p[1] == '\0' || p[1] == '\n' || p[1] == '\r';
        if ((*p >= 33 && *p <= 126 && *p != '=') || (*p == ' ' && !at_end)) {
            enc[0] = (char)*p;
            enc[1] = '\0';
            n = 1;
        } else {
            snprintf(enc, sizeof enc, "=%02X", *p);
            n = 3;
        }
        if (col + n > MAIL_QP_LINE) {
            buf_str(b, "=\r\n");
            col = 0;
        }
        buf_add(b, enc, n);
        col += n;
    }
    if (col)
        buf_str(b, "\r\n");
}

wp_err_t mail_build(const mail_msg_t *m, char **out, size_t *len)
{
    buf_t b = {0};
    char from[MAIL_MAX_ADDRESS + 1], date[64], rand_id[40];
    const char *domain;

    if (!m || !m->from || !m->to || !m->subject || !m->body || !mail_address_ok(m->to) ||
        has_ctl(m->from) || has_ctl(m->subject) || from_address(m->from, from) != 0)
        return WP_ERR_INVALID;
    domain = strchr(from, '@') + 1;
    format_date(m->date, date, sizeof date);
    if (!m->message_id)
        token_random(rand_id, sizeof rand_id, 18);
    add_header(&b, "Date", date);
    add_from(&b, m->from, from);
    buf_str(&b, "To: <");
    buf_str(&b, m->to);
    buf_str(&b, ">\r\n");
    add_header(&b, "Subject", m->subject);
    buf_str(&b, "Message-ID: <");
    buf_str(&b, m->message_id ? m->message_id : rand_id);
    buf_str(&b, "@");
    buf_str(&b, domain);
    buf_str(&b, ">\r\n");
    buf_str(&b, "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n"
                "Auto-Submitted: auto-generated\r\n"
                "\r\n");
    add_qp_body(&b, m->body);
    if (b.err) {
        wp_err_t rc = b.err;
        buf_free(&b);
        return rc;
    }
    *out = b.p;
    *len = b.len;
    return WP_OK;
}

/* ---- delivery */

wp_err_t mail_deliver_dir(const char *dir, const char *msg, size_t len)
{
    char name[40], tmp[PATH_MAX], final[PATH_MAX];
    struct timespec ts;
    int fd = -1, dfd = -1;
    wp_err_t rc = WP_ERR;
    size_t done = 0;

    clock_gettime(CLOCK_REALTIME, &ts);
    token_random(name, sizeof name, 12);
    if (snprintf(tmp, sizeof tmp, "%s/tmp-%s", dir, name) >= (int)sizeof tmp ||
        snprintf(final, sizeof final, "%s/%013lld-%s.eml", dir,
                 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, name) >= (int)sizeof final) {
        WP_LOG_ERR("mail: outbox path too long");
        return WP_ERR;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        WP_LOG_ERR("mail: cannot create outbox %s: %s", dir, strerror(errno));
        return WP_ERR;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        WP_LOG_ERR("mail: cannot create a file in the outbox %s: %s", dir, strerror(errno));
        return WP_ERR;
    }
    while (done < len) {
        ssize_t w = write(fd, msg + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out;
        done += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, final) != 0)
        goto out;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fsync(dfd);
    rc = WP_OK;
out:
    if (rc != WP_OK) {
        WP_LOG_ERR("mail: cannot write to the outbox %s: %s", dir, strerror(errno));
        unlink(tmp);
    }
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

typedef struct {
    const char *p;
    size_t left;
} upload_t;

static size_t upload_read(char *ptr, size_t size, size_t nmemb, void *ud)
{
    upload_t *u = ud;
    size_t room = size * nmemb;
    size_t n = u->left < room ? u->left : room;
    memcpy(ptr, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static atomic_int mail_stopping;

/* Aborts a submission in progress when the sender is stopping. */
static int upload_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow)
{
    (void)ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&mail_stopping) ? 1 : 0;
}

wp_err_t mail_deliver_smtp(const char *url, const char *from, const char *to, const char *msg,
                           size_t len)
{
    char sender[MAIL_MAX_ADDRESS + 1], env_from[MAIL_MAX_ADDRESS + 3], env_to[MAIL_MAX_ADDRESS + 3];
    upload_t up = {msg, len};
    struct curl_slist *rcpt = NULL;
    CURL *c = NULL;
    CURLcode cc = CURLE_OK;
    wp_err_t rc = WP_ERR;

    if (from_address(from, sender) != 0 || !mail_address_ok(to))
        return WP_ERR_INVALID;
    snprintf(env_from, sizeof env_from, "<%s>", sender);
    snprintf(env_to, sizeof env_to, "<%s>", to);
    c = curl_easy_init();
    rcpt = curl_slist_append(NULL, env_to);
    if (!c || !rcpt)
        goto out;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, env_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)MAIL_SMTP_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, upload_progress);
    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        WP_LOG_WARN("mail: SMTP submission failed: %s", curl_easy_strerror(cc));
        goto out;
    }
    rc = WP_OK;
out:
    curl_slist_free_all(rcpt);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

/* ---- the queue and the sender thread */

typedef struct {
    app_t *app;
    uint8_t key[SEAL_KEY_BYTES];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int kicked;
} mailer_t;

static mailer_t *mailer; /* set before the HTTP threads start, cleared after they stop */

/* The first given name without control characters, at most MAIL_MAX_NAME bytes (cut at a
 * character boundary), into out[MAIL_MAX_NAME + 1]. */
static void first_name(const char *given, char out[MAIL_MAX_NAME + 1])
{
    size_t n = 0;
    for (const char *p = given ? given : ""; *p && *p != ' ' && n < MAIL_MAX_NAME; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            continue;
        out[n++] = *p;
    }
    while (n > 0 && n == MAIL_MAX_NAME && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
        n--;
    out[n] = '\0';
}

/* The body: greeting, the kind's text with {code} and {hours}, sign-off. malloc'd. */
static char *compose_body(const app_t *app, const char *lang, const char *kind,
                          const char *given_name, const char *code)
{
    char key[64], name[MAIL_MAX_NAME + 1], hours[16];
    char *greeting = NULL, *text = NULL;
    buf_t b = {0};
    const render_t *r = app->render;
    const char *const greeting_names[] = {"name"}, *const body_names[] = {"code", "hours"};

    first_name(given_name, name);
    const char *const greeting_values[] = {name};
    greeting = name[0] ? render_fill(render_msg(r, lang, "mail_greeting"), greeting_names,
                                     greeting_values, 1)
                       : strdup(render_msg(r, lang, "mail_greeting_anon"));
    snprintf(key, sizeof key, "mail_%s_body", kind);
    /* {hours}: how long the code of this kind works (a recovery code or a diploma code) */
    int64_t ttl =
        strcmp(kind, "recovery") == 0 ? app->cfg->recovery_code_ttl : app->cfg->diploma_code_ttl;
    snprintf(hours, sizeof hours, "%lld", (long long)((ttl + 3599) / 3600));
    const char *const body_values[] = {code ? code : "", hours};
    text = render_fill(render_msg(r, lang, key), body_names, body_values, 2);
    if (greeting && text) {
        buf_str(&b, greeting);
        buf_str(&b, "\n\n");
        buf_str(&b, text);
        buf_str(&b, "\n\n");
        buf_str(&b, render_msg(r, lang, "mail_signoff"));
        buf_str(&b, "\n");
    } else {
        b.err = WP_ERR;
    }
    free(greeting);
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    if (b.err) {
        buf_free(&b);
        return NULL;
    }
    return b.p;
}

static void mailer_kick(mailer_t *mq)
{
    pthread_mutex_lock(&mq->lock);
    mq->kicked = 1;
    pthread_cond_signal(&mq->cond);
    pthread_mutex_unlock(&mq->lock);
}

wp_err_t mail_send(app_t *app, const char *to, const char *lang, const char *kind,
                   const char *given_name, const char *code)
{
    mailer_t *mq = mailer;
    char key[64], *body = NULL, *msg = NULL, *text = NULL;
    uint8_t *sealed = NULL;
    size_t len = 0, sealed_len = 0;
    json_t *rec = NULL;
    wp_err_t rc = WP_ERR;

    if (!mq) {
        WP_LOG_ERR("mail: the sender is not running");
        return WP_ERR;
    }
    if (!mail_address_ok(to))
        return WP_ERR_INVALID;
    lang = render_lang(app->render, lang, NULL);
    snprintf(key, sizeof key, "mail_%s_subject", kind);
    body = compose_body(app, lang, kind, given_name, code);
    if (!body)
        goto out;
    mail_msg_t m = {.from = app->cfg->mail_from,
                    .to = to,
                    .subject = render_msg(app->render, lang, key),
                    .body = body,
                    .date = wp_now()};
    rc = mail_build(&m, &msg, &len);
    if (rc)
        goto out;
    rc = WP_ERR;
    rec = json_pack("{s:s, s:s%}", "to", to, "msg", msg, len);
    text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    if (!text ||
        seal_encrypt(mq->key, (const uint8_t *)text, strlen(text), &sealed, &sealed_len) != 0)
        goto out;
    rc = store_mail_put(app->store, sealed, sealed_len, wp_now(), NULL);
    if (rc)
        goto out;
    mailer_kick(mq);
out:
    if (rc)
        WP_LOG_ERR("mail: could not queue a %s message", kind);
    if (body) {
        sodium_memzero(body, strlen(body));
        free(body);
    }
    if (msg) {
        sodium_memzero(msg, len);
        free(msg);
    }
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    json_decref(rec);
    free(sealed);
    return rc;
}

/* Delivers one due message. Returns 1 when one was handled (delivered, rescheduled or
 * abandoned), 0 when none was due. */
static int deliver_one(mailer_t *mq)
{
    const config_t *cfg = mq->app->cfg;
    store_mail_t m = {0};
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    json_t *rec = NULL;
    int64_t now = wp_now();
    wp_err_t rc;

    if (store_mail_lease(mq->app->store, now, now + MAIL_LEASE_SECS, &m) != WP_OK)
        return 0;
    if (now - m.created_at > cfg->mail_give_up) {
        WP_LOG_ERR("mail: message %lld abandoned after %d failed attempts", (long long)m.id,
                   m.attempts);
        store_mail_delete(mq->app->store, m.id);
        goto out;
    }
    if (seal_decrypt(mq->key, m.sealed, m.sealed_len, &pt, &pt_len) != 0 ||
        !(rec = json_loadb((const char *)pt, pt_len, 0, NULL))) {
        WP_LOG_ERR("mail: message %lld cannot be opened (another master key?); dropped",
                   (long long)m.id);
        store_mail_delete(mq->app->store, m.id);
        goto out;
    }
    const char *to = json_string_value(json_object_get(rec, "to"));
    const char *msg = json_string_value(json_object_get(rec, "msg"));
    size_t msg_len = json_string_length(json_object_get(rec, "msg"));
    if (!to || !msg)
        rc = WP_ERR_INVALID;
    else if (strcmp(cfg->mail_transport, "smtp") == 0)
        rc = mail_deliver_smtp(cfg->mail_smtp_url, cfg->mail_from, to, msg, msg_len);
    else
        rc = mail_deliver_dir(cfg->mail_outbox, msg, msg_len);
    if (rc == WP_OK) {
        store_mail_delete(mq->app->store, m.id);
        WP_LOG_INFO("mail: message %lld delivered", (long long)m.id);
    } else {
        int attempts = m.attempts + 1;
        int64_t delay = cfg->mail_retry_min;
        for (int i = 1; i < attempts && delay < cfg->mail_retry_max; i++)
            delay *= 2;
        if (delay > cfg->mail_retry_max)
            delay = cfg->mail_retry_max;
        store_mail_retry(mq->app->store, m.id, attempts, now + delay);
        WP_LOG_WARN("mail: message %lld not delivered (attempt %d); next try in %lld s",
                    (long long)m.id, attempts, (long long)delay);
    }
out:
    json_decref(rec);
    if (pt) {
        sodium_memzero(pt, pt_len);
        free(pt);
    }
    store_mail_clear(&m);
    return 1;
}

static void *mailer_main(void *arg)
{
    mailer_t *mq = arg;
    for (;;) {
        pthread_mutex_lock(&mq->lock);
        if (!mq->kicked && !atomic_load(&mail_stopping)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += MAIL_POLL_SECS;
            pthread_cond_timedwait(&mq->cond, &mq->lock, &until);
        }
        mq->kicked = 0;
        pthread_mutex_unlock(&mq->lock);
        if (atomic_load(&mail_stopping))
            break;
        while (!atomic_load(&mail_stopping) && deliver_one(mq))
            ;
    }
    return NULL;
}

int mail_start(app_t *app, const uint8_t master[32])
{
    mailer_t *mq;
    if (mailer)
        return -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    mq = calloc(1, sizeof *mq);
    if (!mq)
        return -1;
    mq->app = app;
    seal_subkey(master, MAIL_SEAL_ID, MAIL_SEAL_CONTEXT, mq->key);
    pthread_mutex_init(&mq->lock, NULL);
    pthread_cond_init(&mq->cond, NULL);
    atomic_store(&mail_stopping, 0);
    if (pthread_create(&mq->thread, NULL, mailer_main, mq) != 0) {
        pthread_cond_destroy(&mq->cond);
        pthread_mutex_destroy(&mq->lock);
        sodium_memzero(mq, sizeof *mq);
        free(mq);
        return -1;
    }
    mailer = mq;
    return 0;
}

void mail_stop(void)
{
    mailer_t *mq = mailer;
    if (!mq)
        return;
    atomic_store(&mail_stopping, 1);
    mailer_kick(mq);
    pthread_join(mq->thread, NULL);
    mailer = NULL;
    pthread_cond_destroy(&mq->cond);
    pthread_mutex_destroy(&mq->lock);
    sodium_memzero(mq, sizeof *mq);
    free(mq);
}
