/*
 * PostgreSQL backend, for several broker replicas sharing one state. Same
 * rows as store_sqlite.c (sealed blobs; the database never sees a secret
 * or the master key). A write is acknowledged only after PostgreSQL
 * committed it (the server's synchronous_commit, on by default, makes that
 * durable); every operation is one statement, so it is atomic without an
 * explicit transaction.
 *
 * One connection per broker process, serialised by a mutex. A connection
 * that broke (database restarted, network cut) is re-established once per
 * operation; when that fails the operation fails with STORE_IO and the
 * caller answers the request with an error, never with a release.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "broker/store_backend.h"
#include "common/macros.h"

#define PG_SCHEMA_VERSION "1"
/* Upper bound on the time to (re)connect, in seconds (libpq connect_timeout). */
#define PG_CONNECT_TIMEOUT "5"
/* Upper bound on one statement, in milliseconds (server statement_timeout). */
#define PG_STATEMENT_TIMEOUT_MS "10000"
#define PG_MAX_CONNINFO 4096
/* Advisory lock key held while creating the schema. */
#define PG_SCHEMA_LOCK "4242001"

struct pg_backend {
	struct store_backend base;
	PGconn *conn;
	char *conninfo;
	pthread_mutex_t lock;
};

static const char *const schema_sql =
	"CREATE TABLE IF NOT EXISTS ccu_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ccu_resources(name TEXT PRIMARY KEY, policy TEXT NOT NULL,"
	" blob BYTEA NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ccu_policies(name TEXT PRIMARY KEY, blob BYTEA NOT NULL,"
	" created BIGINT NOT NULL, updated BIGINT NOT NULL);"
	"INSERT INTO ccu_meta(key, value) VALUES('schema', '" PG_SCHEMA_VERSION "')"
	" ON CONFLICT (key) DO NOTHING;";

/* The connection string without a password, for messages. */
static const char *safe_target(PGconn *c)
{
	const char *db = c ? PQdb(c) : NULL;

	return db && *db ? db : "(database)";
}

static int pg_fail(struct pg_backend *b, struct ccu_reason *err, const char *what)
{
	const char *m = b->conn ? PQerrorMessage(b->conn) : "no connection";
	char line[256];
	size_t n;

	snprintf(line, sizeof(line), "%s", m && *m ? m : "unknown error");
	n = strcspn(line, "\n");
	line[n] = 0;
	return ccu_fail(err, -EIO, "STORE_IO", "PostgreSQL %s: %s: %s", safe_target(b->conn), what,
			line);
}

static int connect_locked(struct pg_backend *b, struct ccu_reason *err)
{
	static const char *const keys[] = { "dbname", "connect_timeout", "options",
					    "application_name", NULL };
	const char *vals[] = { b->conninfo, PG_CONNECT_TIMEOUT,
			       "-c statement_timeout=" PG_STATEMENT_TIMEOUT_MS " -c client_min_messages=warning", "ccunlock-kbs", NULL };

	if (b->conn)
		PQfinish(b->conn);
	/* expand_dbname: the URI or keyword string given as dbname supplies
	 * every other setting; ours only fill what it leaves unset. */
	b->conn = PQconnectdbParams(keys, vals, 1);
	if (!b->conn)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	if (PQstatus(b->conn) != CONNECTION_OK)
		return pg_fail(b, err, "cannot connect");
	return 0;
}

/* Whether a failed statement failed for want of a working connection: libpq
 * says so, or the error is libpq's own (no SQLSTATE from a server), or the
 * server's is connection exception (08) / operator intervention (57P). */
static bool connection_lost(PGconn *c, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return PQstatus(c) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	       strncmp(state, "57P", 3) == 0;
}

/* Run @sql with text parameters (@blob, when not NULL, is parameter
 * @blob_idx + 1, in binary); retried once on a fresh connection when the
 * connection broke. */
static PGresult *exec_idx(struct pg_backend *b, const char *sql, int nparams,
			  const char *const *params, int blob_idx, const uint8_t *blob,
			  size_t blob_len, struct ccu_reason *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *pv[5] = { 0 };
		int plen[5] = { 0 }, pfmt[5] = { 0 };
		PGresult *res;
		ExecStatusType st;
		bool lost;

		if ((!b->conn || PQstatus(b->conn) != CONNECTION_OK) && connect_locked(b, err) < 0)
			return NULL;
		for (int i = 0; i < nparams && i < 5; i++)
			pv[i] = params[i];
		if (blob && blob_idx >= 0 && blob_idx < 5) {
			pv[blob_idx] = (const char *)blob;
			plen[blob_idx] = (int)blob_len;
			pfmt[blob_idx] = 1;
		}
		/* Results in binary: blob columns come back as raw bytes, the
		 * integers as 8-byte big-endian. */
		res = PQexecParams(b->conn, sql, nparams, NULL, pv, plen, pfmt, 1);
		st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return res;
		lost = connection_lost(b->conn, res);
		PQclear(res);
		if (!lost || attempt == 1) {
			pg_fail(b, err, "statement failed");
			return NULL;
		}
		/* A statement whose connection broke is retried once on a new
		 * one: every statement here is idempotent (upserts, reads,
		 * deletes by name). */
		PQfinish(b->conn);
		b->conn = NULL;
	}
	return NULL;
}

