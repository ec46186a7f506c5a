/* Unit tests for the WebAuthn ceremonies (idp/webauthn_*.c): registration and assertion
 * for each algorithm and attestation form from a software authenticator, each broken
 * knob refused with its why, and the W3C WebAuthn L3 test vectors read from data files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/b64url.h"
#include "crypto/cose.h"
#include "idp/webauthn.h"
#include "idp/webauthn_internal.h"
#include "softauthn.c"

static const webauthn_rp_t RP = {"localhost", "http://localhost:8080"};
static const uint8_t CHALLENGE[32] = "0123456789abcdef0123456789abcde";
static const uint8_t OTHER_CHALLENGE[32] = "0123456789abcdef0123456789abcdX";

static const int ALGS[] = {COSE_ALG_ES256, COSE_ALG_EDDSA, COSE_ALG_RS256};

static sa_opts_t good_opts(void)
{
    return sa_opts(RP.rp_id, RP.origin, CHALLENGE, sizeof CHALLENGE);
}

/* Registers sa with o; returns the result and *why. */
static wp_err_t do_register(softauthn_t *sa, const sa_opts_t *o, webauthn_registration_t *reg,
                            const char **why)
{
    json_t *cred = sa_register(sa, o);
    wp_err_t rc;

    assert_non_null(cred);
    *why = NULL;
    rc = webauthn_verify_registration(&RP, CHALLENGE, sizeof CHALLENGE, cred, reg, why);
    json_decref(cred);
    return rc;
}

static void test_register_and_login(void **state)
{
    static const sa_att_t forms[] = {SA_ATT_NONE, SA_ATT_PACKED_SELF, SA_ATT_PACKED_X5C};
    static const char *const fmts[] = {"none", "packed", "packed"};

    (void)state;
    for (size_t a = 0; a < 3; a++) {
        for (size_t f = 0; f < 3; f++) {
            softauthn_t *sa = sa_new(ALGS[a], 32);
            sa_opts_t o = good_opts();
            webauthn_registration_t reg;
            webauthn_assertion_t as;
            const char *why = NULL;
            char *id, aaguid[37];
            json_t *cred;

            assert_non_null(sa);
            o.att = forms[f];
            if (do_register(sa, &o, &reg, &why) != WP_OK)
                fail_msg("alg %d form %zu: %s", ALGS[a], f, why);
            id = b64url_encode(sa->cred_id, sa->cred_id_len);
            assert_string_equal(reg.cred_id, id);
            free(id);
            assert_int_equal(reg.alg, ALGS[a]);
            assert_int_equal(reg.public_key_len, sa->cose_key_len);
            assert_memory_equal(reg.public_key, sa->cose_key, sa->cose_key_len);
            assert_string_equal(reg.attestation_fmt, fmts[f]);
            assert_string_equal(reg.transports, "[\"internal\"]");
            assert_int_equal(reg.sign_count, 0);
            assert_int_equal(reg.backup_eligible, 0);
            assert_int_equal(reg.backup_state, 0);
            snprintf(aaguid, sizeof aaguid,
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     sa->aaguid[0], sa->aaguid[1], sa->aaguid[2], sa->aaguid[3], sa->aaguid[4],
                     sa->aaguid[5], sa->aaguid[6], sa->aaguid[7], sa->aaguid[8], sa->aaguid[9],
                     sa->aaguid[10], sa->aaguid[11], sa->aaguid[12], sa->aaguid[13], sa->aaguid[14],
                     sa->aaguid[15]);
            assert_string_equal(reg.aaguid, aaguid);

            o.sign_count = 7;
            cred = sa_assert(sa, &o);
            assert_non_null(cred);
            memset(&as, 0, sizeof as);
            if (webauthn_verify_assertion(&RP, CHALLENGE, sizeof CHALLENGE, cred, reg.public_key,
                                          reg.public_key_len, 0, 0, &as, &why) != WP_OK)
                fail_msg("alg %d assertion: %s", ALGS[a], why);
            assert_int_equal(as.sign_count, 7);
            assert_int_equal(as.user_verified, 1);
            assert_int_equal(as.backup_state, 0);
            json_decref(cred);
            webauthn_registration_clear(&reg);
            sa_free(sa);
        }
    }
}

