/* The command line of the wereldpas program (DESIGN.md, "The program"), apart from
 * `serve`, which idp/main.c runs. Exit codes: 0 done, 1 failed, 2 usage. Errors are one
 * line on stderr; results go to stdout. */
#ifndef IDP_CLI_H
#define IDP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "crypto/seal.h"
#include "idp/config.h"
#include "idp/store.h"

/* Prints the program's usage (all commands) to f. */
void cli_usage(FILE *f);

/* Loads the configuration from path, else $WERELDPAS_CONFIG, else the defaults.
 * Returns 0, or 1 after printing the reason. Free cfg with config_clear. */
int cli_config_load(const char *path, config_t *cfg);

/* Loads (or on first use creates) the master key, then opens the store with schema
 * migration (so a fresh install may run `client add` before `serve`). Returns 0 and
 * *store (store_close) and master (wipe with sodium_memzero), or 1 after printing the
 * reason. */
int cli_open(const config_t *cfg, store_t **store, uint8_t master[SEAL_KEY_BYTES]);

/* Runs the command in argv[0] ("client", "keys", "register", "person") with its
 * arguments. config_path is the global --config value or NULL. Returns the exit code;
 * an unknown command prints the usage and returns 2. */
int cli_dispatch(const char *config_path, int argc, char **argv);

#endif
