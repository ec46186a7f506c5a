/* Unit tests for idp/register_csv.c: a table of CSV files, good and bad, with synthetic
 * person numbers made here with the 11-test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "idp/register_csv.h"

#define HEADER                                                                                     \
    "person_number,family_name,given_names,birthdate,institution,programme,diploma_date,"          \
    "contact_email,preferred_language"
#define HEADER8                                                                                    \
    "person_number,family_name,given_names,birthdate,institution,programme,diploma_date,"          \
    "contact_email"

/* Writes the n-th synthetic person number passing the BSN 11-test into out[10]. */
static void make_person_number(unsigned n, char out[10])
{
    for (unsigned seed = n * 7919u + 10000000u;; seed++) {
        int sum = 0;
        snprintf(out, 10, "%08u", seed % 100000000u);
        for (int i = 0; i < 8; i++)
            sum += (9 - i) * (out[i] - '0');
        if (sum % 11 == 10)
            continue;
        out[8] = (char)('0' + sum % 11);
        out[9] = '\0';
        if (sum != 0)
            return;
    }
}

/* A person number that fails the 11-test: the valid one with its last digit changed. */
static void make_bad_person_number(unsigned n, char out[10])
{
    make_person_number(n, out);
    out[8] = out[8] == '9' ? '0' : (char)(out[8] + 1);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/wp_test_csv_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Reads the whole file. Returns the row count, or -1 with the error in err. */
static int read_all(const char *path, char *err, size_t err_size, store_person_t *first)
{
    register_csv_t *r;
    store_person_t row = {0};
    int n = 0, rc;
    assert_int_equal(register_csv_open(path, &r, err, err_size), WP_OK);
    while ((rc = register_csv_next(r, &row)) > 0) {
        if (n == 0 && first)
            *first = row;
        else
            store_person_clear(&row);
        memset(&row, 0, sizeof row);
        n++;
    }
    snprintf(err, err_size, "%s", register_csv_error(r));
    if (rc < 0) {
        /* Once failed, always failed. */
        assert_int_equal(register_csv_next(r, &row), -1);
        n = -1;
    }
    register_csv_close(r);
    return n;
}

/* Copies tmpl into out with @P1@, @P2@ and @BD@ replaced by p1, p2 and bad. */
static void expand(char *out, size_t size, const char *tmpl, const char *p1, const char *p2,
                   const char *bad)
{
    size_t n = 0;
    while (*tmpl) {
        const char *sub = NULL;
        if (strncmp(tmpl, "@P1@", 4) == 0)
            sub = p1;
        else if (strncmp(tmpl, "@P2@", 4) == 0)
            sub = p2;
        else if (strncmp(tmpl, "@BD@", 4) == 0)
            sub = bad;
        if (sub) {
            assert_true(n + strlen(sub) < size);
            memcpy(out + n, sub, strlen(sub));
            n += strlen(sub);
            tmpl += 4;
        } else {
            assert_true(n + 1 < size);
            out[n++] = *tmpl++;
        }
    }
    out[n] = '\0';
}

typedef struct {
    const char *name;
    const char *body;  /* after the header; @P1@ and @P2@ are valid person numbers, @BD@ not */
    const char *error; /* expected ":LINE: reason" substring; NULL when good */
    int rows;
} csv_row_t;

static const csv_row_t table[] = {
    {"two rows",
     "@P1@,Jansen,Piet,1990-02-28,Universiteit Leiden,Rechten,2014-07-01,p@example.org,nl\n"
     "@P2@,Dubois,Marie,1988-12-01,TU Delft,Lucht- en ruimtevaart,2012-06-30,m@example.org,\n",
     NULL, 2},
    {"quoted fields",
     "@P1@,\"de Vries, van\",\"Anna \"\"Annie\"\"\",2000-02-29,\"HAN\",\"a, b "
     "c\",2020-01-01,a@example.org,en\n",
     NULL, 1},
    {"CRLF",
     "@P1@,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en\r\n"
     "@P2@,C,D,1990-01-01,I,P,2010-01-01,y@example.org,pt-BR\r\n",
     NULL, 2},
    {"no final newline, blank lines",
     "\n@P1@,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n\n"
     "@P2@,C,D,1990-01-01,I,P,2010-01-01,y@example.org,en",
     NULL, 2},
    {"UTF-8 names",
     "@P1@,Öztürk,Zoë,1990-01-01,Universiteit,Économie,2010-01-01,z@example.org,tr\n", NULL, 1},
    {"bad 11-test",
     "@P1@,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n"
     "@BD@,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n",
     ":3: person_number must be 9 digits passing the 11-test", 0},
    {"8 digits", "12345678,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n", ":2: person_number",
     0},
    {"all zeros", "000000000,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n", ":2: person_number",
     0},
    {"bad date", "@P1@,A,B,1990-02-30,I,P,2010-01-01,x@example.org,en\n", ":2: birthdate", 0},
    {"not leap", "@P1@,A,B,1990-01-01,I,P,2100-02-29,x@example.org,en\n", ":2: diploma_date", 0},
    {"date format", "@P1@,A,B,01-01-1990,I,P,2010-01-01,x@example.org,en\n", ":2: birthdate", 0},
    {"missing column", "@P1@,A,B,1990-01-01,I,P,2010-01-01,x@example.org\n",
     ":2: expected 9 fields, found 8", 0},
    {"extra column", "@P1@,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en,extra\n",
     ":2: more than 9 fields", 0},
    {"empty name", "@P1@,,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n", ":2: family_name", 0},
    {"bad email", "@P1@,A,B,1990-01-01,I,P,2010-01-01,x@@example.org,en\n", ":2: contact_email", 0},
    {"email with space", "@P1@,A,B,1990-01-01,I,P,2010-01-01,x y@example.org,en\n",
     ":2: contact_email", 0},
    {"bad language", "@P1@,A,B,1990-01-01,I,P,2010-01-01,x@example.org,english!\n",
     ":2: preferred_language", 0},
    {"bad UTF-8", "@P1@,A\xff,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n", ":2: family_name",
     0},
    {"quote in unquoted field", "@P1@,A\"B,C,1990-01-01,I,P,2010-01-01,x@example.org,en\n",
     ":2: quote inside an unquoted field", 0},
    {"text after quote", "@P1@,\"A\"B,C,1990-01-01,I,P,2010-01-01,x@example.org,en\n",
     ":2: text after a closing quote", 0},
    {"unterminated quote", "@P1@,\"A,C,1990-01-01,I,P,2010-01-01,x@example.org,en\n",
     ":2: quoted field not closed", 0},
    {"lone CR", "@P1@,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en\rX\n", ":2: carriage return",
     0},
    {"newline in a quoted name, error names the record's first line",
     "@P1@,A,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n"
     "@P2@,A,\"B\nC\",1990-01-01,I,P,2010-01-01,x@example.org,en\n",
     ":3: given_names", 0},
};

static void test_table(void **state)
{
    (void)state;
    char pn1[10], pn2[10], bad[10];
    make_person_number(1, pn1);
    make_person_number(2, pn2);
    make_bad_person_number(3, bad);
    assert_true(register_csv_person_number_valid(pn1));
    assert_true(register_csv_person_number_valid(pn2));
    assert_false(register_csv_person_number_valid(bad));
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const csv_row_t *row = &table[i];
        char body[2048], text[4096], err[REGISTER_CSV_MAX_ERROR];
        expand(body, sizeof body, row->body, pn1, pn2, bad);
        snprintf(text, sizeof text, "%s\n%s", HEADER, body);
        char *path = write_temp(text);
        int n = read_all(path, err, sizeof err, NULL);
        if (row->error) {
            if (n != -1 || !strstr(err, row->error) || strncmp(err, path, strlen(path)))
                fail_msg("row '%s': got %d rows, error '%s'; wanted '%s'", row->name, n, err,
                         row->error);
        } else if (n != row->rows) {
            fail_msg("row '%s': got %d rows (error '%s'), wanted %d", row->name, n, err, row->rows);
        }
        unlink(path);
        free(path);
    }
}

