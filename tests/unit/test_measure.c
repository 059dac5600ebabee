/*
 * Launch digests (src/measure/): every test vector of virtee's
 * sev-snp-measure, Debian 12's own OVMF builds cross-checked against that
 * independent implementation, measured direct boot, and malformed firmware
 * refused with its own code.
 *
 * The upstream vectors that hash the whole firmware need the tool's two
 * 4 KiB fixtures (tests/fixtures/ovmf_{AmdSev,OvmfX64}_suffix.bin of
 * virtee/sev-snp-measure); they are not part of this tree. Point
 * $CCU_SEV_SNP_MEASURE_FIXTURES at a directory holding them, otherwise those
 * tests skip. Every SNP vector also runs without them: an SNP digest only
 * depends on the firmware bytes through the OVMF hash, so a firmware with
 * the fixture's layout (built here) seeded with the fixture's OVMF hash
 * must give the same digest.
 */
#include "helpers/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/cli.h"
#include "common/codec.h"
#include "measure/measure.h"
#include "measure_vectors.h"

#define DEBIAN_UNIFIED "/usr/share/ovmf/OVMF.fd"
#define DEBIAN_CODE "/usr/share/OVMF/OVMF_CODE.fd"
#define DEBIAN_CODE_4M "/usr/share/OVMF/OVMF_CODE_4M.fd"

/* The OVMF hashes (SNP digest after the firmware pages) of the two upstream
 * fixtures, as sev-snp-measure's own tests state (AmdSev) or as it computes
 * from the fixture (OvmfX64). */
#define AMDSEV_OVMF_HASH                                                                           \
	"086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"
#define OVMFX64_OVMF_HASH                                                                          \
	"b91e6fec73d2bcc57ad5fd400a426ce02731c22ea92bc894ce675e7c9921a822977d6cf025b85f8ef4f264bff8839d20"

/* ------------------------------------------------------------ firmware builder */

struct fwspec {
	size_t size;
	bool no_table, no_reset, no_meta, no_hashes;
	uint32_t eip;
	uint32_t meta_off; /* the metadata entry's value (the header is at -0x554) */
	uint32_t hgpa, hsize;
	bool svsm_info; /* an SVSM image's entry-point entry */
	uint32_t svsm_entry;
	unsigned n;
	struct meas_section sec[12];
};

