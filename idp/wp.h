/* Program-wide result codes, limits and logging. */
#ifndef WP_H
#define WP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum {
    WP_OK = 0,
    WP_ERR = -1,          /* internal failure (I/O, library, out of memory) */
    WP_ERR_INVALID = -2,  /* the input is malformed or fails a check */
    WP_ERR_NOTFOUND = -3, /* no such record */
    WP_ERR_EXISTS = -4,   /* a record with that key exists already */
    WP_ERR_EXPIRED = -5,  /* the record exists but its time is over */
    WP_ERR_USED = -6,     /* a single-use value was used already */
    WP_ERR_LIMIT = -7,    /* a rate or size limit was hit */
} wp_err_t;

/* Logging: one line to stderr, never a secret. */
void wp_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define WP_LOG_INFO(...) wp_log("info", __VA_ARGS__)
#define WP_LOG_WARN(...) wp_log("warn", __VA_ARGS__)
#define WP_LOG_ERR(...) wp_log("error", __VA_ARGS__)

/* Seconds since the epoch. */
int64_t wp_now(void);

#endif
