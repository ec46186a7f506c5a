/* Small JSON documents fetched from relying parties (jwks_uri, sector_identifier_uri),
 * through libcurl. */
#ifndef WP_HTTP_FETCH_H
#define WP_HTTP_FETCH_H

#include <jansson.h>
#include <stddef.h>

/* GETs uri (http or https only, no redirects, at most max_bytes, a connect timeout of
 * half of timeout_ms and a total of timeout_ms) and parses the body as JSON (duplicate
 * keys refused). Returns the document (json_decref) when the answer was 200 and JSON,
 * else NULL. *status (may be NULL) gets the HTTP status, 0 when there was none (a 200
 * with an empty body counts as none); *why (may be NULL) a static text of the
 * transfer's outcome. */
json_t *http_fetch_json(const char *uri, size_t max_bytes, long timeout_ms, long *status,
                        const char **why);

#endif
