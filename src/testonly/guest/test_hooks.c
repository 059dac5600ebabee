/*
 * What only the test binary has (build/test/ccunlock; never compiled into
 * a release build, see the Makefile's TESTONLY_DIR): the simulator's
 * configuration keys (simulator_dir, simulator_policy,
 * simulator_measurement), its kernel command-line keys
 * (rd.ccunlock.sim.policy, rd.ccunlock.sim.measurement), its posture, and
 * the "TEST BUILD" warnings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/util.h"
#include "guest/build.h"
#include "guest/cmdline.h"
#include "guest/config.h"
#include "guest/posture.h"
#include "guest/provider.h"

/* Bits of judge's "seen" mask for our keys (the release keys use 0..7). */
#define SEEN_SIM_POLICY (1u << 8)
#define SEEN_SIM_MEASUREMENT (1u << 9)

static const struct ccu_conf_key sim_keys[] = {
	{ "simulator_dir", false },
	{ "simulator_policy", false },
	{ "simulator_measurement", false },
};

static int bad(struct ccu_reason *err, const struct ccu_conf_entry *e, const char *what)
{
	return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "line %u: %s: %s", e->line, e->key, what);
}

static int conf_set(const struct ccu_conf_entry *e, struct guest_config *c, struct ccu_reason *err)
{
	const char *k = e->key, *v = e->value;
	uint64_t n;

	if (strcmp(k, "simulator_dir") == 0) {
		if (v[0] == '\0' || strlen(v) >= GUEST_PATH_MAX)
			return bad(err, e, "expected a directory");
		free(c->simulator_dir);
		c->simulator_dir = strdup(v);
		return c->simulator_dir ? 0 : -ENOMEM;
	}
	if (strcmp(k, "simulator_policy") == 0) {
		if (strncmp(v, "0x", 2) != 0 || ccu_parse_u64(v, UINT64_MAX, true, &n) < 0)
			return bad(err, e, "expected 0x<hex>");
		c->has_sim_policy = true;
		c->sim_policy = n;
		return 0;
	}
	if (strcmp(k, "simulator_measurement") == 0) {
		if (ccu_hex_decode_exact(v, c->sim_measurement, 48) < 0)
			return bad(err, e, "expected 96 hex digits");
		c->has_sim_measurement = true;
		return 0;
	}
	return bad(err, e, "unexpected key");
}

static int conf_check(const struct guest_config *c, struct ccu_reason *err)
{
	if (strcmp(c->evidence, "simulator") == 0 && !c->simulator_dir)
		return ccu_fail(err, -EINVAL, "CONFIG_MISSING",
				"evidence = simulator needs simulator_dir");
	return 0;
}

static int cmdline_key(const struct guest_cmdline_arg *a, struct guest_cmdline_opts *o,
		       unsigned *seen, struct ccu_reason *err)
{
	const char *v = a->value;
	unsigned bit;
	uint64_t n;

	if (strcmp(a->key, "rd.ccunlock.sim.policy") == 0)
		bit = SEEN_SIM_POLICY;
	else if (strcmp(a->key, "rd.ccunlock.sim.measurement") == 0)
		bit = SEEN_SIM_MEASUREMENT;
	else
		return 1;
	if (*seen & bit)
		return ccu_fail(err, -EINVAL, "CMDLINE_VALUE",
				"kernel command line: '%s' given more than once", a->key);
	*seen |= bit;
	if (bit == SEEN_SIM_POLICY) {
		if (!v || strncmp(v, "0x", 2) != 0 || ccu_parse_u64(v, UINT64_MAX, true, &n) < 0)
			return guest_cmdline_bad_value(err, a, "0x<hex>");
		o->has_sim_policy = true;
		o->sim_policy = n;
	} else {
		if (!v || ccu_hex_decode_exact(v, o->sim_measurement, 48) < 0)
			return guest_cmdline_bad_value(err, a, "96 hex digits");
		o->has_sim_measurement = true;
	}
	log_warning("TEST BUILD: simulated launch parameters from the kernel command line");
	return 0;
}

void guest_posture_simulated(const struct guest_roots *r, struct guest_posture *p)
{
	guest_posture_given(r, GUEST_SEV_STATUS_SEV | GUEST_SEV_STATUS_ES | GUEST_SEV_STATUS_SNP,
			    0, "simulator", "simulated platform of a test build", p);
}

static int posture(const struct guest_roots *r, const struct guest_config *cfg,
		   struct guest_posture *out)
{
	const struct guest_provider_ctx pctx = { .roots = r, .cfg = cfg };

	/* azure-vtpm over swtpm with the simulated paravisor (azure_paravisor_sim.c) */
	if (strcmp(cfg->evidence, guest_provider_azure.name) == 0 &&
	    guest_azure_sim_paravisor.active(&pctx) > 0) {
		log_warning("TEST BUILD: simulated Azure paravisor (platform from %s) over the "
			    "vTPM; this is no protected VM",
			    cfg->simulator_dir);
		guest_posture_simulated(r, out);
		guest_posture_azure(out);
		return 0;
	}
	if (strcmp(cfg->evidence, "simulator") != 0)
		return 1;
	log_warning("TEST BUILD: simulated SEV-SNP platform from %s; this is no protected VM",
		    cfg->simulator_dir);
	guest_posture_simulated(r, out);
	return 0;
}

const struct guest_test_hooks guest_test_hooks = {
	.banner = "TEST BUILD: contains the SEV-SNP simulator; never use it to protect data",
	.conf_keys = sim_keys,
	.n_conf_keys = ARRAY_SIZE(sim_keys),
	.conf_set = conf_set,
	.conf_check = conf_check,
	.cmdline_key = cmdline_key,
	.posture = posture,
};
