/*
 * ccunlock-sim: a simulated SEV-SNP platform for tests and the demo (test
 * builds only). It creates a test ARK -> ASK -> VCEK chain shaped like AMD's
 * and signs attestation reports with any field values.
 *
 * Exit status: 0 success, 1 error (one line "ccunlock-sim: CODE: detail"),
 * 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/codec.h"
#include "common/secmem.h"
#include "common/util.h"
#include "measure/measure.h"
#include "snp/sim.h"

#define PROG "ccunlock-sim"
#define SIM_TOOL_MAX_DAYS 36525u
#define SIM_TOOL_SECURE_HEAP (64 * 1024)
#define EXIT_USAGE 2

static const char usage_text[] =
	"Usage:\n"
	"  " PROG " init DIR [--product milan|genoa|turin] [--tcb 'bl=N tee=N snp=N ucode=N [fmc=N]']\n"
	"                    [--chip-id HEX] [--fw X.Y.Z] [--not-before RFC3339] [--days N] [--force]\n"
	"  " PROG " report DIR -o OUT|- [--version 2|3|5] [--report-data HEX128 | --report-data-file FILE]\n"
	"                    [--measurement HEX96] [--policy 0xHEX] [--vmpl N] [--host-data HEX64]\n"
	"                    [--guest-svn N] [--family-id HEX32] [--image-id HEX32]\n"
	"                    [--id-key-digest HEX96] [--author-key-digest HEX96] [--chip-id HEX]\n"
	"                    [--reported-tcb TCB] [--current-tcb TCB] [--committed-tcb TCB]\n"
	"                    [--launch-tcb TCB] [--fw X.Y.Z] [--committed-fw X.Y.Z]\n"
	"                    [--platform-info 0xHEX] [--key-info 0xHEX]\n"
	"                    [--launch-mit-vector 0xHEX] [--current-mit-vector 0xHEX]\n"
	"                    [--measure-from MEASURE-OPTIONS...]\n"
	"  " PROG " measure MEASURE-OPTIONS...\n"
	"  " PROG " show DIR\n"
	"\n"
	"init creates a simulated platform in DIR (ark.pem ask.pem vcek.pem chain.pem\n"
	"vcek-key.pem platform.conf); report writes a signed 1184-byte report to OUT\n"
	"(- = standard output); show prints the platform and certificate fingerprints.\n"
	"Report fields default to the platform's; each option sets exactly its field\n"
	"(--fw: CURRENT only, --committed-fw: COMMITTED only), signed as given.\n"
	"--measure-from (last; the rest of the line) launches the guest from these inputs: the\n"
	"MEASUREMENT is computed like the platform would (ccunlock-kbs measure's options,\n"
	"--mode snp); measure prints that value.\n"
	"Test material only: the ARK is not AMD's and is trusted only when named.\n";

static _noreturn_ _printf_(1, 2) void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": USAGE: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see " PROG " --help)\n");
	exit(EXIT_USAGE);
}

static int fail(const struct ccu_reason *r)
{
	char line[CCU_REASON_CODE_MAX + CCU_REASON_DETAIL_MAX + 4];

	fprintf(stderr, PROG ": %s\n", ccu_reason_line(r, line, sizeof(line)));
	return EXIT_FAILURE;
}

/* getopt_long's own complaint, in our one-line form. */
static _noreturn_ void bad_option(int c, char *const argv[])
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		usage_error("option '%s' needs a value", opt);
	usage_error("unknown option '%s'", opt);
}

/* Exactly one positional argument: the platform directory. */
static const char *one_dir(int argc, char *const argv[], const char *cmd)
{
	if (optind >= argc)
		usage_error("%s needs a directory", cmd);
	if (optind + 1 != argc)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	return argv[optind];
}

static uint64_t num_arg(const char *opt, const char *v, uint64_t max, bool hex)
{
	uint64_t n;

	if (ccu_parse_u64(v, max, hex, &n) < 0)
		usage_error("%s '%s' is not a number%s up to %llu", opt, v,
			    hex ? " (decimal or 0x hex)" : "", (unsigned long long)max);
	return n;
}

