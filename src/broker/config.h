/*
 * ccunlock-kbs configuration (/etc/ccunlock-kbs/broker.conf), in the common
 * strict "key = value" syntax: an unknown key or a malformed value is an
 * error naming the line. See docs/ccunlock-kbs.8.md for every key.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/reason.h"

#define BROKER_MAX_ADMIN_KEYS 8
#define BROKER_MAX_TRUSTED_ROOTS 8

struct broker_config {
	char *listen_host;      /* IP literal */
	unsigned listen_port;   /* 0 = pick one (tests); the port is logged */
	char *tls_cert;
	char *tls_key;
	bool insecure_http;     /* plain HTTP: tests only */
	char *database;         /* `store` / `database`: SQLite path or PostgreSQL conninfo */
	bool shared_store;      /* database is a PostgreSQL conninfo (several replicas) */
	char *master_key;
	char *admin_keys[BROKER_MAX_ADMIN_KEYS]; /* Ed25519 public keys (PEM) */
	size_t n_admin_keys;
	char *trusted_roots[BROKER_MAX_TRUSTED_ROOTS]; /* extra ARKs (e.g. a test root) */
	size_t n_trusted_roots;
	char *cert_cache;       /* offline AMD certificate directory, may be NULL */
	bool kds_fetch;         /* fetch missing VCEKs / chains from AMD's KDS (default yes) */
	char *kds_url;
	char *audit_log;
	char *port_file;        /* write the bound port here (tests, port 0) */
	unsigned session_timeout;  /* seconds */
	unsigned max_sessions;
	unsigned token_lifetime;   /* seconds */
	unsigned workers;
	unsigned max_connections;
	unsigned max_body;         /* bytes */
	unsigned max_header;       /* bytes */
	unsigned request_timeout;  /* seconds */
	unsigned admin_token_max_lifetime; /* seconds, exp - iat of an admin token */
	bool admin_token_require_jti;      /* refuse admin tokens that are not single use */
	char *default_resource_policy;     /* guards resources put without ?policy= */
	unsigned kds_timeout;              /* seconds per KDS request */
};

/* Upper bounds of the configurable values above. Trustee's admin tokens
 * (kbs/config/docker-compose/setup.sh) live ten years. */
#define BROKER_ADMIN_LIFETIME_CAP (3660u * 86400u)
#define BROKER_KDS_TIMEOUT_CAP 60

/* Defaults, then @text. Returns 0 or -EINVAL with @err (CONFIG_*). */
int broker_config_parse(const char *text, size_t len, struct broker_config *cfg,
			struct ccu_reason *err);
int broker_config_load(const char *path, struct broker_config *cfg, struct ccu_reason *err);
void broker_config_done(struct broker_config *cfg);
