#include "broker/pg_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ccu_pg {
	PGconn *conn;
	char *conninfo;
	pthread_mutex_t lock;
};

/* The database name, for messages (the conninfo may carry a password). */
static const char *safe_target(PGconn *c)
{
	const char *db = c ? PQdb(c) : NULL;

	return db && *db ? db : "(database)";
}

static int pg_fail(struct ccu_pg *pg, struct ccu_reason *err, const char *what)
{
	const char *m = pg->conn ? PQerrorMessage(pg->conn) : "no connection";
	char line[256];

	snprintf(line, sizeof(line), "%s", m && *m ? m : "unknown error");
	line[strcspn(line, "\n")] = 0;
	return ccu_fail(err, -EIO, "STORE_IO", "PostgreSQL %s: %s: %s", safe_target(pg->conn),
			what, line);
}

static int connect_locked(struct ccu_pg *pg, struct ccu_reason *err)
{
	static const char *const keys[] = { "dbname", "connect_timeout", "options",
					    "application_name", NULL };
	static const char options[] = "-c statement_timeout=" CCU_PG_STATEMENT_TIMEOUT_MS
				      " -c client_min_messages=warning";
	const char *vals[] = { pg->conninfo, CCU_PG_CONNECT_TIMEOUT, options, "ccunlock-kbs", NULL };

	if (pg->conn)
		PQfinish(pg->conn);
	/* expand_dbname: the URI or keyword string given as dbname supplies
	 * every other setting; ours only fill what it leaves unset. */
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (!pg->conn)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	if (PQstatus(pg->conn) != CONNECTION_OK)
		return pg_fail(pg, err, "cannot connect");
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

static PGresult *exec_locked(struct ccu_pg *pg, const char *sql, int nparams,
			     const char *const *params, int blob_idx, const uint8_t *blob,
			     size_t blob_len, struct ccu_reason *err)
{
	const char *pv[CCU_PG_MAX_PARAMS] = { 0 };
	int plen[CCU_PG_MAX_PARAMS] = { 0 }, pfmt[CCU_PG_MAX_PARAMS] = { 0 };

	if (nparams < 0 || nparams > CCU_PG_MAX_PARAMS || blob_idx >= nparams) {
		ccu_fail(err, -EINVAL, "INTERNAL", "bad statement parameters");
		return NULL;
	}
	for (int i = 0; i < nparams; i++)
		pv[i] = params[i];
	if (blob && blob_idx >= 0) {
		pv[blob_idx] = (const char *)blob;
		plen[blob_idx] = (int)blob_len;
		pfmt[blob_idx] = 1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *res;
		ExecStatusType st;
		bool lost;

		if ((!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) &&
		    connect_locked(pg, err) < 0)
			return NULL;
		res = PQexecParams(pg->conn, sql, nparams, NULL, pv, plen, pfmt, 1);
		st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return res;
		lost = connection_lost(pg->conn, res);
		if (!lost || attempt == 1) {
			const char *m = res ? PQresultErrorMessage(res) : NULL;
			char line[256];

			snprintf(line, sizeof(line), "%s",
				 m && *m ? m : PQerrorMessage(pg->conn));
			line[strcspn(line, "\n")] = 0;
			PQclear(res);
			ccu_fail(err, -EIO, "STORE_IO", "PostgreSQL %s: statement failed: %s",
				 safe_target(pg->conn), line);
			return NULL;
		}
		PQclear(res);
		PQfinish(pg->conn);
		pg->conn = NULL;
	}
	return NULL;
}

PGresult *ccu_pg_exec(struct ccu_pg *pg, const char *sql, int nparams, const char *const *params,
		      int blob_idx, const uint8_t *blob, size_t blob_len, struct ccu_reason *err)
{
	PGresult *res;

	pthread_mutex_lock(&pg->lock);
	res = exec_locked(pg, sql, nparams, params, blob_idx, blob, blob_len, err);
	pthread_mutex_unlock(&pg->lock);
	return res;
}

int ccu_pg_exec_script(struct ccu_pg *pg, const char *lock_key, const char *sql,
		       struct ccu_reason *err)
{
	const char *p[1] = { lock_key };
	PGresult *res;
	int r = 0;

	pthread_mutex_lock(&pg->lock);
	/* Several replicas may start at once: the statements are idempotent,
	 * and the advisory lock keeps them from racing. */
	res = exec_locked(pg, "SELECT pg_advisory_lock($1::bigint)", 1, p, -1, NULL, 0, err);
	if (!res) {
		pthread_mutex_unlock(&pg->lock);
		return -EIO;
	}
	PQclear(res);
	res = PQexec(pg->conn, sql);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
		r = pg_fail(pg, err, "cannot create the schema");
	PQclear(res);
	PQclear(exec_locked(pg, "SELECT pg_advisory_unlock($1::bigint)", 1, p, -1, NULL, 0, NULL));
	pthread_mutex_unlock(&pg->lock);
	return r;
}

int ccu_pg_open(const char *conninfo, struct ccu_pg **ret, struct ccu_reason *err)
{
	struct ccu_pg *pg;
	int r;

	if (!conninfo || strlen(conninfo) > CCU_PG_MAX_CONNINFO)
		return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "store: connection string too long");
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	pthread_mutex_init(&pg->lock, NULL);
	pg->conninfo = strdup(conninfo);
	r = pg->conninfo ? connect_locked(pg, err) : ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	if (r < 0) {
		ccu_pg_close(pg);
		return r;
	}
	*ret = pg;
	return 0;
}

void ccu_pg_close(struct ccu_pg *pg)
{
	if (!pg)
		return;
	if (pg->conn)
		PQfinish(pg->conn);
	free(pg->conninfo);
	pthread_mutex_destroy(&pg->lock);
	free(pg);
}

int64_t ccu_pg_be64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | (uint8_t)p[i];
	return (int64_t)v;
}
