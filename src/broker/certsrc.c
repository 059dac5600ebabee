#include "broker/certsrc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "broker/kds.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/util.h"
#include "snp/certs.h"

static int hwid_hex(const struct snp_report *r, enum snp_product p, char hex[129])
{
	static const uint8_t zero[64];
	size_t n = p == SNP_PRODUCT_TURIN ? 8 : 64;

	/* A masked CHIP_ID names no chip: there is no VCEK to look up. */
	if (memcmp(r->chip_id, zero, n) == 0)
		return -ENOENT;
	ccu_hex_encode(r->chip_id, n, hex, 129);
	return 0;
}

/* What names a VCEK: the product, the chip and the REPORTED_TCB. */
static int vcek_ids(const struct snp_report *r, enum snp_product p, struct snp_tcb *t,
		    char hex[129])
{
	if (!snp_product_id(p) || !snp_tcb_decode(r->reported_tcb, p, t) || hwid_hex(r, p, hex) < 0)
		return -EINVAL;
	return 0;
}

int broker_vcek_cache_name(const struct snp_report *r, enum snp_product p, char *buf, size_t len)
{
	struct snp_tcb t;
	char hex[129];
	int n;

	if (vcek_ids(r, p, &t, hex) < 0)
		return -EINVAL;
	if (p == SNP_PRODUCT_TURIN)
		n = snprintf(buf, len, "%s/vcek/%s/%u-%u-%u-%u-%u.der", snp_product_id(p), hex,
			     t.bootloader, t.tee, t.snp, t.microcode, t.fmc);
	else
		n = snprintf(buf, len, "%s/vcek/%s/%u-%u-%u-%u.der", snp_product_id(p), hex, t.bootloader,
			     t.tee, t.snp, t.microcode);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int broker_vcek_kds_path(const struct snp_report *r, enum snp_product p, char *buf, size_t len)
{
	struct snp_tcb t;
	char hex[129];
	int n;

	if (vcek_ids(r, p, &t, hex) < 0)
		return -EINVAL;
	if (p == SNP_PRODUCT_TURIN)
		n = snprintf(buf, len, "/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
			     snp_product_name(p), hex, t.fmc, t.bootloader, t.tee, t.snp,
			     t.microcode);
	else
		n = snprintf(buf, len, "/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
			     snp_product_name(p), hex, t.bootloader, t.tee, t.snp, t.microcode);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* ------------------------------------------------------------ KDS */

/* One bounded, retried GET (broker/kds.h). */
static int kds_get(const struct broker_certsrc *cs, const char *path, uint8_t **ret, size_t *len,
		   struct ccu_reason *err)
{
	return broker_kds_get(cs->kds_url, path, cs->kds_timeout ? cs->kds_timeout : BROKER_KDS_TIMEOUT,
			      ret, len, NULL, err);
}

/* ------------------------------------------------------------ cache */

static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	size_t l = strlen(dir);

	if (l >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, l + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void cache_store(const struct broker_certsrc *cs, const char *rel, const uint8_t *data,
			size_t len)
{
	char path[PATH_MAX], dir[PATH_MAX];
	char *slash;
	int r;

	snprintf(path, sizeof(path), "%s/%s", cs->cache_dir, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	r = mkdirs(dir);
	if (r >= 0)
		r = ccu_write_file_atomic(path, data, len, 0644);
	/* A cache that cannot be written costs a fetch next time, nothing more. */
	if (r < 0)
		log_warning("cannot write '%s' into the certificate cache: %s", path, strerror(-r));
}

/* Certificates of cache file @rel pushed onto @pool; -ENOENT when absent. */
static int cache_load(const struct broker_certsrc *cs, const char *rel, STACK_OF(X509) *pool,
		      struct ccu_reason *err)
{
	char path[PATH_MAX];
	STACK_OF(X509) *s = NULL;
	struct stat st;
	int r;

	if (!cs->cache_dir)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", cs->cache_dir, rel);
	if (stat(path, &st) < 0)
		return -ENOENT;
	r = snp_certs_load_file(path, &s, err);
	if (r < 0)
		return r;
	while (sk_X509_num(s) > 0)
		sk_X509_push(pool, sk_X509_shift(s));
	sk_X509_free(s);
	return 0;
}

/* ------------------------------------------------------------ collect */

static bool pool_has(STACK_OF(X509) *pool, enum snp_cert_role role)
{
	for (int i = 0; i < sk_X509_num(pool); i++)
		if (snp_cert_role(sk_X509_value(pool, i), NULL) == role)
			return true;
	return false;
}

static int load_mem_into(const uint8_t *data, size_t len, STACK_OF(X509) *pool,
			 struct ccu_reason *err)
{
	STACK_OF(X509) *s = NULL;
	int r = snp_certs_load_mem(data, len, &s, err);

	if (r < 0)
		return r;
	while (sk_X509_num(s) > 0)
		sk_X509_push(pool, sk_X509_shift(s));
	sk_X509_free(s);
	return 0;
}

static int fetch_leaf(const struct broker_certsrc *cs, const struct snp_report *r,
		      enum snp_product p, STACK_OF(X509) *pool, const char **from,
		      struct ccu_reason *err)
{
	char rel[PATH_MAX], kpath[512];
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	int ret;

	if (broker_vcek_cache_name(r, p, rel, sizeof(rel)) < 0)
		return -ENOENT;
	ret = cache_load(cs, rel, pool, err);
	if (ret != -ENOENT) {
		*from = "cache";
		return ret;
	}
	if (!cs->kds_fetch || broker_vcek_kds_path(r, p, kpath, sizeof(kpath)) < 0)
		return -ENOENT;
	ret = kds_get(cs, kpath, &data, &len, err);
	if (ret < 0)
		return ret;
	ret = load_mem_into(data, len, pool, err);
	if (ret < 0)
		return ret;
	cache_store(cs, rel, data, len);
	*from = "kds";
	return 0;
}

static int fetch_chain(const struct broker_certsrc *cs, enum snp_product p, bool vlek,
		       STACK_OF(X509) *pool, struct ccu_reason *err)
{
	char rel[64], kpath[128];
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	int r, have = 0;

	if (!snp_product_id(p))
		return -ENOENT;
	if (!pool_has(pool, SNP_CERT_ARK)) {
		snprintf(rel, sizeof(rel), "%s/ark.pem", snp_product_id(p));
		r = cache_load(cs, rel, pool, err);
		if (r < 0 && r != -ENOENT)
			return r;
		have += r == 0;
	} else {
		have++;
	}
	if (!pool_has(pool, vlek ? SNP_CERT_ASVK : SNP_CERT_ASK)) {
		snprintf(rel, sizeof(rel), "%s/%s.pem", snp_product_id(p), vlek ? "asvk" : "ask");
		r = cache_load(cs, rel, pool, err);
		if (r < 0 && r != -ENOENT)
			return r;
		have += r == 0;
	} else {
		have++;
	}
	if (have == 2 || !cs->kds_fetch)
		return 0;
	snprintf(kpath, sizeof(kpath), "/%s/v1/%s/cert_chain", vlek ? "vlek" : "vcek",
		 snp_product_name(p));
	r = kds_get(cs, kpath, &data, &len, err);
	if (r < 0)
		return r;
	{
		STACK_OF(X509) *s = NULL;

		r = snp_certs_load_mem(data, len, &s, err);
		if (r < 0)
			return r;
		/* AMD serves the intermediate, then the ARK: keep each in its file. */
		for (int i = 0; i < sk_X509_num(s); i++) {
			X509 *x = sk_X509_value(s, i);
			enum snp_cert_role role = snp_cert_role(x, NULL);
			BIO *bio = BIO_new(BIO_s_mem());
			char *pem;
			long pl;

			if (!bio)
				continue;
			if (role == SNP_CERT_ARK || role == SNP_CERT_ASK || role == SNP_CERT_ASVK) {
				PEM_write_bio_X509(bio, x);
				pl = BIO_get_mem_data(bio, &pem);
				snprintf(rel, sizeof(rel), "%s/%s.pem", snp_product_id(p),
					 role == SNP_CERT_ARK ? "ark" :
					 role == SNP_CERT_ASK ? "ask" : "asvk");
				if (pl > 0)
					cache_store(cs, rel, (const uint8_t *)pem, (size_t)pl);
			}
			BIO_free(bio);
		}
		while (sk_X509_num(s) > 0) {
			X509 *x = sk_X509_shift(s);
			enum snp_cert_role role = snp_cert_role(x, NULL);

			if (!pool_has(pool, role))
				sk_X509_push(pool, x);
			else
				X509_free(x);
		}
		sk_X509_free(s);
	}
	return 0;
}

int broker_certs_collect(const struct broker_certsrc *cs, const struct snp_report *r,
			 STACK_OF(X509) *evidence, X509 **ret_leaf, STACK_OF(X509) **ret_pool,
			 const char **from, struct ccu_reason *err)
{
	STACK_OF(X509) *pool = sk_X509_new_null();
	unsigned signer = SNP_KEY_INFO_SIGNING_KEY(r->key_info);
	enum snp_product p = snp_report_product(r), lp = SNP_PRODUCT_UNKNOWN;
	X509 *leaf = NULL;
	int ret = 0;

	*from = "evidence";
	if (!pool)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	for (int i = 0; evidence && i < sk_X509_num(evidence); i++) {
		X509 *x = sk_X509_value(evidence, i);
		enum snp_cert_role role = snp_cert_role(x, NULL);

		X509_up_ref(x);
		if (!leaf && (role == SNP_CERT_VCEK || role == SNP_CERT_VLEK))
			leaf = x;
		else
			sk_X509_push(pool, x);
	}
	if (leaf)
		snp_cert_role(leaf, &lp);
	if (p == SNP_PRODUCT_UNKNOWN)
		p = lp;
	if (!leaf && signer == SNP_SIGNING_KEY_VCEK) {
		/* A v2 report names no product: try each in turn. */
		for (enum snp_product q = SNP_PRODUCT_MILAN; q <= SNP_PRODUCT_TURIN; q++) {
			if (p != SNP_PRODUCT_UNKNOWN && q != p)
				continue;
			ret = fetch_leaf(cs, r, q, pool, from, err);
			if (ret == 0) {
				p = q;
				break;
			}
			if (ret != -ENOENT)
				goto fail;
		}
		for (int i = 0; i < sk_X509_num(pool); i++)
			if (snp_cert_role(sk_X509_value(pool, i), NULL) == SNP_CERT_VCEK) {
				leaf = sk_X509_delete(pool, i);
				break;
			}
	}
	if (!leaf) {
		ret = ccu_fail(err, -ENOENT, "CHAIN_INCOMPLETE",
			       "no %s: the evidence has none, the certificate cache has none%s",
			       snp_signing_key_name(signer),
			       signer == SNP_SIGNING_KEY_VLEK ? " (a VLEK cannot be fetched)" :
			       cs->kds_fetch ? " and AMD's KDS has none" : " (kds_fetch = no)");
		goto fail;
	}
	ret = fetch_chain(cs, p, snp_cert_role(leaf, NULL) == SNP_CERT_VLEK, pool, err);
	if (ret < 0 && ret != -ENOENT)
		goto fail;
	*ret_leaf = leaf;
	*ret_pool = pool;
	return 0;
fail:
	X509_free(leaf);
	sk_X509_pop_free(pool, X509_free);
	return ret;
}
