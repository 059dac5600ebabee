/* status and posture: what this VM is, and what a fresh report says. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "ccunlock/cli.h"
#include "ccunlock/exitcodes.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/util.h"
#include "guest/luks.h"
#include "guest/posture.h"
#include "snp/azure.h"
#include "snp/describe.h"

enum fmt { FMT_TEXT, FMT_JSON, FMT_PROM };

/* status works without a config file (defaults); a broken one is still an error. */
static int config_or_defaults(struct cli *c, struct guest_config *cfg)
{
	if (access(c->config_path, F_OK) < 0 && errno == ENOENT) {
		guest_config_defaults(cfg);
		return 0;
	}
	return cli_load_config(c, false, cfg);
}

static int parse_fmt(int argc, char **argv, enum fmt *f)
{
	*f = FMT_TEXT;
	if (argc == 1)
		return 0;
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		*f = FMT_JSON;
	else if (argc == 2 && strcmp(argv[1], "--prometheus") == 0)
		*f = FMT_PROM;
	else
		return -EINVAL;
	return 0;
}

struct status {
	int hdr_pinned; /* -1 unknown (no unlock on this boot), 0 no, 1 yes */
	char hdr_digest[GUEST_LUKS_PIN_HEX_LEN];
	struct guest_posture pos;
	const struct guest_provider *prov;
	bool have_report;
	struct snp_report rep;
	struct ccu_reason report_why;
	struct az_claims *az; /* azure-vtpm: quote checked (signature, PCR digest), not the chain */
};

/* What this boot's unlock left (CLI_RUNDIR); strict, else unknown. */
static void header_state(struct cli *c, struct status *s)
{
	char path[GUEST_PATH_MAX];
	_cleanup_free_ uint8_t *t = NULL;
	size_t len = 0, off;

	s->hdr_pinned = -1;
	if (guest_path(path, sizeof(path), c->rundir, GUEST_LUKS_STATE_NAME) < 0 ||
	    ccu_read_file(path, 2 * GUEST_LUKS_PIN_HEX_LEN, &t, &len) < 0)
		return;
	if (len > 7 && memcmp(t, "pinned ", 7) == 0)
		off = 7;
	else if (len > 9 && memcmp(t, "unpinned ", 9) == 0)
		off = 9;
	else
		return;
	if (len != off + GUEST_LUKS_PIN_HEX_LEN || t[len - 1] != '\n')
		return;
	for (size_t i = off; i < len - 1; i++)
		if (!strchr("0123456789abcdef", t[i]))
			return;
	memcpy(s->hdr_digest, t + off, GUEST_LUKS_PIN_HEX_LEN - 1);
	s->hdr_digest[GUEST_LUKS_PIN_HEX_LEN - 1] = '\0';
	s->hdr_pinned = off == 7;
}

/* azure-vtpm: the evidence a boot would send, checked for what it says. */
static void fresh_azure(const struct guest_provider_ctx *pctx, const uint8_t rd[64],
			struct status *s)
{
	struct az_evidence ev;
	json_t *j = NULL;

	if (s->prov->get_json(pctx, rd, &j, &s->report_why) < 0)
		return;
	s->az = calloc(1, sizeof(*s->az));
	if (!s->az) {
		json_decref(j);
		return;
	}
	if (az_evidence_parse(j, &ev, &s->report_why) == 0) {
		if (az_claims_parse(&ev, s->az, &s->report_why) == 0 &&
		    az_verify_quote(&ev, s->az, NULL, 0, &s->report_why) == 0) {
			s->rep = s->az->report;
			s->have_report = true;
		}
		az_evidence_done(&ev);
	}
	json_decref(j);
}

