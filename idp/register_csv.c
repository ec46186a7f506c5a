/* Streaming reader of the diploma-register CSV file: one record at a time, RFC 4180
 * quoting, a hard cap on the record size, every field validated. */
#include "idp/register_csv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCOLS 9

static const char *const columns[NCOLS] = {
    "person_number", "family_name",  "given_names",   "birthdate",          "institution",
    "programme",     "diploma_date", "contact_email", "preferred_language",
};

struct register_csv {
    FILE *fp;
    char *path;
    int line;        /* physical line of the next byte */
    int record_line; /* first line of the record being read */
    int ncols;       /* columns of the header: 8 or 9; 0 before the header */
    int failed;
    char err[REGISTER_CSV_MAX_ERROR];
    char buf[REGISTER_CSV_MAX_LINE + NCOLS + 1]; /* fields, each NUL-terminated */
    const char *fields[NCOLS];
    int nfields;
};

static int fail(register_csv_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records "FILE:LINE: reason" once and returns -1. */
static int fail(register_csv_t *r, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    if (!r->failed) {
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        snprintf(r->err, sizeof r->err, "%s:%d: %s", r->path, r->record_line, reason);
        r->failed = 1;
    }
    return -1;
}

wp_err_t register_csv_open(const char *path, register_csv_t **out, char *err, size_t err_size)
{
    wp_err_t rc = WP_ERR;
    register_csv_t *r = calloc(1, sizeof *r);

    if (!r || !(r->path = strdup(path))) {
        snprintf(err, err_size, "%s: out of memory", path);
        goto out;
    }
    r->fp = fopen(path, "rb");
    if (!r->fp) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    r->line = 1;
    rc = WP_OK;
out:
    if (rc != WP_OK) {
        register_csv_close(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

void register_csv_close(register_csv_t *r)
{
    if (!r)
        return;
    if (r->fp)
        fclose(r->fp);
    free(r->path);
    free(r);
}

const char *register_csv_error(const register_csv_t *r)
{
    return r->err;
}

/* Reads one record into r->fields. Returns 1, 0 at the end of the file (nothing read), or
 * -1 (error recorded). Empty lines are skipped. */
static int read_record(register_csv_t *r)
{
    size_t len, raw;
    int c, in_quotes, closed, any;

again:
    len = 0;
    raw = 0;
    in_quotes = 0;
    closed = 0;
    any = 0;
    r->nfields = 1;
    r->fields[0] = r->buf;
    r->record_line = r->line;
    for (;;) {
        c = getc(r->fp);
        if (c == EOF) {
            if (ferror(r->fp))
                return fail(r, "read error");
            if (in_quotes)
                return fail(r, "quoted field not closed before the end of the file");
            if (!any)
                return 0;
            break;
        }
        any = 1;
        if (c == '\0')
            return fail(r, "NUL byte in the file");
        /* Line ends outside quotes do not count; every byte that may be stored does. */
        if ((in_quotes || (c != '\r' && c != '\n')) && ++raw > REGISTER_CSV_MAX_LINE)
            return fail(r, "line longer than %d bytes", REGISTER_CSV_MAX_LINE);
        if (in_quotes) {
            if (c == '"') {
                int next = getc(r->fp);
                if (next == '"') {
                    if (++raw > REGISTER_CSV_MAX_LINE)
                        return fail(r, "line longer than %d bytes", REGISTER_CSV_MAX_LINE);
                    r->buf[len++] = '"';
                    continue;
                }
                if (next != EOF)
                    ungetc(next, r->fp);
                in_quotes = 0;
                closed = 1;
                continue;
            }
            if (c == '\n')
                r->line++;
            r->buf[len++] = (char)c;
            continue;
        }
        if (c == '\r') {
            c = getc(r->fp);
            if (c != '\n')
                return fail(r, "carriage return not followed by a line feed");
        }
        if (c == '\n') {
            r->line++;
            break;
        }
        if (c == ',') {
            if (r->nfields == NCOLS)
                return fail(r, "more than %d fields", NCOLS);
            r->buf[len++] = '\0';
            r->fields[r->nfields++] = r->buf + len;
            closed = 0;
            continue;
        }
        if (closed)
            return fail(r, "text after a closing quote");
        if (c == '"') {
            if (r->buf + len != r->fields[r->nfields - 1])
                return fail(r, "quote inside an unquoted field");
            in_quotes = 1;
            continue;
        }
        r->buf[len++] = (char)c;
    }
    r->buf[len] = '\0';
    /* An empty line (not even "") is no record. */
    if (r->nfields == 1 && len == 0 && !closed)
        goto again;
    return 1;
}

/* 1 when s is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
 * without control characters. */
static int text_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned int cp;
        int extra;
        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f)
                return 0;
            p++;
            continue;
        }
        if (*p >= 0xc2 && *p <= 0xdf) {
            cp = *p & 0x1f;
            extra = 1;
        } else if (*p >= 0xe0 && *p <= 0xef) {
            cp = *p & 0x0f;
            extra = 2;
        } else if (*p >= 0xf0 && *p <= 0xf4) {
            cp = *p & 0x07;
            extra = 3;
        } else {
            return 0;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (*p & 0x3f);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return 0;
    }
    return 1;
}

int register_csv_person_number_valid(const char *s)
{
    int sum = 0; /* at most 9 * 44: no overflow */
    for (int i = 0; i < 9; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        sum += (i < 8 ? 9 - i : -1) * (s[i] - '0');
    }
    return s[9] == '\0' && sum != 0 && sum % 11 == 0;
}

int register_csv_date_valid(const char *s)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, leap;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-')
                return 0;
        } else if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    if (s[10] != '\0')
        return 0;
    y = atoi(s);
    m = atoi(s + 5);
    d = atoi(s + 8);
    if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1)
        return 0;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

