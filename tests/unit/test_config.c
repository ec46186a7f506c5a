/* Unit tests for idp/config.c: a table of config files, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "idp/config.h"

typedef struct {
    const char *name;
    const char *text;  /* file contents */
    const char *error; /* substring of the expected error, NULL when it must load */
    const char *rp_id; /* expected derived values when it loads */
    const char *listen_host;
    int listen_port;
} config_row_t;

static const config_row_t rows[] = {
    {"empty file gives defaults", "", NULL, "localhost", "127.0.0.1", 8080},
    {"good file",
     "; a comment\n"
     "[server]\n"
     "issuer = https://login.example.org\n"
     "listen = 0.0.0.0:9443\n"
     "threads = 8\n"
     "[storage]\n"
     "url = sqlite:/tmp/x.db\n"
     "[mail]\n"
     "transport = smtp   ; inline comment\n"
     "[limits]\n"
     "code_ttl = 30\n"
     "max_body_bytes = 131072\n",
     NULL, "login.example.org", "0.0.0.0", 9443},
    {"issuer with port, uppercase host", "[server]\nissuer = https://Login.Example.org:8443\n",
     NULL, "login.example.org", "127.0.0.1", 8080},
    {"http on 127.0.0.1", "[server]\nissuer = http://127.0.0.1:5000\nlisten = 127.0.0.1:0\n", NULL,
     "127.0.0.1", "127.0.0.1", 0},
    {"unknown key names line", "[server]\nissuer = https://a.example\n\nfoo = 1\n",
     ":4: unknown key 'foo' in [server]", NULL, NULL, 0},
    {"unknown section", "[server]\nthreads = 2\n[nope]\nx = 1\n", ":4: unknown key 'x' in [nope]",
     NULL, NULL, 0},
    {"key before any section", "issuer = https://a.example\n", ":1: unknown key 'issuer' in []",
     NULL, NULL, 0},
    {"not a number", "[limits]\ncode_ttl = sixty\n", ":2: 'code_ttl' must be a whole number", NULL,
     NULL, 0},
    {"negative number", "[limits]\nflow_ttl = -5\n", ":2: 'flow_ttl' must be a whole number", NULL,
     NULL, 0},
    {"number with junk", "[server]\nthreads = 4x\n", ":2: 'threads' must be a whole number", NULL,
     NULL, 0},
    {"number too large", "[limits]\nmax_body_bytes = 99999999999\n", ":2: 'max_body_bytes'", NULL,
     NULL, 0},
    {"number too small", "[server]\nthreads = 0\n", ":2: 'threads'", NULL, NULL, 0},
    {"issuer not a URL", "[server]\nissuer = login.example.org\n", ":2: issuer: issuer must start",
     NULL, NULL, 0},
    {"issuer http not loopback", "[server]\nissuer = http://login.example.org\n",
     ":2: issuer: issuer must use https", NULL, NULL, 0},
    {"issuer with path", "[server]\nissuer = https://login.example.org/oidc\n", ":2: issuer:", NULL,
     NULL, 0},
    {"issuer trailing slash", "[server]\nissuer = https://login.example.org/\n",
     ":2: issuer:", NULL, NULL, 0},
    {"issuer with query", "[server]\nissuer = https://login.example.org?a=b\n", ":2: issuer:", NULL,
     NULL, 0},
    {"issuer with fragment", "[server]\nissuer = https://login.example.org#x\n",
     ":2: issuer:", NULL, NULL, 0},
    {"issuer bad port", "[server]\nissuer = https://login.example.org:99999\n",
     ":2: issuer: issuer has a bad port", NULL, NULL, 0},
    {"listen without port", "[server]\nlisten = 127.0.0.1\n", ":2: listen:", NULL, NULL, 0},
    {"listen bad port", "[server]\nlisten = 127.0.0.1:http\n", ":2: listen:", NULL, NULL, 0},
    {"bad transport", "[mail]\ntransport = carrier-pigeon\n", ":2: transport:", NULL, NULL, 0},
    {"empty storage url", "[storage]\nurl =\n", ":2: url:", NULL, NULL, 0},
    {"not key = value", "[server]\nthis is not ini\n", ":2: not a section header", NULL, NULL, 0},
};

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/wp_test_config_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const config_row_t *row = &rows[i];
        char err[512];
        config_t cfg;
        char *path = write_temp(row->text);
        wp_err_t rc = config_load(path, &cfg, err, sizeof err);
        if (row->error) {
            if (rc == WP_OK || !strstr(err, row->error) || strncmp(err, path, strlen(path)))
                fail_msg("row '%s': rc %d, error '%s', wanted '%s'", row->name, rc, err,
                         row->error);
        } else {
            if (rc != WP_OK)
                fail_msg("row '%s': unexpected error '%s'", row->name, err);
            assert_string_equal(cfg.rp_id, row->rp_id);
            assert_string_equal(cfg.listen_host, row->listen_host);
            assert_int_equal(cfg.listen_port, row->listen_port);
            config_clear(&cfg);
        }
        unlink(path);
        free(path);
    }
}