typedef enum {
    K_GOOD,
    K_CHALLENGE,
    K_ORIGIN,
    K_RP_ID,
    K_CD_TYPE,
    K_CRED_TYPE,
    K_NO_UV,
    K_NO_UP,
    K_BS_NO_BE,
    K_BE_BS,
    K_TRAILING,
    K_TRUNCATE,
    K_CROSS_ORIGIN,
    K_TOP_ORIGIN,
    K_BAD_SIG,
    K_RAW_ID,
    K_EXTENSIONS,
    /* registration only */
    K_LONG_CRED_ID,
    K_UNSUPPORTED_ALG,
    K_FMT_TPM,
    K_NONE_STMT,
    K_SELF_ALG,
    K_X5C_OU,
    K_X5C_CA,
    K_X5C_AAGUID,
    K_X5C_NO_AAGUID,
    /* assertion only */
    K_COUNTER_SAME,
    K_COUNTER_BACK,
    K_COUNTER_ZERO,
    K_BE_CHANGED,
} knob_t;

typedef struct {
    const char *name;
    knob_t knob;
    sa_att_t att;
    const char *why; /* NULL: must verify */
} knob_row_t;

static void apply(knob_t k, sa_opts_t *o)
{
    switch (k) {
    case K_CHALLENGE:
        o->challenge = OTHER_CHALLENGE;
        break;
    case K_ORIGIN:
        o->origin = "http://localhost:8081";
        break;
    case K_RP_ID:
        o->rp_id = "evil.example";
        break;
    case K_CD_TYPE:
        o->cd_type = "webauthn.other";
        break;
    case K_CRED_TYPE:
        o->cred_type = "password";
        break;
    case K_NO_UV:
        o->flags_clear = WEBAUTHN_FLAG_UV;
        break;
    case K_NO_UP:
        o->flags_clear = WEBAUTHN_FLAG_UP;
        break;
    case K_BS_NO_BE:
        o->flags_set = WEBAUTHN_FLAG_BS;
        break;
    case K_BE_BS:
        o->flags_set = WEBAUTHN_FLAG_BE | WEBAUTHN_FLAG_BS;
        break;
    case K_TRAILING:
        o->trailing = 1;
        break;
    case K_TRUNCATE:
        o->truncate = 1;
        break;
    case K_CROSS_ORIGIN:
        o->cross_origin = 1;
        break;
    case K_TOP_ORIGIN:
        o->top_origin = 1;
        break;
    case K_BAD_SIG:
        o->bad_sig = 1;
        break;
    case K_RAW_ID:
        o->wrong_raw_id = 1;
        break;
    case K_EXTENSIONS:
        o->extensions = 1;
        break;
    case K_UNSUPPORTED_ALG:
        o->cose_alg = -35;
        break;
    case K_FMT_TPM:
        o->fmt = "tpm";
        break;
    case K_NONE_STMT:
        o->none_stmt_nonempty = 1;
        break;
    case K_SELF_ALG:
        o->att_alg = COSE_ALG_EDDSA;
        break;
    case K_X5C_OU:
        o->cert_ou = "Authenticator";
        break;
    case K_X5C_CA:
        o->cert_ca = 1;
        break;
    case K_X5C_AAGUID:
        o->cert_aaguid = 1;
        break;
    case K_X5C_NO_AAGUID:
        o->cert_aaguid = 2;
        break;
    default:
        break;
    }
}

