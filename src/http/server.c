#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "http/http_int.h"

#define DEFAULT_TIMEOUT_S 30
#define CONN_MEMORY_LIMIT (64 * 1024)
#define MAX_OPTIONS       16
#define LOG_PATH_MAX      512
#define FORM_CONTENT_TYPE "application/x-www-form-urlencoded"
#define BODY_TOO_LARGE                                                                             \
	"{\"error\":\"invalid_request\",\"error_description\":\"request body too large\"}"
#define SERVER_ERROR "{\"error\":\"server_error\"}"
/* A year; no includeSubDomains: a test IdP must not pin its operator's other
 * hosts to HTTPS. */
#define HSTS "max-age=31536000"
/* GnuTLS priorities: TLS 1.3 and 1.2 only, and under 1.2 forward-secret
 * key exchange (ECDHE; no static RSA, no finite-field DHE) with AEAD ciphers
 * only (no CBC, no SHA-1 MACs). TLS 1.3's own suites are all of that kind. */
#define TLS_PRIORITIES                                                                             \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-DHE-RSA:-CIPHER-ALL:"                    \
	"+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:-SHA1"
#define TLS_FILE_MAX (1024 * 1024)

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_server_opts opts;
	struct sockaddr_storage addr;
	uint16_t port;
	atomic_uint inflight; /* requests whose first line arrived, not yet completed */
	atomic_uint_fast64_t id_fallback;
	struct http_cidr trusted[HTTP_MAX_TRUSTED_PROXIES];
	/* PEM, NUL-terminated. The key is wiped once the daemon has started:
	 * libmicrohttpd hands it to GnuTLS while starting and never reads it
	 * again (the buffer itself stays until the daemon stops). */
	char *tls_cert, *tls_key;
	/* libmicrohttpd's last message while starting: why TLS setup failed */
	atomic_bool starting;
	char start_error[512];
};

/* Routes whose answers hold tokens (or say whether one is valid): never kept
 * by a cache, whatever the handler remembered to say. */
static const char *const no_store_routes[] = {"token", "introspect", "revoke", "userinfo"};

static void request_id(http_server *s, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[8];

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		/* never expected on Linux after boot; ids need only be unique */
		uint64_t v =
		    (uint64_t)clock_mono_us() ^ (atomic_fetch_add(&s->id_fallback, 1) << 40);

		memcpy(r, &v, sizeof(r));
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[16] = '\0';
}

static struct http_conn *conn_new(http_server *s, const char *raw_uri)
{
	struct http_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->arena = arena_new();
	if (!c->arena) {
		free(c);
		return NULL;
	}
	if (raw_uri)
		c->raw_uri = arena_strdup(c->arena, raw_uri);
	buf_init(&c->body, s->opts.max_body);
	c->start_us = clock_mono_us();
	request_id(s, c->request_id);
	c->counted = true;
	atomic_fetch_add(&s->inflight, 1);
	return c;
}

static void conn_free(http_server *s, struct http_conn *c)
{
	if (!c)
		return;
	if (c->counted)
		atomic_fetch_sub(&s->inflight, 1);
	buf_release(&c->body);
	arena_free(c->arena);
	free(c);
}

