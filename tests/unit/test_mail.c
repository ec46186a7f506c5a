/* Unit tests for idp/mail.c (building RFC 5322 messages, the atomic outbox) and the input
 * checks of idp/page_enrol_diploma.c (person number 11-test, dates). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "idp/mail.h"
#include "idp/page_enrol_diploma.h"

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

/* The value of header name (first line only) in msg, copied into out. */
static int header(const char *msg, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = msg; p && *p && strncmp(p, "\r\n", 2) != 0;) {
        if (strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
            const char *v = p + n + 2;
            size_t len = strcspn(v, "\r");
            snprintf(out, size, "%.*s", (int)len, v);
            return 0;
        }
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    return -1;
}

/* Decodes the quoted-printable body after the blank line into out. */
static void qp_decode(const char *msg, char *out, size_t size)
{
    const char *p = strstr(msg, "\r\n\r\n");
    size_t n = 0;
    assert_non_null(p);
    for (p += 4; *p && n + 1 < size; p++) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 2;
        } else if (p[0] == '=') {
            unsigned int v;
            assert_int_equal(sscanf(p + 1, "%2X", &v), 1);
            out[n++] = (char)v;
            p += 2;
        } else if (p[0] == '\r' && p[1] == '\n') {
            out[n++] = '\n';
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

/* Decodes a (folded) header made of RFC 2047 B words into out. */
static void words_decode(const char *msg, const char *name, char *out, size_t size)
{
    const char *p = strstr(msg, name);
    size_t n = 0;
    assert_non_null(p);
    while ((p = strstr(p, "=?UTF-8?B?")) != NULL && p < strstr(msg, "\r\n\r\n")) {
        const char *end = strstr(p + 10, "?=");
        size_t got = 0;
        assert_non_null(end);
        assert_int_equal(sodium_base642bin((unsigned char *)out + n, size - n - 1, p + 10,
                                           (size_t)(end - p - 10), NULL, &got, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        n += got;
        p = end + 2;
        if (strncmp(p, "\r\n =?", 5) != 0)
            break;
    }
    out[n] = '\0';
}

static void check_lines(const char *msg)
{
    for (const char *p = msg; *p;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol); /* every line ends in CRLF */
        assert_true(eol - p <= 78);
        assert_null(memchr(p, '\n', (size_t)(eol - p))); /* no bare LF */
        p = eol + 2;
    }
}

static void test_build_ascii(void **state)
{
    (void)state;
    mail_msg_t m = {.from = "Mijn DUO <no-reply@duo.example>",
                    .to = "person0@example.test",
                    .subject = "Your code for Wereldpas",
                    .body = "Dear Jan,\n\nYour code is:\n\n    ABCD-2345\n",
                    .date = 86400 * 365,
                    .message_id = "fixed"};
    char *msg = NULL, v[256], body[512];
    size_t len = 0;
    assert_int_equal(mail_build(&m, &msg, &len), WP_OK);
    assert_int_equal(strlen(msg), len);
    check_lines(msg);
    assert_int_equal(header(msg, "From", v, sizeof v), 0);
    assert_string_equal(v, "Mijn DUO <no-reply@duo.example>");
    assert_int_equal(header(msg, "To", v, sizeof v), 0);
    assert_string_equal(v, "<person0@example.test>");
    assert_int_equal(header(msg, "Subject", v, sizeof v), 0);
    assert_string_equal(v, "Your code for Wereldpas");
    assert_int_equal(header(msg, "Date", v, sizeof v), 0);
    assert_string_equal(v, "Fri, 01 Jan 1971 00:00:00 +0000");
    assert_int_equal(header(msg, "Message-ID", v, sizeof v), 0);
    assert_string_equal(v, "<fixed@duo.example>");
    assert_int_equal(header(msg, "MIME-Version", v, sizeof v), 0);
    assert_string_equal(v, "1.0");
    assert_int_equal(header(msg, "Content-Type", v, sizeof v), 0);
    assert_string_equal(v, "text/plain; charset=utf-8");
    assert_int_equal(header(msg, "Content-Transfer-Encoding", v, sizeof v), 0);
    assert_string_equal(v, "quoted-printable");
    qp_decode(msg, body, sizeof body);
    assert_string_equal(body, m.body);
    assert_non_null(strstr(msg, "ABCD-2345")); /* the code is readable as is */
    free(msg);
}

static void test_build_utf8(void **state)
{
    (void)state;
    char long_body[600], subject[200], *msg = NULL, out[1024];
    size_t len = 0;
    /* a long line with non-ASCII letters, '=' and trailing space */
    snprintf(long_body, sizeof long_body, "%s",
             "Beste Aïsha,\n\nU heeft één code gekregen = geldig. "
             "Dit is een heel lange regel die langer is dan zesenzeventig tekens, zodat hij "
             "met zachte regeleinden moet worden afgebroken. \nEinde \n");
    snprintf(subject, sizeof subject, "%s",
             "Er is een nieuwe passkey toegevoegd aan uw Wereldpas — één keer, ça va? "
             "Ünïcödé everywhere in this rather long subject line");
    mail_msg_t m = {.from = "Dienst Uitvoering Onderwijs (DUO) — Wereldpas <no-reply@duo.example>",
                    .to = "a.b+c@example.test",
                    .subject = subject,
                    .body = long_body,
                    .date = 0};
    assert_int_equal(mail_build(&m, &msg, &len), WP_OK);
    check_lines(msg);
    assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
    words_decode(msg, "Subject:", out, sizeof out);
    assert_string_equal(out, subject);
    words_decode(msg, "From:", out, sizeof out);
    assert_string_equal(out, "Dienst Uitvoering Onderwijs (DUO) — Wereldpas");
    assert_non_null(strstr(msg, "?=\r\n <no-reply@duo.example>\r\n"));
    qp_decode(msg, out, sizeof out);
    assert_string_equal(out, long_body);
    assert_non_null(strstr(msg, "=C3=AF"));  /* ï */
    assert_non_null(strstr(msg, "=3D"));     /* '=' itself */
    assert_non_null(strstr(msg, "=20\r\n")); /* a space before a line end */
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        assert_true(*p < 0x80); /* 7-bit clean */
    free(msg);
}

static void test_build_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *subject;
    } rows[] = {
        {"DUO <no-reply@duo.example>", "a@b.example\r\nBcc: x@evil.example", "S"},
        {"DUO <no-reply@duo.example>", "a b@example.test", "S"},
        {"DUO <no-reply@duo.example>", "<a@example.test>", "S"},
        {"DUO <no-reply@duo.example>", "no-at-sign", "S"},
        {"DUO <no-reply@duo.example>", "a@b@example.test", "S"},
        {"DUO", "a@example.test", "S"},
        {"DUO <no-reply@duo.example> trailing", "a@example.test", "S"},
        {"DUO\r\nBcc: x@evil.example <no-reply@duo.example>", "a@example.test", "S"},
        {"DUO <no-reply@duo.example>", "a@example.test", "S\r\nBcc: x@evil.example"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mail_msg_t m = {.from = rows[i].from,
                        .to = rows[i].to,
                        .subject = rows[i].subject,
                        .body = "x",
                        .date = 0};
        char *msg = NULL;
        size_t len = 0;
        assert_int_equal(mail_build(&m, &msg, &len), WP_ERR_INVALID);
        assert_null(msg);
    }
}

static void test_build_cap(void **state)
{
    (void)state;
    size_t n = MAIL_MAX_MESSAGE;
    char *body = malloc(n + 1), *msg = NULL;
    size_t len = 0;
    assert_non_null(body);
    memset(body, 'x', n);
    body[n] = '\0';
    mail_msg_t m = {
        .from = "a@duo.example", .to = "b@example.test", .subject = "S", .body = body, .date = 0};
    assert_int_equal(mail_build(&m, &msg, &len), WP_ERR_INVALID);
    assert_null(msg);
    free(body);
}

static void test_outbox_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/wp-mail-test-XXXXXX", sub[64], path[128], buf[64];
    const char *text = "Subject: x\r\n\r\nhello\r\n";
    int eml = 0, other = 0;
    struct dirent *e;
    struct stat st;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/outbox", dir); /* created on first use */
    assert_int_equal(mail_deliver_dir(sub, text, strlen(text)), WP_OK);
    assert_int_equal(mail_deliver_dir(sub, text, strlen(text)), WP_OK);
    DIR *d = opendir(sub);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0) {
            eml++;
            snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
            FILE *f = fopen(path, "r");
            assert_non_null(f);
            size_t got = fread(buf, 1, sizeof buf - 1, f);
            buf[got] = '\0';
            fclose(f);
            assert_string_equal(buf, text);
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_mode & 0777, 0600);
            unlink(path);
        } else {
            other++;
        }
    }
    closedir(d);
    assert_int_equal(eml, 2);
    assert_int_equal(other, 0); /* no temporary file left behind */
    rmdir(sub);
    /* a folder that cannot be made */
    snprintf(sub, sizeof sub, "%s/missing/outbox", dir);
    assert_int_equal(mail_deliver_dir(sub, text, strlen(text)), WP_ERR);
    rmdir(dir);
}

