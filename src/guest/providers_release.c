/* The release binary's evidence providers: real kernel interfaces only. */
#include "guest/build.h"
#include "guest/provider.h"

static const struct guest_provider *const providers[] = {
	&guest_provider_tsm,
	&guest_provider_sevguest,
	&guest_provider_azure,
};

const struct guest_build guest_build_info = {
	.name = "release",
	.test_build = false,
	.providers = providers,
	.n_providers = sizeof(providers) / sizeof(providers[0]),
};
