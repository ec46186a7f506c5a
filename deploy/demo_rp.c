/*
 * demo-rp: "Mijn DUO (demo)", a small OpenID Connect relying party for trying Wereldpas.
 *
 * It does what a careful relying party does with the authorization code flow: discovery,
 * PKCE (S256), state and nonce kept server-side behind an HttpOnly cookie, the RFC 9207
 * `iss` check, the token request with client_secret_basic, the ID token signature check
 * against the provider's JWKS (cjose), the iss/aud/exp/nonce checks, and a userinfo call.
 * Then it shows the claims it received.
 *
 * It runs one libmicrohttpd polling thread on purpose: the session table needs no lock,
 * and the provider it calls while answering is another process.
 *
 *   demo-rp [--issuer URL] [--client-id ID] [--client-secret S] [--port N] [--public-url URL]
 *
 * The client secret may also come from $DEMO_RP_CLIENT_SECRET (better: not in `ps`).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjose/cjose.h>
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#define RP_MAX_BODY (256 * 1024) /* largest answer accepted from the provider */
#define RP_MAX_PAGE (256 * 1024) /* largest page this program renders */
#define RP_MAX_PARAM 4096        /* longest code, state, iss or error accepted */
#define RP_MAX_ID_TOKEN 16384    /* longest ID token accepted */
#define RP_MAX_SESSIONS 256
#define RP_RANDOM_BYTES 32
#define RP_TOKEN_LEN 43 /* base64url of RP_RANDOM_BYTES without padding */
#define RP_PENDING_TTL 600
#define RP_SIGNED_IN_TTL 3600
#define RP_CLOCK_SKEW 60
#define RP_HTTP_TIMEOUT 10L
#define RP_COOKIE "demo_rp_sid"
#define RP_TITLE "Mijn DUO (demo)"

typedef struct {
    const char *issuer;
    const char *client_id;
    const char *client_secret;
    const char *public_url;
    int port;
    char *redirect_uri; /* public_url + "/callback" */
    char *home_uri;     /* public_url + "/" */
} rp_opts_t;

typedef struct {
    int loaded;
    int iss_param_supported;
    char *authorization_endpoint;
    char *token_endpoint;
    char *userinfo_endpoint;
    char *jwks_uri;
    char *end_session_endpoint;
} rp_discovery_t;

/* A browser's record, found by the random value of its cookie. */
typedef struct {
    char sid[RP_TOKEN_LEN + 1]; /* "" when the slot is free */
    int64_t expires;
    int signed_in;
    char state[RP_TOKEN_LEN + 1];
    char nonce[RP_TOKEN_LEN + 1];
    char verifier[RP_TOKEN_LEN + 1];
    char *id_token;    /* malloc'd, after sign-in */
    json_t *id_claims; /* after sign-in */
    json_t *userinfo;  /* after sign-in */
} rp_session_t;

/* A growing text buffer with a hard cap; after a failed append it stays failed. */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
    size_t max;
    int failed;
} buf_t;

static rp_opts_t opts;
static rp_discovery_t disco;
static rp_session_t sessions[RP_MAX_SESSIONS];

/* ---------------------------------------------------------------- small helpers */

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n > b->max - b->len - 1) {
        b->failed = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap = cap > b->max / 2 ? b->max : cap * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_adds(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* Appends s with the five HTML-significant characters escaped. */
static void buf_addesc(buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_adds(b, "&amp;");
            break;
        case '<':
            buf_adds(b, "&lt;");
            break;
        case '>':
            buf_adds(b, "&gt;");
            break;
        case '"':
            buf_adds(b, "&quot;");
            break;
        case '\'':
            buf_adds(b, "&#39;");
            break;
        default:
            buf_add(b, s, 1);
        }
    }
}