static void test_smtp_refused(void **state)
{
    (void)state;
    /* nothing listens on port 1: the submission fails, it does not hang or succeed */
    assert_int_equal(
        mail_deliver_smtp("smtp://127.0.0.1:1", "a@duo.example", "b@example.test", "x\r\n", 3),
        WP_ERR);
    assert_int_equal(
        mail_deliver_smtp("smtp://127.0.0.1:1", "a@duo.example", "b c@example.test", "x\r\n", 3),
        WP_ERR_INVALID);
}

static void test_person_number(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why, *out;
    } rows[] = {
        {"111222333", NULL, "111222333"},
        {" 1112.22.333 ", NULL, "111222333"},
        {"111-222-333", NULL, "111222333"},
        {"111222334", "dip_error_pn_typo", NULL},    /* one digit wrong */
        {"111222343", "dip_error_pn_typo", NULL},    /* two digits swapped */
        {"000000000", "dip_error_pn_typo", NULL},    /* sum 0 is not valid */
        {"11122233", "dip_error_pn_format", NULL},   /* 8 digits */
        {"1112223330", "dip_error_pn_format", NULL}, /* 10 digits */
        {"11122233x", "dip_error_pn_format", NULL},
        {"", "dip_error_pn_missing", NULL},
        {"   ", "dip_error_pn_missing", NULL},
        {NULL, "dip_error_pn_missing", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[10];
        const char *why = enrol_diploma_person_number(rows[i].in, out);
        if (rows[i].why) {
            assert_non_null(why);
            assert_string_equal(why, rows[i].why);
        } else {
            assert_null(why);
            assert_string_equal(out, rows[i].out);
        }
    }
}

