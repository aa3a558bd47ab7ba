/*
 * The PostgreSQL backend (libpq): one session per thread (store.c hands each
 * thread its own; with the HTTP server's fixed pool of worker threads that
 * is the process's connection pool), with that session's prepared statements
 * cached by the address of their SQL.
 *
 * Same semantics as the SQLite backend, which module code was written
 * against:
 *
 * - Writers are serialised, across every careid process on the database, by
 *   one transaction-scoped advisory lock: store_begin() takes it, and so does
 *   a write outside a transaction (run as its own short transaction). As on
 *   SQLite with BEGIN IMMEDIATE, a transaction therefore never sees data
 *   change under it and never fails half-way on a conflict; reads never wait.
 * - A failed write inside a transaction undoes only itself (a savepoint
 *   around each write), so a caller may go on after, say, CAREID_EEXISTS,
 *   where PostgreSQL alone would refuse every later statement. A failed read
 *   (a timeout, bad input) still ends the transaction: its commit fails.
 * - Parameters are typed from the type string ('t' text, 'i' int8, 'b'
 *   bytea), so "$1 IS NULL" and comparisons need no casts; results come as
 *   text (integers parsed, bytea unescaped).
 *
 * A session the server dropped (a restart, a failover, an idle timeout) is
 * noticed before use and opened again; a statement that had not started is
 * retried once on the new session. Work in flight when it dropped fails
 * with CAREID_ESTORE, like any other store error.
 */
#include "store/stmtcache.h"
#include "store/store_int.h"

#include "core/error.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Type OIDs (pg_type.h, stable since PostgreSQL 7). */
#define PG_BOOLOID  16
#define PG_BYTEAOID 17
#define PG_INT8OID  20
#define PG_TEXTOID  25

#define PG_MAX_PARAMS 64

/* The advisory lock every write holds: "careid" in ASCII as a bigint. */
#define PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(109270182226276)"

/*
 * Said once per session: a lock waited for longer than SQLite's busy timeout
 * is CAREID_EBUSY, and no statement runs away with a worker thread.
 */
#define PG_SESSION_SQL                                                                             \
	"SET lock_timeout = '5s'; SET statement_timeout = '30s'; "                                 \
	"SET idle_in_transaction_session_timeout = '60s'"

struct pg_conn;

/* A statement prepared on one session. */
struct pg_stmt {
	struct stmt_cache_entry ce; /* ce.key is NULL for a one-off */
	char name[24];
	bool write; /* takes the write lock (see pg_is_write) */
};

struct pg_conn {
	struct store_conn base; /* first: store.c holds &base */
	PGconn *db;
	struct stmt_cache cache;
	uint64_t serial; /* names statements: unique for the session */
	bool in_tx;      /* store_begin() ran, commit/rollback not yet */
};

/* A cursor: the whole result, read row by row. */
struct pg_cursor {
	struct store_stmt base; /* first: callers hold &base */
	PGresult *res;
	int row, rows;
	unsigned char *blob; /* the last bytea column read, unescaped */
};

static int pg_code(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!state)
		return CAREID_ESTORE;
	if (strcmp(state, "23505") == 0) /* unique_violation */
		return CAREID_EEXISTS;
	if (strcmp(state, "23503") == 0) /* foreign_key_violation (as SQLite) */
		return CAREID_EINVALID;
	/* Text that is not UTF-8 (SQLite would store it): bad input. */
	if (strcmp(state, "22021") == 0 || strcmp(state, "22P05") == 0)
		return CAREID_EINVALID;
	if (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "57014") == 0)
		return CAREID_EBUSY;      /* lock timeout, serialisation, deadlock, cancel */
	if (strncmp(state, "53", 2) == 0) /* insufficient resources */
		return CAREID_EBUSY;
	return CAREID_ESTORE;
}

