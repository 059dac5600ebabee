/*
 * Evidence provider "azure-vtpm": Azure SEV-SNP confidential VMs, where the
 * guest runs above Microsoft's paravisor and has no /dev/sev-guest.
 *
 *  1. write the 64-byte REPORT_DATA (the KBS binding) to vTPM NV index
 *     0x01400002 (defined, owner read/write, 64 bytes, when absent);
 *  2. read the HCL report from NV 0x01400001 until the paravisor has
 *     refreshed it: its runtime data's "user-data" is our REPORT_DATA
 *     (bounded: AZURE_HCL_REFRESH_TRIES x AZURE_HCL_REFRESH_MS);
 *  3. TPM2_Quote with the AK (persistent 0x81000003) over sha256 PCRs 0-23
 *     (what Trustee's attester quotes, so its verifier and ours see the same
 *     PCRs; pcr08 is Trustee's init-data PCR), qualifying data = the
 *     SHA-384 binding (REPORT_DATA[0..48]);
 *  4. read those PCRs; their SHA-256 must be the quote's pcrDigest (else a
 *     PCR moved in between: quote again, bounded);
 *  5. the VCEK from Azure IMDS (THIM), then Trustee's az-snp-vtpm v2 JSON.
 *
 * Reason codes: AZURE_TPM (no usable /dev/tpmrm0, or TPM_* from
 * guest/tpm2.h), AZURE_HCL (no fresh HCL report: AZ_* parse codes or stale),
 * AZURE_PCR (PCRs kept moving), AZURE_VCEK (no VCEK from IMDS).
 */
#include "guest/provider.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/macros.h"
#include "guest/tpm2.h"
#include "snp/azure.h"
#include "snp/certs.h"
#include "snp/hcl.h"

#define AZURE_HCL_REFRESH_TRIES 20
#define AZURE_HCL_REFRESH_MS 250
#define AZURE_QUOTE_TRIES 3
#define AZURE_PCR_MASK 0xffffffu
#define AZURE_BINDING_LEN 48
#define AZURE_IMDS_URL "http://169.254.169.254/metadata/THIM/amd/certification"
#define AZURE_IMDS_TIMEOUT_MS 5000
#define AZURE_IMDS_MAX (64 * 1024)

static int open_tpm(const struct guest_provider_ctx *c, struct ccu_reason *err)
{
	char path[512];
	int fd;

	if (c->seams && c->seams->tpm_open) {
		fd = c->seams->tpm_open(c->seams->ud);
		if (fd < 0)
			return ccu_fail(err, fd, "AZURE_TPM", "cannot reach the test TPM");
		return fd;
	}
	snprintf(path, sizeof(path), "%s/tpmrm0", c->roots->dev);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return ccu_fail(err, -errno, "AZURE_TPM", "cannot open %s: %s", path,
				strerror(errno));
	return fd;
}

static bool dev_exists(const struct guest_provider_ctx *c, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", c->roots->dev, name);
	return access(path, F_OK) == 0;
}

