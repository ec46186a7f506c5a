/* SQLite storage backend: the schema, its migrations and every store_* operation.
 *
 * One connection per store, guarded by a mutex, so calls from the server's thread pool run
 * one at a time on it. Other processes (the command-line tools) may use the same file at
 * the same time: WAL mode and a busy timeout let them wait for each other, and every
 * single-use operation is one conditional UPDATE or DELETE ... RETURNING, so it stays
 * atomic across connections too. Every value reaches SQL as a bound parameter. */
#include "idp/store_backend.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "crypto/seal.h"

#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_ACCOUNT_ID_BYTES 32
#define SQ_ACCOUNT_ID_SIZE                                                                         \
    sodium_base64_ENCODED_LEN(SQ_ACCOUNT_ID_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)

typedef struct {
    sqlite3 *db;
    pthread_mutex_t lock;
    int keyed;              /* store_set_keys was called */
    uint8_t lookup_key[32]; /* keyed hashes of personal data (pn_key, match_key, ...) */
    uint8_t seal_key[32];   /* sealed personal data */
} sq_t;

/* Schema migrations: migrations[i] takes the schema from version i to i + 1. Append only;
 * never edit a migration that has shipped. */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE clients ("
    "  client_id TEXT PRIMARY KEY,"
    "  json TEXT NOT NULL"
    ");"
    "CREATE TABLE keys ("
    "  kid TEXT PRIMARY KEY,"
    "  alg TEXT NOT NULL,"
    "  sealed BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  retired_at INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE register ("
    "  id INTEGER PRIMARY KEY,"
    "  person_number TEXT NOT NULL,"
    "  family_name TEXT NOT NULL,"
    "  given_names TEXT NOT NULL,"
    "  birthdate TEXT NOT NULL,"
    "  institution TEXT NOT NULL,"
    "  programme TEXT NOT NULL,"
    "  diploma_date TEXT NOT NULL,"
    "  contact_email TEXT NOT NULL,"
    "  preferred_language TEXT"
    ");"
    "CREATE INDEX register_person ON register (person_number);"
    "CREATE TABLE accounts ("
    "  id TEXT PRIMARY KEY,"
    "  person_number TEXT NOT NULL UNIQUE,"
    "  acr TEXT NOT NULL,"
    "  proofing TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  proofed_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE credentials ("
    "  cred_id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,"
    "  public_key BLOB NOT NULL,"
    "  alg INTEGER NOT NULL,"
    "  sign_count INTEGER NOT NULL,"
    "  backup_eligible INTEGER NOT NULL,"
    "  backup_state INTEGER NOT NULL,"
    "  aaguid TEXT,"
    "  transports TEXT,"
    "  name TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX credentials_account ON credentials (account_id);"
    "CREATE TABLE codes ("
    "  hash TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  person_number TEXT NOT NULL,"
    "  acr TEXT NOT NULL,"
    "  proofing TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER"
    ");"
    "CREATE TABLE flows ("
    "  id_hash TEXT PRIMARY KEY,"
    "  browser_hash TEXT NOT NULL,"
    "  request TEXT NOT NULL,"
    "  person_number TEXT,"
    "  acr TEXT,"
    "  proofing TEXT,"
    "  code_attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE challenges ("
    "  flow_hash TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  challenge TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (flow_hash, kind)"
    ");"
    "CREATE TABLE sessions ("
    "  hash TEXT PRIMARY KEY,"
    "  sid TEXT NOT NULL UNIQUE,"
    "  account_id TEXT NOT NULL,"
    "  acr TEXT,"
    "  auth_time INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX sessions_account ON sessions (account_id);"
    "CREATE TABLE authcodes ("
    "  hash TEXT PRIMARY KEY,"
    "  client_id TEXT NOT NULL,"
    "  redirect_uri TEXT NOT NULL,"
    "  code_challenge TEXT,"
    "  nonce TEXT,"
    "  account_id TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  acr TEXT,"
    "  sid TEXT,"
    "  claims TEXT,"
    "  auth_time INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER"
    ");"
    "CREATE TABLE ratelimits ("
    "  key TEXT NOT NULL,"
    "  window_secs INTEGER NOT NULL,"
    "  window_start INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (key, window_secs, window_start)"
    ");",
    /* 2: OIDC completeness: refresh tokens, revocation, PAR, client-assertion jti (issue 3).
     * Slots 2-4 are filled by work in progress; none is empty in a release. */
    "CREATE TABLE grants ("
    "  family TEXT PRIMARY KEY,"
    "  client_id TEXT NOT NULL,"
    "  account_id TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  acr TEXT,"
    "  sid TEXT,"
    "  code_hash TEXT,"
    "  auth_time INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");"
    "CREATE INDEX grants_code ON grants (code_hash);"
    "CREATE TABLE refresh_tokens ("
    "  hash TEXT PRIMARY KEY,"
    "  family TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER"
    ");"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family);"
    "CREATE TABLE access_tokens ("
    "  jti TEXT PRIMARY KEY,"
    "  family TEXT,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");"
    "CREATE TABLE assertion_jtis ("
    "  client_id TEXT NOT NULL,"
    "  jti TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (client_id, jti)"
    ");"
    "CREATE TABLE par_requests ("
    "  hash TEXT PRIMARY KEY,"
    "  client_id TEXT NOT NULL,"
    "  params TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE session_clients ("
    "  sid TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  account_id TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (sid, client_id)"
    ");"
    "CREATE INDEX session_clients_account ON session_clients (account_id);",
    /* 3: enrolment by diploma: mail outbox, throttling, register withdrawal (issue 4) */
    "ALTER TABLE register ADD COLUMN withdrawn_at INTEGER;"
    "ALTER TABLE register ADD COLUMN import_gen INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE flows ADD COLUMN diploma_key TEXT;"
    "CREATE TABLE mail_queue ("
    "  id INTEGER PRIMARY KEY,"
    "  sealed BLOB NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  next_attempt_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at);",
    /* 4: staff, recovery cases, audit log (issue 5) */
    "CREATE TABLE audit_log ("
    "  seq INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  event TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  subject TEXT,"
    "  details TEXT NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL"
    ");"
    "CREATE INDEX audit_subject ON audit_log (subject, event, seq);"
    "CREATE TABLE staff ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('support', 'supervisor')),"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE staff_credentials ("
    "  cred_id TEXT PRIMARY KEY,"
    "  staff_id TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,"
    "  public_key BLOB NOT NULL,"
    "  alg INTEGER NOT NULL,"
    "  sign_count INTEGER NOT NULL,"
    "  backup_eligible INTEGER NOT NULL,"
    "  backup_state INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE staff_sessions ("
    "  hash TEXT PRIMARY KEY,"
    "  staff_id TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,"
    "  last_seen INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE recovery_cases ("
    "  id TEXT PRIMARY KEY,"
    "  person_number TEXT NOT NULL,"
    "  opened_by TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  evidence TEXT NOT NULL,"
    "  verified_call INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  approved_by TEXT,"
    "  code_hash TEXT,"
    "  code_expires_at INTEGER,"
    "  not_before INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX recovery_cases_person ON recovery_cases (person_number, status);",
    /* 5: personal data at rest. Person numbers, names, birth dates and contact addresses
     * are stored only as keyed hashes to look up by and as sealed copies to read (see
     * "personal data at rest" below). Rows in the clear cannot be converted here (the keys
     * come from the master key, which SQL never sees): a database that holds register rows,
     * accounts or recovery cases is refused with a message; short-lived codes and flows
     * with a person are dropped. */
    "CREATE TEMP TABLE seal_guard (n INTEGER);"
    "CREATE TEMP TRIGGER seal_guard_check BEFORE INSERT ON seal_guard WHEN NEW.n > 0 BEGIN"
    " SELECT RAISE(ABORT, 'the database holds personal data in the clear from an older"
    " wereldpas (register, accounts or recovery cases): start from a new database file and"
    " re-import the register');"
    " END;"
    "INSERT INTO seal_guard SELECT (SELECT count(*) FROM register)"
    " + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM recovery_cases);"
    "DROP TABLE temp.seal_guard;"
    "DROP TABLE register;"
    "CREATE TABLE register ("
    "  id INTEGER PRIMARY KEY,"
    "  pn_key TEXT NOT NULL,"
    "  match_key TEXT NOT NULL,"
    "  name_key TEXT NOT NULL,"
    "  row_key TEXT NOT NULL,"
    "  sealed BLOB NOT NULL,"
    "  withdrawn_at INTEGER,"
    "  import_gen INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX register_pn ON register (pn_key);"
    "CREATE INDEX register_match ON register (match_key);"
    "CREATE INDEX register_name ON register (name_key);"
    "CREATE INDEX register_row ON register (row_key);"
    "DROP TABLE accounts;"
    "CREATE TABLE accounts ("
    "  id TEXT PRIMARY KEY,"
    "  pn_key TEXT NOT NULL UNIQUE,"
    "  pn_sealed BLOB NOT NULL,"
    "  acr TEXT NOT NULL,"
    "  proofing TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  proofed_at INTEGER NOT NULL"
    ");"
    "DELETE FROM codes;"
    "ALTER TABLE codes DROP COLUMN person_number;"
    "ALTER TABLE codes ADD COLUMN person_sealed BLOB;"
    "DELETE FROM flows WHERE person_number IS NOT NULL;"
    "ALTER TABLE flows DROP COLUMN person_number;"
    "ALTER TABLE flows ADD COLUMN person_sealed BLOB;"
    "DROP TABLE recovery_cases;"
    "CREATE TABLE recovery_cases ("
    "  id TEXT PRIMARY KEY,"
    "  pn_key TEXT NOT NULL,"
    "  pn_sealed BLOB NOT NULL,"
    "  opened_by TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  evidence TEXT NOT NULL,"
    "  verified_call INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  approved_by TEXT,"
    "  code_hash TEXT,"
    "  code_expires_at INTEGER,"
    "  not_before INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX recovery_cases_person ON recovery_cases (pn_key, status);",
    /* 6: hardening. A mailed diploma code is bound to the flow it was asked for in
     * (flow_hash; NULL for support staff's codes, which work in any flow) and found by
     * its person (pn_key), so a newer code cancels the older ones. Unused diploma codes
     * from before cannot be tied to their flow and are dropped: the person asks for a new
     * one. Refresh tokens keep their issue time; for existing ones it is estimated as
     * before, six hours (the default lifetime) before their expiry, but not before the
     * sign-in of their grant and not after now. */
    "ALTER TABLE codes ADD COLUMN pn_key TEXT;"
    "ALTER TABLE codes ADD COLUMN flow_hash TEXT;"
    "DELETE FROM codes WHERE kind = 'diploma' AND used_at IS NULL;"
    "CREATE INDEX codes_person ON codes (pn_key, kind);"
    "ALTER TABLE refresh_tokens ADD COLUMN issued_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE refresh_tokens SET issued_at = MIN(CAST(strftime('%s', 'now') AS INTEGER),"
    " MAX(expires_at - 21600, COALESCE((SELECT g.auth_time FROM grants g"
    " WHERE g.family = refresh_tokens.family), 0)));",
    /* 7: what staff and people type, at rest. Staff names, the reason and evidence of
     * recovery cases and passkey names are sealed like person numbers. The seal key comes
     * from the master key, which SQL never sees: this migration moves the text of existing
     * rows into seal_pending and drops the clear columns; the first store_set_keys on the
     * database seals what is pending into the new columns and empties seal_pending, in one
     * transaction (sq_seal_pending). */
    "CREATE TABLE seal_pending ("
    "  what TEXT NOT NULL,"
    "  row_id TEXT NOT NULL,"
    "  clear TEXT NOT NULL,"
    "  PRIMARY KEY (what, row_id)"
    ");"
    "INSERT INTO seal_pending SELECT 'staff.name', id, name FROM staff;"
    "INSERT INTO seal_pending SELECT 'recovery_cases.reason', id, reason FROM recovery_cases;"
    "INSERT INTO seal_pending SELECT 'recovery_cases.evidence', id, evidence"
    " FROM recovery_cases;"
    "INSERT INTO seal_pending SELECT 'credentials.name', cred_id, name FROM credentials"
    " WHERE name IS NOT NULL;"
    "ALTER TABLE staff DROP COLUMN name;"
    "ALTER TABLE staff ADD COLUMN name_sealed BLOB;"
    "ALTER TABLE recovery_cases DROP COLUMN reason;"
    "ALTER TABLE recovery_cases DROP COLUMN evidence;"
    "ALTER TABLE recovery_cases ADD COLUMN reason_sealed BLOB;"
    "ALTER TABLE recovery_cases ADD COLUMN evidence_sealed BLOB;"
    "ALTER TABLE credentials DROP COLUMN name;"
    "ALTER TABLE credentials ADD COLUMN name_sealed BLOB;",
};

#define SQ_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- small helpers, all called with the lock held */

static void sq_lock(sq_t *q)
{
    pthread_mutex_lock(&q->lock);
}

static void sq_unlock(sq_t *q)
{
    pthread_mutex_unlock(&q->lock);
}

/* Maps an SQLite result code to a wp_err_t: a taken key is WP_ERR_EXISTS, another broken
 * constraint (a missing required field) WP_ERR_INVALID, anything else WP_ERR (logged). */
static wp_err_t sq_error(sq_t *q, int rc, const char *what)
{
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
            return WP_ERR_EXISTS;
        WP_LOG_WARN("sqlite: %s: %s", what, sqlite3_errmsg(q->db));
        return WP_ERR_INVALID;
    }
    WP_LOG_ERR("sqlite: %s: %s", what, sqlite3_errmsg(q->db));
    return WP_ERR;
}

/* Prepares sql into *st and binds one parameter per character of types:
 * 't' const char * (NULL binds NULL), 'i' int, 'I' int64_t, 'b' const void * then size_t.
 * On error *st is NULL. */
static wp_err_t sq_vprep(sq_t *q, sqlite3_stmt **st, const char *sql, const char *types, va_list ap)
{
    int rc = sqlite3_prepare_v2(q->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return sq_error(q, rc, "prepare");
    }
    for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
        int col = i + 1;
        switch (types[i]) {
        case 't': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(*st, col, v, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(*st, col);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int(*st, col, va_arg(ap, int));
            break;
        case 'I':
            rc = sqlite3_bind_int64(*st, col, va_arg(ap, int64_t));
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            rc = p ? sqlite3_bind_blob64(*st, col, p, (sqlite3_uint64)len, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(*st, col);
            break;
        }
        default:
            assert(!"unknown bind type");
            rc = SQLITE_MISUSE;
        }
    }
    if (rc != SQLITE_OK) {
        wp_err_t e = sq_error(q, rc, "bind");
        sqlite3_finalize(*st);
        *st = NULL;
        return e;
    }
    return WP_OK;
}

