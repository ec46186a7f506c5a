/* Storage tests on a temporary SQLite file: schema and versions, every record kind, the
 * single-use operations (alone and raced by several threads), and all-or-nothing writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "idp/store.h"

#define NTHREADS 8
#define NEVER SIZE_MAX

/* The two storage keys (in the program: subkeys of the master key). */
static const uint8_t lookup_key[32] = {0x11, 0x12, 0x13, 0x14};
static const uint8_t seal_key[32] = {0x21, 0x22, 0x23, 0x24};

typedef struct {
    char dir[64];
    char sub[96];
    char path[128];
    char url[160];
    store_t *s;
} fx_t;

static void remove_db(const char *path)
{
    char buf[PATH_MAX];
    unlink(path);
    snprintf(buf, sizeof buf, "%s-wal", path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-journal", path);
    unlink(buf);
}

static int setup(void **state)
{
    char err[256];
    fx_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/wp-store-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    /* The sub folder does not exist yet: store_open must create it. */
    snprintf(f->sub, sizeof f->sub, "%s/var", f->dir);
    snprintf(f->path, sizeof f->path, "%s/wereldpas.db", f->sub);
    snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
    if (store_open(f->url, 1, &f->s, err, sizeof err) != WP_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        free(f);
        return -1;
    }
    store_set_keys(f->s, lookup_key, seal_key);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    store_close(f->s);
    remove_db(f->path);
    rmdir(f->sub);
    rmdir(f->dir);
    free(f);
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- open, migrate, versions */

static void set_version(const char *path, int version)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE schema_version SET version = ?", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(st, 1, version);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_open_and_versions(void **state)
{
    fx_t *f = *state;
    char err[256];
    store_t *s2 = NULL;
    struct stat sb;

    assert_int_equal(store_ping(f->s), WP_OK);
    int version = store_schema_version(f->s);
    assert_true(version >= 1);

    /* folder 0700, file 0600 */
    assert_int_equal(stat(f->sub, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* WAL mode is recorded in the file. */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* Reopen without migrating, by bare path too. */
    assert_int_equal(store_open(f->url, 0, &s2, err, sizeof err), WP_OK);
    assert_int_equal(store_schema_version(s2), version);
    store_close(s2);
    assert_int_equal(store_open(f->path, 0, &s2, err, sizeof err), WP_OK);
    store_close(s2);
    store_close(f->s);
    f->s = NULL;

    /* A newer schema is refused, with or without migrate. */
    set_version(f->path, version + 1);
    s2 = NULL;
    assert_int_equal(store_open(f->url, 0, &s2, err, sizeof err), WP_ERR);
    assert_null(s2);
    assert_non_null(strstr(err, "newer"));
    assert_int_equal(store_open(f->url, 1, &s2, err, sizeof err), WP_ERR);
    assert_non_null(strstr(err, "newer"));

    /* An older schema is refused without migrate, upgraded with it. */
    set_version(f->path, 0);
    assert_int_equal(store_open(f->url, 0, &s2, err, sizeof err), WP_ERR);
    assert_non_null(strstr(err, "older"));
    assert_non_null(strstr(err, "run `wereldpas serve` to migrate"));
    set_version(f->path, version);
    assert_int_equal(store_open(f->url, 1, &f->s, err, sizeof err), WP_OK);

    /* An empty database file (version 0): refused, then migrated. */
    char empty[200];
    snprintf(empty, sizeof empty, "%s/empty.db", f->dir);
    FILE *fp = fopen(empty, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(store_open(empty, 0, &s2, err, sizeof err), WP_ERR);
    assert_non_null(strstr(err, "wereldpas serve"));
    assert_int_equal(store_open(empty, 1, &s2, err, sizeof err), WP_OK);
    assert_int_equal(store_schema_version(s2), version);
    store_close(s2);
    remove_db(empty);

    /* A missing file without migrate: an error, and no file appears. */
    char missing[200];
    snprintf(missing, sizeof missing, "%s/missing.db", f->dir);
    assert_int_equal(store_open(missing, 0, &s2, err, sizeof err), WP_ERR);
    assert_true(err[0] != '\0');
    assert_int_not_equal(access(missing, F_OK), 0);
}

/* Runs sql on the database file at path (outside the store). */
static void raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sqlite: %s\n", msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
    assert_int_equal(rc, SQLITE_OK);
}

/* Migration 6 on a database of version 5: unused diploma codes (which cannot be tied to
 * a flow) go, other codes stay; each refresh token gets an issue time: six hours before
 * its expiry, but not before its grant's sign-in and not after the migration. */
static void test_migration_6(void **state)
{
    fx_t *f = *state;
    char err[256];
    int64_t t0 = (int64_t)time(NULL);
    int version = store_schema_version(f->s);
    store_code_t unused = {"m-unused", "diploma", "111222333", "low", "diploma", t0 + 900, NULL};
    store_code_t used = {"m-used", "diploma", "111222333", "low", "diploma", t0 + 900, NULL};
    store_code_t staff = {"m-staff", "enrol", "111222333", "subst", "assisted", t0 + 900, NULL};
    store_grant_t g = {.family = "m-fam",
                       .client_id = "rp",
                       .account_id = "acct",
                       .scope = "openid",
                       .auth_time = t0 - 7200,
                       .expires_at = t0 + 3600};
    store_code_t out;
    memset(&out, 0, sizeof out);

    assert_true(version >= 6);
    assert_int_equal(store_code_add(f->s, &unused), WP_OK);
    assert_int_equal(store_code_add(f->s, &used), WP_OK);
    assert_int_equal(store_code_add(f->s, &staff), WP_OK);
    assert_int_equal(store_code_redeem(f->s, "m-used", "diploma", t0, &out), WP_OK);
    store_code_clear(&out);
    assert_int_equal(store_grant_add(f->s, &g), WP_OK);
    assert_int_equal(store_refresh_add(f->s, "m-rt-normal", "m-fam", 0, t0 + 21600 - 600), WP_OK);
    assert_int_equal(store_refresh_add(f->s, "m-rt-early", "m-fam", 0, t0 + 3600), WP_OK);
    assert_int_equal(store_refresh_add(f->s, "m-rt-long", "m-fam", 0, t0 + 30 * 86400), WP_OK);
    store_close(f->s);
    f->s = NULL;

    /* Back to version 5, as an older wereldpas left it (migration 7 undone first). */
    raw_sql(f->path, "DROP TABLE seal_pending;"
                     "ALTER TABLE staff DROP COLUMN name_sealed;"
                     "ALTER TABLE staff ADD COLUMN name TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE recovery_cases DROP COLUMN reason_sealed;"
                     "ALTER TABLE recovery_cases DROP COLUMN evidence_sealed;"
                     "ALTER TABLE recovery_cases ADD COLUMN reason TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE recovery_cases ADD COLUMN evidence TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE credentials DROP COLUMN name_sealed;"
                     "ALTER TABLE credentials ADD COLUMN name TEXT;"
                     "DROP INDEX codes_person;"
                     "ALTER TABLE codes DROP COLUMN pn_key;"
                     "ALTER TABLE codes DROP COLUMN flow_hash;"
                     "ALTER TABLE refresh_tokens DROP COLUMN issued_at;"
                     "UPDATE schema_version SET version = 5;");
    assert_int_equal(store_open(f->url, 1, &f->s, err, sizeof err), WP_OK);
    store_set_keys(f->s, lookup_key, seal_key);
    int64_t t1 = (int64_t)time(NULL);
    assert_int_equal(store_schema_version(f->s), version);

    assert_int_equal(store_code_redeem(f->s, "m-unused", "diploma", t1, &out), WP_ERR_NOTFOUND);
    assert_int_equal(store_code_redeem(f->s, "m-used", "diploma", t1, &out), WP_ERR_USED);
    assert_int_equal(store_code_redeem(f->s, "m-staff", "enrol", t1, &out), WP_OK);
    assert_string_equal(out.person_number, "111222333");
    store_code_clear(&out);

    store_grant_t got = {0};
    int64_t exp = 0;
    assert_int_equal(store_refresh_get(f->s, "m-rt-normal", t1, &got, &exp), WP_OK);
    assert_int_equal(got.refresh_issued_at, t0 - 600);
    store_grant_clear(&got);
    assert_int_equal(store_refresh_get(f->s, "m-rt-early", t1, &got, &exp), WP_OK);
    assert_int_equal(got.refresh_issued_at, t0 - 7200); /* the sign-in */
    store_grant_clear(&got);
    assert_int_equal(store_refresh_get(f->s, "m-rt-long", t1, &got, &exp), WP_OK);
    assert_true(got.refresh_issued_at >= t0 && got.refresh_issued_at <= t1); /* the migration */
    store_grant_clear(&got);

    /* A new code after the migration is found by its person again. */
    store_code_t fresh = {"m-new", "diploma", "111222333", "low", "diploma", t1 + 900, "fl"};
    int cancelled = -1;
    assert_int_equal(store_code_replace(f->s, &fresh, &cancelled), WP_OK);
    assert_int_equal(cancelled, 0);
}

static void test_open_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *msg;
    } bad[] = {
        {"postgresql://wp@localhost/wp", "PostgreSQL backend not built yet"},
        {"postgres://wp@localhost/wp", "PostgreSQL backend not built yet"},
        {"mysql://localhost/wp", "unsupported"},
        {"sqlite:", "no database file"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        store_t *s = NULL;
        assert_int_equal(store_open(bad[i].url, 1, &s, err, sizeof err), WP_ERR);
        assert_null(s);
        assert_non_null(strstr(err, bad[i].msg));
    }
    /* An in-memory database works (one connection per store). */
    char err[256];
    store_t *s = NULL;
    assert_int_equal(store_open("sqlite::memory:", 1, &s, err, sizeof err), WP_OK);
    assert_int_equal(store_ping(s), WP_OK);
    store_close(s);
}

/* ---- clients */

static json_t *make_client(const char *id, const char *name)
{
    return json_pack("{s:s, s:s, s:s, s:[s], s:s, s:I}", "client_id", id, "client_name", name,
                     "token_endpoint_auth_method", "private_key_jwt", "redirect_uris",
                     "https://rp.example/cb", "pkce", "required", "created_at",
                     (json_int_t)1700000000);
}

static void test_clients(void **state)
{
    fx_t *f = *state;
    json_t *c1 = make_client("mijn-duo", "Mijn DUO");
    json_t *c2 = make_client("diplomas", "Mijn diploma's");
    json_t *dup = make_client("mijn-duo", "Other");
    json_t *noid = json_pack("{s:s}", "client_name", "x");
    json_t *got = NULL, *list = NULL;

    assert_int_equal(store_client_add(f->s, c1), WP_OK);
    assert_int_equal(store_client_add(f->s, c2), WP_OK);
    assert_int_equal(store_client_add(f->s, dup), WP_ERR_EXISTS);
    assert_int_equal(store_client_add(f->s, noid), WP_ERR_INVALID);

    assert_int_equal(store_client_get(f->s, "mijn-duo", &got), WP_OK);
    assert_true(json_equal(got, c1));
    json_decref(got);
    got = NULL;
    assert_int_equal(store_client_get(f->s, "nobody", &got), WP_ERR_NOTFOUND);
    assert_null(got);

    assert_int_equal(store_client_list(f->s, &list), WP_OK);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "client_id")),
                        "diplomas");
    json_decref(list);

    assert_int_equal(store_client_remove(f->s, "mijn-duo"), WP_OK);
    assert_int_equal(store_client_remove(f->s, "mijn-duo"), WP_ERR_NOTFOUND);
    assert_int_equal(store_client_get(f->s, "mijn-duo", &got), WP_ERR_NOTFOUND);
    assert_int_equal(store_client_list(f->s, &list), WP_OK);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);

    json_decref(c1);
    json_decref(c2);
    json_decref(dup);
    json_decref(noid);
}

