/* The kernel command line: the kernel's splitting rules, refused shell/init
 * overrides, rd.ccunlock.* that may only make checks stricter. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/build.h"
#include "guest/cmdline.h"
#include "helpers/testutil.h"

static struct ccu_reason rsn;

static void split(const char *s, struct guest_cmdline *c)
{
	memset(&rsn, 0, sizeof(rsn));
	assert_int_equal(guest_cmdline_split(s, strlen(s), c, &rsn), 0);
}

static void expect_arg(const struct guest_cmdline *c, size_t i, const char *k, const char *v,
		       bool for_init)
{
	assert_true(i < c->n);
	assert_string_equal(c->args[i].key, k);
	if (v)
		assert_string_equal(c->args[i].value, v);
	else
		assert_null(c->args[i].value);
	assert_int_equal(c->args[i].for_init, for_init);
}

static void test_split_kernel_rules(void **state)
{
	struct guest_cmdline c;
	(void)state;

	split("  root=/dev/vda1 ro  quiet\n", &c);
	assert_int_equal(c.n, 3);
	expect_arg(&c, 0, "root", "/dev/vda1", false);
	expect_arg(&c, 1, "ro", NULL, false);
	expect_arg(&c, 2, "quiet", NULL, false);
	guest_cmdline_done(&c);

	/* Quotes group; the quotes around a value go; '=' inside a value stays. */
	split("a=\"b c\" \"d=e f\" g=h=i \"j k\" x=\"unterminated y", &c);
	assert_int_equal(c.n, 5);
	expect_arg(&c, 0, "a", "b c", false);
	expect_arg(&c, 1, "d", "e f", false);
	expect_arg(&c, 2, "g", "h=i", false);
	expect_arg(&c, 3, "j k", NULL, false);
	expect_arg(&c, 4, "x", "unterminated y", false);
	guest_cmdline_done(&c);

	/* A quote in the middle of a key toggles quoting and stays (as in the kernel). */
	split("ab\"c d\"=e", &c);
	assert_int_equal(c.n, 1);
	expect_arg(&c, 0, "ab\"c d\"", "e", false);
	guest_cmdline_done(&c);

	/* "--" hands the rest to init; an '=' at position 0 is no separator. */
	split("ro -- single =x", &c);
	assert_int_equal(c.n, 3);
	expect_arg(&c, 0, "ro", NULL, false);
	expect_arg(&c, 1, "single", NULL, true);
	expect_arg(&c, 2, "=x", NULL, true);
	guest_cmdline_done(&c);

	split("", &c);
	assert_int_equal(c.n, 0);
	guest_cmdline_done(&c);
	/* An empty value at the very end of an unterminated buffer (found by fuzzing). */
	char *nt = malloc(2);
	memcpy(nt, "x=", 2);
	assert_int_equal(guest_cmdline_split(nt, 2, &c, &rsn), 0);
	expect_arg(&c, 0, "x", "", false);
	guest_cmdline_done(&c);
	free(nt);
	split("k= e=\"\"", &c);
	expect_arg(&c, 0, "k", "", false);
	expect_arg(&c, 1, "e", "", false);
	guest_cmdline_done(&c);
}

static void test_split_rejects(void **state)
{
	struct guest_cmdline c;
	char big[GUEST_CMDLINE_MAX + 2];
	(void)state;

	assert_int_equal(guest_cmdline_split("a\001b", 3, &c, &rsn), -EINVAL);
	assert_string_equal(rsn.code, "CMDLINE_SYNTAX");
	assert_int_equal(guest_cmdline_split("a\xa0" "b", 3, &c, &rsn), -EINVAL);
	assert_string_equal(rsn.code, "CMDLINE_SYNTAX");
	assert_int_equal(guest_cmdline_split("a\0b", 3, &c, &rsn), -EINVAL);
	memset(big, 'a', sizeof(big));
	assert_int_equal(guest_cmdline_split(big, sizeof(big), &c, &rsn), -EINVAL);
	assert_string_equal(rsn.code, "CMDLINE_SYNTAX");
	/* More than GUEST_CMDLINE_MAX_ARGS arguments. */
	for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
		big[i] = 'x';
		big[i + 1] = ' ';
	}
	assert_int_equal(guest_cmdline_split(big, 2 * (GUEST_CMDLINE_MAX_ARGS + 1), &c, &rsn),
			 -E2BIG);
	assert_string_equal(rsn.code, "CMDLINE_SYNTAX");
}

static int judge(const char *s, bool test_build, struct guest_cmdline_opts *o)
{
	struct guest_cmdline c;
	int r;

	split(s, &c);
	memset(&rsn, 0, sizeof(rsn));
	r = guest_cmdline_judge(&c, test_build ? &guest_test_hooks : NULL, o, &rsn);
	guest_cmdline_done(&c);
	return r;
}

