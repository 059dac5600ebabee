/*
 * A simulated Azure paravisor - TEST BUILDS ONLY (src/testonly/ never reaches
 * a release binary; see guest/provider.h, struct guest_azure_sim).
 *
 * In a VM whose vTPM is swtpm nothing plays Microsoft's paravisor, so NV
 * 0x01400001 never refreshes when the guest writes REPORT_DATA to
 * 0x01400002. This does it, from inside the guest, with the simulated SEV-SNP
 * platform of `simulator_dir`:
 *
 *   - reads REPORT_DATA back from NV 0x01400002 (what the azure-vtpm flow
 *     wrote, not what it was asked for),
 *   - reads the AK's public key (TPM2_ReadPublic of 0x81000003),
 *   - builds the runtime data (that AK, vm-configuration from
 *     <simulator_dir>/azure-vm, user-data = REPORT_DATA) and an HCL report
 *     whose SNP report the simulator's VCEK signs (src/snp/azure_sim.c),
 *   - writes it to NV 0x01400001.
 *
 * The release azure-vtpm code then reads, quotes and sends as on Azure.
 *
 * <simulator_dir>/azure-vm (key = value, all optional):
 *   secure_boot = yes|no        vm-configuration "secure-boot" (yes)
 *   console_enabled = yes|no    vm-configuration "console-enabled" (no)
 *   vm_id = UUID                vmUniqueId
 *   replay_binding = 128 hex    write this REPORT_DATA (an earlier session's
 *                               binding) instead of the current one: the
 *                               evidence a replaying attacker would send
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "common/codec.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/util.h"
#include "guest/provider.h"
#include "guest/tpm2.h"
#include "snp/azure_sim.h"
#include "snp/hcl.h"
#include "snp/sim.h"

#define PV_CONF_NAME "azure-vm"
#define PV_CONF_MAX 4096
#define PV_HCL_NV_SIZE 2048 /* libtpms caps NV indices at 2048 bytes */

DEFINE_FREEP(struct snp_sim, snp_sim_free)

struct pv_conf {
	enum az_tristate secure_boot, console_enabled;
	char vm_id[AZ_VM_ID_MAX + 1];
	bool replay;
	uint8_t replay_binding[AZ_REPORT_DATA_LEN];
};

static const struct ccu_conf_key pv_keys[] = {
	{ "secure_boot", false },
	{ "console_enabled", false },
	{ "vm_id", false },
	{ "replay_binding", false },
};

static int conf_path(const struct guest_provider_ctx *c, char *buf, size_t len)
{
	int n;

	if (!c->cfg || !c->cfg->simulator_dir)
		return -ENOENT;
	n = snprintf(buf, len, "%s/%s", c->cfg->simulator_dir, PV_CONF_NAME);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int pv_active(const struct guest_provider_ctx *c)
{
	char path[GUEST_PATH_MAX + 16];
	struct stat st;

	return conf_path(c, path, sizeof(path)) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int tristate(const char *v, enum az_tristate *ret)
{
	bool b;

	if (ccu_parse_bool(v, &b) < 0)
		return -EINVAL;
	*ret = b ? AZ_TRUE : AZ_FALSE;
	return 0;
}

static int pv_conf_load(const struct guest_provider_ctx *c, struct pv_conf *pc,
			struct ccu_reason *err)
{
	char path[GUEST_PATH_MAX + 16];
	struct ccu_conf cf = { 0 };
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

	memset(pc, 0, sizeof(*pc));
	pc->secure_boot = AZ_TRUE;
	pc->console_enabled = AZ_FALSE;
	snprintf(pc->vm_id, sizeof(pc->vm_id), "%s", "5E1A7C00-0000-4000-8000-00000000A2E0");
	r = conf_path(c, path, sizeof(path));
	if (r == 0)
		r = ccu_read_file(path, PV_CONF_MAX, &text, &len);
	if (r < 0)
		return ccu_fail(err, r, "SIM_PARAMS", "simulated paravisor: cannot read %s",
				PV_CONF_NAME);
	r = ccu_conf_parse((const char *)text, len, &cf, err);
	free(text);
	if (r == 0)
		r = ccu_conf_check_keys(&cf, pv_keys, ARRAY_SIZE(pv_keys), err);
	for (size_t i = 0; r == 0 && i < cf.n; i++) {
		const char *k = cf.entries[i].key, *v = cf.entries[i].value;

		if (strcmp(k, "secure_boot") == 0)
			r = tristate(v, &pc->secure_boot);
		else if (strcmp(k, "console_enabled") == 0)
			r = tristate(v, &pc->console_enabled);
		else if (strcmp(k, "vm_id") == 0) {
			r = strlen(v) <= AZ_VM_ID_MAX && v[0] ? 0 : -EINVAL;
			if (r == 0)
				snprintf(pc->vm_id, sizeof(pc->vm_id), "%s", v);
		} else if (strcmp(k, "replay_binding") == 0) {
			r = ccu_hex_decode_exact(v, pc->replay_binding, AZ_REPORT_DATA_LEN);
			pc->replay = r == 0;
		}
		if (r < 0)
			ccu_fail(err, -EINVAL, "SIM_PARAMS", "%s line %u: bad %s", PV_CONF_NAME,
				 cf.entries[i].line, k);
	}
	ccu_conf_free(&cf);
	if (r < 0 && !ccu_reason_is_set(err))
		ccu_reason_set(err, "SIM_PARAMS", "simulated paravisor: bad " PV_CONF_NAME);
	return r < 0 ? -EINVAL : 0;
}

static int pv_binding(const struct guest_provider_ctx *c, uint8_t rd[64], struct ccu_reason *err)
{
	struct pv_conf pc;
	int r = pv_conf_load(c, &pc, err);

	if (r < 0)
		return r;
	if (pc.replay) {
		log_warning("TEST BUILD: replaying an earlier session's binding");
		memcpy(rd, pc.replay_binding, AZ_REPORT_DATA_LEN);
	}
	return 0;
}

/* The AK's public key, from the TPM itself. */
static EVP_PKEY *ak_public(struct tpm2 *t, struct ccu_reason *err)
{
	uint8_t n[AZ_RSA_MAX_BYTES], eb[4];
	size_t nl = 0;
	uint32_t e = 0;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;

	if (tpm2_read_public_rsa(t, AZ_AK_HANDLE, n, sizeof(n), &nl, &e, err) < 0)
		return NULL;
	eb[0] = (uint8_t)(e >> 24);
	eb[1] = (uint8_t)(e >> 16);
	eb[2] = (uint8_t)(e >> 8);
	eb[3] = (uint8_t)e;
	bn_n = BN_bin2bn(n, (int)nl, NULL);
	bn_e = BN_bin2bn(eb, 4, NULL);
	b = OSSL_PARAM_BLD_new();
	if (bn_n && bn_e && b && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bn_e))
		params = OSSL_PARAM_BLD_to_param(b);
	pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !pc || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
		ccu_fail(err, -EIO, "SIM_CRYPTO", "simulated paravisor: the AK is no RSA key");
	}
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn_n);
	BN_free(bn_e);
	return k;
}