static wp_err_t sq_prep(sq_t *q, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    wp_err_t rc = sq_vprep(q, st, sql, types, ap);
    va_end(ap);
    return rc;
}

/* Runs a statement that returns no rows. *changes (may be NULL) receives the number of
 * rows it changed. */
static wp_err_t sq_exec(sq_t *q, int *changes, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, types);
    wp_err_t rc = sq_vprep(q, &st, sql, types, ap);
    va_end(ap);
    if (rc)
        return rc;
    int s = sqlite3_step(st);
    while (s == SQLITE_ROW)
        s = sqlite3_step(st);
    if (s != SQLITE_DONE)
        rc = sq_error(q, s, "step");
    else if (changes)
        *changes = sqlite3_changes(q->db);
    sqlite3_finalize(st);
    return rc;
}

/* Steps st once: WP_OK with a row, WP_ERR_NOTFOUND when there is none, else an error. */
static wp_err_t sq_row(sq_t *q, sqlite3_stmt *st)
{
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        return WP_OK;
    if (s == SQLITE_DONE)
        return WP_ERR_NOTFOUND;
    return sq_error(q, s, "step");
}

/* Steps st to its end (after a RETURNING row, so its changes are complete). */
static wp_err_t sq_finish(sq_t *q, sqlite3_stmt *st)
{
    int s;
    do
        s = sqlite3_step(st);
    while (s == SQLITE_ROW);
    return s == SQLITE_DONE ? WP_OK : sq_error(q, s, "step");
}

static wp_err_t sq_begin(sq_t *q)
{
    return sq_exec(q, NULL, "BEGIN IMMEDIATE", "");
}

static wp_err_t sq_commit(sq_t *q)
{
    return sq_exec(q, NULL, "COMMIT", "");
}

/* Rolls back the open transaction, if any. */
static void sq_rollback(sq_t *q)
{
    if (!sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

/* A malloc'd copy of text column i, or NULL for SQL NULL; sets *bad when out of memory. */
static char *col_str(sqlite3_stmt *st, int i, int *bad)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, i);
    char *c = t ? strdup((const char *)t) : NULL;
    if (!c)
        *bad = 1;
    return c;
}

/* A malloc'd copy of blob column i (NULL for SQL NULL or empty); sets *bad on failure. */
static uint8_t *col_blob(sqlite3_stmt *st, int i, size_t *len, int *bad)
{
    *len = 0;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    if (n <= 0)
        return NULL;
    uint8_t *c = malloc((size_t)n);
    if (!c || !p) {
        free(c);
        *bad = 1;
        return NULL;
    }
    memcpy(c, p, (size_t)n);
    *len = (size_t)n;
    return c;
}

/* Makes room for one more element of size elem in *arr (capacity *cap, n used). */
static wp_err_t grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return WP_OK;
    size_t ncap = *cap ? *cap * 2 : 8;
    if (ncap < *cap || ncap > SIZE_MAX / elem)
        return WP_ERR;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return WP_ERR;
    *arr = p;
    *cap = ncap;
    return WP_OK;
}

/* ---- personal data at rest: keyed hashes to look up by, sealed copies to read
 *
 * Lookup columns hold keyed BLAKE2b (lookup_key) of a purpose and length-prefixed fields:
 *   pn_key    ("person_number": person_number)
 *   match_key ("diploma_match": person_number, birthdate, diploma YYYY-MM)
 *   name_key  ("name_birthdate": family name folded to lower case, birthdate)
 *   row_key   ("register_row": person_number, institution, programme, diploma_date), a
 *             register row's identity across imports.
 * Everything a caller reads back is sealed with seal_key (crypto/seal.h): a register row as
 * JSON of all its fields, elsewhere the person number alone. What staff and people type is
 * sealed too (from schema version 7): staff names, the reason and evidence (JSON) of
 * recovery cases, passkey names. */

#define SQ_KEY_HEX 64
#define PERSON_FIELDS 9
#define PERSON_OPTIONAL 8 /* preferred_language */

static const char *const person_names[PERSON_FIELDS] = {
    "person_number", "family_name",  "given_names",   "birthdate",         "institution",
    "programme",     "diploma_date", "contact_email", "preferred_language"};

/* WP_OK once store_set_keys was called, else WP_ERR (logged). */
static wp_err_t sq_need_keys(const sq_t *q)
{
    if (q->keyed)
        return WP_OK;
    WP_LOG_ERR("storage: personal data asked for before the store got its keys");
    return WP_ERR;
}

/* Keyed hash of purpose and the n fields (NULL hashes as empty) as hex into out. */
static void sq_lookup(const sq_t *q, const char *purpose, const char *const *fields, size_t n,
                      char out[SQ_KEY_HEX + 1])
{
    crypto_generichash_state h;
    uint8_t digest[SQ_KEY_HEX / 2];
    crypto_generichash_init(&h, q->lookup_key, sizeof q->lookup_key, sizeof digest);
    crypto_generichash_update(&h, (const uint8_t *)purpose, strlen(purpose) + 1);
    for (size_t i = 0; i < n; i++) {
        const char *f = fields[i] ? fields[i] : "";
        uint64_t len = strlen(f);
        uint8_t prefix[8];
        for (int b = 0; b < 8; b++)
            prefix[b] = (uint8_t)(len >> (8 * b));
        crypto_generichash_update(&h, prefix, sizeof prefix);
        crypto_generichash_update(&h, (const uint8_t *)f, (unsigned long long)len);
    }
    crypto_generichash_final(&h, digest, sizeof digest);
    sodium_bin2hex(out, SQ_KEY_HEX + 1, digest, sizeof digest);
    sodium_memzero(&h, sizeof h);
}

static void sq_pn_key(const sq_t *q, const char *person_number, char out[SQ_KEY_HEX + 1])
{
    const char *f[] = {person_number};
    sq_lookup(q, "person_number", f, 1, out);
}

static void sq_match_key(const sq_t *q, const char *person_number, const char *birthdate,
                         const char *month, char out[SQ_KEY_HEX + 1])
{
    const char *f[] = {person_number, birthdate, month};
    sq_lookup(q, "diploma_match", f, 3, out);
}

/* The family name folded for search: ASCII and Latin-1 capitals (UTF-8 C3 80..C3 9E but
 * the multiplication sign) to lower case, the rest as typed. The support console's search
 * was case-insensitive before; it stays so, now for accented capitals too. Returns -1 when
 * out of memory. */
static wp_err_t sq_name_key(const sq_t *q, const char *family_name, const char *birthdate,
                            char out[SQ_KEY_HEX + 1])
{
    char *folded = strdup(family_name ? family_name : "");
    if (!folded)
        return WP_ERR;
    for (unsigned char *p = (unsigned char *)folded; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (unsigned char)(*p + ('a' - 'A'));
        } else if (*p == 0xc3 && p[1] >= 0x80 && p[1] <= 0x9e && p[1] != 0x97) {
            p[1] = (unsigned char)(p[1] + 0x20);
            p++;
        }
    }
    const char *f[] = {folded, birthdate};
    sq_lookup(q, "name_birthdate", f, 2, out);
    sodium_memzero(folded, strlen(folded));
    free(folded);
    return WP_OK;
}

/* Frees text that held personal data, zeroing it first. */
static void sq_free_secret(char *text)
{
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
}

/* Seals text with the seal key into *out (free). */
static wp_err_t sq_seal(const sq_t *q, const char *text, uint8_t **out, size_t *len)
{
    return seal_encrypt(q->seal_key, (const uint8_t *)text, strlen(text), out, len) ? WP_ERR
                                                                                    : WP_OK;
}

/* The text sealed in blob column i, malloc'd (sq_free_secret), into *out; NULL for SQL
 * NULL. WP_ERR when it does not unseal (another master key?). */
static wp_err_t sq_unseal_col(const sq_t *q, sqlite3_stmt *st, int i, char **out)
{
    uint8_t *pt = NULL;
    size_t len = 0;
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return WP_OK;
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    if (!p || n <= 0 || seal_decrypt(q->seal_key, p, (size_t)n, &pt, &len) != 0) {
        WP_LOG_ERR("storage: personal data does not unseal (another master key?)");
        return WP_ERR;
    }
    if (strlen((const char *)pt) != len) {
        sq_free_secret((char *)pt);
        return WP_ERR;
    }
    *out = (char *)pt;
    return WP_OK;
}

/* As sq_unseal_col, for a sealed text that may be absent (a person number, a passkey
 * name): WP_ERR also when there is one and the store has no keys. */
static wp_err_t sq_unseal_opt(const sq_t *q, sqlite3_stmt *st, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return WP_OK;
    if (sq_need_keys(q))
        return WP_ERR;
    return sq_unseal_col(q, st, i, out);
}

/* Seals a register row as JSON of all its fields. WP_ERR_INVALID when a required field
 * is missing or not UTF-8. */
static wp_err_t sq_seal_person(const sq_t *q, const store_person_t *p, uint8_t **out, size_t *len)
{
    const char *v[PERSON_FIELDS] = {p->person_number, p->family_name,   p->given_names,
                                    p->birthdate,     p->institution,   p->programme,
                                    p->diploma_date,  p->contact_email, p->preferred_language};
    json_t *o = json_object();
    char *text = NULL;
    wp_err_t rc = o ? WP_OK : WP_ERR;
    for (size_t i = 0; !rc && i < PERSON_FIELDS; i++) {
        if ((!v[i] && i != PERSON_OPTIONAL) ||
            (v[i] && json_object_set_new(o, person_names[i], json_string(v[i])) != 0))
            rc = WP_ERR_INVALID;
    }
    if (!rc && !(text = json_dumps(o, JSON_COMPACT)))
        rc = WP_ERR;
    if (!rc)
        rc = sq_seal(q, text, out, len);
    sq_free_secret(text);
    json_decref(o);
    return rc;
}

/* Fills *out (zeroed by the caller) from the register row sealed in blob column i. */
static wp_err_t sq_unseal_person(const sq_t *q, sqlite3_stmt *st, int i, store_person_t *out)
{
    char *text = NULL;
    json_t *o = NULL;
    wp_err_t rc = sq_unseal_col(q, st, i, &text);
    if (!rc && !(text && (o = json_loads(text, 0, NULL))))
        rc = WP_ERR;
    char **slot[PERSON_FIELDS] = {
        &out->person_number, &out->family_name,   &out->given_names,
        &out->birthdate,     &out->institution,   &out->programme,
        &out->diploma_date,  &out->contact_email, &out->preferred_language};
    for (size_t k = 0; !rc && k < PERSON_FIELDS; k++) {
        const char *v = json_string_value(json_object_get(o, person_names[k]));
        if ((!v && k != PERSON_OPTIONAL) || (v && !(*slot[k] = strdup(v))))
            rc = WP_ERR;
    }
    json_decref(o);
    sq_free_secret(text);
    if (rc)
        store_person_clear(out);
    return rc;
}

/* Everything stored of one register row: its lookup keys and the sealed row. */
typedef struct {
    char pn[SQ_KEY_HEX + 1];
    char match[SQ_KEY_HEX + 1];
    char name[SQ_KEY_HEX + 1];
    char row[SQ_KEY_HEX + 1];
    uint8_t *sealed;
    size_t sealed_len;
} sq_person_row_t;

/* Makes r (free r->sealed) from p. WP_ERR_INVALID for a row missing a required field. */
static wp_err_t sq_person_row(const sq_t *q, const store_person_t *p, sq_person_row_t *r)
{
    char month[8];
    memset(r, 0, sizeof *r);
    wp_err_t rc = sq_seal_person(q, p, &r->sealed, &r->sealed_len);
    if (rc)
        return rc;
    size_t n = strnlen(p->diploma_date, sizeof month - 1);
    memcpy(month, p->diploma_date, n);
    month[n] = '\0';
    sq_pn_key(q, p->person_number, r->pn);
    sq_match_key(q, p->person_number, p->birthdate, month, r->match);
    const char *f[] = {p->person_number, p->institution, p->programme, p->diploma_date};
    sq_lookup(q, "register_row", f, 4, r->row);
    rc = sq_name_key(q, p->family_name, p->birthdate, r->name);
    if (rc) {
        free(r->sealed);
        r->sealed = NULL;
    }
    return rc;
}

/* Where each kind of seal_pending row (migration 7) goes: ?1 the sealed text, ?2 the row. */
static const struct {
    const char *what;
    const char *sql;
} sq_pending_targets[] = {
    {"staff.name", "UPDATE staff SET name_sealed = ?1 WHERE id = ?2"},
    {"recovery_cases.reason", "UPDATE recovery_cases SET reason_sealed = ?1 WHERE id = ?2"},
    {"recovery_cases.evidence", "UPDATE recovery_cases SET evidence_sealed = ?1 WHERE id = ?2"},
    {"credentials.name", "UPDATE credentials SET name_sealed = ?1 WHERE cred_id = ?2"},
};

/* Seals every text migration 7 left in seal_pending into its row and empties
 * seal_pending, all in one transaction; then truncates the write-ahead log, so the clear
 * text leaves it too. *sealed gets how many texts were sealed. On error nothing changed.
 * Lock held, keys set. */
static wp_err_t sq_seal_pending(sq_t *q, int *sealed)
{
    sqlite3_stmt *st = NULL;
    int n = 0;
    *sealed = 0;
    wp_err_t rc = sq_prep(q, &st, "SELECT 1 FROM seal_pending LIMIT 1", "");
    if (!rc)
        rc = sq_row(q, st);
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
        return rc == WP_ERR_NOTFOUND ? WP_OK : rc;
    rc = sq_begin(q);
    if (!rc)
        rc = sq_prep(q, &st, "SELECT what, row_id, clear FROM seal_pending", "");
    while (!rc && (rc = sq_row(q, st)) == WP_OK) {
        const char *what = (const char *)sqlite3_column_text(st, 0);
        const char *id = (const char *)sqlite3_column_text(st, 1);
        const char *clear = (const char *)sqlite3_column_text(st, 2);
        const char *sql = NULL;
        uint8_t *box = NULL;
        size_t box_len = 0;
        for (size_t i = 0; what && i < sizeof sq_pending_targets / sizeof sq_pending_targets[0];
             i++) {
            if (strcmp(what, sq_pending_targets[i].what) == 0)
                sql = sq_pending_targets[i].sql;
        }
        if (!sql || !id || !clear) {
            WP_LOG_ERR("storage: seal_pending holds a row of unknown kind");
            rc = WP_ERR;
            break;
        }
        rc = sq_seal(q, clear, &box, &box_len);
        if (!rc)
            rc = sq_exec(q, NULL, sql, "bt", (const void *)box, box_len, id);
        free(box);
        n++;
    }
    if (rc == WP_ERR_NOTFOUND)
        rc = WP_OK;
    sqlite3_finalize(st);
    if (!rc)
        rc = sq_exec(q, NULL, "DELETE FROM seal_pending", "");
    if (!rc)
        rc = sq_commit(q);
    if (rc) {
        sq_rollback(q);
        return rc;
    }
    /* Best effort: another connection reading the log keeps it; it is truncated later. */
    sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    *sealed = n;
    return WP_OK;
}