static void test_refused_overrides(void **state)
{
	static const char *const refused[] = {
		"rd.shell", "rd.shell=1", "rd.shell=yes", "rd.break", "rd.break=pre-mount",
		"break", "break=premount", "init=/bin/sh", "rdinit=/bin/sh",
		"systemd.debug_shell", "systemd.debug-shell=1", "rd.systemd.debug_shell",
		"systemd.unit=emergency.target", "systemd.unit=rescue.target",
		"systemd.unit=rescue", "systemd.unit=debug-shell.service",
		"rd.systemd.unit=emergency.target", "rd.systemd.unit=multi-user.target",
		"emergency", "rescue", "single", "s", "S", "-s", "1", "-b", "b",
		"rd.emergency=shell", "rd.emergency", "rd.rescue", "ro -- single",
		"\"init=/bin/sh\"", "quiet \"rd.break\"", "rdshell", "rdshell=1", "rdbreak",
		"rdbreak=pre-mount", "systemd.mask=ccunlock.service",
		"rd.systemd.mask=dracut-pre-pivot.service", "systemd.wants=debug-shell.service",
		"rd.systemd.wants=emergency.service", "systemd.run=/bin/sh", "rd.systemd.run=x",
		"cryptopts=target=x,source=/dev/vdb,keyscript=/bin/sh",
		"cryptopts=",
	};
	struct guest_cmdline_opts o;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		int r = judge(refused[i], false, &o);
		if (r != -EPERM || strcmp(rsn.code, "CMDLINE_REFUSED") != 0)
			fail_msg("'%s' was not refused (%d %s)", refused[i], r, rsn.code);
	}
}

static void test_allowed(void **state)
{
	static const char *const allowed[] = {
		"root=UUID=1 ro quiet splash", "rd.shell=0", "rd.shell=no", "rd.shell=off",
		"systemd.debug_shell=0", "systemd.unit=multi-user.target",
		"rd.systemd.unit=initrd.target", "rd.emergency=poweroff", "rd.emergency=reboot",
		"rd.emergency=halt", "2", "3", "rd.luks.uuid=x", "console=ttyS0,115200",
		"rd.ccunlock_other=1", "init", "rd.debug", "rd.luks=0", "rd.luks=1", "rd.luks.crypttab=0",
		"rd.luks.key=/k:/dev/vdb",
		"rd.luks.name=x=y", "systemd.show_status=0",
	};
	struct guest_cmdline_opts o;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if (judge(allowed[i], false, &o) != 0)
			fail_msg("'%s' refused: %s: %s", allowed[i], rsn.code, rsn.detail);
}

