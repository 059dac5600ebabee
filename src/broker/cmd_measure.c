/*
 *   ccunlock-kbs measure --mode snp|seves|sev --ovmf FILE --vcpus N
 *                        (--vcpu-type NAME | --vcpu-sig HEX | --vcpu-family N ...)
 *                        [--guest-features HEX] [--vmm qemu|ec2|gce]
 *                        [--kernel FILE [--initrd FILE] [--append STRING]]
 *                        [--ovmf-hash HEX] [--json]
 *
 * The expected launch measurement of a guest, computed from its launch
 * inputs before it ever boots (src/measure/). The option parser is shared
 * with "policy measure", which adds the result to a stored policy.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/cli.h"
#include "common/codec.h"
#include "common/util.h"
#include "measure/measure.h"

static const char measure_help[] =
	"usage: ccunlock-kbs measure --mode snp|seves|sev --ovmf FILE --vcpus N\n"
	"         (--vcpu-type NAME | --vcpu-sig HEX | --vcpu-family N --vcpu-model N\n"
	"          --vcpu-stepping N) [--guest-features HEX] [--vmm qemu|ec2|gce]\n"
	"         [--kernel FILE [--initrd FILE] [--append STRING]] [--ovmf-hash HEX] [--json]\n"
	"       ccunlock-kbs policy measure NAME [the same options] [--config FILE]\n"
	"\nPrints the launch digest the platform will report for a guest launched from these\n"
	"inputs (SNP: the 48-byte MEASUREMENT; SEV-ES/SEV: the 32-byte digest before the HMAC),\n"
	"in lower-case hex. --mode snp:ovmf-hash prints the SNP digest of the firmware pages only.\n"
	"--vcpu-type: EPYC, EPYC-v1..v4, EPYC-IBPB, EPYC-Rome[-v1..v3], EPYC-Milan[-v1,-v2],\n"
	"EPYC-Genoa[-v1], EPYC-Turin (QEMU's -cpu); --vcpu-sig for -cpu host (CPUID 1 EAX).\n"
	"Numbers are decimal or 0x hex. --guest-features defaults to 0x1 (SNPActive).\n";

enum {
	M_MODE = 256,
	M_OVMF,
	M_VCPUS,
	M_TYPE,
	M_SIG,
	M_FAMILY,
	M_MODEL,
	M_STEPPING,
	M_FEATURES,
	M_VMM,
	M_KERNEL,
	M_INITRD,
	M_APPEND,
	M_OVMF_HASH,
	M_JSON,
	M_CONFIG,
	M_HELP,
};

static const struct option measure_opts[] = {
	{ "mode", required_argument, NULL, M_MODE },
	{ "ovmf", required_argument, NULL, M_OVMF },
	{ "vcpus", required_argument, NULL, M_VCPUS },
	{ "vcpu-type", required_argument, NULL, M_TYPE },
	{ "vcpu-sig", required_argument, NULL, M_SIG },
	{ "vcpu-family", required_argument, NULL, M_FAMILY },
	{ "vcpu-model", required_argument, NULL, M_MODEL },
	{ "vcpu-stepping", required_argument, NULL, M_STEPPING },
	{ "guest-features", required_argument, NULL, M_FEATURES },
	{ "vmm", required_argument, NULL, M_VMM },
	{ "vmm-type", required_argument, NULL, M_VMM },
	{ "kernel", required_argument, NULL, M_KERNEL },
	{ "initrd", required_argument, NULL, M_INITRD },
	{ "append", required_argument, NULL, M_APPEND },
	{ "ovmf-hash", required_argument, NULL, M_OVMF_HASH },
	{ "snp-ovmf-hash", required_argument, NULL, M_OVMF_HASH },
	{ "json", no_argument, NULL, M_JSON },
	{ "config", required_argument, NULL, M_CONFIG },
	{ "help", no_argument, NULL, M_HELP },
	{ 0 },
};

static int musage(const char *cmd, const char *what)
{
	fprintf(stderr, "ccunlock-kbs %s: %s (see ccunlock-kbs %s --help)\n", cmd, what, cmd);
	return BROKER_EXIT_USAGE;
}

static int num(const char *cmd, const char *opt, const char *v, uint64_t max, uint64_t *out)
{
	char msg[160];

	if (ccu_parse_u64(v, max, true, out) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s '%.40s' is not a number (decimal or 0x hex) up to 0x%llx",
		 opt, v, (unsigned long long)max);
	return musage(cmd, msg);
}

int broker_measure_parse(const char *cmd, int argc, char **argv, bool policy,
			 struct broker_measure_args *a)
{
	const char *v[M_HELP + 1] = { 0 };
	uint64_t n, fam = 0, model = 0, step = 0;
	int c, r, npos = 0;

	memset(a, 0, sizeof(*a));
	a->config = BROKER_DEFAULT_CONFIG;
	a->in.vmm = MEAS_VMM_QEMU;
	a->in.guest_features = 0x1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", measure_opts, NULL)) != -1) {
		if (c == M_HELP) {
			printf("%s", measure_help);
			return -1;
		}
		if (c < M_MODE || c > M_CONFIG || (c == M_CONFIG && !policy)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "unknown or incomplete option '%.60s'",
				 argv[optind - 1]);
			return musage(cmd, msg);
		}
		if (v[c] && c != M_JSON)
			return musage(cmd, "an option is given twice");
		v[c] = c == M_JSON ? "" : optarg;
	}
	for (; optind < argc; optind++) {
		if (!policy || npos++)
			return musage(cmd, "unexpected argument");
		a->name = argv[optind];
	}
	if (policy && !a->name)
		return musage(cmd, "policy measure needs a policy NAME");
	if (!v[M_MODE] || meas_mode_from_str(v[M_MODE], &a->in.mode) < 0)
		return musage(cmd, "--mode must be snp, seves, sev or snp:ovmf-hash");
	if (!v[M_OVMF])
		return musage(cmd, "--ovmf FILE is required");
	a->in.ovmf = v[M_OVMF];
	a->json = v[M_JSON] != NULL;
	if (v[M_CONFIG])
		a->config = v[M_CONFIG];
	if (policy && a->in.mode != MEAS_MODE_SNP)
		return musage(cmd, "a release policy holds SNP measurements: use --mode snp");
	if (v[M_VMM] && meas_vmm_from_str(v[M_VMM], &a->in.vmm) < 0)
		return musage(cmd, "--vmm must be qemu, ec2 or gce");
	if (a->in.mode == MEAS_MODE_SNP_OVMF_HASH) {
		for (int o = M_VCPUS; o <= M_OVMF_HASH; o++)
			if (v[o])
				return musage(cmd, "--mode snp:ovmf-hash takes only --ovmf "
						   "(and --json)");
		return 0;
	}
	if (a->in.mode == MEAS_MODE_SEV) {
		for (int o = M_VCPUS; o <= M_VMM; o++)
			if (v[o])
				return musage(cmd, "--mode sev measures no vCPU state: --vcpus, "
						   "--vcpu-*, --guest-features and --vmm do not "
						   "apply");
	} else {
		if (!v[M_VCPUS])
			return musage(cmd, "--vcpus N is required");
		r = num(cmd, "--vcpus", v[M_VCPUS], MEAS_VCPUS_MAX, &n);
		if (r)
			return r;
		if (n == 0)
			return musage(cmd, "--vcpus must be at least 1");
		a->in.vcpus = (unsigned)n;
		if (!!v[M_TYPE] + !!v[M_SIG] + !!(v[M_FAMILY] || v[M_MODEL] || v[M_STEPPING]) > 1)
			return musage(cmd, "give one of --vcpu-type, --vcpu-sig, --vcpu-family");
		if (v[M_TYPE] && meas_vcpu_type_sig(v[M_TYPE], &a->in.vcpu_sig) < 0)
			return musage(cmd, "unknown --vcpu-type (see --help for the names)");
		if (v[M_SIG]) {
			r = num(cmd, "--vcpu-sig", v[M_SIG], UINT32_MAX, &n);
			if (r)
				return r;
			a->in.vcpu_sig = (uint32_t)n;
		}
		if (v[M_FAMILY] || v[M_MODEL] || v[M_STEPPING]) {
			if (!v[M_FAMILY] || !v[M_MODEL] || !v[M_STEPPING])
				return musage(cmd, "--vcpu-family, --vcpu-model and --vcpu-stepping "
						   "go together");
			r = num(cmd, "--vcpu-family", v[M_FAMILY], 0xff + 0xf, &fam);
			if (!r)
				r = num(cmd, "--vcpu-model", v[M_MODEL], 0xff, &model);
			if (!r)
				r = num(cmd, "--vcpu-stepping", v[M_STEPPING], 0xf, &step);
			if (r)
				return r;
			a->in.vcpu_sig = meas_cpu_sig((unsigned)fam, (unsigned)model, (unsigned)step);
		}
		/* Only QEMU puts the signature into the VMSA. */
		if (a->in.vmm == MEAS_VMM_QEMU && !v[M_TYPE] && !v[M_SIG] && !v[M_FAMILY])
			return musage(cmd, "QEMU guests need --vcpu-type, --vcpu-sig or "
					   "--vcpu-family/--vcpu-model/--vcpu-stepping");
		if (v[M_FEATURES]) {
			r = num(cmd, "--guest-features", v[M_FEATURES], UINT64_MAX,
				&a->in.guest_features);
			if (r)
				return r;
		}
	}
	if ((v[M_INITRD] || v[M_APPEND]) && !v[M_KERNEL])
		return musage(cmd, "--initrd and --append need --kernel");
	a->in.kernel = v[M_KERNEL];
	a->in.initrd = v[M_INITRD];
	a->in.append = v[M_APPEND];
	if (v[M_OVMF_HASH]) {
		if (a->in.mode != MEAS_MODE_SNP)
			return musage(cmd, "--ovmf-hash applies to --mode snp only");
		if (ccu_hex_decode_exact(v[M_OVMF_HASH], a->in.ovmf_hash, MEAS_SNP_DIGEST) < 0)
			return musage(cmd, "--ovmf-hash must be 96 hex digits");
		a->in.has_ovmf_hash = true;
	}
	return 0;
}

