/* What the subcommands share: exit codes, config, posture, evidence. */
#include <errno.h>
#include <string.h>

#include "ccunlock/cli.h"
#include "ccunlock/exitcodes.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/util.h"

/* The exit status of every registered code (src/common/reason_codes.def);
 * test-only codes are left out of the binaries and end as INTERNAL. */
static const struct {
	const char *code;
	int exit;
} exit_map[] = {
#define CCU_REASON(code, exit, meaning) { #code, CCU_EXIT_##exit },
#define CCU_REASON_TEST(code, exit, meaning)
#include "common/reason_codes.def"
#undef CCU_REASON
#undef CCU_REASON_TEST
};

int cli_exit_for_code(const char *code)
{
	for (size_t i = 0; code && i < ARRAY_SIZE(exit_map); i++)
		if (strcmp(code, exit_map[i].code) == 0)
			return exit_map[i].exit;
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

int cli_posture(struct cli *c, const struct guest_config *cfg, struct guest_posture *out)
{
	const struct guest_test_hooks *t = guest_build_test_hooks(c->build);

	/* Only a test build's hooks know a simulated platform. */
	if (!t || !t->posture || t->posture(&c->roots, cfg, out) != 0) {
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
