/*
 * The backend-independent half of the store: URL parsing, one connection per
 * thread, migrations, and forwarding to the backend's table of functions.
 */
#include "store/store_int.h"

#include "core/clock.h"
#include "core/embed.h"
#include "core/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct store {
	const struct store_ops *ops;
	char *target;
	pthread_key_t key; /* this thread's struct store_conn */
	pthread_mutex_t lock;
	struct store_conn *conns; /* every open connection, under `lock` */
	size_t nconns;
};

/* Accepted URLs: "sqlite:PATH", "sqlite://PATH" (so "sqlite:///abs/path"
 * works too) or a bare PATH; "postgres://…" or "postgresql://…" (libpq's
 * connection URI, given to libpq whole). */
static int store_parse_url(const char *url, const struct store_ops **ops_out,
                           const char **target_out)
{
	const char *target = url, *sep;

	if (!url || !*url)
		return careid_error_set(CAREID_EINVALID, "store: empty URL");
	if (strncmp(url, "sqlite:", 7) == 0) {
		target = url + 7;
		if (strncmp(target, "//", 2) == 0)
			target += 2;
	} else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
		*ops_out = &store_postgres_ops;
		*target_out = url;
		return 0;
	} else if ((sep = strstr(url, "://"))) {
		/* Only the scheme: the rest may hold a password. */
		return careid_error_set(CAREID_EINVALID, "store: unknown URL scheme '%.*s'",
		                        sep - url > 32 ? 32 : (int)(sep - url), url);
	}
	if (!*target)
		return careid_error_set(CAREID_EINVALID, "store: no database path in '%.64s'", url);
	/* Each thread has its own connection, and so would have its own empty
	 * in-memory database; URI names ("file:...") may name one too, and are
	 * not enabled anyway. */
	if (strcmp(target, ":memory:") == 0 || strncmp(target, "file:", 5) == 0)
		return careid_error_set(CAREID_EINVALID, "store: '%.64s' is not a file path",
		                        target);
	*ops_out = &store_sqlite_ops;
	*target_out = target;
	return 0;
}

static void store_link(store *s, struct store_conn *c)
{
	c->store = s;
	pthread_mutex_lock(&s->lock);
	c->prev = NULL;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	pthread_mutex_unlock(&s->lock);
}