static int pg_fail(struct pg_conn *c, const PGresult *res, const char *sql)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char conn_msg[160];

	if (!msg) {
		/* libpq's own message ends in a newline; the log line must not. */
		snprintf(conn_msg, sizeof(conn_msg), "%s", PQerrorMessage(c->db));
		conn_msg[strcspn(conn_msg, "\n")] = '\0';
		msg = conn_msg;
	}
	return careid_error_set(pg_code(res), "postgres: %s in \"%.80s\"", msg, sql ? sql : "");
}

static void pg_notice_quiet(void *arg, const char *message)
{
	/* NOTICEs ("relation exists, skipping") would go to stderr, which
	 * carries careid's JSON log lines. */
	(void)arg;
	(void)message;
}

/* Runs parameterless SQL (possibly several statements); `want` is the
 * status the last one must end with. */
static int pg_simple(struct pg_conn *c, const char *sql, ExecStatusType want)
{
	PGresult *res = PQexec(c->db, sql);
	int rc = 0;

	if (PQresultStatus(res) != want)
		rc = pg_fail(c, res, sql);
	PQclear(res);
	return rc;
}

static void pg_drop(struct stmt_cache_entry *ce)
{
	free((struct pg_stmt *)ce);
}

/* After a new session: nothing prepared on the old one exists. */
static int pg_session_start(struct pg_conn *c)
{
	stmt_cache_clear(&c->cache, pg_drop);
	c->in_tx = false;
	PQsetNoticeProcessor(c->db, pg_notice_quiet, NULL);
	return pg_simple(c, PG_SESSION_SQL, PGRES_COMMAND_OK);
}

/*
 * Checks the URL once, before any connection: libpq's own messages about a
 * URL it cannot parse quote the URL (password included), so careid says what
 * is wrong in its own words. A host holding '@' is a password with an '@' not
 * percent-encoded: it would go out as a DNS lookup.
 */
static int pg_setup(const char *url)
{
	PQconninfoOption *opts;
	char *msg = NULL;
	int rc = 0;

	opts = PQconninfoParse(url, &msg);
	PQfreemem(msg);
	if (!opts)
		return careid_error_set(CAREID_EINVALID,
		                        "store: the PostgreSQL URL does not parse (percent-encode "
		                        "any of / @ %% : ? # [ ] in the user name or password)");
	for (PQconninfoOption *o = opts; o->keyword && rc == 0; o++) {
		if (!o->val)
			continue;
		if (strcmp(o->keyword, "host") == 0 && strchr(o->val, '@'))
			rc = careid_error_set(
			    CAREID_EINVALID,
			    "store: the PostgreSQL URL's host holds '@' (percent-encode "
			    "an '@' in the password as %%40)");
		/* "user:pass/word@host" parses as host "user", port "pass". */
		if (strcmp(o->keyword, "port") == 0 && o->val[strspn(o->val, "0123456789,")])
			rc = careid_error_set(
			    CAREID_EINVALID,
			    "store: the PostgreSQL URL's port is not a number (percent-"
			    "encode any of / @ : in the user name or password)");
	}
	PQconninfoFree(opts);
	return rc;
}

static int pg_open(struct store_conn **out, const char *url)
{
	/*
	 * Defaults first: the URL's own settings override them. Keepalives and
	 * a TCP user timeout so that a database host that vanished (a failover,
	 * a partition) fails statements in seconds rather than when the kernel
	 * gives up, minutes later, with every worker thread waiting on it.
	 */
	static const char *const keys[] = {"connect_timeout",
	                                   "application_name",
	                                   "keepalives",
	                                   "keepalives_idle",
	                                   "keepalives_interval",
	                                   "keepalives_count",
	                                   "tcp_user_timeout",
	                                   "dbname",
	                                   NULL};
	const char *values[] = {"5", "careid", "1", "10", "5", "3", "15000", url, NULL};
	struct pg_conn *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return careid_error_set(CAREID_ENOMEM, "postgres: out of memory");
	c->db = PQconnectdbParams(keys, values, 1);
	if (!c->db) {
		rc = careid_error_set(CAREID_ENOMEM, "postgres: out of memory");
		goto fail;
	}
	if (PQstatus(c->db) != CONNECTION_OK) {
		rc = pg_fail(c, NULL, NULL);
		goto fail;
	}
	rc = pg_session_start(c);
	if (rc < 0)
		goto fail;
	*out = &c->base;
	return 0;
fail:
	PQfinish(c->db);
	free(c);
	return rc;
}

