#include "guest/cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/conf.h"
#include "common/macros.h"
#include "common/util.h"
#include "guest/build.h"

#define CCU_PREFIX "rd.ccunlock"

void guest_cmdline_done(struct guest_cmdline *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->args[i].key);
		free(c->args[i].value);
	}
	free(c->args);
	memset(c, 0, sizeof(*c));
}

/* The kernel's isspace() for the bytes we accept (ASCII only). */
static bool kspace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

static int add_arg(struct guest_cmdline *c, const char *param, size_t plen, const char *val,
		   size_t vlen, bool has_val, bool for_init)
{
	struct guest_cmdline_arg *a = &c->args[c->n];

	a->key = strndup(param, plen);
	a->value = has_val ? strndup(val, vlen) : NULL;
	a->for_init = for_init;
	if (!a->key || (has_val && !a->value)) {
		free(a->key);
		free(a->value);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

/*
 * One argument the way lib/cmdline.c next_arg() cuts it: a leading quote
 * groups, '"' toggles quoting anywhere, the first '=' (not at position 0)
 * splits, and the quotes around a value (or around the whole argument) go.
 * Returns the number of bytes consumed.
 */
static size_t next_arg(const char *s, size_t len, const char **param, size_t *plen,
		       const char **val, size_t *vlen, bool *has_val)
{
	size_t i, equals = 0, start = 0;
	bool in_quote = false, quoted = false;

	if (len > 0 && s[0] == '"') {
		start = 1;
		in_quote = quoted = true;
	}
	const char *a = s + start;
	size_t alen = len - start;
	for (i = 0; i < alen; i++) {
		if (kspace(a[i]) && !in_quote)
			break;
		if (equals == 0 && a[i] == '=')
			equals = i;
		if (a[i] == '"')
			in_quote = !in_quote;
	}
	/* a[0..i) is the argument; "end" drops a closing quote as the kernel does. */
	size_t end = i;
	*param = a;
	*has_val = equals != 0;
	if (*has_val) {
		*plen = equals;
		*val = a + equals + 1;
		size_t vend = end;
		/* The value may be empty at the very end of the text: look before reading. */
		if (equals + 1 < i && a[equals + 1] == '"') {
			(*val)++;
			if (i > 0 && a[i - 1] == '"' && a + i - 1 >= *val)
				vend = i - 1;
		}
		if (quoted && i > 0 && a[i - 1] == '"' && a + i - 1 >= *val)
			vend = i - 1;
		*vlen = (size_t)((a + vend) - *val);
		if (a + vend < *val)
			*vlen = 0;
	} else {
		*plen = end;
		if (quoted && i > 0 && a[i - 1] == '"')
			*plen = i - 1;
		*val = NULL;
		*vlen = 0;
	}
	size_t used = start + i;
	if (used < len)
		used++; /* the separating space */
	return used;
}

int guest_cmdline_split(const char *text, size_t len, struct guest_cmdline *out,
			struct ccu_reason *err)
{
	bool for_init = false;
	size_t pos = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > GUEST_CMDLINE_MAX)
		return ccu_fail(err, -EINVAL, "CMDLINE_SYNTAX", "kernel command line: %zu bytes, at most %d",
				len, GUEST_CMDLINE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if ((ch < 0x20 && !kspace((char)ch)) || ch >= 0x7f)
			return ccu_fail(err, -EINVAL, "CMDLINE_SYNTAX",
					"kernel command line: byte 0x%02x at offset %zu (only printable ASCII)",
					ch, i);
	}
	out->args = calloc(GUEST_CMDLINE_MAX_ARGS, sizeof(*out->args));
	if (!out->args)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	while (pos < len && kspace(text[pos]))
		pos++;
	while (pos < len) {
		const char *param, *val;
		size_t plen, vlen;
		bool has_val;

		pos += next_arg(text + pos, len - pos, &param, &plen, &val, &vlen, &has_val);
		while (pos < len && kspace(text[pos]))
			pos++;
		if (!has_val && !for_init && plen == 2 && memcmp(param, "--", 2) == 0) {
			for_init = true;
			continue;
		}
		if (out->n == GUEST_CMDLINE_MAX_ARGS) {
			guest_cmdline_done(out);
			return ccu_fail(err, -E2BIG, "CMDLINE_SYNTAX",
					"kernel command line: more than %d arguments",
					GUEST_CMDLINE_MAX_ARGS);
		}
		r = add_arg(out, param, plen, val, vlen, has_val, for_init);
		if (r < 0) {
			guest_cmdline_done(out);
			return ccu_fail(err, r, "INTERNAL", "out of memory");
		}
	}
	return 0;
}

/* systemd compares its option names with '-' and '_' equivalent. */
static bool sd_key_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool value_in(const char *v, const char *const *set, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		if (strcmp(v, set[i]) == 0)
			return true;
	return false;
}

/* dracut's getargbool(): only 0, no and off are false; anything else
 * (false, n, NO, ...) turns the option on. */
static bool dracut_false(const char *v)
{
	static const char *const f[] = { "0", "no", "off" };
	return value_in(v, f, ARRAY_SIZE(f));
}

/* systemd's parse_boolean() false words (a non-boolean value is a tty for
 * systemd.debug_shell, i.e. on). */
static bool systemd_false(const char *v)
{
	static const char *const f[] = { "0", "no", "off", "false", "n", "f" };
	return value_in(v, f, ARRAY_SIZE(f));
}

/* A unit name whose base (before the first '.') opens a shell. */
static bool shell_unit(const char *v)
{
	static const char *const units[] = { "emergency", "rescue", "debug-shell", "debug_shell" };
	size_t n = strcspn(v, ".");

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strlen(units[i]) == n && strncmp(v, units[i], n) == 0)
			return true;
	return false;
}