static void test_ccunlock_options(void **state)
{
	struct guest_cmdline_opts o;
	(void)state;

	assert_int_equal(judge("rd.ccunlock.deadline=30 rd.ccunlock.require=snp rd.ccunlock.debug",
			       false, &o), 0);
	assert_true(o.has_deadline);
	assert_int_equal(o.deadline, 30);
	assert_true(o.has_require);
	assert_int_equal(o.require, GUEST_LEVEL_SNP);
	assert_true(o.debug);
	assert_int_equal(judge("rd.ccunlock.debug=0", false, &o), 0);
	assert_false(o.debug);

	static const struct {
		const char *s;
		const char *code;
	} bad[] = {
		{ "rd.ccunlock.deadline=0", "CMDLINE_VALUE" },
		{ "rd.ccunlock.deadline=-1", "CMDLINE_VALUE" },
		{ "rd.ccunlock.deadline=1x", "CMDLINE_VALUE" },
		{ "rd.ccunlock.deadline", "CMDLINE_VALUE" },
		{ "rd.ccunlock.deadline=5 rd.ccunlock.deadline=4", "CMDLINE_VALUE" },
		{ "rd.ccunlock.require=tdx", "CMDLINE_VALUE" },
		{ "rd.ccunlock.debug=maybe", "CMDLINE_VALUE" },
		{ "rd.ccunlock.broker_url=https://evil", "CMDLINE_UNKNOWN" },
		{ "rd.ccunlock", "CMDLINE_UNKNOWN" },
		{ "rd.ccunlock.sim.policy=0x30000", "CMDLINE_UNKNOWN" },
		{ "rd.ccunlock.sim.measurement=00", "CMDLINE_UNKNOWN" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = judge(bad[i].s, false, &o);
		if (r >= 0 || strcmp(rsn.code, bad[i].code) != 0)
			fail_msg("'%s': %d %s, expected %s", bad[i].s, r, rsn.code, bad[i].code);
	}
	/* A refused override wins over a bad rd.ccunlock value. */
	assert_int_equal(judge("rd.ccunlock.nope rd.break", false, &o), -EPERM);
	assert_string_equal(rsn.code, "CMDLINE_REFUSED");
}

static void test_sim_options_test_build(void **state)
{
	struct guest_cmdline_opts o;
	char s[256];
	(void)state;

	snprintf(s, sizeof(s), "rd.ccunlock.sim.policy=0x70000 rd.ccunlock.sim.measurement=%.96s",
		 "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627282"
		 "92a2b2c2d2e2f30");
	assert_int_equal(judge(s, true, &o), 0);
	assert_true(o.has_sim_policy);
	assert_int_equal(o.sim_policy, 0x70000);
	assert_true(o.has_sim_measurement);
	assert_int_equal(o.sim_measurement[0], 1);
	assert_int_equal(o.sim_measurement[47], 0x30);
	assert_int_equal(judge("rd.ccunlock.sim.policy=196608", true, &o), -EINVAL);
	assert_string_equal(rsn.code, "CMDLINE_VALUE");
	assert_int_equal(judge("rd.ccunlock.sim.measurement=0102", true, &o), -EINVAL);
	assert_string_equal(rsn.code, "CMDLINE_VALUE");
	assert_int_equal(judge("rd.ccunlock.sim.other=1", true, &o), -EPERM);
	assert_string_equal(rsn.code, "CMDLINE_UNKNOWN");
}

/*
 * The cases both suites run (tests/data/cmdline_cases.txt; the bats suite
 * runs them through the boot scripts' guard and `ccunlock cmdline-check`).
 */
static void test_shared_cases(void **state)
{
	char path[4096];
	char line[8192];
	unsigned n = 0, bad = 0;
	FILE *f;
	(void)state;

	snprintf(path, sizeof(path), "%s/tests/data/cmdline_cases.txt", tu_top());
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: cannot open", path);
	while (fgets(line, sizeof(line), f)) {
		struct guest_cmdline c;
		struct guest_cmdline_opts o;
		size_t len = strcspn(line, "\n");
		char *sp;
		int r;

		line[len] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		sp = strchr(line, ' ');
		if (!sp)
			fail_msg("%s: '%s': expected VERDICT CMDLINE", path, line);
		*sp = '\0';
		n++;
		memset(&rsn, 0, sizeof(rsn));
		r = guest_cmdline_split(sp + 1, strlen(sp + 1), &c, &rsn);
		if (r == 0) {
			r = guest_cmdline_judge(&c, NULL, &o, &rsn);
			guest_cmdline_done(&c);
		}
		if (strcmp(line, "ok") == 0 ? r != 0 : (r == 0 || strcmp(rsn.code, line) != 0)) {
			print_error("'%s': expected %s, got %s %s\n", sp + 1, line,
				    r == 0 ? "ok" : rsn.code, r == 0 ? "" : rsn.detail);
			bad++;
		}
	}
	fclose(f);
	assert_int_equal(bad, 0);
	/* the table is there and not cut short */
	assert_true(n >= 100);
}

static void test_apply_only_stricter(void **state)
{
	struct guest_cmdline_opts o;
	struct guest_config cfg;
	(void)state;

	guest_config_defaults(&cfg);
	cfg.require = GUEST_LEVEL_SEV_ES;
	assert_int_equal(judge("rd.ccunlock.deadline=10 rd.ccunlock.require=snp", false, &o), 0);
	assert_int_equal(guest_cmdline_apply(&o, &cfg, &rsn), 0);
	assert_int_equal(cfg.deadline, 10);
	assert_int_equal(cfg.require, GUEST_LEVEL_SNP);

	guest_config_defaults(&cfg);
	assert_int_equal(judge("rd.ccunlock.deadline=121", false, &o), 0);
	assert_int_equal(guest_cmdline_apply(&o, &cfg, &rsn), -EPERM);
	assert_string_equal(rsn.code, "CMDLINE_LOOSER");
	assert_int_equal(cfg.deadline, 120);
	assert_int_equal(judge("rd.ccunlock.deadline=120", false, &o), 0);
	assert_int_equal(guest_cmdline_apply(&o, &cfg, &rsn), 0);

	assert_int_equal(judge("rd.ccunlock.require=sev-es", false, &o), 0);
	assert_int_equal(guest_cmdline_apply(&o, &cfg, &rsn), -EPERM);
	assert_string_equal(rsn.code, "CMDLINE_LOOSER");
	assert_int_equal(cfg.require, GUEST_LEVEL_SNP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_kernel_rules),
		cmocka_unit_test(test_split_rejects),
		cmocka_unit_test(test_refused_overrides),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_ccunlock_options),
		cmocka_unit_test(test_sim_options_test_build),
		cmocka_unit_test(test_shared_cases),
		cmocka_unit_test(test_apply_only_stricter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
