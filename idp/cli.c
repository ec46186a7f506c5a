/* Operator commands: clients, signing keys, the diploma register and assisted enrolment.
 * Each command parses its options first (so --help and usage errors need no config),
 * then loads the configuration, the master key and the store. */
#include "idp/cli.h"

#include <cjose/cjose.h>
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/b64url.h"
#include "crypto/jwe.h"
#include "crypto/sigkey.h"
#include "crypto/token.h"
#include "idp/app.h"
#include "idp/audit.h"
#include "idp/http_fetch.h"
#include "idp/keyring.h"
#include "idp/register_csv.h"

#define WP_MAX_URI 2048
#define WP_MAX_SECTOR_BYTES 65536
#define WP_MAX_CLIENT_ID 128
#define WP_MAX_CLIENT_NAME 200
#define WP_MAX_JWKS_BYTES 65536
#define WP_MAX_JWKS_KEYS 20
#define WP_CLIENT_SECRET_BYTES 32
#define WP_HASH_SUBKEY_ID 2
#define WP_HASH_SUBKEY_CONTEXT "tokenhsh"

static const char usage_client_add[] =
    "usage: wereldpas client add --id ID --redirect-uri URI [--redirect-uri URI]...\n"
    "         [--post-logout-redirect-uri URI]...\n"
    "         [--auth client_secret_basic|client_secret_post|private_key_jwt|none]\n"
    "         [--jwks-file FILE] [--subject pairwise|public] [--scope SCOPE]...\n"
    "         [--backchannel-logout-uri URI] [--id-token-alg RS256|PS256|ES256|EdDSA]\n"
    "         [--pkce required|optional] [--name NAME]\n"
    "         [--require-par] [--jwks-uri URI]\n"
    "         [--id-token-enc-alg RSA-OAEP|RSA-OAEP-256] [--id-token-enc-enc A256GCM]\n"
    "         [--userinfo-enc-alg RSA-OAEP|RSA-OAEP-256] [--userinfo-enc-enc A256GCM]\n"
    "         [--userinfo-alg RS256|PS256|ES256|EdDSA]\n"
    "         [--sector-identifier-uri URI]\n"
    "Registers a relying party and prints {\"client_id\", \"client_secret\"} as JSON.\n"
    "Defaults: --auth client_secret_basic, --subject pairwise, --id-token-alg RS256,\n"
    "--pkce required, scopes openid profile email (duo only when given).\n"
    "The client secret is shown once and stored only as a keyed hash.\n";
static const char usage_client[] = "usage: wereldpas client add ... (see client add --help)\n"
                                   "       wereldpas client list\n"
                                   "       wereldpas client show ID\n"
                                   "       wereldpas client remove ID\n";
static const char usage_keys[] =
    "usage: wereldpas keys list\n"
    "       wereldpas keys rotate [--alg ES256|RS256|PS256|EdDSA|RSA-OAEP]   (default RS256)\n"
    "       wereldpas keys retire [--now] KID\n"
    "A rotated key is published at once and signs after one hour (an RSA-OAEP key, for\n"
    "request objects encrypted to us, decrypts at once and never signs). A retired key\n"
    "stops signing at once and leaves the JWKS when the tokens it signed have expired\n"
    "(--now: at once, for a compromised key). keys list prints: kid alg created state\n"
    "(signing, pending, published, or retiring until TIME).\n";
static const char usage_register[] =
    "usage: wereldpas register import FILE.csv\n"
    "Replaces the diploma register with the rows of FILE.csv. A file with any bad row\n"
    "imports nothing; the error names the line.\n";
static const char usage_person[] =
    "usage: wereldpas person invite --person-number N\n"
    "Assisted enrolment: prints a one-time enrolment code on the last line of stdout.\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "wereldpas: reason" on stderr and returns exit code 1. */