static PGresult *exec_locked(struct pg_backend *b, const char *sql, int nparams,
			     const char *const *params, struct ccu_reason *err)
{
	return exec_idx(b, sql, nparams, params, -1, NULL, 0, err);
}

static const char *table(enum store_ns ns)
{
	return ns == STORE_NS_RESOURCE ? "ccu_resources" : "ccu_policies";
}

static int pg_put(struct store_backend *base, enum store_ns ns, const struct store_row *row,
		  struct ccu_reason *err)
{
	struct pg_backend *b = (struct pg_backend *)base;
	char t[24];
	const char *rp[4] = { row->name, row->ref ? row->ref : "", NULL, t };
	const char *pp[3] = { row->name, NULL, t };
	PGresult *res;

	snprintf(t, sizeof(t), "%" PRId64, (int64_t)row->updated);
	pthread_mutex_lock(&b->lock);
	if (ns == STORE_NS_RESOURCE)
		res = exec_idx(b,
			       "INSERT INTO ccu_resources(name, policy, blob, created, updated) "
			       "VALUES($1, $2, $3, $4::bigint, $4::bigint) ON CONFLICT(name) DO "
			       "UPDATE SET policy = excluded.policy, blob = excluded.blob, "
			       "updated = excluded.updated",
			       4, rp, 2, row->blob, row->blob_len, err);
	else
		res = exec_idx(b,
			       "INSERT INTO ccu_policies(name, blob, created, updated) "
			       "VALUES($1, $2, $3::bigint, $3::bigint) ON CONFLICT(name) DO "
			       "UPDATE SET blob = excluded.blob, updated = excluded.updated",
			       3, pp, 1, row->blob, row->blob_len, err);
	pthread_mutex_unlock(&b->lock);
	if (!res)
		return -EIO;
	PQclear(res);
	return 0;
}

static int64_t be64_at(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | (uint8_t)p[i];
	return (int64_t)v;
}

