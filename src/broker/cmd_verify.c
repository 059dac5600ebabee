/*
 * ccunlock-kbs verify: the operator's view of the broker's judgement.
 *
 *   ccunlock-kbs verify (--report RAW [--offset N] | --evidence JSON) [--vek CERT]
 *       [--chain FILE]... [--trusted-ark CERT]... [--product milan|genoa|turin]
 *       [--at RFC3339] [--policy FILE] [--json]
 *   ccunlock-kbs verify --tee az-snp-vtpm --evidence JSON [--nonce-binding HEX]
 *       [--chain FILE]... [--trusted-ark CERT]... [--at RFC3339] [--policy FILE] [--json]
 *
 * Exit 0 verified (and the policy holds), 1 rejected with one line
 * "CODE: detail" on stderr, 2 usage error or unreadable input.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "broker/azure_verify.h"
#include "broker/cli.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/util.h"
#include "snp/certs.h"
#include "snp/describe.h"
#include "snp/evidence.h"
#include "snp/policy.h"
#include "snp/report_file.h"
#include "snp/verify.h"

#define VERIFY_MAX_FILES 8
#define VERIFY_MAX_REPORT_FILE (128 * 1024)
#define VERIFY_MAX_EVIDENCE_FILE (256 * 1024)

struct verify_args {
	const char *report;
	const char *evidence;
	const char *vek;
	const char *chain[VERIFY_MAX_FILES];
	size_t nchain;
	const char *trusted[VERIFY_MAX_FILES];
	size_t ntrusted;
	const char *policy;
	const char *tee;
	const char *nonce_binding;
	enum snp_product product;
	bool has_offset;
	size_t offset;
	time_t at;
	bool json;
};

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: ccunlock-kbs verify (--report RAW [--offset N] | --evidence JSON) [--vek CERT]\n"
		"           [--chain FILE]... [--trusted-ark CERT]... [--product milan|genoa|turin]\n"
		"           [--at RFC3339] [--policy FILE] [--json]\n"
		"       ccunlock-kbs verify --tee az-snp-vtpm --evidence JSON [--nonce-binding HEX]\n"
		"           [--chain FILE]... [--trusted-ark CERT]... [--at RFC3339] [--policy FILE]\n"
		"           [--json]\n"
		"\n"
		"Verifies an SEV-SNP report (raw, hex or base64 file; or Trustee SNP evidence JSON)\n"
		"against the AMD chain ARK -> ASK/ASVK -> VCEK/VLEK, the ARK pinned by fingerprint\n"
		"(or named with --trusted-ark), and optionally an owner policy. Without a report it\n"
		"verifies the chain alone. Certificates are DER or PEM; --chain files may hold\n"
		"several PEM certificates, and --vek may be a bundle with exactly one VCEK/VLEK.\n"
		"A report file is raw, hex or base64; a container with the report inside needs\n"
		"--offset. --at is the verification time (default now).\n"
		"--tee az-snp-vtpm reads Trustee's Azure vTPM evidence (HCL report, vTPM quote,\n"
		"VCEK); --nonce-binding is the quote's expected qualifying data (without it the\n"
		"qualifying data found is reported, not checked).\n"
		"\n"
		"exit status: 0 verified, 1 rejected (one line 'CODE: detail' on stderr),\n"
		"             2 usage error or unreadable input\n");
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ccunlock-kbs verify: %s\n", msg);
	verify_usage(stderr);
	return BROKER_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
	static const struct option opts[] = {
		{ "report", required_argument, NULL, 'r' },
		{ "evidence", required_argument, NULL, 'e' },
		{ "offset", required_argument, NULL, 'o' },
		{ "vek", required_argument, NULL, 'v' },
		{ "chain", required_argument, NULL, 'c' },
		{ "trusted-ark", required_argument, NULL, 't' },
		{ "product", required_argument, NULL, 'p' },
		{ "at", required_argument, NULL, 'a' },
		{ "policy", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "tee", required_argument, NULL, 'T' },
		{ "nonce-binding", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		uint64_t v;

		switch (c) {
		case 'r':
			if (a->report)
				return usage_error("--report given twice");
			a->report = optarg;
			break;
		case 'e':
			if (a->evidence)
				return usage_error("--evidence given twice");
			a->evidence = optarg;
			break;
		case 'o':
			if (ccu_parse_u64(optarg, VERIFY_MAX_REPORT_FILE, true, &v) < 0)
				return usage_error("invalid --offset '%s'", optarg);
			a->has_offset = true;
			a->offset = (size_t)v;
			break;
		case 'v':
			if (a->vek)
				return usage_error("--vek given twice");
			a->vek = optarg;
			break;
		case 'c':
			if (a->nchain == VERIFY_MAX_FILES)
				return usage_error("too many --chain files");
			a->chain[a->nchain++] = optarg;
			break;
		case 't':
			if (a->ntrusted == VERIFY_MAX_FILES)
				return usage_error("too many --trusted-ark files");
			a->trusted[a->ntrusted++] = optarg;
			break;
		case 'p':
			a->product = snp_product_from_name(optarg);
			if (a->product == SNP_PRODUCT_UNKNOWN)
				return usage_error("unknown --product '%s' (milan, genoa, turin)",
						   optarg);
			break;
		case 'a':
			if (ccu_parse_rfc3339(optarg, &a->at) < 0)
				return usage_error("invalid --at '%s' (e.g. 2025-06-01T00:00:00Z)",
						   optarg);
			break;
		case 'P':
			if (a->policy)
				return usage_error("--policy given twice");
			a->policy = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'T':
			if (a->tee)
				return usage_error("--tee given twice");
			if (!optarg || (strcmp(optarg, "snp") != 0 && strcmp(optarg, AZ_TEE_NAME) != 0))
				return usage_error("unknown --tee '%s' (snp, %s)",
						   optarg ? optarg : "", AZ_TEE_NAME);
			a->tee = optarg;
			break;
		case 'N':
			if (a->nonce_binding)
				return usage_error("--nonce-binding given twice");
			a->nonce_binding = optarg;
			break;
		case 'h':
			verify_usage(stdout);
			return -1;
		default:
			return usage_error("unknown or incomplete option '%s'",
					   argv[optind - 1] ? argv[optind - 1] : "");
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->tee && strcmp(a->tee, AZ_TEE_NAME) == 0) {
		if (!a->evidence)
			return usage_error("--tee %s needs --evidence", AZ_TEE_NAME);
		if (a->report || a->has_offset || a->vek)
			return usage_error("--tee %s takes the VCEK and report from --evidence "
					   "(no --report, --offset or --vek)",
					   AZ_TEE_NAME);
		return 0;
	}
	if (a->nonce_binding)
		return usage_error("--nonce-binding applies to --tee %s only", AZ_TEE_NAME);
	if (a->report && a->evidence)
		return usage_error("--report and --evidence exclude each other");
	if (a->has_offset && !a->report)
		return usage_error("--offset applies to --report only");
	if (!a->vek && !a->evidence)
		return usage_error("--vek is required");
	if (a->policy && !a->report && !a->evidence)
		return usage_error("--policy needs a report");
	return 0;
}

/* A loading failure of the verifier's own inputs: exit 2 with the reason. */
static int input_error(const char *what, const char *path, const struct ccu_reason *why)
{
	char line[512];

	fprintf(stderr, "ccunlock-kbs verify: %s '%s': %s\n", what, path,
		ccu_reason_line(why, line, sizeof(line)));
	return BROKER_EXIT_USAGE;
}

