/* base64url without padding (RFC 4648 §5): strict checks here, coding by liboauth2. */
#include "crypto/b64url.h"

#include <oauth2/mem.h>
#include <oauth2/util.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Returns the 6-bit value of a base64url character, or -1 outside the alphabet. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Copies n bytes from liboauth2 memory into a malloc'd buffer with a NUL byte after
 * them. Returns the copy (free with free()) or NULL when out of memory. */
static uint8_t *b64url_copy(const void *src, size_t n)
{
    uint8_t *dst;

    if (n == SIZE_MAX)
        return NULL;
    dst = malloc(n + 1);
    if (dst == NULL)
        return NULL;
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return dst;
}

char *b64url_encode(const uint8_t *src, size_t n)
{
    char *enc = NULL;
    char *result = NULL;
    size_t len;

    if (n == 0)
        return strdup("");
    if (src == NULL || n > SIZE_MAX / 4 - 4)
        return NULL;
    len = oauth2_base64url_encode(NULL, src, n, &enc);
    if (len == 0 || enc == NULL)
        goto out;
    /* liboauth2 never pads base64url; strip defensively should a version do so. */
    while (len > 0 && enc[len - 1] == '=')
        len--;
    result = (char *)b64url_copy(enc, len);

out:
    if (enc != NULL)
        oauth2_mem_free(enc);
    return result;
}

int b64url_valid(const char *src, size_t n)
{
    if (src == NULL || n % 4 == 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (b64url_value((unsigned char)src[i]) < 0)
            return 0;
    }
    return 1;
}

int b64url_decode(const char *src, size_t max_out, uint8_t **out, size_t *out_len)
{
    uint8_t *dec = NULL;
    size_t dec_len = 0;
    uint8_t *result = NULL;
    size_t len, i, need;
    int last = 0;
    int rc = -1;

    if (src == NULL || out == NULL || out_len == NULL)
        return -1;
    len = strlen(src);
    if (len % 4 == 1)
        return -1;
    for (i = 0; i < len; i++) {
        last = b64url_value((unsigned char)src[i]);
        if (last < 0)
            return -1;
    }
    /* Exact decoded size: 3 bytes per full group, 1 or 2 for a tail of 2 or 3 chars. */
    need = (len / 4) * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    if (need > max_out)
        return -1;
    /* Canonical form only: unused low bits of the last character must be zero. */
    if ((len % 4 == 2 && (last & 0x0f) != 0) || (len % 4 == 3 && (last & 0x03) != 0))
        return -1;

    if (len > 0) {
        if (!oauth2_base64url_decode(NULL, src, &dec, &dec_len) || dec_len != need)
            goto out;
    }
    result = b64url_copy(dec, dec_len);
    if (result == NULL)
        goto out;
    *out = result;
    *out_len = dec_len;
    rc = 0;

out:
    if (dec != NULL) {
        sodium_memzero(dec, dec_len); /* it may have held a secret */
        oauth2_mem_free(dec);
    }
    return rc;
}
