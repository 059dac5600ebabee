/*
 * Storage backend: rows of opaque sealed blobs in two namespaces
 * (resources, policies). The backend never sees plaintext; it only has to
 * make an acknowledged write durable and atomic. Implementations:
 * store_sqlite.c (embedded, WAL, synchronous=FULL) and store_pg.c
 * (PostgreSQL via libpq, shared by several broker replicas).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/reason.h"

enum store_ns {
	STORE_NS_RESOURCE,
	STORE_NS_POLICY,
};

struct store_row {
	char *name;      /* resource path or policy name */
	char *ref;       /* resources: policy name; policies: NULL */
	uint8_t *blob;   /* nonce || ciphertext || tag */
	size_t blob_len;
	time_t created;
	time_t updated;
};

struct store_backend {
	const struct store_backend_ops *ops;
};

struct store_backend_ops {
	/* Insert or replace @row (created is kept on replace). */
	int (*put)(struct store_backend *b, enum store_ns ns, const struct store_row *row,
		   struct ccu_reason *err);
	/* -ENOENT when absent; the row's strings and blob are malloc'ed. */
	int (*get)(struct store_backend *b, enum store_ns ns, const char *name,
		   struct store_row *row, struct ccu_reason *err);
	int (*del)(struct store_backend *b, enum store_ns ns, const char *name,
		   struct ccu_reason *err);
	/* Rows in name order; the row passed to @fn is only valid during the call. */
	int (*list)(struct store_backend *b, enum store_ns ns,
		    int (*fn)(const struct store_row *row, void *ud), void *ud,
		    struct ccu_reason *err);
	/* Records the single-use id @id (an admin token's jti) until @expires:
	 * 0 the first time, -EALREADY when it is already recorded, by this
	 * broker or by any other on the same store. One atomic statement; ids
	 * expired before @now are purged on the way. */
	int (*use_once)(struct store_backend *b, const char *id, time_t expires, time_t now,
			struct ccu_reason *err);
	/* Number of resources referring to policy @name. */
	int (*count_refs)(struct store_backend *b, const char *name, struct ccu_reason *err);
	void (*close)(struct store_backend *b);
};

void store_row_done(struct store_row *row);

int store_sqlite_open(const char *path, struct store_backend **ret, struct ccu_reason *err);
/* store_pg.c: @conninfo is a postgresql:// URI or libpq keyword=value form. */
int store_pg_open(const char *conninfo, struct store_backend **ret, struct ccu_reason *err);
/* Whether a `store` value names a PostgreSQL database (else: SQLite path). */
bool store_pg_is_conninfo(const char *spec);