static int refuse(struct ccu_reason *err, const struct guest_cmdline_arg *a, const char *why)
{
	if (a->value)
		return ccu_fail(err, -EPERM, "CMDLINE_REFUSED", "kernel command line '%s=%s': %s",
				a->key, a->value, why);
	return ccu_fail(err, -EPERM, "CMDLINE_REFUSED", "kernel command line '%s': %s", a->key,
			why);
}

static int judge_override(const struct guest_cmdline_arg *a, struct ccu_reason *err)
{
	/* Runlevel words systemd and sysvinit turn into rescue/emergency. */
	static const char *const words[] = { "emergency", "rescue", "single", "s", "S", "-s", "1",
					     "-b", "b", "rd.rescue" };
	static const char *const em_ok[] = { "poweroff", "reboot", "halt" };
	const char *k = a->key, *v = a->value;

	/* rdshell and rdbreak are dracut's old spellings, still honoured. */
	if ((strcmp(k, "rd.shell") == 0 || strcmp(k, "rdshell") == 0) && !dracut_false(v))
		return refuse(err, a, "would allow a shell in the initramfs");
	if (strcmp(k, "rd.break") == 0 || strcmp(k, "break") == 0 || strcmp(k, "rdbreak") == 0)
		return refuse(err, a, "would stop the boot in a shell");
	if ((strcmp(k, "init") == 0 || strcmp(k, "rdinit") == 0) && v)
		return refuse(err, a, "would replace init");
	if ((sd_key_eq(k, "systemd.debug_shell") || sd_key_eq(k, "rd.systemd.debug_shell")) &&
	    !systemd_false(v))
		return refuse(err, a, "would start a debug shell");
	if (sd_key_eq(k, "systemd.unit") && v && shell_unit(v))
		return refuse(err, a, "would boot into a shell unit");
	if (sd_key_eq(k, "rd.systemd.unit") && v && strcmp(v, "initrd.target") != 0)
		return refuse(err, a, "would replace the initrd target");
	/* systemd's generic knobs: mask our units, pull in a shell, run a command. */
	if (sd_key_eq(k, "systemd.mask") || sd_key_eq(k, "rd.systemd.mask") ||
	    sd_key_eq(k, "systemd.wants") || sd_key_eq(k, "rd.systemd.wants") ||
	    sd_key_eq(k, "systemd.run") || sd_key_eq(k, "rd.systemd.run"))
		return refuse(err, a, "would change which units run or run a command");
	/*
	 * cryptsetup-initramfs: cryptopts= replaces the image's crypttab and may
	 * name any program in the image as keyscript (run on the console).
	 * (dracut's rd.luks=0 and friends only keep dracut away from volumes,
	 * which our volume needs anyway.)
	 */
	if (strcmp(k, "cryptopts") == 0)
		return refuse(err, a, "would replace the image's crypttab");
	if (strcmp(k, "rd.emergency") == 0 && !value_in(v, em_ok, ARRAY_SIZE(em_ok)))
		return refuse(err, a, "emergency action must be poweroff, reboot or halt");
	if (value_in(k, words, ARRAY_SIZE(words)))
		return refuse(err, a, "would boot into rescue or emergency mode");
	return 0;
}

