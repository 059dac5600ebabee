/*
 * The command line of a measurement, shared by "ccunlock-kbs measure",
 * "ccunlock-kbs policy measure" and the simulated platform (which measures
 * the launch it simulates from the same inputs). Same meaning as
 * sev-snp-measure's options; see meas_args_help.
 */
#include "measure/measure.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/codec.h"
#include "common/util.h"

const char meas_args_help[] =
	"  --mode snp|seves|sev --ovmf FILE --vcpus N\n"
	"  (--vcpu-type NAME | --vcpu-sig HEX | --vcpu-family N --vcpu-model N --vcpu-stepping N)\n"
	"  [--guest-features HEX] [--vmm qemu|ec2|gce]\n"
	"  [--kernel FILE [--initrd FILE] [--append STRING]] [--ovmf-hash HEX] [--json]\n"
	"\nThe launch digest the platform will report for a guest launched from these\n"
	"inputs (SNP: the 48-byte MEASUREMENT; SEV-ES/SEV: the 32-byte digest before the HMAC),\n"
	"in lower-case hex. --mode snp:ovmf-hash prints the SNP digest of the firmware pages only.\n"
	"--mode snp:svsm (QEMU with a Coconut SVSM) takes --svsm FILE and --vars-size N or\n"
	"--vars-file FILE (the OVMF_VARS between SVSM and OVMF).\n"
	"--dump-vmsa DIR writes the measured VMSA of every vCPU as DIR/vmsa<N>.bin.\n"
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
	M_SVSM,
	M_VARS_SIZE,
	M_VARS_FILE,
	M_DUMP_VMSA,
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
	{ "svsm", required_argument, NULL, M_SVSM },
	{ "vars-size", required_argument, NULL, M_VARS_SIZE },
	{ "vars-file", required_argument, NULL, M_VARS_FILE },
	{ "dump-vmsa", required_argument, NULL, M_DUMP_VMSA },
	{ "json", no_argument, NULL, M_JSON },
	{ "config", required_argument, NULL, M_CONFIG },
	{ "help", no_argument, NULL, M_HELP },
	{ 0 },
};

static int musage(struct ccu_reason *why, const char *what)
{
	return ccu_fail(why, -EINVAL, "USAGE", "%s", what);
}

static int num(struct ccu_reason *why, const char *opt, const char *v, uint64_t max, uint64_t *out)
{
	if (ccu_parse_u64(v, max, true, out) == 0)
		return 0;
	return ccu_fail(why, -EINVAL, "USAGE",
			"%s '%.40s' is not a number (decimal or 0x hex) up to 0x%llx", opt, v,
			(unsigned long long)max);
}

int meas_args_parse(int argc, char **argv, bool policy, struct meas_args *a,
		    struct ccu_reason *why)
{
	const char *v[M_HELP + 1] = { 0 };
	uint64_t n, fam = 0, model = 0, step = 0;
	int c, r, npos = 0;