static void buf_free(buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

#define STR_END ((const char *)NULL)

/* Joins the list of strings ended by STR_END. Returns a string to free with free(),
 * or NULL when out of memory. */
__attribute__((sentinel)) static char *str_join(const char *first, ...)
{
    buf_t b = {.max = RP_MAX_PAGE};
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        buf_adds(&b, s);
    va_end(ap);
    if (b.failed || !b.p) {
        buf_free(&b);
        return b.failed ? NULL : strdup("");
    }
    return b.p;
}

/* Appends "&name=value" (or "?name=value" for the first) with value percent-encoded. */
static void url_add_param(buf_t *b, const char *name, const char *value)
{
    char *enc = curl_easy_escape(NULL, value, 0);
    if (!enc) {
        b->failed = 1;
        return;
    }
    buf_adds(b, b->p && strchr(b->p, '?') ? "&" : "?");
    buf_adds(b, name);
    buf_adds(b, "=");
    buf_adds(b, enc);
    curl_free(enc);
}

/* Fills out with RP_TOKEN_LEN base64url characters of fresh randomness. */
static void random_token(char out[RP_TOKEN_LEN + 1])
{
    uint8_t raw[RP_RANDOM_BYTES];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, RP_TOKEN_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

/* PKCE S256 (RFC 7636 §4.2): BASE64URL(SHA256(verifier)) into out. */
static void pkce_challenge(const char *verifier, char out[RP_TOKEN_LEN + 1])
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const uint8_t *)verifier, strlen(verifier));
    sodium_bin2base64(out, RP_TOKEN_LEN + 1, digest, sizeof(digest),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Constant-time equality of two strings (their lengths may leak). 1 if equal. */
static int secret_equal(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

/* ---------------------------------------------------------------- sessions */

static void session_clear(rp_session_t *s)
{
    free(s->id_token);
    json_decref(s->id_claims);
    json_decref(s->userinfo);
    sodium_memzero(s, sizeof(*s));
}

/* Returns the live session whose id is sid, or NULL (an expired one is dropped). */
static rp_session_t *session_find(const char *sid)
{
    if (!sid || strlen(sid) != RP_TOKEN_LEN)
        return NULL;
    int64_t now = now_s();
    for (size_t i = 0; i < RP_MAX_SESSIONS; i++) {
        rp_session_t *s = &sessions[i];
        if (s->sid[0] == '\0' || sodium_memcmp(s->sid, sid, RP_TOKEN_LEN) != 0)
            continue;
        if (s->expires <= now) {
            session_clear(s);
            return NULL;
        }
        return s;
    }
    return NULL;
}

/* Starts a pending sign-in in a free slot (or the one closest to expiry) with fresh
 * id, state, nonce and PKCE verifier. Never fails. */
static rp_session_t *session_new(void)
{
    int64_t now = now_s();
    rp_session_t *slot = &sessions[0];
    for (size_t i = 0; i < RP_MAX_SESSIONS; i++) {
        rp_session_t *s = &sessions[i];
        if (s->sid[0] == '\0' || s->expires <= now) {
            slot = s;
            break;
        }
        if (s->expires < slot->expires)
            slot = s;
    }
    session_clear(slot);
    random_token(slot->sid);
    random_token(slot->state);
    random_token(slot->nonce);
    random_token(slot->verifier);
    slot->expires = now + RP_PENDING_TTL;
    return slot;
}

/* ---------------------------------------------------------------- HTTP client */

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    buf_t *b = userdata;
    size_t n = size * nmemb;
    buf_add(b, data, n);
    return b->failed ? 0 : n; /* 0 makes libcurl abort: the answer is too large */
}

/* Calls url: a GET, or a form POST when form is not NULL. With user set, authenticates
 * with HTTP Basic (user, pass); with bearer set, with that access token.
 * On success returns 0, the HTTP status in *status and the body (at most RP_MAX_BODY
 * bytes, NUL-terminated) in *out, freed by the caller with buf_free. On a transport
 * error returns -1 and logs it; *out is then empty. */
static int http_call(const char *url, const char *form, const char *user, const char *pass,
                     const char *bearer, long *status, buf_t *out)
{
    int rc = -1;
    struct curl_slist *hdrs = NULL;
    CURL *h = curl_easy_init();
    memset(out, 0, sizeof(*out));
    out->max = RP_MAX_BODY;
    if (!h)
        goto out;
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (!hdrs)
        goto out;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, RP_HTTP_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "wereldpas-demo-rp/1");
    if (form) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    }
    if (user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
    } else if (bearer) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, bearer);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        fprintf(stderr, "demo-rp: %s: %s\n", url,
                out->failed ? "answer too large" : curl_easy_strerror(cc));
        buf_free(out);
        out->max = RP_MAX_BODY;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    rc = 0;
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}

