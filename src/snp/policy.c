/*
 * The owner's release policy: a strict parser for the hand-written policy
 * file and a deny-by-default evaluator. The operator documentation (every
 * key, its syntax, default and reason code, the evaluation order) is
 * docs/policy.md; keep the two in step.
 */
#include "snp/policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/codec.h"
#include "common/conf.h"
#include "common/macros.h"
#include "common/util.h"
#include "snp/azure.h"

/* Most entries one repeatable key may have: a policy is written by hand, and
 * a longer list would make every evaluation a long scan. */
#define SNP_POLICY_MAX_LIST 1024

#define MEAS_LEN 48
#define SNP_POLICY_MAX_VM_IDS 64

/* A set of byte strings of one length (measurement, host_data, ...). */
struct hexlist {
	uint8_t *v;      /* n * len bytes */
	unsigned *lines; /* where each entry was written, for duplicate errors */
	size_t n;
};

struct tcb_min {
	bool set;
	struct snp_tcb t; /* has_fmc: the rule names fmc (only used on Turin) */
};

struct fw_min {
	bool set;
	struct snp_fw_version v;
};

struct snp_policy {
	bool meas_any;
	unsigned meas_any_line;
	struct hexlist measurement;

	struct tcb_min reported_tcb, committed_tcb, launch_tcb;
	struct fw_min firmware, committed_firmware;

	bool allow_smt;
	bool require_single_socket;

	bool has_min_abi;
	uint8_t abi_major, abi_minor;

	uint32_t vmpl;

	bool has_report_data;
	uint8_t report_data[64];

	struct hexlist host_data, id_key_digest, author_key_digest, family_id, image_id, chip_id;

	bool has_min_guest_svn;
	uint32_t min_guest_svn;

	bool has_report_version;
	uint32_t version_lo, version_hi;

	/* init_data_digest allowlists, by digest length (sha256/384/512) */
	struct hexlist init_data[3];
	bool forbid_additional_evidence;

	unsigned products;                /* bit per enum snp_product; 0 = any */
	unsigned product_line[SNP_PRODUCT_COUNT];

	/* Azure vTPM evidence (az-snp-vtpm) rules; see snp_policy_eval_azure. */
	uint32_t pcr_rules;               /* bit per PCR with a pcr.N rule */
	struct hexlist pcr[AZ_TPM_PCR_COUNT];
	bool az_secure_boot;              /* azure.secure_boot = required */
	bool az_console_forbidden;        /* azure.console = forbidden */
	bool az_console_set;
	size_t az_vm_ids;
	char az_vm_id[SNP_POLICY_MAX_VM_IDS][AZ_VM_ID_MAX + 1];
};

/* ------------------------------------------------------------------ parsing */

static int value_error(struct ccu_reason *err, unsigned line, const char *key, const char *fmt, ...)
	_printf_(4, 5);