/* ---- keys */

static void test_keys(void **state)
{
    fx_t *f = *state;
    uint8_t sealed1[] = {1, 2, 3, 4, 5}, sealed2[] = {9, 8, 7};
    store_key_t k1 = {"kid-1", "RS256", sealed1, sizeof sealed1, 200, 0};
    store_key_t k2 = {"kid-2", "ES256", sealed2, sizeof sealed2, 100, 0};
    store_key_t *keys = NULL;
    size_t n = 0;

    assert_int_equal(store_key_list(f->s, &keys, &n), WP_OK);
    assert_int_equal(n, 0);
    store_keys_free(keys, n);

    assert_int_equal(store_key_add(f->s, &k1), WP_OK);
    assert_int_equal(store_key_add(f->s, &k2), WP_OK);
    assert_int_equal(store_key_add(f->s, &k1), WP_ERR_EXISTS);

    assert_int_equal(store_key_list(f->s, &keys, &n), WP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0].kid, "kid-2"); /* oldest first */
    assert_string_equal(keys[0].alg, "ES256");
    assert_int_equal(keys[0].sealed_len, sizeof sealed2);
    assert_memory_equal(keys[0].sealed, sealed2, sizeof sealed2);
    assert_int_equal(keys[0].created_at, 100);
    assert_string_equal(keys[1].kid, "kid-1");
    store_keys_free(keys, n);

    assert_int_equal(store_key_retire(f->s, "kid-2", 300), WP_OK);
    assert_int_equal(store_key_retire(f->s, "kid-2", 301), WP_ERR_NOTFOUND);
    assert_int_equal(store_key_retire(f->s, "kid-x", 301), WP_ERR_NOTFOUND);
    assert_int_equal(store_key_list(f->s, &keys, &n), WP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0].kid, "kid-1");
    store_keys_free(keys, n);
}

/* ---- register */

typedef struct {
    const char *const (*rows)[9];
    size_t n;
    size_t i;
    size_t fail_at; /* returns WP_ERR_INVALID instead of this row; NEVER for never */
} iter_t;

static int iter_next(void *ctx, store_person_t *row)
{
    iter_t *it = ctx;
    if (it->i == it->fail_at) {
        row->person_number = strdup("half-made"); /* the import must free it */
        return WP_ERR_INVALID;
    }
    if (it->i >= it->n)
        return 0;
    const char *const *r = it->rows[it->i++];
    row->person_number = dup_or_null(r[0]);
    row->family_name = dup_or_null(r[1]);
    row->given_names = dup_or_null(r[2]);
    row->birthdate = dup_or_null(r[3]);
    row->institution = dup_or_null(r[4]);
    row->programme = dup_or_null(r[5]);
    row->diploma_date = dup_or_null(r[6]);
    row->contact_email = dup_or_null(r[7]);
    row->preferred_language = dup_or_null(r[8]);
    return 1;
}

static const char *const register_a[][9] = {
    {"111222333", "Jansen", "Eva", "1990-01-02", "TU Delft", "MSc Physics", "2015-07-01",
     "eva@example.org", "nl"},
    {"111222333", "Jansen", "Eva", "1990-01-02", "UvA", "BSc Physics", "2012-07-01",
     "eva@example.org", "nl"},
    {"222333444", "Ng", "Li", "1985-05-06", "EUR", "MSc Economics", "2010-08-30", "li@example.org",
     NULL},
};

static const char *const register_b[][9] = {
    {"333444555", "Visser", "Ada", "1970-03-04", "RUG", "PhD", "2000-01-01", "ada@example.org",
     "en"},
    {"444555666", "Bakker", "Sem", "1999-09-09", "HvA", "BSc", "2021-06-30", "sem@example.org",
     "es"},
};

static const char *const register_bad[][9] = {
    {"555666777", "Smit", "Bo", "1980-01-01", "UU", "MA", "2005-05-05", "bo@example.org", "nl"},
    {"666777888", NULL, "Ko", "1981-01-01", "UU", "MA", "2006-05-05", "ko@example.org", "nl"},
};

static void expect_register_a(store_t *s)
{
    store_person_t p;
    memset(&p, 0, sizeof p);
    assert_int_equal(store_person_get(s, "111222333", &p), WP_OK);
    assert_string_equal(p.family_name, "Jansen");
    assert_string_equal(p.programme, "MSc Physics"); /* the first row */
    assert_string_equal(p.preferred_language, "nl");
    store_person_clear(&p);
    assert_int_equal(store_person_get(s, "222333444", &p), WP_OK);
    assert_null(p.preferred_language);
    assert_string_equal(p.contact_email, "li@example.org");
    store_person_clear(&p);
    assert_int_equal(store_person_get(s, "333444555", &p), WP_ERR_NOTFOUND);
}