static int fail(const char *fmt, ...)
{
    va_list ap;
    fputs("wereldpas: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* Prints the reason and the usage on stderr and returns exit code 2. */
static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    fputs("wereldpas: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return 2;
}

void cli_usage(FILE *f)
{
    fputs("usage: wereldpas [--config FILE] COMMAND [ARGS]\n"
          "Commands:\n"
          "  serve                          run the provider\n"
          "  client add|list|show|remove    relying parties\n"
          "  keys list|rotate|retire        signing keys\n"
          "  register import FILE.csv       load the diploma register\n"
          "  person invite --person-number N  assisted enrolment code\n"
          "  staff add --name NAME --role support|supervisor  console access code\n"
          "  audit verify                   check the audit log's hash chain\n"
          "Each command takes --help. Config: --config FILE, else $WERELDPAS_CONFIG, else\n"
          "development defaults (issuer http://localhost:8080, data in ./var).\n"
          "Exit codes: 0 done, 1 failed, 2 usage.\n",
          f);
}

int cli_config_load(const char *path, config_t *cfg)
{
    char err[768];
    if (!path || !path[0])
        path = getenv("WERELDPAS_CONFIG");
    if (path && !path[0])
        path = NULL;
    if (config_load(path, cfg, err, sizeof err) != WP_OK)
        return fail("%s", err);
    return 0;
}

int cli_open(const config_t *cfg, store_t **store, uint8_t master[SEAL_KEY_BYTES])
{
    char err[512];
    *store = NULL;
    if (seal_master_key_load(cfg->master_key_file, 1, master, err, sizeof err))
        return fail("master key: %s", err);
    if (store_open(cfg->storage_url, 1, store, err, sizeof err) != WP_OK) {
        sodium_memzero(master, SEAL_KEY_BYTES);
        return fail("storage: %s", err);
    }
    uint8_t lookup[SEAL_KEY_BYTES], personal[SEAL_KEY_BYTES];
    seal_subkey(master, APP_SUBKEY_PNLOOKUP, "pnlookup", lookup);
    seal_subkey(master, APP_SUBKEY_PERSONAL, "personal", personal);
    store_set_keys(*store, lookup, personal);
    sodium_memzero(lookup, sizeof lookup);
    sodium_memzero(personal, sizeof personal);
    return 0;
}

/* Holds what a command opened; cleared by env_close. */
typedef struct {
    config_t cfg;
    int cfg_loaded;
    store_t *store;
    uint8_t master[SEAL_KEY_BYTES];
} env_t;

static int env_open(env_t *env, const char *config_path)
{
    memset(env, 0, sizeof *env);
    if (cli_config_load(config_path, &env->cfg))
        return 1;
    env->cfg_loaded = 1;
    return cli_open(&env->cfg, &env->store, env->master);
}

static void env_close(env_t *env)
{
    store_close(env->store);
    if (env->cfg_loaded)
        config_clear(&env->cfg);
    sodium_memzero(env->master, sizeof env->master);
}

/* getopt_long with our own messages; reinitialises getopt for each (sub)command. */
static void getopt_reset(void)
{
    optind = 0;
    opterr = 0;
}

static int bad_option(const char *usage, char **argv)
{
    return usage_error(usage, "unknown option or missing value: %s", argv[optind - 1]);
}

/* ---- client add */

static int is_loopback_host(const char *host, size_t len)
{
    return (len == 9 && strncmp(host, "localhost", 9) == 0) ||
           (len == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
           (len == 5 && strncmp(host, "[::1]", 5) == 0);
}

/* Checks a redirect or logout URI: absolute, https (http only for a loopback host), no
 * user info, no fragment. Returns NULL or the reason. */
static const char *uri_problem(const char *uri)
{
    const char *host, *p;
    size_t hlen;
    int https;

    if (strlen(uri) > WP_MAX_URI)
        return "is too long";
    for (p = uri; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return "has a space, control or non-ASCII character";
    }
    if (strchr(uri, '#'))
        return "must not have a fragment";
    if (strncmp(uri, "https://", 8) == 0) {
        https = 1;
        host = uri + 8;
    } else if (strncmp(uri, "http://", 7) == 0) {
        https = 0;
        host = uri + 7;
    } else {
        return "must be an absolute https:// URI";
    }
    hlen = strcspn(host, "/?");
    if (memchr(host, '@', hlen))
        return "must not have user info";
    p = memchr(host, ':', hlen);
    if (p && host[0] == '[')
        p = memchr(host, ']', hlen) ? memchr(strchr(host, ']'), ':', hlen) : NULL;
    if (p) {
        const char *port = p + 1;
        size_t plen = (size_t)(host + hlen - port);
        if (plen == 0 || plen > 5 || strspn(port, "0123456789") < plen || atoi(port) < 1 ||
            atoi(port) > 65535)
            return "has a bad port";
        hlen = (size_t)(p - host);
    }
    if (hlen == 0)
        return "has no host";
    if (!https && !is_loopback_host(host, hlen))
        return "must use https (http only for localhost or 127.0.0.1)";
    return NULL;
}

static int add_uri(json_t *arr, const char *opt, const char *uri)
{
    const char *why = uri_problem(uri);
    if (why)
        return usage_error(usage_client_add, "%s %s: %s", opt, uri, why);
    if (json_array_append_new(arr, json_string(uri)))
        return fail("out of memory");
    return 0;
}

static int add_scopes(json_t *arr, const char *value)
{
    static const char *const known[] = {"openid", "profile", "email", "duo", "offline_access"};
    char *copy = strdup(value), *save = NULL, *s;
    int rc = 0;

    if (!copy)
        return fail("out of memory");
    for (s = strtok_r(copy, " ,", &save); s && !rc; s = strtok_r(NULL, " ,", &save)) {
        size_t i, idx;
        json_t *v;
        for (i = 0; i < sizeof known / sizeof known[0] && strcmp(known[i], s) != 0; i++)
            ;
        if (i == sizeof known / sizeof known[0]) {
            rc = usage_error(usage_client_add,
                             "--scope %s: unknown scope (openid, profile, "
                             "email, duo or offline_access)",
                             s);
            break;
        }
        json_array_foreach(arr, idx, v)
        {
            if (strcmp(json_string_value(v), s) == 0)
                break;
        }
        if (idx == json_array_size(arr) && json_array_append_new(arr, json_string(s)))
            rc = fail("out of memory");
    }
    free(copy);
    return rc;
}

/* 1 when every byte is printable UTF-8 text (no control characters). */
static int text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    }
    return 1;
}

static int client_id_ok(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n <= WP_MAX_CLIENT_ID &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-") == n;
}

/* Checks one public JWK. Returns NULL or the reason. */
static const char *jwk_problem(json_t *jwk)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "k"};
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *use = json_string_value(json_object_get(jwk, "use"));

    if (!json_is_object(jwk) || !kty)
        return "a key without kty";
    for (size_t i = 0; i < sizeof private_members / sizeof private_members[0]; i++) {
        if (json_object_get(jwk, private_members[i]))
            return "a private or symmetric key: give only public keys";
    }
    if (use && strcmp(use, "sig") != 0 && !(strcmp(use, "enc") == 0 && strcmp(kty, "RSA") == 0))
        return "a key whose use is neither sig nor (for RSA) enc";
    if (strcmp(kty, "RSA") == 0 || strcmp(kty, "EC") == 0) {
        char *text = json_dumps(jwk, JSON_COMPACT);
        cjose_err cerr;
        cjose_jwk_t *key = text ? cjose_jwk_import(text, strlen(text), &cerr) : NULL;
        free(text);
        if (!key)
            return "a key that cannot be read";
        cjose_jwk_release(key);
        return NULL;
    }
    if (strcmp(kty, "OKP") == 0) {
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        const char *x = json_string_value(json_object_get(jwk, "x"));
        uint8_t *raw = NULL;
        size_t raw_len = 0;
        int ok;
        if (!crv || strcmp(crv, "Ed25519") != 0 || !x)
            return "an OKP key that is not Ed25519";
        ok = b64url_decode(x, 64, &raw, &raw_len) == 0 && raw_len == 32;
        free(raw);
        return ok ? NULL : "an Ed25519 key with a bad x";
    }
    return "a key of unknown kty";
}