/* Parses a body as one JSON object. Returns a new reference, or NULL. */
static json_t *json_object_from(const buf_t *b)
{
    if (!b->p)
        return NULL;
    json_t *j = json_loadb(b->p, b->len, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* GETs url and returns its JSON object (new reference) when the status is 200, else
 * NULL (logged). */
static json_t *http_get_json(const char *url)
{
    long status = 0;
    buf_t body;
    json_t *j = NULL;
    if (http_call(url, NULL, NULL, NULL, NULL, &status, &body) != 0)
        return NULL;
    if (status != 200)
        fprintf(stderr, "demo-rp: %s: HTTP %ld\n", url, status);
    else if (!(j = json_object_from(&body)))
        fprintf(stderr, "demo-rp: %s: not a JSON object\n", url);
    buf_free(&body);
    return j;
}

/* ---------------------------------------------------------------- discovery */

static char *json_strdup(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? strdup(s) : NULL;
}

static void discovery_clear(void)
{
    free(disco.authorization_endpoint);
    free(disco.token_endpoint);
    free(disco.userinfo_endpoint);
    free(disco.jwks_uri);
    free(disco.end_session_endpoint);
    memset(&disco, 0, sizeof(disco));
}

/* Loads the provider's metadata once (OpenID Connect Discovery 1.0). Returns 0 when it
 * is loaded, else -1 (logged) so that the next request tries again. */
static int discovery_load(void)
{
    int rc = -1;
    json_t *meta = NULL;
    char *url = NULL;
    if (disco.loaded)
        return 0;
    size_t n = strlen(opts.issuer);
    while (n > 0 && opts.issuer[n - 1] == '/')
        n--;
    url = malloc(n + sizeof("/.well-known/openid-configuration"));
    if (!url)
        goto out;
    memcpy(url, opts.issuer, n);
    strcpy(url + n, "/.well-known/openid-configuration");
    meta = http_get_json(url);
    if (!meta)
        goto out;
    const char *iss = json_string_value(json_object_get(meta, "issuer"));
    if (!iss || strcmp(iss, opts.issuer) != 0) {
        fprintf(stderr, "demo-rp: discovery names issuer \"%s\", expected \"%s\"\n",
                iss ? iss : "(none)", opts.issuer);
        goto out;
    }
    disco.authorization_endpoint = json_strdup(meta, "authorization_endpoint");
    disco.token_endpoint = json_strdup(meta, "token_endpoint");
    disco.userinfo_endpoint = json_strdup(meta, "userinfo_endpoint");
    disco.jwks_uri = json_strdup(meta, "jwks_uri");
    disco.end_session_endpoint = json_strdup(meta, "end_session_endpoint");
    if (!disco.end_session_endpoint)
        disco.end_session_endpoint = str_join(opts.issuer, "/logout", STR_END);
    disco.iss_param_supported =
        json_is_true(json_object_get(meta, "authorization_response_iss_parameter_supported"));
    if (!disco.authorization_endpoint || !disco.token_endpoint || !disco.userinfo_endpoint ||
        !disco.jwks_uri || !disco.end_session_endpoint) {
        fprintf(stderr, "demo-rp: discovery lacks an endpoint this client needs\n");
        discovery_clear();
        goto out;
    }
    disco.loaded = 1;
    rc = 0;
out:
    json_decref(meta);
    free(url);
    return rc;
}

/* ---------------------------------------------------------------- ID token */

static int alg_allowed(const char *alg)
{
    return alg && (strcmp(alg, CJOSE_HDR_ALG_RS256) == 0 || strcmp(alg, CJOSE_HDR_ALG_PS256) == 0 ||
                   strcmp(alg, CJOSE_HDR_ALG_ES256) == 0);
}

/* Finds the signing key kid in the provider's JWKS. Returns it for cjose (release with
 * cjose_jwk_release), or NULL with *why set. */
static cjose_jwk_t *jwks_find(const char *kid, const char *alg, const char **why)
{
    cjose_jwk_t *jwk = NULL;
    cjose_err err;
    json_t *jwks = http_get_json(disco.jwks_uri);
    json_t *keys = json_object_get(jwks, "keys");
    size_t i;
    json_t *key;
    *why = "the provider's key set could not be read";
    if (!json_is_array(keys))
        goto out;
    *why = "the ID token was signed with a key the provider does not publish";
    json_array_foreach(keys, i, key)
    {
        const char *k = json_string_value(json_object_get(key, "kid"));
        const char *use = json_string_value(json_object_get(key, "use"));
        const char *kalg = json_string_value(json_object_get(key, "alg"));
        if (!k || strcmp(k, kid) != 0 || (use && strcmp(use, "sig") != 0))
            continue;
        if (kalg && strcmp(kalg, alg) != 0) {
            *why = "the ID token's algorithm does not match its key";
            goto out;
        }
        jwk = cjose_jwk_import_json(key, &err);
        if (!jwk)
            *why = "the provider's key could not be imported";
        goto out;
    }
out:
    json_decref(jwks);
    return jwk;
}

/* 1 when the aud claim names this client (OIDC Core §3.1.3.7 items 3 to 5). */
static int audience_ok(json_t *claims)
{
    json_t *aud = json_object_get(claims, "aud");
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), opts.client_id) == 0 &&
               (!azp || strcmp(azp, opts.client_id) == 0);
    if (!json_is_array(aud))
        return 0;
    size_t i;
    json_t *v;
    int found = 0;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), opts.client_id) == 0)
            found = 1;
    }
    if (json_array_size(aud) > 1 && (!azp || strcmp(azp, opts.client_id) != 0))
        return 0;
    return found && (!azp || strcmp(azp, opts.client_id) == 0);
}

