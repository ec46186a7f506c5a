/* Storage of the token side (issue 3) on a temporary SQLite file: grants, refresh-token
 * rotation and reuse, access-token revocation, code reuse, client-assertion jtis, PAR
 * and session clients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idp/store.h"
#include "tests/unit/store_fixture.h"

#define NOW 1700000000

static int setup(void **state)
{
    return fx_setup(state, "/tmp/wp-tokens-XXXXXX");
}

static int teardown(void **state)
{
    return fx_teardown(state);
}

/* Adds grant fam of client "rp" from code_hash with refresh token rt and access jti. */
static void add_grant(store_t *s, const char *fam, const char *code_hash, const char *rt,
                      const char *jti)
{
    store_grant_t g = {.family = (char *)fam,
                       .client_id = "rp",
                       .account_id = "acct",
                       .scope = "openid offline_access",
                       .acr = "low",
                       .sid = "sid1",
                       .code_hash = (char *)code_hash,
                       .auth_time = NOW - 10,
                       .expires_at = NOW + 600};
    assert_int_equal(store_grant_add(s, &g), WP_OK);
    if (rt)
        assert_int_equal(store_refresh_add(s, rt, fam, NOW - 5, NOW + 3600), WP_OK);
    if (jti)
        assert_int_equal(store_access_add(s, jti, fam, NOW + 600), WP_OK);
}

static void test_rotation(void **state)
{
    fx_t *f = *state;
    store_grant_t g = {0};
    int64_t exp = 0;
    add_grant(f->s, "fam1", "code1", "rt1", "at1");

    assert_int_equal(store_refresh_get(f->s, "rt1", NOW, &g, &exp), WP_OK);
    assert_string_equal(g.client_id, "rp");
    assert_string_equal(g.sid, "sid1");
    assert_int_equal(exp, NOW + 3600);
    store_grant_clear(&g);

    assert_int_equal(store_refresh_rotate(f->s, "rt1", "rt2", NOW + 7200, NOW, &g), WP_OK);
    assert_string_equal(g.family, "fam1");
    assert_string_equal(g.scope, "openid offline_access");
    store_grant_clear(&g);
    /* The old token is no longer usable; the new one is. */
    assert_int_equal(store_refresh_get(f->s, "rt1", NOW, &g, &exp), WP_ERR_NOTFOUND);
    assert_int_equal(store_refresh_get(f->s, "rt2", NOW, &g, &exp), WP_OK);
    store_grant_clear(&g);
    assert_int_equal(store_access_check(f->s, "at1"), WP_OK);

    /* Reuse of rt1 revokes the family: rt2 and at1 die with it. */
    assert_int_equal(store_refresh_rotate(f->s, "rt1", "rt3", NOW + 7200, NOW + 1, &g),
                     WP_ERR_USED);
    assert_null(g.family);
    assert_int_equal(store_refresh_rotate(f->s, "rt2", "rt4", NOW + 7200, NOW + 2, &g),
                     WP_ERR_NOTFOUND);
    assert_int_equal(store_access_check(f->s, "at1"), WP_ERR_USED);
}

/* A refresh token keeps its own issue time (introspection's iat): the first one its
 * grant's, a rotated one the time of the rotation, whatever the lifetimes. */
static void test_refresh_issued_at(void **state)
{
    fx_t *f = *state;
    store_grant_t g = {0};
    int64_t exp = 0;
    add_grant(f->s, "fam-i", NULL, "rti1", NULL);

    assert_int_equal(store_refresh_get(f->s, "rti1", NOW, &g, &exp), WP_OK);
    assert_int_equal(g.refresh_issued_at, NOW - 5);
    assert_int_equal(exp, NOW + 3600);
    store_grant_clear(&g);

    assert_int_equal(store_refresh_rotate(f->s, "rti1", "rti2", NOW + 900, NOW + 100, &g), WP_OK);
    assert_int_equal(g.refresh_issued_at, NOW - 5); /* of the token that was handed in */
    store_grant_clear(&g);
    assert_int_equal(store_refresh_get(f->s, "rti2", NOW + 200, &g, &exp), WP_OK);
    assert_int_equal(g.refresh_issued_at, NOW + 100);
    assert_int_equal(exp, NOW + 900);
    store_grant_clear(&g);
}

static void test_refresh_errors(void **state)
{
    fx_t *f = *state;
    store_grant_t g = {0};
    static const struct {
        const char *token;
        int64_t now;
        wp_err_t want;
    } rows[] = {
        {"nope", NOW, WP_ERR_NOTFOUND},
        {"rtx", NOW + 3600, WP_ERR_EXPIRED},
        {"rtx", NOW + 3599, WP_OK},
    };
    add_grant(f->s, "famx", NULL, "rtx", NULL);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char next[16];
        snprintf(next, sizeof next, "next%zu", i);
        assert_int_equal(
            store_refresh_rotate(f->s, rows[i].token, next, NOW + 9999, rows[i].now, &g),
            rows[i].want);
        store_grant_clear(&g);
    }
}

