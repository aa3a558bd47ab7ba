/*
 * Fuzz target for X.509 input from the identity agent: certificates as DER,
 * base64/base64url text or PEM (x509_cert_from_der/_from_text), checked
 * against a fixed test CA and its CRL (one revoked card) at a fixed time, and
 * agent answers {"certificate", "signature", "alg"} whose signature is checked
 * over a fixed signed text. Seeds in tests/fuzz/corpus/fuzz_x509/ were made
 * with this CA: a valid card (DER, base64url, base64, in a valid answer), a
 * revoked one, truncated and altered copies, and garbage. Any input must come
 * back with a code, never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authn/smartcard.h"
#include "core/buf.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW       1780272000LL /* 2026-06-01, inside the seeds' validity */
#define FUZZ_ORIGIN    "http://localhost:8080"
#define FUZZ_CHALLENGE "fuzz-challenge-0123456789abcdef"

static const char FUZZ_CA[] = "-----BEGIN CERTIFICATE-----\n"
                              "MIIB9jCCAZ2gAwIBAgIQMuIpAUWJ0rCWMqqPoSJPATAKBggqhkjOPQQDAjBLMRcw\n"
                              "FQYDVQQKDA5jYXJlaWQgdGVzdCBDQTENMAsGA1UECwwEbW9jazEhMB8GA1UEAwwY\n"
                              "Y2FyZWlkIG1vY2sgc21hcnRjYXJkIENBMB4XDTI1MTIzMTIzMDAwMFoXDTM2MDEw\n"
                              "MjAwMDAwMFowSzEXMBUGA1UECgwOY2FyZWlkIHRlc3QgQ0ExDTALBgNVBAsMBG1v\n"
                              "Y2sxITAfBgNVBAMMGGNhcmVpZCBtb2NrIHNtYXJ0Y2FyZCBDQTBZMBMGByqGSM49\n"
                              "AgEGCCqGSM49AwEHA0IABLqXJhvB5nSOEGQNu/lcGB8ien/RlDCYSSu6o/JYNxh6\n"
                              "aWB7VhzBGHcEJpNj2IqMQPTQpTZcRBSNnisKTMBHEFKjYzBhMA8GA1UdEwEB/wQF\n"
                              "MAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBTC9P1TYDn+rm1C7Vnqy8kO\n"
                              "Q7q1xzAfBgNVHSMEGDAWgBTC9P1TYDn+rm1C7Vnqy8kOQ7q1xzAKBggqhkjOPQQD\n"
                              "AgNHADBEAiAeBgLXCFNNurSwk9hSa+ixhCUWcSArLg0o33OHzL5VWwIgRRO26HKC\n"
                              "KezE1j71OZIq77gGXZcH3fn77NhW0x+gGuM=\n"
                              "-----END CERTIFICATE-----\n";

static const char FUZZ_CRL[] = "-----BEGIN X509 CRL-----\n"
                               "MIIBKjCB0AIBATAKBggqhkjOPQQDAjBLMRcwFQYDVQQKDA5jYXJlaWQgdGVzdCBD\n"
                               "QTENMAsGA1UECwwEbW9jazEhMB8GA1UEAwwYY2FyZWlkIG1vY2sgc21hcnRjYXJk\n"
                               "IENBFw0yNjAxMDEwMDAwMDBaFw0yNjAxMzEwMDAwMDBaMCMwIQIQduiknHlS9rZ3\n"
                               "ieTfyZYvARcNMjYwMTAxMDAwMDAwWqAvMC0wHwYDVR0jBBgwFoAUwvT9U2A5/q5t\n"
                               "Qu1Z6svJDkO6tccwCgYDVR0UBAMCAQIwCgYIKoZIzj0EAwIDSQAwRgIhALpkY1fa\n"
                               "lhI++4U6Cn0Rxvtbyxt6tMFjQ/jBPh0xEIjOAiEA32TG0Gsk5ToVLHyZV18rWYXR\n"
                               "mF7rxJKvoK9ljS7+o3k=\n"
                               "-----END X509 CRL-----\n";

static int fuzz_ready;

/* Chain, CRL and signature checks of a parsed certificate. */
static void check(const x509_cert *c, const char *alg, const uint8_t *sig, size_t sig_len,
                  const struct buf *text)
{
	const struct x509_info *info = x509_cert_info(c);

	if (strlen(info->serial) >= X509_SERIAL_HEX || strlen(info->fingerprint) != 64)
		abort();
	(void)x509_cert_verify(c, FUZZ_CA, FUZZ_CRL, FUZZ_NOW);
	(void)x509_cert_verify(c, FUZZ_CA, NULL, FUZZ_NOW);
	(void)x509_cert_verify_signature(c, alg, sig, sig_len, text->ptr, text->len);
}

/* An agent's answer: {"certificate", "signature", "alg"}. */
static void answer(const uint8_t *data, size_t size, const struct buf *text)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	const char *cert = json_string_value(json_object_get(j, "certificate"));
	const char *sig_b64 = json_string_value(json_object_get(j, "signature"));
	const char *alg = json_string_value(json_object_get(j, "alg"));
	uint8_t sig[X509_SIG_MAX];
	size_t sig_len = 0;
	x509_cert *c = NULL;

	if (cert && x509_cert_from_text(&c, cert, strlen(cert)) == 0) {
		if (!sig_b64 ||
		    crypto_b64url_decode(sig, sizeof(sig), &sig_len, sig_b64, strlen(sig_b64)) != 0)
			sig_len = 0;
		check(c, alg ? alg : "RS256", sig, sig_len, text);
	}
	x509_cert_free(c);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	x509_cert *c = NULL;
	struct buf text;

	if (!fuzz_ready) {
		if (crypto_init() != 0)
			abort();
		fuzz_ready = 1;
	}
	buf_init(&text, SMARTCARD_SIGNED_TEXT_MAX);
	if (smartcard_signed_text(&text, FUZZ_ORIGIN, FUZZ_CHALLENGE) != 0)
		abort();

	if (x509_cert_from_der(&c, data, size) == 0)
		check(c, "RS256", data, size < 256 ? size : 256, &text);
	x509_cert_free(c);
	c = NULL;
	if (x509_cert_from_text(&c, (const char *)data, size) == 0)
		check(c, "ES256", data, size < 64 ? size : 64, &text);
	x509_cert_free(c);
	answer(data, size, &text);

	buf_release(&text);
	return 0;
}