static const uint8_t g_footer[16] = { 0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
				      0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
static const uint8_t g_reset[16] = { 0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
				     0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e };
static const uint8_t g_meta[16] = { 0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
				    0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc };
static const uint8_t g_hashes[16] = { 0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b,
				      0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54 };
static const uint8_t g_svsm[16] = { 0x12, 0xa6, 0x89, 0xa7, 0x97, 0x05, 0x4b, 0x4c,
				    0xa4, 0x9f, 0xcb, 0xb1, 0xfe, 0x9d, 0x1d, 0xdd };
static const uint8_t g_other[16] = { 0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
				     0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2 };

static void p16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void p32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Offsets from the end of the image. */
#define FOOTER_AT 50u

/* Write an entry ending at @end (exclusive); returns its start. */
static size_t put_entry(uint8_t *fw, size_t end, const uint8_t guid[16], const uint8_t *data,
			size_t dlen)
{
	size_t start = end - 18 - dlen;

	memcpy(fw + start, data, dlen);
	p16(fw + end - 18, (uint16_t)(dlen + 18));
	memcpy(fw + end - 16, guid, 16);
	return start;
}

/* A firmware image: a deterministic body, the footer table, the metadata. */
static uint8_t *fw_build(const struct fwspec *s)
{
	uint8_t *fw = malloc(s->size), d[8];
	size_t footer = s->size - FOOTER_AT, pos = footer;

	assert_non_null(fw);
	for (size_t i = 0; i < s->size; i++)
		fw[i] = (uint8_t)((i * 131u) ^ (i >> 12) ^ 0x5a);
	if (s->no_table)
		return fw;
	p32(d, 0xdeadbeef);
	pos = put_entry(fw, pos, g_other, d, 4); /* an entry we do not use */
	if (!s->no_meta) {
		p32(d, s->meta_off ? s->meta_off : 0x554);
		pos = put_entry(fw, pos, g_meta, d, 4);
	}
	if (!s->no_hashes) {
		p32(d, s->hgpa);
		p32(d + 4, s->hsize);
		pos = put_entry(fw, pos, g_hashes, d, 8);
	}
	if (!s->no_reset) {
		p32(d, s->eip);
		pos = put_entry(fw, pos, g_reset, d, 4);
	}
	if (s->svsm_info) {
		p32(d, s->svsm_entry);
		pos = put_entry(fw, pos, g_svsm, d, 4);
	}
	p16(fw + footer, (uint16_t)(footer - pos + 18));
	memcpy(fw + footer + 2, g_footer, 16);
	if (!s->no_meta) {
		uint8_t *h = fw + s->size - 0x554;

		memcpy(h, "ASEV", 4);
		p32(h + 4, 16 + 12 * s->n);
		p32(h + 8, 1);
		p32(h + 12, s->n);
		for (unsigned i = 0; i < s->n; i++) {
			p32(h + 16 + 12 * i, s->sec[i].gpa);
			p32(h + 20 + 12 * i, s->sec[i].size);
			p32(h + 24 + 12 * i, s->sec[i].type);
		}
	}
	return fw;
}

/* The layout of edk2-stable202405 OvmfPkg/AmdSev (sev-snp-measure's fixture). */
static struct fwspec amdsev_spec(size_t size)
{
	struct fwspec s = {
		.size = size,
		.eip = 0x80b004,
		.hgpa = 0x810c00,
		.hsize = 0x400,
		.n = 7,
		.sec = { { 0x800000, 0x9000, 1 },
			 { 0x80a000, 0x3000, 1 },
			 { 0x80d000, 0x1000, 2 },
			 { 0x80e000, 0x1000, 3 },
			 { 0x80f000, 0x1000, 4 },
			 { 0x810000, 0x1000, 0x10 },
			 { 0x811000, 0xf000, 1 } },
	};
	return s;
}

/* ... and of its OvmfPkgX64 build (no kernel hashes). */
static struct fwspec ovmfx64_spec(void)
{
	struct fwspec s = {
		.size = 4096,
		.eip = 0x80b004,
		.n = 6,
		.sec = { { 0x800000, 0x9000, 1 },
			 { 0x80a000, 0x3000, 1 },
			 { 0x80d000, 0x1000, 2 },
			 { 0x80e000, 0x1000, 3 },
			 { 0x80f000, 0x1000, 4 },
			 { 0x810000, 0x10000, 1 } },
	};
	return s;
}

static char *tmpdir;

static int setup(void **state)
{
	(void)state;
	tmpdir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(tmpdir);
	free(tmpdir);
	return 0;
}

static const char *tmp_path(const char *name)
{
	static char p[4][512];
	static unsigned k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static void write_file(const char *path, const uint8_t *d, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static const char *fw_file(const struct fwspec *s, const char *name)
{
	uint8_t *fw = fw_build(s);
	const char *p = tmp_path(name);

	write_file(p, fw, s->size);
	free(fw);
	return p;
}

/* ------------------------------------------------------------ running */

struct run {
	const char *mode, *ovmf, *vcpu_type, *vmm, *kernel, *initrd, *append, *ovmf_hash, *svsm;
	const char *dump;
	uint64_t vars_size;
	unsigned vcpus;
	unsigned long long features;
	uint32_t sig;
};

static int compute(const struct run *r, struct meas_result *res, struct ccu_reason *why)
{
	struct meas_input in = { 0 };

	assert_int_equal(meas_mode_from_str(r->mode, &in.mode), 0);
	assert_int_equal(meas_vmm_from_str(r->vmm ? r->vmm : "qemu", &in.vmm), 0);
	in.ovmf = r->ovmf;
	in.vcpus = r->vcpus;
	in.vcpu_sig = r->sig;
	if (r->vcpu_type)
		assert_int_equal(meas_vcpu_type_sig(r->vcpu_type, &in.vcpu_sig), 0);
	in.guest_features = r->features;
	in.kernel = r->kernel;
	in.initrd = r->initrd;
	in.append = r->append;
	in.svsm = r->svsm;
	in.dump_vmsa = r->dump;
	in.vars_size = r->vars_size;
	if (r->ovmf_hash) {
		assert_int_equal(ccu_hex_decode_exact(r->ovmf_hash, in.ovmf_hash, 48), 0);
		in.has_ovmf_hash = true;
	}
	return meas_compute(&in, res, why);
}

static void expect(const struct run *r, const char *hex)
{
	struct meas_result res;
	struct ccu_reason why = { 0 };
	char got[97];

	if (compute(r, &res, &why) != 0)
		fail_msg("%s on %s refused: %s: %s", r->mode, r->ovmf, why.code, why.detail);
	if (!hex)
		return;
	assert_int_equal(res.digest_len * 2, strlen(hex));
	ccu_hex_encode(res.digest, res.digest_len, got, sizeof(got));
	if (strcmp(got, hex) != 0)
		fail_msg("%s %s vcpus=%u type=%s vmm=%s features=0x%llx:\n got %s\nwant %s", r->mode,
			 r->ovmf, r->vcpus, r->vcpu_type ? r->vcpu_type : "-",
			 r->vmm ? r->vmm : "qemu", r->features, got, hex);
}

static void expect_refused(const struct run *r, const char *code)
{
	struct meas_result res;
	struct ccu_reason why = { 0 };
	int ret = compute(r, &res, &why);

	if (ret == 0)
		fail_msg("%s on %s was measured, expected %s", r->mode, r->ovmf, code);
	assert_true(ret < 0);
	if (strcmp(why.code, code) != 0)
		fail_msg("refused with %s (%s), expected %s", why.code, why.detail, code);
}

/* ------------------------------------------------------------ upstream vectors */

/* sev-snp-measure tests/test_guest.py, SNP vectors of the AmdSev fixture:
 * vCPUs, VMM, features, command line (NULL: no kernel), digest. */
static const struct {
	unsigned vcpus;
	const char *vmm;
	unsigned features;
	const char *append;
	bool kernel;
	const char *digest;
} amdsev_vectors[] = {
	/* test_snp_ovmf_hash_gen_default / _feature_snp_only */
	{ 1, "qemu", 0x21, "", true,
	  "329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198" },
	{ 1, "qemu", 0x1, "", true,
	  "ddc5224521617a536ee7ce9dd6224d1b58a8d4fda1c741f3ac99fc4bfa04ba6e9fc98646d4a07a9079397fa3852819b5" },
	/* test_snp_ovmf_hash_full_*, test_snp_default, test_snp_guest_feature_snp_only */
	{ 1, "qemu", 0x21, "console=ttyS0 loglevel=7", true,
	  "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977" },
	{ 1, "qemu", 0x1, "console=ttyS0 loglevel=7", true,
	  "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa" },
	/* test_snp_ec2_* */
	{ 1, "ec2", 0x21, "", true,
	  "0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb" },
	{ 1, "ec2", 0x1, "", true,
	  "0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056" },
	/* test_snp_gce_default, test_snp_gce_with_multiple_vcpus_default */
	{ 1, "gce", 0x1, "", true,
	  "5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e" },
	{ 4, "gce", 0x1, "", true,
	  "5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d" },
	/* test_snp_without_kernel_* */
	{ 1, "qemu", 0x21, NULL, false,
	  "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b" },
	{ 1, "qemu", 0x1, NULL, false,
	  "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d" },
	/* test_snp_with_multiple_vcpus_* */
	{ 4, "qemu", 0x21, "", true,
	  "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942" },
	{ 4, "qemu", 0x1, "", true,
	  "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5" },
};

/* The first two vectors seed the chain with this hash instead of the fixture's. */
static const char *vector_seed(size_t i, const char *fixture_hash)
{
	return i < 2 ? AMDSEV_OVMF_HASH : fixture_hash;
}

static void run_amdsev_vectors(const char *ovmf, bool seeded)
{
	for (size_t i = 0; i < ARRAY_SIZE(amdsev_vectors); i++) {
		struct run r = {
			.mode = "snp",
			.ovmf = ovmf,
			.vcpus = amdsev_vectors[i].vcpus,
			.vmm = amdsev_vectors[i].vmm,
			.features = amdsev_vectors[i].features,
			.kernel = amdsev_vectors[i].kernel ? "/dev/null" : NULL,
			.initrd = amdsev_vectors[i].kernel ? "/dev/null" : NULL,
			.append = amdsev_vectors[i].append,
		};

		if (strcmp(r.vmm, "gce") != 0)
			r.vcpu_type = "EPYC-v4";
		if (i < 2 || seeded)
			r.ovmf_hash = vector_seed(i, AMDSEV_OVMF_HASH);
		expect(&r, amdsev_vectors[i].digest);
	}
}

static void test_upstream_snp_vectors_layout(void **state)
{
	struct fwspec s = amdsev_spec(4096);
	struct fwspec x = ovmfx64_spec();
	const char *amdsev = fw_file(&s, "amdsev.fd"), *x64 = fw_file(&x, "x64.fd");
	struct run r = { .mode = "snp", .ovmf = x64, .vcpus = 1, .vcpu_type = "EPYC-v4" };

	(void)state;
	run_amdsev_vectors(amdsev, true);
	/* test_snp_with_ovmfx64_without_default / _without_kernel_feature_snp_only */
	r.ovmf_hash = OVMFX64_OVMF_HASH;
	r.features = 0x21;
	expect(&r, "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291e"
		   "ed7b493d8a64c385");
	r.features = 0x1;
	expect(&r, "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad"
		   "993afdb6a30b4005");
	/* test_snp_with_ovmfx64_and_kernel_should_fail */
	r.kernel = "/dev/null";
	r.initrd = "/dev/null";
	r.append = "";
	r.features = 0x21;
	expect_refused(&r, "FIRMWARE_NO_KERNEL_HASHES");
}

static const char *fixture(const char *name)
{
	static char p[2][1024];
	static unsigned k;
	const char *dir = getenv("CCU_SEV_SNP_MEASURE_FIXTURES");
	struct stat st;

	if (!dir || !*dir)
		return NULL;
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return stat(p[k], &st) == 0 ? p[k] : NULL;
}

#define REQUIRE_FIXTURES(a, x)                                                                     \
	do {                                                                                       \
		if (!(a) || !(x)) {                                                                \
			print_message("skip: sev-snp-measure's fixtures are absent (set "          \
				      "CCU_SEV_SNP_MEASURE_FIXTURES to its tests/fixtures)\n");    \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void test_upstream_vectors_fixtures(void **state)
{
	const char *a = fixture("ovmf_AmdSev_suffix.bin"), *x = fixture("ovmf_OvmfX64_suffix.bin");
	struct run r = { .vcpu_type = "EPYC-v4", .kernel = "/dev/null", .initrd = "/dev/null" };

	(void)state;
	REQUIRE_FIXTURES(a, x);
	/* test_snp_ovmf_hash_full_default: the OVMF hash of the fixture */
	expect(&(struct run){ .mode = "snp:ovmf-hash", .ovmf = a }, AMDSEV_OVMF_HASH);
	expect(&(struct run){ .mode = "snp:ovmf-hash", .ovmf = x }, OVMFX64_OVMF_HASH);
	run_amdsev_vectors(a, false);
	expect(&(struct run){ .mode = "snp", .ovmf = x, .vcpus = 1, .vcpu_type = "EPYC-v4",
			      .features = 0x21 },
	       "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291e"
	       "ed7b493d8a64c385");
	expect(&(struct run){ .mode = "snp", .ovmf = x, .vcpus = 1, .vcpu_type = "EPYC-v4",
			      .features = 0x1 },
	       "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad"
	       "993afdb6a30b4005");
	/* test_seves, test_seves_with_multiple_vcpus */
	r.mode = "seves";
	r.ovmf = a;
	r.append = "";
	r.vcpus = 1;
	r.features = 0x1;
	expect(&r, "13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c");
	r.vcpus = 4;
	r.features = 0x21;
	expect(&r, "0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91");
	/* test_seves_with_ovmfx64_and_kernel_should_fail */
	r.ovmf = x;
	r.vcpus = 1;
	expect_refused(&r, "FIRMWARE_NO_KERNEL_HASHES");
	/* test_sev, test_sev_with_kernel_without_initrd_and_append */
	r = (struct run){ .mode = "sev", .ovmf = a, .kernel = "/dev/null", .initrd = "/dev/null",
			  .append = "console=ttyS0 loglevel=7" };
	expect(&r, "82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff");
	r.initrd = NULL;
	r.append = NULL;
	expect(&r, "77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898");
	/* test_sev_with_ovmfx64_and_kernel_should_fail, test_sev_with_ovmfx64_without_kernel */
	r.ovmf = x;
	expect_refused(&r, "FIRMWARE_NO_KERNEL_HASHES");
	r.kernel = NULL;
	expect(&r, "b4c021e085fb83ceffe6571a3d357b4a98773c83c474e47f76c876708fe316da");
}

#define B "measure", "--mode=snp", "--ovmf=x", "--vcpus=1"
#define END ((const char *)NULL)

/* The measure command line, from a NULL-terminated list. */
static int mparse(struct meas_args *a, ...)
{
	char store[16][96];
	char *argv[17];
	const char *arg;
	va_list ap;
	int n = 0;

	va_start(ap, a);
	while ((arg = va_arg(ap, const char *)) && n < 16) {
		snprintf(store[n], sizeof(store[n]), "%s", arg);
		argv[n] = store[n];
		n++;
	}
	va_end(ap);
	argv[n] = NULL;
	return broker_measure_parse("measure", n, argv, false, a);
}

/* test_snp_svsm_4_vcpus, test_snp_svsm_2_vcpus: a real Coconut SVSM launch */
static void test_upstream_svsm_fixtures(void **state)
{
	const char *o = fixture("svsm_ovmf.fd"), *sv = fixture("svsm.bin");
	struct run r = { .mode = "snp:svsm", .ovmf = o, .svsm = sv, .vars_size = 540672,
			 .vcpu_type = "EPYC-v4", .vcpus = 4 };

	(void)state;
	REQUIRE_FIXTURES(o, sv);
	expect(&r, "27d154c27b7b359c935e250ec6fee72aa0ae8c1225e3b0e1cf46a9567e938066d7d6f94bbdc4a857"
		   "818bdb79277a44b2");
	r.vcpus = 2;
	expect(&r, "9b94745036aafddf4f7f8b00c7513abb5b7703178cb95aaa57928bd963d68d3bfcb715d6019b9167"
		   "ee2517b11b0d9be7");
}

/* An SVSM launch from built images, cross-checked with sev-snp-measure 0.0.13
 * on the same files; and its refusals. */
static void test_svsm_layout(void **state)
{
	struct fwspec o = amdsev_spec(1024 * 1024);
	struct fwspec sv = {
		.size = 64 * 1024,
		.eip = 0xfffffff0,
		.no_hashes = true,
		.svsm_info = true,
		.svsm_entry = 0x1000,
		.n = 3,
		.sec = { { 0x0, 0x9e000, 1 }, { 0x9e000, 0x1000, 2 }, { 0x9f000, 0x1000, 3 } },
	};
	struct run r = { .mode = "snp:svsm", .vcpu_type = "EPYC-Milan", .vcpus = 3,
			 .vars_size = 0x84000 };
	const char *keep = getenv("CCU_MEASURE_KEEP");

	(void)state;
	r.ovmf = fw_file(&o, "svsm-ovmf.fd");
	r.svsm = fw_file(&sv, "svsm.bin");
	if (keep && *keep) {
		char cmd[2048];

		snprintf(cmd, sizeof(cmd), "cp %s %s %s/", r.ovmf, r.svsm, keep);
		assert_int_equal(system(cmd), 0);
	}
	expect(&r, "67d99d6aa05c5d021df5ffc7a3415d6489c08e603ee79a61d805043dff3f5e2f3b5bb9107fe26f6c338f7458c4aa9efb");
	/* the SVSM must say where it starts, and sit below OVMF and its variables */
	sv.svsm_info = false;
	r.svsm = fw_file(&sv, "svsm-noinfo.bin");
	expect_refused(&r, "FIRMWARE_NO_RESET_BLOCK");
	sv.svsm_info = true;
	sv.sec[2] = (struct meas_section){ 0xffff0000, 0x1000, 3 }; /* in OVMF */
	r.svsm = fw_file(&sv, "svsm-overlap.bin");
	expect_refused(&r, "FIRMWARE_SECTION_OVERLAP");
	r.vars_size = 0x100000000ull;
	expect_refused(&r, "MEASURE_INPUT");
}

static bool exists(const char *dir, unsigned n)
{
	char p[700];
	struct stat st;

	snprintf(p, sizeof(p), "%s/vmsa%u.bin", dir, n);
	return stat(p, &st) == 0 && st.st_size == MEAS_PAGE;
}

static uint8_t *vmsa_file(const char *dir, unsigned n)
{
	char p[700];
	size_t len = 0;
	uint8_t *d;

	snprintf(p, sizeof(p), "%s/vmsa%u.bin", dir, n);
	d = tu_read(p, &len);
	assert_int_equal(len, MEAS_PAGE);
	return d;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* test_seves_dump_vmsa, test_snp_dump_vmsa, test_snp_svsm_dump_vmsa: one
 * file per measured VMSA, and no more; the APs' are identical, the BSP's
 * starts at the reset vector. */
static void test_upstream_dump_vmsa(void **state)
{
	struct fwspec s = amdsev_spec(4096);
	char d1[600], d2[600], d3[600];
	struct run r = { .mode = "seves", .vcpus = 4, .vcpu_type = "EPYC-v4",
			 .kernel = "/dev/null", .initrd = "/dev/null", .append = "" };
	uint8_t *b, *a1, *a3;

	(void)state;
	snprintf(d1, sizeof(d1), "%s/dump-seves", tmpdir);
	snprintf(d2, sizeof(d2), "%s/dump-snp", tmpdir);
	snprintf(d3, sizeof(d3), "%s/dump-svsm", tmpdir);
	assert_int_equal(mkdir(d1, 0700) | mkdir(d2, 0700) | mkdir(d3, 0700), 0);
	r.ovmf = fw_file(&s, "dump.fd");
	r.dump = d1;
	expect(&r, NULL);
	assert_true(exists(d1, 0) && exists(d1, 1) && exists(d1, 2) && exists(d1, 3));
	assert_false(exists(d1, 4));
	b = vmsa_file(d1, 0);
	a1 = vmsa_file(d1, 1);
	a3 = vmsa_file(d1, 3);
	assert_memory_equal(a1, a3, MEAS_PAGE);
	assert_int_equal(get64(b + 0x178), 0xfff0);	   /* BSP RIP */
	assert_int_equal(get64(b + 0x18), 0xffff0000);	   /* BSP CS base */
	assert_int_equal(get64(a1 + 0x178), 0xb004);	   /* AP RIP */
	assert_int_equal(get64(a1 + 0x18), 0x800000);	   /* AP CS base */
	assert_int_equal(get64(b + 0x310), 0x800f12);	   /* RDX: EPYC-v4 */
	assert_int_equal(get64(b + 0x3b0), 0);		   /* SEV-ES: no SEV_FEATURES */
	free(b);
	free(a1);
	free(a3);

	r.mode = "snp";
	r.vcpus = 1;
	r.features = 0x21;
	r.ovmf_hash = "cab7e085874b3acfdbe2d96dcaa3125111f00c35c6fc9708464c2ae74bfdb048a198cb9a9c"
		      "cae0b3e5e1a33f5f249819";
	r.dump = d2;
	expect(&r, NULL);
	assert_true(exists(d2, 0));
	assert_false(exists(d2, 1));
	b = vmsa_file(d2, 0);
	assert_int_equal(get64(b + 0x3b0), 0x21);
	free(b);

	{
		struct fwspec o = amdsev_spec(64 * 1024);
		struct fwspec sv = { .size = 16 * 1024, .no_hashes = true, .svsm_info = true,
				     .n = 1, .sec = { { 0x0, 0x1000, 3 } } };
		struct run rs = { .mode = "snp:svsm", .vcpu_type = "EPYC-v4", .vcpus = 2,
				  .vars_size = 540672, .dump = d3 };

		rs.ovmf = fw_file(&o, "dump-svsm-ovmf.fd");
		rs.svsm = fw_file(&sv, "dump-svsm.bin");
		expect(&rs, NULL);
		assert_true(exists(d3, 0) && exists(d3, 1));
		assert_false(exists(d3, 2));
	}
	/* SEV has no VMSA to dump */
	r = (struct run){ .mode = "sev", .ovmf = r.ovmf, .dump = d1 };
	expect_refused(&r, "MEASURE_INPUT");
}

/* tests/test_vcpu_types.py, test_cli.py (signature sources), test_sev_mode.py */
static void test_upstream_names(void **state)
{
	static const char *const modes[][2] = {
		{ "SEV", "sev" },     { "sev", "sev" },	    { "sev-es", "seves" },
		{ "seves", "seves" }, { "SEVES", "seves" }, { "SEV-ES", "seves" },
		{ "sev-snp", "snp" }, { "snp", "snp" },	    { "SEV-SNP", "snp" },
		{ "SNP", "snp" },
	};
	struct meas_args a;
	enum meas_mode m;
	uint32_t sig = 0;

	(void)state;
	assert_int_equal(meas_cpu_sig(14, 1, 2), 0x0e12);
	assert_int_equal(meas_cpu_sig(23, 1, 2), 0x800f12);
	assert_int_equal(meas_cpu_sig(25, 1, 1), 0xa00f11);
	assert_int_equal(meas_vcpu_type_sig("EPYC-Milan", &sig), 0);
	assert_int_equal(sig, 0xa00f11);
	assert_int_equal(meas_vcpu_type_sig("EPYC-Genoa", &sig), 0);
	assert_int_equal(sig, 0xa10f10);
	assert_int_equal(meas_vcpu_type_sig("EPYC-Turin", &sig), 0);
	assert_int_equal(sig, 0xb00f00);
	assert_int_equal(meas_vcpu_type_sig("EPYC-Rome-v3", &sig), 0);
	assert_int_equal(sig, 0x830f10);
	assert_int_equal(meas_vcpu_type_sig("host", &sig), -ENOENT);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		assert_int_equal(meas_mode_from_str(modes[i][0], &m), 0);
		assert_string_equal(meas_mode_name(m), modes[i][1]);
	}
	assert_int_equal(meas_mode_from_str("foo", &m), -EINVAL);

	/* --vcpu-sig 0 is a signature, not "missing" */
	assert_int_equal(mparse(&a, B, "--vcpu-sig=0", END), 0);
	assert_int_equal(a.in.vcpu_sig, 0);
	/* QEMU without any signature source is a usage error */
	assert_int_equal(mparse(&a, B, END), BROKER_EXIT_USAGE);
	/* ... but EC2 and GCE do not put it in the VMSA */
	assert_int_equal(mparse(&a, B, "--vmm=gce", END), 0);
	assert_int_equal(a.in.vmm, MEAS_VMM_GCE);
	assert_int_equal(mparse(&a, B, "--vcpu-type=EPYC-Milan", END), 0);
	assert_int_equal(a.in.vcpu_sig, 0xa00f11);
	assert_int_equal(mparse(&a, B, "--vcpu-family=25", "--vcpu-model=1", "--vcpu-stepping=1",
				END),
			 0);
	assert_int_equal(a.in.vcpu_sig, meas_cpu_sig(25, 1, 1));
	assert_int_equal(a.in.guest_features, 0x1);
	assert_int_equal(mparse(&a, B, "--vcpu-sig=0xA00F11", "--guest-features=0x21", END), 0);
	assert_int_equal(a.in.guest_features, 0x21);
	/* two signature sources, an unknown type, --append without --kernel,
	 * a short --ovmf-hash, a repeated option, vCPU options for SEV, SVSM */
	assert_int_equal(mparse(&a, B, "--vcpu-sig=1", "--vcpu-type=EPYC", END), BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, B, "--vcpu-type=host", END), BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, B, "--vcpu-type=EPYC", "--append=quiet", END),
			 BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, B, "--vcpu-type=EPYC", "--ovmf-hash=00", END),
			 BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, B, "--vcpu-type=EPYC", "--vcpus=2", END), BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, B, "--vcpu-type=EPYC", "--guest-features=x", END),
			 BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, "measure", "--mode=snp", "--ovmf=x", "--vcpus=0",
				"--vcpu-type=EPYC", END),
			 BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, "measure", "--mode=sev", "--ovmf=x", "--vcpus=1", END),
			 BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, "measure", "--mode=sev", "--ovmf=x", END), 0);
	assert_int_equal(mparse(&a, "measure", "--mode=snp:svsm", "--ovmf=x", END),
			 BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, "measure", "--mode=snp:svsm", "--ovmf=x", "--svsm=y",
				"--vars-size=540672", "--vcpus=2", "--vcpu-type=EPYC", END),
			 0);
	assert_int_equal(a.in.vars_size, 540672);
	assert_int_equal(mparse(&a, "measure", "--mode=snp:svsm", "--ovmf=x", "--svsm=y",
				"--vars-size=540672", "--vars-file=z", "--vcpus=2", "--vcpu-type=EPYC",
				END),
			 BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, "measure", "--mode=snp:svsm", "--ovmf=x", "--svsm=y",
				"--vars-size=540672", "--vcpus=2", "--vcpu-type=EPYC",
				"--guest-features=0x21", END),
			 BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, B, "--vcpu-type=EPYC", "--svsm=y", END), BROKER_EXIT_USAGE);
	assert_int_equal(mparse(&a, "measure", "--mode=snp:ovmf-hash", "--ovmf=x", END), 0);
	assert_int_equal(mparse(&a, "measure", "--mode=snp:ovmf-hash", "--ovmf=x", "--vcpus=1",
				END),
			 BROKER_EXIT_USAGE);
}

