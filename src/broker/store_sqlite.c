/*
 * SQLite backend. WAL journal with synchronous=FULL: a write is durable
 * once the call returns, so a kill -9 (or power loss) never loses an
 * acknowledged change and never leaves half of one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "broker/store_backend.h"
#include "common/macros.h"

#define SCHEMA_VERSION "1"
#define BUSY_TIMEOUT_MS 5000

struct sqlite_backend {
	struct store_backend base;
	sqlite3 *db;
	pthread_mutex_t lock;
	/* The lookups every boot makes (resource, then its policy), prepared
	 * once: compiling the SQL was a visible share of a boot's CPU. */
	sqlite3_stmt *get_st[2];
};

static const char *const schema_sql =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS resources(name TEXT PRIMARY KEY, policy TEXT NOT NULL,"
	" blob BLOB NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS policies(name TEXT PRIMARY KEY, blob BLOB NOT NULL,"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS used_ids(id TEXT PRIMARY KEY, expires INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '" SCHEMA_VERSION "');";

static const char *table(enum store_ns ns)
{
	return ns == STORE_NS_RESOURCE ? "resources" : "policies";
}

static int db_error(struct sqlite_backend *b, struct ccu_reason *err, const char *what)
{
	int code = sqlite3_errcode(b->db);

	return ccu_fail(err, code == SQLITE_FULL ? -ENOSPC : -EIO, "STORE_IO", "%s: %s", what,
			sqlite3_errmsg(b->db));
}

void store_row_done(struct store_row *row)
{
	free(row->name);
	free(row->ref);
	free(row->blob);
	memset(row, 0, sizeof(*row));
}

static int sq_put(struct store_backend *base, enum store_ns ns, const struct store_row *row,
		  struct ccu_reason *err)
{
	struct sqlite_backend *b = (struct sqlite_backend *)base;
	char sql[256];
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (ns == STORE_NS_RESOURCE)
		snprintf(sql, sizeof(sql),
			 "INSERT INTO resources(name, policy, blob, created, updated) "
			 "VALUES(?1, ?2, ?3, ?4, ?4) ON CONFLICT(name) DO UPDATE SET "
			 "policy = excluded.policy, blob = excluded.blob, updated = excluded.updated");
	else
		snprintf(sql, sizeof(sql),
			 "INSERT INTO policies(name, blob, created, updated) "
			 "VALUES(?1, ?3, ?4, ?4) ON CONFLICT(name) DO UPDATE SET "
			 "blob = excluded.blob, updated = excluded.updated");
	pthread_mutex_lock(&b->lock);
	if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = db_error(b, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, row->name, -1, SQLITE_STATIC);
	if (ns == STORE_NS_RESOURCE)
		sqlite3_bind_text(st, 2, row->ref, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, row->blob, (int)row->blob_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)row->updated);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_error(b, err, "write");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&b->lock);
	return r;
}

static int fill_row(sqlite3_stmt *st, enum store_ns ns, struct store_row *row)
{
	const void *blob = sqlite3_column_blob(st, 2);
	int n = sqlite3_column_bytes(st, 2);
	const unsigned char *name = sqlite3_column_text(st, 0);
	const unsigned char *ref = sqlite3_column_text(st, 1);

	memset(row, 0, sizeof(*row));
	row->name = strdup(name ? (const char *)name : "");
	if (ns == STORE_NS_RESOURCE)
		row->ref = strdup(ref ? (const char *)ref : "");
	row->blob = malloc(n > 0 ? (size_t)n : 1);
	if (!row->name || (ns == STORE_NS_RESOURCE && !row->ref) || !row->blob) {
		store_row_done(row);
		return -ENOMEM;
	}
	if (n > 0)
		memcpy(row->blob, blob, (size_t)n);
	row->blob_len = n > 0 ? (size_t)n : 0;
	row->created = (time_t)sqlite3_column_int64(st, 3);
	row->updated = (time_t)sqlite3_column_int64(st, 4);
	return 0;
}

static void select_sql(char *sql, size_t len, enum store_ns ns, const char *tail)
{
	snprintf(sql, len, "SELECT name, %s, blob, created, updated FROM %s %s",
		 ns == STORE_NS_RESOURCE ? "policy" : "NULL", table(ns), tail);
}

static int sq_get(struct store_backend *base, enum store_ns ns, const char *name,
		  struct store_row *row, struct ccu_reason *err)
{
	struct sqlite_backend *b = (struct sqlite_backend *)base;
	char sql[160];
	sqlite3_stmt *st = NULL;
	int r, rc;