static void test_register_import(void **state)
{
    fx_t *f = *state;
    size_t count = 0;
    store_person_t p;
    memset(&p, 0, sizeof p);

    iter_t a = {register_a, 3, 0, NEVER};
    assert_int_equal(store_register_import(f->s, iter_next, &a, &count), WP_OK);
    assert_int_equal(count, 3);
    expect_register_a(f->s);

    /* The iterator fails half-way: nothing changes. */
    iter_t b_fail = {register_b, 2, 0, 1};
    count = 99;
    assert_int_equal(store_register_import(f->s, iter_next, &b_fail, &count), WP_ERR_INVALID);
    assert_int_equal(count, 99);
    expect_register_a(f->s);

    /* A row missing a required field: nothing changes either. */
    iter_t bad = {register_bad, 2, 0, NEVER};
    assert_int_equal(store_register_import(f->s, iter_next, &bad, &count), WP_ERR_INVALID);
    expect_register_a(f->s);
    assert_int_equal(store_person_get(f->s, "555666777", &p), WP_ERR_NOTFOUND);

    /* A good import replaces the whole register. */
    iter_t b = {register_b, 2, 0, NEVER};
    assert_int_equal(store_register_import(f->s, iter_next, &b, &count), WP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(store_person_get(f->s, "111222333", &p), WP_ERR_NOTFOUND);
    assert_int_equal(store_person_get(f->s, "444555666", &p), WP_OK);
    assert_string_equal(p.given_names, "Sem");
    store_person_clear(&p);
    assert_null(p.given_names);
}

/* ---- accounts and credentials */

static store_credential_t make_cred(const char *id, uint8_t *pk, size_t pk_len)
{
    store_credential_t c;
    memset(&c, 0, sizeof c);
    c.cred_id = (char *)id;
    c.public_key = pk;
    c.public_key_len = pk_len;
    c.alg = -7;
    c.sign_count = 0;
    c.backup_eligible = 1;
    c.backup_state = 0;
    c.aaguid = (char *)"00000000-0000-0000-0000-000000000000";
    c.transports = (char *)"[\"internal\",\"hybrid\"]";
    c.name = (char *)"Phone";
    return c;
}

static void test_account_bind(void **state)
{
    fx_t *f = *state;
    uint8_t pk[] = {0xa5, 0x01, 0x02, 0x03, 0x26};
    store_credential_t c1 = make_cred("cred-AAA", pk, sizeof pk);
    store_credential_t c2 = make_cred("cred-BBB", pk, sizeof pk);
    char *id1 = NULL, *id2 = NULL, *id3 = NULL;
    store_account_t a;
    store_credential_t got;
    store_credential_t *list = NULL;
    size_t n = 0;
    memset(&a, 0, sizeof a);
    memset(&got, 0, sizeof got);

    assert_int_equal(store_account_by_person(f->s, "111222333", &a), WP_ERR_NOTFOUND);

    /* New account */
    assert_int_equal(
        store_account_bind_credential(f->s, "111222333", "low", "diploma", 1000, &c1, &id1), WP_OK);
    assert_non_null(id1);
    assert_int_equal(strlen(id1), 43);
    assert_null(strchr(id1, '='));
    assert_int_equal(store_account_by_person(f->s, "111222333", &a), WP_OK);
    assert_string_equal(a.id, id1);
    assert_string_equal(a.acr, "low");
    assert_string_equal(a.proofing, "diploma");
    assert_int_equal(a.created_at, 1000);
    assert_int_equal(a.proofed_at, 1000);
    store_account_clear(&a);

    assert_int_equal(store_credential_get(f->s, "cred-AAA", &got), WP_OK);
    assert_string_equal(got.account_id, id1);
    assert_int_equal(got.public_key_len, sizeof pk);
    assert_memory_equal(got.public_key, pk, sizeof pk);
    assert_int_equal(got.alg, -7);
    assert_int_equal(got.backup_eligible, 1);
    assert_string_equal(got.transports, "[\"internal\",\"hybrid\"]");
    assert_string_equal(got.name, "Phone");
    assert_int_equal(got.created_at, 1000);
    store_credential_clear(&got);
    assert_int_equal(store_credential_get(f->s, "cred-none", &got), WP_ERR_NOTFOUND);

    /* Existing account: same id, proofing updated, second credential. */
    assert_int_equal(store_account_bind_credential(f->s, "111222333", "substantial", "assisted",
                                                   2000, &c2, &id2),
                     WP_OK);
    assert_string_equal(id2, id1);
    assert_int_equal(store_account_get(f->s, id1, &a), WP_OK);
    assert_string_equal(a.person_number, "111222333");
    assert_string_equal(a.acr, "substantial");
    assert_string_equal(a.proofing, "assisted");
    assert_int_equal(a.created_at, 1000);
    assert_int_equal(a.proofed_at, 2000);
    store_account_clear(&a);
    assert_int_equal(store_credential_list(f->s, id1, &list, &n), WP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].cred_id, "cred-AAA");
    assert_string_equal(list[1].cred_id, "cred-BBB");
    store_credentials_free(list, n);

    /* A taken credential id, for a new person: EXISTS and no account made. */
    assert_int_equal(
        store_account_bind_credential(f->s, "999888777", "low", "diploma", 3000, &c1, &id3),
        WP_ERR_EXISTS);
    assert_null(id3);
    assert_int_equal(store_account_by_person(f->s, "999888777", &a), WP_ERR_NOTFOUND);
    /* ... and for the existing person: EXISTS and the account unchanged. */
    assert_int_equal(
        store_account_bind_credential(f->s, "111222333", "low", "diploma", 3000, &c2, &id3),
        WP_ERR_EXISTS);
    assert_null(id3);
    assert_int_equal(store_account_get(f->s, id1, &a), WP_OK);
    assert_string_equal(a.acr, "substantial");
    assert_int_equal(a.proofed_at, 2000);
    store_account_clear(&a);

    assert_int_equal(store_account_get(f->s, "no-such-account", &a), WP_ERR_NOTFOUND);
    assert_int_equal(store_credential_list(f->s, "no-such-account", &list, &n), WP_OK);
    assert_int_equal(n, 0);
    store_credentials_free(list, n);

    free(id1);
    free(id2);
}

static void test_credential_touch(void **state)
{
    fx_t *f = *state;
    uint8_t pk[] = {1, 2, 3};
    store_credential_t c = make_cred("cred-T", pk, sizeof pk);
    store_credential_t got;
    char *id = NULL;
    memset(&got, 0, sizeof got);
    c.sign_count = 3;
    assert_int_equal(
        store_account_bind_credential(f->s, "123456782", "low", "diploma", 10, &c, &id), WP_OK);
    free(id);

    assert_int_equal(store_credential_touch(f->s, "cred-T", 3, 7, 1, 50), WP_OK);
    /* A second use that read the old counter loses. */
    assert_int_equal(store_credential_touch(f->s, "cred-T", 3, 8, 0, 51), WP_ERR_USED);
    assert_int_equal(store_credential_touch(f->s, "cred-none", 3, 8, 0, 51), WP_ERR_NOTFOUND);
    assert_int_equal(store_credential_get(f->s, "cred-T", &got), WP_OK);
    assert_int_equal(got.sign_count, 7);
    assert_int_equal(got.backup_state, 1);
    assert_int_equal(got.last_used_at, 50);
    store_credential_clear(&got);
    /* Authenticators without a counter stay at 0; large counters survive. */
    assert_int_equal(store_credential_touch(f->s, "cred-T", 7, UINT32_MAX, 1, 60), WP_OK);
    assert_int_equal(store_credential_get(f->s, "cred-T", &got), WP_OK);
    assert_int_equal(got.sign_count, UINT32_MAX);
    store_credential_clear(&got);
}

/* ---- one-time codes */

static void test_codes(void **state)
{
    fx_t *f = *state;
    store_code_t c1 = {"hash-1", "enrol", "111222333", "substantial", "assisted", 1000, NULL};
    store_code_t c2 = {"hash-2", "enrol", "222333444", "low", "diploma", 500, NULL};
    store_code_t out;
    memset(&out, 0, sizeof out);

    assert_int_equal(store_code_add(f->s, &c1), WP_OK);
    assert_int_equal(store_code_add(f->s, &c2), WP_OK);
    assert_int_equal(store_code_add(f->s, &c1), WP_ERR_EXISTS);

    assert_int_equal(store_code_redeem(f->s, "hash-x", "enrol", 100, &out), WP_ERR_NOTFOUND);
    assert_int_equal(store_code_redeem(f->s, "hash-1", "recover", 100, &out), WP_ERR_NOTFOUND);
    assert_int_equal(store_code_redeem(f->s, "hash-2", "enrol", 500, &out), WP_ERR_EXPIRED);
    assert_null(out.hash);

    assert_int_equal(store_code_redeem(f->s, "hash-1", "enrol", 999, &out), WP_OK);
    assert_string_equal(out.hash, "hash-1");
    assert_string_equal(out.kind, "enrol");
    assert_string_equal(out.person_number, "111222333");
    assert_string_equal(out.acr, "substantial");
    assert_string_equal(out.proofing, "assisted");
    assert_int_equal(out.expires_at, 1000);
    store_code_clear(&out);

    assert_int_equal(store_code_redeem(f->s, "hash-1", "enrol", 999, &out), WP_ERR_USED);
    assert_int_equal(store_code_redeem(f->s, "hash-1", "enrol", 2000, &out), WP_ERR_USED);
    assert_null(out.hash);
}

/* A code bound to a flow is found only in that flow; elsewhere (and without a flow) it
 * looks exactly like a code that does not exist, used, expired or not, and stays usable
 * in its own flow. A code bound to no flow works in any. */