/* ------------------------------------------------------------ Debian's OVMF */

static void test_debian_ovmf(void **state)
{
	struct stat st;
	size_t n = 0;

	(void)state;
	if (stat(DEBIAN_UNIFIED, &st) != 0 || stat(DEBIAN_CODE, &st) != 0) {
		print_message("skip: Debian's ovmf package is not installed\n");
		skip();
	}
	for (size_t i = 0; i < ARRAY_SIZE(meas_debian_vectors); i++) {
		const struct meas_debian_vector *v = &meas_debian_vectors[i];
		struct run r = {
			.mode = v->mode,
			.ovmf = strcmp(v->file, "unified") == 0 ? DEBIAN_UNIFIED : DEBIAN_CODE,
			.vcpus = v->vcpus,
			.vcpu_type = v->vcpu_type,
			.vmm = v->vmm,
			.features = v->features,
		};

		expect(&r, v->digest);
		n++;
	}
	print_message("%zu Debian OVMF vectors\n", n);
	assert_true(n >= 150);
}

static void test_debian_refusals(void **state)
{
	struct stat st;
	struct run r = { .mode = "snp", .vcpus = 1, .vcpu_type = "EPYC-Milan" };

	(void)state;
	if (stat(DEBIAN_UNIFIED, &st) != 0 || stat(DEBIAN_CODE_4M, &st) != 0) {
		print_message("skip: Debian's ovmf package is not installed\n");
		skip();
	}
	/* The 4 MiB build has no SEV metadata: QEMU cannot launch it under SNP. */
	r.ovmf = DEBIAN_CODE_4M;
	expect_refused(&r, "FIRMWARE_NO_SEV_METADATA");
	/* The 2 MiB build is not an AmdSev build: no kernel hashes, in any mode. */
	r.ovmf = DEBIAN_UNIFIED;
	r.kernel = "/dev/null";
	expect_refused(&r, "FIRMWARE_NO_KERNEL_HASHES");
	r.mode = "seves";
	expect_refused(&r, "FIRMWARE_NO_KERNEL_HASHES");
	r.mode = "sev";
	expect_refused(&r, "FIRMWARE_NO_KERNEL_HASHES");
}