static void sq_set_keys(void *impl, const uint8_t lookup_key[32], const uint8_t seal_key[32])
{
    sq_t *q = impl;
    int sealed = 0;
    sq_lock(q);
    memcpy(q->lookup_key, lookup_key, sizeof q->lookup_key);
    memcpy(q->seal_key, seal_key, sizeof q->seal_key);
    q->keyed = 1;
    if (sq_seal_pending(q, &sealed))
        WP_LOG_ERR("storage: cannot seal the staff names, case texts and passkey names of an "
                   "older database; they stay unreadable until the next start");
    else if (sealed > 0)
        WP_LOG_INFO("storage: sealed %d texts stored in the clear by an older wereldpas", sealed);
    sq_unlock(q);
}

/* ---- opening, schema and versions */

/* Creates every missing folder above the file path with mode 0700. */
static int make_parents(const char *path, char *err, size_t err_size)
{
    char *buf = strdup(path);
    int rc = -1;
    if (!buf) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            snprintf(err, err_size, "cannot create folder %s: %s", buf, strerror(errno));
            goto out;
        }
        *p = '/';
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Creates the database file with mode 0600 when it does not exist (SQLite gives its -wal
 * and -shm files the same mode). */
static int create_file(const char *path, char *err, size_t err_size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        snprintf(err, err_size, "cannot create database %s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* The schema version in force: 0 for a database without a schema_version table. */
static wp_err_t read_version(sq_t *q, int *version)
{
    sqlite3_stmt *st = NULL;
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT count(*) FROM sqlite_master"
                          " WHERE type = 'table' AND name = 'schema_version'",
                          "");
    if (rc)
        goto out;
    rc = sq_row(q, st);
    if (rc)
        goto out;
    int have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (!have) {
        *version = 0;
        goto out;
    }
    rc = sq_prep(q, &st, "SELECT coalesce(max(version), 0) FROM schema_version", "");
    if (rc)
        goto out;
    rc = sq_row(q, st);
    if (rc)
        goto out;
    *version = sqlite3_column_int(st, 0);
out:
    sqlite3_finalize(st);
    return rc == WP_ERR_NOTFOUND ? WP_ERR : rc;
}

/* Applies the missing migrations, each in its own transaction. */
static wp_err_t migrate_schema(sq_t *q, char *err, size_t err_size)
{
    wp_err_t rc = WP_OK;
    for (;;) {
        int version = 0;
        rc = sq_begin(q);
        if (rc)
            break;
        rc = sq_exec(q, NULL,
                     "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", "");
        if (!rc)
            rc = read_version(q, &version);
        if (rc)
            break;
        if (version > SQ_SCHEMA_VERSION) {
            snprintf(err, err_size,
                     "database schema version %d is newer than this program's %d; "
                     "upgrade wereldpas",
                     version, SQ_SCHEMA_VERSION);
            rc = WP_ERR;
            break;
        }
        if (version == SQ_SCHEMA_VERSION) {
            rc = sq_commit(q);
            break;
        }
        if (sqlite3_exec(q->db, migrations[version], NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, err_size, "migration to schema version %d failed: %s", version + 1,
                     sqlite3_errmsg(q->db));
            rc = WP_ERR;
            break;
        }
        rc = sq_exec(q, NULL, "DELETE FROM schema_version", "");
        if (!rc)
            rc = sq_exec(q, NULL, "INSERT INTO schema_version (version) VALUES (?)", "i",
                         version + 1);
        if (!rc)
            rc = sq_commit(q);
        if (rc)
            break;
        WP_LOG_INFO("storage: migrated schema to version %d", version + 1);
    }
    if (rc) {
        sq_rollback(q);
        if (err_size > 0 && !err[0])
            snprintf(err, err_size, "schema migration failed: %s", sqlite3_errmsg(q->db));
    }
    return rc;
}

static wp_err_t check_version(sq_t *q, char *err, size_t err_size)
{
    int version = 0;
    if (read_version(q, &version)) {
        snprintf(err, err_size, "cannot read schema version: %s", sqlite3_errmsg(q->db));
        return WP_ERR;
    }
    if (version < SQ_SCHEMA_VERSION) {
        snprintf(err, err_size,
                 "database schema version %d is older than this program's %d; "
                 "run `wereldpas serve` to migrate",
                 version, SQ_SCHEMA_VERSION);
        return WP_ERR;
    }
    if (version > SQ_SCHEMA_VERSION) {
        snprintf(err, err_size,
                 "database schema version %d is newer than this program's %d; upgrade wereldpas",
                 version, SQ_SCHEMA_VERSION);
        return WP_ERR;
    }
    return WP_OK;
}

static void sq_close(void *impl)
{
    sq_t *q = impl;
    if (!q)
        return;
    sqlite3_close_v2(q->db);
    pthread_mutex_destroy(&q->lock);
    sodium_memzero(q, sizeof *q);
    free(q);
}

wp_err_t store_sqlite_open(const char *path, int migrate, void **impl, char *err, size_t err_size)
{
    wp_err_t rc = WP_ERR;
    sq_t *q = NULL;
    int memory = strcmp(path, ":memory:") == 0;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
    struct stat sb;

    if (err_size > 0)
        err[0] = '\0';
    if (sodium_init() < 0) {
        snprintf(err, err_size, "libsodium failed to initialise");
        goto out;
    }
    if (!memory && migrate) {
        if (make_parents(path, err, err_size) || create_file(path, err, err_size))
            goto out;
    } else if (!memory && stat(path, &sb) != 0) {
        snprintf(err, err_size, "no database at %s (%s); run `wereldpas serve` to create it", path,
                 strerror(errno));
        goto out;
    }
    if (memory)
        flags |= SQLITE_OPEN_CREATE;

    q = calloc(1, sizeof *q);
    if (!q || pthread_mutex_init(&q->lock, NULL) != 0) {
        free(q);
        q = NULL;
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    int s = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (s != SQLITE_OK) {
        snprintf(err, err_size, "cannot open database %s: %s", path,
                 q->db ? sqlite3_errmsg(q->db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, SQ_BUSY_TIMEOUT_MS);
    sqlite3_db_config(q->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(q->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    if (sqlite3_exec(q->db,
                     "PRAGMA journal_mode = WAL;"
                     "PRAGMA synchronous = FULL;"
                     "PRAGMA foreign_keys = ON;"
                     "PRAGMA secure_delete = ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "cannot set up database %s: %s", path, sqlite3_errmsg(q->db));
        goto out;
    }
    rc = migrate ? migrate_schema(q, err, err_size) : check_version(q, err, err_size);
    if (rc)
        goto out;
    *impl = q;
    q = NULL;
out:
    if (q) {
        sq_close(q);
        if (rc == WP_OK)
            rc = WP_ERR;
    }
    return rc;
}

static wp_err_t sq_ping(void *impl)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL, "SELECT count(*) FROM schema_version", "");
    sq_unlock(q);
    return rc;
}

static int sq_schema_version(void *impl)
{
    sq_t *q = impl;
    int version = -1;
    sq_lock(q);
    if (read_version(q, &version))
        version = -1;
    sq_unlock(q);
    return version;
}

static wp_err_t sq_purge_expired(void *impl, int64_t now)
{
    static const char *const purges[] = {
        "DELETE FROM flows WHERE expires_at <= ?",
        "DELETE FROM challenges WHERE expires_at <= ?",
        "DELETE FROM codes WHERE expires_at <= ?",
        "DELETE FROM sessions WHERE expires_at <= ?",
        "DELETE FROM authcodes WHERE expires_at <= ?",
        "DELETE FROM ratelimits WHERE window_start + window_secs <= ?",
        /* issue 3 */
        "DELETE FROM grants WHERE expires_at <= ?",
        "DELETE FROM refresh_tokens WHERE expires_at <= ?",
        "DELETE FROM access_tokens WHERE expires_at <= ?",
        "DELETE FROM assertion_jtis WHERE expires_at <= ?",
        "DELETE FROM par_requests WHERE expires_at <= ?",
        "DELETE FROM session_clients WHERE expires_at <= ?",
        /* issue 5: past their end, or idle longer than any staff_idle_timeout (max 3600) */
        "DELETE FROM staff_sessions WHERE expires_at <= ?1 OR last_seen <= ?1 - 3600",
    };
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    for (size_t i = 0; !rc && i < sizeof purges / sizeof purges[0]; i++)
        rc = sq_exec(q, NULL, purges[i], "I", now);
    if (!rc)
        rc = sq_commit(q);
    if (rc)
        sq_rollback(q);
    sq_unlock(q);
    return rc;
}

/* ---- clients */

static wp_err_t sq_client_add(void *impl, json_t *client)
{
    sq_t *q = impl;
    const char *id = json_string_value(json_object_get(client, "client_id"));
    if (!json_is_object(client) || !id || !*id)
        return WP_ERR_INVALID;
    char *text = json_dumps(client, JSON_COMPACT);
    if (!text)
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc =
        sq_exec(q, NULL, "INSERT INTO clients (client_id, json) VALUES (?, ?)", "tt", id, text);
    sq_unlock(q);
    free(text);
    return rc;
}

/* Parses the JSON text of column i into a new object reference. */
static json_t *col_json(sqlite3_stmt *st, int i)
{
    const char *text = (const char *)sqlite3_column_text(st, i);
    json_error_t jerr;
    json_t *j = text ? json_loads(text, 0, &jerr) : NULL;
    if (!j)
        WP_LOG_ERR("storage: stored client is not valid JSON");
    return j;
}

static wp_err_t sq_client_get(void *impl, const char *client_id, json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st, "SELECT json FROM clients WHERE client_id = ?", "t", client_id);
    if (rc)
        goto out;
    rc = sq_row(q, st);
    if (rc)
        goto out;
    json_t *j = col_json(st, 0);
    if (!j) {
        rc = WP_ERR;
        goto out;
    }
    *out = j;
out:
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_client_list(void *impl, json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    wp_err_t rc = arr ? WP_OK : WP_ERR;
    sq_lock(q);
    if (!rc)
        rc = sq_prep(q, &st, "SELECT json FROM clients ORDER BY client_id", "");
    while (!rc && (rc = sq_row(q, st)) == WP_OK) {
        json_t *j = col_json(st, 0);
        if (!j || json_array_append_new(arr, j))
            rc = WP_ERR;
    }
    if (rc == WP_ERR_NOTFOUND)
        rc = WP_OK;
    if (!rc) {
        *out = arr;
        arr = NULL;
    }
    sqlite3_finalize(st);
    sq_unlock(q);
    json_decref(arr);
    return rc;
}

static wp_err_t sq_client_remove(void *impl, const char *client_id)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes, "DELETE FROM clients WHERE client_id = ?", "t", client_id);
    sq_unlock(q);
    if (!rc && changes == 0)
        rc = WP_ERR_NOTFOUND;
    return rc;
}

/* ---- signing keys */

static wp_err_t sq_key_add(void *impl, const store_key_t *key)
{
    sq_t *q = impl;
    if (!key->sealed || key->sealed_len == 0)
        return WP_ERR_INVALID;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL,
                          "INSERT INTO keys (kid, alg, sealed, created_at, retired_at)"
                          " VALUES (?, ?, ?, ?, ?)",
                          "ttbII", key->kid, key->alg, (const void *)key->sealed, key->sealed_len,
                          key->created_at, key->retired_at);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_key_list(void *impl, store_key_t **keys, size_t *n)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_key_t *arr = NULL;
    size_t cap = 0, count = 0;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT kid, alg, sealed, created_at, retired_at FROM keys"
                          " WHERE retired_at = 0 OR retired_at > CAST(strftime('%s', 'now') AS"
                          " INTEGER) ORDER BY created_at, rowid",
                          "");
    while (!rc && (rc = sq_row(q, st)) == WP_OK) {
        rc = grow((void **)&arr, &cap, count, sizeof *arr);
        if (rc)
            break;
        store_key_t *k = &arr[count++];
        int bad = 0;
        memset(k, 0, sizeof *k);
        k->kid = col_str(st, 0, &bad);
        k->alg = col_str(st, 1, &bad);
        k->sealed = col_blob(st, 2, &k->sealed_len, &bad);
        k->created_at = sqlite3_column_int64(st, 3);
        k->retired_at = sqlite3_column_int64(st, 4);
        if (bad)
            rc = WP_ERR;
    }
    if (rc == WP_ERR_NOTFOUND)
        rc = WP_OK;
    sqlite3_finalize(st);
    sq_unlock(q);
    if (rc) {
        store_keys_free(arr, count);
        return rc;
    }
    *keys = arr;
    *n = count;
    return WP_OK;
}

static wp_err_t sq_key_retire(void *impl, const char *kid, int64_t now)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes,
                          "UPDATE keys SET retired_at = ? WHERE kid = ? AND (retired_at = 0 OR"
                          " retired_at > CAST(strftime('%s', 'now') AS INTEGER))",
                          "It", now, kid);
    sq_unlock(q);
    if (!rc && changes == 0)
        rc = WP_ERR_NOTFOUND;
    return rc;
}

/* ---- register */

/* Binds one stored register row to st as ?1 pn_key, ?2 match_key, ?3 name_key, ?4 row_key,
 * ?5 sealed and ?6 the import generation, steps it and resets it. *changes (may be NULL)
 * gets the rows changed. */