static void test_codes_in_flow(void **state)
{
    fx_t *f = *state;
    store_code_t bound = {"hash-b", "diploma", "111222333", "low", "diploma", 1000, "flow-a"};
    store_code_t old = {"hash-o", "diploma", "111222333", "low", "diploma", 500, "flow-a"};
    store_code_t any = {"hash-any", "enrol", "222333444", "low", "assisted", 1000, NULL};
    store_code_t out;
    memset(&out, 0, sizeof out);

    assert_int_equal(store_code_add(f->s, &bound), WP_OK);
    assert_int_equal(store_code_add(f->s, &old), WP_OK);
    assert_int_equal(store_code_add(f->s, &any), WP_OK);

    static const struct {
        const char *hash, *kind, *flow;
        int64_t now;
        wp_err_t want;
    } rows[] = {
        {"hash-b", "diploma", "flow-b", 100, WP_ERR_NOTFOUND}, /* another flow */
        {"hash-b", "diploma", NULL, 100, WP_ERR_NOTFOUND},     /* no flow */
        {"hash-o", "diploma", "flow-b", 600, WP_ERR_NOTFOUND}, /* expired, in another flow */
        {"hash-o", "diploma", "flow-a", 600, WP_ERR_EXPIRED},  /* expired, in its own flow */
        {"hash-b", "diploma", "flow-a", 100, WP_OK},           /* its own flow */
        {"hash-b", "diploma", "flow-b", 100, WP_ERR_NOTFOUND}, /* used, in another flow */
        {"hash-b", "diploma", "flow-a", 100, WP_ERR_USED},     /* used, in its own flow */
        {"hash-any", "enrol", "flow-z", 100, WP_OK},           /* unbound: any flow */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(
            store_code_redeem_in(f->s, rows[i].hash, rows[i].kind, rows[i].flow, rows[i].now, &out),
            rows[i].want);
        if (rows[i].want == WP_OK && rows[i].flow && strcmp(rows[i].kind, "diploma") == 0) {
            assert_string_equal(out.flow_hash, rows[i].flow);
            assert_string_equal(out.person_number, "111222333");
        } else if (rows[i].want == WP_OK) {
            assert_string_equal(out.hash, "hash-any");
            assert_null(out.flow_hash);
        } else {
            assert_null(out.hash);
        }
        store_code_clear(&out);
    }
    /* store_code_redeem has no flow: it never finds a bound code. */
    store_code_t later = {"hash-c", "diploma", "111222333", "low", "diploma", 1000, "flow-a"};
    assert_int_equal(store_code_add(f->s, &later), WP_OK);
    assert_int_equal(store_code_redeem(f->s, "hash-c", "diploma", 100, &out), WP_ERR_NOTFOUND);
    assert_int_equal(store_code_redeem_in(f->s, "hash-c", "diploma", "flow-a", 100, &out), WP_OK);
    store_code_clear(&out);
}

/* A new code that replaces: every unused code of that kind and person goes, used ones
 * and those of other kinds or people stay. */
static void test_code_replace(void **state)
{
    fx_t *f = *state;
    store_code_t first = {"r-1", "diploma", "111222333", "low", "diploma", 1000, "flow-a"};
    store_code_t second = {"r-2", "diploma", "111222333", "low", "diploma", 1000, "flow-b"};
    store_code_t used = {"r-u", "diploma", "111222333", "low", "diploma", 1000, "flow-u"};
    store_code_t other_kind = {"r-e", "enrol", "111222333", "subst", "assisted", 1000, NULL};
    store_code_t other_person = {"r-p", "diploma", "222333444", "low", "diploma", 1000, "flow-p"};
    store_code_t third = {"r-3", "diploma", "111222333", "low", "diploma", 1000, "flow-c"};
    store_code_t no_person = {"r-x", "diploma", NULL, "low", "diploma", 1000, "flow-c"};
    store_code_t out;
    int cancelled = -1;
    memset(&out, 0, sizeof out);

    assert_int_equal(store_code_add(f->s, &used), WP_OK);
    assert_int_equal(store_code_redeem_in(f->s, "r-u", "diploma", "flow-u", 10, &out), WP_OK);
    store_code_clear(&out);
    assert_int_equal(store_code_add(f->s, &other_kind), WP_OK);
    assert_int_equal(store_code_add(f->s, &other_person), WP_OK);
    assert_int_equal(store_code_replace(f->s, &first, &cancelled), WP_OK);
    assert_int_equal(cancelled, 0);
    assert_int_equal(store_code_replace(f->s, &second, &cancelled), WP_OK);
    assert_int_equal(cancelled, 1);
    assert_int_equal(store_code_replace(f->s, &third, NULL), WP_OK);
    assert_int_equal(store_code_replace(f->s, &no_person, NULL), WP_ERR_INVALID);
    /* A hash that is taken (by the used code) changes nothing: third stays usable. */
    assert_int_equal(store_code_replace(f->s, &used, &cancelled), WP_ERR_EXISTS);
    assert_int_equal(cancelled, 1); /* untouched on error */

    assert_int_equal(store_code_redeem_in(f->s, "r-1", "diploma", "flow-a", 20, &out),
                     WP_ERR_NOTFOUND);
    assert_int_equal(store_code_redeem_in(f->s, "r-2", "diploma", "flow-b", 20, &out),
                     WP_ERR_NOTFOUND);
    assert_int_equal(store_code_redeem_in(f->s, "r-u", "diploma", "flow-u", 20, &out), WP_ERR_USED);
    assert_int_equal(store_code_redeem_in(f->s, "r-3", "diploma", "flow-c", 20, &out), WP_OK);
    store_code_clear(&out);
    assert_int_equal(store_code_redeem(f->s, "r-e", "enrol", 20, &out), WP_OK);
    store_code_clear(&out);
    assert_int_equal(store_code_redeem_in(f->s, "r-p", "diploma", "flow-p", 20, &out), WP_OK);
    store_code_clear(&out);
}

/* ---- challenges */

static void test_challenges(void **state)
{
    fx_t *f = *state;
    char *c = NULL;

    assert_int_equal(store_challenge_take(f->s, "flow-1", "register", 10, &c), WP_ERR_NOTFOUND);

    assert_int_equal(store_challenge_put(f->s, "flow-1", "register", "chal-A", 100), WP_OK);
    assert_int_equal(store_challenge_put(f->s, "flow-1", "login", "chal-L", 100), WP_OK);
    /* A new challenge replaces the old one of that flow and kind. */
    assert_int_equal(store_challenge_put(f->s, "flow-1", "register", "chal-B", 200), WP_OK);

    assert_int_equal(store_challenge_take(f->s, "flow-1", "register", 150, &c), WP_OK);
    assert_string_equal(c, "chal-B");
    free(c);
    c = NULL;
    assert_int_equal(store_challenge_take(f->s, "flow-1", "register", 150, &c), WP_ERR_NOTFOUND);
    assert_null(c);

    /* Expired: reported once, and gone after. */
    assert_int_equal(store_challenge_take(f->s, "flow-1", "login", 100, &c), WP_ERR_EXPIRED);
    assert_null(c);
    assert_int_equal(store_challenge_take(f->s, "flow-1", "login", 100, &c), WP_ERR_NOTFOUND);
}

/* ---- flows */

static void test_flows(void **state)
{
    fx_t *f = *state;
    store_flow_t fl = {"flow-h", "browser-h", "{\"client_id\":\"x\"}", NULL, NULL, NULL, 0,
                       100,      700};
    store_flow_t out;
    int attempts = -1;
    memset(&out, 0, sizeof out);

    assert_int_equal(store_flow_create(f->s, &fl), WP_OK);
    assert_int_equal(store_flow_create(f->s, &fl), WP_ERR_EXISTS);
    assert_int_equal(store_flow_get(f->s, "flow-none", 200, &out), WP_ERR_NOTFOUND);
    assert_int_equal(store_flow_get(f->s, "flow-h", 700, &out), WP_ERR_EXPIRED);
    assert_null(out.id_hash);

    assert_int_equal(store_flow_get(f->s, "flow-h", 200, &out), WP_OK);
    assert_string_equal(out.browser_hash, "browser-h");
    assert_string_equal(out.request, "{\"client_id\":\"x\"}");
    assert_null(out.person_number);
    assert_int_equal(out.created_at, 100);
    assert_int_equal(out.expires_at, 700);
    store_flow_clear(&out);

    assert_int_equal(store_flow_set_proofed(f->s, "flow-h", "111222333", "substantial", "assisted"),
                     WP_OK);
    assert_int_equal(store_flow_set_proofed(f->s, "flow-none", "1", "low", "diploma"),
                     WP_ERR_NOTFOUND);
    assert_int_equal(store_flow_get(f->s, "flow-h", 200, &out), WP_OK);
    assert_string_equal(out.person_number, "111222333");
    assert_string_equal(out.acr, "substantial");
    assert_string_equal(out.proofing, "assisted");
    store_flow_clear(&out);

    for (int i = 1; i <= 3; i++) {
        assert_int_equal(store_flow_code_failed(f->s, "flow-h", 3, &attempts), WP_OK);
        assert_int_equal(attempts, i);
    }
    assert_int_equal(store_flow_code_failed(f->s, "flow-h", 3, &attempts), WP_ERR_LIMIT);
    assert_int_equal(attempts, 4);
    assert_int_equal(store_flow_code_failed(f->s, "flow-none", 3, &attempts), WP_ERR_NOTFOUND);
    assert_int_equal(store_flow_get(f->s, "flow-h", 200, &out), WP_OK);
    assert_int_equal(out.code_attempts, 4);
    store_flow_clear(&out);

    assert_int_equal(store_challenge_put(f->s, "flow-h", "register", "c", 600), WP_OK);
    assert_int_equal(store_flow_delete(f->s, "flow-h"), WP_OK);
    assert_int_equal(store_flow_get(f->s, "flow-h", 200, &out), WP_ERR_NOTFOUND);
    char *c = NULL;
    assert_int_equal(store_challenge_take(f->s, "flow-h", "register", 200, &c), WP_ERR_NOTFOUND);
}

/* ---- sessions */

