/*
 * The broker with tee az-snp-vtpm (Azure vTPM evidence, simulated platform):
 * /auth accepts the tee, /attest verifies the HCL report, the AK-signed quote
 * and the session binding, and the release policy's pcr.N / azure.* rules
 * decide; a replayed quote, a PCR off the allowlist and a console under
 * azure.console = forbidden are refused with their codes.
 */
#include "helpers/brokerfx.h"
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "common/codec.h"
#include "common/secmem.h"
#include "kbs/jwe.h"
#include "kbs/kbs.h"
#include "kbs/msg.h"
#include "kbs/preimage.h"
#include "common/util.h"
#include "guest/kbs_client.h"
#include "snp/azure_sim.h"

static struct bfx F;
static struct az_sim_vm VM;

static void write_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

/* The AMD ASK and ARK as operators provide them (az-snp-vtpm evidence
 * carries only the VCEK, as on Azure): cert_cache/<product>/{ask,ark}.pem. */
static int group_setup(void **state)
{
	char cache[600], path[700], extra[800];

	(void)state;
	bfx_init(&F);
	assert_int_equal(az_sim_vm_init(&VM, NULL), 0);
	snprintf(cache, sizeof(cache), "%s/azcache", F.dir);
	assert_int_equal(mkdir(cache, 0700), 0);
	snprintf(path, sizeof(path), "%s/milan", cache);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/milan/ark.pem", cache);
	write_pem(path, snp_sim_ark(F.sim));
	snprintf(path, sizeof(path), "%s/milan/ask.pem", cache);
	write_pem(path, snp_sim_ask(F.sim));
	snprintf(extra, sizeof(extra), "cert_cache = %s\n", cache);
	bfx_start(&F, extra, NULL);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	bfx_stop(&F);
	bfx_done(&F);
	az_sim_vm_done(&VM);
	return 0;
}

struct sess {
	struct kfc k;
	char nonce[KBS_NONCE_MAX + 1];
	EVP_PKEY *tee;
	struct kbs_jwk jwk;
};

static void sess_open(struct sess *s)
{
	struct kfc_resp r = { 0 };
	char *req = NULL;

	memset(s, 0, sizeof(*s));
	assert_int_equal(kfc_open(&s->k, F.base, F.ca), 0);
	assert_int_equal(kbs_request_build(AZ_TEE_NAME, &req, NULL), 0);
	assert_int_equal(kfc_auth(&s->k, req, s->nonce, &r), 0);
	free(req);
	assert_int_equal(r.status, 200);
	kfc_resp_done(&r);
	assert_int_equal(kbs_jwk_generate_ec(&s->tee, NULL), 0);
	assert_int_equal(kbs_jwk_from_pkey(s->tee, &s->jwk, NULL), 0);
}

static void sess_close(struct sess *s)
{
	kfc_close(&s->k);
	EVP_PKEY_free(s->tee);
}

/* /attest with az-snp-vtpm evidence binding @bind_nonce (NULL = this session's). */
static long attest(struct sess *s, const char *bind_nonce, struct kfc_resp *r)
{
	uint8_t rd[KBS_REPORT_DATA_LEN];
	json_t *ev;
	char *body = NULL;
	struct kbs_attestation_in in = { .nonce = s->nonce, .tee_pubkey = &s->jwk };

	assert_int_equal(kbs_report_data_guest(KBS_HASH_SHA384, bind_nonce ? bind_nonce : s->nonce,
					       &s->jwk, "", rd, NULL),
			 0);
	ev = az_sim_evidence(F.sim, &VM, rd, 48, NULL);
	assert_non_null(ev);
	in.primary_evidence = ev;
	assert_int_equal(kbs_attestation_build(&in, &body, NULL, NULL), 0);
	json_decref(ev);
	assert_int_equal(kfc_attest(&s->k, body, r), 0);
	free(body);
	return r->status;
}

static void put_policy(const char *name, const char *text, const char *path)
{
	struct kfc_resp r = { 0 };
	char url[256];

	snprintf(url, sizeof(url), "/kbs/v0/policy/%s", name);
	assert_int_equal(bfx_admin(&F, "POST", url, text, strlen(text), &r), 200);
	kfc_resp_done(&r);
	snprintf(url, sizeof(url), "/kbs/v0/resource/%s?policy=%s", path, name);
	assert_int_equal(bfx_admin(&F, "POST", url, "0123456789abcdef0123456789abcdef", 32, &r),
			 200);
	kfc_resp_done(&r);
}

