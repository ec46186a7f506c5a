/* The HTTP server: runs until SIGTERM/SIGINT, then drains and returns. */
#ifndef IDP_SERVER_H
#define IDP_SERVER_H

#include <stdint.h>

#include "idp/config.h"
#include "idp/keyring.h"
#include "idp/store.h"

/* Serves the provider on cfg->listen. Returns 0 after a clean shutdown, 1 on a
 * startup failure (reason on stderr). */
int server_run(const config_t *cfg, store_t *store, keyring_t *keys, const uint8_t master[32]);

#endif