static void test_sessions(void **state)
{
    fx_t *f = *state;
    store_session_t x = {"sess-h", "sid-1", "acct-1", "low", 100, 1000};
    store_session_t y = {"sess-old", "sid-2", "acct-1", "low", 100, 150};
    store_session_t out;
    memset(&out, 0, sizeof out);

    assert_int_equal(store_session_create(f->s, &x), WP_OK);
    assert_int_equal(store_session_create(f->s, &y), WP_OK);
    assert_int_equal(store_session_create(f->s, &x), WP_ERR_EXISTS);
    assert_int_equal(store_session_get(f->s, "sess-h", 500, &out), WP_OK);
    assert_string_equal(out.sid, "sid-1");
    assert_string_equal(out.account_id, "acct-1");
    assert_string_equal(out.acr, "low");
    assert_int_equal(out.auth_time, 100);
    assert_int_equal(out.expires_at, 1000);
    store_session_clear(&out);
    assert_int_equal(store_session_get(f->s, "sess-old", 150, &out), WP_ERR_EXPIRED);
    assert_int_equal(store_session_get(f->s, "sess-none", 150, &out), WP_ERR_NOTFOUND);
    assert_int_equal(store_session_delete(f->s, "sess-h"), WP_OK);
    assert_int_equal(store_session_get(f->s, "sess-h", 500, &out), WP_ERR_NOTFOUND);
    assert_null(out.sid);
}

/* ---- authorization codes */

static void test_authcodes(void **state)
{
    fx_t *f = *state;
    store_authcode_t c = {"ac-1",
                          "mijn-duo",
                          "https://rp.example/cb",
                          "chal",
                          NULL,
                          "acct-1",
                          "openid profile",
                          "low",
                          "sid-1",
                          NULL,
                          100,
                          160};
    store_authcode_t old = {"ac-old", "mijn-duo", "https://rp.example/cb",
                            NULL,     "n",        "acct-1",
                            "openid", "low",      "sid-1",
                            "{}",     100,        150};
    store_authcode_t out;
    memset(&out, 0, sizeof out);

    assert_int_equal(store_authcode_add(f->s, &c), WP_OK);
    assert_int_equal(store_authcode_add(f->s, &old), WP_OK);
    assert_int_equal(store_authcode_add(f->s, &c), WP_ERR_EXISTS);

    assert_int_equal(store_authcode_take(f->s, "ac-none", 120, &out), WP_ERR_NOTFOUND);
    assert_int_equal(store_authcode_take(f->s, "ac-old", 150, &out), WP_ERR_EXPIRED);
    assert_int_equal(store_authcode_take(f->s, "ac-1", 120, &out), WP_OK);
    assert_string_equal(out.client_id, "mijn-duo");
    assert_string_equal(out.redirect_uri, "https://rp.example/cb");
    assert_string_equal(out.code_challenge, "chal");
    assert_null(out.nonce);
    assert_null(out.claims);
    assert_string_equal(out.account_id, "acct-1");
    assert_string_equal(out.scope, "openid profile");
    assert_string_equal(out.sid, "sid-1");
    assert_int_equal(out.auth_time, 100);
    assert_int_equal(out.expires_at, 160);
    store_authcode_clear(&out);
    assert_int_equal(store_authcode_take(f->s, "ac-1", 121, &out), WP_ERR_USED);
    assert_null(out.client_id);
}

/* ---- rate limits */

static void test_ratelimits(void **state)
{
    fx_t *f = *state;
    int n = -1;

    assert_int_equal(store_ratelimit_count(f->s, "code:ip:192.0.2.1", 60, 100, &n), WP_OK);
    assert_int_equal(n, 0);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(store_ratelimit_add(f->s, "code:ip:192.0.2.1", 60, 100 + i, &n), WP_OK);
        assert_int_equal(n, i);
    }
    assert_int_equal(store_ratelimit_count(f->s, "code:ip:192.0.2.1", 60, 119, &n), WP_OK);
    assert_int_equal(n, 3);
    /* 120 starts the next 60-second window. */
    assert_int_equal(store_ratelimit_count(f->s, "code:ip:192.0.2.1", 60, 120, &n), WP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_ratelimit_add(f->s, "code:ip:192.0.2.1", 60, 120, &n), WP_OK);
    assert_int_equal(n, 1);
    /* Other keys and other window sizes count apart. */
    assert_int_equal(store_ratelimit_count(f->s, "code:ip:192.0.2.2", 60, 119, &n), WP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_ratelimit_add(f->s, "code:ip:192.0.2.1", 3600, 119, &n), WP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_ratelimit_count(f->s, "code:ip:192.0.2.1", 60, 110, &n), WP_OK);
    assert_int_equal(n, 3);
    assert_int_equal(store_ratelimit_add(f->s, "k", 0, 1, &n), WP_ERR_INVALID);
}

/* ---- purge */

static void test_purge(void **state)
{
    fx_t *f = *state;
    store_flow_t fl_old = {"flow-old", "b", "{}", NULL, NULL, NULL, 0, 1, 100};
    store_flow_t fl_new = {"flow-new", "b", "{}", NULL, NULL, NULL, 0, 1, 1000};
    store_code_t code_old = {"code-old", "enrol", "1", "low", "diploma", 100, NULL};
    store_code_t code_new = {"code-new", "enrol", "1", "low", "diploma", 1000, NULL};
    store_session_t s_old = {"s-old", "sid-o", "a", "low", 1, 100};
    store_session_t s_new = {"s-new", "sid-n", "a", "low", 1, 1000};
    store_authcode_t ac_old = {"ac-old", "c",  "r",  NULL, NULL, "a",
                               "openid", NULL, NULL, NULL, 1,    100};
    store_flow_t fo;
    store_session_t so;
    store_code_t co;
    store_authcode_t ao;
    char *ch = NULL;
    int n = -1;
    memset(&fo, 0, sizeof fo);
    memset(&so, 0, sizeof so);
    memset(&co, 0, sizeof co);
    memset(&ao, 0, sizeof ao);

    assert_int_equal(store_flow_create(f->s, &fl_old), WP_OK);
    assert_int_equal(store_flow_create(f->s, &fl_new), WP_OK);
    assert_int_equal(store_code_add(f->s, &code_old), WP_OK);
    assert_int_equal(store_code_add(f->s, &code_new), WP_OK);
    assert_int_equal(store_session_create(f->s, &s_old), WP_OK);
    assert_int_equal(store_session_create(f->s, &s_new), WP_OK);
    assert_int_equal(store_authcode_add(f->s, &ac_old), WP_OK);
    assert_int_equal(store_challenge_put(f->s, "flow-old", "login", "c1", 100), WP_OK);
    assert_int_equal(store_challenge_put(f->s, "flow-new", "login", "c2", 1000), WP_OK);
    assert_int_equal(store_ratelimit_add(f->s, "k", 60, 30, &n), WP_OK);  /* window 0..60 */
    assert_int_equal(store_ratelimit_add(f->s, "k", 60, 200, &n), WP_OK); /* window 180..240 */

    assert_int_equal(store_purge_expired(f->s, 200), WP_OK);

    assert_int_equal(store_flow_get(f->s, "flow-old", 50, &fo), WP_ERR_NOTFOUND);
    assert_int_equal(store_flow_get(f->s, "flow-new", 200, &fo), WP_OK);
    store_flow_clear(&fo);
    assert_int_equal(store_code_redeem(f->s, "code-old", "enrol", 50, &co), WP_ERR_NOTFOUND);
    assert_int_equal(store_code_redeem(f->s, "code-new", "enrol", 200, &co), WP_OK);
    store_code_clear(&co);
    assert_int_equal(store_session_get(f->s, "s-old", 50, &so), WP_ERR_NOTFOUND);
    assert_int_equal(store_session_get(f->s, "s-new", 200, &so), WP_OK);
    store_session_clear(&so);
    assert_int_equal(store_authcode_take(f->s, "ac-old", 50, &ao), WP_ERR_NOTFOUND);
    assert_int_equal(store_challenge_take(f->s, "flow-old", "login", 50, &ch), WP_ERR_NOTFOUND);
    assert_int_equal(store_challenge_take(f->s, "flow-new", "login", 200, &ch), WP_OK);
    free(ch);
    assert_int_equal(store_ratelimit_count(f->s, "k", 60, 30, &n), WP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_ratelimit_count(f->s, "k", 60, 200, &n), WP_OK);
    assert_int_equal(n, 1);
}

/* ---- personal data at rest */

/* Diploma match, withdrawal, the console's search, recovery cases, and the refusal of
 * every personal-data call before the keys are set. */
