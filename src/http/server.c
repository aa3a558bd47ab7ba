#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "http/http_int.h"

#define DEFAULT_TIMEOUT_S 30
#define CONN_MEMORY_LIMIT (64 * 1024)
#define MAX_OPTIONS       12
#define LOG_PATH_MAX      512
#define FORM_CONTENT_TYPE "application/x-www-form-urlencoded"
#define BODY_TOO_LARGE                                                                             \
	"{\"error\":\"invalid_request\",\"error_description\":\"request body too large\"}"
#define SERVER_ERROR "{\"error\":\"server_error\"}"

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_server_opts opts;
	struct sockaddr_storage addr;
	uint16_t port;
	atomic_uint inflight; /* requests whose first line arrived, not yet completed */
	atomic_uint_fast64_t id_fallback;
};

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
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e)
			msg[i] = '?';
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

/* Queues `res` (its body is handed to MHD) with the default headers. */
static enum MHD_Result queue(struct http_conn *c, struct http_response *res)
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
	ret = queue(c, &res);
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

static void build_request(struct http_request *req, struct http_conn *c, const char *url,
                          const char *method)
{
	const char *q = c->raw_uri ? strchr(c->raw_uri, '?') : NULL;

	memset(req, 0, sizeof(*req));
	req->arena = c->arena;
	req->method = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 ? MHD_HTTP_METHOD_GET : method;
	req->path = url;
	req->request_id = c->request_id;
	req->remote_addr = client_address(c);
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

	build_request(&req, c, url, method);
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
	ret = queue(c, &res);
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
	rc = parse_addr(s, opts->addr, &v6);
	if (rc)
		goto fail;
	if (v6)
		flags |= MHD_USE_DUAL_STACK;

	o[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
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
	o[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	s->daemon = MHD_start_daemon(flags, s->opts.port, NULL, NULL, on_request, s,
	                             MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	if (!s->daemon) {
		rc = careid_error_set(CAREID_EIO, "cannot listen on %s port %u", opts->addr,
		                      (unsigned)opts->port);
		goto fail;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info && info->port ? info->port : opts->port;
	*out = s;
	return 0;
fail:
	free(s);
	return rc;
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
	free(s);
}