static int pv_refresh(const struct guest_provider_ctx *c, struct tpm2 *t, const uint8_t rd[64],
		      struct ccu_reason *err)
{
	_cleanup_(snp_sim_freep) struct snp_sim *s = NULL;
	struct az_sim_vm vm = { .pcr_mask = 0xffffff };
	struct pv_conf pc;
	uint8_t nv[AZ_REPORT_DATA_LEN];
	uint8_t *hcl = NULL;
	size_t len = 0;
	int r;

	(void)rd; /* the paravisor reads what the guest wrote, not what it meant */
	r = pv_conf_load(c, &pc, err);
	if (r == 0)
		r = snp_sim_load(c->cfg->simulator_dir, &s, err);
	if (r == 0)
		r = tpm2_nv_read(t, AZ_NV_REPORT_DATA, nv, sizeof(nv), err);
	if (r < 0)
		return r;
	vm.ak = ak_public(t, err);
	if (!vm.ak)
		return -EIO;
	vm.secure_boot = pc.secure_boot;
	vm.console_enabled = pc.console_enabled;
	snprintf(vm.vm_id, sizeof(vm.vm_id), "%s", pc.vm_id);
	hcl = calloc(1, PV_HCL_NV_SIZE);
	r = hcl ? az_sim_hcl(s, &vm, nv, hcl, PV_HCL_NV_SIZE, &len, err) :
		  ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	if (r == 0)
		r = tpm2_nv_write(t, AZ_NV_HCL_REPORT, hcl, len, err);
	if (r == 0)
		log_info("TEST BUILD: simulated paravisor wrote a %zu-byte HCL report to NV 0x%08x",
			 len, AZ_NV_HCL_REPORT);
	free(hcl);
	EVP_PKEY_free(vm.ak);
	return r;
}

static int pv_vcek(const struct guest_provider_ctx *c, uint8_t **der, size_t *der_len,
		   struct ccu_reason *err)
{
	_cleanup_(snp_sim_freep) struct snp_sim *s = NULL;
	unsigned char *d = NULL;
	int n, r = snp_sim_load(c->cfg->simulator_dir, &s, err);

	if (r < 0)
		return r;
	n = i2d_X509(snp_sim_vcek(s), &d);
	if (n <= 0)
		return ccu_fail(err, -EIO, "SIM_CRYPTO", "simulated paravisor: VCEK encoding");
	*der = malloc((size_t)n);
	if (!*der) {
		OPENSSL_free(d);
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	}
	memcpy(*der, d, (size_t)n);
	*der_len = (size_t)n;
	OPENSSL_free(d);
	return 0;
}

const struct guest_azure_sim guest_azure_sim_paravisor = {
	.active = pv_active,
	.binding = pv_binding,
	.refresh = pv_refresh,
	.vcek = pv_vcek,
};