/* CONFIG_VALUE "line N: key: what is wrong". */
static int value_error(struct ccu_reason *err, unsigned line, const char *key, const char *fmt, ...)
{
	char what[CCU_REASON_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ccu_fail(err, -EINVAL, "CONFIG_VALUE", "line %u: %s: %s", line, key, what);
}

/* Exactly 2*@n hex digits (either case) into @out. */
static int parse_hex(const char *v, uint8_t *out, size_t n, unsigned line, const char *key,
		     struct ccu_reason *err)
{
	size_t l = strlen(v);

	if (l != 2 * n)
		return value_error(err, line, key, "is %zu characters long, expected %zu hex digits",
				   l, 2 * n);
	for (size_t i = 0; i < l; i++) {
		char c = v[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return value_error(err, line, key,
					   "character %zu ('%c') is not a hex digit", i + 1, c);
	}
	if (ccu_hex_decode_exact(v, out, n) < 0)
		return value_error(err, line, key, "is not %zu hex digits", 2 * n);
	return 0;
}

static int hexlist_add(struct hexlist *h, size_t len, const char *v, unsigned line, const char *key,
		       struct ccu_reason *err)
{
	uint8_t buf[64];
	uint8_t *nv;
	unsigned *nl;
	int r;

	if (len > sizeof(buf))
		return ccu_fail(err, -EINVAL, "INTERNAL", "hex value longer than %zu bytes",
				sizeof(buf));
	r = parse_hex(v, buf, len, line, key, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < h->n; i++)
		if (memcmp(h->v + i * len, buf, len) == 0)
			return value_error(err, line, key, "value already listed on line %u",
					   h->lines[i]);
	if (h->n >= SNP_POLICY_MAX_LIST)
		return value_error(err, line, key, "more than %d entries", SNP_POLICY_MAX_LIST);
	nv = realloc(h->v, (h->n + 1) * len);
	if (!nv)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	h->v = nv;
	nl = realloc(h->lines, (h->n + 1) * sizeof(*nl));
	if (!nl)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	h->lines = nl;
	memcpy(h->v + h->n * len, buf, len);
	h->lines[h->n] = line;
	h->n++;
	return 0;
}

static void hexlist_free(struct hexlist *h)
{
	free(h->v);
	free(h->lines);
	h->v = NULL;
	h->lines = NULL;
	h->n = 0;
}

/* A decimal number 0..@max, named @what in the error. */
static int parse_num(const char *s, uint64_t max, const char *what, uint64_t *ret, unsigned line,
		     const char *key, struct ccu_reason *err)
{
	int r = ccu_parse_u64(s, max, false, ret);

	if (r == -ERANGE)
		return value_error(err, line, key, "%s %.32s is out of range (0..%llu)", what, s,
				   (unsigned long long)max);
	if (r < 0)
		return value_error(err, line, key, "%s '%.32s' is not a decimal number", what, s);
	return 0;
}

/* "A.B" or "A.B.C": exactly @n dot-separated decimal numbers 0..255. */
static int parse_dotted(const char *v, uint8_t *out, size_t n, const char *form, unsigned line,
			const char *key, struct ccu_reason *err)
{
	static const char *const names[] = { "major", "minor", "build" };
	const char *p = v;

	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		char part[8];
		uint64_t x;
		int r;

		if ((i + 1 < n) != (dot != NULL) || l == 0 || l >= sizeof(part))
			return value_error(err, line, key, "'%.32s' is not %s", v, form);
		memcpy(part, p, l);
		part[l] = 0;
		r = parse_num(part, 255, names[i], &x, line, key, err);
		if (r < 0)
			return r;
		out[i] = (uint8_t)x;
		p = dot ? dot + 1 : p + l;
	}
	return 0;
}

enum { TCB_FMC, TCB_BL, TCB_TEE, TCB_SNP, TCB_UCODE, TCB_NCOMP };
static const char *const tcb_names[TCB_NCOMP] = { "fmc", "bl", "tee", "snp", "ucode" };

static int parse_tcb_token(const char *tok, size_t l, uint8_t vals[TCB_NCOMP], bool seen[TCB_NCOMP],
			   unsigned line, const char *key, struct ccu_reason *err)
{
	const char *eq = memchr(tok, '=', l);
	char num[32];
	size_t nl;
	uint64_t x;
	int c, r;

	if (!eq)
		return value_error(err, line, key, "'%.*s' is not name=N", (int)(l > 32 ? 32 : l),
				   tok);
	for (c = 0; c < TCB_NCOMP; c++)
		if (strlen(tcb_names[c]) == (size_t)(eq - tok) &&
		    memcmp(tok, tcb_names[c], (size_t)(eq - tok)) == 0)
			break;
	if (c == TCB_NCOMP)
		return value_error(err, line, key,
				   "unknown component '%.*s' (expected bl, tee, snp, ucode, fmc)",
				   (int)((size_t)(eq - tok) > 32 ? 32 : eq - tok), tok);
	if (seen[c])
		return value_error(err, line, key, "component '%s' given twice", tcb_names[c]);
	nl = l - (size_t)(eq - tok) - 1;
	if (nl == 0)
		return value_error(err, line, key, "%s needs a number 0..255", tcb_names[c]);
	if (nl >= sizeof(num))
		return value_error(err, line, key, "%s value '%.16s...' is too long", tcb_names[c],
				   eq + 1);
	memcpy(num, eq + 1, nl);
	num[nl] = 0;
	r = parse_num(num, 255, tcb_names[c], &x, line, key, err);
	if (r < 0)
		return r;
	seen[c] = true;
	vals[c] = (uint8_t)x;
	return 0;
}

/* "bl=N tee=N snp=N ucode=N [fmc=N]" in any order, each component once. */
static int parse_tcb(const char *v, struct tcb_min *out, unsigned line, const char *key,
		     struct ccu_reason *err)
{
	uint8_t vals[TCB_NCOMP] = { 0 };
	bool seen[TCB_NCOMP] = { false };
	const char *p = v;
	int r;

	while (*p) {
		size_t l;

		p += strspn(p, " \t");
		l = strcspn(p, " \t");
		if (!l)
			break;
		r = parse_tcb_token(p, l, vals, seen, line, key, err);
		if (r < 0)
			return r;
		p += l;
	}
	for (int c = TCB_BL; c < TCB_NCOMP; c++)
		if (!seen[c])
			return value_error(err, line, key,
					   "component '%s' is missing (need bl, tee, snp and ucode)",
					   tcb_names[c]);
	out->set = true;
	out->t.has_fmc = seen[TCB_FMC];
	out->t.fmc = vals[TCB_FMC];
	out->t.bootloader = vals[TCB_BL];
	out->t.tee = vals[TCB_TEE];
	out->t.snp = vals[TCB_SNP];
	out->t.microcode = vals[TCB_UCODE];
	return 0;
}

static int parse_fw(const char *v, struct fw_min *out, unsigned line, const char *key,
		    struct ccu_reason *err)
{
	uint8_t x[3] = { 0 };
	int r = parse_dotted(v, x, 3, "MAJOR.MINOR.BUILD (e.g. 1.55.29)", line, key, err);

	if (r < 0)
		return r;
	out->set = true;
	out->v.major = x[0];
	out->v.minor = x[1];
	out->v.build = x[2];
	return 0;
}

/* One handler per key; @key is the key's name (for messages). */
typedef int (*key_fn)(struct snp_policy *p, const char *key, const char *v, unsigned line,
		      struct ccu_reason *err);

static int k_measurement(struct snp_policy *p, const char *key, const char *v, unsigned line,
			 struct ccu_reason *err)
{
	if (strcmp(v, "any") == 0) {
		if (p->meas_any || p->measurement.n)
			return value_error(err, line, key,
					   "'any' must be the only measurement entry (line %u has one)",
					   p->meas_any ? p->meas_any_line : p->measurement.lines[0]);
		p->meas_any = true;
		p->meas_any_line = line;
		return 0;
	}
	if (p->meas_any)
		return value_error(err, line, key,
				   "'any' on line %u must be the only measurement entry",
				   p->meas_any_line);
	return hexlist_add(&p->measurement, MEAS_LEN, v, line, key, err);
}

static int k_reported_tcb(struct snp_policy *p, const char *key, const char *v, unsigned line,
			  struct ccu_reason *err)
{
	return parse_tcb(v, &p->reported_tcb, line, key, err);
}

static int k_committed_tcb(struct snp_policy *p, const char *key, const char *v, unsigned line,
			   struct ccu_reason *err)
{
	return parse_tcb(v, &p->committed_tcb, line, key, err);
}

static int k_launch_tcb(struct snp_policy *p, const char *key, const char *v, unsigned line,
			struct ccu_reason *err)
{
	return parse_tcb(v, &p->launch_tcb, line, key, err);
}

static int k_firmware(struct snp_policy *p, const char *key, const char *v, unsigned line,
		      struct ccu_reason *err)
{
	return parse_fw(v, &p->firmware, line, key, err);
}

static int k_committed_firmware(struct snp_policy *p, const char *key, const char *v, unsigned line,
				struct ccu_reason *err)
{
	return parse_fw(v, &p->committed_firmware, line, key, err);
}

static int parse_bool(const char *key, const char *v, bool *out, unsigned line,
		      struct ccu_reason *err)
{
	if (ccu_parse_bool(v, out) < 0)
		return value_error(err, line, key, "'%.32s' is not yes/no (true/false, 1/0, on/off)",
				   v);
	return 0;
}

static int k_allow_smt(struct snp_policy *p, const char *key, const char *v, unsigned line,
		       struct ccu_reason *err)
{
	return parse_bool(key, v, &p->allow_smt, line, err);
}

static int k_single_socket(struct snp_policy *p, const char *key, const char *v, unsigned line,
			   struct ccu_reason *err)
{
	return parse_bool(key, v, &p->require_single_socket, line, err);
}

static int k_min_abi(struct snp_policy *p, const char *key, const char *v, unsigned line,
		     struct ccu_reason *err)
{
	uint8_t x[2] = { 0 };
	int r = parse_dotted(v, x, 2, "MAJOR.MINOR (e.g. 1.51)", line, key, err);

	if (r < 0)
		return r;
	p->has_min_abi = true;
	p->abi_major = x[0];
	p->abi_minor = x[1];
	return 0;
}

static int k_vmpl(struct snp_policy *p, const char *key, const char *v, unsigned line,
		  struct ccu_reason *err)
{
	uint64_t x;
	int r = parse_num(v, 3, "VMPL", &x, line, key, err);

	if (r < 0)
		return r;
	p->vmpl = (uint32_t)x;
	return 0;
}

static int k_report_data(struct snp_policy *p, const char *key, const char *v, unsigned line,
			 struct ccu_reason *err)
{
	int r = parse_hex(v, p->report_data, sizeof(p->report_data), line, key, err);

	if (r < 0)
		return r;
	p->has_report_data = true;
	return 0;
}

static int k_host_data(struct snp_policy *p, const char *key, const char *v, unsigned line,
		       struct ccu_reason *err)
{
	return hexlist_add(&p->host_data, 32, v, line, key, err);
}

/* init_data_digest = <64, 96 or 128 hex>: the SHA-256/384/512 digest of the
 * init-data document (kbs/initdata.h) the guest presented. */
static int k_init_data(struct snp_policy *p, const char *key, const char *v, unsigned line,
		       struct ccu_reason *err)
{
	size_t l = strlen(v);
	int i = l == 64 ? 0 : l == 96 ? 1 : l == 128 ? 2 : -1;

	if (i < 0)
		return value_error(err, line, key,
				   "is %zu characters long, expected 64, 96 or 128 hex digits "
				   "(a sha256, sha384 or sha512 digest)",
				   l);
	return hexlist_add(&p->init_data[i], l / 2, v, line, key, err);
}

static int k_additional_evidence(struct snp_policy *p, const char *key, const char *v,
				 unsigned line, struct ccu_reason *err)
{
	if (strcmp(v, "forbidden") == 0)
		p->forbid_additional_evidence = true;
	else if (strcmp(v, "allowed") == 0)
		p->forbid_additional_evidence = false;
	else
		return value_error(err, line, key, "'%.32s' is not forbidden or allowed", v);
	return 0;
}

static int k_id_key(struct snp_policy *p, const char *key, const char *v, unsigned line,
		    struct ccu_reason *err)
{
	return hexlist_add(&p->id_key_digest, 48, v, line, key, err);
}

static int k_author_key(struct snp_policy *p, const char *key, const char *v, unsigned line,
			struct ccu_reason *err)
{
	return hexlist_add(&p->author_key_digest, 48, v, line, key, err);
}

static int k_family_id(struct snp_policy *p, const char *key, const char *v, unsigned line,
		       struct ccu_reason *err)
{
	return hexlist_add(&p->family_id, 16, v, line, key, err);
}

static int k_image_id(struct snp_policy *p, const char *key, const char *v, unsigned line,
		      struct ccu_reason *err)
{
	return hexlist_add(&p->image_id, 16, v, line, key, err);
}

static int k_chip_id(struct snp_policy *p, const char *key, const char *v, unsigned line,
		     struct ccu_reason *err)
{
	return hexlist_add(&p->chip_id, 64, v, line, key, err);
}

static int k_guest_svn(struct snp_policy *p, const char *key, const char *v, unsigned line,
		       struct ccu_reason *err)
{
	uint64_t x;
	int r = parse_num(v, UINT32_MAX, "SVN", &x, line, key, err);

	if (r < 0)
		return r;
	p->has_min_guest_svn = true;
	p->min_guest_svn = (uint32_t)x;
	return 0;
}

static int k_report_version(struct snp_policy *p, const char *key, const char *v, unsigned line,
			    struct ccu_reason *err)
{
	const char *dash = strchr(v, '-');
	char lo[8];
	uint64_t a = 0, b = 0;
	size_t l = dash ? (size_t)(dash - v) : strlen(v);
	int r;

	if (l == 0 || l >= sizeof(lo) || (dash && !dash[1]))
		return value_error(err, line, key, "'%.32s' is not N or N-M", v);
	memcpy(lo, v, l);
	lo[l] = 0;
	r = parse_num(lo, UINT32_MAX, "version", &a, line, key, err);
	if (r == 0)
		r = parse_num(dash ? dash + 1 : lo, UINT32_MAX, "version", &b, line, key, err);
	if (r < 0)
		return r;
	if (a < SNP_REPORT_MIN_VERSION || b < SNP_REPORT_MIN_VERSION ||
	    a > SNP_REPORT_MAX_VERSION || b > SNP_REPORT_MAX_VERSION)
		return value_error(err, line, key, "'%.32s': report versions are %d to %d", v,
				   SNP_REPORT_MIN_VERSION, SNP_REPORT_MAX_VERSION);
	if (a > b)
		return value_error(err, line, key, "range %llu-%llu is reversed",
				   (unsigned long long)a, (unsigned long long)b);
	p->has_report_version = true;
	p->version_lo = (uint32_t)a;
	p->version_hi = (uint32_t)b;
	return 0;
}

static int k_product(struct snp_policy *p, const char *key, const char *v, unsigned line,
		     struct ccu_reason *err)
{
	enum snp_product prod = snp_product_from_name(v);

	if (prod == SNP_PRODUCT_UNKNOWN)
		return value_error(err, line, key, "'%.32s' is not milan, genoa or turin", v);
	if (p->products & (1u << prod))
		return value_error(err, line, key, "%s already listed on line %u",
				   snp_product_name(prod), p->product_line[prod]);
	p->products |= 1u << prod;
	p->product_line[prod] = line;
	return 0;
}

/* pcr.N = <64 hex>[, <64 hex>...]: the values PCR N may have (sha256 bank). */
static int k_pcr(struct snp_policy *p, const char *key, const char *v, unsigned line,
		 struct ccu_reason *err)
{
	uint64_t n;
	char buf[CCU_CONF_MAX_SIZE > 4096 ? 4096 : CCU_CONF_MAX_SIZE];
	char *tok, *rest = buf;
	int r;

	r = parse_num(key + 4, AZ_TPM_PCR_COUNT - 1, "PCR index", &n, line, key, err);
	if (r < 0)
		return r;
	if (strlen(v) >= sizeof(buf))
		return value_error(err, line, key, "value is too long");
	memcpy(buf, v, strlen(v) + 1);
	while ((tok = strsep(&rest, ",")) != NULL) {
		r = hexlist_add(&p->pcr[n], 32, ccu_strstrip(tok), line, key, err);
		if (r < 0)
			return r;
	}
	if (!p->pcr[n].n)
		return value_error(err, line, key, "needs at least one 64-hex-digit value");
	p->pcr_rules |= 1u << n;
	return 0;
}

static int k_az_secure_boot(struct snp_policy *p, const char *key, const char *v, unsigned line,
			    struct ccu_reason *err)
{
	if (strcmp(v, "required") != 0)
		return value_error(err, line, key, "must be 'required' (omit the key otherwise)");
	p->az_secure_boot = true;
	return 0;
}

static int k_az_console(struct snp_policy *p, const char *key, const char *v, unsigned line,
			struct ccu_reason *err)
{
	if (strcmp(v, "forbidden") == 0)
		p->az_console_forbidden = true;
	else if (strcmp(v, "allowed") != 0)
		return value_error(err, line, key, "must be 'forbidden' or 'allowed'");
	p->az_console_set = true;
	return 0;
}

/* azure.vm_id = <vmUniqueId>[, ...]: compared case-insensitively (a GUID). */
static int k_az_vm_id(struct snp_policy *p, const char *key, const char *v, unsigned line,
		      struct ccu_reason *err)
{
	char buf[SNP_POLICY_MAX_VM_IDS * (AZ_VM_ID_MAX + 2)];
	char *tok, *rest = buf;

	if (strlen(v) >= sizeof(buf))
		return value_error(err, line, key, "value is too long");
	memcpy(buf, v, strlen(v) + 1);
	while ((tok = strsep(&rest, ",")) != NULL) {
		const char *id = ccu_strstrip(tok);
		size_t l = strlen(id);

		if (l == 0 || l > AZ_VM_ID_MAX)
			return value_error(err, line, key, "an id is empty or longer than %d",
					   AZ_VM_ID_MAX);
		if (p->az_vm_ids == SNP_POLICY_MAX_VM_IDS)
			return value_error(err, line, key, "more than %d ids",
					   SNP_POLICY_MAX_VM_IDS);
		for (size_t i = 0; i < p->az_vm_ids; i++)
			if (strcasecmp(p->az_vm_id[i], id) == 0)
				return value_error(err, line, key, "'%s' listed twice", id);
		memcpy(p->az_vm_id[p->az_vm_ids++], id, l + 1);
	}
	return 0;
}

#define PCR_KEY(n) { "pcr." #n, false, k_pcr }

static const struct {
	const char *name;
	bool repeatable;
	key_fn fn;
} policy_keys[] = {
	{ "measurement", true, k_measurement },
	{ "min_reported_tcb", false, k_reported_tcb },
	{ "min_committed_tcb", false, k_committed_tcb },
	{ "min_launch_tcb", false, k_launch_tcb },
	{ "min_firmware", false, k_firmware },
	{ "min_committed_firmware", false, k_committed_firmware },
	{ "allow_smt", false, k_allow_smt },
	{ "require_single_socket", false, k_single_socket },
	{ "min_abi", false, k_min_abi },
	{ "vmpl", false, k_vmpl },
	{ "report_data", false, k_report_data },
	{ "host_data", true, k_host_data },
	{ "id_key_digest", true, k_id_key },
	{ "author_key_digest", true, k_author_key },
	{ "family_id", true, k_family_id },
	{ "image_id", true, k_image_id },
	{ "chip_id", true, k_chip_id },
	{ "min_guest_svn", false, k_guest_svn },
	{ "report_version", false, k_report_version },
	{ "product", true, k_product },
	PCR_KEY(0), PCR_KEY(1), PCR_KEY(2), PCR_KEY(3), PCR_KEY(4), PCR_KEY(5),
	PCR_KEY(6), PCR_KEY(7), PCR_KEY(8), PCR_KEY(9), PCR_KEY(10), PCR_KEY(11),
	PCR_KEY(12), PCR_KEY(13), PCR_KEY(14), PCR_KEY(15), PCR_KEY(16), PCR_KEY(17),
	PCR_KEY(18), PCR_KEY(19), PCR_KEY(20), PCR_KEY(21), PCR_KEY(22), PCR_KEY(23),
	{ "azure.secure_boot", false, k_az_secure_boot },
	{ "azure.console", false, k_az_console },
	{ "azure.vm_id", false, k_az_vm_id },
	{ "init_data_digest", true, k_init_data },
	{ "additional_evidence", false, k_additional_evidence },
};

void snp_policy_free(struct snp_policy *p)
{
	if (!p)
		return;
	hexlist_free(&p->measurement);
	hexlist_free(&p->host_data);
	hexlist_free(&p->id_key_digest);
	hexlist_free(&p->author_key_digest);
	hexlist_free(&p->family_id);
	hexlist_free(&p->image_id);
	hexlist_free(&p->chip_id);
	for (size_t i = 0; i < AZ_TPM_PCR_COUNT; i++)
		hexlist_free(&p->pcr[i]);
	for (size_t i = 0; i < ARRAY_SIZE(p->init_data); i++)
		hexlist_free(&p->init_data[i]);
	free(p);
}

DEFINE_FREEP(struct snp_policy, snp_policy_free)

static void conf_freep(struct ccu_conf *c)
{
	ccu_conf_free(c);
}

static int apply_entries(struct snp_policy *p, const struct ccu_conf *c, struct ccu_reason *err)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct ccu_conf_entry *e = &c->entries[i];
		size_t k;
		int r;

		for (k = 0; k < ARRAY_SIZE(policy_keys); k++)
			if (strcmp(policy_keys[k].name, e->key) == 0)
				break;
		if (k == ARRAY_SIZE(policy_keys)) /* ccu_conf_check_keys ran first */
			return ccu_fail(err, -EINVAL, "CONFIG_UNKNOWN_KEY",
					"line %u: unknown key '%s'", e->line, e->key);
		r = policy_keys[k].fn(p, e->key, e->value, e->line, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int snp_policy_parse(const char *text, size_t len, struct snp_policy **ret, struct ccu_reason *err)
{
	_cleanup_(conf_freep) struct ccu_conf c = { 0 };
	_cleanup_(snp_policy_freep) struct snp_policy *p = NULL;
	struct ccu_conf_key keys[ARRAY_SIZE(policy_keys)];
	int r;

	if (!ret || (!text && len))
		return ccu_fail(err, -EINVAL, "INTERNAL", "snp_policy_parse: bad arguments");
	*ret = NULL;
	r = ccu_conf_parse(text ? text : "", len, &c, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(policy_keys); i++) {
		keys[i].name = policy_keys[i].name;
		keys[i].repeatable = policy_keys[i].repeatable;
	}
	r = ccu_conf_check_keys(&c, keys, ARRAY_SIZE(keys), err);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	p->allow_smt = true; /* SMT is a performance choice, not a confidentiality one */
	r = apply_entries(p, &c, err);
	if (r < 0)
		return r;
	/* An empty allowlist would deny every guest; say so instead of
	 * loading a policy that can never release anything. */
	if (!p->meas_any && p->measurement.n == 0)
		return ccu_fail(err, -EINVAL, "CONFIG_MISSING",
				"'measurement' is required (a launch measurement, or 'any')");
	*ret = TAKE_PTR(p);
	return 0;
}

int snp_policy_load_file(const char *path, struct snp_policy **ret, struct ccu_reason *err)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	int r;

	if (!path || !ret)
		return ccu_fail(err, -EINVAL, "INTERNAL", "snp_policy_load_file: bad arguments");
	*ret = NULL;
	r = ccu_read_file(path, CCU_CONF_MAX_SIZE, &data, &len);
	if (r == -EFBIG)
		return ccu_fail(err, r, "CONFIG_SYNTAX", "%s: file is larger than %d bytes", path,
				CCU_CONF_MAX_SIZE);
	if (r < 0)
		return ccu_fail(err, r, "CONFIG_IO", "cannot read %s: %s", path, strerror(-r));
	return snp_policy_parse((const char *)data, len, ret, err);
}

/* --------------------------------------------------------------- evaluation */

#define DENY(deny, code, ...) ccu_fail(deny, -EKEYREJECTED, code, __VA_ARGS__)

struct eval_ctx {
	const struct snp_policy *p;
	const struct snp_report *r;
	enum snp_product product;
	const struct snp_policy_session *sess; /* NULL: a report on its own */
	struct ccu_reason *deny;
};

static int rule_debug(const struct eval_ctx *c)
{
	if (c->r->policy & SNP_POLICY_DEBUG)
		return DENY(c->deny, "POLICY_DEBUG",
			    "guest POLICY 0x%llx allows debugging (bit 19); never released",
			    (unsigned long long)c->r->policy);
	return 0;
}

static int rule_migrate_ma(const struct eval_ctx *c)
{
	if (c->r->policy & SNP_POLICY_MIGRATE_MA)
		return DENY(c->deny, "POLICY_MIGRATE_MA",
			    "guest POLICY 0x%llx allows a migration agent (bit 18); never released",
			    (unsigned long long)c->r->policy);
	return 0;
}

static int rule_report_version(const struct eval_ctx *c)
{
	const struct snp_policy *p = c->p;

	if (!p->has_report_version ||
	    (c->r->version >= p->version_lo && c->r->version <= p->version_hi))
		return 0;
	if (p->version_lo == p->version_hi)
		return DENY(c->deny, "POLICY_REPORT_VERSION",
			    "report_version: need %u, report is version %u", p->version_lo,
			    c->r->version);
	return DENY(c->deny, "POLICY_REPORT_VERSION",
		    "report_version: need %u-%u, report is version %u", p->version_lo,
		    p->version_hi, c->r->version);
}

static int rule_product(const struct eval_ctx *c)
{
	char want[64] = "";
	size_t o = 0;

	if (!c->p->products)
		return 0;
	if (c->product > SNP_PRODUCT_UNKNOWN && c->product < SNP_PRODUCT_COUNT &&
	    (c->p->products & (1u << c->product)))
		return 0;
	for (int i = 1; i < SNP_PRODUCT_COUNT; i++)
		if (c->p->products & (1u << i))
			o += (size_t)snprintf(want + o, sizeof(want) - o, "%s%s", o ? " or " : "",
					      snp_product_name((enum snp_product)i));
	return DENY(c->deny, "POLICY_PRODUCT", "product: need %s, evidence is from %s", want,
		    snp_product_name(c->product));
}

static int rule_vmpl(const struct eval_ctx *c)
{
	if (c->r->vmpl == c->p->vmpl)
		return 0;
	return DENY(c->deny, "POLICY_VMPL", "vmpl: need %u, report has %u", c->p->vmpl,
		    c->r->vmpl);
}

static int rule_report_data(const struct eval_ctx *c)
{
	char want[129], have[129];

	/* Constant time: report_data may be a shared secret or a binding. */
	if (!c->p->has_report_data ||
	    CRYPTO_memcmp(c->p->report_data, c->r->report_data, sizeof(c->p->report_data)) == 0)
		return 0;
	ccu_hex_encode(c->p->report_data, 64, want, sizeof(want));
	ccu_hex_encode(c->r->report_data, 64, have, sizeof(have));
	return DENY(c->deny, "POLICY_REPORT_DATA", "report_data: need %s, report has %s", want,
		    have);
}

/* Is @v (len bytes) in @h? An empty list is no restriction. */
static bool hexlist_allows(const struct hexlist *h, size_t len, const uint8_t *v)
{
	if (!h->n)
		return true;
	for (size_t i = 0; i < h->n; i++)
		if (memcmp(h->v + i * len, v, len) == 0)
			return true;
	return false;
}

static int deny_not_listed(const struct eval_ctx *c, const char *code, const char *key,
			   const struct hexlist *h, const uint8_t *v, size_t len)
{
	char have[129];

	ccu_hex_encode(v, len, have, sizeof(have));
	return DENY(c->deny, code, "%s: report has %s, not among the %zu allowed value%s", key,
		    have, h->n, h->n == 1 ? "" : "s");
}

static int rule_measurement(const struct eval_ctx *c)
{
	const struct hexlist *h = &c->p->measurement;

	if (c->p->meas_any)
		return 0;
	/* Never "no list = allowed": the parser requires one, but a
	 * policy without entries must still deny. */
	if (h->n && hexlist_allows(h, MEAS_LEN, c->r->measurement))
		return 0;
	return deny_not_listed(c, "POLICY_MEASUREMENT", "measurement", h, c->r->measurement,
			       MEAS_LEN);
}

#define LIST_RULE(fname, field, code, len)                                                         \
	static int fname(const struct eval_ctx *c)                                                 \
	{                                                                                          \
		if (hexlist_allows(&c->p->field, len, c->r->field))                                \
			return 0;                                                                  \
		return deny_not_listed(c, code, #field, &c->p->field, c->r->field, len);           \
	}

LIST_RULE(rule_host_data, host_data, "POLICY_HOST_DATA", 32)
LIST_RULE(rule_id_key, id_key_digest, "POLICY_ID_KEY", 48)
LIST_RULE(rule_author_key, author_key_digest, "POLICY_AUTHOR_KEY", 48)
LIST_RULE(rule_family_id, family_id, "POLICY_FAMILY_ID", 16)
LIST_RULE(rule_image_id, image_id, "POLICY_IMAGE_ID", 16)
LIST_RULE(rule_chip_id, chip_id, "POLICY_CHIP_ID", 64)

static int rule_init_data(const struct eval_ctx *c)
{
	const struct snp_policy_session *s = c->sess;
	size_t total = 0, n = s && s->init_data_digest ? s->init_data_digest_len : 0;
	int i = n == 32 ? 0 : n == 48 ? 1 : n == 64 ? 2 : -1;
	char have[129];

	for (size_t k = 0; k < ARRAY_SIZE(c->p->init_data); k++)
		total += c->p->init_data[k].n;
	if (total == 0)
		return 0;
	if (i < 0)
		return DENY(c->deny, "POLICY_INIT_DATA",
			    "init_data_digest: the guest presented no init-data (%zu allowed "
			    "digest%s)",
			    total, total == 1 ? "" : "s");
	/* an empty list for this digest length allows nothing here */
	if (c->p->init_data[i].n && hexlist_allows(&c->p->init_data[i], n, s->init_data_digest))
		return 0;
	ccu_hex_encode(s->init_data_digest, n, have, sizeof(have));
	return DENY(c->deny, "POLICY_INIT_DATA",
		    "init_data_digest: init-data digest %s is not among the %zu allowed value%s",
		    have, total, total == 1 ? "" : "s");
}

static int rule_additional_evidence(const struct eval_ctx *c)
{
	if (!c->p->forbid_additional_evidence || !c->sess || !c->sess->additional_evidence)
		return 0;
	return DENY(c->deny, "POLICY_ADDITIONAL_EVIDENCE",
		    "additional_evidence = forbidden, and the guest sent additional evidence");
}

static int rule_guest_svn(const struct eval_ctx *c)
{
	if (!c->p->has_min_guest_svn || c->r->guest_svn >= c->p->min_guest_svn)
		return 0;
	return DENY(c->deny, "POLICY_GUEST_SVN", "min_guest_svn: need >= %u, report has %u",
		    c->p->min_guest_svn, c->r->guest_svn);
}

static int rule_smt(const struct eval_ctx *c)
{
	if (c->p->allow_smt || !(c->r->policy & SNP_POLICY_SMT))
		return 0;
	return DENY(c->deny, "POLICY_SMT",
		    "allow_smt = no: guest POLICY 0x%llx allows SMT (bit 16)",
		    (unsigned long long)c->r->policy);
}

static int rule_single_socket(const struct eval_ctx *c)
{
	if (!c->p->require_single_socket || (c->r->policy & SNP_POLICY_SINGLE_SOCKET))
		return 0;
	return DENY(c->deny, "POLICY_SINGLE_SOCKET",
		    "require_single_socket = yes: guest POLICY 0x%llx lacks SINGLE_SOCKET (bit 20)",
		    (unsigned long long)c->r->policy);
}

static int rule_abi(const struct eval_ctx *c)
{
	unsigned maj = SNP_POLICY_ABI_MAJOR(c->r->policy), min = SNP_POLICY_ABI_MINOR(c->r->policy);

	if (!c->p->has_min_abi || maj > c->p->abi_major ||
	    (maj == c->p->abi_major && min >= c->p->abi_minor))
		return 0;
	return DENY(c->deny, "POLICY_ABI", "min_abi: need guest POLICY ABI >= %u.%u, report has %u.%u",
		    c->p->abi_major, c->p->abi_minor, maj, min);
}

/* "need bl>=4 ..." for @m, comparing fmc only when @fmc. */
static void format_need(const struct snp_tcb *m, bool fmc, char *buf, size_t len)
{
	if (fmc)
		snprintf(buf, len, "fmc>=%u bl>=%u tee>=%u snp>=%u ucode>=%u", m->fmc, m->bootloader,
			 m->tee, m->snp, m->microcode);
	else
		snprintf(buf, len, "bl>=%u tee>=%u snp>=%u ucode>=%u", m->bootloader, m->tee,
			 m->snp, m->microcode);
}

/* Names of the components of @t below @m into @buf ("bl, snp"); fmc only
 * when @fmc. Returns the length written (0 = all high enough). */
static size_t tcb_too_low(const struct snp_tcb *t, const struct snp_tcb *m, bool fmc, char *buf,
			  size_t len)
{
	const struct {
		const char *name;
		uint8_t have, need;
		bool used;
	} comp[] = {
		{ "fmc", t->fmc, m->fmc, fmc },
		{ "bl", t->bootloader, m->bootloader, true },
		{ "tee", t->tee, m->tee, true },
		{ "snp", t->snp, m->snp, true },
		{ "ucode", t->microcode, m->microcode, true },
	};
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(comp); i++)
		if (comp[i].used && comp[i].have < comp[i].need && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
					      comp[i].name);
	return o;
}

static int check_tcb(const struct eval_ctx *c, const struct tcb_min *m, const uint8_t raw[8],
		     const char *key, const char *field, const char *code)
{
	bool fmc = m->t.has_fmc && c->product == SNP_PRODUCT_TURIN;
	char need[80], got[80], low[48];
	struct snp_tcb t;

	if (!m->set)
		return 0;
	/* The layout is the product's; without one the rule cannot be checked. */
	if (c->product <= SNP_PRODUCT_UNKNOWN || c->product >= SNP_PRODUCT_COUNT)
		return DENY(c->deny, code, "%s: the product is unknown, so %s cannot be decoded",
			    key, field);
	if (!snp_tcb_decode(raw, c->product, &t))
		return DENY(c->deny, code,
			    "%s: %s %02x%02x%02x%02x%02x%02x%02x%02x has non-zero reserved bytes "
			    "in the %s layout",
			    key, field, raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6],
			    raw[7], snp_product_name(c->product));
	if (!tcb_too_low(&t, &m->t, fmc, low, sizeof(low)))
		return 0;
	format_need(&m->t, fmc, need, sizeof(need));
	snp_tcb_format(&t, got, sizeof(got));
	return DENY(c->deny, code, "%s: need %s, report has %s (%s too low)", key, need, got, low);
}

