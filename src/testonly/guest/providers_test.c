/*
 * The test binary's evidence providers: the real ones plus the simulated
 * platform (never chosen by `evidence = auto`), and the simulator's config
 * and kernel command-line keys.
 */
#include "guest/build.h"
#include "guest/provider.h"

static const struct guest_provider *const providers[] = {
	&guest_provider_tsm,
	&guest_provider_sevguest,
	&guest_provider_azure,
	&guest_provider_sim,
};

const struct guest_build guest_build_info = {
	.name = "test",
	.test_build = true,
	.providers = providers,
	.n_providers = sizeof(providers) / sizeof(providers[0]),
	.azure_sim = &guest_azure_sim_paravisor,
};