static void store_unlink(store *s, struct store_conn *c)
{
	pthread_mutex_lock(&s->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	s->nconns--;
	pthread_mutex_unlock(&s->lock);
}

/* The pthread key's destructor: a thread that used the store exits. */
static void store_thread_exit(void *p)
{
	struct store_conn *c = p;
	store *s = c->store;

	store_unlink(s, c);
	s->ops->close(c);
}

/* This thread's connection, opened on first use. */
static int store_conn_get(store *s, struct store_conn **out)
{
	struct store_conn *c = pthread_getspecific(s->key);
	int rc;

	if (c) {
		*out = c;
		return 0;
	}
	rc = s->ops->open(&c, s->target);
	if (rc < 0)
		return rc;
	store_link(s, c);
	if (pthread_setspecific(s->key, c) != 0) {
		store_unlink(s, c);
		s->ops->close(c);
		return careid_error_set(CAREID_ENOMEM, "store: pthread_setspecific failed");
	}
	*out = c;
	return 0;
}

int store_open(store **out, const char *url)
{
	const struct store_ops *ops = NULL;
	const char *target = NULL;
	struct store_conn *c = NULL;
	store *s;
	int rc;

	*out = NULL;
	rc = store_parse_url(url, &ops, &target);
	if (rc < 0)
		return rc;
	if (ops->setup && (rc = ops->setup(target)) < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return careid_error_set(CAREID_ENOMEM, "store: out of memory");
	s->ops = ops;
	s->target = strdup(target);
	if (!s->target) {
		free(s);
		return careid_error_set(CAREID_ENOMEM, "store: out of memory");
	}
	if (pthread_key_create(&s->key, store_thread_exit) != 0) {
		free(s->target);
		free(s);
		return careid_error_set(CAREID_ENOMEM, "store: no pthread key left");
	}
	pthread_mutex_init(&s->lock, NULL);
	/* Open this thread's connection now, so a bad path or a locked file is
	 * reported at start rather than on the first request. */
	rc = store_conn_get(s, &c);
	if (rc < 0) {
		store_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void store_free(store *s)
{
	struct store_conn *c, *next;

	if (!s)
		return;
	/* Deleting the key first means threads exiting later run no destructor
	 * for it; the connections they left behind are closed here. A thread
	 * exiting *during* store_free() would race on the lock: callers join or
	 * park their workers first ("no thread may use the store after"). */
	pthread_key_delete(s->key);
	pthread_mutex_lock(&s->lock);
	c = s->conns;
	s->conns = NULL;
	s->nconns = 0;
	pthread_mutex_unlock(&s->lock);
	for (; c; c = next) {
		next = c->next;
		s->ops->close(c);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->target);
	free(s);
}

size_t store_conn_count(store *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->nconns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t store_cached_statements(store *s)
{
	struct store_conn *c = pthread_getspecific(s->key);

	return c ? s->ops->cached(c) : 0;
}

bool store_ping(store *s)
{
	struct store_conn *c = NULL;

	if (!s || store_conn_get(s, &c) < 0)
		return false;
	return s->ops->ping(c);
}

int store_exec(store *s, const char *sql, const char *types, ...)
{
	struct store_conn *c = NULL;
	va_list ap;
	int rc;

	if (!s || !sql)
		return careid_error_set(CAREID_EINVALID, "store_exec: no store or SQL");
	rc = store_conn_get(s, &c);
	if (rc < 0)
		return rc;
	va_start(ap, types);
	rc = s->ops->exec(c, sql, types ? types : "", ap);
	va_end(ap);
	return rc;
}

int store_query(store *s, store_stmt **out, const char *sql, const char *types, ...)
{
	struct store_conn *c = NULL;
	va_list ap;
	int rc;

	*out = NULL;
	if (!s || !sql)
		return careid_error_set(CAREID_EINVALID, "store_query: no store or SQL");
	rc = store_conn_get(s, &c);
	if (rc < 0)
		return rc;
	va_start(ap, types);
	rc = s->ops->query(c, out, sql, types ? types : "", ap);
	va_end(ap);
	return rc;
}

int store_next(store_stmt *st)
{
	if (!st)
		return careid_error_set(CAREID_EINVALID, "store_next: no cursor");
	return st->ops->next(st);
}

const char *store_text(store_stmt *st, int col)
{
	return st ? st->ops->text(st, col) : NULL;
}

int64_t store_int(store_stmt *st, int col)
{
	return st ? st->ops->integer(st, col) : 0;
}

const void *store_blob(store_stmt *st, int col, size_t *len_out)
{
	if (!st) {
		if (len_out)
			*len_out = 0;
		return NULL;
	}
	return st->ops->blob(st, col, len_out);
}

bool store_null(store_stmt *st, int col)
{
	return st ? st->ops->null(st, col) : true;
}

void store_done(store_stmt *st)
{
	if (st)
		st->ops->done(st);
}

int store_begin(store *s)
{
	struct store_conn *c = NULL;
	int rc = store_conn_get(s, &c);

	return rc < 0 ? rc : s->ops->begin(c);
}

int store_commit(store *s)
{
	struct store_conn *c = NULL;
	int rc = store_conn_get(s, &c);

	return rc < 0 ? rc : s->ops->commit(c);
}

int store_rollback(store *s)
{
	struct store_conn *c = NULL;
	int rc = store_conn_get(s, &c);

	return rc < 0 ? rc : s->ops->rollback(c);
}

/*
 * Migrations: embedded files "migrations/<dialect>/NNN_name.sql", applied in
 * order of NNN and recorded in schema_migrations with `name`. Each runs inside
 * a transaction opened here, so a file must not hold BEGIN or COMMIT itself.
 */

struct store_migration {
	int64_t version;
	char name[96];
	const char *sql;
};

static int store_migration_parse(const struct embedded_file *f, size_t prefix_len,
                                 struct store_migration *m)
{
	const char *p = f->name + prefix_len, *name, *end;
	size_t len = strlen(p), digits = 0;

	m->version = 0;
	while (p[digits] >= '0' && p[digits] <= '9' && digits < 9) {
		m->version = m->version * 10 + (p[digits] - '0');
		digits++;
	}
	if (digits == 0 || m->version == 0 || p[digits] != '_' || memchr(p, '/', len) ||
	    len < digits + 6 || strcmp(p + len - 4, ".sql") != 0)
		goto bad;
	name = p + digits + 1;
	end = p + len - 4;
	if (end <= name || (size_t)(end - name) >= sizeof(m->name))
		goto bad;
	snprintf(m->name, sizeof(m->name), "%.*s", (int)(end - name), name);
	m->sql = f->data;
	return 0;
bad:
	return careid_error_set(CAREID_EINVALID, "store: bad migration file name '%s'", f->name);
}

/* 1 when `version` is recorded, 0 when not, or a negative code. */
static int store_migration_applied(store *s, int64_t version)
{
	store_stmt *st = NULL;
	int rc;

	rc =
	    store_query(s, &st, "SELECT 1 FROM schema_migrations WHERE version = $1", "i", version);
	if (rc == 0)
		rc = store_next(st);
	store_done(st);
	return rc;
}

/* Applies one migration: 1 when this call applied it, 0 when another
 * connection had (it won the write lock first), or a negative code. */
static int store_migration_apply(store *s, const struct store_migration *m)
{
	struct store_conn *c = NULL;
	int rc;

	rc = store_conn_get(s, &c);
	if (rc < 0)
		return rc;
	rc = store_begin(s);
	if (rc < 0)
		return rc;
	/* Checked again under the write lock: another process migrating at the
	 * same time may have applied it since the first look. */
	rc = store_migration_applied(s, m->version);
	if (rc != 0)
		goto out;
	rc = s->ops->script(c, m->sql);
	if (rc < 0)
		goto out;
	rc = store_exec(s,
	                "INSERT INTO schema_migrations (version, name, applied_at) "
	                "VALUES ($1, $2, $3)",
	                "iti", m->version, m->name, clock_now());
	if (rc < 0)
		goto out;
	rc = store_commit(s);
	if (rc == 0)
		return 1;
out:
	store_rollback(s);
	return rc < 0 ? rc : 0;
}

int store_migrate(store *s, int *applied_out)
{
	char prefix[64];
	size_t prefix_len;
	int64_t last = 0;
	int applied = 0, rc;

	if (applied_out)
		*applied_out = 0;
	if (!s)
		return careid_error_set(CAREID_EINVALID, "store_migrate: no store");
	prefix_len = (size_t)snprintf(prefix, sizeof(prefix), "migrations/%s/", s->ops->dialect);
	rc = store_exec(s,
	                "CREATE TABLE IF NOT EXISTS schema_migrations ("
	                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
	                "applied_at BIGINT NOT NULL)",
	                "");
	if (rc < 0)
		return rc;
	for (const struct embedded_file *f = embedded_files; f->name; f++) {
		struct store_migration m;

		if (strncmp(f->name, prefix, prefix_len) != 0)
			continue;
		rc = store_migration_parse(f, prefix_len, &m);
		if (rc < 0)
			return rc;
		/* embedded_files is sorted by name, and names are zero-padded. */
		if (m.version <= last)
			return careid_error_set(CAREID_EINVALID,
			                        "store: migration '%s' repeats or is out of order",
			                        f->name);
		last = m.version;
		rc = store_migration_applied(s, m.version);
		if (rc == 0)
			rc = store_migration_apply(s, &m);
		else if (rc == 1)
			rc = 0;
		if (rc < 0)
			return rc;
		applied += rc;
		if (applied_out)
			*applied_out = applied;
	}
	return 0;
}