/* Here when the vTPM holds an HCL report and there is no SNP guest device. */
static int azure_available(const struct guest_provider_ctx *c)
{
	struct tpm2 *t;
	size_t size = 0;
	int fd, r;

	if (!(c->seams && c->seams->tpm_open) && (dev_exists(c, "sev-guest") ||
						  !dev_exists(c, "tpmrm0")))
		return 0;
	fd = open_tpm(c, NULL);
	if (fd < 0)
		return 0;
	t = malloc(sizeof(*t));
	if (!t) {
		close(fd);
		return 0;
	}
	tpm2_init(t, fd);
	r = tpm2_nv_size(t, AZ_NV_HCL_REPORT, &size, NULL);
	free(t);
	close(fd);
	return r == 0 && size >= AZ_HCL_RUNTIME_OFFSET ? 1 : 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_report_data(struct tpm2 *t, const uint8_t rd[64], struct ccu_reason *err)
{
	size_t size = 0;
	int r = tpm2_nv_size(t, AZ_NV_REPORT_DATA, &size, err);

	if (r == 0 && size != AZ_REPORT_DATA_LEN) {
		r = tpm2_nv_undefine(t, AZ_NV_REPORT_DATA, err);
		if (r == 0)
			r = -ENOENT;
	}
	if (r == -ENOENT)
		r = tpm2_nv_define(t, AZ_NV_REPORT_DATA, AZ_REPORT_DATA_LEN, err);
	if (r == 0)
		r = tpm2_nv_write(t, AZ_NV_REPORT_DATA, rd, AZ_REPORT_DATA_LEN, err);
	return r;
}

/* The HCL report that carries @rd, into @hcl (AZ_HCL_MAX bytes). */
static int read_hcl(const struct guest_provider_ctx *c, struct tpm2 *t, const uint8_t rd[64],
		    uint8_t *hcl, size_t *len, struct ccu_reason *err)
{
	struct ccu_reason why = { 0 };

	for (int i = 0; i < AZURE_HCL_REFRESH_TRIES; i++) {
		struct az_hcl h;
		struct az_runtime *rt;
		size_t size = 0;
		bool fresh;
		int r;

		if (i && c->seams && c->seams->sleep_ms)
			c->seams->sleep_ms(AZURE_HCL_REFRESH_MS, c->seams->ud);
		else if (i)
			sleep_ms(AZURE_HCL_REFRESH_MS);
		r = tpm2_nv_size(t, AZ_NV_HCL_REPORT, &size, err);
		if (r == 0 && (size < AZ_HCL_RUNTIME_OFFSET || size > AZ_HCL_MAX))
			return ccu_fail(err, -EBADMSG, "AZURE_HCL",
					"NV 0x%08x is %zu bytes: not an HCL report", AZ_NV_HCL_REPORT,
					size);
		if (r == 0)
			r = tpm2_nv_read(t, AZ_NV_HCL_REPORT, hcl, size, err);
		if (r < 0)
			return r;
		if (az_hcl_parse(hcl, size, &h, &why) < 0)
			continue; /* the paravisor may be rewriting it */
		rt = malloc(sizeof(*rt));
		if (!rt)
			return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		fresh = az_runtime_parse(h.runtime, h.runtime_len, rt, &why) == 0 &&
			rt->has_user_data && memcmp(rt->user_data, rd, AZ_REPORT_DATA_LEN) == 0;
		free(rt);
		if (fresh) {
			*len = size;
			return 0;
		}
		if (!why.code[0])
			ccu_reason_set(&why, "AZURE_HCL", "user-data is not our REPORT_DATA");
	}
	return ccu_fail(err, -ETIMEDOUT, "AZURE_HCL",
			"no HCL report for our REPORT_DATA after %d reads (%s: %s)",
			AZURE_HCL_REFRESH_TRIES, why.code, why.detail);
}

static int quote(struct tpm2 *t, const uint8_t rd[64], uint8_t *msg, size_t *msg_len,
		 uint8_t *sig, size_t *sig_len, uint8_t (*pcrs)[32], struct ccu_reason *err)
{
	for (int i = 0; i < AZURE_QUOTE_TRIES; i++) {
		struct az_tpm_quote q;
		uint8_t d[32];
		EVP_MD_CTX *md;
		int r, ok;

		r = tpm2_quote(t, AZ_AK_HANDLE, rd, AZURE_BINDING_LEN, AZURE_PCR_MASK, msg,
			       AZ_TPM_ATTEST_MAX, msg_len, sig, AZ_TPM_SIG_MAX, sig_len, err);
		if (r < 0)
			return r;
		r = az_tpm_quote_parse(msg, *msg_len, &q, err);
		if (r < 0)
			return r;
		if (q.pcr_mask != AZURE_PCR_MASK || q.extra_len != AZURE_BINDING_LEN ||
		    memcmp(q.extra, rd, AZURE_BINDING_LEN) != 0)
			return ccu_fail(err, -EBADMSG, "AZURE_TPM",
					"the TPM quoted other PCRs or qualifying data than asked");
		r = tpm2_pcr_read(t, AZURE_PCR_MASK, pcrs, err);
		if (r < 0)
			return r;
		md = EVP_MD_CTX_new();
		ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
		for (int k = 0; ok && k < AZ_TPM_PCR_COUNT; k++)
			ok = EVP_DigestUpdate(md, pcrs[k], 32) == 1;
		ok = ok && EVP_DigestFinal_ex(md, d, NULL) == 1;
		EVP_MD_CTX_free(md);
		if (!ok)
			return ccu_fail(err, -EIO, "INTERNAL", "SHA-256 failed");
		if (memcmp(d, q.pcr_digest, 32) == 0)
			return 0;
	}
	return ccu_fail(err, -EAGAIN, "AZURE_PCR",
			"the PCRs changed between the quote and reading them, %d times",
			AZURE_QUOTE_TRIES);
}

struct body {
	char *p;
	size_t len;
	bool over;
};

static size_t on_body(char *d, size_t s, size_t n, void *ud)
{
	struct body *b = ud;
	size_t add = s * n;
	char *np;

	if (add > AZURE_IMDS_MAX - b->len) {
		b->over = true;
		return 0;
	}
	np = realloc(b->p, b->len + add + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, d, add);
	b->len += add;
	b->p[b->len] = 0;
	return add;
}

/* Azure IMDS (THIM): {"vcekCert": "<PEM>", "certificateChain": ..., "tcbm": ...}. */
static int imds_vcek(uint8_t **der, size_t *der_len, struct ccu_reason *err)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Metadata: true");
	struct body b = { 0 };
	long status = 0;
	json_t *o = NULL;
	const char *pem;
	STACK_OF(X509) *s = NULL;
	int r = -EIO, n;
	unsigned char *d = NULL;

	if (!h || !hdr ||
	    curl_easy_setopt(h, CURLOPT_URL, AZURE_IMDS_URL) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)AZURE_IMDS_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b) != CURLE_OK) {
		r = ccu_fail(err, -ENOMEM, "AZURE_VCEK", "cannot set up the IMDS request");
		goto out;
	}
	if (curl_easy_perform(h) != CURLE_OK ||
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200 ||
	    !b.p) {
		r = ccu_fail(err, -EIO, "AZURE_VCEK", "Azure IMDS gave no VCEK (HTTP %ld%s)", status,
			     b.over ? ", reply too long" : "");
		goto out;
	}
	o = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, NULL);
	pem = json_string_value(json_object_get(o, "vcekCert"));
	if (!pem || snp_certs_load_mem((const uint8_t *)pem, strlen(pem), &s, err) < 0 ||
	    sk_X509_num(s) < 1 || (n = i2d_X509(sk_X509_value(s, 0), &d)) <= 0) {
		r = ccu_fail(err, -EBADMSG, "AZURE_VCEK", "Azure IMDS reply has no vcekCert");
		goto out;
	}
	*der = malloc((size_t)n);
	if (!*der) {
		r = ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
		goto out;
	}
	memcpy(*der, d, (size_t)n);
	*der_len = (size_t)n;
	r = 0;