static wp_err_t step_person(sq_t *q, sqlite3_stmt *st, const sq_person_row_t *r, int64_t gen,
                            int *changes)
{
    const char *v[] = {r->pn, r->match, r->name, r->row};
    int s = SQLITE_OK;
    for (int i = 0; s == SQLITE_OK && i < (int)(sizeof v / sizeof v[0]); i++)
        s = sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
    if (s == SQLITE_OK)
        s = sqlite3_bind_blob64(st, 5, r->sealed, (sqlite3_uint64)r->sealed_len, SQLITE_STATIC);
    if (s == SQLITE_OK)
        s = sqlite3_bind_int64(st, 6, gen);
    if (s == SQLITE_OK)
        s = sqlite3_step(st);
    wp_err_t rc = s == SQLITE_DONE ? WP_OK : sq_error(q, s, "register row");
    if (changes)
        *changes = rc == WP_OK ? sqlite3_changes(q->db) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* One import is one generation: a row that is in the file again (same row_key: person,
 * institution, programme and diploma date) is updated in place and un-withdrawn; a new row
 * is inserted; rows of older generations that the file no longer holds are marked
 * withdrawn, never deleted, so accounts keep their history. All in one transaction. */
static wp_err_t sq_register_import(void *impl, store_person_iter_t next, void *ctx, size_t *count)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL, *upd = NULL, *ins = NULL;
    size_t n = 0;
    int64_t gen = 0;
    if (sq_need_keys(q))
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (rc)
        goto out;
    rc = sq_prep(q, &st, "SELECT coalesce(max(import_gen), 0) + 1 FROM register", "");
    if (!rc)
        rc = sq_row(q, st);
    if (rc)
        goto out;
    gen = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    rc = sq_prep(q, &upd,
                 "UPDATE register SET pn_key = ?1, match_key = ?2, name_key = ?3, sealed = ?5,"
                 " withdrawn_at = NULL, import_gen = ?6 WHERE id = (SELECT id FROM register"
                 " WHERE row_key = ?4 AND import_gen <> ?6 ORDER BY id LIMIT 1)",
                 "");
    if (!rc)
        rc = sq_prep(q, &ins,
                     "INSERT INTO register (pn_key, match_key, name_key, row_key, sealed,"
                     " import_gen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     "");
    if (rc)
        goto out;
    for (;;) {
        store_person_t row;
        sq_person_row_t stored;
        int changed = 0;
        memset(&row, 0, sizeof row);
        memset(&stored, 0, sizeof stored);
        int r = next(ctx, &row);
        if (r > 0) {
            rc = sq_person_row(q, &row, &stored);
            if (!rc)
                rc = step_person(q, upd, &stored, gen, &changed);
            if (!rc && changed == 0)
                rc = step_person(q, ins, &stored, gen, NULL);
        } else if (r < 0) {
            rc = r >= WP_ERR_LIMIT ? (wp_err_t)r : WP_ERR;
        }
        free(stored.sealed);
        store_person_clear(&row);
        if (rc || r == 0)
            break;
        n++;
    }
    if (rc)
        goto out;
    rc = sq_exec(q, NULL,
                 "UPDATE register SET withdrawn_at = ? WHERE import_gen <> ?"
                 " AND withdrawn_at IS NULL",
                 "II", wp_now(), gen);
    if (rc)
        goto out;
    rc = sq_commit(q);
out:
    sqlite3_finalize(st);
    sqlite3_finalize(upd);
    sqlite3_finalize(ins);
    if (rc)
        sq_rollback(q);
    sq_unlock(q);
    if (!rc)
        *count = n;
    return rc;
}

/* Unseals into *out the row that sql (one bound key: pn_key or match_key) selects. */
static wp_err_t person_by(sq_t *q, const char *sql, const char *key, store_person_t *out)
{
    sqlite3_stmt *st = NULL;
    store_person_t p;
    memset(&p, 0, sizeof p);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st, sql, "t", key);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc)
        rc = sq_unseal_person(q, st, 0, &p);
    if (!rc) {
        *out = p;
        memset(&p, 0, sizeof p);
    }
    store_person_clear(&p);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_person_get(void *impl, const char *person_number, store_person_t *out)
{
    sq_t *q = impl;
    char key[SQ_KEY_HEX + 1];
    if (sq_need_keys(q) || !person_number)
        return WP_ERR;
    sq_pn_key(q, person_number, key);
    return person_by(q,
                     "SELECT sealed FROM register WHERE pn_key = ? AND withdrawn_at IS NULL"
                     " ORDER BY id LIMIT 1",
                     key, out);
}

/* ---- accounts and credentials */

#define ACCOUNT_COLS "id, pn_sealed, acr, proofing, created_at, proofed_at"

static wp_err_t account_query(sq_t *q, const char *sql, const char *arg, store_account_t *out)
{
    sqlite3_stmt *st = NULL;
    int bad = 0;
    store_account_t a;
    memset(&a, 0, sizeof a);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st, sql, "t", arg);
    if (rc)
        goto out;
    rc = sq_row(q, st);
    if (rc)
        goto out;
    a.id = col_str(st, 0, &bad);
    rc = sq_unseal_col(q, st, 1, &a.person_number);
    a.acr = col_str(st, 2, &bad);
    a.proofing = col_str(st, 3, &bad);
    a.created_at = sqlite3_column_int64(st, 4);
    a.proofed_at = sqlite3_column_int64(st, 5);
    if (!rc && (bad || !a.person_number))
        rc = WP_ERR;
    if (rc)
        goto out;
    *out = a;
    memset(&a, 0, sizeof a);
out:
    store_account_clear(&a);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_account_get(void *impl, const char *account_id, store_account_t *out)
{
    if (sq_need_keys(impl))
        return WP_ERR;
    return account_query(impl, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?", account_id,
                         out);
}

static wp_err_t sq_account_by_person(void *impl, const char *person_number, store_account_t *out)
{
    char key[SQ_KEY_HEX + 1];
    if (sq_need_keys(impl) || !person_number)
        return WP_ERR;
    sq_pn_key(impl, person_number, key);
    return account_query(impl, "SELECT " ACCOUNT_COLS " FROM accounts WHERE pn_key = ?", key, out);
}

/* A new random account id: 32 bytes from the CSPRNG as base64url (43 characters). */
static char *new_account_id(void)
{
    unsigned char raw[SQ_ACCOUNT_ID_BYTES];
    char *id = malloc(SQ_ACCOUNT_ID_SIZE);
    if (!id)
        return NULL;
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(id, SQ_ACCOUNT_ID_SIZE, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    return id;
}

static wp_err_t sq_account_bind_credential(void *impl, const char *person_number, const char *acr,
                                           const char *proofing, int64_t now,
                                           const store_credential_t *cred, char **account_id)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    char *id = NULL;
    char key[SQ_KEY_HEX + 1];
    uint8_t *sealed = NULL, *name = NULL;
    size_t sealed_len = 0, name_len = 0;
    int bad = 0;
    if (!person_number || !cred || !cred->cred_id || !cred->public_key || cred->public_key_len == 0)
        return WP_ERR_INVALID;
    if (sq_need_keys(q) || (cred->name && sq_seal(q, cred->name, &name, &name_len)))
        return WP_ERR;
    sq_pn_key(q, person_number, key);
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (rc)
        goto out;
    rc = sq_prep(q, &st, "SELECT id FROM accounts WHERE pn_key = ?", "t", key);
    if (rc)
        goto out;
    rc = sq_row(q, st);
    if (rc == WP_OK)
        id = col_str(st, 0, &bad);
    sqlite3_finalize(st);
    st = NULL;
    if (rc == WP_OK) {
        if (bad || !id) {
            rc = WP_ERR;
            goto out;
        }
        rc = sq_exec(q, NULL,
                     "UPDATE accounts SET acr = ?, proofing = ?, proofed_at = ? WHERE id = ?",
                     "ttIt", acr, proofing, now, id);
    } else if (rc == WP_ERR_NOTFOUND) {
        id = new_account_id();
        if (!id || sq_seal(q, person_number, &sealed, &sealed_len)) {
            rc = WP_ERR;
            goto out;
        }
        rc = sq_exec(q, NULL,
                     "INSERT INTO accounts (id, pn_key, pn_sealed, acr, proofing, created_at,"
                     " proofed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     "ttbttII", id, key, (const void *)sealed, sealed_len, acr, proofing, now, now);
    }
    if (rc)
        goto out;
    rc = sq_exec(q, NULL,
                 "INSERT INTO credentials (cred_id, account_id, public_key, alg, sign_count,"
                 " backup_eligible, backup_state, aaguid, transports, name_sealed, created_at,"
                 " last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "ttbiIiittbII", cred->cred_id, id, (const void *)cred->public_key,
                 cred->public_key_len, cred->alg, (int64_t)cred->sign_count,
                 cred->backup_eligible ? 1 : 0, cred->backup_state ? 1 : 0, cred->aaguid,
                 cred->transports, (const void *)name, name_len, now, cred->last_used_at);
    if (rc)
        goto out;
    rc = sq_commit(q);
out:
    sqlite3_finalize(st);
    if (rc)
        sq_rollback(q);
    sq_unlock(q);
    free(sealed);
    free(name);
    if (rc) {
        free(id);
        return rc;
    }
    *account_id = id;
    return WP_OK;
}

#define CREDENTIAL_COLS                                                                            \
    "cred_id, account_id, public_key, alg, sign_count, backup_eligible, backup_state, aaguid,"     \
    " transports, name_sealed, created_at, last_used_at"

/* Fills c (zeroed by the caller) from a row of CREDENTIAL_COLS, its name unsealed (WP_ERR
 * for a named passkey when the store has no keys). */
static wp_err_t read_credential(const sq_t *q, sqlite3_stmt *st, store_credential_t *c)
{
    int bad = 0;
    c->cred_id = col_str(st, 0, &bad);
    c->account_id = col_str(st, 1, &bad);
    c->public_key = col_blob(st, 2, &c->public_key_len, &bad);
    c->alg = sqlite3_column_int(st, 3);
    c->sign_count = (uint32_t)sqlite3_column_int64(st, 4);
    c->backup_eligible = sqlite3_column_int(st, 5);
    c->backup_state = sqlite3_column_int(st, 6);
    c->aaguid = col_str(st, 7, &bad);
    c->transports = col_str(st, 8, &bad);
    if (sq_unseal_opt(q, st, 9, &c->name))
        bad = 1;
    c->created_at = sqlite3_column_int64(st, 10);
    c->last_used_at = sqlite3_column_int64(st, 11);
    return bad ? WP_ERR : WP_OK;
}

static wp_err_t sq_credential_get(void *impl, const char *cred_id, store_credential_t *out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_credential_t c;
    memset(&c, 0, sizeof c);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st, "SELECT " CREDENTIAL_COLS " FROM credentials WHERE cred_id = ?",
                          "t", cred_id);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc)
        rc = read_credential(q, st, &c);
    if (!rc) {
        *out = c;
        memset(&c, 0, sizeof c);
    }
    store_credential_clear(&c);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_credential_touch(void *impl, const char *cred_id, uint32_t old_count,
                                    uint32_t new_count, int backup_state, int64_t now)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes,
                          "UPDATE credentials SET sign_count = ?, backup_state = ?,"
                          " last_used_at = ? WHERE cred_id = ? AND sign_count = ?",
                          "IiItI", (int64_t)new_count, backup_state ? 1 : 0, now, cred_id,
                          (int64_t)old_count);
    if (!rc && changes == 0) {
        /* Nothing changed: tell a missing credential from a counter that moved on. */
        sqlite3_stmt *st = NULL;
        rc = sq_prep(q, &st, "SELECT 1 FROM credentials WHERE cred_id = ?", "t", cred_id);
        if (!rc)
            rc = sq_row(q, st);
        if (!rc)
            rc = WP_ERR_USED;
        sqlite3_finalize(st);
    }
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_credential_list(void *impl, const char *account_id, store_credential_t **out,
                                   size_t *n)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_credential_t *arr = NULL;
    size_t cap = 0, count = 0;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT " CREDENTIAL_COLS " FROM credentials WHERE account_id = ?"
                          " ORDER BY created_at, rowid",
                          "t", account_id);
    while (!rc && (rc = sq_row(q, st)) == WP_OK) {
        rc = grow((void **)&arr, &cap, count, sizeof *arr);
        if (rc)
            break;
        store_credential_t *c = &arr[count++];
        memset(c, 0, sizeof *c);
        rc = read_credential(q, st, c);
    }
    if (rc == WP_ERR_NOTFOUND)
        rc = WP_OK;
    sqlite3_finalize(st);
    sq_unlock(q);
    if (rc) {
        store_credentials_free(arr, count);
        return rc;
    }
    *out = arr;
    *n = count;
    return WP_OK;
}

/* ---- one-time codes */

/* Inserts code (its person number sealed into sealed, its keyed hash in pn_key, both
 * may be NULL); lock held. */
static wp_err_t code_insert(sq_t *q, const store_code_t *code, const uint8_t *sealed,
                            size_t sealed_len, const char *pn_key)
{
    return sq_exec(q, NULL,
                   "INSERT INTO codes (hash, kind, person_sealed, acr, proofing, expires_at,"
                   " pn_key, flow_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   "ttbttItt", code->hash, code->kind, (const void *)sealed, sealed_len, code->acr,
                   code->proofing, code->expires_at, pn_key, code->flow_hash);
}

/* Adds code; with replace, first deletes the unused codes of its kind and person
 * (*cancelled, may be NULL, gets how many), in one transaction. */
static wp_err_t code_put(sq_t *q, const store_code_t *code, int replace, int *cancelled)
{
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    char pn_key[SQ_KEY_HEX + 1];
    int deleted = 0;
    wp_err_t rc;

    if (replace && !code->person_number)
        return WP_ERR_INVALID;
    if (code->person_number) {
        if (sq_need_keys(q) || sq_seal(q, code->person_number, &sealed, &sealed_len))
            return WP_ERR;
        sq_pn_key(q, code->person_number, pn_key);
    }
    sq_lock(q);
    rc = sq_begin(q);
    if (!rc && replace)
        rc = sq_exec(q, &deleted,
                     "DELETE FROM codes WHERE pn_key = ? AND kind = ? AND used_at IS NULL", "tt",
                     pn_key, code->kind);
    if (!rc)
        rc = code_insert(q, code, sealed, sealed_len, code->person_number ? pn_key : NULL);
    if (!rc)
        rc = sq_commit(q);
    sq_rollback(q);
    sq_unlock(q);
    free(sealed);
    if (!rc && cancelled)
        *cancelled = deleted;
    return rc;
}

static wp_err_t sq_code_add(void *impl, const store_code_t *code)
{
    return code_put(impl, code, 0, NULL);
}

static wp_err_t sq_code_replace(void *impl, const store_code_t *code, int *cancelled)
{
    return code_put(impl, code, 1, cancelled);
}

/* After a failed conditional take, tells why from used_at (column 0) and expires_at
 * (column 1) of the row that sql (one bound text per character of types) selects. */