static const knob_row_t reg_rows[] = {
    {"good", K_GOOD, SA_ATT_NONE, NULL},
    {"wrong challenge", K_CHALLENGE, SA_ATT_NONE, WEBAUTHN_WHY_CHALLENGE},
    {"wrong origin", K_ORIGIN, SA_ATT_NONE, WEBAUTHN_WHY_ORIGIN},
    {"wrong rpId", K_RP_ID, SA_ATT_NONE, WEBAUTHN_WHY_RP_ID},
    {"wrong clientData type", K_CD_TYPE, SA_ATT_NONE, WEBAUTHN_WHY_CD_TYPE},
    {"wrong credential type", K_CRED_TYPE, SA_ATT_NONE, WEBAUTHN_WHY_TYPE},
    {"missing UV", K_NO_UV, SA_ATT_NONE, WEBAUTHN_WHY_UV},
    {"missing UP", K_NO_UP, SA_ATT_NONE, WEBAUTHN_WHY_UP},
    {"BS without BE", K_BS_NO_BE, SA_ATT_NONE, WEBAUTHN_WHY_BS},
    {"BE and BS", K_BE_BS, SA_ATT_PACKED_SELF, NULL},
    {"trailing authData", K_TRAILING, SA_ATT_NONE, WEBAUTHN_WHY_AUTH_DATA},
    {"truncated authData", K_TRUNCATE, SA_ATT_NONE, WEBAUTHN_WHY_AUTH_DATA},
    {"crossOrigin true", K_CROSS_ORIGIN, SA_ATT_NONE, WEBAUTHN_WHY_CROSS_ORIGIN},
    {"topOrigin", K_TOP_ORIGIN, SA_ATT_NONE, WEBAUTHN_WHY_CROSS_ORIGIN},
    {"bad self signature", K_BAD_SIG, SA_ATT_PACKED_SELF, WEBAUTHN_WHY_ATT_SIG},
    {"bad x5c signature", K_BAD_SIG, SA_ATT_PACKED_X5C, WEBAUTHN_WHY_ATT_SIG},
    {"rawId differs", K_RAW_ID, SA_ATT_NONE, WEBAUTHN_WHY_ID},
    {"extensions", K_EXTENSIONS, SA_ATT_PACKED_SELF, NULL},
    {"cred id > 1023", K_LONG_CRED_ID, SA_ATT_NONE, WEBAUTHN_WHY_CRED_ID_LEN},
    {"unsupported alg", K_UNSUPPORTED_ALG, SA_ATT_NONE, WEBAUTHN_WHY_ALG},
    {"fmt tpm", K_FMT_TPM, SA_ATT_NONE, WEBAUTHN_WHY_FMT},
    {"none with attStmt", K_NONE_STMT, SA_ATT_NONE, WEBAUTHN_WHY_ATT_STMT},
    {"self alg mismatch", K_SELF_ALG, SA_ATT_PACKED_SELF, WEBAUTHN_WHY_ATT_ALG},
    {"x5c wrong OU", K_X5C_OU, SA_ATT_PACKED_X5C, WEBAUTHN_WHY_ATT_CERT},
    {"x5c CA leaf", K_X5C_CA, SA_ATT_PACKED_X5C, WEBAUTHN_WHY_ATT_CERT},
    {"x5c wrong aaguid", K_X5C_AAGUID, SA_ATT_PACKED_X5C, WEBAUTHN_WHY_ATT_AAGUID},
    {"x5c without aaguid", K_X5C_NO_AAGUID, SA_ATT_PACKED_X5C, NULL},
};

static void test_register_knobs(void **state)
{
    (void)state;
    for (size_t a = 0; a < 3; a++) {
        for (size_t i = 0; i < sizeof reg_rows / sizeof reg_rows[0]; i++) {
            const knob_row_t *r = &reg_rows[i];
            softauthn_t *sa;
            sa_opts_t o = good_opts();
            webauthn_registration_t reg;
            const char *why = NULL;
            wp_err_t rc;

            /* Only ES256 makes the alg-specific rows meaningful enough; run them once. */
            if (a > 0 && (r->knob == K_LONG_CRED_ID || r->knob == K_UNSUPPORTED_ALG ||
                          r->knob == K_SELF_ALG))
                continue;
            sa = sa_new(ALGS[a], r->knob == K_LONG_CRED_ID ? 1024 : 32);
            assert_non_null(sa);
            o.att = r->att;
            apply(r->knob, &o);
            memset(&reg, 0, sizeof reg);
            rc = do_register(sa, &o, &reg, &why);
            if (r->why == NULL) {
                if (rc != WP_OK)
                    fail_msg("alg %d row %s: refused: %s", ALGS[a], r->name, why);
                if (r->knob == K_BE_BS) {
                    assert_int_equal(reg.backup_eligible, 1);
                    assert_int_equal(reg.backup_state, 1);
                }
            } else {
                if (rc != WP_ERR_INVALID || why == NULL || strcmp(why, r->why) != 0)
                    fail_msg("alg %d row %s: rc %d why %s, want %s", ALGS[a], r->name, rc,
                             why ? why : "(null)", r->why);
                assert_null(reg.cred_id);
            }
            webauthn_registration_clear(&reg);
            sa_free(sa);
        }
    }
}

