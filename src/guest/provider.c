#include "guest/provider.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snp/report.h"

void guest_evidence_done(struct guest_evidence *e)
{
	free(e->certtable);
	memset(e, 0, sizeof(*e));
}

int guest_provider_select(const struct guest_build *b, const struct guest_provider_ctx *c,
			  const char *name, const struct guest_provider **ret,
			  struct ccu_reason *err)
{
	bool any = strcmp(name, "auto") == 0;

	for (size_t i = 0; i < b->n_providers; i++) {
		const struct guest_provider *p = b->providers[i];
		if (!any && strcmp(p->name, name) != 0)
			continue;
		/* `auto` never picks the simulator: a test build must ask for it. */
		if (any && p->simulated)
			continue;
		if (p->available(c) > 0) {
			*ret = p;
			return 0;
		}
		if (!any)
			return ccu_fail(err, -ENODEV, "EVIDENCE_UNAVAILABLE",
					"evidence provider %s is not available", name);
	}
	if (any)
		return ccu_fail(err, -ENODEV, "EVIDENCE_UNAVAILABLE",
				"no evidence provider: neither configfs-tsm (%s/tsm/report) nor "
				"%s/sev-guest is available",
				c->roots->configfs, c->roots->dev);
	return ccu_fail(err, -ENODEV, "EVIDENCE_UNAVAILABLE",
			"evidence provider %s is not in this build", name);
}

int guest_provider_get(const struct guest_provider *p, const struct guest_provider_ctx *c,
		       const uint8_t report_data[64], struct guest_evidence *out,
		       struct ccu_reason *err)
{
	struct snp_report rep;
	struct ccu_reason why;
	int r;

	memset(out, 0, sizeof(*out));
	r = p->get(c, report_data, out, err);
	if (r < 0)
		return r;
	if (snp_report_parse(out->report, SNP_REPORT_SIZE, &rep, &why) < 0) {
		guest_evidence_done(out);
		return ccu_fail(err, -EBADMSG, "EVIDENCE_REPORT", "%s: report from %s",
				why.detail, p->name);
	}
	if (memcmp(rep.report_data, report_data, 64) != 0) {
		guest_evidence_done(out);
		return ccu_fail(err, -EBADMSG, "EVIDENCE_REPORT",
				"%s returned a report for other REPORT_DATA", p->name);
	}
	if (rep.vmpl != 0) {
		guest_evidence_done(out);
		return ccu_fail(err, -EBADMSG, "EVIDENCE_REPORT",
				"%s returned a report for VMPL %u, expected 0", p->name, rep.vmpl);
	}
	return 0;
}

const struct guest_test_hooks *guest_build_test_hooks(const struct guest_build *b)
{
	for (size_t i = 0; b && i < b->n_providers; i++)
		if (b->providers[i]->test)
			return b->providers[i]->test;
	return NULL;
}