static void pg_close(struct store_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;

	if (!c)
		return;
	stmt_cache_clear(&c->cache, pg_drop);
	PQfinish(c->db);
	free(c);
}

/*
 * True when the session is usable. An idle session the server closed shows
 * as a readable socket (the termination notice, then end of file): reading
 * it now finds that out before a statement is sent into it.
 */
static bool pg_alive(struct pg_conn *c)
{
	struct pollfd p = {.fd = PQsocket(c->db), .events = POLLIN};

	if (PQstatus(c->db) != CONNECTION_OK || p.fd < 0)
		return false;
	if (poll(&p, 1, 0) > 0 && (!PQconsumeInput(c->db) || PQstatus(c->db) != CONNECTION_OK))
		return false;
	return true;
}

/* Makes the session usable, opening it again when it was lost. Inside a
 * transaction a lost session is an error: its work is gone. */
static int pg_ready(struct pg_conn *c)
{
	if (pg_alive(c))
		return 0;
	if (c->in_tx)
		return careid_error_set(CAREID_ESTORE,
		                        "postgres: the connection was lost in a transaction");
	PQreset(c->db);
	if (PQstatus(c->db) != CONNECTION_OK)
		return pg_fail(c, NULL, NULL);
	return pg_session_start(c);
}

/*
 * Whether a statement writes (and so takes the write lock): anything but a
 * plain SELECT. A SELECT … FOR UPDATE counts as a write, like the statements
 * that change rows it is there to precede.
 */
static bool pg_is_write(const char *sql)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '(')
		sql++;
	if (strncasecmp(sql, "SELECT", 6) != 0)
		return true;
	return strcasestr(sql, "FOR UPDATE") != NULL;
}

static Oid pg_type_oid(char t)
{
	switch (t) {
	case 't':
		return PG_TEXTOID;
	case 'i':
		return PG_INT8OID;
	case 'b':
		return PG_BYTEAOID;
	}
	return 0;
}

/* Prepares `sql` under a fresh name and checks it takes `n` parameters. */
static int pg_prepare(struct pg_conn *c, const char *sql, const char *types, struct pg_stmt *e)
{
	Oid oids[PG_MAX_PARAMS];
	int n = (int)strlen(types), rc = 0;
	PGresult *res;

	for (int i = 0; i < n; i++)
		oids[i] = pg_type_oid(types[i]);
	snprintf(e->name, sizeof(e->name), "s%" PRIu64, ++c->serial);
	e->write = pg_is_write(sql);
	res = PQprepare(c->db, e->name, sql, n, oids);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_fail(c, res, sql);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	/* PostgreSQL would infer types for placeholders past the ones given;
	 * the store's contract is one type letter per placeholder. */
	res = PQdescribePrepared(c->db, e->name);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_fail(c, res, sql);
	else if (PQnparams(res) != n)
		rc = careid_error_set(CAREID_EINVALID,
		                      "postgres: %d parameters for %d placeholders in \"%.80s\"", n,
		                      PQnparams(res), sql);
	PQclear(res);
	return rc;
}

/* Forgets a statement prepared for one use. */
static void pg_deallocate(struct pg_conn *c, struct pg_stmt *e)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "DEALLOCATE %s", e->name);
	if (PQstatus(c->db) == CONNECTION_OK)
		PQclear(PQexec(c->db, sql));
	free(e);
}

