#include "http/fetch.h"

#include <curl/curl.h>
#include <stdbool.h>

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