int guest_cmdline_bad_value(struct ccu_reason *err, const struct guest_cmdline_arg *a,
			    const char *what)
{
	return ccu_fail(err, -EINVAL, "CMDLINE_VALUE", "kernel command line '%s=%s': expected %s",
			a->key, a->value ? a->value : "", what);
}

static int judge_ccunlock(const struct guest_cmdline_arg *a, const struct guest_test_hooks *test,
			  struct guest_cmdline_opts *o, unsigned *seen, struct ccu_reason *err)
{
	static const char *const keys[] = { CCU_PREFIX ".deadline", CCU_PREFIX ".require",
					    CCU_PREFIX ".debug" };
	const char *v = a->value;
	size_t idx = ARRAY_SIZE(keys);
	uint64_t n;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(a->key, keys[i]) == 0)
			idx = i;
	if (idx == ARRAY_SIZE(keys)) {
		/* Test builds know a few more (src/testonly/); release builds none. */
		int r = test && test->cmdline_key ? test->cmdline_key(a, o, seen, err) : 1;
		if (r <= 0)
			return r;
		return ccu_fail(err, -EPERM, "CMDLINE_UNKNOWN",
				"kernel command line: unknown option '%s'", a->key);
	}
	if (*seen & (1u << idx))
		return ccu_fail(err, -EINVAL, "CMDLINE_VALUE",
				"kernel command line: '%s' given more than once", a->key);
	*seen |= 1u << idx;

	switch (idx) {
	case 0:
		if (!v || ccu_parse_u64(v, GUEST_DEADLINE_MAX, false, &n) < 0 || n == 0)
			return guest_cmdline_bad_value(err, a, "seconds, 1..3600");
		o->has_deadline = true;
		o->deadline = (unsigned)n;
		return 0;
	case 1:
		if (!v || guest_level_from_name(v, &o->require) < 0)
			return guest_cmdline_bad_value(err, a, "snp, sev-es or sev");
		o->has_require = true;
		return 0;
	default:
		if (!v) {
			o->debug = true;
			return 0;
		}
		if (ccu_parse_bool(v, &o->debug) < 0)
			return guest_cmdline_bad_value(err, a, "a boolean");
		return 0;
	}
}

int guest_cmdline_judge(const struct guest_cmdline *c, const struct guest_test_hooks *test,
			struct guest_cmdline_opts *out, struct ccu_reason *err)
{
	unsigned seen = 0;
	int r;

	memset(out, 0, sizeof(*out));
	/* Overrides first: a refused shell is the more important message. */
	for (size_t i = 0; i < c->n; i++) {
		r = judge_override(&c->args[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->n; i++) {
		const char *k = c->args[i].key;
		if (strcmp(k, CCU_PREFIX) != 0 && strncmp(k, CCU_PREFIX ".", strlen(CCU_PREFIX) + 1) != 0)
			continue;
		r = judge_ccunlock(&c->args[i], test, out, &seen, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int guest_cmdline_apply(const struct guest_cmdline_opts *o, struct guest_config *cfg,
			struct ccu_reason *err)
{
	if (o->has_deadline) {
		if (o->deadline > cfg->deadline)
			return ccu_fail(err, -EPERM, "CMDLINE_LOOSER",
					"rd.ccunlock.deadline=%u would lengthen the configured deadline of %u s",
					o->deadline, cfg->deadline);
		cfg->deadline = o->deadline;
	}
	if (o->has_require) {
		if (o->require < cfg->require)
			return ccu_fail(err, -EPERM, "CMDLINE_LOOSER",
					"rd.ccunlock.require=%s would weaken the configured requirement %s",
					guest_level_name(o->require), guest_level_name(cfg->require));
		cfg->require = o->require;
	}
	if (o->has_sim_policy) {
		cfg->has_sim_policy = true;
		cfg->sim_policy = o->sim_policy;
	}
	if (o->has_sim_measurement) {
		cfg->has_sim_measurement = true;
		memcpy(cfg->sim_measurement, o->sim_measurement, 48);
	}
	return 0;
}