static int rule_reported_tcb(const struct eval_ctx *c)
{
	return check_tcb(c, &c->p->reported_tcb, c->r->reported_tcb, "min_reported_tcb",
			 "REPORTED_TCB", "POLICY_REPORTED_TCB");
}

static int rule_committed_tcb(const struct eval_ctx *c)
{
	return check_tcb(c, &c->p->committed_tcb, c->r->committed_tcb, "min_committed_tcb",
			 "COMMITTED_TCB", "POLICY_COMMITTED_TCB");
}

static int rule_launch_tcb(const struct eval_ctx *c)
{
	return check_tcb(c, &c->p->launch_tcb, c->r->launch_tcb, "min_launch_tcb", "LAUNCH_TCB",
			 "POLICY_LAUNCH_TCB");
}

static int fw_cmp(const struct snp_fw_version *a, const struct snp_fw_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->build != b->build)
		return a->build < b->build ? -1 : 1;
	return 0;
}

static int check_fw(const struct eval_ctx *c, const struct fw_min *m,
		    const struct snp_fw_version *v, const char *key, const char *field,
		    const char *code)
{
	if (!m->set || fw_cmp(v, &m->v) >= 0)
		return 0;
	return DENY(c->deny, code, "%s: need >= %u.%u.%u, report %s is %u.%u.%u", key, m->v.major,
		    m->v.minor, m->v.build, field, v->major, v->minor, v->build);
}