static void test_register_lookups(void **state)
{
    fx_t *f = *state;
    size_t count = 0;
    store_person_t p;
    json_t *found = NULL;
    char err[256];
    memset(&p, 0, sizeof p);

    iter_t a = {register_a, 3, 0, NEVER};
    assert_int_equal(store_register_import(f->s, iter_next, &a, &count), WP_OK);

    /* Match: person number, birth date and the diploma's month, each must agree. */
    static const struct {
        const char *pn, *birth, *month;
        wp_err_t want;
        const char *programme;
    } match[] = {
        {"111222333", "1990-01-02", "2015-07", WP_OK, "MSc Physics"},
        {"111222333", "1990-01-02", "2012-07", WP_OK, "BSc Physics"},
        {"111222333", "1990-01-03", "2015-07", WP_ERR_NOTFOUND, NULL},
        {"111222333", "1990-01-02", "2015-08", WP_ERR_NOTFOUND, NULL},
        {"111222334", "1990-01-02", "2015-07", WP_ERR_NOTFOUND, NULL},
        {"222333444", "1985-05-06", "2010-08", WP_OK, "MSc Economics"},
    };
    for (size_t i = 0; i < sizeof match / sizeof match[0]; i++) {
        assert_int_equal(
            store_register_match(f->s, match[i].pn, match[i].birth, match[i].month, &p),
            match[i].want);
        if (match[i].programme) {
            assert_string_equal(p.programme, match[i].programme);
            assert_string_equal(p.person_number, match[i].pn);
            assert_string_equal(p.contact_email,
                                match[i].pn[0] == '1' ? "eva@example.org" : "li@example.org");
        }
        store_person_clear(&p);
    }

    /* Search by person number, or by family name (any case) and birth date. */
    static const struct {
        const char *pn, *family, *birth;
        size_t n;
        const char *first;
    } search[] = {
        {"111222333", NULL, NULL, 1, "111222333"},
        {NULL, "Jansen", "1990-01-02", 1, "111222333"},
        {NULL, "JANSEN", "1990-01-02", 1, "111222333"},
        {NULL, "jansen", "1990-01-02", 1, "111222333"},
        {NULL, "Jansen", "1990-01-03", 0, NULL},
        {NULL, "Janse", "1990-01-02", 0, NULL},
        {"999999999", NULL, NULL, 0, NULL},
    };
    for (size_t i = 0; i < sizeof search / sizeof search[0]; i++) {
        found = NULL;
        assert_int_equal(
            store_person_search(f->s, search[i].pn, search[i].family, search[i].birth, &found),
            WP_OK);
        assert_int_equal(json_array_size(found), search[i].n);
        if (search[i].first) {
            json_t *o = json_array_get(found, 0);
            assert_string_equal(json_string_value(json_object_get(o, "person_number")),
                                search[i].first);
            assert_string_equal(json_string_value(json_object_get(o, "given_names")), "Eva");
            assert_string_equal(json_string_value(json_object_get(o, "contact_email")),
                                "eva@example.org");
        }
        json_decref(found);
    }

    /* Accented capitals fold too; results come ordered by family name. */
    static const char *const accented[][9] = {
        {"777888999", "\xc3\x96zt\xc3\xbcrk", "Can", "1991-02-03", "TU/e", "BSc", "2014-06-30",
         "can@example.org", NULL},
        {"888999000", "\xc3\xb6zt\xc3\xbcrk", "Ela", "1991-02-03", "TU/e", "MSc", "2016-06-30",
         "ela@example.org", NULL},
    };
    iter_t acc = {accented, 2, 0, NEVER};
    assert_int_equal(store_register_import(f->s, iter_next, &acc, &count), WP_OK);
    assert_int_equal(store_person_search(f->s, NULL, "\xc3\xb6ZT\xc3\x9cRK", "1991-02-03", &found),
                     WP_OK);
    assert_int_equal(json_array_size(found), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(found, 0), "person_number")), "777888999");
    json_decref(found);

    /* register_a vanished from that import: withdrawn, no match, still found by staff. */
    size_t withdrawn = 0;
    assert_int_equal(store_register_withdrawn_count(f->s, &withdrawn), WP_OK);
    assert_int_equal(withdrawn, 3);
    assert_int_equal(store_register_match(f->s, "111222333", "1990-01-02", "2015-07", &p),
                     WP_ERR_NOTFOUND);
    assert_int_equal(store_person_get(f->s, "111222333", &p), WP_ERR_NOTFOUND);
    assert_int_equal(store_person_search(f->s, "111222333", NULL, NULL, &found), WP_OK);
    assert_int_equal(json_array_size(found), 1);
    json_decref(found);
    /* Back in the next import: un-withdrawn in place. */
    a.i = 0;
    assert_int_equal(store_register_import(f->s, iter_next, &a, &count), WP_OK);
    assert_int_equal(store_register_withdrawn_count(f->s, &withdrawn), WP_OK);
    assert_int_equal(withdrawn, 2);
    assert_int_equal(store_register_match(f->s, "111222333", "1990-01-02", "2015-07", &p), WP_OK);
    store_person_clear(&p);

    /* Recovery cases by person number. */
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:b, s:I}", "id", "case-1", "person_number",
                          "111222333", "opened_by", "staff-a", "reason", "lost phone", "evidence",
                          "verified_call", 1, "created_at", (json_int_t)100);
    assert_int_equal(store_case_open(f->s, c), WP_OK);
    json_decref(c);
    c = NULL;
    assert_int_equal(store_case_get(f->s, "case-1", &c), WP_OK);
    assert_string_equal(json_string_value(json_object_get(c, "person_number")), "111222333");
    assert_null(json_object_get(c, "pn_sealed_hex"));
    json_decref(c);
    assert_int_equal(store_case_list(f->s, "111222333", NULL, &found), WP_OK);
    assert_int_equal(json_array_size(found), 1);
    json_decref(found);
    assert_int_equal(store_case_list(f->s, "222333444", NULL, &found), WP_OK);
    assert_int_equal(json_array_size(found), 0);
    json_decref(found);
    assert_int_equal(store_case_approve(f->s, "case-1", "staff-b", "code-h", 1000, 0, 200), WP_OK);
    assert_int_equal(store_case_redeem(f->s, "111222333", "code-h", 300, 5, &c), WP_OK);
    assert_string_equal(json_string_value(json_object_get(c, "person_number")), "111222333");
    assert_string_equal(json_string_value(json_object_get(c, "status")), "redeemed");
    json_decref(c);

    /* A second connection without keys refuses personal data. */
    store_t *s2 = NULL;
    store_account_t acc_out;
    store_code_t code = {"hash-k", "enrol", "111222333", "low", "diploma", 1000, NULL};
    memset(&acc_out, 0, sizeof acc_out);
    assert_int_equal(store_open(f->url, 0, &s2, err, sizeof err), WP_OK);
    assert_int_equal(store_person_get(s2, "111222333", &p), WP_ERR);
    assert_int_equal(store_register_match(s2, "111222333", "1990-01-02", "2015-07", &p), WP_ERR);
    assert_int_equal(store_person_search(s2, "111222333", NULL, NULL, &found), WP_ERR);
    assert_int_equal(store_account_by_person(s2, "111222333", &acc_out), WP_ERR);
    assert_int_equal(store_code_add(s2, &code), WP_ERR);
    assert_int_equal(store_case_list(s2, NULL, NULL, &found), WP_ERR);
    assert_int_equal(store_register_import(s2, iter_next, &a, &count), WP_ERR);
    /* ... and with other keys nothing unseals or matches. */
    static const uint8_t other[32] = {0x99};
    store_set_keys(s2, other, other);
    assert_int_equal(store_person_get(s2, "111222333", &p), WP_ERR_NOTFOUND);
    store_set_keys(s2, lookup_key, other);
    assert_int_equal(store_person_get(s2, "111222333", &p), WP_ERR);
    store_close(s2);
}

/* Returns 1 when needle occurs in the file at path (0 when it does not or no file). */
static int file_holds(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t cap = 1 << 16, n = 0, len = strlen(needle);
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t got; (got = fread(buf + n, 1, cap - n, fp)) > 0;) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2);
            assert_non_null(bigger);
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(fp);
    int found = 0;
    for (size_t i = 0; !found && len <= n && i <= n - len; i++)
        found = memcmp(buf + i, needle, len) == 0;
    free(buf);
    return found;
}

static const char *const register_scan[][9] = {
    {"246813579", "Zwartkruis-Oldenbarnevelt", "Gerdientje Maria", "1987-11-23",
     "Hogeschool Utrecht", "BSc Verpleegkunde", "2011-06-17", "gerdientje.zwartkruis@example.net",
     "nl"},
    {"135792468", "Vanderheijden", "Wilhelmus", "1979-04-30", "Universiteit Leiden",
     "MA Rechtsgeleerdheid", "2003-08-29", "w.vanderheijden@example.net", "en"},
};

/* Text that must not appear anywhere in the database files. */
static const char *const scan_secrets[] = {
    "246813579",
    "135792468",
    "Zwartkruis",
    "Oldenbarnevelt",
    "Gerdientje",
    "Vanderheijden",
    "Wilhelmus",
    "1987-11-23",
    "1979-04-30",
    "gerdientje.zwartkruis@example.net",
    "w.vanderheijden@example.net",
    "Verpleegkunde",
    "Rechtsgeleerdheid",
};

static void expect_no_secrets(const fx_t *f, const char *when)
{
    char wal[PATH_MAX];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    for (size_t i = 0; i < sizeof scan_secrets / sizeof scan_secrets[0]; i++) {
        if (file_holds(f->path, scan_secrets[i]) || file_holds(wal, scan_secrets[i]))
            fail_msg("%s: \"%s\" is in the database file", when, scan_secrets[i]);
    }
}