/* MHD_OPTION_URI_LOG_CALLBACK: sees the request target before MHD splits and
 * decodes it; what it returns becomes the request's con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)conn;
	return conn_new(cls, uri);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	(void)toe;
	conn_free(cls, *con_cls);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	http_server *s = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e)
			msg[i] = '?';
	if (s && atomic_load(&s->starting))
		snprintf(s->start_error, sizeof(s->start_error), "%s", msg);
	log_pack(LOG_WARN, "http_server", "{s:s}", "message", msg);
}

static void log_request(http_server *s, struct http_conn *c, const char *method, const char *path,
                        const char *route, int status)
{
	int64_t us = clock_mono_us() - c->start_us;
	const char *safe_path = http_log_safe(c->arena, path ? path : "", LOG_PATH_MAX);

	if (s->opts.metrics)
		metrics_request(s->opts.metrics, route, status, us);
	log_pack(LOG_INFO, "request", "{s:s, s:s?, s:s?, s:s, s:i, s:I, s:I}", "request_id",
	         c->request_id, "method", http_log_safe(c->arena, method, 16), "path", safe_path,
	         "route", route, "status", status, "duration_ms", (json_int_t)(us / 1000),
	         "duration_us", (json_int_t)us);
}

static bool has_header(const struct http_response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, name) == 0)
			return true;
	return false;
}

static bool no_store(const struct http_response *res)
{
	if (res->route)
		for (size_t i = 0; i < sizeof(no_store_routes) / sizeof(no_store_routes[0]); i++)
			if (strcmp(res->route, no_store_routes[i]) == 0)
				return true;
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, "Cache-Control") == 0 &&
		    strstr(res->headers[i].value, "no-store"))
			return true;
	return false;
}

/* Queues `res` (its body is handed to MHD) with the default headers. */
static enum MHD_Result queue(http_server *s, struct http_conn *c, struct http_response *res)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;
	char *body = buf_detach(&res->body, &len);

	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	for (size_t i = 0; i < res->nheaders; i++)
		if (MHD_add_response_header(r, res->headers[i].name, res->headers[i].value) !=
		    MHD_YES)
			log_pack(LOG_WARN, "response_header_dropped", "{s:s, s:s}", "request_id",
			         c->request_id, "name",
			         http_log_safe(c->arena, res->headers[i].name, 64));
	if (res->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
	MHD_add_response_header(r, "X-Request-Id", c->request_id);
	if (!has_header(res, "X-Content-Type-Options"))
		MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (!has_header(res, "Referrer-Policy"))
		MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (no_store(res)) {
		if (!has_header(res, "Cache-Control"))
			MHD_add_response_header(r, "Cache-Control", "no-store");
		if (!has_header(res, "Pragma"))
			MHD_add_response_header(r, "Pragma", "no-cache");
	}
	/* behind a proxy that says its client came over plain http, HSTS would
	 * be ignored anyway (RFC 6797 §8.1): not sent */
	if (s->opts.hsts && !has_header(res, "Strict-Transport-Security") &&
	    (s->tls_cert || c->forwarded_proto != HTTP_PROTO_HTTP))
		MHD_add_response_header(r, "Strict-Transport-Security", HSTS);
	ret = MHD_queue_response(c->conn, (unsigned int)res->status, r);
	MHD_destroy_response(r);
	c->responded = true;
	return ret;
}

static enum MHD_Result answer_fixed(http_server *s, struct http_conn *c, const char *method,
                                    const char *path, int status, const char *json)
{
	struct http_response res;
	enum MHD_Result ret;

	http_response_init(&res, c->arena);
	if (http_send(&res, status, "application/json", json, strlen(json))) {
		http_response_release(&res);
		return MHD_NO;
	}
	ret = queue(s, c, &res);
	http_response_release(&res);
	log_request(s, c, method, path, "other", status);
	return ret;
}

static bool content_length_over(struct MHD_Connection *conn, size_t max)
{
	const char *cl =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long v;
	char *end;

	if (!cl)
		return false;
	errno = 0;
	v = strtoull(cl, &end, 10);
	return errno == ERANGE || (end != cl && v > max);
}

/* The media type of Content-Type is application/x-www-form-urlencoded
 * (parameters such as charset are ignored). */
static bool is_form(const char *ct)
{
	size_t n = sizeof(FORM_CONTENT_TYPE) - 1;

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, FORM_CONTENT_TYPE, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

struct joined {
	const char *name;
	struct buf b;
	bool found;
	bool failed; /* past HTTP_FORWARDED_MAX_LEN (or out of memory) */
};

/* Every line of one header, joined with '\n'. */
static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	struct joined *j = cls;

	(void)kind;
	if (!key || !value || strcasecmp(key, j->name) != 0)
		return MHD_YES;
	if ((j->found && buf_append(&j->b, "\n", 1)) || buf_puts(&j->b, value)) {
		j->failed = true;
		return MHD_NO;
	}
	j->found = true;
	return MHD_YES;
}

