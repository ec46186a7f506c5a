/* The running provider: configuration, storage, keys and derived secrets, shared by all
 * request handlers (read-only after start, except the thread-safe parts). */
#ifndef IDP_APP_H
#define IDP_APP_H

#include <stdatomic.h>
#include <stdint.h>

#include "crypto/seal.h"
#include "crypto/token.h"
#include "idp/config.h"
#include "idp/keyring.h"
#include "idp/store.h"

typedef struct render render_t;

typedef struct {
    atomic_ulong requests;
    atomic_ulong responses_4xx;
    atomic_ulong responses_5xx;
    atomic_ulong logins;
    atomic_ulong enrolments;
    atomic_ulong tokens;
    atomic_ulong deadline_closed; /* connections cut by the request deadline */
} app_metrics_t;

typedef struct app {
    const config_t *cfg;
    store_t *store;
    keyring_t *keys;
    render_t *render;
    int https;                                  /* issuer is https */
    char origin[512];                           /* scheme://host[:port] of the issuer */
    uint8_t hash_key[TOKEN_HASH_KEY_BYTES];     /* keyed hashes of tokens and codes */
    uint8_t csrf_key[TOKEN_HASH_KEY_BYTES];     /* CSRF tokens */
    uint8_t pairwise_key[TOKEN_HASH_KEY_BYTES]; /* pairwise subject identifiers */
    uint8_t context_key[SEAL_KEY_BYTES];        /* sealed context inside access tokens */
    app_metrics_t metrics;
} app_t;

/* Derivation ids of the master-key subkeys (crypto/seal.h seal_subkey). */
#define APP_SUBKEY_SEAL 1     /* "sealkeys": signing keys at rest */
#define APP_SUBKEY_HASH 2     /* "tokenhsh": keyed hashes */
#define APP_SUBKEY_CSRF 3     /* "csrftokn" */
#define APP_SUBKEY_PAIRWISE 4 /* "pairwise" */
#define APP_SUBKEY_CONTEXT 5  /* "atcontxt" */
#define APP_SUBKEY_PNLOOKUP 6 /* "pnlookup": keyed hashes of personal data in storage */
#define APP_SUBKEY_PERSONAL 7 /* "personal": sealed personal data in storage */

#endif
