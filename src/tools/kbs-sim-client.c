/*
 * kbs-sim-client: a simulated SEV-SNP guest for tests and the bench (test
 * builds only). It runs the whole Trustee KBS flow against a broker with
 * evidence signed by a `ccunlock-sim init` platform, decrypts the released
 * JWE and says what happened:
 *
 *   kbs-sim-client --url URL [--ca FILE] --sim DIR --resource PATH [--bearer]
 *       [--measurement HEX96] [--policy 0xHEX] [--vmpl N] [--report-version 3|5]
 *       [--no-chain] [--print-key] [--concurrency N --count M [--retry]]
 *   kbs-sim-client --replay-post URL --body FILE [--content-type TYPE] [--ca FILE]
 *       --concurrency N --count M
 *
 * Output: "RELEASED <n> bytes" (or the key in hex with --print-key), or
 * "DENIED <status> <error body>". Bench mode (--count): every boot is a new
 * TLS connection and a full flow; prints boots/s and p50/p99 latency. With
 * --retry a boot is retried as the guest retries it (transient failures,
 * backoff, 6 attempts) and a second line counts the boots that needed it.
 * --replay-post replays one POST (new connection each) the same way, for
 * comparing with other key servers. Exit: 0 released, 1 denied or failed,
 * 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/codec.h"
#include "common/secmem.h"
#include "common/util.h"
#include "guest/config.h"
#include "guest/kbs_client.h"
#include "tools/kbs_flow_sim.h"

#define PROG "kbs-sim-client"
#define MAX_CONCURRENCY 256
#define MAX_COUNT 10000000
#define RETRY_DEADLINE_MS (GUEST_DEADLINE_DEFAULT * 1000.0) /* ccunlock.conf's default */

struct args {
	const char *url, *ca, *sim, *resource, *replay, *body_file, *ctype;
	bool bearer, print_key, have_meas, have_policy, have_vmpl, retry;
	uint8_t measurement[48];
	uint64_t policy, vmpl;
	struct kfc_ev_opts ev;
	unsigned long concurrency, count;
	char *body;
	size_t body_len;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " --url URL [--ca FILE] --sim DIR --resource PATH [--bearer]\n"
		"           [--measurement HEX96] [--policy 0xHEX] [--vmpl N] [--report-version 3|5]\n"
		"           [--no-chain] [--print-key] [--concurrency N --count M [--retry]]\n"
		"       " PROG " --replay-post URL --body FILE [--content-type TYPE] [--ca FILE]\n"
		"           --concurrency N --count M\n");
}