static wp_err_t classify_miss(sq_t *q, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    wp_err_t rc = b ? sq_prep(q, &st, sql, "tt", a, b) : sq_prep(q, &st, sql, "t", a);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc)
        rc = sqlite3_column_type(st, 0) != SQLITE_NULL ? WP_ERR_USED : WP_ERR_EXPIRED;
    sqlite3_finalize(st);
    return rc;
}

/* A code bound to a flow is visible only in that flow (?4; NULL: in none). */
#define CODE_IN_FLOW " AND (flow_hash IS NULL OR flow_hash = ?4)"

static wp_err_t sq_code_redeem(void *impl, const char *hash, const char *kind,
                               const char *flow_hash, int64_t now, store_code_t *out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_code_t c;
    int bad = 0;
    memset(&c, 0, sizeof c);
    sq_lock(q);
    wp_err_t rc =
        sq_prep(q, &st,
                "UPDATE codes SET used_at = ?1 WHERE hash = ?2 AND kind = ?3"
                " AND used_at IS NULL AND expires_at > ?1" CODE_IN_FLOW
                " RETURNING hash, kind, person_sealed, acr, proofing, expires_at, flow_hash",
                "Ittt", now, hash, kind, flow_hash);
    if (rc)
        goto out;
    rc = sq_row(q, st);
    if (rc == WP_ERR_NOTFOUND) {
        sqlite3_finalize(st);
        st = NULL;
        rc = sq_prep(q, &st,
                     "SELECT used_at, expires_at FROM codes WHERE hash = ?2"
                     " AND kind = ?3" CODE_IN_FLOW,
                     "Ittt", now, hash, kind, flow_hash);
        if (!rc)
            rc = sq_row(q, st);
        if (!rc)
            rc = sqlite3_column_type(st, 0) != SQLITE_NULL ? WP_ERR_USED : WP_ERR_EXPIRED;
        goto out;
    }
    if (rc)
        goto out;
    c.hash = col_str(st, 0, &bad);
    c.kind = col_str(st, 1, &bad);
    if (sq_unseal_opt(q, st, 2, &c.person_number))
        bad = 1;
    c.acr = col_str(st, 3, &bad);
    c.proofing = col_str(st, 4, &bad);
    c.expires_at = sqlite3_column_int64(st, 5);
    c.flow_hash = col_str(st, 6, &bad);
    rc = sq_finish(q, st);
    if (!rc && bad)
        rc = WP_ERR;
    if (rc)
        goto out;
    *out = c;
    memset(&c, 0, sizeof c);
out:
    store_code_clear(&c);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

/* ---- flows */

static wp_err_t sq_flow_create(void *impl, const store_flow_t *f)
{
    sq_t *q = impl;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (f->person_number && (sq_need_keys(q) || sq_seal(q, f->person_number, &sealed, &sealed_len)))
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc =
        sq_exec(q, NULL,
                "INSERT INTO flows (id_hash, browser_hash, request, person_sealed, acr,"
                " proofing, code_attempts, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "tttbttiII", f->id_hash, f->browser_hash, f->request, (const void *)sealed,
                sealed_len, f->acr, f->proofing, f->code_attempts, f->created_at, f->expires_at);
    sq_unlock(q);
    free(sealed);
    return rc;
}

static wp_err_t sq_flow_get(void *impl, const char *id_hash, int64_t now, store_flow_t *out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_flow_t f;
    int bad = 0;
    memset(&f, 0, sizeof f);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT id_hash, browser_hash, request, person_sealed, acr, proofing,"
                          " code_attempts, created_at, expires_at FROM flows WHERE id_hash = ?",
                          "t", id_hash);
    if (!rc)
        rc = sq_row(q, st);
    if (rc)
        goto out;
    if (sqlite3_column_int64(st, 8) <= now) {
        rc = WP_ERR_EXPIRED;
        goto out;
    }
    f.id_hash = col_str(st, 0, &bad);
    f.browser_hash = col_str(st, 1, &bad);
    f.request = col_str(st, 2, &bad);
    if (sq_unseal_opt(q, st, 3, &f.person_number))
        bad = 1;
    f.acr = col_str(st, 4, &bad);
    f.proofing = col_str(st, 5, &bad);
    f.code_attempts = sqlite3_column_int(st, 6);
    f.created_at = sqlite3_column_int64(st, 7);
    f.expires_at = sqlite3_column_int64(st, 8);
    if (bad) {
        rc = WP_ERR;
        goto out;
    }
    *out = f;
    memset(&f, 0, sizeof f);
out:
    store_flow_clear(&f);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_flow_set_proofed(void *impl, const char *id_hash, const char *person_number,
                                    const char *acr, const char *proofing)
{
    sq_t *q = impl;
    int changes = 0;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (person_number && (sq_need_keys(q) || sq_seal(q, person_number, &sealed, &sealed_len)))
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes,
                          "UPDATE flows SET person_sealed = ?, acr = ?, proofing = ?"
                          " WHERE id_hash = ?",
                          "bttt", (const void *)sealed, sealed_len, acr, proofing, id_hash);
    sq_unlock(q);
    free(sealed);
    if (!rc && changes == 0)
        rc = WP_ERR_NOTFOUND;
    return rc;
}

static wp_err_t sq_flow_code_failed(void *impl, const char *id_hash, int max, int *attempts)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "UPDATE flows SET code_attempts = code_attempts + 1 WHERE id_hash = ?"
                          " RETURNING code_attempts",
                          "t", id_hash);
    if (!rc)
        rc = sq_row(q, st);
    if (rc)
        goto out;
    int n = sqlite3_column_int(st, 0);
    rc = sq_finish(q, st);
    if (rc)
        goto out;
    if (attempts)
        *attempts = n;
    if (n > max)
        rc = WP_ERR_LIMIT;
out:
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_flow_update(void *impl, const char *id_hash, const char *request,
                               int64_t expires_at, int64_t now)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes,
                          "UPDATE flows SET request = coalesce(?, request),"
                          " expires_at = max(expires_at, ?) WHERE id_hash = ? AND expires_at > ?",
                          "tItI", request, expires_at, id_hash, now);
    sq_unlock(q);
    if (!rc && changes == 0)
        rc = WP_ERR_NOTFOUND;
    return rc;
}

static wp_err_t sq_flow_delete(void *impl, const char *id_hash)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (!rc)
        rc = sq_exec(q, NULL, "DELETE FROM challenges WHERE flow_hash = ?", "t", id_hash);
    if (!rc)
        rc = sq_exec(q, NULL, "DELETE FROM flows WHERE id_hash = ?", "t", id_hash);
    if (!rc)
        rc = sq_commit(q);
    if (rc)
        sq_rollback(q);
    sq_unlock(q);
    return rc;
}

/* ---- WebAuthn challenges */

static wp_err_t sq_challenge_put(void *impl, const char *flow_hash, const char *kind,
                                 const char *challenge_b64, int64_t expires_at)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL,
                          "INSERT INTO challenges (flow_hash, kind, challenge, expires_at)"
                          " VALUES (?, ?, ?, ?) ON CONFLICT (flow_hash, kind) DO UPDATE"
                          " SET challenge = excluded.challenge, expires_at = excluded.expires_at",
                          "tttI", flow_hash, kind, challenge_b64, expires_at);
    sq_unlock(q);
    return rc;
}

/* Deletes the one row that sql (a DELETE ... RETURNING text, expires_at, binding a and b)
 * names and hands its text to *out: the shared single-use take of challenges and pushed
 * requests. WP_ERR_NOTFOUND, or WP_ERR_EXPIRED (the row is gone all the same). */
static wp_err_t sq_take_text(sq_t *q, const char *sql, const char *a, const char *b, int64_t now,
                             char **out)
{
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    int bad = 0;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st, sql, "tt", a, b);
    if (!rc)
        rc = sq_row(q, st);
    if (rc)
        goto out;
    int64_t expires_at = sqlite3_column_int64(st, 1);
    text = col_str(st, 0, &bad);
    rc = sq_finish(q, st);
    if (!rc && (bad || !text))
        rc = WP_ERR;
    if (!rc && expires_at <= now)
        rc = WP_ERR_EXPIRED;
    if (rc)
        goto out;
    *out = text;
    text = NULL;
out:
    free(text);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_challenge_take(void *impl, const char *flow_hash, const char *kind, int64_t now,
                                  char **challenge_b64)
{
    return sq_take_text(impl,
                        "DELETE FROM challenges WHERE flow_hash = ? AND kind = ?"
                        " RETURNING challenge, expires_at",
                        flow_hash, kind, now, challenge_b64);
}

/* ---- sessions */

static wp_err_t sq_session_create(void *impl, const store_session_t *x)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc =
        sq_exec(q, NULL,
                "INSERT INTO sessions (hash, sid, account_id, acr, auth_time,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                "ttttII", x->hash, x->sid, x->account_id, x->acr, x->auth_time, x->expires_at);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_session_get(void *impl, const char *hash, int64_t now, store_session_t *out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_session_t x;
    int bad = 0;
    memset(&x, 0, sizeof x);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT hash, sid, account_id, acr, auth_time, expires_at"
                          " FROM sessions WHERE hash = ?",
                          "t", hash);
    if (!rc)
        rc = sq_row(q, st);
    if (rc)
        goto out;
    if (sqlite3_column_int64(st, 5) <= now) {
        rc = WP_ERR_EXPIRED;
        goto out;
    }
    x.hash = col_str(st, 0, &bad);
    x.sid = col_str(st, 1, &bad);
    x.account_id = col_str(st, 2, &bad);
    x.acr = col_str(st, 3, &bad);
    x.auth_time = sqlite3_column_int64(st, 4);
    x.expires_at = sqlite3_column_int64(st, 5);
    if (bad) {
        rc = WP_ERR;
        goto out;
    }
    *out = x;
    memset(&x, 0, sizeof x);
out:
    store_session_clear(&x);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_session_delete(void *impl, const char *hash)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL, "DELETE FROM sessions WHERE hash = ?", "t", hash);
    sq_unlock(q);
    return rc;
}

/* ---- authorization codes */

static wp_err_t sq_authcode_add(void *impl, const store_authcode_t *c)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc =
        sq_exec(q, NULL,
                "INSERT INTO authcodes (hash, client_id, redirect_uri, code_challenge,"
                " nonce, account_id, scope, acr, sid, claims, auth_time, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "ttttttttttII", c->hash, c->client_id, c->redirect_uri, c->code_challenge, c->nonce,
                c->account_id, c->scope, c->acr, c->sid, c->claims, c->auth_time, c->expires_at);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_authcode_take(void *impl, const char *hash, int64_t now, store_authcode_t *out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_authcode_t c;
    int bad = 0;
    memset(&c, 0, sizeof c);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "UPDATE authcodes SET used_at = ?1 WHERE hash = ?2"
                          " AND used_at IS NULL AND expires_at > ?1"
                          " RETURNING hash, client_id, redirect_uri, code_challenge, nonce,"
                          " account_id, scope, acr, sid, claims, auth_time, expires_at",
                          "It", now, hash);
    if (rc)
        goto out;
    rc = sq_row(q, st);
    if (rc == WP_ERR_NOTFOUND) {
        rc = classify_miss(q, "SELECT used_at, expires_at FROM authcodes WHERE hash = ?", hash,
                           NULL);
        goto out;
    }
    if (rc)
        goto out;
    c.hash = col_str(st, 0, &bad);
    c.client_id = col_str(st, 1, &bad);
    c.redirect_uri = col_str(st, 2, &bad);
    c.code_challenge = col_str(st, 3, &bad);
    c.nonce = col_str(st, 4, &bad);
    c.account_id = col_str(st, 5, &bad);
    c.scope = col_str(st, 6, &bad);
    c.acr = col_str(st, 7, &bad);
    c.sid = col_str(st, 8, &bad);
    c.claims = col_str(st, 9, &bad);
    c.auth_time = sqlite3_column_int64(st, 10);
    c.expires_at = sqlite3_column_int64(st, 11);
    rc = sq_finish(q, st);
    if (!rc && bad)
        rc = WP_ERR;
    if (rc)
        goto out;
    *out = c;
    memset(&c, 0, sizeof c);
out:
    store_authcode_clear(&c);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

/* ---- rate-limit windows */

/* Start of the fixed window of window_secs seconds that contains now. */
static int64_t window_start(int window_secs, int64_t now)
{
    int64_t w = window_secs;
    int64_t r = now % w;
    if (r < 0)
        r += w;
    return now - r;
}

static wp_err_t sq_ratelimit_count(void *impl, const char *key, int window_secs, int64_t now,
                                   int *count)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    if (!key || window_secs <= 0)
        return WP_ERR_INVALID;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT count FROM ratelimits WHERE key = ? AND window_secs = ?"
                          " AND window_start = ?",
                          "tiI", key, window_secs, window_start(window_secs, now));
    if (!rc)
        rc = sq_row(q, st);
    if (rc == WP_OK)
        *count = sqlite3_column_int(st, 0);
    else if (rc == WP_ERR_NOTFOUND) {
        *count = 0;
        rc = WP_OK;
    }
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_ratelimit_add(void *impl, const char *key, int window_secs, int64_t now,
                                 int *count)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    if (!key || window_secs <= 0)
        return WP_ERR_INVALID;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "INSERT INTO ratelimits (key, window_secs, window_start, count)"
                          " VALUES (?, ?, ?, 1) ON CONFLICT (key, window_secs, window_start)"
                          " DO UPDATE SET count = count + 1 RETURNING count",
                          "tiI", key, window_secs, window_start(window_secs, now));
    if (!rc)
        rc = sq_row(q, st);
    if (rc == WP_ERR_NOTFOUND)
        rc = WP_ERR;
    if (rc)
        goto out;
    int n = sqlite3_column_int(st, 0);
    rc = sq_finish(q, st);
    if (!rc && count)
        *count = n;
out:
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

/* ==== issue 5: audit log, account self-service, staff, recovery cases ==== */

/* Appends each remaining row of st to arr as an object keyed by column name; a column
 * named "x_json" holds JSON text and becomes member "x" (null when absent or invalid).
 * Returns WP_OK at the end of the rows. */
static wp_err_t sq_rows_json(sq_t *q, sqlite3_stmt *st, json_t *arr)
{
    wp_err_t rc;
    while ((rc = sq_row(q, st)) == WP_OK) {
        json_t *o = json_object();
        if (!o || json_array_append_new(arr, o))
            return WP_ERR;
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            size_t len = strlen(name);
            json_t *v;
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL:
                v = json_null();
                break;
            case SQLITE_INTEGER:
                v = json_integer(sqlite3_column_int64(st, i));
                break;
            default:
                if (len > 5 && strcmp(name + len - 5, "_json") == 0) {
                    v = json_loads((const char *)sqlite3_column_text(st, i), 0, NULL);
                    if (!v)
                        v = json_null();
                } else {
                    v = json_string((const char *)sqlite3_column_text(st, i));
                }
            }
            char key[64];
            snprintf(key, sizeof key, "%.*s",
                     (int)(len > 5 && strcmp(name + len - 5, "_json") == 0 ? len - 5 : len), name);
            if (!v || json_object_set_new(o, key, v))
                return WP_ERR;
        }
    }
    return rc == WP_ERR_NOTFOUND ? WP_OK : rc;
}