static void test_fields(void **state)
{
    char pn[10], text[1024], err[REGISTER_CSV_MAX_ERROR];
    store_person_t p = {0};
    (void)state;
    make_person_number(7, pn);
    snprintf(text, sizeof text,
             "\xef\xbb\xbf" HEADER "\r\n%s,\"de Vries, van\",\"Anna \"\"Annie\"\"\",2000-02-29,"
             "HAN,ICT,2020-01-01,a@example.org,\r\n",
             pn);
    char *path = write_temp(text);
    assert_int_equal(read_all(path, err, sizeof err, &p), 1);
    assert_string_equal(p.person_number, pn);
    assert_string_equal(p.family_name, "de Vries, van");
    assert_string_equal(p.given_names, "Anna \"Annie\"");
    assert_string_equal(p.birthdate, "2000-02-29");
    assert_string_equal(p.contact_email, "a@example.org");
    assert_null(p.preferred_language);
    store_person_clear(&p);
    unlink(path);
    free(path);

    /* The header without preferred_language. */
    snprintf(text, sizeof text, HEADER8 "\n%s,A,B,1990-01-01,I,P,2010-01-01,x@example.org\n", pn);
    path = write_temp(text);
    assert_int_equal(read_all(path, err, sizeof err, &p), 1);
    assert_string_equal(p.programme, "P");
    assert_null(p.preferred_language);
    store_person_clear(&p);
    unlink(path);
    free(path);
}

