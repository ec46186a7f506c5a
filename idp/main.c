/* wereldpas: the program's entry point. Parses the global options, initialises the
 * libraries once, runs `serve` itself and hands every other command to idp/cli.c. */
#include <getopt.h>
#include <oauth2/util.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "idp/cli.h"
#include "idp/keyring.h"
#include "idp/server.h"

static int serve(const char *config_path, int argc, char **argv)
{
    config_t cfg;
    store_t *store = NULL;
    keyring_t *keys = NULL;
    uint8_t master[SEAL_KEY_BYTES];
    int rc = 1;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("usage: wereldpas serve\nRuns the provider until SIGTERM or SIGINT. Creates or "
             "migrates the schema\nand makes signing keys on first start.");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "wereldpas: serve takes no arguments\nusage: wereldpas serve\n");
        return 2;
    }
    if (cli_config_load(config_path, &cfg))
        return 1;
    if (cli_open(&cfg, &store, master))
        goto out;
    if (keyring_open(store, master, 1, &keys) != WP_OK) {
        fprintf(stderr, "wereldpas: cannot load or make the signing keys (wrong master key?)\n");
        goto out;
    }
    rc = server_run(&cfg, store, keys, master);
out:
    keyring_free(keys);
    store_close(store);
    sodium_memzero(master, sizeof master);
    config_clear(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    oauth2_log_t *log;
    int c, rc;

    opterr = 0;
    /* "+": stop at the command word; its options belong to the command. */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h') {
            cli_usage(stdout);
            return 0;
        }
        if (c != 'c') {
            fprintf(stderr, "wereldpas: unknown option or missing value: %s\n", argv[optind - 1]);
            cli_usage(stderr);
            return 2;
        }
        config_path = optarg;
    }
    if (optind >= argc) {
        cli_usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "wereldpas: libsodium failed to initialise\n");
        return 1;
    }
    log = oauth2_init(OAUTH2_LOG_WARN, NULL);
    if (strcmp(argv[optind], "serve") == 0)
        rc = serve(config_path, argc - optind, argv + optind);
    else
        rc = cli_dispatch(config_path, argc - optind, argv + optind);
    oauth2_shutdown(log);
    return rc;
}
