/* Small JSON documents fetched from relying parties (see http_fetch.h). */
#include "idp/http_fetch.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t len;
    size_t max;
} fetch_buf_t;

/* libcurl's write callback: appends to the buffer, NUL-terminated; 0 (curl stops with
 * an error) when the body would exceed its cap or memory runs out. */
static size_t fetch_write(char *data, size_t size, size_t n, void *user)
{
    fetch_buf_t *b = user;
    if (size != 0 && n > (b->max - b->len) / size)
        return 0;
    size_t add = size * n;
    char *p = realloc(b->buf, b->len + add + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, data, add);
    b->buf = p;
    b->len += add;
    b->buf[b->len] = '\0';
    return add;
}

json_t *http_fetch_json(const char *uri, size_t max_bytes, long timeout_ms, long *status,
                        const char **why)
{
    CURL *c = curl_easy_init();
    fetch_buf_t b = {.max = max_bytes};
    CURLcode cc = CURLE_FAILED_INIT;
    long code = 0;
    json_t *doc = NULL;

    if (c) {
        curl_easy_setopt(c, CURLOPT_URL, uri);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms / 2);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        cc = curl_easy_perform(c);
        if (cc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
    }
    if (why)
        *why = curl_easy_strerror(cc);
    if (cc == CURLE_OK && code == 200 && !b.buf) {
        code = 0; /* an empty answer is no answer */
        if (why)
            *why = "empty answer";
    }
    if (cc == CURLE_OK && code == 200)
        doc = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, NULL);
    free(b.buf);
    if (status)
        *status = code;
    return doc;
}