/* Verifies an ID token: its signature with the provider's published key named by kid,
 * then iss, aud, exp, iat and nonce. On success returns 0 and the claims in *claims
 * (json_decref); on failure -1 and a reason for the person in *why. */
static int id_token_verify(const char *id_token, const char *nonce, json_t **claims,
                           const char **why)
{
    int rc = -1;
    cjose_err err;
    cjose_jws_t *jws = NULL;
    cjose_jwk_t *jwk = NULL;
    json_t *c = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    size_t len = strlen(id_token);

    *why = "the ID token is not a signed JWT";
    if (len > RP_MAX_ID_TOKEN)
        goto out;
    jws = cjose_jws_import(id_token, len, &err);
    if (!jws)
        goto out;
    cjose_header_t *hdr = cjose_jws_get_protected(jws);
    const char *alg = cjose_header_get(hdr, CJOSE_HDR_ALG, &err);
    const char *kid = cjose_header_get(hdr, CJOSE_HDR_KID, &err);
    *why = "the ID token uses an algorithm this client does not accept";
    if (!alg_allowed(alg))
        goto out;
    *why = "the ID token has no key id (kid)";
    if (!kid)
        goto out;
    jwk = jwks_find(kid, alg, why);
    if (!jwk)
        goto out;
    *why = "the ID token's signature is not valid";
    if (!cjose_jws_verify(jws, jwk, &err))
        goto out;
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &err))
        goto out;
    *why = "the ID token's claims are not a JSON object";
    c = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(c))
        goto out;

    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const char *tn = json_string_value(json_object_get(c, "nonce"));
    json_t *exp = json_object_get(c, "exp");
    json_t *iat = json_object_get(c, "iat");
    int64_t now = now_s();
    *why = "the ID token was issued by someone else (iss)";
    if (!iss || strcmp(iss, opts.issuer) != 0)
        goto out;
    *why = "the ID token is not meant for this client (aud)";
    if (!audience_ok(c))
        goto out;
    *why = "the ID token has expired (exp)";
    if (!json_is_integer(exp) || json_integer_value(exp) + RP_CLOCK_SKEW < now)
        goto out;
    *why = "the ID token was issued in the future (iat)";
    if (!json_is_integer(iat) || json_integer_value(iat) > now + RP_CLOCK_SKEW)
        goto out;
    *why = "the ID token does not carry the nonce of this sign-in";
    if (!tn || !secret_equal(tn, nonce))
        goto out;
    *why = "the ID token has no subject (sub)";
    if (!sub || !*sub)
        goto out;
    *why = NULL;
    rc = 0;
out:
    if (rc != 0)
        json_decref(c);
    else
        *claims = c;
    cjose_jwk_release(jwk);
    cjose_jws_release(jws);
    return rc;
}

/* ---------------------------------------------------------------- pages */