static void test_unlock(void **state)
{
	struct sess s;
	struct kfc_resp r = { 0 };
	uint8_t *pt = NULL;
	size_t len;

	(void)state;
	sess_open(&s);
	if (attest(&s, NULL, &r) != 200)
		fail_msg("attest: %ld %s", r.status, r.body ? r.body : "");
	kfc_resp_done(&r);
	assert_int_equal(kfc_resource(&s.k, BFX_RESOURCE, false, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(kbs_jwe_decrypt(s.tee, r.body, r.len, &pt, &len, NULL), 0);
	assert_int_equal(len, sizeof(F.key));
	assert_memory_equal(pt, F.key, len);
	secmem_free(pt);
	kfc_resp_done(&r);
	sess_close(&s);
}

static void test_replayed_quote(void **state)
{
	struct sess a, b;
	struct kfc_resp r = { 0 };

	(void)state;
	sess_open(&a);
	sess_open(&b);
	/* Evidence made for session a, sent in session b. */
	assert_int_equal(attest(&b, a.nonce, &r), 401);
	bfx_assert_error(&r, 401, KBS_ERR_ATTESTATION, "AZ_QUOTE_NONCE");
	kfc_resp_done(&r);
	sess_close(&a);
	sess_close(&b);
}

static void release_expect(const char *policy, const char *path, const char *code)
{
	struct sess s;
	struct kfc_resp r = { 0 };

	char name[64];
	size_t n = 0;

	for (const char *c = path; *c && n + 1 < sizeof(name); c++)
		if (*c != '/')
			name[n++] = *c;
	name[n] = 0;
	put_policy(name, policy, path);
	sess_open(&s);
	assert_int_equal(attest(&s, NULL, &r), 200);
	kfc_resp_done(&r);
	{
		char full[128];

		snprintf(full, sizeof(full), "%s", path);
		assert_int_equal(kfc_resource(&s.k, full, false, &r), 0);
	}
	if (!code) {
		assert_int_equal(r.status, 200);
	} else {
		if (r.status != 401 || !r.body || !strstr(r.body, code))
			fail_msg("expected 401 %s, got %ld %s", code, r.status,
				 r.body ? r.body : "");
	}
	kfc_resp_done(&r);
	sess_close(&s);
}

static void test_policy(void **state)
{
	char pcr7[65], text[512];

	(void)state;
	ccu_hex_encode(VM.pcrs[7], 32, pcr7, sizeof(pcr7));
	snprintf(text, sizeof(text),
		 "measurement = any\npcr.7 = %s\nazure.secure_boot = required\n"
		 "azure.console = forbidden\nazure.vm_id = %s\n",
		 pcr7, VM.vm_id);
	release_expect(text, "az/luks/good", NULL);
	release_expect("measurement = any\npcr.7 = " "0000000000000000000000000000000000000000000000000000000000000000" "\n",
		       "az/luks/pcr", "POLICY_PCR");
	VM.console_enabled = AZ_TRUE;
	release_expect("measurement = any\nazure.console = forbidden\n", "az/luks/console",
		       "POLICY_AZURE_CONSOLE");
	VM.console_enabled = AZ_FALSE;
	VM.secure_boot = AZ_UNKNOWN;
	release_expect("measurement = any\nazure.secure_boot = required\n", "az/luks/sb",
		       "POLICY_AZURE_SECURE_BOOT");
	VM.secure_boot = AZ_TRUE;
}

/* The guest's KBS client as ccunlock runs it with the azure-vtpm provider:
 * tee az-snp-vtpm in /auth, the provider's evidence for the REPORT_DATA the
 * client computes (its first 48 bytes are the quote's qualifying data). */
static int az_evidence_cb(void *ud, const uint8_t report_data[64], json_t **ret,
			  struct ccu_reason *err)
{
	(void)ud;
	*ret = az_sim_evidence(F.sim, &VM, report_data, 48, err);
	return *ret ? 0 : -EIO;
}

static void test_guest_client(void **state)
{
	struct kbs_resource_path p;
	struct guest_kbs k = { .url = F.base, .ca_file = F.ca, .evidence = az_evidence_cb,
			       .tee = AZ_TEE_NAME };
	struct ccu_reason why = { 0 };
	uint8_t *key = NULL;
	size_t len = 0;

	(void)state;
	k.deadline_ms = ccu_now_ms() + 60000;
	assert_int_equal(kbs_resource_path_parse(BFX_RESOURCE, strlen(BFX_RESOURCE), &p, NULL), 0);
	if (guest_kbs_fetch(&k, &p, &key, &len, &why) != 0)
		fail_msg("%s: %s", why.code, why.detail);
	assert_int_equal(len, sizeof(F.key));
	assert_memory_equal(key, F.key, len);
	secmem_free(key);
}

/* Plain SNP evidence against a policy with vTPM rules: cannot be checked. */
static void test_snp_uncheckable(void **state)
{
	char detail[512];
	long st;

	(void)state;
	put_policy("pcrs", "measurement = any\npcr.0 = "
			   "0000000000000000000000000000000000000000000000000000000000000000\n",
		   "az/luks/snp");
	st = bfx_boot(&F, NULL, NULL, "az/luks/snp", false, NULL, 0, detail, sizeof(detail));
	assert_int_equal(st, 401);
	if (!strstr(detail, "POLICY_UNCHECKABLE"))
		fail_msg("detail: %s", detail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlock),
		cmocka_unit_test(test_replayed_quote),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_snp_uncheckable),
		cmocka_unit_test(test_guest_client),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
