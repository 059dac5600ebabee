#include "common/conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char key_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_.-";

void ccu_conf_free(struct ccu_conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	c->entries = NULL;
	c->n = 0;
}

static int add_entry(struct ccu_conf *c, const char *k, const char *v, unsigned line)
{
	struct ccu_conf_entry *ne;

	ne = realloc(c->entries, (c->n + 1) * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	c->entries = ne;
	ne[c->n].key = strdup(k);
	ne[c->n].value = strdup(v);
	ne[c->n].line = line;
	if (!ne[c->n].key || !ne[c->n].value) {
		free(ne[c->n].key);
		free(ne[c->n].value);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

int ccu_conf_parse(const char *text, size_t len, struct ccu_conf *out, struct ccu_reason *err)
{
	struct ccu_conf c = { 0 };
	char line[CCU_CONF_MAX_LINE + 1];
	size_t pos = 0;
	unsigned lineno = 0;
	int r;

	if (len > CCU_CONF_MAX_SIZE)
		return ccu_fail(err, -EFBIG, "CONFIG_SYNTAX", "file is larger than %d bytes",
				CCU_CONF_MAX_SIZE);
	while (pos < len) {
		size_t end = pos, l;
		char *s, *eq, *k, *v;

		lineno++;
		while (end < len && text[end] != '\n')
			end++;
		l = end - pos;
		if (l > CCU_CONF_MAX_LINE) {
			r = ccu_fail(err, -EINVAL, "CONFIG_SYNTAX", "line %u: longer than %d bytes",
				     lineno, CCU_CONF_MAX_LINE);
			goto fail;
		}
		memcpy(line, text + pos, l);
		line[l] = 0;
		pos = end < len ? end + 1 : end;
		if (l && line[l - 1] == '\r')
			line[--l] = 0;
		for (size_t i = 0; i < l; i++) {
			unsigned char ch = (unsigned char)line[i];

			if ((ch < 0x20 && ch != '\t') || ch >= 0x7f) {
				r = ccu_fail(err, -EINVAL, "CONFIG_SYNTAX",
					     "line %u: control or non-ASCII byte 0x%02x", lineno, ch);
				goto fail;
			}
		}
		s = ccu_strstrip(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			r = ccu_fail(err, -EINVAL, "CONFIG_SYNTAX", "line %u: expected 'key = value'",
				     lineno);
			goto fail;
		}
		*eq = 0;
		k = ccu_strstrip(s);
		v = ccu_strstrip(eq + 1);
		if (!ccu_str_only(k, key_chars)) {
			r = ccu_fail(err, -EINVAL, "CONFIG_SYNTAX", "line %u: invalid key '%.64s'",
				     lineno, k);
			goto fail;
		}
		if (!*v) {
			r = ccu_fail(err, -EINVAL, "CONFIG_SYNTAX", "line %u: '%s' has no value",
				     lineno, k);
			goto fail;
		}
		if (c.n >= CCU_CONF_MAX_ENTRIES) {
			r = ccu_fail(err, -EINVAL, "CONFIG_SYNTAX", "more than %d entries",
				     CCU_CONF_MAX_ENTRIES);
			goto fail;
		}
		r = add_entry(&c, k, v, lineno);
		if (r < 0) {
			ccu_fail(err, r, "INTERNAL", "out of memory");
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	ccu_conf_free(&c);
	return r;
}

int ccu_conf_check_keys(const struct ccu_conf *c, const struct ccu_conf_key *keys, size_t nkeys,
			struct ccu_reason *err)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct ccu_conf_key *k = NULL;

		for (size_t j = 0; j < nkeys; j++)
			if (strcmp(keys[j].name, c->entries[i].key) == 0)
				k = &keys[j];
		if (!k)
			return ccu_fail(err, -EINVAL, "CONFIG_UNKNOWN_KEY", "line %u: unknown key '%s'",
					c->entries[i].line, c->entries[i].key);
		if (k->repeatable)
			continue;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->entries[j].key, c->entries[i].key) == 0)
				return ccu_fail(err, -EINVAL, "CONFIG_DUPLICATE_KEY",
						"line %u: '%s' already set on line %u",
						c->entries[i].line, c->entries[i].key,
						c->entries[j].line);
	}
	return 0;
}

const char *ccu_conf_get(const struct ccu_conf *c, const char *key, unsigned *ret_line)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->entries[i].key, key) == 0) {
			if (ret_line)
				*ret_line = c->entries[i].line;
			return c->entries[i].value;
		}
	return NULL;
}

int ccu_parse_bool(const char *s, bool *ret)
{
	static const char *const t[] = { "yes", "true", "1", "on" };
	static const char *const f[] = { "no", "false", "0", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, t[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}
