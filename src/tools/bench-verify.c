/*
 * bench-verify: SEV-SNP report verifications per second, in process, with a
 * cold chain (every RSA-PSS chain signature checked each time) and with the
 * verified-chain cache (as the broker runs). Used by bench/verify.sh.
 *
 *   bench-verify --report RAW --vek CERT --chain FILE... [--trusted-ark CERT]
 *                [--at RFC3339] [--seconds N]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "snp/certs.h"
#include "snp/report.h"
#include "snp/report_file.h"
#include "snp/verify.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verifications per second over about @seconds; -1 on a failed verdict. */
static double rate(const struct snp_trust *t, const struct snp_report *r, X509 *leaf,
		   STACK_OF(X509) *pool, struct snp_verify_opts *o, double seconds, long *count)
{
	double t0 = now_s(), el;
	long n = 0;
	struct snp_verdict v;

	do {
		if (snp_verify(t, r, leaf, pool, o, &v) != 0) {
			fprintf(stderr, "bench-verify: %s: %s\n", v.reason.code, v.reason.detail);
			return -1;
		}
		n++;
		el = now_s() - t0;
	} while (el < seconds);
	*count = n;
	return (double)n / el;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "report", required_argument, NULL, 'r' }, { "vek", required_argument, NULL, 'v' },
		{ "chain", required_argument, NULL, 'c' },  { "trusted-ark", required_argument, NULL, 't' },
		{ "at", required_argument, NULL, 'a' },     { "seconds", required_argument, NULL, 's' },
		{ 0 },
	};
	struct snp_trust *trust = snp_trust_new();
	STACK_OF(X509) *pool = sk_X509_new_null();
	struct snp_verify_opts o = { 0 };
	struct ccu_reason why = { 0 };
	struct snp_report rep;
	const char *report = NULL;
	X509 *leaf = NULL;
	double seconds = 2, cold, warm;
	long ncold = 0, nwarm = 0;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		STACK_OF(X509) *s = NULL;
		X509 *x = NULL;

		switch (c) {
		case 'r':
			report = optarg;
			break;
		case 'v':
			if (snp_cert_load_one_file(optarg, &leaf, &why) < 0)
				goto fail;
			break;
		case 'c':
			if (snp_certs_load_file(optarg, &s, &why) < 0)
				goto fail;
			while (sk_X509_num(s) > 0)
				sk_X509_push(pool, sk_X509_shift(s));
			sk_X509_free(s);
			break;
		case 't':
			if (snp_cert_load_one_file(optarg, &x, &why) < 0 ||
			    snp_trust_add_root(trust, x, &why) < 0)
				goto fail;
			X509_free(x);
			break;
		case 'a':
			if (ccu_parse_rfc3339(optarg, &o.at) < 0)
				goto usage;
			break;
		case 's':
			if (ccu_parse_u64(optarg, 600, false, &v) < 0 || v == 0)
				goto usage;
			seconds = (double)v;
			break;
		default:
			goto usage;
		}
	}
	if (!report || !leaf)
		goto usage;
	{
		uint8_t *d = NULL, raw[SNP_REPORT_SIZE];
		size_t n;

		if (ccu_read_file(report, 1 << 20, &d, &n) < 0 ||
		    snp_report_file_decode(d, n, false, 0, raw, NULL, &why) < 0 ||
		    snp_report_parse(raw, sizeof(raw), &rep, &why) < 0) {
			free(d);
			goto fail;
		}
		free(d);
	}
	cold = rate(trust, &rep, leaf, pool, &o, seconds, &ncold);
	o.cache = snp_chain_cache_new(64);
	warm = rate(trust, &rep, leaf, pool, &o, seconds, &nwarm);
	if (cold < 0 || warm < 0)
		return 1;
	printf("cold chain:   %8.0f verifications/s (%ld in %.0f s; %.3f ms each)\n", cold, ncold, seconds,
	       1000.0 / cold);
	printf("cached chain: %8.0f verifications/s (%ld in %.0f s; %.3f ms each)\n", warm, nwarm, seconds,
	       1000.0 / warm);
	snp_chain_cache_free(o.cache);
	snp_trust_free(trust);
	sk_X509_pop_free(pool, X509_free);
	X509_free(leaf);
	return 0;
usage:
	fprintf(stderr, "usage: bench-verify --report RAW --vek CERT --chain FILE... "
			"[--trusted-ark CERT] [--at RFC3339] [--seconds N]\n");
	return 2;
fail:
	fprintf(stderr, "bench-verify: %s: %s\n", why.code, why.detail);
	return 1;
}
