/*
 * `ccunlock-kbs verify` as operators (and the checks) run it: every
 * case of the real vectors' cases.json through the command line, exit
 * statuses 0/1/2 and the one "CODE: detail" line, --json, --evidence,
 * --policy with simulator-signed reports, and inputs that must not crash it.
 */
#include "helpers/testutil.h"
#include "helpers/simfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "snp/certs.h"
#include "snp/sim.h"

#define MAX_ARGS 32

struct args {
	const char *v[MAX_ARGS];
	size_t n;
	char bufs[8][600];
	size_t nb;
};

static void arg(struct args *a, const char *s)
{
	assert_true(a->n + 1 < MAX_ARGS);
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static const char *keep(struct args *a, const char *s)
{
	assert_true(a->nb < 8);
	snprintf(a->bufs[a->nb], sizeof(a->bufs[a->nb]), "%s", s);
	return a->bufs[a->nb++];
}

static void start(struct args *a)
{
	memset(a, 0, sizeof(*a));
	arg(a, tu_bin("ccunlock-kbs"));
	arg(a, "verify");
}

static const char *jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return timegm(&tm);
}

/* Latest notBefore over the certificates in @files, plus a day. */
static time_t inside_validity(const char *const *files, size_t n)
{
	time_t latest = 0;

	for (size_t i = 0; i < n; i++) {
		STACK_OF(X509) *s = NULL;

		if (!files[i])
			continue;
		assert_int_equal(snp_certs_load_file(files[i], &s, NULL), 0);
		for (int j = 0; j < sk_X509_num(s); j++) {
			time_t nb = asn1_to_time(X509_get0_notBefore(sk_X509_value(s, j)));

			if (nb > latest)
				latest = nb;
		}
		sk_X509_pop_free(s, X509_free);
	}
	return latest + 86400;
}

static bool is_binary(const char *path, size_t *size)
{
	size_t n;
	uint8_t *d = tu_read(path, &n);
	bool bin = false;

	for (size_t i = 0; i < n && !bin; i++)
		bin = d[i] == 0 || d[i] > 0x7e;
	free(d);
	*size = n;
	return bin;
}

/* The code a cases.json "fail_check" prefix (Python checker) maps to. */
static bool code_matches(const char *line, const char *check)
{
	if (strncmp(check, "format:", 7) == 0)
		return strncmp(line, "FORMAT_", 7) == 0;
	if (strncmp(check, "signature:", 10) == 0)
		return strncmp(line, "SIGNATURE:", 10) == 0;
	if (strcmp(check, "chain: VCEK signed by ASK") == 0)
		return strncmp(line, "CHAIN_LEAF_SIGNATURE:", 21) == 0;
	if (strncmp(check, "chain:", 6) == 0)
		return strncmp(line, "CHAIN_", 6) == 0;
	if (strncmp(check, "binding: report SIGNING_KEY", 27) == 0)
		return strncmp(line, "BINDING_SIGNER:", 15) == 0;
	if (strncmp(check, "binding: leaf TCB", 17) == 0)
		return strncmp(line, "BINDING_TCB:", 12) == 0;
	return false;
}

