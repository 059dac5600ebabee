/*
 * What kind of ccunlock binary this is. The release binary links
 * providers_release.c (real evidence providers only); the test binary links
 * providers_test.c, which adds the simulator and the simulator's config and
 * command-line keys. Code in the guest library never references simulator
 * symbols directly: it only sees this table, so a release binary contains no
 * simulator and knows none of its keys.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct guest_provider;
struct guest_azure_sim;

struct guest_build {
	const char *name; /* "release" or "test" */
	bool test_build;  /* accepts simulator_* config keys and rd.ccunlock.sim.* */
	const struct guest_provider *const *providers; /* in `evidence = auto` order */
	size_t n_providers;
	const struct guest_azure_sim *azure_sim; /* test builds: the simulated paravisor */
};

/* Defined by providers_release.c or providers_test.c (one per binary). */
extern const struct guest_build guest_build_info;