/* Reads and checks a JWKS file. Returns 0 and *out (json_decref), or an exit code. */
static int jwks_load(const char *path, json_t **out)
{
    struct stat st;
    json_error_t jerr;
    json_t *doc, *keys, *jwk;
    size_t i;
    const char *why;

    *out = NULL;
    if (stat(path, &st))
        return fail("--jwks-file %s: cannot read it", path);
    if (!S_ISREG(st.st_mode) || st.st_size > WP_MAX_JWKS_BYTES)
        return fail("--jwks-file %s: not a file of at most %d bytes", path, WP_MAX_JWKS_BYTES);
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return fail("--jwks-file %s:%d: %s", path, jerr.line, jerr.text);
    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys) || json_array_size(keys) == 0 ||
        json_array_size(keys) > WP_MAX_JWKS_KEYS) {
        json_decref(doc);
        return fail("--jwks-file %s: expected {\"keys\": [...]} with 1 to %d keys", path,
                    WP_MAX_JWKS_KEYS);
    }
    json_array_foreach(keys, i, jwk)
    {
        why = jwk_problem(jwk);
        if (why) {
            json_decref(doc);
            return fail("--jwks-file %s: key %zu is %s", path, i + 1, why);
        }
    }
    *out = doc;
    return 0;
}

/* The host of an absolute http(s) URI (a bracketed IPv6 literal whole, no port), into
 * out. */
static void uri_host(const char *uri, char *out, size_t size)
{
    const char *p = strstr(uri, "://");
    p = p ? p + 3 : uri;
    size_t n = p[0] == '[' ? strcspn(p, "]/?#") + (strchr(p, ']') ? 1 : 0) : strcspn(p, ":/?#");
    snprintf(out, size, "%.*s", (int)n, p);
}

/* Checks a sector_identifier_uri (OIDC Core §8.1, §5 of OIDC Registration): GETs it (no
 * redirects, short timeouts, at most WP_MAX_SECTOR_BYTES) and requires a JSON array of
 * strings holding every one of redirects. Returns 0, or the exit code after printing
 * one line naming what is wrong. */