static void page_begin(buf_t *b, const char *title)
{
    buf_adds(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>");
    buf_addesc(b, title);
    buf_adds(b, "</title><style>"
                "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;"
                "padding:0 1rem;line-height:1.5;color:#1b1b1b}"
                "header{border-bottom:4px solid #154273;margin-bottom:1.5rem}"
                "header p{margin:0;color:#154273;font-weight:bold}"
                "a.button{display:inline-block;background:#154273;color:#fff;padding:.7rem 1.2rem;"
                "border-radius:4px;text-decoration:none;font-weight:bold}"
                "a.button:focus{outline:3px solid #ffb612}"
                "table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}"
                "th,td{text-align:left;border-bottom:1px solid #ccc;padding:.3rem .5rem;"
                "vertical-align:top;word-break:break-all}"
                ".error{border-left:4px solid #d52b1e;padding-left:1rem}"
                "footer{margin-top:3rem;font-size:.85rem;color:#555}"
                "</style></head><body><header><p>" RP_TITLE "</p></header><main>\n");
}

static void page_end(buf_t *b)
{
    buf_adds(b, "</main><footer>A demonstration relying party for Wereldpas. It is not a "
                "DUO service and shows only synthetic data.</footer></body></html>\n");
}

static void add_security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                            "form-action 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

/* Sends the page in b (or a plain 500 when building it failed) and frees b. */
static enum MHD_Result send_page(struct MHD_Connection *conn, unsigned int status, buf_t *b)
{
    static const char oops[] = "The page could not be built.\n";
    struct MHD_Response *r;
    if (b->failed || !b->p) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        r = MHD_create_response_from_buffer(sizeof(oops) - 1, (void *)oops, MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    } else {
        r = MHD_create_response_from_buffer(b->len, b->p, MHD_RESPMEM_MUST_COPY);
        if (r)
            MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    }
    buf_free(b);
    if (!r)
        return MHD_NO;
    add_security_headers(r);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sends a 303 to location, setting cookie when it is not NULL. */
static enum MHD_Result send_redirect(struct MHD_Connection *conn, const char *location,
                                     const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_security_headers(r);
    MHD_add_response_header(r, "Location", location);
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SEE_OTHER, r);
    MHD_destroy_response(r);
    return ret;
}

/* A page that explains what went wrong; detail (escaped) may be NULL. */
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned int status,
                                  const char *what, const char *detail)
{
    buf_t b = {.max = RP_MAX_PAGE};
    page_begin(&b, "Sign-in failed - " RP_TITLE);
    buf_adds(&b, "<h1>Sign-in failed</h1><div class=\"error\"><p>");
    buf_addesc(&b, what);
    buf_adds(&b, "</p>");
    if (detail && *detail) {
        buf_adds(&b, "<p>");
        buf_addesc(&b, detail);
        buf_adds(&b, "</p>");
    }
    buf_adds(&b, "</div><p><a href=\"/\">Back to the start page</a></p>");
    page_end(&b);
    return send_page(conn, status, &b);
}

static void add_claims_table(buf_t *b, const char *caption, json_t *obj)
{
    const char *key;
    json_t *v;
    buf_adds(b, "<table><caption><h2>");
    buf_addesc(b, caption);
    buf_adds(b, "</h2></caption><thead><tr><th scope=\"col\">Claim</th>"
                "<th scope=\"col\">Value</th></tr></thead><tbody>");
    json_object_foreach(obj, key, v)
    {
        buf_adds(b, "<tr><th scope=\"row\">");
        buf_addesc(b, key);
        buf_adds(b, "</th><td>");
        if (json_is_string(v)) {
            buf_addesc(b, json_string_value(v));
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (s)
                buf_addesc(b, s);
            else
                b->failed = 1;
            free(s);
        }
        buf_adds(b, "</td></tr>");
    }
    buf_adds(b, "</tbody></table>\n");
}

static enum MHD_Result page_home(struct MHD_Connection *conn, rp_session_t *s)
{
    buf_t b = {.max = RP_MAX_PAGE};
    page_begin(&b, RP_TITLE);
    buf_adds(&b, "<h1>Welcome to " RP_TITLE "</h1>"
                 "<p>This page stands in for Mijn DUO, where people check their student "
                 "records and diplomas. People who live abroad and cannot use DigiD sign in "
                 "here with Wereldpas, using a passkey on their phone or computer.</p>"
                 "<p>Signing in sends you to Wereldpas at <code>");
    buf_addesc(&b, opts.issuer);
    buf_adds(&b, "</code>. The first time, you enrol with the code printed by "
                 "<code>deploy/demo.sh</code> and create a passkey. Afterwards this page "
                 "shows what Wereldpas told it about you.</p>");
    if (s && s->signed_in)
        buf_adds(&b, "<p>You are signed in. <a href=\"/me\">Show my details</a> or "
                     "<a href=\"/logout\">sign out</a>.</p>");
    else
        buf_adds(&b, "<p><a class=\"button\" href=\"/login\">Sign in with Wereldpas</a></p>");
    page_end(&b);
    return send_page(conn, MHD_HTTP_OK, &b);
}

static enum MHD_Result page_login(struct MHD_Connection *conn)
{
    enum MHD_Result ret;
    char challenge[RP_TOKEN_LEN + 1];
    char *cookie = NULL;
    buf_t url = {.max = RP_MAX_PAGE};

    if (discovery_load() != 0)
        return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "Wereldpas cannot be reached right now. Is it running?", opts.issuer);
    rp_session_t *s = session_new();
    pkce_challenge(s->verifier, challenge);
    buf_adds(&url, disco.authorization_endpoint);
    url_add_param(&url, "response_type", "code");
    url_add_param(&url, "client_id", opts.client_id);
    url_add_param(&url, "redirect_uri", opts.redirect_uri);
    url_add_param(&url, "scope", "openid profile");
    url_add_param(&url, "state", s->state);
    url_add_param(&url, "nonce", s->nonce);
    url_add_param(&url, "code_challenge", challenge);
    url_add_param(&url, "code_challenge_method", "S256");
    cookie = str_join(RP_COOKIE "=", s->sid, "; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600",
                      strncmp(opts.public_url, "https:", 6) == 0 ? "; Secure" : "", STR_END);
    if (url.failed || !cookie) {
        session_clear(s);
        ret = send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory.", NULL);
    } else {
        ret = send_redirect(conn, url.p, cookie);
    }
    free(cookie);
    buf_free(&url);
    return ret;
}