/* ------------------------------------------------------------ direct boot */

/* A 2 MiB firmware with the AmdSev layout, an 8 MiB kernel, a 3 MiB initrd;
 * expected digests computed by sev-snp-measure 0.0.13 from the same files
 * (set CCU_MEASURE_KEEP=DIR to write them out). */
static void gen_file(const char *path, size_t len, unsigned seed)
{
	uint8_t *d = malloc(len);

	assert_non_null(d);
	for (size_t i = 0; i < len; i++)
		d[i] = (uint8_t)((i * (2 * seed + 1)) ^ (i >> 9) ^ seed);
	write_file(path, d, len);
	free(d);
}

static void test_direct_boot(void **state)
{
	struct fwspec s = amdsev_spec(2u * 1024 * 1024);
	const char *fw = fw_file(&s, "amdsev-2m.fd"), *kernel = tmp_path("vmlinuz"),
		   *initrd = tmp_path("initrd.img"), *keep = getenv("CCU_MEASURE_KEEP");
	struct run r = { .mode = "snp", .ovmf = fw, .vcpus = 2, .vcpu_type = "EPYC-Genoa",
			 .features = 0x1, .kernel = kernel, .initrd = initrd,
			 .append = "root=/dev/mapper/root ro console=ttyS0" };
	struct meas_result res;
	struct ccu_reason why = { 0 };

	(void)state;
	gen_file(kernel, 8u * 1024 * 1024, 7);
	gen_file(initrd, 3u * 1024 * 1024 + 123, 11);
	if (keep && *keep) {
		char cmd[2048];

		snprintf(cmd, sizeof(cmd), "cp %s %s %s %s/", fw, kernel, initrd, keep);
		assert_int_equal(system(cmd), 0);
	}
	expect(&r, "ff8c764568b143f710b64d7edc750a0a020726ecd68813485f2c242b2caf724754840204f666e4f96704268199c5ad40");
	r.vcpus = 4;
	r.features = 0x21;
	r.vcpu_type = "EPYC-Milan";
	expect(&r, "7156fd745174f91d1ca095d2c8ac06c748d8e8a3a1b46971790deb121f16f0c770618e0d4742f089ba3db29add700f38");
	r.vmm = "ec2";
	expect(&r, "918311c15338b772a87323cf195235fd2a18c8714bf96feb4fd19025dc7618109cb5a49a3e6469a3c6775b80aace7caa");
	r.vmm = "qemu";
	r.mode = "seves";
	expect(&r, "5c3ad8b31811458f11c5f61705b992da4a04a2017e180bbfa4f95f9d87032be4");
	r.mode = "sev";
	expect(&r, "96a98b2db448589365ed1f79f4940c5a03ae8beb86befba98d41415dc73e95c0");
	/* the input hashes are reported */
	r.mode = "snp";
	assert_int_equal(compute(&r, &res, &why), 0);
	assert_true(res.has_kernel && res.has_ovmf_sha256);
	/* a different command line, initrd or kernel is a different measurement */
	r.append = "root=/dev/mapper/root ro console=ttyS0 rdinit=/bin/sh";
	assert_int_equal(compute(&r, &res, &why), 0);
	{
		char got[97];

		ccu_hex_encode(res.digest, 48, got, sizeof(got));
		assert_string_not_equal(got, "7156fd745174f91d1ca095d2c8ac06c748d8e8a3a1b46971790deb121f16f0c770618e0d4742f089ba3db29add700f38");
	}
	/* the initrd and kernel must be files we can read */
	r.initrd = tmp_path("missing");
	expect_refused(&r, "MEASURE_INPUT");
	r.initrd = tmpdir;
	expect_refused(&r, "MEASURE_INPUT");
}