static int sector_check(const char *uri, const json_t *redirects)
{
    long status = 0;
    const char *why = NULL;
    json_t *want, *have;
    size_t i, j;
    int rc = 1;
    json_t *doc = http_fetch_json(uri, WP_MAX_SECTOR_BYTES, 10000L, &status, &why);

    if (status != 200) {
        fail("--sector-identifier-uri %s: cannot fetch it (%s, HTTP %ld)", uri, why, status);
        goto out;
    }
    if (!json_is_array(doc)) {
        fail("--sector-identifier-uri %s: the document is not a JSON array of URIs", uri);
        goto out;
    }
    json_array_foreach(redirects, i, want)
    {
        json_array_foreach(doc, j, have)
        {
            if (json_is_string(have) &&
                strcmp(json_string_value(have), json_string_value(want)) == 0)
                break;
        }
        if (j == json_array_size(doc)) {
            fail("--sector-identifier-uri %s: does not list the redirect URI %s", uri,
                 json_string_value(want));
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

/* 1 when the redirect URIs do not all share one host. */
static int redirect_hosts_differ(const json_t *redirects)
{
    char first[256], other[256];
    size_t i;
    json_t *v;
    uri_host(json_string_value(json_array_get(redirects, 0)), first, sizeof first);
    json_array_foreach(redirects, i, v)
    {
        uri_host(json_string_value(v), other, sizeof other);
        if (strcmp(first, other) != 0)
            return 1;
    }
    return 0;
}

/* Checks --NAME-enc-alg and --NAME-enc-enc (NAME "id-token" or "userinfo"): alg
 * RSA-OAEP or RSA-OAEP-256, enc only A256GCM and only with an alg, and a JWKS to find the
 * client's key in. Returns 0, or 2 after printing the usage error. */
static int enc_args_check(const char *name, const char *alg, const char *enc, int have_jwks)
{
    if (!alg)
        return enc ? usage_error(usage_client_add, "--%s-enc-enc needs --%s-enc-alg", name, name)
                   : 0;
    if (!jwe_alg_supported(alg))
        return usage_error(usage_client_add, "--%s-enc-alg must be RSA-OAEP or RSA-OAEP-256", name);
    if (enc && strcmp(enc, "A256GCM") != 0)
        return usage_error(usage_client_add, "--%s-enc-enc must be A256GCM", name);
    if (!have_jwks)
        return usage_error(usage_client_add,
                           "--%s-enc-alg needs --jwks-file or --jwks-uri with an RSA key of "
                           "\"use\": \"enc\"",
                           name);
    return 0;
}

/* With a JWKS file, an encryption algorithm needs a key to encrypt to: an RSA key (at least
 * 2048 bits) of "use" "enc" whose "alg", when present, is alg. (A jwks_uri is checked when
 * a response is encrypted.) Returns 0 or 1 after printing why. */
static int enc_key_check(const char *name, const char *alg, const json_t *jwks, const char *path)
{
    const char *kid = NULL;
    sigkey_t *key;

    if (!alg || !jwks)
        return 0;
    key = jwe_recipient_key(jwks, alg, &kid);
    if (!key)
        return fail("--jwks-file %s: no RSA key of at least 2048 bits with \"use\": \"enc\" "
                    "(and no other \"alg\") for --%s-enc-alg %s",
                    path, name, alg);
    sigkey_free(key);
    return 0;
}

static int client_add(const char *config_path, int argc, char **argv)
{
    enum {
        O_ID = 256,
        O_REDIR,
        O_POSTLOGOUT,
        O_AUTH,
        O_JWKS,
        O_SUBJECT,
        O_SCOPE,
        O_BCL,
        O_ALG,
        O_PKCE,
        O_NAME,
        O_REQUIRE_PAR,
        O_ENC_ALG,
        O_USERINFO_ALG,
        O_ID_ENC_ENC,
        O_UI_ENC_ALG,
        O_UI_ENC_ENC,
        O_JWKS_URI,
        O_SECTOR_URI
    };
    static const struct option opts[] = {
        {"id", required_argument, NULL, O_ID},
        {"redirect-uri", required_argument, NULL, O_REDIR},
        {"post-logout-redirect-uri", required_argument, NULL, O_POSTLOGOUT},
        {"auth", required_argument, NULL, O_AUTH},
        {"jwks-file", required_argument, NULL, O_JWKS},
        {"subject", required_argument, NULL, O_SUBJECT},
        {"scope", required_argument, NULL, O_SCOPE},
        {"backchannel-logout-uri", required_argument, NULL, O_BCL},
        {"id-token-alg", required_argument, NULL, O_ALG},
        {"pkce", required_argument, NULL, O_PKCE},
        {"name", required_argument, NULL, O_NAME},
        {"require-par", no_argument, NULL, O_REQUIRE_PAR},
        {"id-token-enc-alg", required_argument, NULL, O_ENC_ALG},
        {"userinfo-alg", required_argument, NULL, O_USERINFO_ALG},
        {"id-token-enc-enc", required_argument, NULL, O_ID_ENC_ENC},
        {"userinfo-enc-alg", required_argument, NULL, O_UI_ENC_ALG},
        {"userinfo-enc-enc", required_argument, NULL, O_UI_ENC_ENC},
        {"jwks-uri", required_argument, NULL, O_JWKS_URI},
        {"sector-identifier-uri", required_argument, NULL, O_SECTOR_URI},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *id = NULL, *auth = "client_secret_basic", *jwks_file = NULL;
    const char *subject = "pairwise", *bcl = NULL, *alg = "RS256", *pkce = "required";
    const char *name = NULL, *enc_alg = NULL, *userinfo_alg = NULL, *jwks_uri = NULL;
    const char *id_enc_enc = NULL, *ui_enc_alg = NULL, *ui_enc_enc = NULL;
    const char *sector_uri = NULL;
    char sector[256] = "";
    int require_par = 0;
    json_t *redirects = json_array(), *postlogout = json_array(), *scopes = json_array();
    json_t *client = NULL, *jwks = NULL, *answer = NULL;
    char secret[64] = "", hash[TOKEN_HASH_HEX_LEN + 1];
    uint8_t hk[TOKEN_HASH_KEY_BYTES];
    sigkey_alg_t alg_id;
    env_t env = {0};
    int rc = 1, c;
    wp_err_t wrc;

    if (!redirects || !postlogout || !scopes) {
        rc = fail("out of memory");
        goto out;
    }
    getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = 0;
        switch (c) {
        case 'h':
            fputs(usage_client_add, stdout);
            goto out;
        case O_ID:
            id = optarg;
            break;
        case O_REDIR:
            rc = add_uri(redirects, "--redirect-uri", optarg);
            break;
        case O_POSTLOGOUT:
            rc = add_uri(postlogout, "--post-logout-redirect-uri", optarg);
            break;
        case O_AUTH:
            auth = optarg;
            break;
        case O_JWKS:
            jwks_file = optarg;
            break;
        case O_SUBJECT:
            subject = optarg;
            break;
        case O_SCOPE:
            rc = add_scopes(scopes, optarg);
            break;
        case O_BCL:
            bcl = optarg;
            break;
        case O_ALG:
            alg = optarg;
            break;
        case O_PKCE:
            pkce = optarg;
            break;
        case O_NAME:
            name = optarg;
            break;
        case O_REQUIRE_PAR:
            require_par = 1;
            break;
        case O_ENC_ALG:
            enc_alg = optarg;
            break;
        case O_USERINFO_ALG:
            userinfo_alg = optarg;
            break;
        case O_ID_ENC_ENC:
            id_enc_enc = optarg;
            break;
        case O_UI_ENC_ALG:
            ui_enc_alg = optarg;
            break;
        case O_UI_ENC_ENC:
            ui_enc_enc = optarg;
            break;
        case O_JWKS_URI:
            jwks_uri = optarg;
            break;
        case O_SECTOR_URI:
            sector_uri = optarg;
            break;
        default:
            rc = bad_option(usage_client_add, argv);
            break;
        }
        if (rc)
            goto out;
    }
    rc = 2;
    if (optind < argc) {
        usage_error(usage_client_add, "unexpected argument: %s", argv[optind]);
        goto out;
    }
    if (!id) {
        usage_error(usage_client_add, "--id is required");
        goto out;
    }
    if (!client_id_ok(id)) {
        usage_error(usage_client_add, "--id must be 1 to %d of the characters A-Z a-z 0-9 . _ ~ -",
                    WP_MAX_CLIENT_ID);
        goto out;
    }
    if (json_array_size(redirects) == 0) {
        usage_error(usage_client_add, "at least one --redirect-uri is required");
        goto out;
    }
    if (strcmp(auth, "client_secret_basic") != 0 && strcmp(auth, "client_secret_post") != 0 &&
        strcmp(auth, "private_key_jwt") != 0 && strcmp(auth, "none") != 0) {
        usage_error(usage_client_add, "--auth %s: unknown method", auth);
        goto out;
    }
    if (strcmp(subject, "pairwise") != 0 && strcmp(subject, "public") != 0) {
        usage_error(usage_client_add, "--subject must be pairwise or public");
        goto out;
    }
    if (sigkey_alg_parse(alg, &alg_id)) {
        usage_error(usage_client_add, "--id-token-alg must be RS256, PS256, ES256 or EdDSA");
        goto out;
    }
    if (strcmp(pkce, "required") != 0 && strcmp(pkce, "optional") != 0) {
        usage_error(usage_client_add, "--pkce must be required or optional");
        goto out;
    }
    if (strcmp(auth, "none") == 0 && strcmp(pkce, "required") != 0) {
        usage_error(usage_client_add, "--auth none (a public client) needs --pkce required");
        goto out;
    }
    if (strcmp(auth, "private_key_jwt") == 0 && !jwks_file && !jwks_uri) {
        usage_error(usage_client_add, "--auth private_key_jwt needs --jwks-file or --jwks-uri");
        goto out;
    }
    if (jwks_file && jwks_uri) {
        usage_error(usage_client_add, "give --jwks-file or --jwks-uri, not both");
        goto out;
    }
    if (jwks_uri && uri_problem(jwks_uri)) {
        usage_error(usage_client_add, "--jwks-uri %s: %s", jwks_uri, uri_problem(jwks_uri));
        goto out;
    }
    if (enc_args_check("id-token", enc_alg, id_enc_enc, jwks_file || jwks_uri) ||
        enc_args_check("userinfo", ui_enc_alg, ui_enc_enc, jwks_file || jwks_uri))
        goto out;
    sigkey_alg_t userinfo_id;
    if (userinfo_alg && sigkey_alg_parse(userinfo_alg, &userinfo_id)) {
        usage_error(usage_client_add, "--userinfo-alg must be RS256, PS256, ES256 or EdDSA");
        goto out;
    }
    if (sector_uri && uri_problem(sector_uri)) {
        usage_error(usage_client_add, "--sector-identifier-uri %s: %s", sector_uri,
                    uri_problem(sector_uri));
        goto out;
    }
    /* OIDC Core §8.1: pairwise subjects across several hosts need a sector identifier. */
    if (!sector_uri && strcmp(subject, "pairwise") == 0 && redirect_hosts_differ(redirects)) {
        usage_error(usage_client_add, "redirect URIs on more than one host need "
                                      "--sector-identifier-uri (or --subject public)");
        goto out;
    }
    if (bcl && uri_problem(bcl)) {
        usage_error(usage_client_add, "--backchannel-logout-uri %s: %s", bcl, uri_problem(bcl));
        goto out;
    }
    if (name && !text_ok(name, WP_MAX_CLIENT_NAME)) {
        usage_error(usage_client_add, "--name must be 1 to %d bytes without control characters",
                    WP_MAX_CLIENT_NAME);
        goto out;
    }
    rc = 0;
    if (json_array_size(scopes) == 0) {
        rc = add_scopes(scopes, "openid profile email");
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(scopes, i, v)
        {
            if (strcmp(json_string_value(v), "openid") == 0)
                break;
        }
        if (i == json_array_size(scopes) && json_array_insert_new(scopes, 0, json_string("openid")))
            rc = fail("out of memory");
    }
    if (rc)
        goto out;
    if (jwks_file && (rc = jwks_load(jwks_file, &jwks)) != 0)
        goto out;
    if ((rc = enc_key_check("id-token", enc_alg, jwks, jwks_file)) != 0 ||
        (rc = enc_key_check("userinfo", ui_enc_alg, jwks, jwks_file)) != 0)
        goto out;
    if (sector_uri) {
        if ((rc = sector_check(sector_uri, redirects)) != 0)
            goto out;
        uri_host(sector_uri, sector, sizeof sector);
    }
    rc = 1;
    if (env_open(&env, config_path))
        goto out;
    client = json_pack("{s:s, s:s, s:s, s:O, s:O, s:s, s:O, s:s, s:s, s:I}", "client_id", id,
                       "client_name", name ? name : id, "token_endpoint_auth_method", auth,
                       "redirect_uris", redirects, "post_logout_redirect_uris", postlogout,
                       "subject_type", subject, "scopes", scopes, "id_token_signed_response_alg",
                       sigkey_alg_name(alg_id), "pkce", pkce, "created_at", (json_int_t)wp_now());
    answer = json_pack("{s:s}", "client_id", id);
    if (!client || !answer) {
        fail("out of memory");
        goto out;
    }
    if ((bcl && json_object_set_new(client, "backchannel_logout_uri", json_string(bcl))) ||
        (jwks && json_object_set(client, "jwks", jwks)) ||
        (require_par && json_object_set_new(client, "require_par", json_true())) ||
        (jwks_uri && json_object_set_new(client, "jwks_uri", json_string(jwks_uri))) ||
        (sector_uri &&
         (json_object_set_new(client, "sector_identifier_uri", json_string(sector_uri)) ||
          json_object_set_new(client, "sector", json_string(sector)))) ||
        (enc_alg &&
         (json_object_set_new(client, "id_token_encrypted_response_alg", json_string(enc_alg)) ||
          json_object_set_new(client, "id_token_encrypted_response_enc",
                              json_string("A256GCM")))) ||
        (ui_enc_alg &&
         (json_object_set_new(client, "userinfo_encrypted_response_alg", json_string(ui_enc_alg)) ||
          json_object_set_new(client, "userinfo_encrypted_response_enc",
                              json_string("A256GCM")))) ||
        (userinfo_alg &&
         json_object_set_new(client, "userinfo_signed_response_alg", json_string(userinfo_alg)))) {
        fail("out of memory");
        goto out;
    }
    if (strncmp(auth, "client_secret_", 14) == 0) {
        if (token_random(secret, sizeof secret, WP_CLIENT_SECRET_BYTES)) {
            fail("cannot make a client secret");
            goto out;
        }
        seal_subkey(env.master, WP_HASH_SUBKEY_ID, WP_HASH_SUBKEY_CONTEXT, hk);
        token_hash(hk, "client_secret", secret, hash);
        sodium_memzero(hk, sizeof hk);
        if (json_object_set_new(client, "secret_hash", json_string(hash)) ||
            json_object_set_new(answer, "client_secret", json_string(secret))) {
            fail("out of memory");
            goto out;
        }
    }
    wrc = store_client_add(env.store, client);
    if (wrc == WP_ERR_EXISTS) {
        fail("a client with id '%s' exists already", id);
        goto out;
    }
    if (wrc) {
        fail("cannot store the client");
        goto out;
    }
    audit_record(env.store, "client_added", "cli",
                 json_string_value(json_object_get(answer, "client_id")),
                 json_pack("{s:s, s:s}", "auth", auth, "subject_type", subject));
    if (json_dumpf(answer, stdout, JSON_COMPACT) || fputc('\n', stdout) == EOF) {
        fail("cannot write the answer");
        goto out;
    }
    rc = 0;
out:
    sodium_memzero(secret, sizeof secret);
    json_decref(answer);
    json_decref(client);
    json_decref(jwks);
    json_decref(redirects);
    json_decref(postlogout);
    json_decref(scopes);
    env_close(&env);
    return rc;
}

/* ---- client list / show / remove */

/* Parses a command that takes only --help and exactly nargs positional arguments.
 * Returns -1 to go on (positionals at argv[optind]), else the exit code. */
static int simple_args(const char *usage, int argc, char **argv, int nargs)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        return bad_option(usage, argv);
    }
    if (argc - optind != nargs)
        return usage_error(usage, "%s expects %d argument%s", argv[0], nargs,
                           nargs == 1 ? "" : "s");
    return -1;
}

static int print_json(json_t *v)
{
    if (json_dumpf(v, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF)
        return fail("cannot write the answer");
    return 0;
}

static int client_list(const char *config_path, int argc, char **argv)
{
    env_t env;
    json_t *list = NULL, *v;
    size_t i;
    int rc = simple_args(usage_client, argc, argv, 0);
    if (rc >= 0)
        return rc;
    if (env_open(&env, config_path)) {
        env_close(&env);
        return 1;
    }
    if (store_client_list(env.store, &list) != WP_OK) {
        rc = fail("cannot read the clients");
        goto out;
    }
    json_array_foreach(list, i, v)
    {
        json_object_del(v, "secret_hash");
    }
    rc = print_json(list);
out:
    json_decref(list);
    env_close(&env);
    return rc;
}

static int client_show_or_remove(const char *config_path, int argc, char **argv, int remove)
{
    env_t env;
    json_t *client = NULL;
    const char *id;
    wp_err_t wrc;
    int rc = simple_args(usage_client, argc, argv, 1);
    if (rc >= 0)
        return rc;
    id = argv[optind];
    if (env_open(&env, config_path)) {
        env_close(&env);
        return 1;
    }
    wrc = remove ? store_client_remove(env.store, id) : store_client_get(env.store, id, &client);
    if (wrc == WP_ERR_NOTFOUND) {
        rc = fail("no client with id '%s'", id);
        goto out;
    }
    if (wrc) {
        rc = fail("cannot read the client");
        goto out;
    }
    if (remove) {
        audit_record(env.store, "client_removed", "cli", id, NULL);
        fprintf(stderr, "removed client %s\n", id);
        rc = 0;
    } else {
        json_object_del(client, "secret_hash");
        rc = print_json(client);
    }
out:
    json_decref(client);
    env_close(&env);
    return rc;
}

static int cmd_client(const char *config_path, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(usage_client, "client needs a subcommand");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_client, stdout);
        return 0;
    }
    if (strcmp(argv[1], "add") == 0)
        return client_add(config_path, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return client_list(config_path, argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return client_show_or_remove(config_path, argc - 1, argv + 1, 0);
    if (strcmp(argv[1], "remove") == 0)
        return client_show_or_remove(config_path, argc - 1, argv + 1, 1);
    return usage_error(usage_client, "unknown client subcommand: %s", argv[1]);
}

/* ---- keys */

static void iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int keys_list(const char *config_path, int argc, char **argv)
{
    env_t env;
    keyring_t *ring = NULL;
    store_key_t *rows = NULL;
    size_t n = 0;
    int64_t now = wp_now();
    int rc = simple_args(usage_keys, argc, argv, 0);
    if (rc >= 0)
        return rc;
    if (env_open(&env, config_path)) {
        env_close(&env);
        return 1;
    }
    rc = 1;
    if (keyring_open(env.store, env.master, 0, &ring) != WP_OK) {
        fail("cannot load the signing keys (wrong master key?)");
        goto out;
    }
    if (store_key_list(env.store, &rows, &n) != WP_OK) {
        fail("cannot read the signing keys");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char when[32];
        const char *state = "published";
        char retiring[64];
        sigkey_alg_t alg;
        if (rows[i].retired_at) {
            iso_time(rows[i].retired_at, when);
            snprintf(retiring, sizeof retiring, "retiring until %s", when);
            state = retiring;
        } else if (sigkey_alg_parse(rows[i].alg, &alg) == 0) {
            const sigkey_t *signer = keyring_signing_key(ring, alg, now);
            if (signer && strcmp(signer->kid, rows[i].kid) == 0)
                state = "signing";
            else if (signer) {
                for (size_t j = 0; j < n; j++) {
                    if (strcmp(rows[j].kid, signer->kid) == 0 &&
                        rows[i].created_at >= rows[j].created_at)
                        state = "pending";
                }
            }
        }
        iso_time(rows[i].created_at, when);
        printf("%s %s %s %s\n", rows[i].kid, rows[i].alg, when, state);
    }
    rc = 0;
out:
    store_keys_free(rows, n);
    keyring_free(ring);
    env_close(&env);
    return rc;
}

static int keys_rotate(const char *config_path, int argc, char **argv)
{
    static const struct option opts[] = {{"alg", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *alg_name = "RS256";
    char kid[SIGKEY_KID_MAX];
    sigkey_alg_t alg;
    env_t env;
    int c, rc;

    getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_keys, stdout);
            return 0;
        }
        if (c != 'a')
            return bad_option(usage_keys, argv);
        alg_name = optarg;
    }
    if (optind < argc)
        return usage_error(usage_keys, "unexpected argument: %s", argv[optind]);
    if (sigkey_alg_parse_any(alg_name, &alg))
        return usage_error(usage_keys, "--alg must be ES256, RS256, PS256, EdDSA or RSA-OAEP");
    if (env_open(&env, config_path)) {
        env_close(&env);
        return 1;
    }
    if (keyring_rotate(env.store, env.master, alg, kid, sizeof kid) != WP_OK) {
        rc = fail("cannot make or store a new %s key", sigkey_alg_name(alg));
    } else {
        fprintf(stderr,
                alg == SIGKEY_RSA_OAEP
                    ? "new %s key published now; it decrypts once the servers reload their keys\n"
                    : "new %s key published now; it signs once it is one hour old\n",
                sigkey_alg_name(alg));
        audit_record(env.store, "key_rotated", "cli", kid,
                     json_pack("{s:s}", "alg", sigkey_alg_name(alg)));
        printf("%s\n", kid);
        rc = 0;
    }
    env_close(&env);
    return rc;
}

static int keys_retire(const char *config_path, int argc, char **argv)
{
    static const struct option opts[] = {
        {"now", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    env_t env;
    keyring_t *ring = NULL;
    store_key_t *rows = NULL;
    size_t n = 0, same_alg = 0;
    const store_key_t *key = NULL;
    int64_t now = wp_now(), leaves_at = now, last;
    int c, rc, at_once = 0;

    getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_keys, stdout);
            return 0;
        }
        if (c != 'n')
            return bad_option(usage_keys, argv);
        at_once = 1;
    }
    if (argc - optind != 1)
        return usage_error(usage_keys, "keys retire expects one KID");
    const char *kid = argv[optind];
    if (env_open(&env, config_path)) {
        env_close(&env);
        return 1;
    }
    rc = 1;
    if (store_key_list(env.store, &rows, &n) != WP_OK ||
        keyring_open(env.store, env.master, 0, &ring) != WP_OK) {
        fail("cannot read the signing keys");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].kid, kid) == 0)
            key = &rows[i];
    }
    if (!key) {
        fail("no published key with kid '%s'", kid);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        same_alg += strcmp(rows[i].alg, key->alg) == 0 && rows[i].retired_at == 0;
    if (key->retired_at == 0 && same_alg == 1 &&
        (strcmp(key->alg, "RS256") == 0 || strcmp(key->alg, "ES256") == 0)) {
        fail("%s is the last %s key; rotate first (keys rotate --alg %s), then retire it", kid,
             key->alg, key->alg);
        goto out;
    }
    if (key->retired_at && !at_once) {
        char when[32];
        iso_time(key->retired_at, when);
        fprintf(stderr, "%s is retiring already; it leaves the JWKS at %s (--now: at once)\n", kid,
                when);
        rc = 0;
        goto out;
    }
    /* Tokens the key signed stay verifiable until they expire: it stops signing now and
     * leaves the JWKS after the longest token lifetime (plus a minute of clock skew),
     * unless --now (a compromised key) or it never signed. */
    last = keyring_last_signed(ring, kid, now);
    if (!at_once && last > 0) {
        int64_t ttl = env.cfg.id_token_ttl > env.cfg.access_token_ttl ? env.cfg.id_token_ttl
                                                                      : env.cfg.access_token_ttl;
        if (last + ttl + 60 > now)
            leaves_at = last + ttl + 60;
    }
    if (store_key_retire(env.store, kid, leaves_at) != WP_OK) {
        fail("cannot retire key '%s'", kid);
        goto out;
    }
    audit_record(env.store, "key_retired", "cli", kid,
                 json_pack("{s:I}", "leaves_jwks_at", (json_int_t)leaves_at));
    if (leaves_at > now) {
        char when[32];
        iso_time(leaves_at, when);
        fprintf(stderr,
                "retiring %s: it no longer signs once the servers reload their keys, and leaves "
                "the JWKS at %s, when the tokens it signed have expired (--now: at once)\n",
                kid, when);
    } else {
        fprintf(stderr, "retired %s; it leaves the JWKS when the servers reload their keys\n", kid);
    }
    rc = 0;
out:
    keyring_free(ring);
    store_keys_free(rows, n);
    env_close(&env);
    return rc;
}

