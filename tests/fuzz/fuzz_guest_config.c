/* Fuzz the guest configuration parser with the release and the test key sets
 * (the first byte picks one). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "guest/build.h"
#include "guest/config.h"
#include "guest/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int yes(const struct guest_provider_ctx *c)
{
	(void)c;
	return 1;
}

static const struct guest_provider p_tsm = { .name = "configfs-tsm", .available = yes };
static const struct guest_provider p_sev = { .name = "sev-guest", .available = yes };
static const struct guest_provider p_sim = { .name = "simulator", .simulated = true,
					     .test = &guest_test_hooks,
					     .available = yes };
static const struct guest_provider *const list[] = { &p_tsm, &p_sev, &p_sim };
static const struct guest_build builds[2] = {
	{ .name = "release", .test_build = false, .providers = list, .n_providers = 2 },
	{ .name = "test", .test_build = true, .providers = list, .n_providers = 3 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_config c;

	if (size < 1)
		return 0;
	const struct guest_build *b = &builds[data[0] & 1];
	if (guest_config_parse((const char *)data + 1, size - 1, b, data[0] & 2, &c, NULL) == 0) {
		if (!c.name || c.deadline == 0 || c.deadline > GUEST_DEADLINE_MAX)
			abort();
		if (!b->test_build && (c.simulator_dir || c.has_sim_policy))
			abort();
		guest_config_done(&c);
	}
	return 0;
}