out:
	OPENSSL_free(d);
	sk_X509_pop_free(s, X509_free);
	json_decref(o);
	free(b.p);
	curl_slist_free_all(hdr);
	if (h)
		curl_easy_cleanup(h);
	return r;
}

struct az_work {
	struct tpm2 t;
	uint8_t hcl[AZ_HCL_MAX];
	uint8_t msg[AZ_TPM_ATTEST_MAX];
	uint8_t sig[AZ_TPM_SIG_MAX];
	uint8_t pcrs[AZ_TPM_PCR_COUNT][32];
};

static int azure_get_json(const struct guest_provider_ctx *c, const uint8_t report_data[64],
			  json_t **ret, struct ccu_reason *err)
{
	struct az_work *w = calloc(1, sizeof(*w));
	/* Test builds with a simulated paravisor only; NULL in release builds. */
	const struct guest_azure_sim *pv =
		c->azure_sim && c->azure_sim->active(c) > 0 ? c->azure_sim : NULL;
	uint8_t rd[AZ_REPORT_DATA_LEN];
	uint8_t *vcek = NULL;
	size_t hcl_len = 0, msg_len = 0, sig_len = 0, vcek_len = 0;
	int fd, r;

	*ret = NULL;
	if (!w)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	fd = open_tpm(c, err);
	if (fd < 0) {
		free(w);
		return fd;
	}
	tpm2_init(&w->t, fd);
	memcpy(rd, report_data, sizeof(rd));
	r = pv ? pv->binding(c, rd, err) : 0;
	if (r >= 0)
		r = write_report_data(&w->t, rd, err);
	if (r >= 0 && pv)
		r = pv->refresh(c, &w->t, rd, err);
	if (r >= 0)
		r = read_hcl(c, &w->t, rd, w->hcl, &hcl_len, err);
	if (r >= 0)
		r = quote(&w->t, rd, w->msg, &msg_len, w->sig, &sig_len, w->pcrs, err);
	close(fd);
	if (r >= 0)
		r = c->seams && c->seams->azure_vcek ?
			    c->seams->azure_vcek(w->hcl, hcl_len, &vcek, &vcek_len, c->seams->ud) :
		    pv ? pv->vcek(c, &vcek, &vcek_len, err) :
			 imds_vcek(&vcek, &vcek_len, err);
	if (r < 0 && !ccu_reason_is_set(err))
		ccu_reason_set(err, "AZURE_VCEK", "no VCEK");
	if (r >= 0) {
		*ret = az_evidence_build(w->hcl, hcl_len, w->msg, msg_len, w->sig, sig_len,
					 (const uint8_t(*)[32])w->pcrs, AZ_TPM_PCR_COUNT, vcek,
					 vcek_len);
		if (!*ret)
			r = ccu_fail(err, -ENOMEM, "INTERNAL", "cannot build the evidence");
	}
	free(vcek);
	free(w);
	return r;
}

/* The SNP report alone is not evidence here: only get_json is used. */
static int azure_get(const struct guest_provider_ctx *c, const uint8_t report_data[64],
		     struct guest_evidence *out, struct ccu_reason *err)
{
	(void)c;
	(void)report_data;
	(void)out;
	return ccu_fail(err, -EOPNOTSUPP, "INTERNAL",
			"azure-vtpm evidence is an HCL report and a vTPM quote, not a report");
}

const struct guest_provider guest_provider_azure = {
	.name = "azure-vtpm",
	.available = azure_available,
	.get = azure_get,
	.tee = AZ_TEE_NAME,
	.get_json = azure_get_json,
};