static int rule_firmware(const struct eval_ctx *c)
{
	return check_fw(c, &c->p->firmware, &c->r->current, "min_firmware", "CURRENT",
			"POLICY_FIRMWARE");
}

static int rule_committed_firmware(const struct eval_ctx *c)
{
	return check_fw(c, &c->p->committed_firmware, &c->r->committed, "min_committed_firmware",
			"COMMITTED", "POLICY_COMMITTED_FIRMWARE");
}

/*
 * The evaluation order (docs/policy.md): the rules no policy can lift, what
 * the evidence is, which guest image it is, the guest's own launch policy,
 * then the platform's TCB and firmware. The first failing rule is the
 * reason, so one defect always yields the same code.
 */
static int (*const rules[])(const struct eval_ctx *c) = {
	rule_debug,        rule_migrate_ma,     rule_report_version, rule_product,
	rule_measurement,  rule_report_data,    rule_vmpl,           rule_host_data,
	rule_id_key,       rule_author_key,     rule_family_id,      rule_image_id,
	rule_guest_svn,    rule_smt,            rule_single_socket,  rule_abi,
	rule_chip_id,      rule_reported_tcb,   rule_committed_tcb,  rule_launch_tcb,
	rule_firmware,     rule_committed_firmware, rule_init_data, rule_additional_evidence,
};