static int cmd_keys(const char *config_path, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(usage_keys, "keys needs a subcommand");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_keys, stdout);
        return 0;
    }
    if (strcmp(argv[1], "list") == 0)
        return keys_list(config_path, argc - 1, argv + 1);
    if (strcmp(argv[1], "rotate") == 0)
        return keys_rotate(config_path, argc - 1, argv + 1);
    if (strcmp(argv[1], "retire") == 0)
        return keys_retire(config_path, argc - 1, argv + 1);
    return usage_error(usage_keys, "unknown keys subcommand: %s", argv[1]);
}

/* ---- register import */

#define REGISTER_PROGRESS_ROWS 100000

/* Wraps register_csv_next, printing progress on stderr every REGISTER_PROGRESS_ROWS. */
typedef struct {
    register_csv_t *csv;
    size_t rows;
} import_progress_t;

static int import_next(void *ctx, store_person_t *row)
{
    import_progress_t *p = ctx;
    int r = register_csv_next(p->csv, row);
    if (r > 0 && ++p->rows % REGISTER_PROGRESS_ROWS == 0)
        fprintf(stderr, "read %zu rows\n", p->rows);
    return r;
}

static int cmd_register(const char *config_path, int argc, char **argv)
{
    register_csv_t *csv = NULL;
    char err[REGISTER_CSV_MAX_ERROR];
    size_t count = 0;
    env_t env;
    wp_err_t wrc;
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_register, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "import") != 0)
        return usage_error(usage_register, "register needs the subcommand import");
    rc = simple_args(usage_register, argc - 1, argv + 1, 1);
    if (rc >= 0)
        return rc;
    if (register_csv_open(argv[optind + 1], &csv, err, sizeof err) != WP_OK)
        return fail("%s", err);
    if (env_open(&env, config_path)) {
        env_close(&env);
        register_csv_close(csv);
        return 1;
    }
    import_progress_t progress = {.csv = csv};
    wrc = store_register_import(env.store, import_next, &progress, &count);
    if (wrc != WP_OK) {
        if (register_csv_error(csv)[0])
            rc = fail("%s (nothing imported)", register_csv_error(csv));
        else
            rc = fail("storage error while importing (nothing imported)");
    } else {
        size_t withdrawn = 0;
        store_register_withdrawn_count(env.store, &withdrawn);
        fprintf(stderr, "imported %zu rows; %zu register rows are withdrawn\n", count, withdrawn);
        rc = 0;
    }
    register_csv_close(csv);
    env_close(&env);
    return rc;
}