/* ------------------------------------------------------------ malformed firmware */

static void refuse_spec(const struct fwspec *s, const char *mode, unsigned vcpus,
			const char *kernel, const char *code)
{
	struct run r = { .mode = mode, .vcpus = vcpus, .vcpu_type = "EPYC-v4", .kernel = kernel };

	r.ovmf = fw_file(s, "bad.fd");
	expect_refused(&r, code);
}

/* Patch @len bytes at @off from the end of a built image, then expect @code. */
static void refuse_patch(const struct fwspec *s, size_t off, const void *bytes, size_t len,
			 const char *code)
{
	uint8_t *fw = fw_build(s);
	struct meas_fw parsed;
	struct ccu_reason why = { 0 };
	size_t tail = s->size < MEAS_FW_TAIL ? s->size : MEAS_FW_TAIL;

	memcpy(fw + s->size - off, bytes, len);
	if (meas_fw_parse(fw + s->size - tail, tail, s->size, &parsed, &why) == 0)
		fail_msg("patch at -%zu accepted, expected %s", off, code);
	if (strcmp(why.code, code) != 0)
		fail_msg("patch at -%zu: %s (%s), expected %s", off, why.code, why.detail, code);
	free(fw);
}

static void test_malformed_size(void **state)
{
	struct fwspec s = amdsev_spec(4096);
	const char *p = tmp_path("short.fd");
	uint8_t *fw = fw_build(&s);
	struct run r = { .mode = "snp", .ovmf = p, .vcpus = 1, .vcpu_type = "EPYC-v4" };
	struct meas_fw parsed;

	(void)state;
	/* truncated: not whole pages, empty, a directory, missing */
	write_file(p, fw, 4000);
	expect_refused(&r, "FIRMWARE_SIZE");
	write_file(p, fw, 0);
	expect_refused(&r, "FIRMWARE_SIZE");
	r.ovmf = tmpdir;
	expect_refused(&r, "FIRMWARE_READ");
	r.ovmf = tmp_path("absent.fd");
	expect_refused(&r, "FIRMWARE_READ");
	/* too large (a sparse file) */
	{
		int fd = open(p, O_WRONLY | O_TRUNC);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, (off_t)MEAS_FW_MAX + MEAS_PAGE), 0);
		close(fd);
		r.ovmf = p;
		expect_refused(&r, "FIRMWARE_SIZE");
	}
	/* the pure parser's own checks */
	assert_int_equal(meas_fw_parse(fw, 4096, 8192, &parsed, NULL), -EINVAL);
	assert_int_equal(meas_fw_parse(fw, 4096, 4096, &parsed, NULL), 0);
	assert_int_equal(parsed.nsections, 7);
	assert_int_equal(parsed.reset_eip, 0x80b004);
	assert_int_equal(parsed.hashes_gpa, 0x810c00);
	free(fw);
}