static const knob_row_t login_rows[] = {
    {"good", K_GOOD, SA_ATT_NONE, NULL},
    {"wrong challenge", K_CHALLENGE, SA_ATT_NONE, WEBAUTHN_WHY_CHALLENGE},
    {"wrong origin", K_ORIGIN, SA_ATT_NONE, WEBAUTHN_WHY_ORIGIN},
    {"wrong rpId", K_RP_ID, SA_ATT_NONE, WEBAUTHN_WHY_RP_ID},
    {"wrong clientData type", K_CD_TYPE, SA_ATT_NONE, WEBAUTHN_WHY_CD_TYPE},
    {"wrong credential type", K_CRED_TYPE, SA_ATT_NONE, WEBAUTHN_WHY_TYPE},
    {"missing UV", K_NO_UV, SA_ATT_NONE, WEBAUTHN_WHY_UV},
    {"missing UP", K_NO_UP, SA_ATT_NONE, WEBAUTHN_WHY_UP},
    {"BS without BE", K_BS_NO_BE, SA_ATT_NONE, WEBAUTHN_WHY_BS},
    {"BE changed", K_BE_CHANGED, SA_ATT_NONE, WEBAUTHN_WHY_BE},
    {"BE and BS", K_BE_BS, SA_ATT_NONE, NULL},
    {"trailing authData", K_TRAILING, SA_ATT_NONE, WEBAUTHN_WHY_AUTH_DATA},
    {"truncated authData", K_TRUNCATE, SA_ATT_NONE, WEBAUTHN_WHY_AUTH_DATA},
    {"crossOrigin true", K_CROSS_ORIGIN, SA_ATT_NONE, WEBAUTHN_WHY_CROSS_ORIGIN},
    {"topOrigin", K_TOP_ORIGIN, SA_ATT_NONE, WEBAUTHN_WHY_CROSS_ORIGIN},
    {"bad signature", K_BAD_SIG, SA_ATT_NONE, WEBAUTHN_WHY_SIG},
    {"rawId differs", K_RAW_ID, SA_ATT_NONE, WEBAUTHN_WHY_ID},
    {"extensions", K_EXTENSIONS, SA_ATT_NONE, NULL},
    {"counter same", K_COUNTER_SAME, SA_ATT_NONE, WEBAUTHN_WHY_COUNTER},
    {"counter regress", K_COUNTER_BACK, SA_ATT_NONE, WEBAUTHN_WHY_COUNTER},
    {"counters zero", K_COUNTER_ZERO, SA_ATT_NONE, NULL},
};