static int email_valid(const char *s)
{
    const char *at = strchr(s, '@');
    size_t len = strlen(s);
    if (!at || at == s || strchr(at + 1, '@') || !at[1] || len > 254 || !text_valid(s))
        return 0;
    if (strchr(s, ' ') || !strchr(at + 1, '.') || at[1] == '.' || s[len - 1] == '.')
        return 0;
    return 1;
}

/* A BCP 47-like tag: 2-3 letters, then "-" subtags of 1-8 letters or digits. */
static int language_valid(const char *s)
{
    size_t i = 0, n;
    while (isalpha((unsigned char)s[i]))
        i++;
    if (i < 2 || i > 3)
        return 0;
    while (s[i] == '-') {
        i++;
        for (n = 0; isalnum((unsigned char)s[i]); n++)
            i++;
        if (n < 1 || n > 8)
            return 0;
    }
    return i <= 35 && s[i] == '\0';
}

static int read_header(register_csv_t *r)
{
    int rc = read_record(r);
    if (rc <= 0)
        return rc < 0 ? -1 : fail(r, "empty file: the header line is missing");
    /* A UTF-8 byte order mark, as spreadsheet programs write it. */
    if (strncmp(r->fields[0], "\xef\xbb\xbf", 3) == 0)
        r->fields[0] += 3;
    if (r->nfields < NCOLS - 1)
        return fail(r, "header has %d columns; expected the register header", r->nfields);
    for (int i = 0; i < r->nfields; i++) {
        if (strcmp(r->fields[i], columns[i]) != 0)
            return fail(r, "header column %d is '%.40s', expected '%s'", i + 1, r->fields[i],
                        columns[i]);
    }
    r->ncols = r->nfields;
    return 1;
}

static int dup_field(char **dst, const char *src)
{
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int register_csv_next(void *ctx, store_person_t *row)
{
    register_csv_t *r = ctx;
    const char *const *f;
    int rc;

    if (r->failed)
        return -1;
    if (!r->ncols && read_header(r) < 0)
        return -1;
    rc = read_record(r);
    if (rc <= 0)
        return rc;
    if (r->nfields != r->ncols)
        return fail(r, "expected %d fields, found %d", r->ncols, r->nfields);
    f = r->fields;
    if (!register_csv_person_number_valid(f[0]))
        return fail(r, "person_number must be 9 digits passing the 11-test");
    for (int i = 1; i < 6; i++) {
        if (i == 3)
            continue;
        if (!f[i][0] || strlen(f[i]) > REGISTER_CSV_MAX_NAME || !text_valid(f[i]))
            return fail(r, "%s must be 1 to %d bytes of UTF-8 text", columns[i],
                        REGISTER_CSV_MAX_NAME);
    }
    if (!register_csv_date_valid(f[3]))
        return fail(r, "birthdate must be a date YYYY-MM-DD");
    if (!register_csv_date_valid(f[6]))
        return fail(r, "diploma_date must be a date YYYY-MM-DD");
    if (!email_valid(f[7]))
        return fail(r, "contact_email is not a mail address");
    if (r->ncols == NCOLS && f[8][0] && !language_valid(f[8]))
        return fail(r, "preferred_language is not a language tag such as 'en' or 'pt-BR'");

    memset(row, 0, sizeof *row);
    if (dup_field(&row->person_number, f[0]) || dup_field(&row->family_name, f[1]) ||
        dup_field(&row->given_names, f[2]) || dup_field(&row->birthdate, f[3]) ||
        dup_field(&row->institution, f[4]) || dup_field(&row->programme, f[5]) ||
        dup_field(&row->diploma_date, f[6]) || dup_field(&row->contact_email, f[7]) ||
        (r->ncols == NCOLS && f[8][0] && dup_field(&row->preferred_language, f[8]))) {
        store_person_clear(row);
        return fail(r, "out of memory");
    }
    return 1;
}