static const char *query(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    return v && strlen(v) <= RP_MAX_PARAM ? v : NULL;
}

/* The token request (RFC 6749 §4.1.3) with client_secret_basic: client id and secret
 * form-urlencoded, then Basic (§2.3.1). Returns the answer object (json_decref) or NULL
 * with *why and *detail (pointing into a static buffer) set. */
static json_t *token_request(const char *code, const char *verifier, const char **why,
                             const char **detail)
{
    static char desc[512];
    json_t *tok = NULL;
    long status = 0;
    buf_t form = {.max = RP_MAX_PAGE};
    buf_t body = {0};
    char *user = curl_easy_escape(NULL, opts.client_id, 0);
    char *pass = curl_easy_escape(NULL, opts.client_secret, 0);

    *why = "Out of memory.";
    *detail = NULL;
    if (!user || !pass)
        goto out;
    url_add_param(&form, "grant_type", "authorization_code");
    url_add_param(&form, "code", code);
    url_add_param(&form, "redirect_uri", opts.redirect_uri);
    url_add_param(&form, "code_verifier", verifier);
    if (form.failed)
        goto out;
    *why = "The token endpoint could not be reached.";
    /* form.p + 1: the body without the '?' that url_add_param put first. */
    if (http_call(disco.token_endpoint, form.p + 1, user, pass, NULL, &status, &body) != 0)
        goto out;
    json_t *j = json_object_from(&body);
    if (status != 200) {
        const char *e = json_string_value(json_object_get(j, "error"));
        const char *d = json_string_value(json_object_get(j, "error_description"));
        snprintf(desc, sizeof(desc), "HTTP %ld: %s%s%s", status, e ? e : "no error code",
                 d ? ": " : "", d ? d : "");
        *why = "The token endpoint refused the authorization code.";
        *detail = desc;
        json_decref(j);
        goto out;
    }
    *why = "The token endpoint's answer is not a JSON object.";
    if (!j)
        goto out;
    tok = j;
out:
    if (form.p)
        sodium_memzero(form.p, form.len);
    buf_free(&form);
    buf_free(&body);
    curl_free(user);
    if (pass)
        sodium_memzero(pass, strlen(pass));
    curl_free(pass);
    return tok;
}

/* Calls userinfo with the access token. Returns the claims (json_decref) or NULL. */
static json_t *userinfo_request(const char *access_token)
{
    long status = 0;
    buf_t body;
    json_t *j = NULL;
    if (http_call(disco.userinfo_endpoint, NULL, NULL, NULL, access_token, &status, &body) != 0)
        return NULL;
    if (status == 200)
        j = json_object_from(&body);
    else
        fprintf(stderr, "demo-rp: userinfo: HTTP %ld\n", status);
    buf_free(&body);
    return j;
}

static enum MHD_Result page_callback(struct MHD_Connection *conn, rp_session_t *s)
{
    enum MHD_Result ret;
    const char *why = NULL;
    const char *detail = NULL;
    json_t *tok = NULL;
    json_t *claims = NULL;
    json_t *info = NULL;
    const char *state = query(conn, "state");
    const char *iss = query(conn, "iss");
    const char *error = query(conn, "error");
    const char *code = query(conn, "code");

