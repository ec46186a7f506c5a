/* The audit log's hash chain: appends (alone and from several threads at once) verify;
 * each kind of tampering with the SQLite rows is found and names the broken entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "idp/audit.h"
#include "tests/unit/store_fixture.h"

#define NTHREADS 4
#define PER_THREAD 25

static int setup(void **state)
{
    return fx_setup(state, "/tmp/wp-audit-XXXXXX");
}

static int teardown(void **state)
{
    return fx_teardown(state);
}

static void record_n(store_t *s, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(audit_record(s, "signin", "person", "person:abc",
                                      json_pack("{s:i, s:s}", "n", i, "client", "mijn-duo")),
                         WP_OK);
}

/* Runs one SQL statement directly on the database file, as an attacker with file access. */
static void tamper(const fx_t *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

static void test_empty_log_verifies(void **state)
{
    fx_t *f = *state;
    int64_t count = -1, bad = 0;
    char why[200];
    assert_int_equal(audit_verify(f->s, &count, &bad, why, sizeof why), WP_OK);
    assert_int_equal(count, 0);
}

static void test_chain_verifies_and_links(void **state)
{
    fx_t *f = *state;
    int64_t count = 0, bad = 0;
    char why[200];
    json_t *list = NULL;
    record_n(f->s, 5);
    assert_int_equal(audit_verify(f->s, &count, &bad, why, sizeof why), WP_OK);
    assert_int_equal(count, 5);
    assert_int_equal(store_audit_list(f->s, NULL, NULL, 0, 10, 0, &list), WP_OK);
    assert_int_equal(json_array_size(list), 5);
    /* Each entry's prev is the hash of the one before; the first follows the genesis. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "prev")),
                        "0000000000000000000000000000000000000000000000000000000000000000");
    for (size_t i = 1; i < 5; i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(list, i), "prev")),
            json_string_value(json_object_get(json_array_get(list, i - 1), "hash")));
    /* The details came back as the object recorded, with no extra members. */
    json_t *d = json_object_get(json_array_get(list, 2), "details");
    assert_int_equal(json_integer_value(json_object_get(d, "n")), 2);
    assert_int_equal(json_object_size(d), 2);
    json_decref(list);
    /* Filters: by subject and event, newest first. */
    audit_record(f->s, "passkey_removed", "person", "person:other", NULL);
    assert_int_equal(store_audit_list(f->s, "person:abc", "signin", 0, 2, 1, &list), WP_OK);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "seq")), 5);
    json_decref(list);
    assert_int_equal(store_audit_list(f->s, "person:other", NULL, 0, 10, 1, &list), WP_OK);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

static void *writer(void *arg)
{
    store_t *s = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (audit_record(s, "code_issued", "cli", NULL, NULL) != WP_OK)
            return (void *)1;
    return NULL;
}

static void test_concurrent_writers_keep_one_chain(void **state)
{
    fx_t *f = *state;
    pthread_t t[NTHREADS];
    store_t *other[NTHREADS];
    char err[256];
    int64_t count = 0, bad = 0;
    char why[200];
    /* Separate connections (as separate processes would have) and threads at once. */
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(store_open(f->url, 0, &other[i], err, sizeof err), WP_OK);
        assert_int_equal(pthread_create(&t[i], NULL, writer, other[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        void *res = NULL;
        pthread_join(t[i], &res);
        assert_null(res);
        store_close(other[i]);
    }
    assert_int_equal(audit_verify(f->s, &count, &bad, why, sizeof why), WP_OK);
    assert_int_equal(count, NTHREADS * PER_THREAD);
}

typedef struct {
    const char *sql;
    int64_t bad_seq;
    const char *why_has;
} tamper_case_t;

static const tamper_case_t TAMPERS[] = {
    {"UPDATE audit_log SET actor = 'staff:mallory' WHERE seq = 3", 3, "entry 3 was changed"},
    {"UPDATE audit_log SET details = '{\"client\":\"x\",\"n\":2}' WHERE seq = 3", 3,
     "entry 3 was changed"},
    {"UPDATE audit_log SET at = at + 1 WHERE seq = 4", 4, "entry 4 was changed"},
    {"DELETE FROM audit_log WHERE seq = 2", 2, "entry 2 is missing"},
    /* Rewriting an entry together with its own hash still breaks the next link. */
    {"UPDATE audit_log SET hash = printf('%064d', 7) WHERE seq = 4", 4, "entry 4 was changed"},
    {"UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE seq = 1) WHERE seq = 3", 3,
     "entry 3 does not follow"},
};

static void test_tampering_is_found(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof TAMPERS / sizeof TAMPERS[0]; i++) {
        fx_t *f = NULL;
        void *st = NULL;
        int64_t count = 0, bad = 0;
        char why[200];
        assert_int_equal(setup(&st), 0);
        f = st;
        record_n(f->s, 5);
        assert_int_equal(audit_verify(f->s, &count, &bad, why, sizeof why), WP_OK);
        tamper(f, TAMPERS[i].sql);
        assert_int_equal(audit_verify(f->s, &count, &bad, why, sizeof why), WP_ERR_INVALID);
        assert_int_equal(bad, TAMPERS[i].bad_seq);
        assert_non_null(strstr(why, TAMPERS[i].why_has));
        assert_int_equal(teardown(&st), 0);
    }
}

static void test_rehashed_entry_breaks_next_link(void **state)
{
    fx_t *f = *state;
    json_t *list = NULL;
    int64_t count = 0, bad = 0;
    char why[200], h[TOKEN_HASH_HEX_LEN + 1], sql[400];
    record_n(f->s, 5);
    /* The attacker changes entry 2 and recomputes its hash correctly. */
    assert_int_equal(store_audit_list(f->s, NULL, NULL, 1, 1, 0, &list), WP_OK);
    json_t *e = json_array_get(list, 0);
    json_object_set_new(e, "actor", json_string("staff:mallory"));
    audit_entry_hash(e, h);
    snprintf(sql, sizeof sql,
             "UPDATE audit_log SET actor = 'staff:mallory', hash = '%s' WHERE seq = 2", h);
    json_decref(list);
    tamper(f, sql);
    assert_int_equal(audit_verify(f->s, &count, &bad, why, sizeof why), WP_ERR_INVALID);
    assert_int_equal(bad, 3);
}

static void test_person_subject_is_pseudonymous(void **state)
{
    (void)state;
    uint8_t k1[TOKEN_HASH_KEY_BYTES] = {1}, k2[TOKEN_HASH_KEY_BYTES] = {2};
    char a[AUDIT_SUBJECT_MAX], b[AUDIT_SUBJECT_MAX], c[AUDIT_SUBJECT_MAX];
    audit_person_subject(k1, "123456782", a);
    audit_person_subject(k1, "123456782", b);
    audit_person_subject(k2, "123456782", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_null(strstr(a, "123456782"));
    assert_int_equal(strlen(a), strlen("person:") + 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_log_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_verifies_and_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_keep_one_chain, setup, teardown),
        cmocka_unit_test(test_tampering_is_found),
        cmocka_unit_test_setup_teardown(test_rehashed_entry_breaks_next_link, setup, teardown),
        cmocka_unit_test(test_person_subject_is_pseudonymous),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
