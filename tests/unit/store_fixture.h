/* A SQLite store in a fresh temporary folder, for the unit tests that need one. */
#ifndef WP_TEST_STORE_FIXTURE_H
#define WP_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idp/store.h"

typedef struct {
    char dir[64];
    char path[128];
    char url[160];
    store_t *s;
} fx_t;

/* cmocka setup: a fx_t (freed by fx_teardown) with an open, migrated store in a folder
 * named from template (a mkdtemp template, "/tmp/wp-NAME-XXXXXX"). -1 on failure. */
static inline int fx_setup(void **state, const char *template)
{
    char err[256];
    fx_t *f = calloc(1, sizeof *f);
    if (!f || strlen(template) >= sizeof f->dir) {
        free(f);
        return -1;
    }
    strcpy(f->dir, template);
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/wereldpas.db", f->dir);
    snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
    if (store_open(f->url, 1, &f->s, err, sizeof err) != WP_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

/* cmocka teardown: closes the store and removes the database, its log and the folder.
 * Always 0. */
static inline int fx_teardown(void **state)
{
    fx_t *f = *state;
    char buf[sizeof f->path + 8];
    store_close(f->s);
    unlink(f->path);
    snprintf(buf, sizeof buf, "%s-wal", f->path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", f->path);
    unlink(buf);
    rmdir(f->dir);
    free(f);
    return 0;
}

#endif
