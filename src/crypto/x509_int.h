/*
 * Internals shared by crypto/x509.c (CAs, cards and CRLs) and
 * crypto/x509_verify.c (checking a card's certificate and signature); not
 * part of the module's API. Only these two files include it: it is where
 * OpenSSL's X.509 types meet careid's.
 */
#ifndef CAREID_CRYPTO_X509_INT_H
#define CAREID_CRYPTO_X509_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/x509.h"

#define ES256_SIG_BYTES 64 /* a JOSE ES256 signature: r || s, 32 bytes each */

/* Records `code` with `msg` and, for CAREID_ECRYPTO, OpenSSL's reason;
 * empties OpenSSL's error queue of this thread either way. Returns `code`. */
int x509_ossl_fail(int code, const char *msg);

/* A PEM password callback that never asks: encrypted PEM is refused. */
int x509_no_passphrase(char *buf, int size, int rwflag, void *u);

/* A CA certificate or a CRL from PEM text (capped at X509_PEM_MAX and
 * X509_CRL_PEM_MAX). NULL with the error set when it cannot be read; the
 * result is X509_free()d / X509_CRL_free()d by the caller. */
X509 *x509_pem_cert(const char *pem);
X509_CRL *x509_pem_crl(const char *pem);

/* Fills `info` (serial, subject UID, subject, dates, SHA-256 fingerprint)
 * from `x`. EINVALID for a subject careid cannot read. */
int x509_fill_info(struct x509_info *info, X509 *x);

/* "RS256" for RSA of 2048 bits or more, "ES256" for P-256, else NULL. */
const char *x509_key_alg(EVP_PKEY *k);

#endif