static void run_case(const json_t *c, size_t *passed, size_t *failed)
{
	struct args a;
	struct tu_run r;
	const char *id = jstr(c, "id"), *rep = jstr(c, "report"), *vek = jstr(c, "vek");
	const char *product = jstr(c, "product");
	bool expect_pass = strcmp(jstr(c, "expect"), "pass") == 0;
	const char *files[4] = { NULL };
	char at[32];
	size_t nf = 0, size;
	json_t *off = json_object_get(c, "offset");
	struct tm tm;
	time_t t;

	start(&a);
	files[nf++] = keep(&a, tu_vec(vek));
	arg(&a, "--vek");
	arg(&a, files[0]);
	if (rep) {
		const char *path = keep(&a, tu_vec(rep));

		arg(&a, "--report");
		arg(&a, path);
		/* A container (longer than one report) needs an explicit offset. */
		if (off || (is_binary(path, &size) && size != SNP_REPORT_SIZE)) {
			char n[16];

			snprintf(n, sizeof(n), "%lld", off ? (long long)json_integer_value(off) : 0LL);
			arg(&a, "--offset");
			arg(&a, keep(&a, n));
		}
	}
	if (jstr(c, "chain") || jstr(c, "ask")) {
		static const char *const k[] = { "chain", "ask", "ark" };

		for (size_t i = 0; i < 3; i++)
			if (jstr(c, k[i])) {
				files[nf] = keep(&a, tu_vec(jstr(c, k[i])));
				arg(&a, "--chain");
				arg(&a, files[nf++]);
			}
	} else {
		/* No chain in the case: AMD's own for the leaf's product. */
		X509 *leaf = NULL;
		STACK_OF(X509) *s = NULL;
		enum snp_product p = SNP_PRODUCT_UNKNOWN;
		enum snp_cert_role role = SNP_CERT_UNKNOWN;
		char rel[64];

		assert_int_equal(snp_certs_load_file(files[0], &s, NULL), 0);
		for (int i = 0; i < sk_X509_num(s) && !leaf; i++) {
			role = snp_cert_role(sk_X509_value(s, i), &p);
			if (role == SNP_CERT_VCEK || role == SNP_CERT_VLEK)
				leaf = sk_X509_value(s, i);
		}
		if (!p)
			p = snp_product_from_name(product);
		/* The leaf's own product's roots, as for any chain. */
		assert_non_null(snp_product_id(p));
		snprintf(rel, sizeof(rel), "amd-roots/%s/%s.pem", snp_product_id(p),
			 role == SNP_CERT_VLEK ? "asvk" : "ask");
		files[nf] = keep(&a, tu_vec(rel));
		arg(&a, "--chain");
		arg(&a, files[nf++]);
		strcpy(strrchr(rel, '/') + 1, "ark.pem");
		files[nf] = keep(&a, tu_vec(rel));
		arg(&a, "--chain");
		arg(&a, files[nf++]);
		sk_X509_pop_free(s, X509_free);
	}
	if (product) {
		arg(&a, "--product");
		arg(&a, product);
	}
	t = inside_validity(files, nf);
	gmtime_r(&t, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	arg(&a, "--at");
	arg(&a, at);

	tu_run(&r, a.v);
	if (expect_pass && r.status == 0 && strstr(r.out, "VERIFIED: ")) {
		(*passed)++;
	} else if (!expect_pass && r.status == 1 && strchr(r.err, '\n') == r.err + strlen(r.err) - 1 &&
		   code_matches(r.err, jstr(c, "fail_check"))) {
		(*failed)++;
	} else {
		fail_msg("%s: exit %d, stderr: %s", id, r.status, r.err);
	}
	tu_run_free(&r);
}

static void test_cases_json_through_cli(void **state)
{
	json_error_t jerr;
	json_t *root, *cases, *c;
	size_t i, passed = 0, failed = 0;

	(void)state;
	TU_REQUIRE_VECTORS();
	root = json_load_file(tu_vec("cases.json"), 0, &jerr);
	assert_non_null(root);
	cases = json_object_get(root, "cases");
	for (i = 0; i < json_array_size(cases); i++) {
		c = json_array_get(cases, i);
		run_case(c, &passed, &failed);
	}
	json_decref(root);
	assert_int_equal(passed, 25);
	assert_int_equal(failed, 9);
}

static void expect(const char *const *argv, int status, const char *err_prefix, const char *out_has)
{
	struct tu_run r;

	tu_run(&r, argv);
	if (r.status != status || (err_prefix && strncmp(r.err, err_prefix, strlen(err_prefix)) != 0) ||
	    (out_has && !strstr(r.out, out_has)))
		fail_msg("%s %s: exit %d (want %d), stderr: %.300s", argv[1], argv[2] ? argv[2] : "",
			 r.status, status, r.err);
	tu_run_free(&r);
}

static void test_usage_errors(void **state)
{
	const char *kbs = tu_bin("ccunlock-kbs");
	const char *missing = "/nonexistent/report.bin";
	char junk[] = "/tmp/ccu-junk-XXXXXX";
	int fd = mkstemp(junk);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a certificate\n", 18), 18);
	close(fd);
	expect((const char *[]){ kbs, "verify", NULL }, 2, "ccunlock-kbs verify: --vek is required", NULL);
	expect((const char *[]){ kbs, "verify", "--bogus", NULL }, 2, "ccunlock-kbs verify: unknown", NULL);
	expect((const char *[]){ kbs, "verify", "--vek", junk, "extra", NULL }, 2, NULL, NULL);
	expect((const char *[]){ kbs, "verify", "--vek", junk, "--product", "venice", NULL }, 2, NULL, NULL);
	expect((const char *[]){ kbs, "verify", "--vek", junk, "--at", "yesterday", NULL }, 2, NULL, NULL);
	expect((const char *[]){ kbs, "verify", "--vek", junk, "--offset", "-1", "--report", junk, NULL }, 2,
	       NULL, NULL);
	expect((const char *[]){ kbs, "verify", "--vek", junk, NULL }, 2,
	       "ccunlock-kbs verify: VEK certificate", NULL);
	expect((const char *[]){ kbs, "verify", "--vek", missing, NULL }, 2, NULL, NULL);
	expect((const char *[]){ kbs, "verify", "--report", missing, "--vek", junk, NULL }, 2, NULL, NULL);
	expect((const char *[]){ kbs, "verify", "--report", junk, "--evidence", junk, "--vek", junk, NULL },
	       2, NULL, NULL);
	expect((const char *[]){ kbs, "verify", "--help", NULL }, 0, NULL, "usage:");
	expect((const char *[]){ kbs, NULL }, 2, NULL, NULL);
	expect((const char *[]){ kbs, "frobnicate", NULL }, 2, NULL, NULL);
	unlink(junk);
}

/* Simulated platform files for the remaining tests. */
struct simfiles {
	char dir[512], vcek[600], chain[600], ark[600], report[600], policy[600];
};

static void sim_report(struct simfiles *f, uint64_t policy_bits, const char *policy_text)
{
	struct snp_sim *s = tu_sim_platform(SNP_PRODUCT_GENOA);
	struct snp_report r;
	struct ccu_reason why = { 0 };
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "%s", tu_sim_dir(SNP_PRODUCT_GENOA));
	snprintf(f->vcek, sizeof(f->vcek), "%s/vcek.pem", f->dir);
	snprintf(f->chain, sizeof(f->chain), "%s/chain.pem", f->dir);
	snprintf(f->ark, sizeof(f->ark), "%s/ark.pem", f->dir);
	snprintf(f->report, sizeof(f->report), "%s/cli-report.bin", f->dir);
	snprintf(f->policy, sizeof(f->policy), "%s/cli.policy", f->dir);
	snp_sim_report_template(s, 5, NULL, &r);
	memset(r.measurement, 0xab, sizeof(r.measurement));
	r.policy = policy_bits;
	assert_int_equal(snp_sim_sign(s, &r, &why), 0);
	fp = fopen(f->report, "wb");
	assert_int_equal(fwrite(r.raw, 1, SNP_REPORT_SIZE, fp), SNP_REPORT_SIZE);
	fclose(fp);
	fp = fopen(f->policy, "w");
	fputs(policy_text, fp);
	fclose(fp);
}

