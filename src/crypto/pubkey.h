/*
 * Public keys and signature verification for WebAuthn (OpenSSL).
 *
 * Keys are built from the parameters of a COSE_Key (RFC 9053) or taken from
 * an X.509 certificate, and always carry the one COSE algorithm they verify
 * for, so a signature is never checked with an algorithm the caller did not
 * pick: ES256 (-7) needs an EC P-256 key, RS256 (-257) an RSA key of 2048 to
 * 8192 bits. No OpenSSL type crosses this header.
 *
 * Objects are read-only once made and may be shared between threads.
 */
#ifndef CAREID_CRYPTO_PUBKEY_H
#define CAREID_CRYPTO_PUBKEY_H

#include <stddef.h>
#include <stdint.h>

/* COSE algorithm identifiers (IANA "COSE Algorithms"). */
#define PUBKEY_ES256 (-7)   /* ECDSA P-256 with SHA-256 */
#define PUBKEY_RS256 (-257) /* RSASSA-PKCS1-v1_5 with SHA-256 */

/* COSE elliptic curve identifier of P-256. */
#define PUBKEY_CRV_P256 1

/* Largest signature pubkey_verify() looks at (an RSA-8192 signature). */
#define PUBKEY_SIG_MAX 1024

/* Largest DER certificate pubkey_cert_parse() accepts. */
#define PUBKEY_CERT_MAX 16384

typedef struct pubkey pubkey;
typedef struct pubkey_cert pubkey_cert;

/*
 * An EC2 key (COSE kty 2): `alg` must be PUBKEY_ES256 and `crv`
 * PUBKEY_CRV_P256 (else EUNSUPPORTED); `x` and `y` are the 32-byte big-endian
 * affine coordinates (else EINVALID), and the point must lie on the curve
 * (else EINVALID). `*out` is freed with pubkey_free().
 */
int pubkey_from_ec2(pubkey **out, int alg, int crv, const uint8_t *x, size_t xlen, const uint8_t *y,
                    size_t ylen);

/*
 * An RSA key (COSE kty 3) from its big-endian modulus `n` and exponent `e`:
 * `alg` must be PUBKEY_RS256 (else EUNSUPPORTED); the modulus must have 2048
 * to 8192 bits and the exponent must be odd, at least 3 and at most 8 bytes
 * long (else EINVALID). `*out` is freed with pubkey_free().
 */
int pubkey_from_rsa(pubkey **out, int alg, const uint8_t *n, size_t nlen, const uint8_t *e,
                    size_t elen);

/*
 * The public key of a certificate, for verifying with `alg`: EINVALID when
 * the key does not fit the algorithm (ES256 needs EC P-256, RS256 RSA of
 * 2048..8192 bits), EUNSUPPORTED for another alg. `*out` is freed with
 * pubkey_free() and does not depend on `c` staying alive.
 */
int pubkey_from_cert(pubkey **out, const pubkey_cert *c, int alg);

/* The COSE algorithm the key verifies for. */
int pubkey_alg(const pubkey *k);

/*
 * Verifies `sig` over `data` with the key's algorithm: for ES256 `sig` is the
 * DER ECDSA-Sig-Value WebAuthn sends (strict DER, nothing after it), for RS256
 * the PKCS#1 v1.5 signature. 0 when it verifies, CAREID_EDENIED "the
 * signature does not verify" when it does not (a malformed or over-long
 * signature included), CAREID_ECRYPTO when OpenSSL fails.
 */
int pubkey_verify(const pubkey *k, const void *data, size_t len, const uint8_t *sig, size_t siglen);

/* Accepts NULL. */
void pubkey_free(pubkey *k);

/*
 * A new P-256 key pair, as a software authenticator holds one (the demo
 * data's security key): the public key's affine coordinates into `x` and
 * `y`, the private key as PKCS#8 DER into `*pkcs8_out` (malloc'd; the caller
 * wipes and frees it; `*pkcs8_len` its length).
 */
int pubkey_es256_generate(uint8_t x[32], uint8_t y[32], uint8_t **pkcs8_out, size_t *pkcs8_len);

/*
 * An X.509 certificate from its DER encoding (an x5c entry): EINVALID when
 * `der` is not exactly one certificate (nothing may follow it) or is over
 * PUBKEY_CERT_MAX bytes. Its signature and validity period are not checked
 * (attestation trust is not evaluated). `*out` is freed with
 * pubkey_cert_free().
 */
int pubkey_cert_parse(pubkey_cert **out, const uint8_t *der, size_t len);

/*
 * The requirements of WebAuthn Level 2 §8.2.1 for a packed attestation
 * certificate: X.509 version 3; a subject with non-empty C, O and CN and
 * OU exactly "Authenticator Attestation"; basic constraints, when present,
 * with CA false; the extension id-fido-gen-ce-aaguid (1.3.6.1.4.1.45724.1.1.4),
 * when present, not critical, present once, and an OCTET STRING holding the
 * 16 bytes of `aaguid`. 0 when met, else CAREID_EINVALID with a message naming
 * the requirement that failed.
 */
int pubkey_cert_check_packed(const pubkey_cert *c, const uint8_t aaguid[16]);

/* Accepts NULL. */
void pubkey_cert_free(pubkey_cert *c);

#endif