static void test_revocation(void **state)
{
    fx_t *f = *state;
    store_grant_t g = {0};
    int64_t exp = 0;
    add_grant(f->s, "fa", "codeA", "rtA", "atA");
    add_grant(f->s, "fb", "codeB", "rtB", "atB");
    assert_int_equal(store_access_check(f->s, "unknown"), WP_ERR_NOTFOUND);

    assert_int_equal(store_access_revoke(f->s, "atA", NOW), WP_OK);
    assert_int_equal(store_access_check(f->s, "atA"), WP_ERR_USED);
    assert_int_equal(store_refresh_get(f->s, "rtA", NOW, &g, &exp), WP_OK);
    store_grant_clear(&g);

    /* A reused code revokes only its own grant. */
    assert_int_equal(store_grant_revoke_code(f->s, "codeB", NOW), WP_OK);
    assert_int_equal(store_access_check(f->s, "atB"), WP_ERR_USED);
    assert_int_equal(store_refresh_get(f->s, "rtB", NOW, &g, &exp), WP_ERR_NOTFOUND);
    assert_int_equal(store_refresh_get(f->s, "rtA", NOW, &g, &exp), WP_OK);
    store_grant_clear(&g);
    assert_int_equal(store_grant_revoke(f->s, "fa", NOW), WP_OK);
    assert_int_equal(store_refresh_get(f->s, "rtA", NOW, &g, &exp), WP_ERR_NOTFOUND);
    assert_int_equal(store_grant_revoke_code(f->s, "no-such-code", NOW), WP_OK);
}

static void test_assertion_jti(void **state)
{
    fx_t *f = *state;
    assert_int_equal(store_assertion_jti_use(f->s, "rp", "j1", NOW + 60), WP_OK);
    assert_int_equal(store_assertion_jti_use(f->s, "rp", "j1", NOW + 60), WP_ERR_USED);
    assert_int_equal(store_assertion_jti_use(f->s, "other", "j1", NOW + 60), WP_OK);
    assert_int_equal(store_purge_expired(f->s, NOW + 61), WP_OK);
    assert_int_equal(store_assertion_jti_use(f->s, "rp", "j1", NOW + 120), WP_OK);
}

static void test_par(void **state)
{
    fx_t *f = *state;
    char *params = NULL;
    assert_int_equal(store_par_add(f->s, "h1", "rp", "{\"a\":\"b\"}", NOW + 60), WP_OK);
    assert_int_equal(store_par_take(f->s, "h1", "other", NOW, &params), WP_ERR_NOTFOUND);
    assert_int_equal(store_par_take(f->s, "h1", "rp", NOW, &params), WP_OK);
    assert_string_equal(params, "{\"a\":\"b\"}");
    free(params);
    params = NULL;
    assert_int_equal(store_par_take(f->s, "h1", "rp", NOW, &params), WP_ERR_NOTFOUND);
    assert_int_equal(store_par_add(f->s, "h2", "rp", "{}", NOW + 60), WP_OK);
    assert_int_equal(store_par_take(f->s, "h2", "rp", NOW + 60, &params), WP_ERR_EXPIRED);
    assert_null(params);
}

static void test_session_clients(void **state)
{
    fx_t *f = *state;
    json_t *rows = NULL;
    assert_int_equal(store_session_client_add(f->s, "s1", "rp1", "acct", NOW + 60), WP_OK);
    assert_int_equal(store_session_client_add(f->s, "s1", "rp1", "acct", NOW + 90), WP_OK);
    assert_int_equal(store_session_client_add(f->s, "s1", "rp2", "acct", NOW + 60), WP_OK);
    assert_int_equal(store_session_client_add(f->s, "s2", "rp3", "acct", NOW + 60), WP_OK);
    assert_int_equal(store_session_client_add(f->s, "s9", "rp1", "other", NOW + 60), WP_OK);

    assert_int_equal(store_session_clients_take(f->s, "s1", "acct", &rows), WP_OK);
    assert_int_equal(json_array_size(rows), 2);
    json_decref(rows);
    assert_int_equal(store_session_clients_take(f->s, "s1", "acct", &rows), WP_OK);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    /* A sid of another account is not taken by this account. */
    assert_int_equal(store_session_clients_take(f->s, "s9", "acct", &rows), WP_OK);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    assert_int_equal(store_session_clients_take(f->s, NULL, "acct", &rows), WP_OK);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "client_id")),
                        "rp3");
    json_decref(rows);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_rotation),        T(test_refresh_issued_at), T(test_refresh_errors),
        T(test_revocation),      T(test_assertion_jti),     T(test_par),
        T(test_session_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
