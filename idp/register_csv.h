/* Streaming reader of the diploma-register CSV file (DESIGN.md, "Register CSV header").
 *
 * The first line must be exactly
 *   person_number,family_name,given_names,birthdate,institution,programme,diploma_date,
 *   contact_email,preferred_language
 * (one line; the last column may be left out of the header, then no row has it).
 * Fields follow RFC 4180 (double quotes, "" inside quotes); a record is at most
 * REGISTER_CSV_MAX_LINE bytes; LF or CRLF line ends; a UTF-8 BOM is skipped; empty lines
 * are skipped. Every field is validated; the first bad row stops the reader. */
#ifndef IDP_REGISTER_CSV_H
#define IDP_REGISTER_CSV_H

#include <stddef.h>

#include "idp/store.h"

#define REGISTER_CSV_MAX_LINE 4096
#define REGISTER_CSV_MAX_NAME 200 /* bytes of a name, institution or programme */
#define REGISTER_CSV_MAX_ERROR 512

typedef struct register_csv register_csv_t;

/* Opens path for reading. Returns WP_OK and *out (free with register_csv_close), or an
 * error with "FILE: reason" in err. */
wp_err_t register_csv_open(const char *path, register_csv_t **out, char *err, size_t err_size);
void register_csv_close(register_csv_t *r);

/* A store_person_iter_t: ctx is the register_csv_t. Reads the next record into *row
 * (new malloc'd strings, owned by the caller, freed with store_person_clear; *row must
 * be zeroed or cleared before each call). Returns 1 for a row, 0 at the end of the file,
 * -1 for a bad header, row or read error: register_csv_error then says
 * "FILE:LINE: reason" and every later call returns -1 again. */
int register_csv_next(void *ctx, store_person_t *row);

/* The error of the last failed call, or "" when none. Owned by r. */
const char *register_csv_error(const register_csv_t *r);

/* 1 when s is 9 digits passing the BSN 11-test (weights 9..2 and -1, sum % 11 == 0,
 * sum not 0), else 0. */
int register_csv_person_number_valid(const char *s);

/* 1 when s is a real calendar date YYYY-MM-DD (years 1900..2199), else 0. */
int register_csv_date_valid(const char *s);

#endif
