/* What the subcommands share: exit codes, config, posture, evidence. */
#include <errno.h>
#include <string.h>

#include "ccunlock/cli.h"
#include "ccunlock/exitcodes.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/util.h"

static const struct {
	const char *prefix; /* a full code, or a prefix ending in '_' */
	int exit;
} exit_map[] = {
	{ "USAGE", CCU_EXIT_USAGE },
	{ "CONFIG_", CCU_EXIT_CONFIG },
	{ "POSTURE_", CCU_EXIT_POSTURE },
	{ "CMDLINE_", CCU_EXIT_POSTURE },
	{ "BROKER_UNREACHABLE", CCU_EXIT_NETWORK },
	{ "BROKER_TIMEOUT", CCU_EXIT_NETWORK },
	{ "BROKER_UNAVAILABLE", CCU_EXIT_NETWORK },
	{ "BROKER_TLS", CCU_EXIT_NETWORK },
	{ "BROKER_", CCU_EXIT_DENIED },
	{ "ADMIN_", CCU_EXIT_DENIED },
	{ "ENROLL_EXISTS", CCU_EXIT_DENIED },
	{ "KBS_INTERNAL", CCU_EXIT_INTERNAL },
	{ "KBS_", CCU_EXIT_DENIED },
	{ "LUKS_WRONG_KEY", CCU_EXIT_WRONG_KEY },
	{ "LUKS_", CCU_EXIT_DEVICE },
	{ "TOKEN_", CCU_EXIT_DEVICE },
};

int cli_exit_for_code(const char *code)
{
	for (size_t i = 0; i < ARRAY_SIZE(exit_map); i++) {
		const char *p = exit_map[i].prefix;
		size_t n = strlen(p);
		if (p[n - 1] == '_' ? strncmp(code, p, n) == 0 : strcmp(code, p) == 0)
			return exit_map[i].exit;
	}
	return CCU_EXIT_INTERNAL;
}

int cli_fail(struct cli *c)
{
	if (!ccu_reason_is_set(&c->why))
		ccu_reason_set(&c->why, "INTERNAL", "failed without a reason");
	log_error("%s: %s", c->why.code, c->why.detail);
	return cli_exit_for_code(c->why.code);
}

int cli_load_config(struct cli *c, bool need_broker, struct guest_config *cfg)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int r;

	r = ccu_read_file(c->config_path, GUEST_CONFIG_MAX_FILE, &text, &len);
	if (r < 0)
		return ccu_fail(&c->why, r, "CONFIG_IO", "%s: %s", c->config_path, strerror(-r));
	r = guest_config_parse((const char *)text, len, c->build, need_broker, cfg, &c->why);
	if (r < 0) {
		/* Name the file in front of the parser's "line N: ..." */
		struct ccu_reason why = c->why;
		return ccu_fail(&c->why, r, why.code, "%s: %s", c->config_path, why.detail);
	}
	return 0;
}

static bool simulated(const struct guest_config *cfg)
{
	return strcmp(cfg->evidence, "simulator") == 0;
}

/* Test builds: azure-vtpm against swtpm with the simulated paravisor. */
static bool azure_simulated(const struct cli *c, const struct guest_config *cfg)
{
	struct guest_provider_ctx pctx = { .roots = &c->roots, .cfg = cfg,
					   .azure_sim = c->build->azure_sim };

	return pctx.azure_sim && strcmp(cfg->evidence, guest_provider_azure.name) == 0 &&
	       pctx.azure_sim->active(&pctx) > 0;
}

int cli_posture(struct cli *c, const struct guest_config *cfg, struct guest_posture *out)
{
	if (azure_simulated(c, cfg)) {
		log_warning("TEST BUILD: simulated Azure paravisor (platform from %s) over the "
			    "vTPM; this is no protected VM",
			    cfg->simulator_dir);
		guest_posture_simulated(&c->roots, out);
		guest_posture_azure(out);
	} else if (simulated(cfg)) {
		log_warning("TEST BUILD: simulated SEV-SNP platform from %s; this is no "
			    "protected VM",
			    cfg->simulator_dir);
		guest_posture_simulated(&c->roots, out);
	} else {
		struct guest_provider_ctx pctx = { .roots = &c->roots, .cfg = cfg,
						   .azure_sim = c->build->azure_sim };

		guest_posture_probe(&c->roots, out);
		/* Azure: the paravisor's HCL report in the vTPM, no SNP guest device. */
		if (strcmp(cfg->evidence, guest_provider_azure.name) == 0 ||
		    (strcmp(cfg->evidence, "auto") == 0 && !out->sev_guest_dev && !out->tsm_report &&
		     guest_provider_azure.available(&pctx) > 0))
			guest_posture_azure(out);
	}
	log_info("posture: %s, VMPL %d, Secure Boot %s", guest_level_name(out->level), out->vmpl,
		 guest_secure_boot_name(out->secure_boot));
	return 0;
}