static void hex_arg(const char *opt, const char *v, uint8_t *out, size_t n)
{
	if (ccu_hex_decode_exact(v, out, n) < 0)
		usage_error("%s must be %zu hex digits (got %zu characters)", opt, 2 * n, strlen(v));
}

static void tcb_arg(const char *opt, const char *v, enum snp_product p, uint8_t out[8])
{
	struct ccu_reason why = { 0 };
	struct snp_tcb t;

	if (snp_sim_parse_tcb(v, p, &t, &why) < 0)
		usage_error("%s: %s", opt, why.detail);
	snp_tcb_encode(&t, p, out);
}

static void fw_arg(const char *opt, const char *v, struct snp_fw_version *out)
{
	struct ccu_reason why = { 0 };

	if (snp_sim_parse_fw(v, out, &why) < 0)
		usage_error("%s: %s", opt, why.detail);
}

static void chip_arg(const char *v, enum snp_product p, uint8_t out[64])
{
	struct ccu_reason why = { 0 };

	if (snp_sim_parse_chip_id(v, p, out, &why) < 0)
		usage_error("--chip-id: %s", why.detail);
}

/* ------------------------------------------------------------------ init */

static int cmd_init(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "product", required_argument, NULL, 'p' },
		{ "tcb", required_argument, NULL, 't' },
		{ "chip-id", required_argument, NULL, 'c' },
		{ "fw", required_argument, NULL, 'f' },
		{ "not-before", required_argument, NULL, 'n' },
		{ "days", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *tcb = NULL, *chip = NULL, *dir;
	struct snp_sim_params p;
	struct snp_sim *s = NULL;
	struct ccu_reason why = { 0 };
	char conf[4096];
	bool force = false;
	int c, r;

	snp_sim_default_params(&p);
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			p.product = snp_product_from_name(optarg);
			if (p.product == SNP_PRODUCT_UNKNOWN)
				usage_error("--product '%s' is not milan, genoa or turin", optarg);
			break;
		case 't':
			tcb = optarg;
			break;
		case 'c':
			chip = optarg;
			break;
		case 'f':
			fw_arg("--fw", optarg, &p.fw);
			break;
		case 'n':
			if (ccu_parse_rfc3339(optarg, &p.not_before) < 0 || p.not_before == 0)
				usage_error("--not-before '%s' is not an RFC 3339 UTC time after 1970",
					    optarg);
			break;
		case 'd':
			p.valid_days = (unsigned)num_arg("--days", optarg, SIM_TOOL_MAX_DAYS, false);
			if (p.valid_days == 0)
				usage_error("--days must be at least 1");
			break;
		case 'F':
			force = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:
			bad_option(c, argv);
		}
	}
	dir = one_dir(argc, argv, "init");
	if (tcb) {
		struct snp_tcb t;

		if (snp_sim_parse_tcb(tcb, p.product, &t, &why) < 0)
			usage_error("--tcb: %s", why.detail);
		p.tcb = t;
	}
	if (chip)
		chip_arg(chip, p.product, p.chip_id);
	else if (p.product == SNP_PRODUCT_TURIN)
		memset(p.chip_id + 8, 0, sizeof(p.chip_id) - 8);
	p.tcb.has_fmc = p.product == SNP_PRODUCT_TURIN;
	snprintf(conf, sizeof(conf), "%s/platform.conf", dir);
	if (!force && access(conf, F_OK) == 0) {
		ccu_reason_set(&why, "SIM_EXISTS", "%s already holds a platform (use --force)", dir);
		return fail(&why);
	}
	r = snp_sim_create(&p, &s, &why);
	if (r == 0)
		r = snp_sim_save(s, dir, &why);
	snp_sim_free(s);
	return r < 0 ? fail(&why) : EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ report */

