/* /etc/ccunlock/ccunlock.conf: strict keys and values; simulator keys only
 * in test builds. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guest/build.h"
#include "guest/config.h"
#include "guest/provider.h"

static int fake_available(const struct guest_provider_ctx *c)
{
	(void)c;
	return 1;
}

static const struct guest_provider p_tsm = { .name = "configfs-tsm", .available = fake_available };
static const struct guest_provider p_sev = { .name = "sev-guest", .available = fake_available };
static const struct guest_provider p_sim = { .name = "simulator", .simulated = true,
					     .test = &guest_test_hooks,
					     .available = fake_available };
static const struct guest_provider *const rel_p[] = { &p_tsm, &p_sev };
static const struct guest_provider *const test_p[] = { &p_tsm, &p_sev, &p_sim };
static const struct guest_build release = { "release", false, rel_p, 2, NULL };
static const struct guest_build testb = { "test", true, test_p, 3, NULL };

static struct ccu_reason rsn;

static int parse(const char *s, const struct guest_build *b, bool need, struct guest_config *c)
{
	memset(&rsn, 0, sizeof(rsn));
	return guest_config_parse(s, strlen(s), b, need, c, &rsn);
}

#define BROKER "broker_url = https://192.0.2.1:8443\nbroker_ca = /etc/ccunlock/ca.pem\n"

static void test_defaults_and_values(void **state)
{
	struct guest_config c;
	(void)state;

	assert_int_equal(parse(BROKER, &release, true, &c), 0);
	assert_string_equal(c.broker_url, "https://192.0.2.1:8443");
	assert_string_equal(c.broker_ca, "/etc/ccunlock/ca.pem");
	assert_null(c.device);
	assert_string_equal(c.name, "ccunlock-root");
	assert_int_equal(c.deadline, 120);
	assert_int_equal(c.require, GUEST_LEVEL_SNP);
	assert_false(c.require_secure_boot);
	assert_false(c.require_header_pin);
	assert_string_equal(c.evidence, "auto");
	guest_config_done(&c);

	assert_int_equal(parse(BROKER "# comment\n\ndevice = UUID=0f0e0d0c-0b0a-0908-0706-050403020100\n"
				      "name = root_crypt\ndeadline = 30\nrequire = sev-es\n"
				      "require_secure_boot = yes\nevidence = sev-guest\n"
				      "require_header_pin = yes\n",
			       &release, true, &c),
			 0);
	assert_string_equal(c.device, "UUID=0f0e0d0c-0b0a-0908-0706-050403020100");
	assert_string_equal(c.name, "root_crypt");
	assert_int_equal(c.deadline, 30);
	assert_int_equal(c.require, GUEST_LEVEL_SEV_ES);
	assert_true(c.require_secure_boot);
	assert_true(c.require_header_pin);
	assert_string_equal(c.evidence, "sev-guest");
	guest_config_done(&c);

	/* Commands that never reach a broker do not need it configured. */
	assert_int_equal(parse("require = sev\n", &release, false, &c), 0);
	assert_int_equal(c.require, GUEST_LEVEL_SEV);
	guest_config_done(&c);
}

static void test_rejects(void **state)
{
	static const struct {
		const char *text;
		const char *code;
	} bad[] = {
		{ "broker_ca = /ca.pem\n", "CONFIG_MISSING" },
		{ "broker_url = https://a\n", "CONFIG_MISSING" },
		{ BROKER "unknown = 1\n", "CONFIG_UNKNOWN_KEY" },
		{ BROKER "deadline = 5\ndeadline = 6\n", "CONFIG_DUPLICATE_KEY" },
		{ BROKER "deadline\n", "CONFIG_SYNTAX" },
		{ BROKER "deadline = 0\n", "CONFIG_VALUE" },
		{ BROKER "deadline = 3601\n", "CONFIG_VALUE" },
		{ BROKER "deadline = 12s\n", "CONFIG_VALUE" },
		{ BROKER "require = tdx\n", "CONFIG_VALUE" },
		{ BROKER "require = SNP\n", "CONFIG_VALUE" },
		{ BROKER "require_secure_boot = perhaps\n", "CONFIG_VALUE" },
		{ BROKER "evidence = simulator\n", "CONFIG_VALUE" },
		{ BROKER "evidence = tdx\n", "CONFIG_VALUE" },
		{ BROKER "device = sda\n", "CONFIG_VALUE" },
		{ BROKER "device = UUID=xyz\n", "CONFIG_VALUE" },
		{ BROKER "name = .hidden\n", "CONFIG_VALUE" },
		{ BROKER "name = a/b\n", "CONFIG_VALUE" },
		{ BROKER "simulator_dir = /tmp/sim\n", "CONFIG_UNKNOWN_KEY" },
		{ BROKER "simulator_policy = 0x30000\n", "CONFIG_UNKNOWN_KEY" },
		{ BROKER "simulator_measurement = 00\n", "CONFIG_UNKNOWN_KEY" },
		{ "broker_url = http://192.0.2.1\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://h:0\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://h:65536\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://h:80x\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://h/kbs\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://u@h\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://h?x\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://a..b\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://[::1\nbroker_ca = /ca\n", "CONFIG_VALUE" },
		{ "broker_url = https://h\nbroker_ca = ca.pem\n", "CONFIG_VALUE" },
	};
	struct guest_config c;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = parse(bad[i].text, &release, true, &c);
		if (r >= 0 || strcmp(rsn.code, bad[i].code) != 0)
			fail_msg("case %zu: %d %s (%s), expected %s", i, r, rsn.code, rsn.detail,
				 bad[i].code);
	}
}

