/*
 * The simulated SEV-SNP platform as an evidence provider - TEST BUILDS ONLY
 * (the Makefile keeps *_sim.c out of release binaries). It plays the PSP and
 * the host: a report signed by the simulator's VCEK for the requested
 * REPORT_DATA, with the launch policy and measurement the (simulated) host
 * chose, and a GHCB certificate table holding VCEK, ASK and ARK - so the
 * table goes through the same strict parser as a real host's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "common/macros.h"
#include "guest/build.h"
#include "guest/certtable.h"
#include "guest/provider.h"
#include "snp/sim.h"

DEFINE_FREEP(struct snp_sim, snp_sim_free)

static int sim_available(const struct guest_provider_ctx *c)
{
	struct stat st;

	return c->cfg && c->cfg->simulator_dir && stat(c->cfg->simulator_dir, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

static int sim_table(const struct snp_sim *s, uint8_t **ret, size_t *ret_len)
{
	X509 *certs[3] = { snp_sim_vcek(s), snp_sim_ask(s), snp_sim_ark(s) };
	uint8_t g[3][16];
	uint8_t *der[3] = { NULL, NULL, NULL };
	size_t len[3];
	int r = -ENOMEM;

	memcpy(g[0], guest_guid_vcek, 16);
	memcpy(g[1], guest_guid_ask, 16);
	memcpy(g[2], guest_guid_ark, 16);
	for (int i = 0; i < 3; i++) {
		int n = i2d_X509(certs[i], &der[i]);
		if (n <= 0)
			goto out;
		len[i] = (size_t)n;
	}
	r = guest_certtable_build((const uint8_t(*)[16])g, (const uint8_t *const *)der, len, 3, ret,
				  ret_len);
out:
	for (int i = 0; i < 3; i++)
		OPENSSL_free(der[i]);
	return r;
}

static int sim_get(const struct guest_provider_ctx *c, const uint8_t report_data[64],
		   struct guest_evidence *out, struct ccu_reason *err)
{
	_cleanup_(snp_sim_freep) struct snp_sim *s = NULL;
	struct snp_report rep;
	int r;

	if (!c->cfg || !c->cfg->simulator_dir)
		return ccu_fail(err, -EINVAL, "SIM_PARAMS", "simulator: no simulator_dir");
	r = snp_sim_load(c->cfg->simulator_dir, &s, err);
	if (r < 0)
		return r;
	snp_sim_report_template(s, 5, report_data, &rep);
	if (c->cfg->has_sim_policy)
		rep.policy = c->cfg->sim_policy;
	if (c->cfg->has_sim_measurement)
		memcpy(rep.measurement, c->cfg->sim_measurement, sizeof(rep.measurement));
	r = snp_sim_sign(s, &rep, err);
	if (r < 0)
		return r;
	memcpy(out->report, rep.raw, SNP_REPORT_SIZE);
	r = sim_table(s, &out->certtable, &out->certtable_len);
	if (r < 0)
		return ccu_fail(err, r, "SIM_CRYPTO", "simulator: cannot build the certificate table");
	return 0;
}

const struct guest_provider guest_provider_sim = {
	.name = "simulator",
	.simulated = true,
	.test = &guest_test_hooks,
	.available = sim_available,
	.get = sim_get,
};
