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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/cli.h"
#include "common/codec.h"
#include "common/util.h"
#include "measure/measure.h"

int broker_measure_parse(const char *cmd, int argc, char **argv, bool policy,
			 struct meas_args *a)
{
	struct ccu_reason why = { 0 };
	int r = meas_args_parse(argc, argv, policy, a, &why);

	if (r == 1) {
		printf("usage: ccunlock-kbs measure OPTIONS\n"
		       "       ccunlock-kbs policy measure NAME OPTIONS [--config FILE]\n"
		       "\nOPTIONS:\n%s",
		       meas_args_help);
		return -1;
	}
	if (r < 0) {
		fprintf(stderr, "ccunlock-kbs %s: %s (see ccunlock-kbs %s --help)\n", cmd,
			why.detail, policy ? "policy" : "measure");
		return BROKER_EXIT_USAGE;
	}
	if (!a->config)
		a->config = BROKER_DEFAULT_CONFIG;
	return 0;
}

int broker_measure_compute(const char *cmd, const struct meas_args *a,
			   struct meas_result *res)
{
	struct ccu_reason why = { 0 };

	if (meas_compute(&a->in, res, &why) == 0)
		return BROKER_EXIT_OK;
	fprintf(stderr, "ccunlock-kbs %s: %s: %s\n", cmd, why.code, why.detail);
	if (strcmp(why.code, "MEASURE_OUTPUT") == 0)
		return BROKER_EXIT_FAILURE;
	return strcmp(why.code, "FIRMWARE_READ") == 0 || strcmp(why.code, "MEASURE_INPUT") == 0 ?
		       BROKER_EXIT_USAGE :
		       BROKER_EXIT_REJECTED;
}

static char *hex(const uint8_t *d, size_t n, char *buf)
{
	ccu_hex_encode(d, n, buf, 2 * n + 1);
	return buf;
}

static json_t *json_result(const struct meas_args *a, const struct meas_result *res)
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
	if (in->mode == MEAS_MODE_SNP_SVSM) {
		json_object_set_new(o, "svsm",
				    json_pack("{s:s,s:I,s:I}", "file", in->svsm, "size",
					      (json_int_t)res->svsm.size, "gpa",
					      (json_int_t)res->svsm.gpa));
		json_object_set_new(o, "vars_size", json_integer((json_int_t)in->vars_size));
	}
	if (in->mode != MEAS_MODE_SEV && in->mode != MEAS_MODE_SNP_OVMF_HASH) {
		json_object_set_new(o, "vmm", json_string(meas_vmm_name(in->vmm)));
		json_object_set_new(o, "vcpus", json_integer(in->vcpus));
		snprintf(num_s, sizeof(num_s), "0x%08x", in->vcpu_sig);
		json_object_set_new(o, "vcpu_sig", json_string(num_s));
		snprintf(num_s, sizeof(num_s), "0x%llx",
			 in->mode == MEAS_MODE_SNP	    ? (unsigned long long)in->guest_features :
			 in->mode == MEAS_MODE_SNP_SVSM ? 1ull :
							  0ull);
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
	struct meas_args a;
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