static int eval_snp(const struct eval_ctx *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		int ret = rules[i](c);

		if (ret < 0)
			return ret;
	}
	return 0;
}

static bool has_azure_rules(const struct snp_policy *p)
{
	return p->pcr_rules || p->az_secure_boot || p->az_console_forbidden || p->az_vm_ids;
}

int snp_policy_eval(const struct snp_policy *p, const struct snp_report *r, enum snp_product product,
		    struct ccu_reason *deny)
{
	return snp_policy_eval_session(p, r, product, NULL, deny);
}

int snp_policy_eval_session(const struct snp_policy *p, const struct snp_report *r,
			    enum snp_product product, const struct snp_policy_session *sess,
			    struct ccu_reason *deny)
{
	const struct eval_ctx c = {
		.p = p, .r = r, .product = product, .sess = sess, .deny = deny
	};

	ccu_reason_clear(deny);
	if (!p || !r)
		return ccu_fail(deny, -EINVAL, "INTERNAL", "snp_policy_eval: no policy or report");
	/* A rule that cannot be checked is a denial: plain SNP evidence has no
	 * vTPM PCRs and no Azure VM configuration. */
	if (has_azure_rules(p))
		return DENY(deny, "POLICY_UNCHECKABLE",
			    "the policy has pcr.N / azure.* rules, which only %s evidence can "
			    "satisfy; this is plain SEV-SNP evidence",
			    AZ_TEE_NAME);
	return eval_snp(&c);
}

