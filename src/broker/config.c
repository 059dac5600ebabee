#include "broker/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/store.h"
#include "common/conf.h"
#include "common/macros.h"
#include "common/util.h"

#define CONFIG_MAX_FILE (64 * 1024)

static const struct ccu_conf_key broker_keys[] = {
	{ "listen", false },          { "tls_cert", false },        { "tls_key", false },
	{ "insecure_http", false },   { "database", false },        { "master_key", false },
	{ "admin_public_key", true }, { "trusted_root", true },      { "cert_cache", false },
	{ "kds_fetch", false },       { "kds_url", false },         { "audit_log", false },
	{ "port_file", false },       { "session_timeout", false }, { "max_sessions", false },
	{ "token_lifetime", false },  { "workers", false },         { "max_connections", false },
	{ "max_body", false },        { "max_header", false },      { "request_timeout", false },
	{ "admin_token_max_lifetime", false }, { "default_resource_policy", false },
	{ "kds_timeout", false }, { "store", false }, { "admin_token_require_jti", false },
};

struct uint_key {
	const char *name;
	size_t off;
	unsigned min, max;
};

static const struct uint_key uint_keys[] = {
	{ "session_timeout", offsetof(struct broker_config, session_timeout), 10, 3600 },
	{ "max_sessions", offsetof(struct broker_config, max_sessions), 1, 1000000 },
	{ "token_lifetime", offsetof(struct broker_config, token_lifetime), 10, 3600 },
	{ "workers", offsetof(struct broker_config, workers), 1, 64 },
	{ "max_connections", offsetof(struct broker_config, max_connections), 1, 100000 },
	{ "max_body", offsetof(struct broker_config, max_body), 1024, 16 * 1024 * 1024 },
	{ "max_header", offsetof(struct broker_config, max_header), 1024, 1024 * 1024 },
	{ "request_timeout", offsetof(struct broker_config, request_timeout), 1, 600 },
	{ "admin_token_max_lifetime", offsetof(struct broker_config, admin_token_max_lifetime), 60,
	  BROKER_ADMIN_LIFETIME_CAP },
	{ "kds_timeout", offsetof(struct broker_config, kds_timeout), 1, BROKER_KDS_TIMEOUT_CAP },
};

static void set_defaults(struct broker_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_port = 8443;
	c->session_timeout = 300;
	c->max_sessions = 10000;
	c->token_lifetime = 300;
	c->workers = 2;
	c->max_connections = 512;
	c->max_body = 256 * 1024;
	c->max_header = 16 * 1024;
	c->request_timeout = 10;
	c->admin_token_max_lifetime = 300;
	c->kds_fetch = true; /* AMD's key server, bounded and cached (kds.h) */
	c->kds_timeout = 10;
}

void broker_config_done(struct broker_config *c)
{
	free(c->listen_host);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->database);
	free(c->master_key);
	for (size_t i = 0; i < c->n_admin_keys; i++)
		free(c->admin_keys[i]);
	for (size_t i = 0; i < c->n_trusted_roots; i++)
		free(c->trusted_roots[i]);
	free(c->cert_cache);
	free(c->default_resource_policy);
	free(c->kds_url);
	free(c->audit_log);
	free(c->port_file);
	memset(c, 0, sizeof(*c));
}

static int bad(struct ccu_reason *err, const struct ccu_conf_entry *e, const char *what)
{
	return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "line %u: %s: %s", e->line, e->key, what);
}

/* "IP:PORT" or "[IPv6]:PORT"; IP literals only (no name resolution). */
static int parse_listen(const struct ccu_conf_entry *e, struct broker_config *c,
			struct ccu_reason *err)
{
	char host[64];
	const char *v = e->value, *colon;
	unsigned char addr[16];
	uint64_t port;
	size_t hl;