/* The prepared statement for `sql` on this session: the cached one, or a new
 * one cached when there is room (`*one_off` false) or for this use only. */
static int pg_statement(struct pg_conn *c, const char *sql, const char *types, struct pg_stmt **out,
                        bool *one_off)
{
	struct stmt_cache_entry *ce;
	struct pg_stmt *e;
	bool same;
	int rc;

	*out = NULL;
	ce = stmt_cache_find(&c->cache, sql, &same);
	if (ce && same) {
		*out = (struct pg_stmt *)ce;
		*one_off = false;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return careid_error_set(CAREID_ENOMEM, "postgres: out of memory");
	rc = pg_prepare(c, sql, types, e);
	if (rc == CAREID_EINVALID) { /* prepared, with the wrong parameters */
		pg_deallocate(c, e);
		return rc;
	}
	if (rc < 0) {
		free(e);
		return rc;
	}
	*one_off = !(stmt_cache_room(&c->cache, sql) && stmt_cache_add(&c->cache, &e->ce, sql));
	*out = e;
	return 0;
}

/* The arguments of one execution, as libpq takes them. */
struct pg_params {
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS];
	int formats[PG_MAX_PARAMS];
	char ints[PG_MAX_PARAMS][24];
	int n;
};

static int pg_params_read(struct pg_params *p, const char *types, va_list ap)
{
	p->n = (int)strlen(types);
	if (p->n > PG_MAX_PARAMS)
		return careid_error_set(CAREID_EINVALID, "postgres: more than %d parameters",
		                        PG_MAX_PARAMS);
	for (int i = 0; i < p->n; i++) {
		p->lengths[i] = 0;
		p->formats[i] = 0;
		switch (types[i]) {
		case 't':
			/* A NULL pointer binds SQL NULL. */
			p->values[i] = va_arg(ap, const char *);
			break;
		case 'i':
			snprintf(p->ints[i], sizeof(p->ints[i]), "%" PRId64, va_arg(ap, int64_t));
			p->values[i] = p->ints[i];
			break;
		case 'b': {
			const void *v = va_arg(ap, const void *);
			size_t len = va_arg(ap, size_t);

			if (len > INT32_MAX)
				return careid_error_set(CAREID_ETOOBIG, "postgres: blob too big");
			p->values[i] = v;
			p->lengths[i] = (int)len;
			p->formats[i] = 1; /* binary: the bytes as they are */
			break;
		}
		default:
			return careid_error_set(
			    CAREID_EINVALID, "postgres: bad type '%c' in \"%s\"", types[i], types);
		}
	}
	return 0;
}