/* The header's lines joined, NULL when absent; *failed when too long. */
static const char *header_lines(struct http_conn *c, const char *name, bool *failed)
{
	struct joined j = {.name = name};
	const char *out = NULL;

	buf_init(&j.b, HTTP_FORWARDED_MAX_LEN);
	MHD_get_connection_values(c->conn, MHD_HEADER_KIND, join_header, &j);
	if (j.found && !j.failed) {
		out = arena_strndup(c->arena, j.b.ptr, j.b.len);
		j.failed = !out;
	}
	buf_release(&j.b);
	*failed |= j.failed;
	return out;
}

/* The peer, or the client a trusted proxy names (http/forwarded.h). */
static const char *forwarded_address(http_server *s, struct http_conn *c, const char *peer)
{
	struct http_forwarded_in in = {
	    .peer = peer,
	    .trusted = s->trusted,
	    .ntrusted = s->opts.ntrusted_proxies,
	};
	enum http_proto proto;
	char out[HTTP_ADDR_MAX];
	bool failed = false;

	if (!s->opts.ntrusted_proxies || !http_cidr_match(s->trusted, in.ntrusted, peer))
		return peer;
	/* only the header the proxies write: the other one, passed on from the
	 * client untouched, would let it name any address it likes */
	in.header = s->opts.proxy_header;
	if (in.header == HTTP_PROXY_HEADER_FORWARDED) {
		in.forwarded = header_lines(c, "Forwarded", &failed);
	} else {
		in.x_forwarded_for = header_lines(c, "X-Forwarded-For", &failed);
		in.x_forwarded_proto = header_lines(c, "X-Forwarded-Proto", &failed);
	}
	/* over-long forwarding headers are a client's doing: the peer it is */
	if (failed)
		return peer;
	http_forwarded_client(&in, out, &proto);
	c->forwarded_proto = (int)proto;
	return arena_strdup(c->arena, out);
}

static const char *client_address(struct http_conn *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[NI_MAXHOST];
	const char *h = host;
	socklen_t len;

	if (!ci || !ci->client_addr)
		return "";
	len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                             : sizeof(struct sockaddr_in);
	if (getnameinfo(ci->client_addr, len, host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		return "";
	if (strncmp(host, "::ffff:", 7) == 0 && strchr(host + 7, '.'))
		h = host + 7;
	return arena_strdup(c->arena, h);
}

static void build_request(http_server *s, struct http_request *req, struct http_conn *c,
                          const char *url, const char *method)
{
	const char *q = c->raw_uri ? strchr(c->raw_uri, '?') : NULL;

	memset(req, 0, sizeof(*req));
	req->arena = c->arena;
	req->method = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 ? MHD_HTTP_METHOD_GET : method;
	req->path = url;
	req->request_id = c->request_id;
	req->remote_addr = client_address(c);
	if (req->remote_addr)
		req->remote_addr = forwarded_address(s, c, req->remote_addr);
	if (!req->remote_addr)
		req->remote_addr = "";
	req->priv = c;
	if (q) {
		size_t qlen = strcspn(q + 1, "#");

		req->query_error = form_parse(&req->query, c->arena, q + 1, qlen);
	}
	req->body = c->body.ptr;
	req->body_len = c->body.len;
	if (is_form(MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
	                                        MHD_HTTP_HEADER_CONTENT_TYPE))) {
		req->has_form = true;
		req->form_error = form_parse(&req->form, c->arena, c->body.ptr, c->body.len);
	}
}

static enum MHD_Result dispatch(http_server *s, struct http_conn *c, const char *url,
                                const char *method)
{
	struct http_request req;
	struct http_response res;
	enum MHD_Result ret;
	int rc;

	build_request(s, &req, c, url, method);
	http_response_init(&res, c->arena);
	careid_error_clear();
	rc = s->opts.handler(s->opts.ctx, &req, &res);
	if (rc == 0 && (res.status < 100 || res.status > 599))
		rc = careid_error_set(CAREID_EINVALID, "handler answered status %d", res.status);
	if (rc < 0) {
		log_error_last("handler_failed", c->request_id);
		res.nheaders = 0;
		if (http_send(&res, 500, "application/json", SERVER_ERROR, strlen(SERVER_ERROR))) {
			http_response_release(&res);
			return MHD_NO;
		}
	}
	ret = queue(s, c, &res);
	log_request(s, c, method, url, res.route ? res.route : "other", res.status);
	http_response_release(&res);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	http_server *s = cls;
	struct http_conn *c = *con_cls;

	(void)version;
	if (!c) {
		/* the URI callback ran out of memory; try once more, without a query */
		c = conn_new(s, NULL);
		if (!c)
			return MHD_NO;
		*con_cls = c;
	}
	if (!c->started) {
		c->started = true;
		c->conn = conn;
		if (content_length_over(conn, s->opts.max_body))
			return answer_fixed(s, c, method, url, 413, BODY_TOO_LARGE);
		return MHD_YES;
	}
	if (c->responded) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!c->too_big && buf_append(&c->body, upload_data, *upload_data_size) != 0)
			c->too_big = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->too_big)
		return answer_fixed(s, c, method, url, 413, BODY_TOO_LARGE);
	return dispatch(s, c, url, method);
}