    if (!s || s->signed_in || !s->state[0])
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "This sign-in is unknown or has expired. Please start again.", NULL);
    if (!state || !secret_equal(state, s->state)) {
        ret = send_error(conn, MHD_HTTP_BAD_REQUEST,
                         "The answer does not belong to the sign-in this browser started "
                         "(state differs). Please start again.",
                         NULL);
        goto out;
    }
    /* RFC 9207: the answer must come from the provider we sent the person to. */
    if ((iss || disco.iss_param_supported) && (!iss || strcmp(iss, opts.issuer) != 0)) {
        ret = send_error(conn, MHD_HTTP_BAD_REQUEST,
                         "The answer names another issuer than the one this client uses.",
                         iss ? iss : "(no iss parameter)");
        goto out;
    }
    if (error) {
        const char *desc = query(conn, "error_description");
        char line[RP_MAX_PARAM * 2 + 8];
        snprintf(line, sizeof(line), "%s%s%s", error, desc ? ": " : "", desc ? desc : "");
        ret = send_error(conn, MHD_HTTP_OK, "Wereldpas did not sign you in.", line);
        goto out;
    }
    if (!code || !*code) {
        ret = send_error(conn, MHD_HTTP_BAD_REQUEST, "The answer carries no code.", NULL);
        goto out;
    }
    tok = token_request(code, s->verifier, &why, &detail);
    if (!tok) {
        ret = send_error(conn, MHD_HTTP_BAD_GATEWAY, why, detail);
        goto out;
    }
    const char *id_token = json_string_value(json_object_get(tok, "id_token"));
    const char *access = json_string_value(json_object_get(tok, "access_token"));
    const char *type = json_string_value(json_object_get(tok, "token_type"));
    if (!id_token || !access || !type || strcasecmp(type, "Bearer") != 0) {
        ret = send_error(conn, MHD_HTTP_BAD_GATEWAY,
                         "The token answer lacks an ID token or a Bearer access token.", NULL);
        goto out;
    }
    if (id_token_verify(id_token, s->nonce, &claims, &why) != 0) {
        ret = send_error(conn, MHD_HTTP_BAD_GATEWAY, "The ID token was refused:", why);
        goto out;
    }
    info = userinfo_request(access);
    if (!info) {
        ret = send_error(conn, MHD_HTTP_BAD_GATEWAY, "The userinfo endpoint gave no claims.", NULL);
        goto out;
    }
    /* OIDC Core §5.3.2: userinfo's sub must be the ID token's. */
    const char *sub1 = json_string_value(json_object_get(claims, "sub"));
    const char *sub2 = json_string_value(json_object_get(info, "sub"));
    if (!sub2 || strcmp(sub1, sub2) != 0) {
        ret = send_error(conn, MHD_HTTP_BAD_GATEWAY,
                         "The userinfo answer is about someone else (sub differs).", NULL);
        goto out;
    }
    char *kept = strdup(id_token);
    if (!kept) {
        ret = send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory.", NULL);
        goto out;
    }
    sodium_memzero(s->state, sizeof(s->state));
    sodium_memzero(s->nonce, sizeof(s->nonce));
    sodium_memzero(s->verifier, sizeof(s->verifier));
    s->signed_in = 1;
    s->expires = now_s() + RP_SIGNED_IN_TTL;
    s->id_token = kept;
    s->id_claims = claims;
    s->userinfo = info;
    claims = info = NULL;
    ret = send_redirect(conn, "/me", NULL);
out:
    /* A pending sign-in is used once, whatever its outcome. */
    if (!s->signed_in)
        session_clear(s);
    json_decref(tok);
    json_decref(claims);
    json_decref(info);
    return ret;
}

static enum MHD_Result page_me(struct MHD_Connection *conn, rp_session_t *s)
{
    if (!s || !s->signed_in)
        return send_redirect(conn, "/", NULL);
    buf_t b = {.max = RP_MAX_PAGE};
    const char *name = json_string_value(json_object_get(s->userinfo, "name"));
    page_begin(&b, "Signed in - " RP_TITLE);
    buf_adds(&b, "<h1>Signed in to " RP_TITLE "</h1>");
    if (name) {
        buf_adds(&b, "<p>Welcome, ");
        buf_addesc(&b, name);
        buf_adds(&b, ".</p>");
    }
    buf_adds(&b, "<p>The ID token's signature, issuer, audience, expiry and nonce were "
                 "checked. A real service would now look up your records by the "
                 "<code>sub</code> value.</p>");
    add_claims_table(&b, "ID token claims", s->id_claims);
    add_claims_table(&b, "Userinfo claims", s->userinfo);
    buf_adds(&b, "<p><a class=\"button\" href=\"/logout\">Sign out</a></p>");
    page_end(&b);
    return send_page(conn, MHD_HTTP_OK, &b);
}

/* Drops the local session and sends the browser to the provider's end_session endpoint
 * (OpenID Connect RP-Initiated Logout 1.0), which returns it to the home page. */
