#include "http/fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/error.h"
#include "core/log.h"

#define CONNECT_TIMEOUT_S 10L

struct sink {
	struct buf *body;
	bool too_big;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (buf_append(s->body, data, n) != 0) {
		s->too_big = true;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	return n;
}

int fetch_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return careid_error_set(CAREID_EIO, "curl_global_init failed");
	return 0;
}

/* IPv4 ranges no public-only request may reach (IANA's special-purpose
 * registry, less the few globally reachable anycast blocks nobody needs). */
static const struct {
	uint32_t net;
	unsigned bits;
} v4_denied[] = {
    {0x00000000, 8},  /* 0/8: "this network", 0.0.0.0 */
    {0x0a000000, 8},  /* 10/8: private */
    {0x64400000, 10}, /* 100.64/10: shared address space (CGNAT) */
    {0x7f000000, 8},  /* 127/8: loopback */
    {0xa9fe0000, 16}, /* 169.254/16: link-local, cloud metadata */
    {0xac100000, 12}, /* 172.16/12: private */
    {0xc0000000, 24}, /* 192.0.0/24: IETF protocol assignments */
    {0xc0000200, 24}, /* 192.0.2/24: documentation */
    {0xc0586300, 24}, /* 192.88.99/24: 6to4 relays (deprecated) */
    {0xc0a80000, 16}, /* 192.168/16: private */
    {0xc6120000, 15}, /* 198.18/15: benchmarking */
    {0xc6336400, 24}, /* 198.51.100/24: documentation */
    {0xcb007100, 24}, /* 203.0.113/24: documentation */
    {0xe0000000, 4},  /* 224/4: multicast */
    {0xf0000000, 4},  /* 240/4: reserved, 255.255.255.255 */
};

static bool v4_public(const unsigned char *a)
{
	uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];

	for (size_t i = 0; i < sizeof(v4_denied) / sizeof(v4_denied[0]); i++)
		if (x >> (32 - v4_denied[i].bits) == v4_denied[i].net >> (32 - v4_denied[i].bits))
			return false;
	return true;
}

static bool v6_public(const unsigned char *a)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return v4_public(a + 12);
	/* Only 2000::/3 is global unicast: this leaves out ::, ::1, the
	 * IPv4-compatible ::a.b.c.d, fc00::/7, fe80::/10, fec0::/10, ff00::/8
	 * and 64:ff9b:1::/48. */
	if ((a[0] & 0xe0) != 0x20)
		return false;
	if (a[0] == 0x20 && a[1] == 0x02) /* 6to4: the IPv4 address follows */
		return v4_public(a + 2);
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] < 0x02) /* 2001::/23, Teredo in it */
		return false;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) /* 2001:db8::/32 */
		return false;
	if (a[0] == 0x3f && a[1] == 0xff && a[2] < 0x10) /* 3fff::/20: documentation */
		return false;
	return true;
}

bool fetch_addr_public(const struct sockaddr *sa, size_t len)
{
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;

	if (!sa || len < sizeof(sa_family_t))
		return false;
	if (sa->sa_family == AF_INET && len >= sizeof(v4)) {
		memcpy(&v4, sa, sizeof(v4));
		return v4_public((const unsigned char *)&v4.sin_addr);
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(v6)) {
		memcpy(&v6, sa, sizeof(v6));
		return v6_public(v6.sin6_addr.s6_addr);
	}
	return false;
}

/* "localhost", a name under .localhost (RFC 6761), 127.0.0.0/8 in dotted
 * quads, or [::1]; `n` bytes of `host`, case-insensitive, one final dot
 * allowed on names. */
static bool loopback_host(const char *host, size_t n)
{
	char ip[INET_ADDRSTRLEN];
	unsigned char a[4];

	if (n == 5 && strncmp(host, "[::1]", 5) == 0)
		return true;
	if (n > 0 && host[n - 1] == '.')
		n--;
	if ((n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0))
		return true;
	if (n >= sizeof(ip))
		return false;
	memcpy(ip, host, n);
	ip[n] = '\0';
	return inet_pton(AF_INET, ip, a) == 1 && a[0] == 127;
}

bool fetch_public_only(const char *public_url)
{
	const char *host;
	size_t n;

	if (!public_url || strncasecmp(public_url, "http://", 7) != 0)
		return true;
	host = public_url + 7;
	n = strcspn(host, "/?#");
	if (memchr(host, '@', n))
		return true;
	if (host[0] == '[') {
		const char *close = memchr(host, ']', n);

		n = close ? (size_t)(close - host) + 1 : n;
	} else {
		const char *colon = memchr(host, ':', n);

		n = colon ? (size_t)(colon - host) : n;
	}
	return !loopback_host(host, n);
}