static void test_malformed_table(void **state)
{
	struct fwspec s = amdsev_spec(4096);
	uint8_t b[4];

	(void)state;
	/* footer length below its own 18 bytes, and past the start of the file */
	p16(b, 17);
	refuse_patch(&s, FOOTER_AT, b, 2, "FIRMWARE_TABLE");
	p16(b, 0xffff);
	refuse_patch(&s, FOOTER_AT, b, 2, "FIRMWARE_TABLE");
	/* footer length that leaves stray bytes before the first entry */
	p16(b, 18 + 22 + 22 + 26 + 22 + 5);
	refuse_patch(&s, FOOTER_AT, b, 2, "FIRMWARE_TABLE");
	/* an entry length below 18, and one running past the table start */
	p16(b, 3);
	refuse_patch(&s, FOOTER_AT + 18, b, 2, "FIRMWARE_TABLE");
	p16(b, 200);
	refuse_patch(&s, FOOTER_AT + 18, b, 2, "FIRMWARE_TABLE");
	/* an entry we use, with the wrong length: the unknown entry (22 bytes)
	 * is first below the footer, then the metadata entry */
	{
		uint8_t *fw = fw_build(&s);
		struct meas_fw parsed;
		struct ccu_reason why = { 0 };
		size_t e = 4096 - FOOTER_AT;

		/* swap the unknown entry's GUID for the reset block's: data is 4
		 * bytes, so it parses, and then the real reset block repeats */
		memcpy(fw + e - 16, g_reset, 16);
		assert_int_equal(meas_fw_parse(fw, 4096, 4096, &parsed, &why), -EBADMSG);
		assert_string_equal(why.code, "FIRMWARE_TABLE");
		assert_non_null(strstr(why.detail, "twice"));
		/* the hashes entry holds 8 bytes: a metadata GUID on it is refused */
		free(fw);
		fw = fw_build(&s);
		memcpy(fw + e - 22 - 22 - 16, g_meta, 16);
		assert_int_equal(meas_fw_parse(fw, 4096, 4096, &parsed, &why), -EBADMSG);
		assert_string_equal(why.code, "FIRMWARE_TABLE");
		free(fw);
	}
	/* no footer GUID: no table, so no SEV metadata for SNP */
	s.no_table = true;
	refuse_spec(&s, "snp", 1, NULL, "FIRMWARE_NO_SEV_METADATA");
	refuse_spec(&s, "seves", 1, NULL, "FIRMWARE_NO_RESET_BLOCK");
	/* SEV measures no vCPU state: any firmware without a kernel will do */
	{
		struct run r = { .mode = "sev", .ovmf = fw_file(&s, "plain.fd") };
		struct meas_result res;
		struct ccu_reason why = { 0 };

		assert_int_equal(compute(&r, &res, &why), 0);
		assert_int_equal(res.digest_len, 32);
		assert_memory_equal(res.digest, res.ovmf_sha256, 32);
	}
}

