/* Fuzz the kernel command line: splitting, judging and applying; whatever is
 * accepted may only make the configuration stricter. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "guest/build.h"
#include "guest/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_cmdline c;
	struct guest_cmdline_opts o;
	struct guest_config cfg;

	if (guest_cmdline_split((const char *)data, size, &c, NULL) < 0)
		return 0;
	for (size_t i = 0; i < c.n; i++)
		if (!c.args[i].key)
			abort();
	if (guest_cmdline_judge(&c, (size & 1) ? &guest_test_hooks : NULL, &o, NULL) == 0) {
		guest_config_defaults(&cfg);
		cfg.deadline = 60;
		cfg.require = GUEST_LEVEL_SEV_ES;
		if (guest_cmdline_apply(&o, &cfg, NULL) == 0 &&
		    (cfg.deadline > 60 || cfg.require < GUEST_LEVEL_SEV_ES))
			abort();
	}
	guest_cmdline_done(&c);
	return 0;
}
