/*
 * The azure-vtpm evidence provider against swtpm playing Azure's vTPM
 * (tests/lib/azure-vtpm.sh: AK at 0x81000003, HCL report in NV 0x01400001,
 * written by the simulated paravisor): the provider's own TPM2 marshaller
 * writes REPORT_DATA, reads the HCL report, quotes and reads the PCRs, and
 * the broker's verifier accepts the evidence it builds. A stale HCL report
 * (not refreshed for our REPORT_DATA) is refused with AZURE_HCL. The test
 * build's simulated paravisor (testonly/guest/azure_paravisor_sim.c, what the VM
 * boots use) refreshes the report itself, from the AK TPM2_ReadPublic gives.
 * The swtpm tests skip when swtpm or tpm2-tools are absent; the ReadPublic
 * parser's malformed-input tests always run.
 */
#include "helpers/simfix.h"
#include "helpers/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "broker/azure_verify.h"
#include "guest/provider.h"
#include "guest/tpm2.h"
#include "snp/azure_sim.h"

static char *D;
static unsigned short PORT;
static struct az_sim_vm VM;
static bool HAVE;

static unsigned short free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	unsigned short p;

	assert_true(s >= 0);
	/* swtpm needs PORT and PORT+1: take one, use it and the next. */
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	p = ntohs(a.sin_port);
	close(s);
	return p < 65000 ? p : 40000;
}

#define SWTPM_START_TRIES 5

static int script_status(const char *cmd, const char *a, const char *b)
{
	char port[16], path[1024];
	struct tu_run r;
	int st;

	snprintf(port, sizeof(port), "%u", PORT);
	snprintf(path, sizeof(path), "%s/tests/lib/azure-vtpm.sh", tu_top());
	{
		const char *argv[] = { path, cmd, D, port, a, b, NULL };

		tu_run(&r, argv);
	}
	st = r.status;
	if (st != 0)
		print_message("azure-vtpm.sh %s: %d %s\n", cmd, st, r.err ? r.err : "");
	tu_run_free(&r);
	return st;
}

static void script(const char *cmd, const char *a, const char *b)
{
	char port[16], path[1024];
	struct tu_run r;

	snprintf(port, sizeof(port), "%u", PORT);
	snprintf(path, sizeof(path), "%s/tests/lib/azure-vtpm.sh", tu_top());
	{
		const char *argv[] = { path, cmd, D, port, a, b, NULL };

		tu_run(&r, argv);
	}
	if (r.status != 0)
		fail_msg("azure-vtpm.sh %s: %d %s", cmd, r.status, r.err ? r.err : "");
	tu_run_free(&r);
}

static int tpm_open(void *ud)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)ud;
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(s);
		return -ECONNREFUSED;
	}
	return s;
}

static int vcek(const uint8_t *hcl, size_t len, uint8_t **der, size_t *der_len, void *ud)
{
	unsigned char *d = NULL;
	int n = i2d_X509(snp_sim_vcek(tu_sim_platform(SNP_PRODUCT_MILAN)), &d);

	(void)hcl;
	(void)len;
	(void)ud;
	if (n <= 0)
		return -EIO;
	*der = malloc((size_t)n);
	memcpy(*der, d, (size_t)n);
	*der_len = (size_t)n;
	OPENSSL_free(d);
	return 0;
}

/* The provider's waits between HCL reads: counted, not slept (nothing
 * refreshes the report meanwhile in these tests). */
static unsigned SLEEPS;

static void no_sleep(uint64_t ms, void *ud)
{
	(void)ud;
	assert_true(ms > 0);
	SLEEPS++;
}

static const struct guest_seams SEAMS = { .tpm_open = tpm_open, .azure_vcek = vcek,
					  .sleep_ms = no_sleep };

