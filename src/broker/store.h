/*
 * The broker's persistent state: resources (secrets, each naming the policy
 * that guards it) and policies (text in the snp/policy.h format).
 *
 * Two layers:
 *  - broker_store (store.c): the interface the protocol and admin code use.
 *    It seals every value with AES-256-GCM under the master key before it
 *    reaches a backend; the associated data binds the value to its kind, its
 *    name and (for resources) its policy name, so whoever can edit the
 *    database can neither read a secret nor re-point it at another policy
 *    nor swap two rows without the broker noticing (STORE_INTEGRITY).
 *  - struct store_backend (store_backend.h): rows of opaque sealed blobs.
 *    SQLite is the embedded default (store_sqlite.c); a shared database for
 *    several broker replicas implements the same few operations.
 *
 * Thread-safe. All functions return 0 or -errno (-ENOENT when absent).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/reason.h"

#define BROKER_MASTER_KEY_LEN 32
#define BROKER_RESOURCE_MAX (64 * 1024)  /* largest secret we store */
#define BROKER_POLICY_MAX (256 * 1024)   /* largest policy text */
#define BROKER_NAME_MAX 256              /* resource path / policy name */

struct broker_store;

struct broker_resource_meta {
	char path[BROKER_NAME_MAX + 1];
	char policy[BROKER_NAME_MAX + 1];
	size_t size;
	time_t created;
	time_t updated;
};

/* Open (creating the schema if needed) the SQLite database at @path with the
 * 32-byte @master_key (copied into locked memory). */
int broker_store_open_sqlite(const char *path, const uint8_t master_key[BROKER_MASTER_KEY_LEN],
			     struct broker_store **ret, struct ccu_reason *err);
/* Open the store named by @spec: a postgresql:// URI or libpq keyword=value
 * string selects PostgreSQL (store_pg.c, shared by several replicas),
 * anything else is an SQLite path. */
int broker_store_open(const char *spec, const uint8_t master_key[BROKER_MASTER_KEY_LEN],
		      struct broker_store **ret, struct ccu_reason *err);
/* Whether @spec names a shared (PostgreSQL) store. */
bool broker_store_is_shared(const char *spec);
void broker_store_close(struct broker_store *s);

/* Create or replace. @policy must name an existing policy (-ENOENT). */
int broker_store_put_resource(struct broker_store *s, const char *path, const uint8_t *secret,
			      size_t len, const char *policy, struct ccu_reason *err);
/* *ret_secret is a secmem buffer (secmem_free it); @meta may be NULL. */
int broker_store_get_resource(struct broker_store *s, const char *path, uint8_t **ret_secret,
			      size_t *ret_len, struct broker_resource_meta *meta,
			      struct ccu_reason *err);
int broker_store_get_meta(struct broker_store *s, const char *path,
			  struct broker_resource_meta *meta, struct ccu_reason *err);
int broker_store_delete_resource(struct broker_store *s, const char *path, struct ccu_reason *err);
/* Calls @fn for each resource in path order; a negative return stops. */
int broker_store_list_resources(struct broker_store *s,
				int (*fn)(const struct broker_resource_meta *m, void *ud), void *ud,
				struct ccu_reason *err);

int broker_store_put_policy(struct broker_store *s, const char *name, const char *text,
			    struct ccu_reason *err);
/* *ret_text is malloc'ed and NUL-terminated. */
int broker_store_get_policy(struct broker_store *s, const char *name, char **ret_text,
			    struct ccu_reason *err);
int broker_store_delete_policy(struct broker_store *s, const char *name, struct ccu_reason *err);
int broker_store_list_policies(struct broker_store *s, int (*fn)(const char *name, void *ud),
			       void *ud, struct ccu_reason *err);

/* An admin token's jti, single use across every broker on this store
 * until @expires: 0 the first time, -EALREADY after (ADMIN_TOKEN_REPLAY),
 * STORE_IO when the store cannot say. */
int broker_store_use_token_id(struct broker_store *s, const char *jti, time_t expires,
			      time_t now, struct ccu_reason *err);

/* Names: resource paths repo/type/tag (kbs path rules), policy names
 * [A-Za-z0-9_.-]{1,64} not starting with '.'. */
bool broker_policy_name_valid(const char *name);

/* Master key file: exactly 32 bytes, owned by the caller's uid (or root),
 * no group/other permissions. Loaded into a secmem buffer. */
int broker_master_key_load(const char *path, uint8_t **ret_key, struct ccu_reason *err);
/* Create a new random master key file (mode 0400); -EEXIST if present. */
int broker_master_key_create(const char *path, struct ccu_reason *err);