enum {
	O_VERSION = 256, O_RDATA, O_RDATA_FILE, O_MEAS, O_POLICY, O_VMPL, O_HOST, O_SVN,
	O_FAMILY, O_IMAGE, O_IDKEY, O_AUTHOR, O_CHIP, O_RTCB, O_CTCB, O_MTCB, O_LTCB, O_FW,
	O_CFW, O_PINFO, O_KINFO, O_LMIT, O_CMIT, O_COUNT
};

static const struct option report_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "version", required_argument, NULL, O_VERSION },
	{ "report-data", required_argument, NULL, O_RDATA },
	{ "report-data-file", required_argument, NULL, O_RDATA_FILE },
	{ "measurement", required_argument, NULL, O_MEAS },
	{ "policy", required_argument, NULL, O_POLICY },
	{ "vmpl", required_argument, NULL, O_VMPL },
	{ "host-data", required_argument, NULL, O_HOST },
	{ "guest-svn", required_argument, NULL, O_SVN },
	{ "family-id", required_argument, NULL, O_FAMILY },
	{ "image-id", required_argument, NULL, O_IMAGE },
	{ "id-key-digest", required_argument, NULL, O_IDKEY },
	{ "author-key-digest", required_argument, NULL, O_AUTHOR },
	{ "chip-id", required_argument, NULL, O_CHIP },
	{ "reported-tcb", required_argument, NULL, O_RTCB },
	{ "current-tcb", required_argument, NULL, O_CTCB },
	{ "committed-tcb", required_argument, NULL, O_MTCB },
	{ "launch-tcb", required_argument, NULL, O_LTCB },
	{ "fw", required_argument, NULL, O_FW },
	{ "committed-fw", required_argument, NULL, O_CFW },
	{ "platform-info", required_argument, NULL, O_PINFO },
	{ "key-info", required_argument, NULL, O_KINFO },
	{ "launch-mit-vector", required_argument, NULL, O_LMIT },
	{ "current-mit-vector", required_argument, NULL, O_CMIT },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static void read_report_data(const char *path, uint8_t out[64])
{
	uint8_t *d = NULL;
	size_t len = 0;
	int r = ccu_read_file(path, 4096, &d, &len);

	if (r < 0)
		usage_error("--report-data-file %s: %s", path, strerror(-r));
	if (len != 64) {
		free(d);
		usage_error("--report-data-file %s holds %zu bytes, expected 64", path, len);
	}
	memcpy(out, d, 64);
	free(d);
}

/* Applies the options that do not depend on the product. */
static void apply_plain(struct snp_report *r, const char *const v[O_COUNT])
{
	if (v[O_RDATA])
		hex_arg("--report-data", v[O_RDATA], r->report_data, 64);
	if (v[O_RDATA_FILE])
		read_report_data(v[O_RDATA_FILE], r->report_data);
	if (v[O_MEAS])
		hex_arg("--measurement", v[O_MEAS], r->measurement, 48);
	if (v[O_POLICY])
		r->policy = num_arg("--policy", v[O_POLICY], UINT64_MAX, true);
	if (v[O_VMPL])
		r->vmpl = (uint32_t)num_arg("--vmpl", v[O_VMPL], UINT32_MAX, false);
	if (v[O_HOST])
		hex_arg("--host-data", v[O_HOST], r->host_data, 32);
	if (v[O_SVN])
		r->guest_svn = (uint32_t)num_arg("--guest-svn", v[O_SVN], UINT32_MAX, false);
	if (v[O_FAMILY])
		hex_arg("--family-id", v[O_FAMILY], r->family_id, 16);
	if (v[O_IMAGE])
		hex_arg("--image-id", v[O_IMAGE], r->image_id, 16);
	if (v[O_IDKEY])
		hex_arg("--id-key-digest", v[O_IDKEY], r->id_key_digest, 48);
	if (v[O_AUTHOR])
		hex_arg("--author-key-digest", v[O_AUTHOR], r->author_key_digest, 48);
	if (v[O_FW])
		fw_arg("--fw", v[O_FW], &r->current);
	if (v[O_CFW])
		fw_arg("--committed-fw", v[O_CFW], &r->committed);
	if (v[O_PINFO])
		r->platform_info = num_arg("--platform-info", v[O_PINFO], UINT64_MAX, true);
	if (v[O_KINFO])
		r->key_info = (uint32_t)num_arg("--key-info", v[O_KINFO], UINT32_MAX, true);
	if (v[O_LMIT])
		r->launch_mit_vector = num_arg("--launch-mit-vector", v[O_LMIT], UINT64_MAX, true);
	if (v[O_CMIT])
		r->current_mit_vector = num_arg("--current-mit-vector", v[O_CMIT], UINT64_MAX, true);
}

