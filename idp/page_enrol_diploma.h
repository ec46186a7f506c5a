/* Enrolment by verified diploma: the form's input checks, and the one-time "diploma" codes
 * that /enrol/code (page_enrol.c) redeems next to support staff's "enrol" codes. */
#ifndef IDP_PAGE_ENROL_DIPLOMA_H
#define IDP_PAGE_ENROL_DIPLOMA_H

#include "idp/http.h"
#include "idp/store.h"

#define DIPLOMA_CODE_KIND "diploma"

/* Normalises a typed person number (spaces, dots and hyphens dropped) into out[10].
 * Returns NULL when it is 9 digits passing the 11-test, else the catalog key of the
 * message for the person: "dip_error_pn_missing", "dip_error_pn_format" (not 9 digits)
 * or "dip_error_pn_typo" (9 digits that fail the 11-test: a typing error). */
const char *enrol_diploma_person_number(const char *in, char out[10]);

/* Normalises a birth date (YYYY-MM-DD, or DD-MM-YYYY / DD/MM/YYYY) into out[11].
 * Returns NULL or the catalog key of the error. */
const char *enrol_diploma_birthdate(const char *in, char out[11]);

/* Normalises a diploma date to its year and month (YYYY-MM, YYYY-MM-DD, MM-YYYY or
 * MM/YYYY) into out[8] ("YYYY-MM"). Returns NULL or the catalog key of the error. */
const char *enrol_diploma_month(const char *in, char out[8]);

/* Redeems a one-time code of kind "enrol" (from support staff: any flow) or "diploma"
 * (only in the flow with id hash flow_hash, where it was asked for), with the
 * store_code_redeem_in contract. *kind (may be NULL) points to the kind that was found,
 * or NULL when none was. */
wp_err_t enrol_diploma_code_redeem(store_t *s, const char *hash, const char *flow_hash, int64_t now,
                                   store_code_t *out, const char **kind);

/* 1 when too many wrong codes were entered for the person whose diploma form matched in
 * this flow (flow_hash), or for person_number when it is not NULL. */
int enrol_diploma_code_locked(http_req_t *req, const char *flow_hash, const char *person_number);
/* Counts a wrong code against the person whose diploma form matched in this flow. */
void enrol_diploma_code_failed(http_req_t *req, const char *flow_hash);

/* After a passkey was added to an account: when it now has more than one, sends the
 * notice "a new passkey was added" to the person's contact address. */
void enrol_diploma_passkey_added(http_req_t *req, const char *person_number,
                                 const char *account_id);

#endif
