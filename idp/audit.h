/* The audit log: every security event as an append-only entry whose SHA-256 hash covers
 * the previous entry's hash and the entry's canonical JSON (sorted keys, compact), so a
 * changed, removed or inserted entry breaks the chain. Entries hold no secrets and as
 * little personal data as possible: people appear by a keyed pseudonym of their person
 * number (audit_person_subject), never by the number itself. */
#ifndef IDP_AUDIT_H
#define IDP_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/token.h"
#include "idp/store.h"

#define AUDIT_SUBJECT_MAX 80

/* Appends one entry: event (e.g. "signin"), actor ("system", "cli", "person",
 * "staff:ID"), subject (what it is about; may be NULL) and details (an object without
 * secrets; the reference is stolen, NULL for none). The time is now. Returns WP_OK, or an
 * error after logging it (the caller's action stands; the log line says the entry is
 * missing). */
wp_err_t audit_record(store_t *s, const char *event, const char *actor, const char *subject,
                      json_t *details);

/* The subject naming a person in the log: "person:" and 32 hex characters of a keyed
 * hash of the person number, into out[AUDIT_SUBJECT_MAX]. */
void audit_person_subject(const uint8_t key[TOKEN_HASH_KEY_BYTES], const char *person_number,
                          char out[AUDIT_SUBJECT_MAX]);

/* The hash of an entry (object with seq, at, event, actor, subject, details, prev; a
 * "hash" member is ignored) as lowercase hex into out[TOKEN_HASH_HEX_LEN + 1]. */
void audit_entry_hash(const json_t *entry, char *out);

/* Checks the whole chain: consecutive seq from 1, each prev equal to the hash before,
 * each hash recomputed. Returns WP_OK with *count entries; WP_ERR_INVALID with *bad_seq
 * naming the first broken entry and a reason in why; WP_ERR when storage fails. */
wp_err_t audit_verify(store_t *s, int64_t *count, int64_t *bad_seq, char *why, size_t why_size);

#endif
