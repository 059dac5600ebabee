/*
 * What kind of ccunlock binary this is. The release binary links
 * providers_release.c (real evidence providers only, no test hooks); the test
 * binary links src/testonly/guest/providers_test.c, which adds the simulator
 * and the test hooks (the simulator's config and command-line keys, its
 * posture, the "test build" warnings). Code in the guest library never
 * references simulator symbols or names: it only sees this table, so a
 * release binary contains no simulator and knows none of its keys
 * (tests/integration/release_clean.sh checks nm and strings).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct guest_provider;
struct guest_azure_sim;
struct guest_config;
struct guest_roots;
struct guest_posture;
struct guest_cmdline_arg;
struct guest_cmdline_opts;
struct ccu_conf_entry;
struct ccu_conf_key;
struct ccu_reason;

/* What only a test build has (src/testonly/guest/test_hooks.c), reached
 * through the simulated provider (struct guest_provider.test). */
struct guest_test_hooks {
	const char *banner; /* logged on every run */
	/* Extra configuration keys, their parser (0 set, <0 refused with a
	 * reason), and a check of the whole configuration. */
	const struct ccu_conf_key *conf_keys;
	size_t n_conf_keys;
	int (*conf_set)(const struct ccu_conf_entry *e, struct guest_config *c,
			struct ccu_reason *err);
	int (*conf_check)(const struct guest_config *c, struct ccu_reason *err);
	/* rd.ccunlock.* keys beyond the release ones: 1 not a test key, 0 taken,
	 * <0 refused with a reason. *seen has one bit per key (from bit 8). */
	int (*cmdline_key)(const struct guest_cmdline_arg *a, struct guest_cmdline_opts *o,
			   unsigned *seen, struct ccu_reason *err);
	/* The posture for @cfg when its platform is simulated: 0 filled, 1 not
	 * simulated (probe the real one). */
	int (*posture)(const struct guest_roots *r, const struct guest_config *cfg,
		       struct guest_posture *out);
};

/* The hooks of test builds (NULL in the release binary). */
extern const struct guest_test_hooks guest_test_hooks;

struct guest_build {
	const char *name; /* "release" or "test" */
	bool test_build;  /* accepts simulator_* config keys and rd.ccunlock.sim.* */
	const struct guest_provider *const *providers; /* in `evidence = auto` order */
	size_t n_providers;
	const struct guest_azure_sim *azure_sim; /* test builds: the simulated paravisor */
};

/* The test hooks of @b: those of its first provider that has any (the
 * simulated one of a test build), NULL in a release build. */
const struct guest_test_hooks *guest_build_test_hooks(const struct guest_build *b);

/* Defined by providers_release.c or testonly/guest/providers_test.c (one per binary). */
extern const struct guest_build guest_build_info;
