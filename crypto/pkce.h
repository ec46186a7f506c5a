/* PKCE (RFC 7636), S256 only. */
#ifndef CRYPTO_PKCE_H
#define CRYPTO_PKCE_H

/* 1 when challenge is a well-formed S256 challenge (43 base64url chars). */
int pkce_challenge_valid(const char *challenge);

/* 1 when verifier is 43..128 chars of [A-Za-z0-9-._~] and
 * BASE64URL(SHA256(verifier)) equals challenge (compared in constant time); else 0. */
int pkce_s256_check(const char *verifier, const char *challenge);

#endif