	select_sql(sql, sizeof(sql), ns, "WHERE name = ?1");
	pthread_mutex_lock(&b->lock);
	st = b->get_st[ns];
	if (!st && sqlite3_prepare_v3(b->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
			   SQLITE_OK) {
		st = NULL;
		r = db_error(b, err, "prepare");
		goto out;
	}
	b->get_st[ns] = st;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = fill_row(st, ns, row);
	else if (rc == SQLITE_DONE)
		r = -ENOENT;
	else
		r = db_error(b, err, "read");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
out:
	pthread_mutex_unlock(&b->lock);
	return r;
}

static int sq_del(struct store_backend *base, enum store_ns ns, const char *name,
		  struct ccu_reason *err)
{
	struct sqlite_backend *b = (struct sqlite_backend *)base;
	char sql[96];
	sqlite3_stmt *st = NULL;
	int r = 0;

	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE name = ?1", table(ns));
	pthread_mutex_lock(&b->lock);
	if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = db_error(b, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_error(b, err, "delete");
	else if (sqlite3_changes(b->db) == 0)
		r = -ENOENT;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&b->lock);
	return r;
}

static int sq_list(struct store_backend *base, enum store_ns ns,
		   int (*fn)(const struct store_row *row, void *ud), void *ud,
		   struct ccu_reason *err)
{
	struct sqlite_backend *b = (struct sqlite_backend *)base;
	char sql[160];
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	select_sql(sql, sizeof(sql), ns, "ORDER BY name");
	pthread_mutex_lock(&b->lock);
	if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = db_error(b, err, "prepare");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_row row;

		r = fill_row(st, ns, &row);
		if (r < 0)
			break;
		r = fn(&row, ud);
		store_row_done(&row);
		if (r < 0)
			break;
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = db_error(b, err, "list");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&b->lock);
	return r;
}

static int sq_count_refs(struct store_backend *base, const char *name, struct ccu_reason *err)
{
	struct sqlite_backend *b = (struct sqlite_backend *)base;
	sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&b->lock);
	if (sqlite3_prepare_v2(b->db, "SELECT count(*) FROM resources WHERE policy = ?1", -1, &st,
			       NULL) != SQLITE_OK) {
		r = db_error(b, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		r = sqlite3_column_int(st, 0);
	else
		r = db_error(b, err, "count");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&b->lock);
	return r;
}

static int sq_use_once(struct store_backend *base, const char *id, time_t expires, time_t now,
		       struct ccu_reason *err)
{
	struct sqlite_backend *b = (struct sqlite_backend *)base;
	sqlite3_stmt *st = NULL;
	int r = 0;

	pthread_mutex_lock(&b->lock);
	if (sqlite3_prepare_v2(b->db, "DELETE FROM used_ids WHERE expires < ?1", -1, &st, NULL) !=
	    SQLITE_OK) {
		r = db_error(b, err, "prepare");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_error(b, err, "purge");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(b->db,
			       "INSERT INTO used_ids(id, expires) VALUES(?1, ?2) "
			       "ON CONFLICT(id) DO NOTHING",
			       -1, &st, NULL) != SQLITE_OK) {
		r = db_error(b, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)expires);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_error(b, err, "write");
	else if (sqlite3_changes(b->db) != 1)
		r = -EALREADY;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&b->lock);
	return r;
}

static void sq_close(struct store_backend *base)
{
	struct sqlite_backend *b = (struct sqlite_backend *)base;

	if (!b)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(b->get_st); i++)
		sqlite3_finalize(b->get_st[i]);
	sqlite3_close(b->db);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static const struct store_backend_ops sqlite_ops = {
	.put = sq_put,
	.get = sq_get,
	.del = sq_del,
	.list = sq_list,
	.count_refs = sq_count_refs,
	.use_once = sq_use_once,
	.close = sq_close,
};

static int check_schema(struct sqlite_backend *b, struct ccu_reason *err)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(b->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &st,
			       NULL) != SQLITE_OK)
		return db_error(b, err, "schema");
	if (sqlite3_step(st) != SQLITE_ROW)
		r = ccu_fail(err, -EPROTO, "STORE_SCHEMA", "database has no schema version");
	else if (strcmp((const char *)sqlite3_column_text(st, 0), SCHEMA_VERSION) != 0)
		r = ccu_fail(err, -EPROTO, "STORE_SCHEMA", "database schema '%s', expected '%s'",
			     (const char *)sqlite3_column_text(st, 0), SCHEMA_VERSION);
	sqlite3_finalize(st);
	return r;
}

int store_sqlite_open(const char *path, struct store_backend **ret, struct ccu_reason *err)
{
	struct sqlite_backend *b = calloc(1, sizeof(*b));
	char *msg = NULL;
	int r;

	if (!b)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	b->base.ops = &sqlite_ops;
	pthread_mutex_init(&b->lock, NULL);
	if (sqlite3_open_v2(path, &b->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		r = ccu_fail(err, -EIO, "STORE_IO", "cannot open '%s': %s", path,
			     b->db ? sqlite3_errmsg(b->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(b->db, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(b->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		r = ccu_fail(err, -EIO, "STORE_IO", "cannot initialise '%s': %s", path,
			     msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	r = check_schema(b, err);
	if (r < 0)
		goto fail;
	*ret = &b->base;
	return 0;
fail:
	sq_close(&b->base);
	return r;
}
