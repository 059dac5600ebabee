/*
 * Verification of Trustee `az-snp-vtpm` evidence (Azure confidential VMs):
 * the one sequence both `ccunlock-kbs verify --tee az-snp-vtpm` and the
 * broker's /attest run. See snp/azure.h for the checks and their order.
 */
#include "broker/azure_verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/cli.h"
#include "common/codec.h"
#include "common/util.h"
#include "snp/certs.h"
#include "snp/describe.h"
#include "snp/policy.h"

int broker_az_verify(const struct snp_trust *trust, const struct az_evidence *ev, X509 *leaf,
		     STACK_OF(X509) *pool, const struct snp_verify_opts *vo, const uint8_t *binding,
		     size_t binding_len, struct az_claims *c, struct snp_verdict *v,
		     struct ccu_reason *why)
{
	int r;

	memset(v, 0, sizeof(*v));
	r = az_claims_parse(ev, c, why);
	if (r < 0)
		return r == -EBADMSG ? -EKEYREJECTED : r;
	r = snp_verify(trust, &c->report, leaf, pool, vo, v);
	if (r == -EKEYREJECTED) {
		*why = v->reason;
		return r;
	}
	if (r < 0)
		return ccu_fail(why, r, "INTERNAL", "SNP verification failed internally: %s",
				strerror(-r));
	return az_verify_quote(ev, c, binding, binding_len, why);
}

/* ------------------------------------------------------------ the CLI */

#define AZ_VERIFY_MAX_FILE (AZ_EVIDENCE_MAX_TEXT)

