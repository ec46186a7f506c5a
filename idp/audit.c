/* The audit log's hash chain (idp/audit.h). Storage appends atomically; this file decides
 * what an entry is and how it is hashed and checked. */
#include "idp/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#define AUDIT_BATCH 500
#define AUDIT_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

void audit_entry_hash(const json_t *entry, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const char *const members[] = {"seq",     "at",      "event", "actor",
                                          "subject", "details", "prev"};
    json_t *copy = json_object();
    char *text = NULL;

    out[0] = '\0';
    for (size_t i = 0; copy && i < sizeof members / sizeof members[0]; i++) {
        json_t *v = json_object_get(entry, members[i]);
        json_object_set(copy, members[i], v ? v : json_null());
    }
    text = copy ? json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    if (text && EVP_Digest(text, strlen(text), md, &md_len, EVP_sha256(), NULL) == 1) {
        sodium_bin2hex(out, TOKEN_HASH_HEX_LEN + 1, md,
                       md_len * 2 <= TOKEN_HASH_HEX_LEN ? md_len : TOKEN_HASH_HEX_LEN / 2);
    }
    free(text);
    json_decref(copy);
}

/* Adapter for store_audit_append's callback type. */
static void hash_cb(const json_t *entry, char *out)
{
    audit_entry_hash(entry, out);
}

wp_err_t audit_record(store_t *s, const char *event, const char *actor, const char *subject,
                      json_t *details)
{
    wp_err_t rc = WP_ERR;
    json_t *entry =
        json_pack("{s:I, s:s, s:s, s:o, s:o}", "at", (json_int_t)wp_now(), "event", event, "actor",
                  actor ? actor : "system", "subject", subject ? json_string(subject) : json_null(),
                  "details", details ? details : json_object());
    if (entry)
        rc = store_audit_append(s, entry, hash_cb, NULL);
    if (rc != WP_OK)
        WP_LOG_ERR("audit: could not record event %s; the entry is missing", event);
    json_decref(entry);
    return rc;
}

void audit_person_subject(const uint8_t key[TOKEN_HASH_KEY_BYTES], const char *person_number,
                          char out[AUDIT_SUBJECT_MAX])
{
    char hex[TOKEN_HASH_HEX_LEN + 1];
    token_hash(key, "audit_person", person_number ? person_number : "", hex);
    snprintf(out, AUDIT_SUBJECT_MAX, "person:%.32s", hex);
}

/* Checks one entry against the expected seq and previous hash. Returns 0, or -1 with why. */
static int check_entry(const json_t *e, int64_t want_seq, const char *prev, char *why,
                       size_t why_size)
{
    char h[TOKEN_HASH_HEX_LEN + 1];
    const char *stored = json_string_value(json_object_get(e, "hash"));
    const char *eprev = json_string_value(json_object_get(e, "prev"));
    if (json_integer_value(json_object_get(e, "seq")) != want_seq) {
        snprintf(why, why_size, "entry %lld is missing (found %lld next)", (long long)want_seq,
                 (long long)json_integer_value(json_object_get(e, "seq")));
        return -1;
    }
    if (!eprev || strcmp(eprev, prev) != 0) {
        snprintf(why, why_size, "entry %lld does not follow the hash of the entry before it",
                 (long long)want_seq);
        return -1;
    }
    audit_entry_hash(e, h);
    if (!stored || !h[0] || !token_equal(stored, h)) {
        snprintf(why, why_size, "entry %lld was changed: its content does not match its hash",
                 (long long)want_seq);
        return -1;
    }
    return 0;
}

wp_err_t audit_verify(store_t *s, int64_t *count, int64_t *bad_seq, char *why, size_t why_size)
{
    char prev[TOKEN_HASH_HEX_LEN + 1] = AUDIT_GENESIS_HASH;
    int64_t seen = 0;
    json_t *batch = NULL;
    wp_err_t rc = WP_OK;

    if (why_size > 0)
        why[0] = '\0';
    for (;;) {
        rc = store_audit_list(s, NULL, NULL, seen, AUDIT_BATCH, 0, &batch);
        if (rc)
            goto out;
        size_t n = json_array_size(batch);
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(batch, i);
            if (check_entry(e, seen + 1, prev, why, why_size) != 0) {
                *bad_seq = seen + 1;
                rc = WP_ERR_INVALID;
                goto out;
            }
            snprintf(prev, sizeof prev, "%s", json_string_value(json_object_get(e, "hash")));
            seen++;
        }
        json_decref(batch);
        batch = NULL;
        if (n < AUDIT_BATCH)
            break;
    }
    *count = seen;
out:
    json_decref(batch);
    return rc;
}