static int parse_addr(http_server *s, const char *addr, bool *v6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&s->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->addr;

	memset(&s->addr, 0, sizeof(s->addr));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(s->opts.port);
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(s->opts.port);
		*v6 = true;
		return 0;
	}
	return careid_error_set(CAREID_EINVALID, "'%s' is not a numeric IPv4 or IPv6 address",
	                        addr);
}

/* A PEM file, whole and NUL-terminated, into *out (malloc'd). */
static int read_pem(char **out, const char *path, const char *what)
{
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	*out = NULL;
	if (fd < 0)
		return careid_error_set(CAREID_EIO, "cannot read the TLS %s %s: %s", what, path,
		                        strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > TLS_FILE_MAX) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "the TLS %s %s is not a PEM file (empty, not a regular file "
		                      "or over 1 MiB)",
		                      what, path);
		goto out;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = careid_error_set(CAREID_EIO, "cannot read the TLS %s %s: %s", what,
			                      path, n ? strerror(errno) : "file shrank");
			goto out;
		}
		got += (size_t)n;
	}
	p[got] = '\0';
	if (!strstr(p, "-----BEGIN ")) {
		rc = careid_error_set(CAREID_EINVALID, "the TLS %s %s is not PEM", what, path);
		goto out;
	}
	*out = p;
	p = NULL;
out:
	if (p) {
		explicit_bzero(p, got);
		free(p);
	}
	close(fd);
	return rc;
}