/* Runs a prepared query into a new array *out (json_decref); finalizes st. */
static wp_err_t sq_query_json(sq_t *q, sqlite3_stmt *st, wp_err_t rc, json_t **out)
{
    json_t *arr = json_array();
    if (!rc && !arr)
        rc = WP_ERR;
    if (!rc)
        rc = sq_rows_json(q, st, arr);
    sqlite3_finalize(st);
    if (!rc) {
        *out = arr;
        arr = NULL;
    }
    json_decref(arr);
    return rc;
}

/* The first object of a query, or WP_ERR_NOTFOUND. */
static wp_err_t sq_query_one(sq_t *q, sqlite3_stmt *st, wp_err_t rc, json_t **out)
{
    json_t *arr = NULL;
    rc = sq_query_json(q, st, rc, &arr);
    if (!rc && json_array_size(arr) == 0)
        rc = WP_ERR_NOTFOUND;
    if (!rc)
        *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return rc;
}

/* ---- audit log */

#define AUDIT_HASH_HEX 64
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

static wp_err_t sq_audit_append(void *impl, json_t *entry, store_audit_hash_t hash, int64_t *seq)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    char prev[AUDIT_HASH_HEX + 1] = AUDIT_GENESIS, h[AUDIT_HASH_HEX + 1];
    int64_t next = 1;
    char *details = NULL;
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (!rc)
        rc = sq_prep(q, &st, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", "");
    if (!rc) {
        rc = sq_row(q, st);
        if (rc == WP_OK) {
            next = sqlite3_column_int64(st, 0) + 1;
            snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(st, 1));
        } else if (rc == WP_ERR_NOTFOUND) {
            rc = WP_OK;
        }
    }
    sqlite3_finalize(st);
    if (rc)
        goto out;
    if (json_object_set_new(entry, "seq", json_integer(next)) ||
        json_object_set_new(entry, "prev", json_string(prev))) {
        rc = WP_ERR;
        goto out;
    }
    hash(entry, h);
    details = json_dumps(json_object_get(entry, "details"), JSON_COMPACT | JSON_SORT_KEYS);
    if (!details) {
        rc = WP_ERR;
        goto out;
    }
    rc = sq_exec(q, NULL,
                 "INSERT INTO audit_log (seq, at, event, actor, subject, details, prev_hash, hash)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 "IItttttt", next, (int64_t)json_integer_value(json_object_get(entry, "at")),
                 json_string_value(json_object_get(entry, "event")),
                 json_string_value(json_object_get(entry, "actor")),
                 json_string_value(json_object_get(entry, "subject")), details, prev, h);
    if (!rc)
        rc = sq_commit(q);
out:
    if (rc)
        sq_rollback(q);
    sq_unlock(q);
    free(details);
    if (!rc && seq)
        *seq = next;
    return rc;
}

static wp_err_t sq_audit_list(void *impl, const char *subject, const char *event, int64_t after_seq,
                              int limit, int newest_first, json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    sq_lock(q);
    wp_err_t rc =
        sq_prep(q, &st,
                newest_first ? "SELECT seq, at, event, actor, subject, details AS details_json,"
                               " prev_hash AS prev, hash FROM audit_log WHERE seq > ?"
                               " AND (?2 IS NULL OR subject = ?2) AND (?3 IS NULL OR event = ?3)"
                               " ORDER BY seq DESC LIMIT ?4"
                             : "SELECT seq, at, event, actor, subject, details AS details_json,"
                               " prev_hash AS prev, hash FROM audit_log WHERE seq > ?"
                               " AND (?2 IS NULL OR subject = ?2) AND (?3 IS NULL OR event = ?3)"
                               " ORDER BY seq LIMIT ?4",
                "Itti", after_seq, subject, event, limit);
    rc = sq_query_json(q, st, rc, out);
    sq_unlock(q);
    return rc;
}

/* ---- account self-service */

static wp_err_t sq_changed(sq_t *q, const char *sql, const char *types, const char *a,
                           const char *b, const char *c)
{
    int changes = 0;
    sq_lock(q);
    wp_err_t rc =
        c ? sq_exec(q, &changes, sql, types, a, b, c) : sq_exec(q, &changes, sql, types, a, b);
    sq_unlock(q);
    if (!rc && changes == 0)
        rc = WP_ERR_NOTFOUND;
    return rc;
}

static wp_err_t sq_credential_rename(void *impl, const char *account_id, const char *cred_id,
                                     const char *name)
{
    sq_t *q = impl;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    int changes = 0;
    if (name && (sq_need_keys(q) || sq_seal(q, name, &sealed, &sealed_len)))
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes,
                          "UPDATE credentials SET name_sealed = ? WHERE account_id = ?"
                          " AND cred_id = ?",
                          "btt", (const void *)sealed, sealed_len, account_id, cred_id);
    sq_unlock(q);
    free(sealed);
    if (!rc && changes == 0)
        rc = WP_ERR_NOTFOUND;
    return rc;
}

static wp_err_t sq_credential_remove(void *impl, const char *account_id, const char *cred_id)
{
    return sq_changed(impl, "DELETE FROM credentials WHERE account_id = ? AND cred_id = ?", "tt",
                      account_id, cred_id, NULL);
}

static wp_err_t sq_account_sessions_end(void *impl, const char *account_id, int *ended)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc =
        sq_exec(q, &changes, "DELETE FROM sessions WHERE account_id = ?", "t", account_id);
    sq_unlock(q);
    if (!rc && ended)
        *ended = changes;
    return rc;
}

static wp_err_t sq_account_reset(void *impl, const char *account_id, int *removed)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (!rc)
        rc = sq_exec(q, &changes, "DELETE FROM credentials WHERE account_id = ?", "t", account_id);
    if (!rc)
        rc = sq_exec(q, NULL, "DELETE FROM sessions WHERE account_id = ?", "t", account_id);
    if (!rc)
        rc = sq_commit(q);
    if (rc)
        sq_rollback(q);
    sq_unlock(q);
    if (!rc && removed)
        *removed = changes;
    return rc;
}

#define SEARCH_MAX 20

typedef struct {
    json_t *o; /* {person_number, family_name, given_names, birthdate, contact_email} */
} search_hit_t;

/* Orders search results by family name, then person number (as the console lists them). */
static int search_order(const void *a, const void *b)
{
    const json_t *x = ((const search_hit_t *)a)->o, *y = ((const search_hit_t *)b)->o;
    int c = strcmp(json_string_value(json_object_get(x, "family_name")),
                   json_string_value(json_object_get(y, "family_name")));
    return c ? c
             : strcmp(json_string_value(json_object_get(x, "person_number")),
                      json_string_value(json_object_get(y, "person_number")));
}

/* Looks up by pn_key, or else by name_key (family name folded, birthdate), one row (the
 * first) per person, withdrawn rows included; unseals them and returns the first
 * SEARCH_MAX in the console's order. */
static wp_err_t sq_person_search(void *impl, const char *person_number, const char *family_name,
                                 const char *birthdate, json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    search_hit_t *found = NULL;
    json_t *arr = NULL;
    size_t n = 0, cap = 0;
    char pk[SQ_KEY_HEX + 1], nk[SQ_KEY_HEX + 1];
    if (sq_need_keys(q))
        return WP_ERR;
    if (person_number)
        sq_pn_key(q, person_number, pk);
    else if (sq_name_key(q, family_name, birthdate, nk))
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT sealed FROM register WHERE id IN (SELECT min(id) FROM register"
                          " WHERE pn_key = ?1 OR (?1 IS NULL AND name_key = ?2) GROUP BY pn_key)"
                          " ORDER BY id LIMIT 1000", /* persons unsealed at most */
                          "tt", person_number ? pk : NULL, person_number ? NULL : nk);
    while (!rc && (rc = sq_row(q, st)) == WP_OK) {
        store_person_t p;
        memset(&p, 0, sizeof p);
        rc = grow((void **)&found, &cap, n, sizeof *found);
        if (!rc)
            rc = sq_unseal_person(q, st, 0, &p);
        if (!rc) {
            found[n].o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "person_number", p.person_number,
                                   "family_name", p.family_name, "given_names", p.given_names,
                                   "birthdate", p.birthdate, "contact_email", p.contact_email);
            rc = found[n].o ? WP_OK : WP_ERR;
            n += found[n].o != NULL;
        }
        store_person_clear(&p);
    }
    if (rc == WP_ERR_NOTFOUND)
        rc = WP_OK;
    sqlite3_finalize(st);
    sq_unlock(q);
    if (!rc && !(arr = json_array()))
        rc = WP_ERR;
    if (!rc && n > 1)
        qsort(found, n, sizeof *found, search_order);
    for (size_t i = 0; !rc && i < n && i < SEARCH_MAX; i++)
        if (json_array_append(arr, found[i].o))
            rc = WP_ERR;
    for (size_t i = 0; i < n; i++)
        json_decref(found[i].o);
    free(found);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return WP_OK;
}

/* ---- sealed texts in rows read as JSON (sq_rows_json): selected as hex(column) */

/* Replaces member hex_name of o (the hex of a sealed text; empty for SQL NULL) by member
 * name holding the text: a string, or with as_json the JSON value the text holds (null
 * when it is not JSON, as sq_rows_json does). WP_ERR when it is absent or does not unseal;
 * o may then be half changed. */
static wp_err_t sq_unseal_member(const sq_t *q, json_t *o, const char *hex_name, const char *name,
                                 int as_json)
{
    const char *hex = json_string_value(json_object_get(o, hex_name));
    size_t hex_len = hex ? strlen(hex) : 0, len = hex_len / 2, got = 0, pt_len = 0;
    uint8_t *bin = len ? malloc(len) : NULL, *pt = NULL;
    json_t *v = NULL;
    wp_err_t rc = WP_ERR;
    if (!bin || sodium_hex2bin(bin, len, hex, hex_len, NULL, &got, NULL) != 0 || got != len)
        goto out;
    if (seal_decrypt(q->seal_key, bin, len, &pt, &pt_len) != 0) {
        WP_LOG_ERR("storage: a sealed %s does not unseal (another master key?)", name);
        goto out;
    }
    if (as_json) {
        v = json_loadb((const char *)pt, pt_len, 0, NULL);
        if (!v)
            v = json_null();
    } else {
        v = json_stringn((const char *)pt, pt_len);
    }
    if (v && json_object_set_new(o, name, v) == 0 && json_object_del(o, hex_name) == 0)
        rc = WP_OK;
out:
    if (pt) {
        sodium_memzero(pt, pt_len);
        free(pt);
    }
    free(bin);
    return rc;
}

/* ---- staff */

static wp_err_t sq_staff_add(void *impl, const json_t *staff)
{
    sq_t *q = impl;
    const char *name = json_string_value(json_object_get(staff, "name"));
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (!name)
        return WP_ERR_INVALID;
    if (sq_need_keys(q) || sq_seal(q, name, &sealed, &sealed_len))
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc = sq_exec(
        q, NULL, "INSERT INTO staff (id, name_sealed, role, created_at) VALUES (?, ?, ?, ?)",
        "tbtI", json_string_value(json_object_get(staff, "id")), (const void *)sealed, sealed_len,
        json_string_value(json_object_get(staff, "role")),
        (int64_t)json_integer_value(json_object_get(staff, "created_at")));
    sq_unlock(q);
    free(sealed);
    return rc;
}

static wp_err_t sq_staff_get(void *impl, const char *id, json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    json_t *o = NULL;
    if (sq_need_keys(q))
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT id, hex(name_sealed) AS name_sealed_hex, role, created_at"
                          " FROM staff WHERE id = ?",
                          "t", id);
    rc = sq_query_one(q, st, rc, &o);
    sq_unlock(q);
    if (!rc)
        rc = sq_unseal_member(q, o, "name_sealed_hex", "name", 0);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return WP_OK;
}

static wp_err_t sq_staff_credential_add(void *impl, const store_credential_t *c)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL,
                          "INSERT INTO staff_credentials (cred_id, staff_id, public_key, alg,"
                          " sign_count, backup_eligible, backup_state, created_at)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          "ttbiIiiI", c->cred_id, c->account_id, c->public_key, c->public_key_len,
                          c->alg, (int64_t)c->sign_count, c->backup_eligible ? 1 : 0,
                          c->backup_state ? 1 : 0, c->created_at);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_staff_credential_get(void *impl, const char *cred_id, store_credential_t *out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_credential_t c;
    memset(&c, 0, sizeof c);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT cred_id, staff_id, public_key, alg, sign_count, backup_eligible,"
                          " backup_state, NULL, NULL, NULL, created_at, last_used_at"
                          " FROM staff_credentials WHERE cred_id = ?",
                          "t", cred_id);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc)
        rc = read_credential(q, st, &c);
    if (!rc) {
        *out = c;
        memset(&c, 0, sizeof c);
    }
    store_credential_clear(&c);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_staff_credential_touch(void *impl, const char *cred_id, uint32_t old_count,
                                          uint32_t new_count, int64_t now)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes,
                          "UPDATE staff_credentials SET sign_count = ?, last_used_at = ?"
                          " WHERE cred_id = ? AND sign_count = ?",
                          "IItI", (int64_t)new_count, now, cred_id, (int64_t)old_count);
    sq_unlock(q);
    if (!rc && changes == 0)
        rc = WP_ERR_USED;
    return rc;
}

static wp_err_t sq_staff_session_create(void *impl, const char *hash, const char *staff_id,
                                        int64_t now, int64_t expires_at)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL,
                          "INSERT INTO staff_sessions (hash, staff_id, last_seen, expires_at)"
                          " VALUES (?, ?, ?, ?)",
                          "ttII", hash, staff_id, now, expires_at);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_staff_session_get(void *impl, const char *hash, int64_t now, int idle,
                                     char **staff_id)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    int bad = 0;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "UPDATE staff_sessions SET last_seen = ?1 WHERE hash = ?2"
                          " AND last_seen > ?1 - ?3 AND expires_at > ?1 RETURNING staff_id",
                          "Iti", now, hash, idle);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc) {
        char *id = col_str(st, 0, &bad);
        rc = sq_finish(q, st);
        if (!rc && (bad || !id))
            rc = WP_ERR;
        if (!rc)
            *staff_id = id;
        else
            free(id);
    } else if (rc == WP_ERR_NOTFOUND) {
        int changes = 0;
        if (sq_exec(q, &changes, "DELETE FROM staff_sessions WHERE hash = ?", "t", hash) == WP_OK &&
            changes > 0)
            rc = WP_ERR_EXPIRED;
    }
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_staff_session_delete(void *impl, const char *hash)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL, "DELETE FROM staff_sessions WHERE hash = ?", "t", hash);
    sq_unlock(q);
    return rc;
}