static int load_report(const struct verify_args *a, uint8_t raw[SNP_REPORT_SIZE],
		       STACK_OF(X509) **ev_certs, struct ccu_reason *why, bool *unreadable)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	int r;

	*unreadable = true;
	if (a->report) {
		r = ccu_read_file(a->report, VERIFY_MAX_REPORT_FILE, &data, &len);
		if (r < 0)
			return ccu_fail(why, r, "INPUT", "cannot read: %s", strerror(-r));
		*unreadable = false;
		return snp_report_file_decode(data, len, a->has_offset, a->offset, raw, NULL, why);
	}
	r = ccu_read_file(a->evidence, VERIFY_MAX_EVIDENCE_FILE, &data, &len);
	if (r < 0)
		return ccu_fail(why, r, "INPUT", "cannot read: %s", strerror(-r));
	*unreadable = false;
	{
		struct snp_evidence ev = { 0 };

		r = snp_evidence_parse_text((const char *)data, len, &ev, why);
		if (r < 0)
			return r;
		memcpy(raw, ev.raw, SNP_REPORT_SIZE);
		*ev_certs = ev.certs;
		ev.certs = NULL;
		snp_evidence_done(&ev);
	}
	return 0;
}

/*
 * --vek: one certificate (the leaf, whatever it is - the verifier says what
 * is wrong with it), or a PEM bundle as some clouds serve it (VCEK + ASK +
 * ARK): then exactly one VCEK/VLEK in it is the leaf and the rest joins the
 * chain candidates.
 */
