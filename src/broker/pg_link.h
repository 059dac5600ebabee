/*
 * One libpq connection shared by a broker process's threads (a mutex
 * serialises the statements), for the PostgreSQL store (store_pg.c) and the
 * shared RCAR sessions (session_pg.c). A connection that broke (database
 * restarted, network cut) is replaced and the statement retried once; every
 * statement the broker sends is idempotent or a single atomic
 * compare-and-set, so a retry cannot apply a change twice. Failures are
 * STORE_IO with PostgreSQL's first message line (never the conninfo, which
 * may hold a password).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common/reason.h"

/* Upper bound on the time to (re)connect, in seconds (libpq connect_timeout). */
#define CCU_PG_CONNECT_TIMEOUT "5"
/* Upper bound on one statement, in milliseconds (server statement_timeout). */
#define CCU_PG_STATEMENT_TIMEOUT_MS "10000"
#define CCU_PG_MAX_CONNINFO 4096
#define CCU_PG_MAX_PARAMS 6

struct ccu_pg;

int ccu_pg_open(const char *conninfo, struct ccu_pg **ret, struct ccu_reason *err);
void ccu_pg_close(struct ccu_pg *pg);

/* Run @sql with @nparams text parameters; parameter @blob_idx (0-based, -1
 * for none) is @blob in binary. Results are in binary format (bytea as raw
 * bytes, bigint as 8 bytes big-endian). NULL on failure (@err set). */
PGresult *ccu_pg_exec(struct ccu_pg *pg, const char *sql, int nparams, const char *const *params,
		      int blob_idx, const uint8_t *blob, size_t blob_len, struct ccu_reason *err);
/* Several statements (schema creation) under advisory lock @lock_key. */
int ccu_pg_exec_script(struct ccu_pg *pg, const char *lock_key, const char *sql,
		       struct ccu_reason *err);

/* A binary bigint column value. */
int64_t ccu_pg_be64(const char *p);