static void test_urls(void **state)
{
	static const char *const good[] = { "https://127.0.0.1:8443", "https://kbs.example.org",
					    "https://kbs.example.org/", "https://[::1]:443",
					    "https://[fd00::1]" };
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (guest_broker_url_check(good[i], &rsn) < 0)
			fail_msg("%s: %s", good[i], rsn.detail);
}

static void test_several_brokers(void **state)
{
	struct guest_config c;
	char text[2048];
	size_t n = 0;
	(void)state;

	assert_int_equal(parse("broker_url = https://a.example\nbroker_url = https://b.example:8443\n"
			       "broker_url = https://[::1]\nbroker_ca = /ca.pem\n",
			       &release, true, &c),
			 0);
	assert_string_equal(c.broker_url, "https://a.example");
	assert_int_equal(c.n_more_brokers, 2);
	assert_string_equal(c.more_brokers[0], "https://b.example:8443");
	assert_string_equal(c.more_brokers[1], "https://[::1]");
	guest_config_done(&c);
	/* Each line is checked like the first. */
	assert_true(parse("broker_url = https://a\nbroker_url = http://b\nbroker_ca = /ca\n",
			  &release, true, &c) < 0);
	assert_string_equal(rsn.code, "CONFIG_VALUE");
	/* Bounded: GUEST_MAX_BROKERS lines at most. */
	for (int i = 0; i <= GUEST_MAX_BROKERS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "broker_url = https://b%d\n", i);
	snprintf(text + n, sizeof(text) - n, "broker_ca = /ca\n");
	assert_true(parse(text, &release, true, &c) < 0);
	assert_string_equal(rsn.code, "CONFIG_VALUE");
	assert_non_null(strstr(rsn.detail, "at most"));
}

static void test_simulator_keys_in_test_build(void **state)
{
	struct guest_config c;
	(void)state;

	assert_int_equal(parse(BROKER "evidence = simulator\nsimulator_dir = /tmp/sim\n"
				      "simulator_policy = 0x70000\nsimulator_measurement = "
				      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
				      "1f202122232425262728292a2b2c2d2e2f\n",
			       &testb, true, &c),
			 0);
	assert_string_equal(c.evidence, "simulator");
	assert_string_equal(c.simulator_dir, "/tmp/sim");
	assert_true(c.has_sim_policy);
	assert_int_equal(c.sim_policy, 0x70000);
	assert_true(c.has_sim_measurement);
	assert_int_equal(c.sim_measurement[47], 0x2f);
	guest_config_done(&c);

	assert_int_equal(parse(BROKER "evidence = simulator\n", &testb, true, &c), -EINVAL);
	assert_string_equal(rsn.code, "CONFIG_MISSING");
	assert_int_equal(parse(BROKER "simulator_policy = 196608\n", &testb, true, &c), -EINVAL);
	assert_string_equal(rsn.code, "CONFIG_VALUE");
	assert_int_equal(parse(BROKER "simulator_measurement = 0011\n", &testb, true, &c), -EINVAL);
	assert_string_equal(rsn.code, "CONFIG_VALUE");
}

static void test_levels(void **state)
{
	enum guest_level l;
	(void)state;

	assert_int_equal(guest_level_from_name("snp", &l), 0);
	assert_int_equal(l, GUEST_LEVEL_SNP);
	assert_int_equal(guest_level_from_name("none", &l), -EINVAL);
	assert_string_equal(guest_level_name(GUEST_LEVEL_SEV_ES), "sev-es");
	assert_true(GUEST_LEVEL_SEV < GUEST_LEVEL_SEV_ES && GUEST_LEVEL_SEV_ES < GUEST_LEVEL_SNP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_several_brokers),
		cmocka_unit_test(test_simulator_keys_in_test_build),
		cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