static void test_malformed_metadata(void **state)
{
	struct fwspec s = amdsev_spec(4096);
	uint8_t b[4];

	(void)state;
	refuse_patch(&s, 0x554, "ASEW", 4, "FIRMWARE_METADATA");
	p32(b, 2);
	refuse_patch(&s, 0x554 - 8, b, 4, "FIRMWARE_METADATA"); /* version */
	p32(b, 0);
	refuse_patch(&s, 0x554 - 12, b, 4, "FIRMWARE_METADATA"); /* no sections */
	p32(b, 0xffffffffu);
	refuse_patch(&s, 0x554 - 12, b, 4, "FIRMWARE_METADATA"); /* huge count */
	p32(b, 65);
	refuse_patch(&s, 0x554 - 12, b, 4, "FIRMWARE_METADATA");
	p32(b, 16 + 12 * 7 + 1);
	refuse_patch(&s, 0x554 - 4, b, 4, "FIRMWARE_METADATA"); /* length */
	/* the metadata offset points outside the file, or into its last bytes */
	s.meta_off = 4097;
	refuse_spec(&s, "snp", 1, NULL, "FIRMWARE_METADATA");
	s.meta_off = 8;
	refuse_spec(&s, "snp", 1, NULL, "FIRMWARE_METADATA");
	/* a metadata block that runs past the end of the file */
	s.meta_off = 60;
	refuse_spec(&s, "snp", 1, NULL, "FIRMWARE_METADATA");
	/* a firmware whose table has no SEV metadata entry */
	s = amdsev_spec(4096);
	s.no_meta = true;
	refuse_spec(&s, "snp", 1, NULL, "FIRMWARE_NO_SEV_METADATA");
	/* no reset block: no vCPU can be described, even one */
	s = amdsev_spec(4096);
	s.no_reset = true;
	refuse_spec(&s, "snp", 1, NULL, "FIRMWARE_NO_RESET_BLOCK");
	/* a reset block with address 0: the BSP alone is fine, APs are not */
	s = amdsev_spec(4096);
	s.eip = 0;
	refuse_spec(&s, "snp", 2, NULL, "FIRMWARE_NO_RESET_BLOCK");
	{
		struct run r = { .mode = "snp", .ovmf = fw_file(&s, "eip0.fd"), .vcpus = 1,
				 .vcpu_type = "EPYC-v4" };
		struct meas_result res;

		assert_int_equal(compute(&r, &res, NULL), 0);
	}
}

