/*
 * PostgreSQL backend, for several broker replicas sharing one state. Same
 * rows as store_sqlite.c (sealed blobs; the database never sees a secret
 * or the master key). A write is acknowledged only after PostgreSQL
 * committed it (the server's synchronous_commit, on by default, makes that
 * durable); every operation is one statement, so it is atomic without an
 * explicit transaction.
 *
 * The connection is pg_link.c's; when the database cannot be reached an
 * operation fails with STORE_IO and the caller answers the request with an
 * error, never with a release.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/pg_link.h"
#include "broker/store_backend.h"
#include "common/macros.h"

#define PG_SCHEMA_VERSION "1"
/* Advisory lock key held while creating the schema. */
#define PG_SCHEMA_LOCK "4242001"

struct pg_backend {
	struct store_backend base;
	struct ccu_pg *pg;
};

static const char *const schema_sql =
	"CREATE TABLE IF NOT EXISTS ccu_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ccu_resources(name TEXT PRIMARY KEY, policy TEXT NOT NULL,"
	" blob BYTEA NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ccu_policies(name TEXT PRIMARY KEY, blob BYTEA NOT NULL,"
	" created BIGINT NOT NULL, updated BIGINT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ccu_used_ids(id TEXT PRIMARY KEY, expires BIGINT NOT NULL);"
	"INSERT INTO ccu_meta(key, value) VALUES('schema', '" PG_SCHEMA_VERSION "')"
	" ON CONFLICT (key) DO NOTHING;";

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
	if (ns == STORE_NS_RESOURCE)
		res = ccu_pg_exec(b->pg,
			       "INSERT INTO ccu_resources(name, policy, blob, created, updated) "
			       "VALUES($1, $2, $3, $4::bigint, $4::bigint) ON CONFLICT(name) DO "
			       "UPDATE SET policy = excluded.policy, blob = excluded.blob, "
			       "updated = excluded.updated",
			       4, rp, 2, row->blob, row->blob_len, err);
	else
		res = ccu_pg_exec(b->pg,
			       "INSERT INTO ccu_policies(name, blob, created, updated) "
			       "VALUES($1, $2, $3::bigint, $3::bigint) ON CONFLICT(name) DO "
			       "UPDATE SET blob = excluded.blob, updated = excluded.updated",
			       3, pp, 1, row->blob, row->blob_len, err);
	if (!res)
		return -EIO;
	PQclear(res);
	return 0;
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
	row->created = (time_t)ccu_pg_be64(PQgetvalue(res, i, 3));
	row->updated = (time_t)ccu_pg_be64(PQgetvalue(res, i, 4));
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
	res = ccu_pg_exec(b->pg, sql, 1, p, -1, NULL, 0, err);
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
	res = ccu_pg_exec(b->pg, sql, 1, p, -1, NULL, 0, err);
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
	res = ccu_pg_exec(b->pg, sql, 0, NULL, -1, NULL, 0, err);
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

	res = ccu_pg_exec(b->pg, "SELECT count(*)::bigint FROM ccu_resources WHERE policy = $1", 1,
			  p, -1, NULL, 0, err);
	if (!res)
		return -EIO;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8)
		r = ccu_fail(err, -EIO, "STORE_IO", "PostgreSQL: unexpected count");
	else
		r = (int)ccu_pg_be64(PQgetvalue(res, 0, 0));
	PQclear(res);
	return r;
}

static int pg_use_once(struct store_backend *base, const char *id, time_t expires, time_t now,
		       struct ccu_reason *err)
{
	struct pg_backend *b = (struct pg_backend *)base;
	char e[24], n[24];
	const char *p[2] = { n };
	PGresult *res;
	int r;

	snprintf(e, sizeof(e), "%" PRId64, (int64_t)expires);
	snprintf(n, sizeof(n), "%" PRId64, (int64_t)now);
	res = ccu_pg_exec(b->pg, "DELETE FROM ccu_used_ids WHERE expires < $1::bigint", 1, p, -1,
			  NULL, 0, err);
	if (!res)
		return -EIO;
	PQclear(res);
	/* The insert is the test: of two replicas racing with one id, exactly
	 * one gets its row (the primary key decides), whoever asks first. */
	p[0] = id;
	p[1] = e;
	res = ccu_pg_exec(b->pg,
			  "INSERT INTO ccu_used_ids(id, expires) VALUES($1, $2::bigint) "
			  "ON CONFLICT (id) DO NOTHING",
			  2, p, -1, NULL, 0, err);
	if (!res)
		return -EIO;
	r = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : -EALREADY;
	PQclear(res);
	return r;
}

static void pg_close(struct store_backend *base)
{
	struct pg_backend *b = (struct pg_backend *)base;

	if (!b)
		return;
	ccu_pg_close(b->pg);
	free(b);
}

static const struct store_backend_ops pg_ops = {
	.put = pg_put,
	.get = pg_get,
	.del = pg_del,
	.list = pg_list,
	.count_refs = pg_count_refs,
	.use_once = pg_use_once,
	.close = pg_close,
};

bool store_pg_is_conninfo(const char *spec)
{
	return spec && (strncmp(spec, "postgresql://", 13) == 0 ||
			strncmp(spec, "postgres://", 11) == 0 || strchr(spec, '=') != NULL);
}

static int check_schema(struct pg_backend *b, struct ccu_reason *err)
{
	PGresult *res = ccu_pg_exec(b->pg, "SELECT value FROM ccu_meta WHERE key = 'schema'", 0,
				    NULL, -1, NULL, 0, err);
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
	int r;

	if (!store_pg_is_conninfo(conninfo))
		return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
				"store: expected postgresql://... or libpq keyword=value pairs");
	b = calloc(1, sizeof(*b));
	if (!b)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	b->base.ops = &pg_ops;
	r = ccu_pg_open(conninfo, &b->pg, err);
	if (r >= 0)
		r = ccu_pg_exec_script(b->pg, PG_SCHEMA_LOCK, schema_sql, err);
	if (r >= 0)
		r = check_schema(b, err);
	if (r < 0) {
		pg_close(&b->base);
		return r;
	}
	*ret = &b->base;
	return 0;
}