/* ---- recovery cases */

/* The *_sealed_hex columns become person_number, reason and evidence in case_unseal. */
#define CASE_COLS                                                                                  \
    "id, hex(pn_sealed) AS pn_sealed_hex, opened_by, hex(reason_sealed) AS reason_sealed_hex,"     \
    " hex(evidence_sealed) AS evidence_sealed_hex,"                                                \
    " verified_call, status, approved_by, code_expires_at, not_before, attempts, created_at,"      \
    " updated_at"

/* Replaces the sealed members of case c by person_number, reason and evidence, unsealed. */
static wp_err_t case_unseal(const sq_t *q, json_t *c)
{
    if (sq_unseal_member(q, c, "pn_sealed_hex", "person_number", 0) ||
        sq_unseal_member(q, c, "reason_sealed_hex", "reason", 0) ||
        sq_unseal_member(q, c, "evidence_sealed_hex", "evidence", 1))
        return WP_ERR;
    return WP_OK;
}

/* case_unseal over every case of arr. */
static wp_err_t cases_unseal(const sq_t *q, json_t *arr)
{
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        if (case_unseal(q, c))
            return WP_ERR;
    }
    return WP_OK;
}

static wp_err_t sq_case_open(void *impl, const json_t *c)
{
    sq_t *q = impl;
    const char *pn = json_string_value(json_object_get(c, "person_number"));
    const char *reason = json_string_value(json_object_get(c, "reason"));
    char key[SQ_KEY_HEX + 1];
    char *evidence = NULL;
    uint8_t *sealed = NULL, *reason_box = NULL, *evidence_box = NULL;
    size_t sealed_len = 0, reason_len = 0, evidence_len = 0;
    wp_err_t rc = WP_ERR_INVALID;
    if (!pn || !reason)
        goto out;
    evidence = json_dumps(json_object_get(c, "evidence"), JSON_COMPACT | JSON_SORT_KEYS);
    if (!evidence)
        goto out;
    rc = WP_ERR;
    if (sq_need_keys(q) || sq_seal(q, pn, &sealed, &sealed_len) ||
        sq_seal(q, reason, &reason_box, &reason_len) ||
        sq_seal(q, evidence, &evidence_box, &evidence_len))
        goto out;
    sq_pn_key(q, pn, key);
    int64_t now = (int64_t)json_integer_value(json_object_get(c, "created_at"));
    sq_lock(q);
    rc =
        sq_exec(q, NULL,
                "INSERT INTO recovery_cases (id, pn_key, pn_sealed, opened_by, reason_sealed,"
                " evidence_sealed, verified_call, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                "ttbtbbiII", json_string_value(json_object_get(c, "id")), key, (const void *)sealed,
                sealed_len, json_string_value(json_object_get(c, "opened_by")),
                (const void *)reason_box, reason_len, (const void *)evidence_box, evidence_len,
                json_is_true(json_object_get(c, "verified_call")) ? 1 : 0, now, now);
    sq_unlock(q);
out:
    sq_free_secret(evidence);
    free(sealed);
    free(reason_box);
    free(evidence_box);
    return rc;
}

static wp_err_t sq_case_get(void *impl, const char *id, json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    json_t *c = NULL;
    if (sq_need_keys(q))
        return WP_ERR;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st, "SELECT " CASE_COLS " FROM recovery_cases WHERE id = ?", "t", id);
    rc = sq_query_one(q, st, rc, &c);
    sq_unlock(q);
    if (!rc)
        rc = case_unseal(q, c);
    if (rc) {
        json_decref(c);
        return rc;
    }
    *out = c;
    return WP_OK;
}

static wp_err_t sq_case_list(void *impl, const char *person_number, const char *status,
                             json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    json_t *arr = NULL;
    char key[SQ_KEY_HEX + 1];
    if (sq_need_keys(q))
        return WP_ERR;
    if (person_number)
        sq_pn_key(q, person_number, key);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT " CASE_COLS " FROM recovery_cases WHERE"
                          " (?1 IS NULL OR pn_key = ?1) AND (?2 IS NULL OR status = ?2)"
                          " ORDER BY created_at DESC, rowid DESC LIMIT 50",
                          "tt", person_number ? key : NULL, status);
    rc = sq_query_json(q, st, rc, &arr);
    sq_unlock(q);
    if (!rc)
        rc = cases_unseal(q, arr);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return WP_OK;
}

static wp_err_t sq_case_approve(void *impl, const char *id, const char *approver,
                                const char *code_hash, int64_t code_expires_at, int64_t not_before,
                                int64_t now)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    char *person = NULL;
    int changes = 0, bad = 0;
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (!rc)
        rc = sq_prep(q, &st, "SELECT opened_by, status, pn_key FROM recovery_cases WHERE id = ?",
                     "t", id);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc) {
        if (strcmp((const char *)sqlite3_column_text(st, 0), approver) == 0)
            rc = WP_ERR_INVALID;
        else if (strcmp((const char *)sqlite3_column_text(st, 1), "open") != 0)
            rc = WP_ERR_USED;
        else
            person = col_str(st, 2, &bad);
        if (!rc && bad)
            rc = WP_ERR;
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = sq_exec(q, NULL,
                     "UPDATE recovery_cases SET status = 'void', updated_at = ? WHERE"
                     " pn_key = ? AND status = 'approved'",
                     "It", now, person);
    if (!rc)
        rc =
            sq_exec(q, &changes,
                    "UPDATE recovery_cases SET status = 'approved', approved_by = ?,"
                    " code_hash = ?, code_expires_at = ?, not_before = ?, attempts = 0,"
                    " updated_at = ? WHERE id = ? AND status = 'open' AND opened_by <> ?",
                    "ttIIItt", approver, code_hash, code_expires_at, not_before, now, id, approver);
    if (!rc && changes != 1)
        rc = WP_ERR_USED;
    if (!rc)
        rc = sq_commit(q);
    if (rc)
        sq_rollback(q);
    sq_unlock(q);
    free(person);
    return rc;
}

static wp_err_t sq_case_reopen(void *impl, const char *id, const char *approver, int64_t now)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes,
                          "UPDATE recovery_cases SET status = 'open', approved_by = NULL,"
                          " code_hash = NULL, code_expires_at = NULL, not_before = NULL,"
                          " attempts = 0, updated_at = ? WHERE id = ? AND status = 'approved'"
                          " AND approved_by = ?",
                          "Itt", now, id, approver);
    if (!rc && changes != 1)
        rc = WP_ERR_USED;
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_case_redeem(void *impl, const char *person_number, const char *code_hash,
                               int64_t now, int max_attempts, json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    json_t *c = NULL;
    char *stored = NULL;
    char key[SQ_KEY_HEX + 1];
    int bad = 0;
    if (sq_need_keys(q) || !person_number)
        return WP_ERR;
    sq_pn_key(q, person_number, key);
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (!rc)
        rc = sq_prep(q, &st,
                     "SELECT " CASE_COLS ", code_hash FROM recovery_cases WHERE pn_key = ?"
                     " AND status = 'approved' ORDER BY updated_at DESC LIMIT 1",
                     "t", key);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc) {
        stored = col_str(st, 13, &bad);
        sqlite3_reset(st);
        json_t *arr = json_array();
        rc = arr ? sq_rows_json(q, st, arr) : WP_ERR;
        c = json_incref(json_array_get(arr, 0));
        json_decref(arr);
        if (!rc && (bad || !c || !stored))
            rc = WP_ERR;
        if (!rc)
            rc = case_unseal(q, c);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
        goto out;
    json_object_del(c, "code_hash");
    const char *id = json_string_value(json_object_get(c, "id"));
    if (json_integer_value(json_object_get(c, "code_expires_at")) <= now) {
        rc = WP_ERR_EXPIRED;
    } else if (strlen(stored) != strlen(code_hash) ||
               sodium_memcmp(stored, code_hash, strlen(stored)) != 0) {
        int attempts = (int)json_integer_value(json_object_get(c, "attempts")) + 1;
        rc = sq_exec(q, NULL,
                     "UPDATE recovery_cases SET attempts = ?, status = ?, updated_at = ?"
                     " WHERE id = ?",
                     "itIt", attempts, attempts >= max_attempts ? "locked" : "approved", now, id);
        if (!rc)
            rc = attempts >= max_attempts ? WP_ERR_USED : WP_ERR_INVALID;
    } else if (json_integer_value(json_object_get(c, "not_before")) > now) {
        rc = WP_ERR_LIMIT;
    } else {
        rc = sq_exec(q, NULL,
                     "UPDATE recovery_cases SET status = 'redeemed', code_hash = NULL,"
                     " updated_at = ? WHERE id = ?",
                     "It", now, id);
        if (!rc)
            json_object_set_new(c, "status", json_string("redeemed"));
    }
    if (rc == WP_OK || rc == WP_ERR_INVALID || rc == WP_ERR_USED || rc == WP_ERR_LIMIT ||
        rc == WP_ERR_EXPIRED) {
        wp_err_t crc = sq_commit(q);
        if (crc)
            rc = crc;
    }
out:
    sq_rollback(q);
    sq_unlock(q);
    free(stored);
    if (rc == WP_OK || rc == WP_ERR_LIMIT) {
        *out = c;
        c = NULL;
    }
    json_decref(c);
    return rc;
}
/* ==== end of issue 5 ==== */

/* ==== issue 3: grants, refresh and access tokens, assertion jtis, PAR, session clients */

static wp_err_t sq_grant_add(void *impl, const store_grant_t *g)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL,
                          "INSERT INTO grants (family, client_id, account_id, scope, acr, sid,"
                          " code_hash, auth_time, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          "tttttttII", g->family, g->client_id, g->account_id, g->scope, g->acr,
                          g->sid, g->code_hash, g->auth_time, g->expires_at);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_grant_revoke(void *impl, const char *family, int64_t now)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc =
        sq_exec(q, NULL, "UPDATE grants SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
                "It", now, family);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_grant_revoke_code(void *impl, const char *code_hash, int64_t now)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(
        q, NULL, "UPDATE grants SET revoked_at = ? WHERE code_hash = ? AND revoked_at IS NULL",
        "It", now, code_hash);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_access_add(void *impl, const char *jti, const char *family, int64_t expires_at)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc =
        sq_exec(q, NULL, "INSERT INTO access_tokens (jti, family, expires_at) VALUES (?, ?, ?)",
                "ttI", jti, family, expires_at);
    /* The grant outlives its tokens, so a revoked grant stays revoked for all of them. */
    if (!rc)
        rc = sq_exec(q, NULL, "UPDATE grants SET expires_at = MAX(expires_at, ?) WHERE family = ?",
                     "It", expires_at, family);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_access_check(void *impl, const char *jti)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT a.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL"
                          " FROM access_tokens a LEFT JOIN grants g ON g.family = a.family"
                          " WHERE a.jti = ?",
                          "t", jti);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc && sqlite3_column_int(st, 0))
        rc = WP_ERR_USED;
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_access_revoke(void *impl, const char *jti, int64_t now)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(
        q, NULL, "UPDATE access_tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL",
        "It", now, jti);
    sq_unlock(q);
    return rc;
}

/* Inserts a refresh token and stretches its grant's lifetime; lock held. */
static wp_err_t refresh_insert(sq_t *q, const char *hash, const char *family, int64_t issued_at,
                               int64_t expires_at)
{
    wp_err_t rc = sq_exec(q, NULL,
                          "INSERT INTO refresh_tokens (hash, family, issued_at, expires_at)"
                          " VALUES (?, ?, ?, ?)",
                          "ttII", hash, family, issued_at, expires_at);
    if (!rc)
        rc = sq_exec(q, NULL, "UPDATE grants SET expires_at = MAX(expires_at, ?) WHERE family = ?",
                     "It", expires_at, family);
    return rc;
}

static wp_err_t sq_refresh_add(void *impl, const char *hash, const char *family, int64_t issued_at,
                               int64_t expires_at)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (!rc)
        rc = refresh_insert(q, hash, family, issued_at, expires_at);
    if (!rc)
        rc = sq_commit(q);
    if (rc)
        sq_rollback(q);
    sq_unlock(q);
    return rc;
}

#define GRANT_COLUMNS                                                                              \
    " g.family, g.client_id, g.account_id, g.scope, g.acr, g.sid, g.code_hash, g.auth_time,"       \
    " g.expires_at, g.revoked_at IS NOT NULL, r.used_at IS NOT NULL, r.expires_at, r.issued_at"

/* Reads GRANT_COLUMNS (from column 0) into *g; 0 or -1 when out of memory. */
static int read_grant(sqlite3_stmt *st, store_grant_t *g)
{
    int bad = 0;
    g->family = col_str(st, 0, &bad);
    g->client_id = col_str(st, 1, &bad);
    g->account_id = col_str(st, 2, &bad);
    g->scope = col_str(st, 3, &bad);
    g->acr = col_str(st, 4, &bad);
    g->sid = col_str(st, 5, &bad);
    g->code_hash = col_str(st, 6, &bad);
    g->auth_time = sqlite3_column_int64(st, 7);
    g->expires_at = sqlite3_column_int64(st, 8);
    g->refresh_issued_at = sqlite3_column_int64(st, 12);
    return bad || !g->family || !g->client_id || !g->account_id || !g->scope ? -1 : 0;
}

/* Looks a refresh token up with its grant (lock held): *used, *revoked and *expires_at
 * of the token; WP_ERR_NOTFOUND when unknown. */
static wp_err_t refresh_lookup(sq_t *q, const char *hash, store_grant_t *g, int *used, int *revoked,
                               int64_t *expires_at)
{
    sqlite3_stmt *st = NULL;
    wp_err_t rc = sq_prep(q, &st,
                          "SELECT" GRANT_COLUMNS " FROM refresh_tokens r JOIN grants g"
                          " ON g.family = r.family WHERE r.hash = ?",
                          "t", hash);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc && read_grant(st, g) != 0)
        rc = WP_ERR;
    if (!rc) {
        *revoked = sqlite3_column_int(st, 9);
        *used = sqlite3_column_int(st, 10);
        *expires_at = sqlite3_column_int64(st, 11);
    }
    sqlite3_finalize(st);
    if (rc)
        store_grant_clear(g);
    return rc;
}