static void test_malformed_sections(void **state)
{
	static const struct {
		struct meas_section sec;
		const char *code;
	} bad[] = {
		{ { 0x900000, 0x1000, 5 }, "FIRMWARE_SECTION" },	  /* unknown type */
		{ { 0x900000, 0x1000, 0 }, "FIRMWARE_SECTION" },	  /* unknown type */
		{ { 0x900800, 0x1000, 1 }, "FIRMWARE_SECTION" },	  /* misaligned */
		{ { 0x900000, 0x1800, 1 }, "FIRMWARE_SECTION" },	  /* part page */
		{ { 0x900000, 0, 1 }, "FIRMWARE_SECTION" },		  /* empty */
		{ { 0xfffff000, 0x2000, 1 }, "FIRMWARE_SECTION" },	  /* above 4 GiB */
		{ { 0x900000, 0x2000, 2 }, "FIRMWARE_SECTION" },	  /* secrets > 1 page */
		{ { 0x900000, 0x1000, 2 }, "FIRMWARE_SECTION" },	  /* second secrets page */
		{ { 0x900000, 0x1000, 3 }, "FIRMWARE_SECTION" },	  /* second CPUID page */
		{ { 0x900000, 0x1000, 0x10 }, "FIRMWARE_SECTION" },	  /* second hashes page */
		{ { 0x10000000, 0x10000000, 1 }, "FIRMWARE_SECTION" }, /* too many pages */
		{ { 0x808000, 0x1000, 1 }, "FIRMWARE_SECTION_OVERLAP" }, /* inside section 0 */
		{ { 0x7ff000, 0x2000, 4 }, "FIRMWARE_SECTION_OVERLAP" }, /* across its start */
		{ { 0xfffff000, 0x1000, 1 }, "FIRMWARE_SECTION_OVERLAP" }, /* the ROM itself */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct fwspec s = amdsev_spec(4096);

		s.sec[s.n++] = bad[i].sec;
		refuse_spec(&s, "snp", 1, NULL, bad[i].code);
	}
	/* kernel hashes: the table must sit in the SNP_KERNEL_HASHES page */
	{
		struct fwspec s = amdsev_spec(4096);

		s.hgpa = 0x811c00;
		refuse_spec(&s, "snp", 1, "/dev/null", "FIRMWARE_SECTION");
		s.hgpa = 0x810f80; /* the 176-byte table would cross the page end */
		refuse_spec(&s, "snp", 1, "/dev/null", "FIRMWARE_SECTION");
		s.hgpa = 0;
		refuse_spec(&s, "snp", 1, "/dev/null", "FIRMWARE_NO_KERNEL_HASHES");
		refuse_spec(&s, "sev", 1, "/dev/null", "FIRMWARE_NO_KERNEL_HASHES");
		s.no_hashes = true;
		refuse_spec(&s, "snp", 1, "/dev/null", "FIRMWARE_NO_KERNEL_HASHES");
		/* without a kernel the hashes page is a zero page: fine */
		{
			struct run r = { .mode = "snp", .ovmf = fw_file(&s, "nohash.fd"),
					 .vcpus = 1, .vcpu_type = "EPYC-v4" };
			struct meas_result res;

			assert_int_equal(compute(&r, &res, NULL), 0);
		}
	}
}

/* The firmware changing between the two reads is noticed: a FIFO is not a
 * regular file, and a file swapped under us shows in the tail comparison. */
static void test_inputs_checked(void **state)
{
	struct run r = { .mode = "snp", .ovmf = "/dev/null", .vcpus = 1, .vcpu_type = "EPYC-v4" };

	(void)state;
	expect_refused(&r, "FIRMWARE_READ");
	r.ovmf = tmp_path("fifo");
	assert_int_equal(mkfifo(r.ovmf, 0600), 0);
	expect_refused(&r, "FIRMWARE_READ");
	/* a FIFO as the kernel is refused without blocking on it */
	r.ovmf = fw_file(&(struct fwspec){ .size = 4096, .eip = 0x80b004, .hgpa = 0x810c00,
					    .hsize = 0x400, .n = 1,
					    .sec = { { 0x810000, 0x1000, 0x10 } } },
			 "one.fd");
	r.kernel = tmp_path("fifo");
	expect_refused(&r, "MEASURE_INPUT");
	r.kernel = "/dev/null";
	expect(&r, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream_snp_vectors_layout),
		cmocka_unit_test(test_upstream_vectors_fixtures),
		cmocka_unit_test(test_upstream_svsm_fixtures),
		cmocka_unit_test(test_svsm_layout),
		cmocka_unit_test(test_upstream_dump_vmsa),
		cmocka_unit_test(test_upstream_names),
		cmocka_unit_test(test_debian_ovmf),
		cmocka_unit_test(test_debian_refusals),
		cmocka_unit_test(test_direct_boot),
		cmocka_unit_test(test_malformed_size),
		cmocka_unit_test(test_malformed_table),
		cmocka_unit_test(test_malformed_metadata),
		cmocka_unit_test(test_malformed_sections),
		cmocka_unit_test(test_inputs_checked),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