static int fill_row(PGresult *res, int i, enum store_ns ns, struct store_row *row)
{
	int n = PQgetlength(res, i, 2);

	memset(row, 0, sizeof(*row));
	if (PQgetlength(res, i, 3) != 8 || PQgetlength(res, i, 4) != 8 || n < 0)
		return -EPROTO;
	row->name = strndup(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
	if (ns == STORE_NS_RESOURCE)
		row->ref = strndup(PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
	row->blob = malloc(n > 0 ? (size_t)n : 1);
	if (!row->name || (ns == STORE_NS_RESOURCE && !row->ref) || !row->blob) {
		store_row_done(row);
		return -ENOMEM;
	}
	memcpy(row->blob, PQgetvalue(res, i, 2), (size_t)n);
	row->blob_len = (size_t)n;
	row->created = (time_t)be64_at(PQgetvalue(res, i, 3));
	row->updated = (time_t)be64_at(PQgetvalue(res, i, 4));
	return 0;
}

static void select_sql(char *sql, size_t len, enum store_ns ns, const char *tail)
{
	snprintf(sql, len, "SELECT name, %s, blob, created, updated FROM %s %s",
		 ns == STORE_NS_RESOURCE ? "policy" : "''::text", table(ns), tail);
}

static int pg_get(struct store_backend *base, enum store_ns ns, const char *name,
		  struct store_row *row, struct ccu_reason *err)
{
	struct pg_backend *b = (struct pg_backend *)base;
	const char *p[1] = { name };
	char sql[160];
	PGresult *res;
	int r;

	select_sql(sql, sizeof(sql), ns, "WHERE name = $1");
	pthread_mutex_lock(&b->lock);
	res = exec_locked(b, sql, 1, p, err);
	pthread_mutex_unlock(&b->lock);
	if (!res)
		return -EIO;
	if (PQntuples(res) == 0)
		r = -ENOENT;
	else
		r = fill_row(res, 0, ns, row);
	PQclear(res);
	if (r == -EPROTO)
		r = ccu_fail(err, -EIO, "STORE_IO", "PostgreSQL: unexpected row layout");
	return r;
}

static int pg_del(struct store_backend *base, enum store_ns ns, const char *name,
		  struct ccu_reason *err)
{
	struct pg_backend *b = (struct pg_backend *)base;
	const char *p[1] = { name };
	char sql[96];
	PGresult *res;
	int r;

	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE name = $1", table(ns));
	pthread_mutex_lock(&b->lock);
	res = exec_locked(b, sql, 1, p, err);
	pthread_mutex_unlock(&b->lock);
	if (!res)
		return -EIO;
	r = strcmp(PQcmdTuples(res), "0") == 0 ? -ENOENT : 0;
	PQclear(res);
	return r;
}

static int pg_list(struct store_backend *base, enum store_ns ns,
		   int (*fn)(const struct store_row *row, void *ud), void *ud,
		   struct ccu_reason *err)
{
	struct pg_backend *b = (struct pg_backend *)base;
	char sql[160];
	PGresult *res;
	int r = 0;

	/* COLLATE "C": byte order, as SQLite's default, whatever the database's. */
	select_sql(sql, sizeof(sql), ns, "ORDER BY name COLLATE \"C\"");
	pthread_mutex_lock(&b->lock);
	res = exec_locked(b, sql, 0, NULL, err);
	pthread_mutex_unlock(&b->lock);
	if (!res)
		return -EIO;
	for (int i = 0; r >= 0 && i < PQntuples(res); i++) {
		struct store_row row;

		r = fill_row(res, i, ns, &row);
		if (r < 0)
			break;
		r = fn(&row, ud);
		store_row_done(&row);
	}
	PQclear(res);
	if (r == -EPROTO)
		r = ccu_fail(err, -EIO, "STORE_IO", "PostgreSQL: unexpected row layout");
	return r;
}

static int pg_count_refs(struct store_backend *base, const char *name, struct ccu_reason *err)
{
	struct pg_backend *b = (struct pg_backend *)base;
	const char *p[1] = { name };
	PGresult *res;
	int r;

	pthread_mutex_lock(&b->lock);
	res = exec_locked(b, "SELECT count(*)::bigint FROM ccu_resources WHERE policy = $1", 1, p,
			  err);
	pthread_mutex_unlock(&b->lock);
	if (!res)
		return -EIO;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8)
		r = ccu_fail(err, -EIO, "STORE_IO", "PostgreSQL: unexpected count");
	else
		r = (int)be64_at(PQgetvalue(res, 0, 0));
	PQclear(res);
	return r;
}

static void pg_close(struct store_backend *base)
{
	struct pg_backend *b = (struct pg_backend *)base;

	if (!b)
		return;
	if (b->conn)
		PQfinish(b->conn);
	free(b->conninfo);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static const struct store_backend_ops pg_ops = {
	.put = pg_put,
	.get = pg_get,
	.del = pg_del,
	.list = pg_list,
	.count_refs = pg_count_refs,
	.close = pg_close,
};

bool store_pg_is_conninfo(const char *spec)
{
	return spec && (strncmp(spec, "postgresql://", 13) == 0 ||
			strncmp(spec, "postgres://", 11) == 0 || strchr(spec, '=') != NULL);
}

static int check_schema(struct pg_backend *b, struct ccu_reason *err)
{
	PGresult *res = exec_locked(b, "SELECT value FROM ccu_meta WHERE key = 'schema'", 0, NULL,
				    err);
	int r = 0;

	if (!res)
		return -EIO;
	if (PQntuples(res) != 1)
		r = ccu_fail(err, -EPROTO, "STORE_SCHEMA", "database has no schema version");
	else if ((size_t)PQgetlength(res, 0, 0) != strlen(PG_SCHEMA_VERSION) ||
		 memcmp(PQgetvalue(res, 0, 0), PG_SCHEMA_VERSION, strlen(PG_SCHEMA_VERSION)) != 0)
		r = ccu_fail(err, -EPROTO, "STORE_SCHEMA", "database schema '%.16s', expected '%s'",
			     PQgetvalue(res, 0, 0), PG_SCHEMA_VERSION);
	PQclear(res);
	return r;
}

int store_pg_open(const char *conninfo, struct store_backend **ret, struct ccu_reason *err)
{
	struct pg_backend *b;
	PGresult *res;
	int r;

	if (!store_pg_is_conninfo(conninfo) || strlen(conninfo) > PG_MAX_CONNINFO)
		return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
				"store: expected postgresql://... or libpq keyword=value pairs");
	b = calloc(1, sizeof(*b));
	if (!b)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	b->base.ops = &pg_ops;
	pthread_mutex_init(&b->lock, NULL);
	b->conninfo = strdup(conninfo);
	if (!b->conninfo) {
		r = ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		goto fail;
	}
	r = connect_locked(b, err);
	if (r < 0)
		goto fail;
	/* Several replicas may start at once: the schema statements are
	 * idempotent, and an advisory lock keeps them from racing. */
	res = exec_locked(b, "SELECT pg_advisory_lock(" PG_SCHEMA_LOCK ")", 0, NULL, err);
	if (!res) {
		r = -EIO;
		goto fail;
	}
	PQclear(res);
	res = PQexec(b->conn, schema_sql);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
		r = pg_fail(b, err, "cannot create the schema");
	PQclear(res);
	PQclear(PQexec(b->conn, "SELECT pg_advisory_unlock(" PG_SCHEMA_LOCK ")"));
	if (r >= 0)
		r = check_schema(b, err);
	if (r < 0)
		goto fail;
	*ret = &b->base;
	return 0;
fail:
	pg_close(&b->base);
	return r;
}