static void apply_product(struct snp_report *r, enum snp_product p, const char *const v[O_COUNT])
{
	if (v[O_CHIP])
		chip_arg(v[O_CHIP], p, r->chip_id);
	if (v[O_RTCB])
		tcb_arg("--reported-tcb", v[O_RTCB], p, r->reported_tcb);
	if (v[O_CTCB])
		tcb_arg("--current-tcb", v[O_CTCB], p, r->current_tcb);
	if (v[O_MTCB])
		tcb_arg("--committed-tcb", v[O_MTCB], p, r->committed_tcb);
	if (v[O_LTCB])
		tcb_arg("--launch-tcb", v[O_LTCB], p, r->launch_tcb);
}

static int write_out(const char *out, const uint8_t *raw, struct ccu_reason *why)
{
	int r;

	if (strcmp(out, "-") == 0) {
		r = ccu_write_all(STDOUT_FILENO, raw, SNP_REPORT_SIZE);
		if (r < 0)
			return ccu_fail(why, r, "SIM_IO", "cannot write to standard output: %s",
					strerror(-r));
		return 0;
	}
	r = ccu_write_file_atomic(out, raw, SNP_REPORT_SIZE, 0644);
	if (r < 0)
		return ccu_fail(why, r, "SIM_IO", "cannot write %s: %s", out, strerror(-r));
	return 0;
}

/* The launch measurement the simulated platform computes for a guest
 * launched from the inputs in argv (the measure options, argv[0] a name). */
static void launch_measurement(int argc, char *argv[], uint8_t out[MEAS_SNP_DIGEST])
{
	struct ccu_reason why = { 0 };
	struct meas_result res;
	struct meas_args a;
	int r = meas_args_parse(argc, argv, false, &a, &why);

	if (r == 1) {
		printf("measure options:\n%s", meas_args_help);
		exit(EXIT_SUCCESS);
	}
	if (r < 0)
		usage_error("%s", why.detail);
	if (a.in.mode != MEAS_MODE_SNP || a.json)
		usage_error("the simulated platform launches SNP guests: --mode snp, no --json");
	if (meas_compute(&a.in, &res, &why) < 0)
		exit(fail(&why));
	memcpy(out, res.digest, MEAS_SNP_DIGEST);
}

static int cmd_measure(int argc, char *argv[])
{
	uint8_t m[MEAS_SNP_DIGEST];
	char hex[2 * MEAS_SNP_DIGEST + 1];

	launch_measurement(argc, argv, m);
	ccu_hex_encode(m, sizeof(m), hex, sizeof(hex));
	printf("%s\n", hex);
	return EXIT_SUCCESS;
}