static bool pg_result_ok(const PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* What is sent around a write (see the top of the file): outside a
 * transaction, one of its own holding the write lock; inside one, a
 * savepoint. */
struct pg_batch {
	const char *const *before, *const *after;
	int nbefore, nafter;
};

static const char *const pg_own_before[] = {"BEGIN", PG_WRITE_LOCK};
static const char *const pg_own_after[] = {"COMMIT"};
static const char *const pg_savepoint_before[] = {"SAVEPOINT careid_stmt"};
static const char *const pg_savepoint_after[] = {"RELEASE SAVEPOINT careid_stmt"};

static const struct pg_batch pg_own_tx = {pg_own_before, pg_own_after, 2, 1};
static const struct pg_batch pg_savepoint = {pg_savepoint_before, pg_savepoint_after, 1, 1};

/* Sends the i-th statement of a batch around `e`. */
static bool pg_send(struct pg_conn *c, const struct pg_batch *b, int i, const struct pg_stmt *e,
                    const struct pg_params *p)
{
	if (i == b->nbefore)
		return PQsendQueryPrepared(c->db, e->name, p->n, p->values, p->lengths, p->formats,
		                           0) == 1;
	return PQsendQueryParams(c->db,
	                         i < b->nbefore ? b->before[i] : b->after[i - b->nbefore - 1], 0,
	                         NULL, NULL, NULL, NULL, 0) == 1;
}

/*
 * Sends the batch's statements and `e` between them in one pipeline, so the
 * whole takes one round trip: a write outside a transaction holds the write
 * lock only while the server runs it, never across the network. Returns
 * `e`'s result, or NULL with the first error in `*rc`. `*answered` tells
 * that the server answered something (it may then have committed).
 */
static PGresult *pg_pipeline(struct pg_conn *c, const struct pg_batch *b, const struct pg_stmt *e,
                             const struct pg_params *p, const char *sql, int *rc, bool *answered)
{
	const int n = b->nbefore + 1 + b->nafter;
	bool sent = PQenterPipelineMode(c->db) == 1;
	PGresult *res = NULL, *r;

	*rc = 0;
	*answered = false;
	for (int i = 0; sent && i < n; i++)
		sent = pg_send(c, b, i, e, p);
	if (!sent || PQpipelineSync(c->db) != 1) {
		*rc = pg_fail(c, NULL, sql);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		r = PQgetResult(c->db);
		if (!r) { /* the connection is gone */
			*rc = *rc ? *rc : pg_fail(c, NULL, sql);
			goto out;
		}
		if (pg_result_ok(r) || PQresultErrorField(r, PG_DIAG_SQLSTATE))
			*answered = true;
		/* After the first error the rest answer PIPELINE_ABORTED. */
		if (!pg_result_ok(r) && !*rc)
			*rc = pg_fail(c, r, sql);
		if (i == b->nbefore && pg_result_ok(r))
			res = r;
		else
			PQclear(r);
		/* Each statement's results end with a NULL. */
		while ((r = PQgetResult(c->db)))
			PQclear(r);
	}
	r = PQgetResult(c->db); /* the sync */
	if (PQresultStatus(r) != PGRES_PIPELINE_SYNC && !*rc)
		*rc = pg_fail(c, r, sql);
	PQclear(r);
out:
	if (PQpipelineStatus(c->db) != PQ_PIPELINE_OFF && !PQexitPipelineMode(c->db) && !*rc)
		*rc = pg_fail(c, NULL, sql);
	if (*rc < 0) {
		PQclear(res);
		return NULL;
	}
	return res;
}

/*
 * Executes a prepared statement: a read as it is, a write with the write
 * lock or the savepoint described at the top. Returns the result (caller
 * clears) or NULL with the error set and `*rc` negative. `*committed` tells
 * that a write outside a transaction reached the server, whatever the answer
 * (its COMMIT was in the same round trip).
 */
static PGresult *pg_execute(struct pg_conn *c, const struct pg_stmt *e, const struct pg_params *p,
                            const char *sql, int *rc, bool *committed)
{
	PGresult *res;
	bool answered = false;

	*committed = false;
	if (!e->write) {
		res = PQexecPrepared(c->db, e->name, p->n, p->values, p->lengths, p->formats, 0);
		*rc = pg_result_ok(res) ? 0 : pg_fail(c, res, sql);
		if (*rc == 0)
			return res;
		PQclear(res);
		return NULL;
	}
	res = pg_pipeline(c, c->in_tx ? &pg_savepoint : &pg_own_tx, e, p, sql, rc, &answered);
	*committed = !c->in_tx && answered;
	if (res)
		return res;
	/* Undo what the failed batch left open: its own transaction, or the
	 * failed statement back to the savepoint. */
	if (PQstatus(c->db) != CONNECTION_OK)
		return NULL;
	if (!c->in_tx && PQtransactionStatus(c->db) != PQTRANS_IDLE)
		pg_simple(c, "ROLLBACK", PGRES_COMMAND_OK);
	else if (c->in_tx && PQtransactionStatus(c->db) == PQTRANS_INERROR)
		pg_simple(c, "ROLLBACK TO SAVEPOINT careid_stmt; RELEASE SAVEPOINT careid_stmt",
		          PGRES_COMMAND_OK);
	return NULL;
}

/*
 * Prepares (when needed) and executes `sql`; the result or NULL (`*rc`).
 * When the session turns out dead before anything was committed outside a
 * transaction (the server restarted while this thread was idle, say), the
 * statement runs once more on a new session: the server rolled back whatever
 * of it had started. A COMMIT sent and not answered is not retried.
 */
static PGresult *pg_run(struct pg_conn *c, const char *sql, const char *types, va_list ap, int *rc)
{
	struct pg_params p;
	PGresult *res = NULL;

	*rc = pg_params_read(&p, types, ap);
	for (int attempt = 0; *rc == 0 && attempt < 2; attempt++) {
		const bool in_tx = c->in_tx;
		struct pg_stmt *e = NULL;
		bool one_off = false, committed = false;

		*rc = pg_ready(c);
		if (*rc < 0)
			break;
		*rc = pg_statement(c, sql, types, &e, &one_off);
		if (*rc == 0) {
			res = pg_execute(c, e, &p, sql, rc, &committed);
			if (one_off)
				pg_deallocate(c, e);
		}
		if (res || in_tx || committed || PQstatus(c->db) == CONNECTION_OK)
			break;
		*rc = 0;
	}
	return res;
}

static int pg_exec(struct store_conn *base, const char *sql, const char *types, va_list ap)
{
	struct pg_conn *c = (struct pg_conn *)base;
	const char *tuples;
	PGresult *res;
	int rc;

	res = pg_run(c, sql, types, ap, &rc);
	if (!res)
		return rc;
	/* Rows changed, as SQLite's changes(): none for a SELECT. */
	tuples = PQcmdTuples(res);
	rc = strncmp(PQcmdStatus(res), "SELECT", 6) == 0 || !*tuples
	         ? 0
	         : (int)strtol(tuples, NULL, 10);
	PQclear(res);
	return rc;
}

static int pg_script(struct store_conn *base, const char *sql)
{
	struct pg_conn *c = (struct pg_conn *)base;
	PGresult *res;
	int rc = pg_ready(c);

	if (rc < 0)
		return rc;
	/* A migration may rebuild a big table: no statement timeout for it
	 * (SET LOCAL: only for the migration's own transaction). */
	if (c->in_tx &&
	    (rc = pg_simple(c, "SET LOCAL statement_timeout = 0", PGRES_COMMAND_OK)) < 0)
		return rc;
	/* Several statements; the result is the last one's, and an error stops
	 * the rest. */
	res = PQexec(c->db, sql);
	if (!pg_result_ok(res))
		rc = careid_error_set(pg_code(res), "postgres: %s",
		                      PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
		                          ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
		                          : "the script failed");
	PQclear(res);
	return rc;
}

static int pg_query(struct store_conn *base, struct store_stmt **out, const char *sql,
                    const char *types, va_list ap)
{
	struct pg_conn *c = (struct pg_conn *)base;
	struct pg_cursor *k;
	PGresult *res;
	int rc;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return careid_error_set(CAREID_ENOMEM, "postgres: out of memory");
	/* The whole result is fetched now: arguments are not needed after. */
	res = pg_run(c, sql, types, ap, &rc);
	if (!res) {
		free(k);
		return rc;
	}
	k->base.ops = &store_postgres_ops;
	k->res = res;
	k->row = -1;
	k->rows = PQntuples(res);
	*out = &k->base;
	return 0;
}

static int pg_next(struct store_stmt *st)
{
	struct pg_cursor *k = (struct pg_cursor *)st;

	if (k->row < k->rows)
		k->row++;
	return k->row < k->rows ? 1 : 0;
}

static bool pg_on_row(const struct pg_cursor *k, int col)
{
	return k->row >= 0 && k->row < k->rows && col >= 0 && col < PQnfields(k->res);
}

static const char *pg_text(struct store_stmt *st, int col)
{
	struct pg_cursor *k = (struct pg_cursor *)st;

	if (!pg_on_row(k, col) || PQgetisnull(k->res, k->row, col))
		return NULL;
	return PQgetvalue(k->res, k->row, col);
}

static int64_t pg_integer(struct store_stmt *st, int col)
{
	struct pg_cursor *k = (struct pg_cursor *)st;
	const char *v = pg_text(st, col);

	if (!v)
		return 0;
	if (PQftype(k->res, col) == PG_BOOLOID)
		return v[0] == 't';
	/* As SQLite reads a number out of text: the leading integer part. */
	return strtoll(v, NULL, 10);
}

static const void *pg_blob(struct store_stmt *st, int col, size_t *len_out)
{
	struct pg_cursor *k = (struct pg_cursor *)st;
	const char *v = pg_text(st, col);
	size_t len = 0;

	if (v && PQftype(k->res, col) == PG_BYTEAOID) {
		PQfreemem(k->blob);
		k->blob = PQunescapeBytea((const unsigned char *)v, &len);
		v = (const char *)k->blob;
		if (!v)
			len = 0;
	} else if (v) {
		len = (size_t)PQgetlength(k->res, k->row, col);
	}
	if (len_out)
		*len_out = len;
	return v;
}

static bool pg_null(struct store_stmt *st, int col)
{
	struct pg_cursor *k = (struct pg_cursor *)st;

	return !pg_on_row(k, col) || PQgetisnull(k->res, k->row, col);
}

static void pg_done(struct store_stmt *st)
{
	struct pg_cursor *k = (struct pg_cursor *)st;

	PQclear(k->res);
	PQfreemem(k->blob);
	free(k);
}

static int pg_begin(struct store_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;
	int rc = 0;

	if (c->in_tx)
		return careid_error_set(CAREID_EINVALID, "postgres: transactions do not nest");
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = pg_ready(c);
		if (rc == 0)
			rc = pg_simple(c, "BEGIN; " PG_WRITE_LOCK, PGRES_TUPLES_OK);
		if (rc == 0) {
			c->in_tx = true;
			return 0;
		}
		if (PQstatus(c->db) == CONNECTION_OK) {
			pg_simple(c, "ROLLBACK", PGRES_COMMAND_OK);
			break;
		}
	}
	return rc;
}