/* The paravisor's part: an HCL report for @rd, signed by the simulated PSP. */
static void paravisor_writes(const uint8_t rd[64])
{
	uint8_t hcl[4096];
	size_t len;
	char path[1024];
	FILE *f;

	assert_int_equal(az_sim_hcl(tu_sim_platform(SNP_PRODUCT_MILAN), &VM, rd, hcl, sizeof(hcl),
				    &len, NULL),
			 0);
	snprintf(path, sizeof(path), "%s/hcl.bin", D);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(hcl, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	script("hcl", path, NULL);
}

static int group_setup(void **state)
{
	char path[1024];
	FILE *f;
	EVP_PKEY *ak;

	(void)state;
	if (access("/usr/bin/swtpm", X_OK) != 0 || access("/usr/bin/tpm2_createprimary", X_OK) != 0)
		return 0;
	HAVE = true;
	D = tu_mkdtemp();
	/* The port pair may be taken by the time swtpm binds it: pick again. */
	for (int i = 0;; i++) {
		PORT = free_port();
		if (script_status("start", NULL, NULL) == 0)
			break;
		script_status("stop", NULL, NULL);
		if (i + 1 == SWTPM_START_TRIES)
			fail_msg("swtpm did not start on %d port pairs", SWTPM_START_TRIES);
	}
	snprintf(path, sizeof(path), "%s/ak.pem", D);
	f = fopen(path, "r");
	assert_non_null(f);
	ak = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(ak);
	assert_int_equal(az_sim_vm_init(&VM, NULL), 0);
	EVP_PKEY_free(VM.ak);
	VM.ak = ak; /* the runtime data carries the vTPM's AK */
	script("extend", "7", "0707070707070707070707070707070707070707070707070707070707070707");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (!HAVE)
		return 0;
	script("stop", NULL, NULL);
	az_sim_vm_done(&VM);
	tu_rmrf(D);
	free(D);
	return 0;
}

#define REQUIRE_SWTPM()                                                                            \
	do {                                                                                       \
		if (!HAVE) {                                                                       \
			print_message("skip: swtpm / tpm2-tools absent\n");                        \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void binding(uint8_t rd[64], const char *seed)
{
	memset(rd, 0, 64);
	assert_int_equal(EVP_Digest(seed, strlen(seed), rd, NULL, EVP_sha384(), NULL), 1);
}

static void test_evidence_verifies(void **state)
{
	struct guest_provider_ctx ctx = { .roots = &guest_default_roots, .seams = &SEAMS };
	struct ccu_reason why = { 0 };
	struct az_evidence ev;
	struct az_claims *c = calloc(1, sizeof(*c));
	struct snp_verdict v;
	struct snp_verify_opts vo = { .at = time(NULL) };
	struct snp_sim *sim;
	STACK_OF(X509) *pool = sk_X509_new_null();
	uint8_t rd[64], nv[64], pcr7[32], zero[64] = { 0 };
	json_t *j = NULL;
	struct tpm2 *t = malloc(sizeof(*t));
	int fd;

	(void)state;
	REQUIRE_SWTPM();
	binding(rd, "session one");
	paravisor_writes(rd);
	assert_int_equal(guest_provider_azure.available(&ctx), 1);
	SLEEPS = 0;
	if (guest_provider_azure.get_json(&ctx, rd, &j, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	assert_int_equal(SLEEPS, 0); /* the fresh report is read at once */
	assert_int_equal(az_evidence_parse(j, &ev, &why), 0);
	json_decref(j);
	sim = tu_sim_platform(SNP_PRODUCT_MILAN);
	X509_up_ref(snp_sim_ask(sim));
	sk_X509_push(pool, snp_sim_ask(sim));
	X509_up_ref(snp_sim_ark(sim));
	sk_X509_push(pool, snp_sim_ark(sim));
	if (broker_az_verify(tu_sim_trust(), &ev, ev.vcek, pool, &vo, rd, 48, c, &v, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	assert_true(c->binding_checked);
	assert_int_equal(c->pcr_mask, 0xffffff);
	/* PCR 7 = SHA-256(0^32 || 07..07), the extend done at setup. */
	{
		uint8_t in[64];

		memset(in, 0, 32);
		memset(in + 32, 7, 32);
		assert_int_equal(EVP_Digest(in, 64, pcr7, NULL, EVP_sha256(), NULL), 1);
	}
	assert_memory_equal(c->pcr[7], pcr7, 32);
	assert_memory_equal(c->pcr[0], zero, 32);
	/* Another session's binding: refused by the verifier. */
	rd[0] ^= 1;
	assert_int_equal(broker_az_verify(tu_sim_trust(), &ev, ev.vcek, pool, &vo, rd, 48, c, &v,
					  &why),
			 -EKEYREJECTED);
	assert_string_equal(why.code, "AZ_QUOTE_NONCE");
	rd[0] ^= 1;
	/* The provider left REPORT_DATA in NV 0x01400002. */
	fd = tpm_open(NULL);
	assert_true(fd >= 0);
	tpm2_init(t, fd);
	assert_int_equal(tpm2_nv_read(t, AZ_NV_REPORT_DATA, nv, 64, &why), 0);
	assert_memory_equal(nv, rd, 64);
	close(fd);
	free(t);
	az_evidence_done(&ev);
	sk_X509_pop_free(pool, X509_free);
	free(c);
}

/* The paravisor did not refresh the report for this REPORT_DATA. */
static void test_stale_hcl(void **state)
{
	struct guest_provider_ctx ctx = { .roots = &guest_default_roots, .seams = &SEAMS };
	struct ccu_reason why = { 0 };
	uint8_t rd[64], old[64];
	json_t *j = NULL;

	(void)state;
	REQUIRE_SWTPM();
	binding(old, "an old session");
	paravisor_writes(old);
	binding(rd, "session two");
	SLEEPS = 0;
	if (guest_provider_azure.get_json(&ctx, rd, &j, &why) != -ETIMEDOUT)
		fail_msg("%s: %s", why.code, why.detail);
	assert_null(j);
	assert_string_equal(why.code, "AZURE_HCL");
	/* Every read but the first came after a wait, and the reads were bounded. */
	{
		const char *n = strstr(why.detail, " after ");
		unsigned reads = 0;

		assert_non_null(n);
		assert_int_equal(sscanf(n, " after %u reads", &reads), 1);
		assert_true(reads > 1);
		assert_int_equal(SLEEPS, reads - 1);
	}
}

/* TPM2_ReadPublic of the AK: the key tpm2-tools exported (ak.pem). */
static void test_read_public(void **state)
{
	struct ccu_reason why = { 0 };
	uint8_t n[512], want[512];
	size_t nl = 0;
	uint32_t e = 0;
	BIGNUM *bn = NULL;
	struct tpm2 *t = malloc(sizeof(*t));
	int fd;

	(void)state;
	REQUIRE_SWTPM();
	fd = tpm_open(NULL);
	assert_true(fd >= 0);
	tpm2_init(t, fd);
	if (tpm2_read_public_rsa(t, AZ_AK_HANDLE, n, sizeof(n), &nl, &e, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	close(fd);
	free(t);
	assert_int_equal(nl, 256);
	assert_int_equal(e, 65537);
	assert_true(EVP_PKEY_get_bn_param(VM.ak, OSSL_PKEY_PARAM_RSA_N, &bn));
	assert_int_equal(BN_bn2binpad(bn, want, 256), 256);
	BN_free(bn);
	assert_memory_equal(n, want, 256);
}

/* A ReadPublic response's parameters: TPM2B_PUBLIC (RSA, @sym/@scheme null or
 * not, @nl-byte modulus) and the two names; returns the length. */
static size_t rp_build(uint8_t *b, uint16_t type, bool sym, bool scheme, size_t nl, uint32_t e)
{
	size_t o = 2, pub;

#define PUT16(v) (b[o] = (uint8_t)((v) >> 8), b[o + 1] = (uint8_t)(v), o += 2)
#define PUT32(v) (PUT16((uint32_t)(v) >> 16), PUT16((v) & 0xffff))
	PUT16(type);
	PUT16(0x000b);       /* nameAlg */
	PUT32(0x00050072u);  /* attributes */
	PUT16(0);            /* authPolicy */
	if (sym) {
		PUT16(0x0006); /* AES */
		PUT16(128);
		PUT16(0x0043); /* CFB */
	} else {
		PUT16(0x0010);
	}
	if (scheme) {
		PUT16(0x0014); /* RSASSA */
		PUT16(0x000b);
	} else {
		PUT16(0x0010);
	}
	PUT16(2048);
	PUT32(e);
	PUT16(nl);
	memset(b + o, 0xab, nl);
	o += nl;
	pub = o - 2;
	b[0] = (uint8_t)(pub >> 8);
	b[1] = (uint8_t)pub;
	PUT16(34);
	memset(b + o, 0x11, 34);
	o += 34;
	PUT16(34);
	memset(b + o, 0x22, 34);
	o += 34;
#undef PUT16
#undef PUT32
	return o;
}

static void test_read_public_parse(void **state)
{
	struct ccu_reason why = { 0 };
	uint8_t b[1024], n[512];
	size_t len, nl = 0;
	uint32_t e = 1;

	(void)state;
	/* Well-formed, with and without symmetric/scheme details; e 0 = 65537. */
	len = rp_build(b, 0x0001, false, true, 256, 0);
	assert_int_equal(tpm2_parse_read_public(b, len, n, sizeof(n), &nl, &e, &why), 0);
	assert_int_equal(nl, 256);
	assert_int_equal(e, 65537);
	assert_int_equal(n[0], 0xab);
	len = rp_build(b, 0x0001, true, false, 384, 3);
	assert_int_equal(tpm2_parse_read_public(b, len, n, sizeof(n), &nl, &e, &why), 0);
	assert_int_equal(nl, 384);
	assert_int_equal(e, 3);
	/* Not RSA (ECC). */
	len = rp_build(b, 0x0023, false, true, 256, 0);
	assert_int_equal(tpm2_parse_read_public(b, len, n, sizeof(n), &nl, &e, &why), -EBADMSG);
	assert_string_equal(why.code, "TPM_RESPONSE");
	/* Every truncation. */
	len = rp_build(b, 0x0001, false, true, 256, 0);
	for (size_t cut = 0; cut < len; cut++) {
		memset(&why, 0, sizeof(why));
		assert_int_equal(tpm2_parse_read_public(b, cut, n, sizeof(n), &nl, &e, &why),
				 -EBADMSG);
		assert_string_equal(why.code, "TPM_RESPONSE");
	}
	/* Trailing bytes. */
	assert_int_equal(tpm2_parse_read_public(b, len + 1, n, sizeof(n), &nl, &e, &why),
			 -EBADMSG);
	/* outPublic size that does not match its contents (one more, one less). */
	b[1]++;
	assert_int_equal(tpm2_parse_read_public(b, len, n, sizeof(n), &nl, &e, &why), -EBADMSG);
	b[1] -= 2;
	assert_int_equal(tpm2_parse_read_public(b, len, n, sizeof(n), &nl, &e, &why), -EBADMSG);
	/* A modulus larger than the caller's buffer, and an empty one. */
	len = rp_build(b, 0x0001, false, true, 256, 0);
	assert_int_equal(tpm2_parse_read_public(b, len, n, 255, &nl, &e, &why), -EBADMSG);
	len = rp_build(b, 0x0001, false, true, 0, 0);
	assert_int_equal(tpm2_parse_read_public(b, len, n, sizeof(n), &nl, &e, &why), -EBADMSG);
}

/* <dir>/sim (the simulated platform) and <dir>/sim/azure-vm with @conf. */
static char *pv_dir(const char *conf)
{
	char *d = tu_mkdtemp(), path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sim", d);
	assert_int_equal(snp_sim_save(tu_sim_platform(SNP_PRODUCT_MILAN), path, NULL), 0);
	snprintf(path, sizeof(path), "%s/sim/azure-vm", d);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(conf, f);
	assert_int_equal(fclose(f), 0);
	return d;
}

/* The simulated paravisor refreshes the HCL report: the evidence verifies,
 * with the configured console-enabled and vmUniqueId; its VCEK is the
 * simulator's. With replay_binding, the quote is for that binding. */
static void pv_run(const char *conf, const uint8_t rd[64], const char *want_code,
		   struct az_claims *c)
{
	static const struct guest_seams seams = { .tpm_open = tpm_open };
	char *d = pv_dir(conf), simdir[1024];
	struct guest_config cfg = { .simulator_dir = simdir };
	struct guest_provider_ctx ctx = { .roots = &guest_default_roots, .seams = &seams,
					  .cfg = &cfg, .azure_sim = &guest_azure_sim_paravisor };
	struct ccu_reason why = { 0 };
	struct az_evidence ev;
	struct snp_verdict v;
	struct snp_verify_opts vo = { .at = time(NULL) };
	struct snp_sim *sim = tu_sim_platform(SNP_PRODUCT_MILAN);
	STACK_OF(X509) *pool = sk_X509_new_null();
	json_t *j = NULL;
	int r;

	snprintf(simdir, sizeof(simdir), "%s/sim", d);
	assert_int_equal(guest_azure_sim_paravisor.active(&ctx), 1);
	if (guest_provider_azure.get_json(&ctx, rd, &j, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	assert_int_equal(az_evidence_parse(j, &ev, &why), 0);
	json_decref(j);
	X509_up_ref(snp_sim_ask(sim));
	sk_X509_push(pool, snp_sim_ask(sim));
	X509_up_ref(snp_sim_ark(sim));
	sk_X509_push(pool, snp_sim_ark(sim));
	r = broker_az_verify(tu_sim_trust(), &ev, ev.vcek, pool, &vo, rd, 48, c, &v, &why);
	if (want_code) {
		assert_int_equal(r, -EKEYREJECTED);
		assert_string_equal(why.code, want_code);
	} else if (r != 0) {
		fail_msg("%s: %s", why.code, why.detail);
	}
	az_evidence_done(&ev);
	sk_X509_pop_free(pool, X509_free);
	tu_rmrf(d);
	free(d);
}

static void test_simulated_paravisor(void **state)
{
	struct az_claims *c = calloc(1, sizeof(*c));
	uint8_t rd[64];

	(void)state;
	REQUIRE_SWTPM();
	/* The NV index holds a report for another binding: without the
	 * paravisor this is AZURE_HCL (test_stale_hcl). */
	binding(rd, "an old session");
	paravisor_writes(rd);
	binding(rd, "session three");
	pv_run("console_enabled = yes\nvm_id = 00000000-1111-4222-8333-444444444444\n", rd, NULL,
	       c);
	assert_true(c->binding_checked);
	assert_int_equal(c->runtime.console_enabled, AZ_TRUE);
	assert_int_equal(c->runtime.secure_boot, AZ_TRUE);
	assert_string_equal(c->runtime.vm_id, "00000000-1111-4222-8333-444444444444");
	binding(rd, "session four");
	pv_run("secure_boot = no\n", rd, NULL, c);
	assert_int_equal(c->runtime.console_enabled, AZ_FALSE);
	assert_int_equal(c->runtime.secure_boot, AZ_FALSE);
	/* Replay: evidence for an earlier session's binding, sent to this one. */
	binding(rd, "session five");
	pv_run("replay_binding = "
	       "0101010101010101010101010101010101010101010101010101010101010101"
	       "0101010101010101010101010101010101010101010101010101010101010101\n",
	       rd, "AZ_QUOTE_NONCE", c);
	free(c);
}

/* A malformed azure-vm configuration is refused (SIM_PARAMS). */
static void test_simulated_paravisor_conf(void **state)
{
	static const struct guest_seams seams = { .tpm_open = tpm_open };
	static const char *const bad[] = { "console_enabled = maybe\n", "unknown = 1\n",
					   "replay_binding = 0102\n", "vm_id = \n" };
	struct ccu_reason why;
	uint8_t rd[64];

	(void)state;
	REQUIRE_SWTPM();
	binding(rd, "session six");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *d = pv_dir(bad[i]), simdir[1024];
		struct guest_config cfg = { .simulator_dir = simdir };
		struct guest_provider_ctx ctx = { .roots = &guest_default_roots, .seams = &seams,
						  .cfg = &cfg,
						  .azure_sim = &guest_azure_sim_paravisor };
		json_t *j = NULL;

		snprintf(simdir, sizeof(simdir), "%s/sim", d);
		memset(&why, 0, sizeof(why));
		assert_true(guest_provider_azure.get_json(&ctx, rd, &j, &why) < 0);
		assert_null(j);
		if (strcmp(why.code, "SIM_PARAMS") != 0 && strcmp(why.code, "CONFIG_SYNTAX") != 0 &&
		    strncmp(why.code, "CONFIG_", 7) != 0)
			fail_msg("%s: %s: %s", bad[i], why.code, why.detail);
		tu_rmrf(d);
		free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evidence_verifies),
		cmocka_unit_test(test_stale_hcl),
		cmocka_unit_test(test_read_public),
		cmocka_unit_test(test_read_public_parse),
		cmocka_unit_test(test_simulated_paravisor),
		cmocka_unit_test(test_simulated_paravisor_conf),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