static void fresh_report(struct cli *c, const struct guest_config *cfg, struct status *s)
{
	struct guest_provider_ctx pctx = { .roots = &c->roots, .cfg = cfg,
					   .azure_sim = c->build->azure_sim };
	struct guest_evidence ev;
	uint8_t rd[64];

	if (guest_provider_select(c->build, &pctx, cfg->evidence, &s->prov, &s->report_why) < 0)
		return;
	/* Random REPORT_DATA: this report proves nothing to anyone, it only describes. */
	if (RAND_bytes(rd, sizeof(rd)) != 1) {
		ccu_reason_set(&s->report_why, "INTERNAL", "no random bytes");
		return;
	}
	if (s->prov->get_json) {
		fresh_azure(&pctx, rd, s);
		return;
	}
	if (guest_provider_get(s->prov, &pctx, rd, &ev, &s->report_why) < 0)
		return;
	if (snp_report_parse(ev.report, SNP_REPORT_SIZE, &s->rep, &s->report_why) == 0)
		s->have_report = true;
	guest_evidence_done(&ev);
}

static void print_json(struct cli *c, const struct status *s)
{
	json_t *o = json_object();
	char line[CCU_REASON_CODE_MAX + CCU_REASON_DETAIL_MAX + 4];

	json_object_set_new(o, "build", json_string(c->build->name));
	json_object_set_new(o, "posture", guest_posture_json(&s->pos));
	json_object_set_new(o, "evidence_provider",
			    s->prov ? json_string(s->prov->name) : json_null());
	json_object_set_new(o, "report",
			    s->have_report ?
				    snp_report_describe(&s->rep, snp_report_product(&s->rep)) :
				    json_null());
	json_object_set_new(o, "luks_header",
			    s->hdr_pinned < 0 ?
				    json_null() :
				    json_pack("{s:b,s:s}", "pinned", s->hdr_pinned, "digest",
					      s->hdr_digest));
	if (s->az && s->az->quote_ok)
		json_object_set_new(o, "azure", az_claims_describe(s->az));
	json_object_set_new(o, "report_error",
			    s->have_report ? json_null() :
					     json_string(ccu_reason_line(&s->report_why, line,
									 sizeof(line))));
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

static void prom_tcb(const char *kind, const uint8_t raw[8], enum snp_product p)
{
	struct snp_tcb t;

	if (!snp_tcb_decode(raw, p, &t))
		return;
	printf("ccunlock_snp_tcb{kind=\"%s\",component=\"bootloader\"} %u\n", kind, t.bootloader);
	printf("ccunlock_snp_tcb{kind=\"%s\",component=\"tee\"} %u\n", kind, t.tee);
	printf("ccunlock_snp_tcb{kind=\"%s\",component=\"snp\"} %u\n", kind, t.snp);
	printf("ccunlock_snp_tcb{kind=\"%s\",component=\"microcode\"} %u\n", kind, t.microcode);
	if (t.has_fmc)
		printf("ccunlock_snp_tcb{kind=\"%s\",component=\"fmc\"} %u\n", kind, t.fmc);
}

static void prom_policy(uint64_t p)
{
	static const struct {
		const char *name;
		uint64_t bit;
	} bits[] = {
		{ "smt", SNP_POLICY_SMT },
		{ "migrate_ma", SNP_POLICY_MIGRATE_MA },
		{ "debug", SNP_POLICY_DEBUG },
		{ "single_socket", SNP_POLICY_SINGLE_SOCKET },
		{ "cxl_allow", SNP_POLICY_CXL_ALLOW },
		{ "mem_aes_256_xts", SNP_POLICY_MEM_AES_256_XTS },
		{ "rapl_dis", SNP_POLICY_RAPL_DIS },
		{ "ciphertext_hiding", SNP_POLICY_CIPHERTEXT_HIDING },
		{ "page_swap_disable", SNP_POLICY_PAGE_SWAP_DISABLE },
	};

	printf("# HELP ccunlock_snp_policy_bit Guest policy bits of the launch (1 = set).\n"
	       "# TYPE ccunlock_snp_policy_bit gauge\n");
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		printf("ccunlock_snp_policy_bit{bit=\"%s\"} %d\n", bits[i].name,
		       (p & bits[i].bit) != 0);
	printf("ccunlock_snp_policy_abi{part=\"major\"} %u\nccunlock_snp_policy_abi{part=\"minor\"} "
	       "%u\n",
	       SNP_POLICY_ABI_MAJOR(p), SNP_POLICY_ABI_MINOR(p));
}

static void print_prom(struct cli *c, const struct status *s)
{
	const struct guest_posture *p = &s->pos;

	printf("# HELP ccunlock_build_info The ccunlock binary (release or test build).\n"
	       "# TYPE ccunlock_build_info gauge\nccunlock_build_info{build=\"%s\"} 1\n",
	       c->build->name);
	printf("# HELP ccunlock_memory_encryption_active SEV features active in this guest.\n"
	       "# TYPE ccunlock_memory_encryption_active gauge\n"
	       "ccunlock_memory_encryption_active{feature=\"sev\"} %d\n"
	       "ccunlock_memory_encryption_active{feature=\"sev-es\"} %d\n"
	       "ccunlock_memory_encryption_active{feature=\"sev-snp\"} %d\n",
	       p->sev, p->sev_es, p->snp);
	printf("# HELP ccunlock_simulated 1 when the platform is not a real one (test builds).\n"
	       "# TYPE ccunlock_simulated gauge\nccunlock_simulated %d\n", p->simulated);
	printf("# HELP ccunlock_vmpl VMPL the guest runs at (-1 unknown).\n"
	       "# TYPE ccunlock_vmpl gauge\nccunlock_vmpl %d\n", p->vmpl);
	printf("# HELP ccunlock_secure_boot UEFI Secure Boot (1 enabled, 0 disabled, -1 unknown).\n"
	       "# TYPE ccunlock_secure_boot gauge\nccunlock_secure_boot %d\n",
	       p->secure_boot == GUEST_SB_ENABLED ? 1 : p->secure_boot == GUEST_SB_DISABLED ? 0 : -1);
	if (s->prov)
		printf("# HELP ccunlock_evidence_provider_info The evidence provider in use.\n"
		       "# TYPE ccunlock_evidence_provider_info gauge\n"
		       "ccunlock_evidence_provider_info{provider=\"%s\"} 1\n",
		       s->prov->name);
	printf("# HELP ccunlock_luks_header_pinned This boot's LUKS2 header: 1 matched its "
	       "enrolment pin, 0 not pinned (template checks only), -1 unknown.\n"
	       "# TYPE ccunlock_luks_header_pinned gauge\nccunlock_luks_header_pinned %d\n",
	       s->hdr_pinned);
	printf("# HELP ccunlock_snp_report_ok 1 when a fresh attestation report was obtained.\n"
	       "# TYPE ccunlock_snp_report_ok gauge\nccunlock_snp_report_ok %d\n", s->have_report);
	if (!s->have_report)
		return;
	const struct snp_report *r = &s->rep;
	enum snp_product prod = snp_report_product(r);
	char m[97], chip[129], cur[16], com[16];
	ccu_hex_encode(r->measurement, 48, m, sizeof(m));
	ccu_hex_encode(r->chip_id, 64, chip, sizeof(chip));
	printf("# HELP ccunlock_snp_report_info Identity of the report (labels).\n"
	       "# TYPE ccunlock_snp_report_info gauge\n"
	       "ccunlock_snp_report_info{version=\"%u\",product=\"%s\",measurement=\"%s\","
	       "chip_id=\"%s\"} 1\n",
	       r->version, snp_product_name(prod), m, chip);
	printf("# HELP ccunlock_snp_firmware_info Firmware versions from the report.\n"
	       "# TYPE ccunlock_snp_firmware_info gauge\n"
	       "ccunlock_snp_firmware_info{kind=\"current\",version=\"%s\"} 1\n"
	       "ccunlock_snp_firmware_info{kind=\"committed\",version=\"%s\"} 1\n",
	       snp_fw_format(&r->current, cur, sizeof(cur)),
	       snp_fw_format(&r->committed, com, sizeof(com)));
	printf("# HELP ccunlock_snp_tcb TCB component security versions.\n"
	       "# TYPE ccunlock_snp_tcb gauge\n");
	prom_tcb("current", r->current_tcb, prod);
	prom_tcb("reported", r->reported_tcb, prod);
	prom_tcb("committed", r->committed_tcb, prod);
	prom_tcb("launch", r->launch_tcb, prod);
	prom_policy(r->policy);
	printf("# HELP ccunlock_snp_report_vmpl VMPL in the report.\n"
	       "# TYPE ccunlock_snp_report_vmpl gauge\nccunlock_snp_report_vmpl %u\n", r->vmpl);
}

/* The vTPM PCRs as policy lines (pcr.N = ...), from a known-good boot. */
static void print_azure(const struct az_claims *a)
{
	const struct az_runtime *r = &a->runtime;

	printf("\nAzure paravisor (HCL report v%u, quote signature and PCR digest checked):\n",
	       a->hcl_version);
	printf("  secure-boot %s, console-enabled %s, vmUniqueId %s\n",
	       r->secure_boot == AZ_TRUE ? "true" : r->secure_boot == AZ_FALSE ? "false" : "absent",
	       r->console_enabled == AZ_TRUE ? "true" :
	       r->console_enabled == AZ_FALSE ? "false" : "absent",
	       r->vm_id[0] ? r->vm_id : "(absent)");
	printf("vTPM PCRs (sha256), as release-policy lines:\n");
	for (unsigned i = 0; i < AZ_TPM_PCR_COUNT; i++) {
		char h[65];

		if (!(a->pcr_mask >> i & 1u))
			continue;
		ccu_hex_encode(a->pcr[i], 32, h, sizeof(h));
		printf("pcr.%u = %s\n", i, h);
	}
}

static void print_text(struct cli *c, const struct status *s)
{
	char line[CCU_REASON_CODE_MAX + CCU_REASON_DETAIL_MAX + 4];

	printf("build:         %s\n", c->build->name);
	guest_posture_print(stdout, &s->pos);
	printf("evidence:      %s\n", s->prov ? s->prov->name : "none");
	if (s->hdr_pinned < 0)
		printf("luks header:   unknown (no unlock recorded on this boot)\n");
	else
		printf("luks header:   %s (digest %s)\n",
		       s->hdr_pinned ? "pinned at enrolment, matched" :
				       "NOT pinned (plain key resource): template checks only",
		       s->hdr_digest);
	if (s->have_report) {
		printf("\nfresh attestation report (random REPORT_DATA):\n");
		snp_report_print(stdout, &s->rep, snp_report_product(&s->rep));
		if (s->az && s->az->quote_ok)
			print_azure(s->az);
	} else {
		printf("report:        unavailable (%s)\n",
		       ccu_reason_line(&s->report_why, line, sizeof(line)));
	}
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	struct guest_config cfg;
	struct status s;
	enum fmt f;

	memset(&s, 0, sizeof(s));
	if (parse_fmt(argc, argv, &f) < 0) {
		ccu_reason_set(&c->why, "USAGE", "status [--json | --prometheus]");
		return cli_fail(c);
	}
	if (config_or_defaults(c, &cfg) < 0)
		return cli_fail(c);
	cli_posture(c, &cfg, &s.pos);
	fresh_report(c, &cfg, &s);
	header_state(c, &s);
	if (f == FMT_JSON)
		print_json(c, &s);
	else if (f == FMT_PROM)
		print_prom(c, &s);
	else
		print_text(c, &s);
	free(s.az);
	guest_config_done(&cfg);
	return CCU_EXIT_OK;
}

int cmd_posture(struct cli *c, int argc, char **argv)
{
	struct guest_config cfg;
	struct guest_posture p;
	enum fmt f;
	int r;

	if (parse_fmt(argc, argv, &f) < 0 || f == FMT_PROM) {
		ccu_reason_set(&c->why, "USAGE", "posture [--json]");
		return cli_fail(c);
	}
	if (config_or_defaults(c, &cfg) < 0)
		return cli_fail(c);
	cli_posture(c, &cfg, &p);
	if (f == FMT_JSON) {
		json_t *o = guest_posture_json(&p);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else {
		guest_posture_print(stdout, &p);
	}
	/* The exit status says whether this posture meets the configured requirement. */
	r = guest_posture_check(&p, cfg.require, cfg.require_secure_boot, &c->why);
	guest_config_done(&cfg);
	return r < 0 ? cli_fail(c) : CCU_EXIT_OK;
}
