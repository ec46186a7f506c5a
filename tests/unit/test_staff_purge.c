/* Staff sessions (issue 5): the periodic purge deletes sessions past their absolute end
 * and sessions idle longer than any allowed staff_idle_timeout, and keeps active ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "idp/store.h"

#define NOW 1800000000LL

typedef struct {
    const char *hash;
    int64_t last_seen;  /* when the session was last used */
    int64_t expires_at; /* its absolute end */
    int kept;           /* 1 when the purge at NOW must keep it */
} purge_case_t;

static const purge_case_t cases[] = {
    {"active", NOW - 10, NOW + 3600, 1}, {"idle-but-allowed", NOW - 3599, NOW + 3600, 1},
    {"past-end", NOW - 10, NOW, 0},      {"idle-too-long", NOW - 3600, NOW + 3600, 0},
    {"both", NOW - 7200, NOW - 1, 0},
};

static void test_purge_staff_sessions(void **state)
{
    (void)state;
    store_t *s = NULL;
    char err[256];
    assert_int_equal(store_open("sqlite::memory:", 1, &s, err, sizeof err), WP_OK);
    /* Staff names are sealed: the store needs its keys (synthetic ones here). */
    static const uint8_t lookup_key[32] = {0x31}, seal_key[32] = {0x41};
    store_set_keys(s, lookup_key, seal_key);
    json_t *staff = json_pack("{s:s, s:s, s:s, s:I}", "id", "st1", "name", "Sam", "role", "support",
                              "created_at", (json_int_t)NOW);
    assert_int_equal(store_staff_add(s, staff), WP_OK);
    json_decref(staff);
    const size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(store_staff_session_create(s, cases[i].hash, "st1", cases[i].last_seen,
                                                    cases[i].expires_at),
                         WP_OK);
    assert_int_equal(store_purge_expired(s, NOW), WP_OK);
    for (size_t i = 0; i < n; i++) {
        char *id = NULL;
        /* Past NOW and with the largest idle time: a row that survived the purge is
         * reported as ended (WP_ERR_EXPIRED) or found; a purged row is simply gone. */
        wp_err_t rc = store_staff_session_get(s, cases[i].hash, NOW, 3600, &id);
        if (cases[i].kept) {
            assert_int_equal(rc, WP_OK);
            assert_string_equal(id, "st1");
        } else {
            assert_int_equal(rc, WP_ERR_NOTFOUND);
        }
        free(id);
    }
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_purge_staff_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