/* After an import, an enrolment (code, flow, account) and a recovery case, no person
 * number, name, birth date or address of the synthetic data is in the database file or its
 * write-ahead log, while the store still answers with all of them. */
static void test_nothing_in_the_clear(void **state)
{
    fx_t *f = *state;
    size_t count = 0;
    char *id = NULL, err[256];
    uint8_t pk[] = {0xa5, 0x01, 0x02, 0x03, 0x26};
    store_credential_t cred = make_cred("cred-scan", pk, sizeof pk);
    store_person_t p;
    store_code_t code = {"hash-scan", "enrol", "246813579", "low", "diploma", 5000, NULL}, out;
    store_flow_t fl = {"flow-scan", "browser-scan", "{}", NULL, NULL, NULL, 0, 100, 5000}, fo;
    memset(&p, 0, sizeof p);
    memset(&out, 0, sizeof out);
    memset(&fo, 0, sizeof fo);

    iter_t it = {register_scan, 2, 0, NEVER};
    assert_int_equal(store_register_import(f->s, iter_next, &it, &count), WP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(store_register_match(f->s, "246813579", "1987-11-23", "2011-06", &p), WP_OK);
    assert_string_equal(p.family_name, "Zwartkruis-Oldenbarnevelt");
    store_person_clear(&p);
    assert_int_equal(store_code_add(f->s, &code), WP_OK);
    assert_int_equal(store_flow_create(f->s, &fl), WP_OK);
    assert_int_equal(store_code_redeem(f->s, "hash-scan", "enrol", 200, &out), WP_OK);
    assert_string_equal(out.person_number, "246813579");
    assert_int_equal(store_flow_set_proofed(f->s, "flow-scan", out.person_number, "low", "diploma"),
                     WP_OK);
    store_code_clear(&out);
    assert_int_equal(store_flow_get(f->s, "flow-scan", 200, &fo), WP_OK);
    assert_string_equal(fo.person_number, "246813579");
    assert_int_equal(
        store_account_bind_credential(f->s, fo.person_number, "low", "diploma", 300, &cred, &id),
        WP_OK);
    store_flow_clear(&fo);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:b, s:I}", "id", "case-scan",
                          "person_number", "135792468", "opened_by", "staff-a", "reason", "lost",
                          "evidence", "verified_call", 0, "created_at", (json_int_t)100);
    assert_int_equal(store_case_open(f->s, c), WP_OK);
    json_decref(c);

    /* The store still answers in the clear. */
    store_account_t a;
    memset(&a, 0, sizeof a);
    assert_int_equal(store_account_get(f->s, id, &a), WP_OK);
    assert_string_equal(a.person_number, "246813579");
    store_account_clear(&a);
    assert_int_equal(store_account_by_person(f->s, "246813579", &a), WP_OK);
    assert_string_equal(a.id, id);
    store_account_clear(&a);
    free(id);

    /* The needle search itself works: text stored in the clear is found. */
    char wal[PATH_MAX];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_true(file_holds(f->path, "browser-scan") || file_holds(wal, "browser-scan"));

    expect_no_secrets(f, "open store");
    /* Closing checkpoints the log into the database file. */
    store_close(f->s);
    f->s = NULL;
    expect_no_secrets(f, "closed store");
    assert_int_equal(store_open(f->url, 0, &f->s, err, sizeof err), WP_OK);
    store_set_keys(f->s, lookup_key, seal_key);
    assert_int_equal(store_person_get(f->s, "135792468", &p), WP_OK);
    assert_string_equal(p.contact_email, "w.vanderheijden@example.net");
    store_person_clear(&p);
}

/* A database from before personal data at rest that holds register rows is refused,
 * with a message, and left as it was. */
static void test_clear_data_refused(void **state)
{
    fx_t *f = *state;
    size_t count = 0;
    char err[256];
    iter_t a = {register_a, 3, 0, NEVER};
    assert_int_equal(store_register_import(f->s, iter_next, &a, &count), WP_OK);
    int version = store_schema_version(f->s);
    store_close(f->s);
    f->s = NULL;
    set_version(f->path, 4); /* the version before personal data at rest */
    assert_int_equal(store_open(f->url, 1, &f->s, err, sizeof err), WP_ERR);
    assert_null(f->s);
    assert_non_null(strstr(err, "re-import the register"));
    set_version(f->path, version);
    assert_int_equal(store_open(f->url, 0, &f->s, err, sizeof err), WP_OK);
    store_set_keys(f->s, lookup_key, seal_key);
    expect_register_a(f->s);
}

/* ---- concurrency: of N simultaneous takers exactly one wins */

typedef struct {
    store_t *shared; /* all threads on one store, or ... */
    const char *url; /* ... each thread opens its own connection */
    pthread_barrier_t *barrier;
    int kind; /* 0 code, 1 authcode */
    const char *value;
    wp_err_t result;
} racer_t;

static void *racer(void *arg)
{
    racer_t *r = arg;
    store_t *s = r->shared;
    char err[256];
    if (!s && store_open(r->url, 0, &s, err, sizeof err) != WP_OK) {
        r->result = WP_ERR;
        pthread_barrier_wait(r->barrier);
        return NULL;
    }
    if (!r->shared)
        store_set_keys(s, lookup_key, seal_key);
    pthread_barrier_wait(r->barrier);
    if (r->kind == 0) {
        store_code_t out;
        memset(&out, 0, sizeof out);
        r->result = store_code_redeem(s, r->value, "enrol", 100, &out);
        store_code_clear(&out);
    } else {
        store_authcode_t out;
        memset(&out, 0, sizeof out);
        r->result = store_authcode_take(s, r->value, 100, &out);
        store_authcode_clear(&out);
    }
    if (!r->shared)
        store_close(s);
    return NULL;
}

static void test_concurrent_single_use(void **state)
{
    fx_t *f = *state;
    char value[32];
    int round = 0;

    for (int own = 0; own <= 1; own++) {
        for (int kind = 0; kind <= 1; kind++) {
            for (int rep = 0; rep < 3; rep++, round++) {
                snprintf(value, sizeof value, "race-%d", round);
                if (kind == 0) {
                    store_code_t c = {value, "enrol", "111222333", "low", "diploma", 1000, NULL};
                    assert_int_equal(store_code_add(f->s, &c), WP_OK);
                } else {
                    store_authcode_t c = {value,    "c",  "r",  NULL, NULL, "a",
                                          "openid", NULL, NULL, NULL, 1,    1000};
                    assert_int_equal(store_authcode_add(f->s, &c), WP_OK);
                }
                pthread_barrier_t barrier;
                pthread_t t[NTHREADS];
                racer_t r[NTHREADS];
                pthread_barrier_init(&barrier, NULL, NTHREADS);
                for (int i = 0; i < NTHREADS; i++) {
                    r[i] = (racer_t){own ? NULL : f->s, f->url, &barrier, kind, value, WP_ERR};
                    assert_int_equal(pthread_create(&t[i], NULL, racer, &r[i]), 0);
                }
                int ok = 0, used = 0;
                for (int i = 0; i < NTHREADS; i++) {
                    pthread_join(t[i], NULL);
                    ok += r[i].result == WP_OK;
                    used += r[i].result == WP_ERR_USED;
                }
                pthread_barrier_destroy(&barrier);
                assert_int_equal(ok, 1);
                assert_int_equal(used, NTHREADS - 1);
            }
        }
    }
}

/* ---- what staff and people type, at rest (schema version 7) */

/* Synthetic typed text: a staff name, a case's reason and evidence, passkey names. */
#define TYPED_STAFF "Griselda Oosterwijk-Teststaf"
#define TYPED_REASON "Phone stolen at Keflavik airport, caller knew diploma year"
#define TYPED_LAST4 "QZ7X"
#define TYPED_EVIDENCE "{\"country\":\"IS\",\"document_last4\":\"" TYPED_LAST4 "\"}"
#define TYPED_PASSKEY "Huisgenoot Brammetjes telefoon"
#define TYPED_RENAMED "Tablet van tante Wilhelmientje"

static const char *const typed_texts[] = {TYPED_STAFF, TYPED_REASON, TYPED_LAST4, TYPED_PASSKEY,
                                          TYPED_RENAMED};

/* Fails when any of the typed texts is in the database file or its write-ahead log. */
static void expect_no_typed_text(const fx_t *f, const char *when)
{
    char wal[PATH_MAX];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    for (size_t i = 0; i < sizeof typed_texts / sizeof typed_texts[0]; i++) {
        if (file_holds(f->path, typed_texts[i]) || file_holds(wal, typed_texts[i]))
            fail_msg("%s: \"%s\" is in the database file", when, typed_texts[i]);
    }
}