/* ---- person invite */

static int cmd_person(const char *config_path, int argc, char **argv)
{
    static const struct option opts[] = {{"person-number", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *number = NULL;
    char code[CODE_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1], until[32];
    char subject[AUDIT_SUBJECT_MAX];
    uint8_t hk[TOKEN_HASH_KEY_BYTES];
    store_person_t person = {0};
    store_code_t row = {0};
    env_t env;
    wp_err_t wrc;
    int c, rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_person, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "invite") != 0)
        return usage_error(usage_person, "person needs the subcommand invite");
    argc--;
    argv++;
    getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_person, stdout);
            return 0;
        }
        if (c != 'p')
            return bad_option(usage_person, argv);
        number = optarg;
    }
    if (optind < argc)
        return usage_error(usage_person, "unexpected argument: %s", argv[optind]);
    if (!number)
        return usage_error(usage_person, "--person-number is required");
    if (!register_csv_person_number_valid(number))
        return fail("--person-number must be 9 digits passing the 11-test");
    if (env_open(&env, config_path)) {
        env_close(&env);
        return 1;
    }
    rc = 1;
    wrc = store_person_get(env.store, number, &person);
    if (wrc == WP_ERR_NOTFOUND) {
        fail("no register record for that person number");
        goto out;
    }
    if (wrc) {
        fail("cannot read the register");
        goto out;
    }
    token_code_new(code);
    seal_subkey(env.master, WP_HASH_SUBKEY_ID, WP_HASH_SUBKEY_CONTEXT, hk);
    token_hash(hk, "enrol_code", code, hash);
    sodium_memzero(hk, sizeof hk);
    row.hash = hash;
    row.kind = "enrol";
    row.person_number = (char *)number;
    row.acr = env.cfg.acr_assisted;
    row.proofing = "assisted";
    row.expires_at = wp_now() + env.cfg.enrol_code_ttl;
    if (store_code_add(env.store, &row) != WP_OK) {
        fail("cannot store the enrolment code");
        goto out;
    }
    seal_subkey(env.master, WP_HASH_SUBKEY_ID, WP_HASH_SUBKEY_CONTEXT, hk);
    audit_person_subject(hk, number, subject);
    sodium_memzero(hk, sizeof hk);
    audit_record(
        env.store, "enrol_code_issued", "cli", subject,
        json_pack("{s:s, s:I}", "proofing", "assisted", "expires_at", (json_int_t)row.expires_at));
    iso_time(row.expires_at, until);
    printf("One-time enrolment code, valid until %s; give it to the person through a trusted "
           "channel:\n%s\n",
           until, code);
    rc = 0;