#define MEAS_AB                                                                                    \
	"abababababababababababababababababababababababababababababababababababababababababababababababab"

static void test_policy_and_roots(void **state)
{
	const char *kbs = tu_bin("ccunlock-kbs");
	struct simfiles f = { 0 };

	(void)state;
	sim_report(&f, 0x30000, "measurement = " MEAS_AB "\nvmpl = 0\n");
	/* The test root is trusted only when named. */
	expect((const char *[]){ kbs, "verify", "--report", f.report, "--vek", f.vcek, "--chain", f.chain,
				 NULL },
	       1, "CHAIN_ARK_UNTRUSTED: ", NULL);
	expect((const char *[]){ kbs, "verify", "--report", f.report, "--vek", f.vcek, "--chain", f.chain,
				 "--trusted-ark", f.ark, "--policy", f.policy, NULL },
	       0, NULL, "POLICY: allowed");
	/* Chain alone. */
	expect((const char *[]){ kbs, "verify", "--vek", f.vcek, "--chain", f.chain, "--trusted-ark", f.ark,
				 NULL },
	       0, NULL, "chain only");

	sim_report(&f, 0xb0000, "measurement = " MEAS_AB "\n");
	expect((const char *[]){ kbs, "verify", "--report", f.report, "--vek", f.vcek, "--chain", f.chain,
				 "--trusted-ark", f.ark, "--policy", f.policy, NULL },
	       1, "POLICY_DEBUG: ", NULL);
	sim_report(&f, 0x30000, "measurement = any\nallow_smt = no\n");
	expect((const char *[]){ kbs, "verify", "--report", f.report, "--vek", f.vcek, "--chain", f.chain,
				 "--trusted-ark", f.ark, "--policy", f.policy, NULL },
	       1, "POLICY_SMT: ", NULL);
	/* A broken policy file is an input error, not a rejection. */
	sim_report(&f, 0x30000, "measurement = any\nunknown_key = 1\n");
	expect((const char *[]){ kbs, "verify", "--report", f.report, "--vek", f.vcek, "--chain", f.chain,
				 "--trusted-ark", f.ark, "--policy", f.policy, NULL },
	       2, "ccunlock-kbs verify: policy", NULL);
}