static void test_login_knobs(void **state)
{
    (void)state;
    for (size_t a = 0; a < 3; a++) {
        softauthn_t *sa = sa_new(ALGS[a], 32);
        sa_opts_t ro = good_opts();
        json_t *rcred;

        assert_non_null(sa);
        rcred = sa_register(sa, &ro); /* sets sa->cose_key */
        assert_non_null(rcred);
        json_decref(rcred);
        for (size_t i = 0; i < sizeof login_rows / sizeof login_rows[0]; i++) {
            const knob_row_t *r = &login_rows[i];
            sa_opts_t o = good_opts();
            webauthn_assertion_t as;
            uint32_t stored = 10;
            int stored_be = 0;
            const char *why = NULL;
            json_t *cred;
            wp_err_t rc;

            o.sign_count = 11;
            apply(r->knob, &o);
            if (r->knob == K_COUNTER_SAME)
                o.sign_count = 10;
            if (r->knob == K_COUNTER_BACK)
                o.sign_count = 3;
            if (r->knob == K_COUNTER_ZERO)
                o.sign_count = stored = 0;
            if (r->knob == K_BE_CHANGED)
                stored_be = 1;
            if (r->knob == K_BE_BS)
                stored_be = 1;
            cred = sa_assert(sa, &o);
            assert_non_null(cred);
            memset(&as, 0, sizeof as);
            rc = webauthn_verify_assertion(&RP, CHALLENGE, sizeof CHALLENGE, cred, sa->cose_key,
                                           sa->cose_key_len, stored, stored_be, &as, &why);
            if (r->why == NULL) {
                if (rc != WP_OK)
                    fail_msg("alg %d row %s: refused: %s", ALGS[a], r->name, why);
                assert_int_equal(as.sign_count, o.sign_count);
                assert_int_equal(as.backup_state, r->knob == K_BE_BS);
            } else {
                if (rc != WP_ERR_INVALID || why == NULL || strcmp(why, r->why) != 0)
                    fail_msg("alg %d row %s: rc %d why %s, want %s", ALGS[a], r->name, rc,
                             why ? why : "(null)", r->why);
            }
            json_decref(cred);
        }
        sa_free(sa);
    }
}

/* An assertion signed by another credential's key, and with a stored key of another alg. */
static void test_login_wrong_key(void **state)
{
    softauthn_t *sa = sa_new(COSE_ALG_ES256, 32), *other = sa_new(COSE_ALG_EDDSA, 32);
    sa_opts_t o = good_opts();
    webauthn_assertion_t as;
    const char *why = NULL;
    json_t *cred;
    static const uint8_t junk[] = {0xa0};

    (void)state;
    assert_non_null(sa);
    assert_non_null(other);
    json_decref(sa_register(other, &o));
    o.sign_count = 1;
    cred = sa_assert(sa, &o);
    assert_int_equal(webauthn_verify_assertion(&RP, CHALLENGE, sizeof CHALLENGE, cred,
                                               other->cose_key, other->cose_key_len, 0, 0, &as,
                                               &why),
                     WP_ERR_INVALID);
    assert_string_equal(why, WEBAUTHN_WHY_SIG);
    assert_int_equal(webauthn_verify_assertion(&RP, CHALLENGE, sizeof CHALLENGE, cred, junk,
                                               sizeof junk, 0, 0, &as, &why),
                     WP_ERR_INVALID);
    assert_string_equal(why, WEBAUTHN_WHY_KEY);
    json_decref(cred);
    sa_free(sa);
    sa_free(other);
}

/* Malformed JSON forms and webauthn_assertion_ids. */
static void test_json_forms(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{}",
        "{\"id\":\"AA\",\"rawId\":\"AA\",\"type\":\"public-key\"}",
        "{\"id\":\"AA\",\"rawId\":\"AA\",\"type\":\"public-key\",\"response\":[]}",
        "{\"id\":1,\"rawId\":\"AA\",\"type\":\"public-key\",\"response\":{}}",
        "{\"id\":\"AA\",\"rawId\":\"AA\",\"type\":\"public-key\",\"response\":"
        "{\"clientDataJSON\":\"AA\"}}",
    };
    webauthn_registration_t reg;
    webauthn_assertion_t as;
    const char *why, *id, *uh;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        why = NULL;
        assert_int_equal(
            webauthn_verify_registration(&RP, CHALLENGE, sizeof CHALLENGE, j, &reg, &why),
            WP_ERR_INVALID);
        assert_string_equal(why, WEBAUTHN_WHY_JSON);
        why = NULL;
        assert_int_equal(webauthn_verify_assertion(&RP, CHALLENGE, sizeof CHALLENGE, j,
                                                   (const uint8_t *)"x", 1, 0, 0, &as, &why),
                         WP_ERR_INVALID);
        assert_string_equal(why, WEBAUTHN_WHY_JSON);
        json_decref(j);
    }

    json_t *j = json_loads("{\"id\":\"abc\",\"response\":{\"userHandle\":\"dXNlcg\"}}", 0, NULL);
    assert_int_equal(webauthn_assertion_ids(j, &id, &uh), WP_OK);
    assert_string_equal(id, "abc");
    assert_string_equal(uh, "dXNlcg");
    json_decref(j);
    j = json_loads("{\"id\":\"abc\",\"response\":{\"userHandle\":null}}", 0, NULL);
    assert_int_equal(webauthn_assertion_ids(j, &id, &uh), WP_OK);
    assert_null(uh);
    json_decref(j);
    j = json_loads("{\"id\":\"abc\",\"response\":{\"userHandle\":5}}", 0, NULL);
    assert_int_equal(webauthn_assertion_ids(j, &id, &uh), WP_ERR_INVALID);
    json_decref(j);
    j = json_loads("{\"response\":{}}", 0, NULL);
    assert_int_equal(webauthn_assertion_ids(j, &id, &uh), WP_ERR_INVALID);
    json_decref(j);
}