static int pg_commit(struct store_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;
	PGresult *res;
	int rc = 0;

	if (!c->in_tx)
		return careid_error_set(CAREID_EINVALID, "postgres: no transaction to commit");
	c->in_tx = false;
	res = PQexec(c->db, "COMMIT");
	/* COMMIT of a transaction that had failed answers ROLLBACK. */
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_fail(c, res, "COMMIT");
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = careid_error_set(CAREID_ESTORE, "postgres: the transaction was rolled back");
	PQclear(res);
	return rc;
}

static int pg_rollback(struct store_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;

	if (!c->in_tx)
		return 0;
	c->in_tx = false;
	/* A lost session has rolled back on its own. */
	if (PQstatus(c->db) != CONNECTION_OK)
		return 0;
	return pg_simple(c, "ROLLBACK", PGRES_COMMAND_OK);
}

static bool pg_ping(struct store_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;

	return pg_ready(c) == 0 && pg_simple(c, "SELECT 1", PGRES_TUPLES_OK) == 0;
}

static size_t pg_cached(struct store_conn *base)
{
	return ((struct pg_conn *)base)->cache.count;
}

const struct store_ops store_postgres_ops = {
    .dialect = "postgres",
    .setup = pg_setup,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .query = pg_query,
    .script = pg_script,
    .next = pg_next,
    .text = pg_text,
    .integer = pg_integer,
    .blob = pg_blob,
    .null = pg_null,
    .done = pg_done,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .ping = pg_ping,
    .cached = pg_cached,
};