	memset(a, 0, sizeof(*a));
	a->in.vmm = MEAS_VMM_QEMU;
	a->in.guest_features = 0x1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", measure_opts, NULL)) != -1) {
		if (c == M_HELP)
			return 1;
		if (c < M_MODE || c > M_CONFIG || (c == M_CONFIG && !policy))
			return ccu_fail(why, -EINVAL, "USAGE", "unknown or incomplete option '%.60s'",
					argv[optind - 1]);
		if (v[c] && c != M_JSON)
			return musage(why, "an option is given twice");
		v[c] = c == M_JSON ? "" : optarg;
	}
	for (; optind < argc; optind++) {
		if (!policy || npos++)
			return musage(why, "unexpected argument");
		a->name = argv[optind];
	}
	if (policy && !a->name)
		return musage(why, "policy measure needs a policy NAME");
	if (!v[M_MODE] || meas_mode_from_str(v[M_MODE], &a->in.mode) < 0)
		return musage(why, "--mode must be snp, seves, sev, snp:ovmf-hash or snp:svsm");
	if (!v[M_OVMF])
		return musage(why, "--ovmf FILE is required");
	a->in.ovmf = v[M_OVMF];
	a->json = v[M_JSON] != NULL;
	a->config = v[M_CONFIG];
	if (policy && a->in.mode != MEAS_MODE_SNP)
		return musage(why, "a release policy holds SNP measurements: use --mode snp");
	if (policy && (a->json || v[M_DUMP_VMSA]))
		return musage(why, "policy measure takes neither --json nor --dump-vmsa");
	if (v[M_VMM] && meas_vmm_from_str(v[M_VMM], &a->in.vmm) < 0)
		return musage(why, "--vmm must be qemu, ec2 or gce");
	if (a->in.mode != MEAS_MODE_SNP_SVSM && (v[M_SVSM] || v[M_VARS_SIZE] || v[M_VARS_FILE]))
		return musage(why, "--svsm, --vars-size and --vars-file go with --mode snp:svsm");
	if (a->in.mode == MEAS_MODE_SNP_SVSM) {
		struct stat st;

		if (!v[M_SVSM] || !!v[M_VARS_SIZE] == !!v[M_VARS_FILE])
			return musage(why, "snp:svsm needs --svsm FILE and one of --vars-size N, "
					   "--vars-file FILE");
		if (v[M_FEATURES] || v[M_KERNEL] || v[M_OVMF_HASH] ||
		    (v[M_VMM] && a->in.vmm != MEAS_VMM_QEMU))
			return musage(why, "snp:svsm is a QEMU launch without a kernel, with guest "
					   "features 0x1");
		a->in.svsm = v[M_SVSM];
		if (v[M_VARS_FILE]) {
			if (stat(v[M_VARS_FILE], &st) < 0 || !S_ISREG(st.st_mode))
				return ccu_fail(why, -EINVAL, "USAGE",
						"--vars-file '%.200s' is not a readable file",
						v[M_VARS_FILE]);
			a->in.vars_size = (uint64_t)st.st_size;
		} else {
			r = num(why, "--vars-size", v[M_VARS_SIZE], MEAS_FW_MAX, &a->in.vars_size);
			if (r)
				return r;
		}
	}
	if (a->in.mode == MEAS_MODE_SNP_OVMF_HASH) {
		for (int o = M_VCPUS; o <= M_DUMP_VMSA; o++)
			if (v[o])
				return musage(why, "--mode snp:ovmf-hash takes only --ovmf "
						   "(and --json)");
		return 0;
	}
	if (a->in.mode == MEAS_MODE_SEV) {
		for (int o = M_VCPUS; o <= M_VMM; o++)
			if (v[o])
				return musage(why, "--mode sev measures no vCPU state: --vcpus, "
						   "--vcpu-*, --guest-features and --vmm do not "
						   "apply");
	} else {
		if (!v[M_VCPUS])
			return musage(why, "--vcpus N is required");
		r = num(why, "--vcpus", v[M_VCPUS], MEAS_VCPUS_MAX, &n);
		if (r)
			return r;
		if (n == 0)
			return musage(why, "--vcpus must be at least 1");
		a->in.vcpus = (unsigned)n;
		if (!!v[M_TYPE] + !!v[M_SIG] + !!(v[M_FAMILY] || v[M_MODEL] || v[M_STEPPING]) > 1)
			return musage(why, "give one of --vcpu-type, --vcpu-sig, --vcpu-family");
		if (v[M_TYPE] && meas_vcpu_type_sig(v[M_TYPE], &a->in.vcpu_sig) < 0)
			return musage(why, "unknown --vcpu-type (see --help for the names)");
		if (v[M_SIG]) {
			r = num(why, "--vcpu-sig", v[M_SIG], UINT32_MAX, &n);
			if (r)
				return r;
			a->in.vcpu_sig = (uint32_t)n;
		}
		if (v[M_FAMILY] || v[M_MODEL] || v[M_STEPPING]) {
			if (!v[M_FAMILY] || !v[M_MODEL] || !v[M_STEPPING])
				return musage(why, "--vcpu-family, --vcpu-model and --vcpu-stepping "
						   "go together");
			r = num(why, "--vcpu-family", v[M_FAMILY], 0xff + 0xf, &fam);
			if (!r)
				r = num(why, "--vcpu-model", v[M_MODEL], 0xff, &model);
			if (!r)
				r = num(why, "--vcpu-stepping", v[M_STEPPING], 0xf, &step);
			if (r)
				return r;
			a->in.vcpu_sig = meas_cpu_sig((unsigned)fam, (unsigned)model, (unsigned)step);
		}
		/* Only QEMU puts the signature into the VMSA. */
		if (a->in.vmm == MEAS_VMM_QEMU && !v[M_TYPE] && !v[M_SIG] && !v[M_FAMILY])
			return musage(why, "QEMU guests need --vcpu-type, --vcpu-sig or "
					   "--vcpu-family/--vcpu-model/--vcpu-stepping");
		if (v[M_FEATURES]) {
			r = num(why, "--guest-features", v[M_FEATURES], UINT64_MAX,
				&a->in.guest_features);
			if (r)
				return r;
		}
	}
	if ((v[M_INITRD] || v[M_APPEND]) && !v[M_KERNEL])
		return musage(why, "--initrd and --append need --kernel");
	a->in.kernel = v[M_KERNEL];
	a->in.initrd = v[M_INITRD];
	a->in.append = v[M_APPEND];
	a->in.dump_vmsa = v[M_DUMP_VMSA];
	if (a->in.dump_vmsa && a->in.mode == MEAS_MODE_SEV)
		return musage(why, "--dump-vmsa: --mode sev measures no VMSA");
	if (v[M_OVMF_HASH]) {
		if (a->in.mode != MEAS_MODE_SNP)
			return musage(why, "--ovmf-hash applies to --mode snp only");
		if (ccu_hex_decode_exact(v[M_OVMF_HASH], a->in.ovmf_hash, MEAS_SNP_DIGEST) < 0)
			return musage(why, "--ovmf-hash must be 96 hex digits");
		a->in.has_ovmf_hash = true;
	}
	return 0;
}