static void test_defaults(void **state)
{
    config_t cfg;
    char err[256];
    (void)state;
    assert_int_equal(config_load(NULL, &cfg, err, sizeof err), WP_OK);
    assert_string_equal(cfg.issuer, "http://localhost:8080");
    assert_string_equal(cfg.rp_id, "localhost");
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.storage_url, "sqlite:./var/wereldpas.db");
    assert_string_equal(cfg.master_key_file, "./var/master.key");
    assert_string_equal(cfg.mail_transport, "dir");
    assert_string_equal(cfg.mail_outbox, "./var/outbox");
    assert_string_equal(cfg.acr_assisted, "http://eidas.europa.eu/NotNotified/LoA/substantial");
    assert_null(cfg.trusted_proxy);
    assert_int_equal(cfg.threads, 4);
    assert_int_equal(cfg.max_body_bytes, 65536);
    assert_int_equal(cfg.code_ttl, 60);
    assert_int_equal(cfg.enrol_code_ttl, 604800);
    assert_int_equal(cfg.access_token_ttl, 600);
    config_clear(&cfg);
}

static void test_values_read(void **state)
{
    config_t cfg;
    char err[256];
    char *path = write_temp("[limits]\ncode_ttl = 30\nmax_body_bytes = 131072\n"
                            "[mail]\nfrom = Mijn DUO <no-reply@example.org>\n"
                            "[server]\ntrusted_proxy = 10.0.0.1\n");
    (void)state;
    assert_int_equal(config_load(path, &cfg, err, sizeof err), WP_OK);
    assert_int_equal(cfg.code_ttl, 30);
    assert_int_equal(cfg.max_body_bytes, 131072);
    assert_string_equal(cfg.mail_from, "Mijn DUO <no-reply@example.org>");
    assert_string_equal(cfg.trusted_proxy, "10.0.0.1");
    config_clear(&cfg);
    unlink(path);
    free(path);
}

static void test_missing_file(void **state)
{
    config_t cfg;
    char err[256];
    (void)state;
    assert_int_equal(config_load("/nonexistent/wp.ini", &cfg, err, sizeof err), WP_ERR_INVALID);
    assert_non_null(strstr(err, "/nonexistent/wp.ini: cannot open config file"));
}

static void test_long_line(void **state)
{
    config_t cfg;
    char err[256];
    char text[1024];
    char *path;
    (void)state;
    memset(text, 'a', sizeof text);
    memcpy(text, "[server]\nsource_url = ", 22);
    text[sizeof text - 2] = '\n';
    text[sizeof text - 1] = '\0';
    path = write_temp(text);
    assert_int_equal(config_load(path, &cfg, err, sizeof err), WP_ERR_INVALID);
    assert_non_null(strstr(err, ":2: line too long"));
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),       cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_read), cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_long_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