/* Writes a staff member, a recovery case and a named passkey. */
static void write_typed(store_t *s, const char *passkey_name)
{
    uint8_t pk[] = {0xa5, 0x01, 0x02, 0x03, 0x26};
    store_credential_t cred = make_cred("cred-typed", pk, sizeof pk);
    char *id = NULL;
    cred.name = (char *)passkey_name;
    json_t *staff = json_pack("{s:s, s:s, s:s, s:I}", "id", "staff-typed", "name", TYPED_STAFF,
                              "role", "support", "created_at", (json_int_t)100);
    assert_int_equal(store_staff_add(s, staff), WP_OK);
    json_decref(staff);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:b, s:I}", "id", "case-typed",
                          "person_number", "975318642", "opened_by", "staff-typed", "reason",
                          TYPED_REASON, "evidence", "country", "IS", "document_last4", TYPED_LAST4,
                          "verified_call", 1, "created_at", (json_int_t)100);
    assert_int_equal(store_case_open(s, c), WP_OK);
    json_decref(c);
    assert_int_equal(
        store_account_bind_credential(s, "975318642", "low", "assisted", 100, &cred, &id), WP_OK);
    free(id);
}

/* Reads back what write_typed wrote, in the clear, the passkey named passkey_name. */
static void expect_typed(store_t *s, const char *passkey_name)
{
    json_t *o = NULL;
    assert_int_equal(store_staff_get(s, "staff-typed", &o), WP_OK);
    assert_string_equal(json_string_value(json_object_get(o, "name")), TYPED_STAFF);
    assert_string_equal(json_string_value(json_object_get(o, "role")), "support");
    assert_null(json_object_get(o, "name_sealed_hex"));
    json_decref(o);
    assert_int_equal(store_case_get(s, "case-typed", &o), WP_OK);
    assert_string_equal(json_string_value(json_object_get(o, "reason")), TYPED_REASON);
    assert_string_equal(json_string_value(json_object_get(o, "person_number")), "975318642");
    json_t *ev = json_object_get(o, "evidence");
    assert_true(json_is_object(ev));
    assert_string_equal(json_string_value(json_object_get(ev, "document_last4")), TYPED_LAST4);
    assert_string_equal(json_string_value(json_object_get(ev, "country")), "IS");
    json_decref(o);
    assert_int_equal(store_case_list(s, "975318642", "open", &o), WP_OK);
    assert_int_equal(json_array_size(o), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "reason")),
                        TYPED_REASON);
    json_decref(o);
    store_credential_t c;
    memset(&c, 0, sizeof c);
    assert_int_equal(store_credential_get(s, "cred-typed", &c), WP_OK);
    assert_string_equal(c.name, passkey_name);
    store_credential_clear(&c);
}

/* After a staff member, a recovery case and a named (then renamed) passkey are written,
 * none of their typed text is in the database file or its log, while the store gives all
 * of it back; an unnamed passkey stays unnamed. */
static void test_typed_text_sealed(void **state)
{
    fx_t *f = *state;
    char err[256];
    write_typed(f->s, TYPED_PASSKEY);
    expect_typed(f->s, TYPED_PASSKEY);
    store_account_t a;
    memset(&a, 0, sizeof a);
    assert_int_equal(store_account_by_person(f->s, "975318642", &a), WP_OK);
    assert_int_equal(store_credential_rename(f->s, a.id, "cred-typed", TYPED_RENAMED), WP_OK);
    assert_int_equal(store_credential_rename(f->s, a.id, "cred-none", TYPED_RENAMED),
                     WP_ERR_NOTFOUND);
    expect_typed(f->s, TYPED_RENAMED);
    uint8_t pk[] = {0xa5, 0x01, 0x02, 0x03, 0x26};
    store_credential_t unnamed = make_cred("cred-unnamed", pk, sizeof pk), c;
    char *id = NULL;
    unnamed.name = NULL;
    memset(&c, 0, sizeof c);
    assert_int_equal(
        store_account_bind_credential(f->s, "975318642", "low", "assisted", 200, &unnamed, &id),
        WP_OK);
    assert_string_equal(id, a.id);
    free(id);
    assert_int_equal(store_credential_get(f->s, "cred-unnamed", &c), WP_OK);
    assert_null(c.name);
    store_credential_clear(&c);
    store_account_clear(&a);

    /* A missing name or reason is refused as before. */
    json_t *bad = json_pack("{s:s, s:s, s:I}", "id", "staff-x", "role", "support", "created_at",
                            (json_int_t)1);
    assert_int_equal(store_staff_add(f->s, bad), WP_ERR_INVALID);
    json_decref(bad);
    bad = json_pack("{s:s, s:s, s:s, s:{}, s:b, s:I}", "id", "case-x", "person_number", "1",
                    "opened_by", "staff-typed", "evidence", "verified_call", 0, "created_at",
                    (json_int_t)1);
    assert_int_equal(store_case_open(f->s, bad), WP_ERR_INVALID);
    json_decref(bad);

    expect_no_typed_text(f, "open store");
    store_close(f->s);
    f->s = NULL;
    expect_no_typed_text(f, "closed store");
    assert_int_equal(store_open(f->url, 0, &f->s, err, sizeof err), WP_OK);
    /* Without the keys nothing typed is given out. */
    json_t *o = NULL;
    assert_int_equal(store_staff_get(f->s, "staff-typed", &o), WP_ERR);
    assert_int_equal(store_case_get(f->s, "case-typed", &o), WP_ERR);
    store_set_keys(f->s, lookup_key, seal_key);
    expect_typed(f->s, TYPED_RENAMED);
}

/* Number of rows in seal_pending, read outside the store. */
static int pending_rows(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM seal_pending", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Migration 7 on a database of version 6 whose staff name, case reason and evidence and
 * passkey name are in the clear: opening converts them. Until the store gets its keys they
 * wait in seal_pending; a conversion that fails changes nothing; the one that succeeds
 * leaves no typed text in the file or its log, and the store reads all of it back. */
static void test_migration_7(void **state)
{
    fx_t *f = *state;
    char err[256];
    int version = store_schema_version(f->s);
    assert_int_equal(version, 7);
    write_typed(f->s, "placeholder");
    store_close(f->s);
    f->s = NULL;

    /* Back to version 6 as an older wereldpas left it: the same rows, their text in clear. */
    raw_sql(f->path, "DROP TABLE seal_pending;"
                     "ALTER TABLE staff DROP COLUMN name_sealed;"
                     "ALTER TABLE staff ADD COLUMN name TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE recovery_cases DROP COLUMN reason_sealed;"
                     "ALTER TABLE recovery_cases DROP COLUMN evidence_sealed;"
                     "ALTER TABLE recovery_cases ADD COLUMN reason TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE recovery_cases ADD COLUMN evidence TEXT NOT NULL DEFAULT '';"
                     "ALTER TABLE credentials DROP COLUMN name_sealed;"
                     "ALTER TABLE credentials ADD COLUMN name TEXT;"
                     "UPDATE staff SET name = '" TYPED_STAFF "';"
                     "UPDATE recovery_cases SET reason = '" TYPED_REASON "',"
                     " evidence = '" TYPED_EVIDENCE "';"
                     "UPDATE credentials SET name = '" TYPED_PASSKEY "';"
                     "UPDATE schema_version SET version = 6;");
    /* The needle search works: the clear text is there now. */
    assert_true(file_holds(f->path, TYPED_REASON));
    assert_true(file_holds(f->path, TYPED_STAFF));

    /* Migrated without keys (a crash before store_set_keys): the text waits. */
    assert_int_equal(store_open(f->url, 1, &f->s, err, sizeof err), WP_OK);
    assert_int_equal(store_schema_version(f->s), 7);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(pending_rows(f->path), 4);

    /* A pending row of an unknown kind fails the conversion: nothing is sealed. */
    raw_sql(f->path, "INSERT INTO seal_pending VALUES ('nowhere.col', 'x', 'y');");
    assert_int_equal(store_open(f->url, 1, &f->s, err, sizeof err), WP_OK);
    store_set_keys(f->s, lookup_key, seal_key);
    json_t *o = NULL;
    assert_int_equal(store_staff_get(f->s, "staff-typed", &o), WP_ERR);
    assert_int_equal(store_case_get(f->s, "case-typed", &o), WP_ERR);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(pending_rows(f->path), 5);

    /* Without it the next open seals everything. */
    raw_sql(f->path, "DELETE FROM seal_pending WHERE what = 'nowhere.col';");
    assert_int_equal(store_open(f->url, 1, &f->s, err, sizeof err), WP_OK);
    store_set_keys(f->s, lookup_key, seal_key);
    expect_typed(f->s, TYPED_PASSKEY);
    expect_no_typed_text(f, "converted, open store");
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(pending_rows(f->path), 0);
    expect_no_typed_text(f, "converted, closed store");
    assert_int_equal(store_open(f->url, 0, &f->s, err, sizeof err), WP_OK);
    store_set_keys(f->s, lookup_key, seal_key);
    expect_typed(f->s, TYPED_PASSKEY);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_and_versions),
        T(test_migration_6),
        cmocka_unit_test(test_open_urls),
        T(test_clients),
        T(test_keys),
        T(test_register_import),
        T(test_account_bind),
        T(test_credential_touch),
        T(test_codes),
        T(test_codes_in_flow),
        T(test_code_replace),
        T(test_challenges),
        T(test_flows),
        T(test_sessions),
        T(test_authcodes),
        T(test_ratelimits),
        T(test_purge),
        T(test_concurrent_single_use),
        T(test_register_lookups),
        T(test_nothing_in_the_clear),
        T(test_clear_data_refused),
        T(test_typed_text_sealed),
        T(test_migration_7),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
