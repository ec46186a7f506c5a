/* COSE public keys (RFC 9052/9053) as found in WebAuthn credentials, and signature checks. */
#ifndef CRYPTO_COSE_H
#define CRYPTO_COSE_H

#include <cbor.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define COSE_ALG_ES256 (-7)
#define COSE_ALG_EDDSA (-8)
#define COSE_ALG_RS256 (-257)

/* Decodes the one CBOR data item at the start of buf (len bytes) with libcbor, after a
 * streaming pre-scan that refuses containers declaring more members than bytes remain,
 * nesting deeper than 16, indefinite lengths, tags and floats (none occur in WebAuthn's
 * CBOR; libcbor would otherwise allocate an attacker-chosen count up front). Returns the
 * item (cbor_decref) and *read, the bytes it took, or NULL. */
cbor_item_t *cose_cbor_load(const uint8_t *buf, size_t len, size_t *read);

/* Parses a CBOR-encoded COSE_Key (EC2 P-256 with alg -7, OKP Ed25519 with alg -8,
 * RSA with alg -257 and a modulus of 2048..4096 bits) with libcbor. Checks kty/alg/crv
 * consistency and that EC points are on the curve. On success returns 0, *alg and
 * *pkey (EVP_PKEY_free). On error returns -1 and writes nothing. */
int cose_key_parse(const uint8_t *cbor, size_t len, int *alg, EVP_PKEY **pkey);

/* Reads only the alg (label 3) of a CBOR-encoded COSE_Key, whatever its value, so a
 * caller can tell an unsupported algorithm from a malformed key. Returns 0 and *alg, or
 * -1 (nothing written) when the bytes are not one CBOR map with integer kty and alg. */
int cose_key_alg(const uint8_t *cbor, size_t len, int *alg);

/* Verifies sig over msg with pkey according to the COSE alg: ES256 (DER-encoded ECDSA
 * signature as WebAuthn sends it, SHA-256), EdDSA (Ed25519), RS256 (PKCS#1 v1.5, SHA-256).
 * Returns 1 when valid, 0 otherwise (never aborts on bad input). */
int cose_verify(int alg, EVP_PKEY *pkey, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                size_t sig_len);

#endif