static int cmd_report(int argc, char *argv[])
{
	const char *v[O_COUNT] = { 0 }, *out = NULL, *dir;
	unsigned version = 5;
	struct snp_sim *s = NULL;
	struct snp_report rep;
	struct ccu_reason why = { 0 };
	uint8_t launched[MEAS_SNP_DIGEST];
	int c, r, from = 0, full = argc;

	/* --measure-from takes the rest of the line: the launch inputs. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--measure-from") == 0) {
			from = i;
			break;
		}
	if (from)
		argc = from;
	while ((c = getopt_long(argc, argv, ":ho:", report_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		}
		if (c == 'o') {
			if (out)
				usage_error("-o given twice");
			out = optarg;
			continue;
		}
		if (c < O_VERSION || c >= O_COUNT)
			bad_option(c, argv);
		if (v[c])
			usage_error("'%s' given twice", argv[optind - 1]);
		v[c] = optarg;
	}
	dir = one_dir(argc, argv, "report");
	if (!out)
		usage_error("report needs -o OUT");
	if (v[O_RDATA] && v[O_RDATA_FILE])
		usage_error("--report-data and --report-data-file exclude each other");
	if (v[O_VERSION]) {
		version = (unsigned)num_arg("--version", v[O_VERSION], UINT32_MAX, false);
		if (version != 2 && version != 3 && version != 5)
			usage_error("--version must be 2, 3 or 5");
	}
	if (from && v[O_MEAS])
		usage_error("--measurement and --measure-from exclude each other");
	if (from)
		launch_measurement(full - from, argv + from, launched);
	r = snp_sim_load(dir, &s, &why);
	if (r < 0)
		return fail(&why);
	snp_sim_report_template(s, version, NULL, &rep);
	apply_plain(&rep, v);
	if (from)
		memcpy(rep.measurement, launched, sizeof(launched));
	apply_product(&rep, snp_sim_params(s)->product, v);
	r = snp_sim_sign(s, &rep, &why);
	snp_sim_free(s);
	if (r == 0)
		r = write_out(out, rep.raw, &why);
	return r < 0 ? fail(&why) : EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ show */

static int print_fp(const char *label, X509 *x)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (!X509_digest(x, EVP_sha256(), md, &n) || ccu_hex_encode(md, n, hex, sizeof(hex)) < 0)
		return -EIO;
	printf("%s_sha256: %s\n", label, hex);
	return 0;
}

static int cmd_show(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct snp_sim_params *p;
	struct snp_sim *s = NULL;
	struct ccu_reason why = { 0 };
	char chip[129], tcb[80], nb[32], na[32];
	const char *dir;
	int c, r;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c != 'h')
			bad_option(c, argv);
		fputs(usage_text, stdout);
		return EXIT_SUCCESS;
	}
	dir = one_dir(argc, argv, "show");
	r = snp_sim_load(dir, &s, &why);
	if (r < 0)
		return fail(&why);
	p = snp_sim_params(s);
	ccu_hex_encode(p->chip_id, p->product == SNP_PRODUCT_TURIN ? 8 : 64, chip, sizeof(chip));
	printf("product: %s\nchip_id: %s\ntcb: %s\nfw: %u.%u.%u\n", snp_product_name(p->product),
	       chip, snp_tcb_format(&p->tcb, tcb, sizeof(tcb)), p->fw.major, p->fw.minor,
	       p->fw.build);
	printf("vcek_not_before: %s\nvcek_not_after: %s\n",
	       ccu_format_rfc3339(p->not_before, nb, sizeof(nb)),
	       ccu_format_rfc3339(p->not_before + (time_t)p->valid_days * 86400, na, sizeof(na)));
	r = print_fp("ark", snp_sim_ark(s));
	if (r == 0)
		r = print_fp("ask", snp_sim_ask(s));
	if (r == 0)
		r = print_fp("vcek", snp_sim_vcek(s));
	snp_sim_free(s);
	if (r < 0) {
		ccu_reason_set(&why, "SIM_CRYPTO", "cannot compute a certificate fingerprint");
		return fail(&why);
	}
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char *argv[])
{
	const char *cmd;

	/* The VCEK key is test material, but handle it like a secret anyway.
	 * A secure heap that cannot be locked (low RLIMIT_MEMLOCK) is no
	 * reason to refuse to simulate. */
	(void)secmem_harden_process(SIM_TOOL_SECURE_HEAP);
	if (argc < 2)
		usage_error("a command is needed: init, report or show");
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return EXIT_SUCCESS;
	}
	/* Sub-command options: getopt sees argv[1..] with the command as argv[0]. */
	opterr = 0;
	optind = 1;
	if (strcmp(cmd, "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(cmd, "measure") == 0)
		return cmd_measure(argc - 1, argv + 1);
	usage_error("unknown command '%s' (init, report, measure, show)", cmd);
}