	if (v[0] == '[') {
		const char *end = strchr(v, ']');

		if (!end || end[1] != ':')
			return bad(err, e, "expected [IPv6]:PORT");
		hl = (size_t)(end - v - 1);
		colon = end + 1;
		v++;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return bad(err, e, "expected IP:PORT");
		hl = (size_t)(colon - v);
	}
	if (hl == 0 || hl >= sizeof(host))
		return bad(err, e, "invalid address");
	memcpy(host, v, hl);
	host[hl] = 0;
	if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
		return bad(err, e, "the address must be an IP literal");
	if (ccu_parse_u64(colon + 1, 65535, false, &port) < 0)
		return bad(err, e, "invalid port");
	free(c->listen_host);
	c->listen_host = strdup(host);
	c->listen_port = (unsigned)port;
	return c->listen_host ? 0 : -ENOMEM;
}

static int set_path(char **dst, const struct ccu_conf_entry *e, struct ccu_reason *err)
{
	if (e->value[0] != '/')
		return bad(err, e, "must be an absolute path");
	free(*dst);
	*dst = strdup(e->value);
	return *dst ? 0 : -ENOMEM;
}

static bool policy_name_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 64 || v[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
		      (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '.' || v[i] == '-'))
			return false;
	return true;
}

static int default_cache(struct broker_config *c)
{
	const char *slash = strrchr(c->database, '/');
	size_t dl = slash ? (size_t)(slash - c->database) : 0;

	c->cert_cache = malloc(dl + sizeof("/cert-cache"));
	if (!c->cert_cache)
		return -ENOMEM;
	memcpy(c->cert_cache, c->database, dl);
	memcpy(c->cert_cache + dl, "/cert-cache", sizeof("/cert-cache"));
	return 0;
}

static int apply(const struct ccu_conf_entry *e, struct broker_config *c, struct ccu_reason *err)
{
	const char *k = e->key;

	for (size_t i = 0; i < ARRAY_SIZE(uint_keys); i++) {
		uint64_t v;

		if (strcmp(k, uint_keys[i].name) != 0)
			continue;
		if (ccu_parse_u64(e->value, uint_keys[i].max, false, &v) < 0 || v < uint_keys[i].min)
			return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
					"line %u: %s: expected an integer from %u to %u", e->line,
					k, uint_keys[i].min, uint_keys[i].max);
		*(unsigned *)(void *)((char *)c + uint_keys[i].off) = (unsigned)v;
		return 0;
	}
	if (strcmp(k, "listen") == 0)
		return parse_listen(e, c, err);
	if (strcmp(k, "insecure_http") == 0 || strcmp(k, "kds_fetch") == 0 ||
	    strcmp(k, "admin_token_require_jti") == 0) {
		bool b;

		if (ccu_parse_bool(e->value, &b) < 0)
			return bad(err, e, "expected yes or no");
		if (k[0] == 'i')
			c->insecure_http = b;
		else if (k[0] == 'k')
			c->kds_fetch = b;
		else
			c->admin_token_require_jti = b;
		return 0;
	}
	if (strcmp(k, "kds_url") == 0) {
		if (strncmp(e->value, "https://", 8) != 0 && strncmp(e->value, "http://127.0.0.1", 16) != 0)
			return bad(err, e, "must be an https:// URL");
		free(c->kds_url);
		c->kds_url = strdup(e->value);
		return c->kds_url ? 0 : -ENOMEM;
	}
	if (strcmp(k, "admin_public_key") == 0) {
		if (c->n_admin_keys == BROKER_MAX_ADMIN_KEYS)
			return bad(err, e, "too many admin keys");
		return set_path(&c->admin_keys[c->n_admin_keys++], e, err);
	}
	if (strcmp(k, "trusted_root") == 0) {
		if (c->n_trusted_roots == BROKER_MAX_TRUSTED_ROOTS)
			return bad(err, e, "too many trusted roots");
		return set_path(&c->trusted_roots[c->n_trusted_roots++], e, err);
	}
	if (strcmp(k, "tls_cert") == 0)
		return set_path(&c->tls_cert, e, err);
	if (strcmp(k, "tls_key") == 0)
		return set_path(&c->tls_key, e, err);
	if (strcmp(k, "database") == 0) {
		if (c->database)
			return bad(err, e, "'database' and 'store' name the same thing: give one");
		return set_path(&c->database, e, err);
	}
	if (strcmp(k, "store") == 0) {
		if (c->database)
			return bad(err, e, "'database' and 'store' name the same thing: give one");
		/* postgresql://..., postgres://... or libpq keyword=value pairs
		 * select PostgreSQL; anything else is an SQLite path. */
		if (!broker_store_is_shared(e->value))
			return set_path(&c->database, e, err);
		c->database = strdup(e->value);
		c->shared_store = true;
		return c->database ? 0 : -ENOMEM;
	}
	if (strcmp(k, "master_key") == 0)
		return set_path(&c->master_key, e, err);
	if (strcmp(k, "cert_cache") == 0)
		return set_path(&c->cert_cache, e, err);
	if (strcmp(k, "audit_log") == 0)
		return set_path(&c->audit_log, e, err);
	if (strcmp(k, "port_file") == 0)
		return set_path(&c->port_file, e, err);
	if (strcmp(k, "default_resource_policy") == 0) {
		if (!policy_name_ok(e->value))
			return bad(err, e, "expected a policy name ([A-Za-z0-9_.-]{1,64}, not "
					   "starting with '.')");
		free(c->default_resource_policy);
		c->default_resource_policy = strdup(e->value);
		return c->default_resource_policy ? 0 : -ENOMEM;
	}
	return ccu_fail(err, -EINVAL, "CONFIG_UNKNOWN_KEY", "line %u: unknown key '%s'", e->line, k);
}