static int rule_pcrs(const struct snp_policy *p, const struct az_claims *a,
		     struct ccu_reason *deny)
{
	for (unsigned i = 0; i < AZ_TPM_PCR_COUNT; i++) {
		char have[65];

		if (!(p->pcr_rules >> i & 1u))
			continue;
		if (!(a->pcr_mask >> i & 1u))
			return DENY(deny, "POLICY_PCR",
				    "pcr.%u: the quote does not cover PCR %u, so the rule cannot "
				    "be checked",
				    i, i);
		if (hexlist_allows(&p->pcr[i], 32, a->pcr[i]))
			continue;
		ccu_hex_encode(a->pcr[i], 32, have, sizeof(have));
		return DENY(deny, "POLICY_PCR", "pcr.%u: %s is not among the %zu allowed values",
			    i, have, p->pcr[i].n);
	}
	return 0;
}

static const char *tri(enum az_tristate t)
{
	return t == AZ_TRUE ? "true" : t == AZ_FALSE ? "false" : "absent";
}

static int rules_azure(const struct snp_policy *p, const struct az_claims *a,
		       struct ccu_reason *deny)
{
	int r = rule_pcrs(p, a, deny);

	if (r < 0)
		return r;
	if (p->az_secure_boot && a->runtime.secure_boot != AZ_TRUE)
		return DENY(deny, "POLICY_AZURE_SECURE_BOOT",
			    "azure.secure_boot: required, the HCL runtime data says secure-boot %s",
			    tri(a->runtime.secure_boot));
	if (p->az_console_forbidden && a->runtime.console_enabled != AZ_FALSE)
		return DENY(deny, "POLICY_AZURE_CONSOLE",
			    "azure.console: forbidden, the HCL runtime data says "
			    "console-enabled %s",
			    tri(a->runtime.console_enabled));
	if (p->az_vm_ids) {
		for (size_t i = 0; i < p->az_vm_ids; i++)
			if (a->runtime.vm_id[0] && strcasecmp(p->az_vm_id[i], a->runtime.vm_id) == 0)
				return 0;
		return DENY(deny, "POLICY_AZURE_VM_ID",
			    "azure.vm_id: vmUniqueId '%s' is not among the %zu allowed",
			    a->runtime.vm_id[0] ? a->runtime.vm_id : "(absent)", p->az_vm_ids);
	}
	return 0;
}

int snp_policy_eval_azure(const struct snp_policy *p, const struct az_claims *a,
			  enum snp_product product, struct ccu_reason *deny)
{
	return snp_policy_eval_azure_session(p, a, product, NULL, deny);
}

int snp_policy_eval_azure_session(const struct snp_policy *p, const struct az_claims *a,
				  enum snp_product product, const struct snp_policy_session *sess,
				  struct ccu_reason *deny)
{
	struct eval_ctx c = { .p = p, .product = product, .sess = sess, .deny = deny };
	int r;

	ccu_reason_clear(deny);
	if (!p || !a || !a->quote_ok)
		return ccu_fail(deny, -EINVAL, "INTERNAL",
				"snp_policy_eval_azure: no policy or unverified claims");
	c.r = &a->report;
	r = eval_snp(&c);
	if (r < 0)
		return r;
	return rules_azure(p, a, deny);
}