static wp_err_t sq_refresh_rotate(void *impl, const char *old_hash, const char *new_hash,
                                  int64_t new_expires_at, int64_t now, store_grant_t *out)
{
    sq_t *q = impl;
    store_grant_t g;
    int used = 0, revoked = 0, changes = 0;
    int64_t exp = 0;
    memset(&g, 0, sizeof g);
    sq_lock(q);
    wp_err_t rc = sq_begin(q);
    if (rc)
        goto out;
    rc = refresh_lookup(q, old_hash, &g, &used, &revoked, &exp);
    if (rc)
        goto out;
    if (revoked) {
        rc = WP_ERR_NOTFOUND;
        goto out;
    }
    if (used) {
        /* A rotated token came back: someone holds a copy. End the whole grant. */
        rc = sq_exec(q, NULL, "UPDATE grants SET revoked_at = ? WHERE family = ?", "It", now,
                     g.family);
        if (!rc)
            rc = sq_commit(q);
        if (!rc)
            rc = WP_ERR_USED;
        goto out;
    }
    if (exp <= now) {
        rc = WP_ERR_EXPIRED;
        goto out;
    }
    rc = sq_exec(q, &changes,
                 "UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL", "It",
                 now, old_hash);
    if (!rc && changes != 1)
        rc = WP_ERR_USED;
    if (!rc)
        rc = refresh_insert(q, new_hash, g.family, now, new_expires_at);
    if (!rc)
        rc = sq_commit(q);
    if (rc)
        goto out;
    *out = g;
    memset(&g, 0, sizeof g);
out:
    sq_rollback(q);
    sq_unlock(q);
    store_grant_clear(&g);
    return rc;
}

static wp_err_t sq_refresh_get(void *impl, const char *hash, int64_t now, store_grant_t *out,
                               int64_t *expires_at)
{
    sq_t *q = impl;
    store_grant_t g;
    int used = 0, revoked = 0;
    int64_t exp = 0;
    memset(&g, 0, sizeof g);
    sq_lock(q);
    wp_err_t rc = refresh_lookup(q, hash, &g, &used, &revoked, &exp);
    sq_unlock(q);
    if (!rc && (used || revoked || exp <= now))
        rc = WP_ERR_NOTFOUND;
    if (!rc) {
        *out = g;
        *expires_at = exp;
        memset(&g, 0, sizeof g);
    }
    store_grant_clear(&g);
    return rc;
}

static wp_err_t sq_assertion_jti_use(void *impl, const char *client_id, const char *jti,
                                     int64_t expires_at)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes,
                          "INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES (?, ?, ?)"
                          " ON CONFLICT (client_id, jti) DO NOTHING",
                          "ttI", client_id, jti, expires_at);
    sq_unlock(q);
    if (!rc && changes != 1)
        rc = WP_ERR_USED;
    return rc;
}

static wp_err_t sq_par_add(void *impl, const char *hash, const char *client_id, const char *params,
                           int64_t expires_at)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(
        q, NULL,
        "INSERT INTO par_requests (hash, client_id, params, expires_at) VALUES (?, ?, ?, ?)",
        "tttI", hash, client_id, params, expires_at);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_par_take(void *impl, const char *hash, const char *client_id, int64_t now,
                            char **params)
{
    return sq_take_text(impl,
                        "DELETE FROM par_requests WHERE hash = ? AND client_id = ?"
                        " RETURNING params, expires_at",
                        hash, client_id, now, params);
}

static wp_err_t sq_session_client_add(void *impl, const char *sid, const char *client_id,
                                      const char *account_id, int64_t expires_at)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL,
                          "INSERT INTO session_clients (sid, client_id, account_id, expires_at)"
                          " VALUES (?, ?, ?, ?) ON CONFLICT (sid, client_id)"
                          " DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)",
                          "tttI", sid, client_id, account_id, expires_at);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_session_clients_take(void *impl, const char *sid, const char *account_id,
                                        json_t **out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    wp_err_t rc = arr ? WP_OK : WP_ERR;
    sq_lock(q);
    if (!rc && sid)
        rc = sq_prep(q, &st,
                     "DELETE FROM session_clients WHERE sid = ? AND account_id = ?"
                     " RETURNING sid, client_id, account_id",
                     "tt", sid, account_id);
    else if (!rc)
        rc = sq_prep(q, &st,
                     "DELETE FROM session_clients WHERE account_id = ?"
                     " RETURNING sid, client_id, account_id",
                     "t", account_id);
    while (!rc && (rc = sq_row(q, st)) == WP_OK) {
        json_t *row =
            json_pack("{s:s?, s:s?, s:s?}", "sid", sqlite3_column_text(st, 0), "client_id",
                      sqlite3_column_text(st, 1), "account_id", sqlite3_column_text(st, 2));
        if (!row || json_array_append_new(arr, row))
            rc = WP_ERR;
    }
    if (rc == WP_ERR_NOTFOUND)
        rc = WP_OK;
    if (!rc) {
        *out = arr;
        arr = NULL;
    }
    sqlite3_finalize(st);
    sq_unlock(q);
    json_decref(arr);
    return rc;
}
/* ==== end of issue 3 ==== */

/* ---- issue 4: enrolment by diploma, mail queue (defined at the end of this file) */
static wp_err_t sq_register_match(void *impl, const char *person_number, const char *birthdate,
                                  const char *diploma_month, store_person_t *out);
static wp_err_t sq_register_withdrawn_count(void *impl, size_t *count);
static wp_err_t sq_flow_set_diploma(void *impl, const char *id_hash, const char *person_key);
static wp_err_t sq_flow_get_diploma(void *impl, const char *id_hash, char **person_key);
static wp_err_t sq_mail_put(void *impl, const uint8_t *sealed, size_t sealed_len, int64_t now,
                            int64_t *id);
static wp_err_t sq_mail_lease(void *impl, int64_t now, int64_t lease_until, store_mail_t *out);
static wp_err_t sq_mail_delete(void *impl, int64_t id);
static wp_err_t sq_mail_retry(void *impl, int64_t id, int attempts, int64_t next_at);
static wp_err_t sq_mail_count(void *impl, size_t *count);

const store_ops_t store_sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .ping = sq_ping,
    .schema_version = sq_schema_version,
    .purge_expired = sq_purge_expired,
    .client_add = sq_client_add,
    .client_get = sq_client_get,
    .client_list = sq_client_list,
    .client_remove = sq_client_remove,
    .key_add = sq_key_add,
    .key_list = sq_key_list,
    .key_retire = sq_key_retire,
    .register_import = sq_register_import,
    .person_get = sq_person_get,
    .account_get = sq_account_get,
    .account_by_person = sq_account_by_person,
    .account_bind_credential = sq_account_bind_credential,
    .credential_get = sq_credential_get,
    .credential_touch = sq_credential_touch,
    .credential_list = sq_credential_list,
    .code_add = sq_code_add,
    .code_replace = sq_code_replace,
    .code_redeem = sq_code_redeem,
    .flow_create = sq_flow_create,
    .flow_get = sq_flow_get,
    .flow_set_proofed = sq_flow_set_proofed,
    .flow_code_failed = sq_flow_code_failed,
    .flow_delete = sq_flow_delete,
    .flow_update = sq_flow_update,
    .challenge_put = sq_challenge_put,
    .challenge_take = sq_challenge_take,
    .session_create = sq_session_create,
    .session_get = sq_session_get,
    .session_delete = sq_session_delete,
    .authcode_add = sq_authcode_add,
    .authcode_take = sq_authcode_take,
    .ratelimit_count = sq_ratelimit_count,
    .ratelimit_add = sq_ratelimit_add,
    /* issue 4 */
    .register_match = sq_register_match,
    .register_withdrawn_count = sq_register_withdrawn_count,
    .flow_set_diploma = sq_flow_set_diploma,
    .flow_get_diploma = sq_flow_get_diploma,
    .mail_put = sq_mail_put,
    .mail_lease = sq_mail_lease,
    .mail_delete = sq_mail_delete,
    .mail_retry = sq_mail_retry,
    .mail_count = sq_mail_count,
    /* issue 5 */
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .credential_rename = sq_credential_rename,
    .credential_remove = sq_credential_remove,
    .account_sessions_end = sq_account_sessions_end,
    .account_reset = sq_account_reset,
    .person_search = sq_person_search,
    .staff_add = sq_staff_add,
    .staff_get = sq_staff_get,
    .staff_credential_add = sq_staff_credential_add,
    .staff_credential_get = sq_staff_credential_get,
    .staff_credential_touch = sq_staff_credential_touch,
    .staff_session_create = sq_staff_session_create,
    .staff_session_get = sq_staff_session_get,
    .staff_session_delete = sq_staff_session_delete,
    .case_open = sq_case_open,
    .case_get = sq_case_get,
    .case_list = sq_case_list,
    .case_approve = sq_case_approve,
    .case_redeem = sq_case_redeem,
    .case_reopen = sq_case_reopen,
    /* issue 3 */
    .grant_add = sq_grant_add,
    .grant_revoke = sq_grant_revoke,
    .grant_revoke_code = sq_grant_revoke_code,
    .access_add = sq_access_add,
    .access_check = sq_access_check,
    .access_revoke = sq_access_revoke,
    .refresh_add = sq_refresh_add,
    .refresh_rotate = sq_refresh_rotate,
    .refresh_get = sq_refresh_get,
    .assertion_jti_use = sq_assertion_jti_use,
    .par_add = sq_par_add,
    .par_take = sq_par_take,
    .session_client_add = sq_session_client_add,
    .session_clients_take = sq_session_clients_take,
    /* personal data at rest */
    .set_keys = sq_set_keys,
};

/* ---- issue 4: enrolment by diploma, mail queue */

static wp_err_t sq_register_match(void *impl, const char *person_number, const char *birthdate,
                                  const char *diploma_month, store_person_t *out)
{
    sq_t *q = impl;
    char key[SQ_KEY_HEX + 1];
    if (sq_need_keys(q) || !person_number || !birthdate || !diploma_month)
        return WP_ERR;
    sq_match_key(q, person_number, birthdate, diploma_month, key);
    return person_by(q,
                     "SELECT sealed FROM register WHERE match_key = ? AND withdrawn_at IS NULL"
                     " ORDER BY id LIMIT 1",
                     key, out);
}

/* Runs a one-row count query into *count. */
static wp_err_t count_query(sq_t *q, const char *sql, size_t *count)
{
    sqlite3_stmt *st = NULL;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st, sql, "");
    if (!rc)
        rc = sq_row(q, st);
    if (!rc)
        *count = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_register_withdrawn_count(void *impl, size_t *count)
{
    return count_query(impl, "SELECT count(*) FROM register WHERE withdrawn_at IS NOT NULL", count);
}

static wp_err_t sq_flow_set_diploma(void *impl, const char *id_hash, const char *person_key)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, &changes, "UPDATE flows SET diploma_key = ? WHERE id_hash = ?", "tt",
                          person_key, id_hash);
    sq_unlock(q);
    if (!rc && changes == 0)
        rc = WP_ERR_NOTFOUND;
    return rc;
}

static wp_err_t sq_flow_get_diploma(void *impl, const char *id_hash, char **person_key)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    int bad = 0;
    char *key = NULL;
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st, "SELECT diploma_key FROM flows WHERE id_hash = ?", "t", id_hash);
    if (!rc)
        rc = sq_row(q, st);
    if (!rc) {
        key = col_str(st, 0, &bad);
        if (bad)
            rc = WP_ERR;
    }
    sqlite3_finalize(st);
    sq_unlock(q);
    if (rc) {
        free(key);
        return rc;
    }
    *person_key = key;
    return WP_OK;
}

static wp_err_t sq_mail_put(void *impl, const uint8_t *sealed, size_t sealed_len, int64_t now,
                            int64_t *id)
{
    sq_t *q = impl;
    if (!sealed || sealed_len == 0)
        return WP_ERR_INVALID;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL,
                          "INSERT INTO mail_queue (sealed, attempts, created_at, next_attempt_at)"
                          " VALUES (?, 0, ?, ?)",
                          "bII", (const void *)sealed, sealed_len, now, now);
    if (!rc && id)
        *id = sqlite3_last_insert_rowid(q->db);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_mail_lease(void *impl, int64_t now, int64_t lease_until, store_mail_t *out)
{
    sq_t *q = impl;
    sqlite3_stmt *st = NULL;
    store_mail_t m;
    int bad = 0;
    memset(&m, 0, sizeof m);
    sq_lock(q);
    wp_err_t rc = sq_prep(q, &st,
                          "UPDATE mail_queue SET next_attempt_at = ?2 WHERE id = (SELECT id FROM"
                          " mail_queue WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id"
                          " LIMIT 1) RETURNING id, sealed, attempts, created_at",
                          "II", now, lease_until);
    if (!rc)
        rc = sq_row(q, st);
    if (rc)
        goto out;
    m.id = sqlite3_column_int64(st, 0);
    m.sealed = col_blob(st, 1, &m.sealed_len, &bad);
    m.attempts = sqlite3_column_int(st, 2);
    m.created_at = sqlite3_column_int64(st, 3);
    rc = sq_finish(q, st);
    if (!rc && (bad || !m.sealed))
        rc = WP_ERR;
    if (rc)
        goto out;
    *out = m;
    memset(&m, 0, sizeof m);
out:
    store_mail_clear(&m);
    sqlite3_finalize(st);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_mail_delete(void *impl, int64_t id)
{
    sq_t *q = impl;
    sq_lock(q);
    wp_err_t rc = sq_exec(q, NULL, "DELETE FROM mail_queue WHERE id = ?", "I", id);
    sq_unlock(q);
    return rc;
}

static wp_err_t sq_mail_retry(void *impl, int64_t id, int attempts, int64_t next_at)
{
    sq_t *q = impl;
    int changes = 0;
    sq_lock(q);
    wp_err_t rc =
        sq_exec(q, &changes, "UPDATE mail_queue SET attempts = ?, next_attempt_at = ? WHERE id = ?",
                "iII", attempts, next_at, id);
    sq_unlock(q);
    if (!rc && changes == 0)
        rc = WP_ERR_NOTFOUND;
    return rc;
}

static wp_err_t sq_mail_count(void *impl, size_t *count)
{
    return count_query(impl, "SELECT count(*) FROM mail_queue", count);
}
