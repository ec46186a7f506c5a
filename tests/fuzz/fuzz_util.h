/* Helpers shared by the libFuzzer targets in tests/fuzz/: splitting one input into parts,
 * the fixed relying party and challenge the corpus was made for, and a check that aborts
 * (so libFuzzer records a crash) when an invariant of the code under test is broken. */
#ifndef TESTS_FUZZ_UTIL_H
#define TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idp/webauthn.h"

/* Parts of one input are separated by these 4 bytes (tests/fuzz/make_corpus.mjs). */
#define FUZZ_SEP "\x00WP\x00"
#define FUZZ_SEP_LEN 4
#define FUZZ_MAX_PARTS 6

/* The origin, RP ID and challenge (32 zero bytes) the seed corpus was made with. */
#define FUZZ_ORIGIN "http://localhost:8080"
#define FUZZ_RP_ID "localhost"
static const webauthn_rp_t fuzz_rp = {.rp_id = FUZZ_RP_ID, .origin = FUZZ_ORIGIN};
static const uint8_t fuzz_challenge[32] = {0};

typedef struct {
    const uint8_t *p;
    size_t len;
} fuzz_part_t;

/* Splits data at FUZZ_SEP into at most max parts (the last one takes the rest). Returns
 * the number of parts (at least 1). Parts point into data. */
static inline size_t fuzz_split(const uint8_t *data, size_t len, fuzz_part_t *parts, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; n + 1 < max && i + FUZZ_SEP_LEN <= len; i++) {
        if (memcmp(data + i, FUZZ_SEP, FUZZ_SEP_LEN) == 0) {
            parts[n].p = data + start;
            parts[n].len = i - start;
            n++;
            start = i + FUZZ_SEP_LEN;
            i = start - 1;
        }
    }
    parts[n].p = data + start;
    parts[n].len = len - start;
    return n + 1;
}

/* A NUL-terminated copy of len bytes (free with free()); aborts when out of memory. */
static inline char *fuzz_strndup(const uint8_t *p, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        abort();
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* Aborts with a message when cond is false: an invariant broke on this input. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
