/*
 * The one configuration syntax of ccunlock (guest config, broker config,
 * release policies): line-oriented "key = value", '#' comments on their own
 * lines, blank lines allowed. Operators write these files by hand, so the
 * parser is strict: an unknown key, a repeated single-valued key, a line
 * without '=', a control character or an over-long line is an error that
 * names the line. Nothing is ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"

#define CCU_CONF_MAX_LINE 4096
#define CCU_CONF_MAX_ENTRIES 4096
#define CCU_CONF_MAX_SIZE (1024 * 1024)

struct ccu_conf_entry {
	char *key;
	char *value;
	unsigned line;
};

struct ccu_conf {
	struct ccu_conf_entry *entries;
	size_t n;
};

struct ccu_conf_key {
	const char *name;
	bool repeatable;
};

/* Parse @len bytes of @text. On error fills @err (code CONFIG_SYNTAX) and
 * returns -EINVAL (or -ENOMEM). */
int ccu_conf_parse(const char *text, size_t len, struct ccu_conf *out, struct ccu_reason *err);
void ccu_conf_free(struct ccu_conf *c);

/* Every key must be in @keys; non-repeatable keys at most once.
 * Error code CONFIG_UNKNOWN_KEY / CONFIG_DUPLICATE_KEY, -EINVAL. */
int ccu_conf_check_keys(const struct ccu_conf *c, const struct ccu_conf_key *keys, size_t nkeys,
			struct ccu_reason *err);

/* Value of the first entry with @key, or NULL. */
const char *ccu_conf_get(const struct ccu_conf *c, const char *key, unsigned *ret_line);

/* "yes"/"no"/"true"/"false"/"1"/"0"/"on"/"off"; -EINVAL otherwise. */
int ccu_parse_bool(const char *s, bool *ret);