int broker_measure_compute(const char *cmd, const struct broker_measure_args *a,
			   struct meas_result *res)
{
	struct ccu_reason why = { 0 };

	if (meas_compute(&a->in, res, &why) == 0)
		return BROKER_EXIT_OK;
	fprintf(stderr, "ccunlock-kbs %s: %s: %s\n", cmd, why.code, why.detail);
	return strcmp(why.code, "FIRMWARE_READ") == 0 || strcmp(why.code, "MEASURE_INPUT") == 0 ?
		       BROKER_EXIT_USAGE :
		       BROKER_EXIT_REJECTED;
}

static char *hex(const uint8_t *d, size_t n, char *buf)
{
	ccu_hex_encode(d, n, buf, 2 * n + 1);
	return buf;
}

static json_t *json_result(const struct broker_measure_args *a, const struct meas_result *res)
{
	const struct meas_input *in = &a->in;
	char h[2 * MEAS_SNP_DIGEST + 1], num_s[24];
	json_t *o = json_object(), *fw = json_object();

	if (!o || !fw) {
		json_decref(o);
		json_decref(fw);
		return NULL;
	}
	json_object_set_new(o, "mode", json_string(meas_mode_name(in->mode)));
	json_object_set_new(fw, "file", json_string(in->ovmf));
	json_object_set_new(fw, "size", json_integer((json_int_t)res->fw.size));
	if (res->has_ovmf_sha256)
		json_object_set_new(fw, "sha256", json_string(hex(res->ovmf_sha256, 32, h)));
	if (in->has_ovmf_hash)
		json_object_set_new(fw, "snp_ovmf_hash",
				    json_string(hex(in->ovmf_hash, MEAS_SNP_DIGEST, h)));
	json_object_set_new(o, "ovmf", fw);
	if (in->mode == MEAS_MODE_SNP || in->mode == MEAS_MODE_SEV_ES) {
		json_object_set_new(o, "vmm", json_string(meas_vmm_name(in->vmm)));
		json_object_set_new(o, "vcpus", json_integer(in->vcpus));
		snprintf(num_s, sizeof(num_s), "0x%08x", in->vcpu_sig);
		json_object_set_new(o, "vcpu_sig", json_string(num_s));
		snprintf(num_s, sizeof(num_s), "0x%llx",
			 in->mode == MEAS_MODE_SNP ? (unsigned long long)in->guest_features : 0ull);
		json_object_set_new(o, "guest_features", json_string(num_s));
	}
	if (res->has_kernel) {
		json_object_set_new(o, "kernel",
				    json_pack("{s:s,s:s}", "file", in->kernel, "sha256",
					      hex(res->kernel_sha256, 32, h)));
		json_object_set_new(o, "initrd",
				    json_pack("{s:o,s:s}", "file",
					      in->initrd ? json_string(in->initrd) : json_null(),
					      "sha256", hex(res->initrd_sha256, 32, h)));
		json_object_set_new(o, "cmdline",
				    json_pack("{s:s,s:s}", "value", in->append ? in->append : "",
					      "sha256", hex(res->cmdline_sha256, 32, h)));
	}
	json_object_set_new(o, "measurement", json_string(hex(res->digest, res->digest_len, h)));
	return o;
}

int broker_cmd_measure(int argc, char **argv)
{
	struct broker_measure_args a;
	struct meas_result res;
	char h[2 * MEAS_SNP_DIGEST + 1];
	json_t *o;
	int r = broker_measure_parse("measure", argc, argv, false, &a);

	if (r)
		return r < 0 ? BROKER_EXIT_OK : r;
	r = broker_measure_compute("measure", &a, &res);
	if (r)
		return r;
	if (!a.json) {
		printf("%s\n", hex(res.digest, res.digest_len, h));
		return BROKER_EXIT_OK;
	}
	o = json_result(&a, &res);
	if (!o || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
		json_decref(o);
		fprintf(stderr, "ccunlock-kbs measure: cannot print the result\n");
		return BROKER_EXIT_FAILURE;
	}
	fputc('\n', stdout);
	json_decref(o);
	return BROKER_EXIT_OK;
}