static void mutate(struct snp_report *r, void *ud)
{
	const struct args *a = ud;

	if (a->have_meas)
		memcpy(r->measurement, a->measurement, sizeof(r->measurement));
	if (a->have_policy)
		r->policy = a->policy;
	if (a->have_vmpl)
		r->vmpl = (uint32_t)a->vmpl;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option o[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "ca", required_argument, NULL, 'C' },
		{ "sim", required_argument, NULL, 's' },
		{ "resource", required_argument, NULL, 'r' },
		{ "bearer", no_argument, NULL, 'b' },
		{ "measurement", required_argument, NULL, 'm' },
		{ "policy", required_argument, NULL, 'p' },
		{ "vmpl", required_argument, NULL, 'v' },
		{ "report-version", required_argument, NULL, 'V' },
		{ "no-chain", no_argument, NULL, 'n' },
		{ "print-key", no_argument, NULL, 'k' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'N' },
		{ "replay-post", required_argument, NULL, 'R' },
		{ "body", required_argument, NULL, 'B' },
		{ "content-type", required_argument, NULL, 'T' },
		{ "retry", no_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c;

	opterr = 0;
	a->concurrency = 1;
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'u': a->url = optarg; break;
		case 'C': a->ca = optarg; break;
		case 's': a->sim = optarg; break;
		case 'r': a->resource = optarg; break;
		case 'b': a->bearer = true; break;
		case 'n': a->ev.no_chain = true; break;
		case 'k': a->print_key = true; break;
		case 'R': a->replay = optarg; break;
		case 'B': a->body_file = optarg; break;
		case 'T': a->ctype = optarg; break;
		case 'Y': a->retry = true; break;
		case 'm':
			if (ccu_hex_decode_exact(optarg, a->measurement, 48) < 0)
				return -1;
			a->have_meas = true;
			break;
		case 'p':
			if (ccu_parse_u64(optarg, UINT64_MAX, true, &a->policy) < 0)
				return -1;
			a->have_policy = true;
			break;
		case 'v':
			if (ccu_parse_u64(optarg, 3, false, &a->vmpl) < 0)
				return -1;
			a->have_vmpl = true;
			break;
		case 'V':
			if (ccu_parse_u64(optarg, 5, false, &v) < 0 || (v != 3 && v != 5))
				return -1;
			a->ev.version = (unsigned)v;
			break;
		case 'c':
			if (ccu_parse_u64(optarg, MAX_CONCURRENCY, false, &v) < 0 || !v)
				return -1;
			a->concurrency = (unsigned long)v;
			break;
		case 'N':
			if (ccu_parse_u64(optarg, MAX_COUNT, false, &v) < 0 || !v)
				return -1;
			a->count = (unsigned long)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	if (a->retry && !a->count)
		return -1;
	if (a->replay)
		return a->body_file && a->count && !a->retry ? 0 : -1;
	if (!a->url || !a->sim || !a->resource)
		return -1;
	a->ev.mutate = mutate;
	a->ev.mutate_ud = a;
	return 0;
}

/* ------------------------------------------------------------ bench */

struct bench {
	const struct args *a;
	const struct snp_sim *sim;
	atomic_ulong next;
	atomic_ulong failed;
	atomic_ulong retried;	   /* boots that needed more than one attempt */
	atomic_ulong max_attempts; /* the most one boot needed */
	double *lat_ms;
	char first_error[640];
	pthread_mutex_t lock;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

static int replay_one(const struct args *a, long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char ct[128];
	CURLcode rc;

	if (!c)
		return -ENOMEM;
	snprintf(ct, sizeof(ct), "Content-Type: %s", a->ctype ? a->ctype : "application/json");
	h = curl_slist_append(h, ct);
	curl_easy_setopt(c, CURLOPT_URL, a->replay);
	if (a->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, a->ca);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, a->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)a->body_len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -EIO;
}

/* What the guest retries (src/guest/kbs_client.c): no answer, or 5xx, 408,
 * 429. A refusal is final. */
static bool transient(int r, long status)
{
	return r < 0 || status >= 500 || status == 408 || status == 429;
}

/* One boot as the guest makes it with --retry: a transient failure starts
 * again from /auth after 0.5 s, 1 s, 2 s ... 8 s, at most
 * GUEST_KBS_MAX_ATTEMPTS attempts, never past the guest's default deadline. */
static int boot_retrying(const struct args *a, const struct snp_sim *sim, long *status,
			 uint8_t **key, size_t *klen, char *detail, size_t dlen, unsigned *attempts)
{
	uint64_t backoff = GUEST_KBS_BACKOFF_FIRST_MS;
	double deadline = now_ms() + RETRY_DEADLINE_MS;
	int r;

	for (*attempts = 1;; (*attempts)++) {
		r = kfc_boot(a->url, a->ca, sim, &a->ev, a->resource, a->bearer, status, key, klen,
			     detail, dlen);
		if (!a->retry || !transient(r, *status) || *attempts >= GUEST_KBS_MAX_ATTEMPTS ||
		    now_ms() + (double)backoff >= deadline)
			return r;
		secmem_free(*key);
		*key = NULL;
		{
			struct timespec ts = { .tv_sec = (time_t)(backoff / 1000),
					       .tv_nsec = (long)(backoff % 1000) * 1000000L };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		backoff = backoff * 2 > GUEST_KBS_BACKOFF_MAX_MS ? GUEST_KBS_BACKOFF_MAX_MS : backoff * 2;
	}
}

static void *bench_worker(void *arg)
{
	struct bench *b = arg;
	const struct args *a = b->a;

	for (;;) {
		unsigned long i = atomic_fetch_add(&b->next, 1);
		uint8_t *key = NULL;
		size_t klen = 0;
		long status = 0;
		char detail[512] = "";
		unsigned attempts = 1;
		double t0;
		int r;

		if (i >= a->count)
			break;
		t0 = now_ms();
		if (a->replay)
			r = replay_one(a, &status);
		else
			r = boot_retrying(a, b->sim, &status, &key, &klen, detail, sizeof(detail),
					  &attempts);
		b->lat_ms[i] = now_ms() - t0;
		if (attempts > 1) {
			unsigned long m = atomic_load(&b->max_attempts);

			atomic_fetch_add(&b->retried, 1);
			while (attempts > m &&
			       !atomic_compare_exchange_weak(&b->max_attempts, &m, attempts))
				;
		}
		secmem_free(key);
		if (r < 0 || status != 200) {
			atomic_fetch_add(&b->failed, 1);
			pthread_mutex_lock(&b->lock);
			if (!b->first_error[0])
				snprintf(b->first_error, sizeof(b->first_error), "status %ld r=%d %s",
					 status, r, detail);
			pthread_mutex_unlock(&b->lock);
		}
	}
	return NULL;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static int run_bench(const struct args *a, const struct snp_sim *sim)
{
	struct bench b = { .a = a, .sim = sim };
	pthread_t th[MAX_CONCURRENCY];
	double t0, secs;
	unsigned long ok;

	b.lat_ms = calloc(a->count, sizeof(double));
	if (!b.lat_ms)
		return 1;
	pthread_mutex_init(&b.lock, NULL);
	t0 = now_ms();
	for (unsigned long i = 0; i < a->concurrency; i++)
		pthread_create(&th[i], NULL, bench_worker, &b);
	for (unsigned long i = 0; i < a->concurrency; i++)
		pthread_join(th[i], NULL);
	secs = (now_ms() - t0) / 1e3;
	qsort(b.lat_ms, a->count, sizeof(double), cmp_double);
	ok = a->count - atomic_load(&b.failed);
	printf("%s: %lu ok, %lu failed, concurrency %lu, %.2f s, %.1f per second, "
	       "p50 %.2f ms, p99 %.2f ms\n",
	       a->replay ? "requests" : "boots", ok, atomic_load(&b.failed), a->concurrency, secs,
	       (double)ok / secs, b.lat_ms[a->count / 2],
	       b.lat_ms[a->count * 99 / 100 < a->count ? a->count * 99 / 100 : a->count - 1]);
	if (a->retry)
		printf("retried: %lu boots needed more than one attempt, at most %lu\n",
		       atomic_load(&b.retried), atomic_load(&b.max_attempts) ? atomic_load(&b.max_attempts) : 1);
	if (b.first_error[0])
		printf("first failure: %s\n", b.first_error);
	free(b.lat_ms);
	return atomic_load(&b.failed) ? 1 : 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct snp_sim *sim = NULL;
	struct ccu_reason why = { 0 };
	uint8_t *key = NULL;
	size_t klen = 0;
	long status = 0;
	char detail[2048] = "";
	int r, ret = 1;

	if (parse_args(argc, argv, &a) < 0) {
		usage(stderr);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (a.replay) {
		uint8_t *data = NULL;

		if (ccu_read_file(a.body_file, KFC_BODY_MAX, &data, &a.body_len) < 0) {
			fprintf(stderr, PROG ": cannot read '%s'\n", a.body_file);
			return 2;
		}
		a.body = (char *)data;
		ret = run_bench(&a, NULL);
		free(data);
		return ret;
	}
	if (snp_sim_load(a.sim, &sim, &why) < 0) {
		fprintf(stderr, PROG ": %s: %s: %s\n", a.sim, why.code, why.detail);
		return 2;
	}
	if (a.count) {
		/* one CA file for every simulated boot: read it once */
		if (a.ca && kfc_share_ca(a.ca) < 0) {
			fprintf(stderr, PROG ": cannot load CA file '%s'\n", a.ca);
			ret = 2;
			goto out;
		}
		/* and the same simulated chip's certificates in every report */
		if (kfc_cache_chain(sim) < 0) {
			fprintf(stderr, PROG ": cannot serialise the simulator's certificates\n");
			ret = 2;
			goto out;
		}
		ret = run_bench(&a, sim);
		goto out;
	}
	r = kfc_boot(a.url, a.ca, sim, &a.ev, a.resource, a.bearer, &status, &key, &klen, detail,
		     sizeof(detail));
	if (r >= 0 && status == 200) {
		if (a.print_key) {
			char *hex = secmem_alloc(klen * 2 + 1);

			if (hex) {
				ccu_hex_encode(key, klen, hex, klen * 2 + 1);
				printf("%s\n", hex);
			}
			secmem_free(hex);
		} else {
			printf("RELEASED %zu bytes\n", klen);
		}
		ret = 0;
	} else if (status) {
		printf("DENIED %ld %s\n", status, detail);
	} else {
		printf("FAILED %s (%d)\n", strerror(-r), r);
	}
out:
	secmem_free(key);
	snp_sim_free(sim);
	curl_global_cleanup();
	return ret;
}