out:
    sodium_memzero(code, sizeof code);
    store_person_clear(&person);
    env_close(&env);
    return rc;
}

/* ---- staff add (issue 5) */

static const char usage_staff[] =
    "usage: wereldpas staff add --name NAME --role support|supervisor\n"
    "Prints a one-time code (last line of stdout, valid 7 days) with which that staff\n"
    "member registers a passkey for the support console at /support/enrol.\n";

#define WP_STAFF_CODE_TTL (7LL * 24 * 3600)

static int cmd_staff(const char *config_path, int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *role = NULL;
    char id[32], code[CODE_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1], until[32], actor[64];
    uint8_t hk[TOKEN_HASH_KEY_BYTES];
    json_t *staff = NULL;
    store_code_t row = {0};
    env_t env;
    int c, rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_staff, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "add") != 0)
        return usage_error(usage_staff, "staff needs the subcommand add");
    argc--;
    argv++;
    getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_staff, stdout);
            return 0;
        }
        if (c == 'n')
            name = optarg;
        else if (c == 'r')
            role = optarg;
        else
            return bad_option(usage_staff, argv);
    }
    if (optind < argc)
        return usage_error(usage_staff, "unexpected argument: %s", argv[optind]);
    if (!name || !role)
        return usage_error(usage_staff, "--name and --role are required");
    if (!text_ok(name, 100))
        return usage_error(usage_staff, "--name must be 1 to 100 printable characters");
    if (strcmp(role, "support") != 0 && strcmp(role, "supervisor") != 0)
        return usage_error(usage_staff, "--role must be support or supervisor");
    if (env_open(&env, config_path)) {
        env_close(&env);
        return 1;
    }
    rc = 1;
    token_random(id, sizeof id, 12);
    staff = json_pack("{s:s, s:s, s:s, s:I}", "id", id, "name", name, "role", role, "created_at",
                      (json_int_t)wp_now());
    if (!staff || store_staff_add(env.store, staff) != WP_OK) {
        fail("cannot store the staff member");
        goto out;
    }
    token_code_new(code);
    seal_subkey(env.master, WP_HASH_SUBKEY_ID, WP_HASH_SUBKEY_CONTEXT, hk);
    token_hash(hk, "staff_code", code, hash);
    sodium_memzero(hk, sizeof hk);
    row.hash = hash;
    row.kind = "staff";
    row.person_number = id; /* the codes table's owner column: here the staff id */
    row.acr = (char *)role;
    row.proofing = "staff";
    row.expires_at = wp_now() + WP_STAFF_CODE_TTL;
    if (store_code_add(env.store, &row) != WP_OK) {
        fail("cannot store the code");
        goto out;
    }
    snprintf(actor, sizeof actor, "staff:%s", id);
    audit_record(env.store, "staff_added", "cli", actor, json_pack("{s:s}", "role", role));
    iso_time(row.expires_at, until);
    printf("Staff member %s (%s) added as %s.\n"
           "Give them this one-time code, valid until %s, to register their passkey at "
           "%s/support/enrol:\n%s\n",
           name, id, role, until, env.cfg.issuer, code);
    rc = 0;
