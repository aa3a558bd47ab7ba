#include "http/fetch.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

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

static int perform(struct fetch_result *out, const char *url, const char *form, long timeout_s)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink sink = {&out->body, false};
	struct curl_slist *hdrs = NULL;
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
		rc = careid_error_set(CAREID_EIO, "fetch %s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	cc = curl_easy_perform(h);
	if (sink.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = careid_error_set(CAREID_ETOOBIG, "fetch %s: body over %d bytes", url,
		                      FETCH_MAX_BODY);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = careid_error_set(CAREID_EIO, "fetch %s: %s", url,
		                      errbuf[0] ? errbuf : curl_easy_strerror(cc));
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
	return perform(out, url, NULL, timeout_s);
}

int fetch_post_form(struct fetch_result *out, const char *url, const char *body, long timeout_s)
{
	return perform(out, url, body ? body : "", timeout_s);
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