static enum MHD_Result page_logout(struct MHD_Connection *conn, rp_session_t *s)
{
    static const char expired[] = RP_COOKIE "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0";
    enum MHD_Result ret;
    buf_t url = {.max = RP_MAX_PAGE};
    if (!s || !s->signed_in || discovery_load() != 0) {
        if (s)
            session_clear(s);
        return send_redirect(conn, "/", expired);
    }
    buf_adds(&url, disco.end_session_endpoint);
    url_add_param(&url, "id_token_hint", s->id_token);
    url_add_param(&url, "client_id", opts.client_id);
    url_add_param(&url, "post_logout_redirect_uri", opts.home_uri);
    session_clear(s);
    ret = url.failed ? send_redirect(conn, "/", expired) : send_redirect(conn, url.p, expired);
    buf_free(&url);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *upload_data_size = 0;
        buf_t b = {.max = RP_MAX_PAGE};
        buf_adds(&b, "<!doctype html><title>Method not allowed</title><p>Only GET here.</p>");
        return send_page(conn, MHD_HTTP_METHOD_NOT_ALLOWED, &b);
    }
    rp_session_t *s = session_find(MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, RP_COOKIE));
    if (strcmp(url, "/") == 0)
        return page_home(conn, s);
    if (strcmp(url, "/login") == 0)
        return page_login(conn);
    if (strcmp(url, "/callback") == 0)
        return page_callback(conn, s);
    if (strcmp(url, "/me") == 0)
        return page_me(conn, s);
    if (strcmp(url, "/logout") == 0)
        return page_logout(conn, s);
    buf_t b = {.max = RP_MAX_PAGE};
    page_begin(&b, "Not found - " RP_TITLE);
    buf_adds(&b, "<h1>Not found</h1><p><a href=\"/\">Back to the start page</a></p>");
    page_end(&b);
    return send_page(conn, MHD_HTTP_NOT_FOUND, &b);
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f, "usage: demo-rp [--issuer URL] [--client-id ID] [--client-secret SECRET]\n"
               "               [--port N] [--public-url URL]\n"
               "The secret may also be given in $DEMO_RP_CLIENT_SECRET.\n"
               "Defaults: --issuer http://localhost:8080 --client-id mijn-duo-demo "
               "--port 8081 --public-url http://localhost:8081\n");
}

static int is_http_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Parses the command line into opts. Returns 0, 1 after --help, or 2 on a usage error. */
static int parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"issuer", required_argument, NULL, 'i'},
        {"client-id", required_argument, NULL, 'c'},
        {"client-secret", required_argument, NULL, 's'},
        {"port", required_argument, NULL, 'p'},
        {"public-url", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    char *end;
    long port;
    opts.issuer = "http://localhost:8080";
    opts.client_id = "mijn-duo-demo";
    opts.client_secret = getenv("DEMO_RP_CLIENT_SECRET");
    opts.public_url = "http://localhost:8081";
    opts.port = 8081;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            opts.issuer = optarg;
            break;
        case 'c':
            opts.client_id = optarg;
            break;
        case 's':
            opts.client_secret = optarg;
            break;
        case 'p':
            port = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || port < 1 || port > 65535) {
                fprintf(stderr, "demo-rp: --port: not a port number: %s\n", optarg);
                return 2;
            }
            opts.port = (int)port;
            break;
        case 'u':
            opts.public_url = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!opts.client_secret || !*opts.client_secret) {
        fprintf(stderr, "demo-rp: no client secret: use --client-secret or "
                        "$DEMO_RP_CLIENT_SECRET\n");
        return 2;
    }
    if (!is_http_url(opts.issuer) || !is_http_url(opts.public_url)) {
        fprintf(stderr, "demo-rp: --issuer and --public-url must be http(s) URLs\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 1;
    struct MHD_Daemon *d = NULL;
    sigset_t sigs;
    int sig;

    int a = parse_args(argc, argv);
    if (a != 0)
        return a == 1 ? 0 : 2;
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "demo-rp: library initialisation failed\n");
        return 1;
    }
    size_t n = strlen(opts.public_url);
    while (n > 0 && opts.public_url[n - 1] == '/')
        n--;
    char *base = strndup(opts.public_url, n);
    opts.redirect_uri = base ? str_join(base, "/callback", STR_END) : NULL;
    opts.home_uri = base ? str_join(base, "/", STR_END) : NULL;
    free(base);
    if (!opts.redirect_uri || !opts.home_uri)
        goto out;

    /* The daemon's thread inherits this mask; main waits for the signals below. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opts.port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)15,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "demo-rp: cannot listen on 127.0.0.1:%d\n", opts.port);
        goto out;
    }
    printf("demo-rp: %s on http://127.0.0.1:%d, provider %s, client %s\n", RP_TITLE, opts.port,
           opts.issuer, opts.client_id);
    fflush(stdout);
    sigwait(&sigs, &sig);
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    for (size_t i = 0; i < RP_MAX_SESSIONS; i++)
        session_clear(&sessions[i]);
    discovery_clear();
    free(opts.redirect_uri);
    free(opts.home_uri);
    curl_global_cleanup();
    return rc;
}