/* Set by open_public() when it refused an address (for the log). */
struct guard {
	bool refused;
};

/* CURLOPT_OPENSOCKETFUNCTION for public_only: runs for every address curl
 * connects to, after DNS, so the check covers what is really connected to. */
static curl_socket_t open_public(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct guard *g = clientp;

	if (purpose != CURLSOCKTYPE_IPCXN || !fetch_addr_public(&addr->addr, addr->addrlen)) {
		g->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype, addr->protocol);
}

/* What may be said to whoever registered the URL: nothing from curl's text,
 * which names addresses and ports. */
static const char *failure_reason(CURLcode cc, long timeout_s, char *buf, size_t size)
{
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return "not an http or https URL careid can call";
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return "could not connect to the host";
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(buf, size, "timed out: no answer within %ld second%s", timeout_s,
		         timeout_s == 1 ? "" : "s");
		return buf;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return "the TLS connection failed: the host needs a certificate for its name from "
		       "a public certificate authority";
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return "the connection ended without a complete HTTP answer";
	default:
		return "the request failed";
	}
}

static int perform(struct fetch_result *out, const char *url, const char *form,
                   const struct fetch_opts *o)
{
	char errbuf[CURL_ERROR_SIZE] = "", why[64];
	struct sink sink = {&out->body, false};
	struct guard guard = {false};
	struct curl_slist *hdrs = NULL;
	long timeout_s = o->timeout_s;
	CURL *h;
	CURLcode cc;
	int rc = 0;

	out->status = 0;
	buf_init(&out->body, FETCH_MAX_BODY);
	if (timeout_s <= 0)
		return careid_error_set(CAREID_EINVALID, "fetch timeout must be positive");
	h = curl_easy_init();
	if (!h)
		return careid_error_set(CAREID_ENOMEM, "curl_easy_init failed");
	cc = curl_easy_setopt(h, CURLOPT_URL, url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	if (cc == CURLE_OK)
		cc =
		    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
		                     timeout_s < CONNECT_TIMEOUT_S ? timeout_s : CONNECT_TIMEOUT_S);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FETCH_MAX_BODY);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_USERAGENT, "careid");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	if (cc == CURLE_OK && o->public_only)
		cc = curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_public);
	if (cc == CURLE_OK && o->public_only)
		cc = curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &guard);
	if (cc == CURLE_OK && o->public_only)
		cc = curl_easy_setopt(h, CURLOPT_PROXY, "");
	if (cc == CURLE_OK && form) {
		hdrs = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
		if (!hdrs)
			cc = CURLE_OUT_OF_MEMORY;
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	}
	if (cc != CURLE_OK) {
		rc = careid_error_set(CAREID_EIO, "the request could not be prepared");
		log_pack(LOG_WARN, "fetch_failed", "{s:s%, s:s}", "url", url, strcspn(url, "?#"),
		         "error", curl_easy_strerror(cc));
		goto out;
	}
	cc = curl_easy_perform(h);
	if (sink.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = careid_error_set(CAREID_ETOOBIG, "the answer was over %d KiB",
		                      FETCH_MAX_BODY / 1024);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = careid_error_set(CAREID_EIO, "%s",
		                      failure_reason(cc, timeout_s, why, sizeof(why)));
		log_pack(LOG_INFO, "fetch_failed", "{s:s%, s:s, s:b}", "url", url,
		         strcspn(url, "?#"), "error", errbuf[0] ? errbuf : curl_easy_strerror(cc),
		         "address_refused", guard.refused);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
out:
	if (rc) {
		buf_release(&out->body);
		out->status = 0;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

int fetch_get(struct fetch_result *out, const char *url, long timeout_s)
{
	return perform(out, url, NULL, &(struct fetch_opts){.timeout_s = timeout_s});
}

int fetch_post_form(struct fetch_result *out, const char *url, const char *body, long timeout_s)
{
	return perform(out, url, body ? body : "", &(struct fetch_opts){.timeout_s = timeout_s});
}

int fetch_get_opts(struct fetch_result *out, const char *url, const struct fetch_opts *o)
{
	return perform(out, url, NULL, o);
}

int fetch_post_form_opts(struct fetch_result *out, const char *url, const char *body,
                         const struct fetch_opts *o)
{
	return perform(out, url, body ? body : "", o);
}

/* SMTP: the message is read from memory; the server's replies are watched
 * through the debug callback, which libcurl calls with each reply line. */

#define SMTP_REPLY_MAX 512

struct smtp_upload {
	const char *data;
	size_t len, off;
};

struct smtp_reply {
	char last[SMTP_REPLY_MAX];
};

static size_t smtp_read(char *out, size_t size, size_t nitems, void *userdata)
{
	struct smtp_upload *u = userdata;
	size_t room = size * nitems, n = u->len - u->off;

	if (n > room)
		n = room;
	memcpy(out, u->data + u->off, n);
	u->off += n;
	return n;
}

static int smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *userdata)
{
	struct smtp_reply *r = userdata;
	size_t start = 0, end = size;

	(void)h;
	if (type != CURLINFO_HEADER_IN || size == 0)
		return 0;
	/* Keep the last non-empty line of what arrived. */
	while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	for (size_t i = end; i > 0; i--) {
		if (data[i - 1] == '\n') {
			start = i;
			break;
		}
	}
	/* 221 only answers QUIT, sent after a failure too: keep what came before. */
	if (end <= start || (end - start >= 3 && memcmp(data + start, "221", 3) == 0))
		return 0;
	snprintf(r->last, sizeof(r->last), "%.*s", (int)(end - start), data + start);
	for (char *p = r->last; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return 0;
}

static bool smtp_addr_ok(const char *a)
{
	return a && *a && !strpbrk(a, "\r\n<>") && strlen(a) <= 320;
}

static void smtp_detail(struct buf *detail, const char *text)
{
	if (!detail)
		return;
	buf_reset(detail);
	/* Truncated to what the buffer holds. */
	if (buf_puts(detail, text) != 0 && detail->max > 0 &&
	    buf_append(detail, text, detail->max - detail->len) != 0)
		buf_reset(detail);
}

int fetch_smtp_send(const char *url, const char *from, const char *const *rcpts, size_t nrcpt,
                    const char *message, size_t len, long timeout_s, struct buf *detail)
{
	char errbuf[CURL_ERROR_SIZE] = "", addr[336];
	struct smtp_upload up = {message, len, 0};
	struct smtp_reply reply = {""};
	struct curl_slist *rcpt_list = NULL;
	long code = 0;
	CURL *h = NULL;
	CURLcode cc;
	int rc = 0;

	if (detail)
		buf_reset(detail);
	if (!url || !message || timeout_s <= 0 || nrcpt == 0 || !rcpts || !smtp_addr_ok(from))
		return careid_error_set(CAREID_EINVALID, "smtp: bad arguments");
	for (size_t i = 0; i < nrcpt; i++) {
		struct curl_slist *n;

		if (!smtp_addr_ok(rcpts[i])) {
			rc = careid_error_set(CAREID_EINVALID, "smtp: bad recipient address");
			goto out;
		}
		snprintf(addr, sizeof(addr), "<%s>", rcpts[i]);
		n = curl_slist_append(rcpt_list, addr);
		if (!n) {
			rc = careid_error_set(CAREID_ENOMEM, "smtp: out of memory");
			goto out;
		}
		rcpt_list = n;
	}
	h = curl_easy_init();
	if (!h) {
		rc = careid_error_set(CAREID_ENOMEM, "curl_easy_init failed");
		goto out;
	}
	snprintf(addr, sizeof(addr), "<%s>", from);
	cc = curl_easy_setopt(h, CURLOPT_URL, url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	if (cc == CURLE_OK)
		cc =
		    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
		                     timeout_s < CONNECT_TIMEOUT_S ? timeout_s : CONNECT_TIMEOUT_S);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt_list);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_READFUNCTION, smtp_read);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_READDATA, &up);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, smtp_debug);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_DEBUGDATA, &reply);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	if (cc != CURLE_OK) {
		rc = careid_error_set(CAREID_EIO, "smtp: %s", curl_easy_strerror(cc));
		goto out;
	}
	cc = curl_easy_perform(h);
	/* The reply to the message (or to what failed); QUIT comes later, at
	 * curl_easy_cleanup(). */
	smtp_detail(detail, reply.last[0] ? reply.last
	                    : errbuf[0]   ? errbuf
	                                  : curl_easy_strerror(cc));
	if (cc == CURLE_OK)
		goto out;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code == 0 && reply.last[0] >= '1' && reply.last[0] <= '5')
		code = reply.last[0] - '0';
	else
		code /= 100;
	rc = careid_error_set(code == 5 ? CAREID_EINVALID : CAREID_EIO, "smtp: %s%s%s",
	                      errbuf[0] ? errbuf : curl_easy_strerror(cc),
	                      reply.last[0] ? ": " : "", reply.last);
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt_list);
	return rc;
}