static int load_vek(const char *path, X509 **ret, STACK_OF(X509) *pool, struct ccu_reason *why)
{
	STACK_OF(X509) *s = NULL;
	int r = snp_certs_load_file(path, &s, why), leaf = -1;

	if (r < 0)
		return r;
	if (sk_X509_num(s) > 1) {
		for (int i = 0; i < sk_X509_num(s); i++) {
			enum snp_cert_role role = snp_cert_role(sk_X509_value(s, i), NULL);

			if (role != SNP_CERT_VCEK && role != SNP_CERT_VLEK)
				continue;
			if (leaf >= 0) {
				sk_X509_pop_free(s, X509_free);
				return ccu_fail(why, -EINVAL, "INPUT",
						"the bundle holds more than one VCEK/VLEK");
			}
			leaf = i;
		}
		if (leaf < 0) {
			sk_X509_pop_free(s, X509_free);
			return ccu_fail(why, -EINVAL, "INPUT", "the bundle holds no VCEK/VLEK");
		}
	}
	*ret = sk_X509_delete(s, leaf < 0 ? 0 : leaf);
	while (sk_X509_num(s) > 0)
		sk_X509_push(pool, sk_X509_shift(s));
	sk_X509_free(s);
	return 0;
}

/* Take the leaf out of @pool (evidence certificates) when --vek is absent. */
static X509 *leaf_from_pool(STACK_OF(X509) *pool)
{
	for (int i = 0; pool && i < sk_X509_num(pool); i++) {
		X509 *x = sk_X509_value(pool, i);
		enum snp_cert_role role = snp_cert_role(x, NULL);

		if (role == SNP_CERT_VCEK || role == SNP_CERT_VLEK) {
			(void)sk_X509_delete(pool, i);
			return x;
		}
	}
	return NULL;
}

static json_t *checks_json(const struct snp_verdict *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < v->nchecks; i++)
		json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "check", v->checks[i].code,
						     "ok", v->checks[i].ok, "detail",
						     v->checks[i].detail));
	return arr;
}

static json_t *cert_json(X509 *x)
{
	uint8_t fp[32];
	char hex[65], nb[32], na[32], subj[256];
	struct snp_cert_ext ext;
	enum snp_product p = SNP_PRODUCT_UNKNOWN;
	enum snp_cert_role role = snp_cert_role(x, &p);
	json_t *o;
	struct tm tm;

	snp_cert_sha256(x, fp);
	ccu_hex_encode(fp, 32, hex, sizeof(hex));
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	nb[0] = na[0] = 0;
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm))
		strftime(nb, sizeof(nb), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "role", snp_cert_role_name(role), "product",
		      snp_product_name(p), "subject", subj, "sha256", hex, "not_before", nb,
		      "not_after", na);
	if (o && (role == SNP_CERT_VCEK || role == SNP_CERT_VLEK) &&
	    snp_cert_amd_ext(x, &ext, NULL) == 0) {
		json_t *e = json_object();

		if (ext.has_product_name)
			json_object_set_new(e, "product_name", json_string(ext.product_name));
		if (ext.has_struct_version)
			json_object_set_new(e, "struct_version", json_integer(ext.struct_version));
		if (ext.has_fmc)
			json_object_set_new(e, "fmc_spl", json_integer(ext.fmc));
		if (ext.has_bl)
			json_object_set_new(e, "bl_spl", json_integer(ext.bl));
		if (ext.has_tee)
			json_object_set_new(e, "tee_spl", json_integer(ext.tee));
		if (ext.has_snp)
			json_object_set_new(e, "snp_spl", json_integer(ext.snp));
		if (ext.has_ucode)
			json_object_set_new(e, "ucode_spl", json_integer(ext.ucode));
		if (ext.hwid_len) {
			char hw[129];

			ccu_hex_encode(ext.hwid, ext.hwid_len, hw, sizeof(hw));
			json_object_set_new(e, "hwid", json_string(hw));
		}
		if (ext.has_csp_id)
			json_object_set_new(e, "csp_id", json_string(ext.csp_id));
		json_object_set_new(o, "amd_extensions", e);
	}
	return o;
}