static void test_bad_header(void **state)
{
    static const char *const headers[] = {
        "",
        "person_number,family_name\n",
        "person_number,family_name,given_names,birthdate,institution,programme,diploma_date,"
        "email,preferred_language\n",
        "Person_number,family_name,given_names,birthdate,institution,programme,diploma_date,"
        "contact_email,preferred_language\n",
        HEADER ",extra\n",
    };
    char err[REGISTER_CSV_MAX_ERROR];
    (void)state;
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        char *path = write_temp(headers[i]);
        assert_int_equal(read_all(path, err, sizeof err, NULL), -1);
        if (!strstr(err, ":1: "))
            fail_msg("header %zu: error '%s'", i, err);
        unlink(path);
        free(path);
    }
}

static void test_long_line(void **state)
{
    char pn[10], err[REGISTER_CSV_MAX_ERROR];
    size_t size = REGISTER_CSV_MAX_LINE * 2 + 512;
    char *text = malloc(size), *name = malloc(REGISTER_CSV_MAX_LINE * 2);
    (void)state;
    assert_non_null(text);
    assert_non_null(name);
    make_person_number(9, pn);
    /* A quoted field of newlines must hit the cap too, not just plain bytes. */
    memset(name, '\n', REGISTER_CSV_MAX_LINE * 2 - 1);
    name[REGISTER_CSV_MAX_LINE * 2 - 1] = '\0';
    snprintf(text, size, HEADER "\n%s,\"%s\",B,1990-01-01,I,P,2010-01-01,x@example.org,en\n", pn,
             name);
    char *path = write_temp(text);
    assert_int_equal(read_all(path, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, ":2: line longer than 4096 bytes"));
    unlink(path);
    free(path);
    memset(name, 'x', REGISTER_CSV_MAX_LINE * 2 - 1);
    snprintf(text, size, HEADER "\n%s,%s,B,1990-01-01,I,P,2010-01-01,x@example.org,en\n", pn, name);
    path = write_temp(text);
    assert_int_equal(read_all(path, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, ":2: line longer than 4096 bytes"));
    unlink(path);
    free(path);
    free(text);
    free(name);
}

static void test_validators(void **state)
{
    static const struct {
        const char *date;
        int ok;
    } dates[] = {
        {"2000-02-29", 1}, {"1900-02-29", 0}, {"2024-04-31", 0}, {"2024-12-31", 1},
        {"2024-13-01", 0}, {"2024-00-10", 0}, {"2024-1-01", 0},  {"2024-01-010", 0},
        {"1899-12-31", 0}, {"abcd-ef-gh", 0}, {"", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        if (register_csv_date_valid(dates[i].date) != dates[i].ok)
            fail_msg("date %s", dates[i].date);
    }
    /* The 11-test by hand: 111222333: 9+8+7+12+10+8+9+6-3 = 66 = 6 * 11. */
    assert_true(register_csv_person_number_valid("111222333"));
    assert_false(register_csv_person_number_valid("111222334"));
    assert_false(register_csv_person_number_valid("000000000"));
    assert_false(register_csv_person_number_valid("11122233"));
    assert_false(register_csv_person_number_valid("1112223330"));
    assert_false(register_csv_person_number_valid("11122233a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),      cmocka_unit_test(test_fields),
        cmocka_unit_test(test_bad_header), cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_validators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