static void test_dates(void **state)
{
    (void)state;
    static const struct {
        int month; /* 1: enrol_diploma_month, 0: enrol_diploma_birthdate */
        const char *in, *why, *out;
    } rows[] = {
        {0, "1990-03-25", NULL, "1990-03-25"},
        {0, " 25-03-1990 ", NULL, "1990-03-25"},
        {0, "25/03/1990", NULL, "1990-03-25"},
        {0, "1990-02-30", "dip_error_bd_format", NULL},
        {0, "1990-3-25", "dip_error_bd_format", NULL},
        {0, "", "dip_error_bd_missing", NULL},
        {0, "1800-01-01", "dip_error_bd_format", NULL},
        {1, "2015-07", NULL, "2015-07"},
        {1, "2015-07-14", NULL, "2015-07"},
        {1, "07-2015", NULL, "2015-07"},
        {1, "07/2015", NULL, "2015-07"},
        {1, "2015-13", "dip_error_dd_format", NULL},
        {1, "2015-02-30", "dip_error_dd_format", NULL},
        {1, "2015", "dip_error_dd_format", NULL},
        {1, "", "dip_error_dd_missing", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[11];
        const char *why = rows[i].month ? enrol_diploma_month(rows[i].in, out)
                                        : enrol_diploma_birthdate(rows[i].in, out);
        if (rows[i].why) {
            assert_non_null(why);
            assert_string_equal(why, rows[i].why);
        } else {
            assert_null(why);
            assert_string_equal(out, rows[i].out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_ascii),   cmocka_unit_test(test_build_utf8),
        cmocka_unit_test(test_build_refuses), cmocka_unit_test(test_build_cap),
        cmocka_unit_test(test_outbox_atomic), cmocka_unit_test(test_smtp_refused),
        cmocka_unit_test(test_person_number), cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
