#include "guest/config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/codec.h"
#include "common/conf.h"
#include "common/macros.h"
#include "common/util.h"
#include "guest/build.h"
#include "guest/provider.h"

static const struct ccu_conf_key base_keys[] = {
	{ "broker_url", true },  { "broker_ca", false }, { "device", false },
	{ "name", false },       { "deadline", false },  { "require", false },
	{ "require_secure_boot", false }, { "evidence", false },
	{ "init_data", false },
	{ "require_header_pin", false },
};

/* At most this many extra keys from a test build's hooks. */
#define GUEST_CONFIG_TEST_KEYS_MAX 8

static const char *const level_names[] = {
	[GUEST_LEVEL_NONE] = "none",
	[GUEST_LEVEL_SEV] = "sev",
	[GUEST_LEVEL_SEV_ES] = "sev-es",
	[GUEST_LEVEL_SNP] = "snp",
};

int guest_level_from_name(const char *s, enum guest_level *ret)
{
	for (size_t i = GUEST_LEVEL_SEV; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = (enum guest_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *guest_level_name(enum guest_level l)
{
	if ((size_t)l >= ARRAY_SIZE(level_names))
		return "invalid";
	return level_names[l];
}

void guest_config_defaults(struct guest_config *c)
{
	memset(c, 0, sizeof(*c));
	c->deadline = GUEST_DEADLINE_DEFAULT;
	c->require = GUEST_LEVEL_SNP;
	snprintf(c->evidence, sizeof(c->evidence), "auto");
}

void guest_config_done(struct guest_config *c)
{
	free(c->broker_url);
	for (size_t i = 0; i < c->n_more_brokers; i++)
		free(c->more_brokers[i]);
	free(c->broker_ca);
	free(c->device);
	free(c->name);
	free(c->simulator_dir);
	free(c->init_data);
	memset(c, 0, sizeof(*c));
}

static int bad(struct ccu_reason *err, const struct ccu_conf_entry *e, const char *what)
{
	return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "line %u: %s: %s", e->line, e->key, what);
}

/* DNS name or IPv4 literal: labels of [A-Za-z0-9-], dots between them. */
static bool host_ok(const char *h, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	if (h[0] == '[') {
		if (len < 4 || h[len - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < len; i++)
			if (!strchr("0123456789abcdefABCDEF:.", h[i]))
				return false;
		return true;
	}
	if (h[0] == '.' || h[0] == '-' || h[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = h[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (!alnum && ch != '-' && ch != '.')
			return false;
		if (ch == '.' && h[i + 1] == '.')
			return false;
	}
	return true;
}

int guest_broker_url_check(const char *url, struct ccu_reason *err)
{
	static const char scheme[] = "https://";
	size_t len = strlen(url);

	if (len > GUEST_URL_MAX)
		return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "broker_url: longer than %d bytes",
				GUEST_URL_MAX);
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
				"broker_url: expected https://HOST[:PORT], got '%s'", url);
	const char *h = url + sizeof(scheme) - 1;
	size_t rest = strlen(h);
	if (rest > 0 && h[rest - 1] == '/')
		rest--;
	/* The host part ends at the port colon (after a ']' for IPv6). */
	const char *port = NULL;
	size_t hlen = rest;
	if (h[0] == '[') {
		const char *close = memchr(h, ']', rest);
		if (!close)
			goto bad_host;
		hlen = (size_t)(close - h) + 1;
		if (hlen < rest) {
			if (h[hlen] != ':')
				goto bad_host;
			port = h + hlen + 1;
		}
	} else {
		const char *colon = memchr(h, ':', rest);
		if (colon) {
			hlen = (size_t)(colon - h);
			port = colon + 1;
		}
	}
	if (!host_ok(h, hlen))
		goto bad_host;
	if (port) {
		size_t plen = rest - (size_t)(port - h);
		char buf[8];
		uint64_t v;
		if (plen == 0 || plen > 5)
			goto bad_host;
		memcpy(buf, port, plen);
		buf[plen] = '\0';
		if (ccu_parse_u64(buf, 65535, false, &v) < 0 || v == 0)
			goto bad_host;
	}
	return 0;
bad_host:
	return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
			"broker_url: expected https://HOST[:PORT] without path, user or query, got '%s'",
			url);
}

/* "UUID=<8-4-4-4-12 hex>" or an absolute path. */
static bool device_ok(const char *v)
{
	if (strncmp(v, "UUID=", 5) == 0) {
		const char *u = v + 5;
		if (strlen(u) != 36)
			return false;
		for (size_t i = 0; i < 36; i++) {
			bool dash = i == 8 || i == 13 || i == 18 || i == 23;
			if (dash ? u[i] != '-' : !strchr("0123456789abcdefABCDEF", u[i]))
				return false;
		}
		return true;
	}
	return v[0] == '/' && strlen(v) < GUEST_PATH_MAX;
}

static bool name_ok(const char *v)
{
	return strlen(v) <= GUEST_NAME_MAX &&
	       ccu_str_only(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-+") &&
	       v[0] != '.';
}

static bool evidence_ok(const char *v, const struct guest_build *b)
{
	if (strcmp(v, "auto") == 0)
		return true;
	for (size_t i = 0; i < b->n_providers; i++)
		if (strcmp(v, b->providers[i]->name) == 0)
			return true;
	return false;
}

static int dup_value(char **dst, const char *v)
{
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int set_value(const struct ccu_conf_entry *e, const struct guest_build *b,
		     struct guest_config *c, struct ccu_reason *err)
{
	const char *k = e->key, *v = e->value;
	uint64_t n;

	if (strcmp(k, "broker_url") == 0) {
		struct ccu_reason why;
		int r = guest_broker_url_check(v, &why);
		if (r < 0)
			return ccu_fail(err, r, "CONFIG_VALUE", "line %u: %s", e->line, why.detail);
		/* Several lines: brokers tried in order, then round-robin, all
		 * pinned to the one broker_ca. */
		if (!c->broker_url)
			return dup_value(&c->broker_url, v);
		if (c->n_more_brokers == GUEST_MAX_BROKERS - 1)
			return ccu_fail(err, -EINVAL, "CONFIG_VALUE",
					"line %u: broker_url: at most %d brokers", e->line,
					GUEST_MAX_BROKERS);
		return dup_value(&c->more_brokers[c->n_more_brokers++], v);
	}
	if (strcmp(k, "init_data") == 0) {
		if (v[0] != '/' || strlen(v) >= GUEST_PATH_MAX)
			return bad(err, e, "expected an absolute path");
		return dup_value(&c->init_data, v);
	}
	if (strcmp(k, "broker_ca") == 0) {
		if (v[0] != '/' || strlen(v) >= GUEST_PATH_MAX)
			return bad(err, e, "expected an absolute path");
		return dup_value(&c->broker_ca, v);
	}
	if (strcmp(k, "device") == 0) {
		if (!device_ok(v))
			return bad(err, e, "expected UUID=<uuid> or an absolute path");
		return dup_value(&c->device, v);
	}
	if (strcmp(k, "name") == 0) {
		if (!name_ok(v))
			return bad(err, e, "expected 1..127 of [A-Za-z0-9_.+-], not starting with '.'");
		free(c->name);
		return dup_value(&c->name, v);
	}
	if (strcmp(k, "deadline") == 0) {
		if (ccu_parse_u64(v, GUEST_DEADLINE_MAX, false, &n) < 0 || n == 0)
			return bad(err, e, "expected seconds, 1..3600");
		c->deadline = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "require") == 0) {
		if (guest_level_from_name(v, &c->require) < 0)
			return bad(err, e, "expected snp, sev-es or sev");
		return 0;
	}
	if (strcmp(k, "require_secure_boot") == 0) {
		if (ccu_parse_bool(v, &c->require_secure_boot) < 0)
			return bad(err, e, "expected yes or no");
		return 0;
	}
	if (strcmp(k, "require_header_pin") == 0) {
		if (ccu_parse_bool(v, &c->require_header_pin) < 0)
			return bad(err, e, "expected yes or no");
		return 0;
	}
	if (strcmp(k, "evidence") == 0) {
		if (strlen(v) > GUEST_PROVIDER_NAME_MAX || !evidence_ok(v, b)) {
			/* "expected auto, NAME, ... or NAME": the names this build has. */
			char what[128];
			size_t at = (size_t)snprintf(what, sizeof(what), "expected auto");
			for (size_t i = 0; i < b->n_providers && at < sizeof(what); i++)
				at += (size_t)snprintf(what + at, sizeof(what) - at, "%s%s",
						       i + 1 == b->n_providers ? " or " : ", ",
						       b->providers[i]->name);
			return bad(err, e, what);
		}
		snprintf(c->evidence, sizeof(c->evidence), "%s", v);
		return 0;
	}
	/* Only test builds get here (the key check refused other keys). */
	const struct guest_test_hooks *t = guest_build_test_hooks(b);
	if (t && t->conf_set)
		return t->conf_set(e, c, err);
	return bad(err, e, "unexpected key");
}

static int check_keys(const struct ccu_conf *cf, const struct guest_build *b,
		      struct ccu_reason *err)
{
	struct ccu_conf_key keys[ARRAY_SIZE(base_keys) + GUEST_CONFIG_TEST_KEYS_MAX];
	size_t n = ARRAY_SIZE(base_keys);

	memcpy(keys, base_keys, sizeof(base_keys));
	const struct guest_test_hooks *t = guest_build_test_hooks(b);
	if (t && t->n_conf_keys > 0) {
		if (t->n_conf_keys > GUEST_CONFIG_TEST_KEYS_MAX)
			return ccu_fail(err, -E2BIG, "INTERNAL", "too many test configuration keys");
		memcpy(keys + n, t->conf_keys, t->n_conf_keys * sizeof(keys[0]));
		n += t->n_conf_keys;
	}
	return ccu_conf_check_keys(cf, keys, n, err);
}

int guest_config_parse(const char *text, size_t len, const struct guest_build *b, bool need_broker,
		       struct guest_config *out, struct ccu_reason *err)
{
	struct ccu_conf cf = { 0 };
	int r;

	guest_config_defaults(out);
	r = ccu_conf_parse(text, len, &cf, err);
	if (r < 0)
		goto out;
	r = check_keys(&cf, b, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < cf.n; i++) {
		r = set_value(&cf.entries[i], b, out, err);
		if (r == -ENOMEM)
			ccu_fail(err, r, "INTERNAL", "out of memory");
		if (r < 0)
			goto out;
	}
	if (!out->name && dup_value(&out->name, "ccunlock-root") < 0) {
		r = ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		goto out;
	}
	if (need_broker && (!out->broker_url || !out->broker_ca)) {
		r = ccu_fail(err, -EINVAL, "CONFIG_MISSING", "%s is required",
			     out->broker_url ? "broker_ca" : "broker_url");
		goto out;
	}
	const struct guest_test_hooks *t = guest_build_test_hooks(b);
	if (t && t->conf_check) {
		r = t->conf_check(out, err);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	ccu_conf_free(&cf);
	if (r < 0)
		guest_config_done(out);
	return r;
}