static int input_error(const char *what, const char *path, const struct ccu_reason *why)
{
	char line[512];

	fprintf(stderr, "ccunlock-kbs verify: %s '%s': %s\n", what, path,
		ccu_reason_line(why, line, sizeof(line)));
	return BROKER_EXIT_USAGE;
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

static void print_text(const struct broker_az_cli *a, const struct az_claims *c,
		       const struct snp_verdict *v)
{
	char q[2 * AZ_TPM_DATA_MAX + 1];

	printf("VERIFIED: %s %s via the Azure paravisor (HCL report v%u, evidence v%d)\n",
	       snp_product_name(v->product), snp_cert_role_name(v->leaf_role), c->hcl_version,
	       c->evidence_version);
	snp_report_print(stdout, &c->report, v->product);
	ccu_hex_encode(c->quote.extra, c->quote.extra_len, q, sizeof(q));
	printf("vTPM quote: qualifying data %s (%s)\n", c->quote.extra_len ? q : "(empty)",
	       c->binding_checked ? "matches --nonce-binding" : "not checked: no --nonce-binding");
	printf("VM configuration: secure-boot %s, console-enabled %s, tpm-enabled %s, vmUniqueId %s\n",
	       c->runtime.secure_boot == AZ_TRUE ? "true" :
	       c->runtime.secure_boot == AZ_FALSE ? "false" : "absent",
	       c->runtime.console_enabled == AZ_TRUE ? "true" :
	       c->runtime.console_enabled == AZ_FALSE ? "false" : "absent",
	       c->runtime.tpm_enabled == AZ_TRUE ? "true" :
	       c->runtime.tpm_enabled == AZ_FALSE ? "false" : "absent",
	       c->runtime.vm_id[0] ? c->runtime.vm_id : "(absent)");
	for (unsigned i = 0; i < AZ_TPM_PCR_COUNT; i++) {
		char h[65];

		if (!(c->pcr_mask >> i & 1u))
			continue;
		ccu_hex_encode(c->pcr[i], 32, h, sizeof(h));
		printf("pcr.%u = %s\n", i, h);
	}
	if (a->policy)
		printf("POLICY: allowed by %s\n", a->policy);
}

int broker_cmd_verify_azure(const struct broker_az_cli *a)
{
	_cleanup_free_ uint8_t *data = NULL;
	uint8_t binding[AZ_TPM_DATA_MAX];
	size_t len, blen = 0;
	struct ccu_reason why = { 0 }, deny = { 0 };
	struct snp_policy *pol = NULL;
	struct snp_trust *trust = NULL;
	STACK_OF(X509) *pool = NULL;
	struct az_evidence ev = { 0 };
	struct az_claims *c = calloc(1, sizeof(*c));
	struct snp_verdict v = { 0 };
	struct snp_verify_opts vo = { 0 };
	bool ok = false, policy_ok = true, parsed = false;
	char line[512];
	int r, ret = BROKER_EXIT_USAGE;

	if (!c) {
		fprintf(stderr, "ccunlock-kbs verify: out of memory\n");
		return BROKER_EXIT_FAILURE;
	}
	if (a->nonce_binding) {
		size_t hl = strlen(a->nonce_binding);

		if (hl == 0 || hl % 2 || hl / 2 > sizeof(binding) ||
		    ccu_hex_decode(a->nonce_binding, hl, binding, sizeof(binding)) < 0) {
			fprintf(stderr, "ccunlock-kbs verify: --nonce-binding must be 2..128 hex "
					"digits\n");
			goto out;
		}
		blen = hl / 2;
	}
	if (a->policy && snp_policy_load_file(a->policy, &pol, &why) < 0) {
		ret = input_error("policy", a->policy, &why);
		goto out;
	}
	trust = snp_trust_new();
	pool = sk_X509_new_null();
	if (!trust || !pool) {
		fprintf(stderr, "ccunlock-kbs verify: out of memory\n");
		ret = BROKER_EXIT_FAILURE;
		goto out;
	}
	for (size_t i = 0; i < a->ntrusted; i++) {
		X509 *ark = NULL;

		if (snp_cert_load_one_file(a->trusted[i], &ark, &why) < 0) {
			ret = input_error("trusted ARK", a->trusted[i], &why);
			goto out;
		}
		r = snp_trust_add_root(trust, ark, &why);
		X509_free(ark);
		if (r < 0) {
			ret = input_error("trusted ARK", a->trusted[i], &why);
			goto out;
		}
	}
	for (size_t i = 0; i < a->nchain; i++) {
		STACK_OF(X509) *s = NULL;

		if (snp_certs_load_file(a->chain[i], &s, &why) < 0) {
			ret = input_error("chain", a->chain[i], &why);
			goto out;
		}
		while (sk_X509_num(s) > 0)
			sk_X509_push(pool, sk_X509_shift(s));
		sk_X509_free(s);
	}
	r = ccu_read_file(a->evidence, AZ_VERIFY_MAX_FILE, &data, &len);
	if (r < 0) {
		ccu_reason_set(&why, "INPUT", "cannot read: %s", strerror(-r));
		ret = input_error("evidence", a->evidence, &why);
		goto out;
	}
	r = az_evidence_parse_text((const char *)data, len, &ev, &why);
	if (r >= 0) {
		vo.at = a->at ? a->at : time(NULL);
		vo.product = a->product;
		r = broker_az_verify(trust, &ev, ev.vcek, pool, &vo, a->nonce_binding ? binding : NULL, blen,
				     c, &v, &why);
		parsed = r >= 0 || c->report.version != 0;
	}
	if (r < 0 && r != -EKEYREJECTED && r != -EBADMSG) {
		fprintf(stderr, "ccunlock-kbs verify: internal error: %s\n", strerror(-r));
		ret = BROKER_EXIT_FAILURE;
		goto out;
	}
	ok = r >= 0;
	if (ok && pol)
		policy_ok = snp_policy_eval_azure(pol, c, v.product, &deny) == 0;

	if (a->json) {
		json_t *o = json_object();

		json_object_set_new(o, "verdict",
				    json_string(ok && policy_ok ? "verified" : "rejected"));
		json_object_set_new(o, "tee", json_string(AZ_TEE_NAME));
		if (!ok || !policy_ok)
			json_object_set_new(o, "reason",
					    json_pack("{s:s,s:s}", "code",
						      ok ? deny.code : why.code, "detail",
						      ok ? deny.detail : why.detail));
		if (v.nchecks) {
			json_object_set_new(o, "product", json_string(snp_product_name(v.product)));
			json_object_set_new(o, "checks", checks_json(&v));
		}
		if (parsed) {
			json_object_set_new(o, "report", snp_report_describe(&c->report, v.product));
			json_object_set_new(o, "azure", az_claims_describe(c));
		}
		if (a->policy && ok)
			json_object_set_new(o, "policy",
					    json_pack("{s:s,s:b}", "file", a->policy, "allowed",
						      policy_ok));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	}
	if (!ok) {
		fprintf(stderr, "%s\n", ccu_reason_line(&why, line, sizeof(line)));
		ret = BROKER_EXIT_REJECTED;
	} else if (!policy_ok) {
		fprintf(stderr, "%s\n", ccu_reason_line(&deny, line, sizeof(line)));
		ret = BROKER_EXIT_REJECTED;
	} else {
		if (!a->json)
			print_text(a, c, &v);
		ret = BROKER_EXIT_OK;
	}
out:
	az_evidence_done(&ev);
	free(c);
	sk_X509_pop_free(pool, X509_free);
	snp_trust_free(trust);
	snp_policy_free(pol);
	return ret;
}