static void print_text(const struct verify_args *a, const struct snp_report *rep, X509 *leaf,
		       const struct snp_verdict *v)
{
	struct snp_cert_ext ext;
	const char *csp = "";

	if (snp_cert_amd_ext(leaf, &ext, NULL) == 0 && ext.has_csp_id)
		csp = ext.csp_id;
	printf("VERIFIED: %s %s%s%s%s%s\n", snp_product_name(v->product),
	       snp_cert_role_name(v->leaf_role), *csp ? " (" : "", csp, *csp ? ")" : "",
	       rep ? "" : ", chain only");
	if (rep)
		snp_report_print(stdout, rep, v->product);
	if (a->policy)
		printf("POLICY: allowed by %s\n", a->policy);
}

int broker_cmd_verify(int argc, char **argv)
{
	struct verify_args a = { 0 };
	struct ccu_reason why = { 0 };
	struct snp_report rep;
	struct snp_verdict v = { 0 };
	struct snp_verify_opts vo = { 0 };
	struct snp_trust *trust = NULL;
	struct snp_policy *pol = NULL;
	STACK_OF(X509) *pool = NULL;
	X509 *leaf = NULL;
	uint8_t raw[SNP_REPORT_SIZE];
	bool have_report = false, unreadable, policy_ok = true, parsed = false;
	struct ccu_reason deny = { 0 };
	char line[512];
	int r, ret = BROKER_EXIT_USAGE;

	r = parse_args(argc, argv, &a);
	if (r != 0)
		return r < 0 ? BROKER_EXIT_OK : r;
	if (a.tee && strcmp(a.tee, AZ_TEE_NAME) == 0) {
		struct broker_az_cli az = { .evidence = a.evidence,
					    .nonce_binding = a.nonce_binding,
					    .policy = a.policy,
					    .product = a.product,
					    .at = a.at,
					    .json = a.json };

		for (size_t i = 0; i < a.nchain && i < BROKER_AZ_MAX_FILES; i++)
			az.chain[az.nchain++] = a.chain[i];
		for (size_t i = 0; i < a.ntrusted && i < BROKER_AZ_MAX_FILES; i++)
			az.trusted[az.ntrusted++] = a.trusted[i];
		return broker_cmd_verify_azure(&az);
	}

	/* Load everything the verifier itself relies on first: a broken
	 * policy or certificate file is an input error, not a rejection. */
	if (a.policy && snp_policy_load_file(a.policy, &pol, &why) < 0)
		return input_error("policy", a.policy, &why);
	trust = snp_trust_new();
	pool = sk_X509_new_null();
	if (!trust || !pool) {
		fprintf(stderr, "ccunlock-kbs verify: out of memory\n");
		ret = BROKER_EXIT_FAILURE;
		goto out;
	}
	for (size_t i = 0; i < a.ntrusted; i++) {
		X509 *ark = NULL;

		if (snp_cert_load_one_file(a.trusted[i], &ark, &why) < 0) {
			ret = input_error("trusted ARK", a.trusted[i], &why);
			goto out;
		}
		r = snp_trust_add_root(trust, ark, &why);
		X509_free(ark);
		if (r < 0) {
			ret = input_error("trusted ARK", a.trusted[i], &why);
			goto out;
		}
	}
	for (size_t i = 0; i < a.nchain; i++) {
		STACK_OF(X509) *s = NULL;

		if (snp_certs_load_file(a.chain[i], &s, &why) < 0) {
			ret = input_error("chain", a.chain[i], &why);
			goto out;
		}
		while (sk_X509_num(s) > 0)
			sk_X509_push(pool, sk_X509_shift(s));
		sk_X509_free(s);
	}
	if (a.vek) {
		r = load_vek(a.vek, &leaf, pool, &why);
		if (r < 0) {
			ret = input_error("VEK certificate", a.vek, &why);
			goto out;
		}
	}

	if (a.report || a.evidence) {
		STACK_OF(X509) *ev = NULL;

		r = load_report(&a, raw, &ev, &why, &unreadable);
		if (r < 0 && unreadable) {
			ret = input_error(a.report ? "report" : "evidence",
					  a.report ? a.report : a.evidence, &why);
			goto out;
		}
		if (ev) {
			while (sk_X509_num(ev) > 0)
				sk_X509_push(pool, sk_X509_shift(ev));
			sk_X509_free(ev);
		}
		if (r >= 0)
			r = snp_report_parse(raw, SNP_REPORT_SIZE, &rep, &why);
		if (r < 0) {
			/* A report that does not parse is rejected, not unreadable. */
			v.ok = false;
			v.reason = why;
			goto verdict;
		}
		have_report = true;
		parsed = true;
	}
	if (!leaf)
		leaf = leaf_from_pool(pool);
	if (!leaf) {
		ret = input_error("evidence", a.evidence,
				  &(struct ccu_reason){ "CHAIN_INCOMPLETE",
							"no VCEK/VLEK in the evidence; pass --vek" });
		goto out;
	}

	vo.at = a.at ? a.at : time(NULL);
	vo.product = a.product;
	r = snp_verify(trust, have_report ? &rep : NULL, leaf, pool, &vo, &v);
	if (r < 0 && r != -EKEYREJECTED) {
		fprintf(stderr, "ccunlock-kbs verify: internal error: %s\n", strerror(-r));
		ret = BROKER_EXIT_FAILURE;
		goto out;
	}
	if (v.ok && pol) {
		policy_ok = snp_policy_eval(pol, &rep, v.product, &deny) == 0;
	}

verdict:
	if (a.json) {
		json_t *o = json_object();

		json_object_set_new(o, "verdict",
				    json_string(v.ok && policy_ok ? "verified" : "rejected"));
		if (!v.ok)
			json_object_set_new(o, "reason",
					    json_pack("{s:s,s:s}", "code", v.reason.code, "detail",
						      v.reason.detail));
		else if (!policy_ok)
			json_object_set_new(o, "reason",
					    json_pack("{s:s,s:s}", "code", deny.code, "detail",
						      deny.detail));
		if (parsed || !a.report) {
			json_object_set_new(o, "product", json_string(snp_product_name(v.product)));
			json_object_set_new(o, "checks", checks_json(&v));
		}
		if (leaf)
			json_object_set_new(o, "leaf", cert_json(leaf));
		if (have_report)
			json_object_set_new(o, "report", snp_report_describe(&rep, v.product));
		if (a.policy && v.ok)
			json_object_set_new(o, "policy",
					    json_pack("{s:s,s:b}", "file", a.policy, "allowed",
						      policy_ok));
		if (a.at) {
			char t[32];

			json_object_set_new(o, "at", json_string(ccu_format_rfc3339(a.at, t, sizeof(t))));
		}
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	}
	if (!v.ok) {
		fprintf(stderr, "%s\n", ccu_reason_line(&v.reason, line, sizeof(line)));
		ret = BROKER_EXIT_REJECTED;
	} else if (!policy_ok) {
		fprintf(stderr, "%s\n", ccu_reason_line(&deny, line, sizeof(line)));
		ret = BROKER_EXIT_REJECTED;
	} else {
		if (!a.json)
			print_text(&a, have_report ? &rep : NULL, leaf, &v);
		ret = BROKER_EXIT_OK;
	}
out:
	X509_free(leaf);
	sk_X509_pop_free(pool, X509_free);
	snp_trust_free(trust);
	snp_policy_free(pol);
	return ret;
}
