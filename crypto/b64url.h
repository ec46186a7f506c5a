/* base64url without padding (RFC 4648 §5), through liboauth2. */
#ifndef CRYPTO_B64URL_H
#define CRYPTO_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Encodes n bytes. Returns a NUL-terminated string the caller frees with free(),
 * or NULL when out of memory. */
char *b64url_encode(const uint8_t *src, size_t n);

/* Decodes strict base64url: alphabet A-Z a-z 0-9 - _ only, no padding, no whitespace,
 * no impossible length (len % 4 == 1), at most max_out decoded bytes.
 * On success returns 0 and *out (free with free()) and *out_len; on error -1 and
 * *out is untouched. */
int b64url_decode(const char *src, size_t max_out, uint8_t **out, size_t *out_len);

/* 1 when the n characters at src are strict base64url as b64url_decode accepts them
 * (alphabet only, no padding, n % 4 != 1); else 0. Guards libraries that parse
 * base64url themselves: cjose aborts the process on some malformed input. */
int b64url_valid(const char *src, size_t n);

#endif