/* ---- W3C WebAuthn Level 3 test vectors (tests/unit/data/webauthn/) ---- */

typedef struct {
    char *rp_id, *origin;
    uint8_t *v[9];
    size_t n[9];
} vector_t;

static const char *const VKEYS[9] = {
    "reg_challenge",        "credential_id",         "aaguid",
    "reg_client_data_json", "attestation_object",    "auth_challenge",
    "authenticator_data",   "auth_client_data_json", "signature"};
enum {
    V_REG_CHAL,
    V_CRED_ID,
    V_AAGUID,
    V_REG_CDJ,
    V_ATT_OBJ,
    V_AUTH_CHAL,
    V_AUTH_DATA,
    V_AUTH_CDJ,
    V_SIG
};

static void vector_load(const char *file, vector_t *vec)
{
    char path[512], line[4096];
    FILE *fp;

    memset(vec, 0, sizeof *vec);
    snprintf(path, sizeof path, "%s/webauthn/%s", WP_TEST_DATA, file);
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp) != NULL) {
        char *sp = strchr(line, ' ');
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || sp == NULL)
            continue;
        *sp++ = '\0';
        if (strcmp(line, "rp_id") == 0)
            vec->rp_id = strdup(sp);
        else if (strcmp(line, "origin") == 0)
            vec->origin = strdup(sp);
        for (int k = 0; k < 9; k++) {
            if (strcmp(line, VKEYS[k]) == 0)
                assert_int_equal(sa_hex(sp, &vec->v[k], &vec->n[k]), 0);
        }
    }
    fclose(fp);
    assert_non_null(vec->rp_id);
    assert_non_null(vec->origin);
    for (int k = 0; k < 9; k++)
        assert_non_null(vec->v[k]);
}

static void vector_free(vector_t *vec)
{
    free(vec->rp_id);
    free(vec->origin);
    for (int k = 0; k < 9; k++)
        free(vec->v[k]);
}

static void set_b64(json_t *o, const char *key, const uint8_t *b, size_t n)
{
    sa_set_b64(o, key, b, n);
}

static json_t *vector_registration(const vector_t *v)
{
    json_t *cred = json_object(), *resp = json_object();

    set_b64(cred, "id", v->v[V_CRED_ID], v->n[V_CRED_ID]);
    set_b64(cred, "rawId", v->v[V_CRED_ID], v->n[V_CRED_ID]);
    json_object_set_new(cred, "type", json_string("public-key"));
    set_b64(resp, "clientDataJSON", v->v[V_REG_CDJ], v->n[V_REG_CDJ]);
    set_b64(resp, "attestationObject", v->v[V_ATT_OBJ], v->n[V_ATT_OBJ]);
    json_object_set_new(cred, "response", resp);
    return cred;
}

static json_t *vector_assertion(const vector_t *v)
{
    json_t *cred = json_object(), *resp = json_object();

    set_b64(cred, "id", v->v[V_CRED_ID], v->n[V_CRED_ID]);
    set_b64(cred, "rawId", v->v[V_CRED_ID], v->n[V_CRED_ID]);
    json_object_set_new(cred, "type", json_string("public-key"));
    set_b64(resp, "clientDataJSON", v->v[V_AUTH_CDJ], v->n[V_AUTH_CDJ]);
    set_b64(resp, "authenticatorData", v->v[V_AUTH_DATA], v->n[V_AUTH_DATA]);
    set_b64(resp, "signature", v->v[V_SIG], v->n[V_SIG]);
    json_object_set_new(cred, "response", resp);
    return cred;
}