int broker_config_parse(const char *text, size_t len, struct broker_config *c,
			struct ccu_reason *err)
{
	struct ccu_conf conf = { 0 };
	int r;

	set_defaults(c);
	r = ccu_conf_parse(text, len, &conf, err);
	if (r < 0)
		return r;
	r = ccu_conf_check_keys(&conf, broker_keys, ARRAY_SIZE(broker_keys), err);
	for (size_t i = 0; r >= 0 && i < conf.n; i++)
		r = apply(&conf.entries[i], c, err);
	ccu_conf_free(&conf);
	if (r >= 0 && !c->listen_host)
		r = ccu_fail(err, -EINVAL, "CONFIG_MISSING", "'listen' is required");
	if (r >= 0 && !c->database)
		r = ccu_fail(err, -EINVAL, "CONFIG_MISSING", "'store' (or 'database') is required");
	if (r >= 0 && !c->master_key)
		r = ccu_fail(err, -EINVAL, "CONFIG_MISSING", "'master_key' is required");
	if (r >= 0 && !c->insecure_http && (!c->tls_cert || !c->tls_key))
		r = ccu_fail(err, -EINVAL, "CONFIG_MISSING",
			     "'tls_cert' and 'tls_key' are required (or insecure_http = yes, "
			     "for tests only)");
	if (r >= 0 && c->insecure_http && (c->tls_cert || c->tls_key))
		r = ccu_fail(err, -EINVAL, "CONFIG_VALUE",
			     "insecure_http = yes contradicts tls_cert/tls_key");
	/* The default cache sits next to the database (a directory the
	 * service user owns). */
	if (r >= 0 && c->kds_fetch && !c->cert_cache)
		r = default_cache(c);
	if (r >= 0 && !c->default_resource_policy) {
		c->default_resource_policy = strdup("default");
		if (!c->default_resource_policy)
			r = -ENOMEM;
	}
	if (r >= 0 && c->kds_fetch && !c->kds_url) {
		c->kds_url = strdup("https://kdsintf.amd.com");
		if (!c->kds_url)
			r = -ENOMEM;
	}
	if (r < 0) {
		if (r == -ENOMEM)
			ccu_fail(err, r, "INTERNAL", "out of memory");
		broker_config_done(c);
	}
	return r;
}

int broker_config_load(const char *path, struct broker_config *c, struct ccu_reason *err)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	int r = ccu_read_file(path, CONFIG_MAX_FILE, &data, &len);

	if (r < 0)
		return ccu_fail(err, r, "CONFIG_IO", "cannot read '%s': %s", path, strerror(-r));
	return broker_config_parse((const char *)data, len, c, err);
}