static void free_secret(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static void server_free(http_server *s)
{
	free_secret(s->tls_key);
	free(s->tls_cert);
	free(s);
}

static int tls_setup(http_server *s, unsigned int *flags, struct MHD_OptionItem *o, size_t *n)
{
	int rc;

	if (!s->opts.tls_cert_file != !s->opts.tls_key_file)
		return careid_error_set(CAREID_EINVALID,
		                        "HTTPS needs both a certificate and a private key");
	if (!s->opts.tls_cert_file)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return careid_error_set(CAREID_EINVALID,
		                        "this libmicrohttpd was built without TLS support");
	rc = read_pem(&s->tls_cert, s->opts.tls_cert_file, "certificate");
	if (!rc)
		rc = read_pem(&s->tls_key, s->opts.tls_key_file, "private key");
	if (rc)
		return rc;
	if (strstr(s->tls_key, "ENCRYPTED"))
		return careid_error_set(CAREID_EINVALID,
		                        "the TLS private key %s is encrypted: give careid an "
		                        "unencrypted key (readable by careid's user only)",
		                        s->opts.tls_key_file);
	*flags |= MHD_USE_TLS;
	o[(*n)++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
	o[(*n)++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
	o[(*n)++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES};
	return 0;
}

int http_server_start(http_server **out, const struct http_server_opts *opts)
{
	unsigned int flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	struct MHD_OptionItem o[MAX_OPTIONS];
	const union MHD_DaemonInfo *info;
	http_server *s;
	size_t n = 0;
	unsigned threads;
	bool v6;
	int rc;

	*out = NULL;
	if (!opts->handler || !opts->addr)
		return careid_error_set(CAREID_EINVALID,
		                        "the server needs an address and a handler");
	s = calloc(1, sizeof(*s));
	if (!s)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	s->opts = *opts;
	if (!s->opts.max_body)
		s->opts.max_body = HTTP_MAX_BODY;
	if (!s->opts.timeout_s)
		s->opts.timeout_s = DEFAULT_TIMEOUT_S;
	threads = s->opts.threads;
	if (!threads) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		threads = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (s->opts.ntrusted_proxies > HTTP_MAX_TRUSTED_PROXIES) {
		rc = careid_error_set(CAREID_EINVALID, "more than %d trusted proxies",
		                      HTTP_MAX_TRUSTED_PROXIES);
		goto fail;
	}
	if (s->opts.ntrusted_proxies)
		memcpy(s->trusted, opts->trusted_proxies,
		       s->opts.ntrusted_proxies * sizeof(s->trusted[0]));
	s->opts.trusted_proxies = NULL;
	rc = parse_addr(s, opts->addr, &v6);
	if (rc)
		goto fail;
	if (v6)
		flags |= MHD_USE_DUAL_STACK;

	o[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, s};
	o[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s};
	o[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
	o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->opts.timeout_s,
	                                 NULL};
	o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	                                 (intptr_t)CONN_MEMORY_LIMIT, NULL};
	o[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &s->addr};
	if (threads > 1)
		o[n++] =
		    (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
	rc = tls_setup(s, &flags, o, &n);
	if (rc)
		goto fail;
	o[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	atomic_store(&s->starting, true);
	s->daemon = MHD_start_daemon(flags, s->opts.port, NULL, NULL, on_request, s,
	                             MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	atomic_store(&s->starting, false);
	if (!s->daemon && s->tls_cert && strstr(s->start_error, "TLS")) {
		/* GnuTLS refused the certificate or the key */
		rc = careid_error_set(CAREID_EINVALID,
		                      "cannot serve HTTPS with the certificate %s and the key %s: "
		                      "is each PEM, and the key the certificate's? (%s)",
		                      opts->tls_cert_file, opts->tls_key_file, s->start_error);
		goto fail;
	}
	if (!s->daemon) {
		rc = careid_error_set(CAREID_EIO, "cannot listen on %s port %u", opts->addr,
		                      (unsigned)opts->port);
		goto fail;
	}
	if (s->tls_key)
		explicit_bzero(s->tls_key, strlen(s->tls_key));
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info && info->port ? info->port : opts->port;
	*out = s;
	return 0;
fail:
	server_free(s);
	return rc;
}

bool http_server_tls(const http_server *s)
{
	return s->tls_cert != NULL;
}

uint16_t http_server_port(const http_server *s)
{
	return s->port;
}

void http_server_stop(http_server *s, unsigned grace_s)
{
	int64_t deadline;
	MHD_socket fd;

	if (!s)
		return;
	fd = MHD_quiesce_daemon(s->daemon);
	deadline = clock_mono_us() + (int64_t)grace_s * 1000000;
	while (atomic_load(&s->inflight) > 0 && clock_mono_us() < deadline) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(s->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	server_free(s);
}