/* Checks one vector piece by piece through the internal functions (so that checks the
 * specification makes pass even where our policy adds UV), then through the public
 * functions. full_reg: whether the registration carries UV so the whole of it passes. */
static void check_vector(const char *file, const char *fmt, int full_reg)
{
    vector_t v;
    webauthn_rp_t rp;
    webauthn_attobj_t att;
    webauthn_authdata_t ad, aad;
    webauthn_registration_t reg;
    webauthn_assertion_t as;
    uint8_t cd_hash[32], ad_hash[32];
    const char *why = NULL;
    char *b64;
    EVP_PKEY *key = NULL;
    int alg = 0;
    json_t *cred;
    wp_err_t rc;

    vector_load(file, &v);
    rp.rp_id = v.rp_id;
    rp.origin = v.origin;

    /* Registration, step by step. */
    b64 = b64url_encode(v.v[V_REG_CDJ], v.n[V_REG_CDJ]);
    assert_int_equal(webauthn_clientdata_verify(b64, "webauthn.create", &rp, v.v[V_REG_CHAL],
                                                v.n[V_REG_CHAL], cd_hash, &why),
                     WP_OK);
    assert_int_equal(webauthn_clientdata_verify(b64, "webauthn.get", &rp, v.v[V_REG_CHAL],
                                                v.n[V_REG_CHAL], cd_hash, &why),
                     WP_ERR_INVALID);
    assert_string_equal(why, WEBAUTHN_WHY_CD_TYPE);
    assert_int_equal(webauthn_clientdata_verify(b64, "webauthn.create", &rp, v.v[V_AUTH_CHAL],
                                                v.n[V_AUTH_CHAL], cd_hash, &why),
                     WP_ERR_INVALID);
    assert_string_equal(why, WEBAUTHN_WHY_CHALLENGE);
    free(b64);
    assert_int_equal(webauthn_attobj_decode(v.v[V_ATT_OBJ], v.n[V_ATT_OBJ], &att), WP_OK);
    assert_string_equal(att.fmt, fmt);
    assert_int_equal(webauthn_authdata_parse(att.auth_data, att.auth_data_len, &ad), WP_OK);
    SHA256((const unsigned char *)v.rp_id, strlen(v.rp_id), ad_hash);
    assert_memory_equal(ad.rp_id_hash, ad_hash, 32);
    assert_true(ad.flags & WEBAUTHN_FLAG_UP);
    assert_true(ad.flags & WEBAUTHN_FLAG_AT);
    assert_int_equal(ad.cred_id_len, v.n[V_CRED_ID]);
    assert_memory_equal(ad.cred_id, v.v[V_CRED_ID], v.n[V_CRED_ID]);
    assert_memory_equal(ad.aaguid, v.v[V_AAGUID], 16);
    assert_int_equal(cose_key_parse(ad.cose_key, ad.cose_key_len, &alg, &key), 0);
    assert_int_equal(alg, COSE_ALG_ES256);
    assert_int_equal(webauthn_attestation_verify(att.fmt, att.att_stmt, att.auth_data,
                                                 att.auth_data_len, &ad, alg, key, cd_hash, &why),
                     WP_OK);
    /* A changed clientDataHash must break a packed signature. */
    cd_hash[0] ^= 1;
    rc = webauthn_attestation_verify(att.fmt, att.att_stmt, att.auth_data, att.auth_data_len, &ad,
                                     alg, key, cd_hash, &why);
    if (strcmp(fmt, "packed") == 0) {
        assert_int_equal(rc, WP_ERR_INVALID);
        assert_string_equal(why, WEBAUTHN_WHY_ATT_SIG);
    }
    cd_hash[0] ^= 1;

    /* Registration as a whole. */
    cred = vector_registration(&v);
    memset(&reg, 0, sizeof reg);
    why = NULL;
    rc = webauthn_verify_registration(&rp, v.v[V_REG_CHAL], v.n[V_REG_CHAL], cred, &reg, &why);
    if (full_reg) {
        if (rc != WP_OK)
            fail_msg("%s: registration refused: %s", file, why);
        assert_string_equal(reg.attestation_fmt, fmt);
        assert_int_equal(reg.alg, COSE_ALG_ES256);
        assert_int_equal(reg.backup_eligible, (ad.flags & WEBAUTHN_FLAG_BE) != 0);
        assert_int_equal(reg.backup_state, (ad.flags & WEBAUTHN_FLAG_BS) != 0);
        assert_memory_equal(reg.public_key, ad.cose_key, ad.cose_key_len);
    } else {
        /* The vector has no UV: our policy requires it. */
        assert_false(ad.flags & WEBAUTHN_FLAG_UV);
        assert_int_equal(rc, WP_ERR_INVALID);
        assert_string_equal(why, WEBAUTHN_WHY_UV);
    }
    webauthn_registration_clear(&reg);
    json_decref(cred);

    /* Authentication, step by step. */
    b64 = b64url_encode(v.v[V_AUTH_CDJ], v.n[V_AUTH_CDJ]);
    assert_int_equal(webauthn_clientdata_verify(b64, "webauthn.get", &rp, v.v[V_AUTH_CHAL],
                                                v.n[V_AUTH_CHAL], cd_hash, &why),
                     WP_OK);
    free(b64);
    assert_int_equal(webauthn_authdata_parse(v.v[V_AUTH_DATA], v.n[V_AUTH_DATA], &aad), WP_OK);
    assert_memory_equal(aad.rp_id_hash, ad_hash, 32);
    assert_int_equal(aad.flags & WEBAUTHN_FLAG_BE, ad.flags & WEBAUTHN_FLAG_BE);
    assert_int_equal(webauthn_signature_verify(ad.cose_key, ad.cose_key_len, v.v[V_AUTH_DATA],
                                               v.n[V_AUTH_DATA], cd_hash, v.v[V_SIG], v.n[V_SIG],
                                               &why),
                     WP_OK);
    v.v[V_AUTH_DATA][32] ^= WEBAUTHN_FLAG_UV; /* flags are signed */
    assert_int_equal(webauthn_signature_verify(ad.cose_key, ad.cose_key_len, v.v[V_AUTH_DATA],
                                               v.n[V_AUTH_DATA], cd_hash, v.v[V_SIG], v.n[V_SIG],
                                               &why),
                     WP_ERR_INVALID);
    assert_string_equal(why, WEBAUTHN_WHY_SIG);
    v.v[V_AUTH_DATA][32] ^= WEBAUTHN_FLAG_UV;

    /* Authentication as a whole: the vectors' assertions carry no UV. */
    assert_false(aad.flags & WEBAUTHN_FLAG_UV);
    cred = vector_assertion(&v);
    why = NULL;
    assert_int_equal(webauthn_verify_assertion(&rp, v.v[V_AUTH_CHAL], v.n[V_AUTH_CHAL], cred,
                                               ad.cose_key, ad.cose_key_len, 0,
                                               (ad.flags & WEBAUTHN_FLAG_BE) != 0, &as, &why),
                     WP_ERR_INVALID);
    assert_string_equal(why, WEBAUTHN_WHY_UV);
    json_decref(cred);

    EVP_PKEY_free(key);
    webauthn_attobj_clear(&att);
    vector_free(&v);
}

static void test_w3c_none_es256(void **state)
{
    (void)state;
    check_vector("none-es256.txt", "none", 0);
}

static void test_w3c_packed_self_es256(void **state)
{
    (void)state;
    check_vector("packed-self-es256.txt", "packed", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_and_login),
        cmocka_unit_test(test_register_knobs),
        cmocka_unit_test(test_login_knobs),
        cmocka_unit_test(test_login_wrong_key),
        cmocka_unit_test(test_json_forms),
        cmocka_unit_test(test_w3c_none_es256),
        cmocka_unit_test(test_w3c_packed_self_es256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