out:
    sodium_memzero(code, sizeof code);
    json_decref(staff);
    env_close(&env);
    return rc;
}

/* ---- audit verify (issue 5) */

static const char usage_audit[] = "usage: wereldpas audit verify\n"
                                  "Checks the audit log's hash chain and prints the entry "
                                  "count; exit 1 naming the first broken entry.\n";

static int cmd_audit(const char *config_path, int argc, char **argv)
{
    env_t env;
    int64_t count = 0, bad = 0;
    char why[256];
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_audit, stdout);
        return 0;
    }
    if (argc != 2 || strcmp(argv[1], "verify") != 0)
        return usage_error(usage_audit, "audit needs the subcommand verify");
    if (env_open(&env, config_path)) {
        env_close(&env);
        return 1;
    }
    wp_err_t wrc = audit_verify(env.store, &count, &bad, why, sizeof why);
    if (wrc == WP_ERR_INVALID) {
        rc = fail("audit log broken at entry %lld: %s", (long long)bad, why);
    } else if (wrc) {
        rc = fail("cannot read the audit log");
    } else {
        printf("audit log intact: %lld entries\n", (long long)count);
        rc = 0;
    }
    env_close(&env);
    return rc;
}

int cli_dispatch(const char *config_path, int argc, char **argv)
{
    if (argc < 1) {
        cli_usage(stderr);
        return 2;
    }
    if (strcmp(argv[0], "client") == 0)
        return cmd_client(config_path, argc, argv);
    if (strcmp(argv[0], "keys") == 0)
        return cmd_keys(config_path, argc, argv);
    if (strcmp(argv[0], "register") == 0)
        return cmd_register(config_path, argc, argv);
    if (strcmp(argv[0], "person") == 0)
        return cmd_person(config_path, argc, argv);
    if (strcmp(argv[0], "staff") == 0)
        return cmd_staff(config_path, argc, argv);
    if (strcmp(argv[0], "audit") == 0)
        return cmd_audit(config_path, argc, argv);
    fprintf(stderr, "wereldpas: unknown command: %s\n", argv[0]);
    cli_usage(stderr);
    return 2;
}