static void test_json_output(void **state)
{
	const char *kbs = tu_bin("ccunlock-kbs");
	struct simfiles f = { 0 };
	struct tu_run r;
	json_t *o;
	json_error_t jerr;

	(void)state;
	sim_report(&f, 0x30000, "measurement = any\n");
	tu_run(&r, (const char *[]){ kbs, "verify", "--report", f.report, "--vek", f.vcek, "--chain",
				     f.chain, "--trusted-ark", f.ark, "--policy", f.policy, "--json", NULL });
	assert_int_equal(r.status, 0);
	o = json_loads(r.out, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(jstr(o, "verdict"), "verified");
	assert_string_equal(jstr(o, "product"), "Genoa");
	assert_true(json_array_size(json_object_get(o, "checks")) >= 8);
	assert_string_equal(jstr(json_object_get(o, "report"), "measurement"), MEAS_AB);
	assert_true(json_is_true(json_object_get(json_object_get(o, "policy"), "allowed")));
	assert_non_null(json_object_get(json_object_get(o, "leaf"), "amd_extensions"));
	json_decref(o);
	tu_run_free(&r);

	/* Rejected: JSON still on stdout, the one line on stderr. */
	tu_run(&r, (const char *[]){ kbs, "verify", "--report", f.report, "--vek", f.vcek, "--chain",
				     f.chain, "--json", NULL });
	assert_int_equal(r.status, 1);
	o = json_loads(r.out, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(jstr(o, "verdict"), "rejected");
	assert_string_equal(jstr(json_object_get(o, "reason"), "code"), "CHAIN_ARK_UNTRUSTED");
	assert_int_equal(strncmp(r.err, "CHAIN_ARK_UNTRUSTED: ", 21), 0);
	json_decref(o);
	tu_run_free(&r);
}

static void test_evidence_input(void **state)
{
	const char *kbs = tu_bin("ccunlock-kbs");
	char ask[600], ark[600], at[] = "2025-06-01T00:00:00Z";

	(void)state;
	TU_REQUIRE_VECTORS();
	snprintf(ask, sizeof(ask), "%s", tu_vec("amd-roots/genoa/ask.pem"));
	snprintf(ark, sizeof(ark), "%s", tu_vec("amd-roots/genoa/ark.pem"));
	/* Trustee's own attester output; its cert_chain carries the VCEK. */
	expect((const char *[]){ kbs, "verify", "--evidence", tu_vec("trustee/e2e-evidence.json"), "--chain",
				 ask, "--chain", ark, "--at", at, NULL },
	       0, NULL, "VERIFIED: Genoa VCEK");
}

static void test_hostile_inputs(void **state)
{
	const char *kbs = tu_bin("ccunlock-kbs");
	struct simfiles f = { 0 };
	char path[] = "/tmp/ccu-hostile-XXXXXX";
	uint8_t buf[SNP_REPORT_SIZE * 2];
	struct tu_run r;
	int fd;

	(void)state;
	sim_report(&f, 0x30000, "measurement = any\n");
	srand(7);
	for (int round = 0; round < 12; round++) {
		size_t n = round < 6 ? SNP_REPORT_SIZE : (size_t)(rand() % (int)sizeof(buf));

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand();
		if (round == 1)
			memset(buf, 0, n);
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		close(fd);
		tu_run(&r, (const char *[]){ kbs, "verify", "--report", path, "--vek", f.vcek, "--chain",
					     f.chain, "--trusted-ark", f.ark, NULL });
		/* Rejected with a reason, never a crash. */
		assert_int_equal(r.status, 1);
		assert_non_null(strchr(r.err, ':'));
		tu_run_free(&r);
		tu_run(&r, (const char *[]){ kbs, "verify", "--evidence", path, "--vek", f.vcek, "--chain",
					     f.chain, NULL });
		assert_int_equal(r.status, 1);
		tu_run_free(&r);
		unlink(path);
		strcpy(path, "/tmp/ccu-hostile-XXXXXX");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_json_through_cli),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_policy_and_roots),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_evidence_input),
		cmocka_unit_test(test_hostile_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
