/* Evidence providers against fake trees and a fake ioctl: configfs-tsm
 * (entry life cycle, provider/privlevel/generation checks), /dev/sev-guest
 * (extended request, certificate buffer sizing, fallback), selection. */
#include "helpers/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include <linux/sev-guest.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "guest/certtable.h"
#include "guest/provider.h"
#include "snp/sim.h"

static struct snp_sim *sim;
static uint8_t *table;
static size_t table_len;
static struct ccu_reason rsn;

static int group_setup(void **state)
{
	struct snp_sim_params p;
	uint8_t *der = NULL;
	int n;
	(void)state;

	snp_sim_default_params(&p);
	if (snp_sim_create(&p, &sim, TU_FRESH(&rsn)) < 0)
		return -1;
	n = i2d_X509(snp_sim_vcek(sim), &der);
	size_t len = (size_t)n;
	const uint8_t *d[1] = { der };
	int r = guest_certtable_build(&guest_guid_vcek, d, &len, 1, &table,
				      &table_len);
	OPENSSL_free(der);
	return r;
}

static int group_teardown(void **state)
{
	(void)state;
	free(table);
	snp_sim_free(sim);
	return 0;
}

/* A signed report for @rd (VMPL @vmpl). */
static void make_report(const uint8_t rd[64], uint32_t vmpl, uint8_t out[SNP_REPORT_SIZE])
{
	struct snp_report r;

	snp_sim_report_template(sim, 5, rd, &r);
	r.vmpl = vmpl;
	assert_int_equal(snp_sim_sign(sim, &r, TU_FRESH(&rsn)), 0);
	memcpy(out, r.raw, SNP_REPORT_SIZE);
}

struct fake {
	char *dir;
	char cfg[512], dev[512];
	struct guest_roots roots;
	struct guest_seams seams;
	struct guest_provider_ctx ctx;
	uint8_t rd[64];
	/* configfs-tsm */
	const char *provider;
	const char *floor;
	bool with_aux;
	int gen_step;   /* generation increment per write (1 = honest) */
	unsigned gen;
	int mkdir_calls, rmdir_calls;
	size_t outblob_len;
	/* sev-guest */
	int ext_errno;	       /* error of SNP_GET_EXT_REPORT (0 = ok) */
	uint32_t need_len;     /* INVALID_LEN until certs_len >= need_len */
	uint32_t ask_len;      /* certs_len written back on INVALID_LEN */
	uint32_t fw_status;
	int ext_calls, plain_calls;
	bool wrong_rd;
};

static void write_file(const char *dir, const char *name, const void *d, size_t len)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(ccu_write_file_atomic(p, d, len, 0600), 0);
}

static void write_gen(struct fake *f, const char *dir)
{
	char g[32];

	snprintf(g, sizeof(g), "%u\n", f->gen);
	write_file(dir, "generation", g, strlen(g));
}

static int fake_mkdir(const char *path, void *ud)
{
	struct fake *f = ud;
	uint8_t rep[SNP_REPORT_SIZE];

	f->mkdir_calls++;
	if (mkdir(path, 0700) < 0)
		return -errno;
	write_file(path, "provider", f->provider, strlen(f->provider));
	if (f->floor)
		write_file(path, "privlevel_floor", f->floor, strlen(f->floor));
	write_file(path, "privlevel", "", 0);
	write_file(path, "inblob", "", 0);
	write_gen(f, path);
	make_report(f->rd, 0, rep);
	write_file(path, "outblob", rep, f->outblob_len);
	if (f->with_aux)
		write_file(path, "auxblob", table, table_len);
	return 0;
}

static int fake_rmdir(const char *path, void *ud)
{
	struct fake *f = ud;

	f->rmdir_calls++;
	tu_rmrf(path);
	return 0;
}

static void fake_written(const char *dir, const char *attr, void *ud)
{
	struct fake *f = ud;

	(void)attr;
	f->gen += (unsigned)f->gen_step;
	write_gen(f, dir);
}

static int fake_ioctl(int fd, unsigned long req, void *arg, void *ud)
{
	struct fake *f = ud;
	struct snp_guest_request_ioctl *io = arg;
	struct snp_report_resp *resp = (void *)(uintptr_t)io->resp_data;
	const uint8_t *user;
	uint8_t rd[64];

	assert_true(fd >= 0);
	assert_int_equal(io->msg_version, 1);
	if (req == SNP_GET_EXT_REPORT) {
		struct snp_ext_report_req *e = (void *)(uintptr_t)io->req_data;
		f->ext_calls++;
		assert_int_equal(e->certs_len % 4096, 0);
		assert_int_equal(e->certs_address % 4096, 0);
		if (f->ext_errno)
			return -f->ext_errno;
		if (e->certs_len < f->need_len) {
			e->certs_len = f->ask_len ? f->ask_len : f->need_len;
			io->exitinfo2 = (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN << 32;
			return -EIO;
		}
		memcpy((void *)(uintptr_t)e->certs_address, table, table_len);
		user = e->data.user_data;
	} else if (req == SNP_GET_REPORT) {
		struct snp_report_req *p = (void *)(uintptr_t)io->req_data;
		f->plain_calls++;
		user = p->user_data;
	} else {
		return -ENOTTY;
	}
	memcpy(rd, user, 64);
	if (f->wrong_rd)
		rd[0] ^= 1;
	memset(resp, 0, sizeof(*resp));
	resp->data[0] = (uint8_t)f->fw_status;
	resp->data[4] = SNP_REPORT_SIZE & 0xff;
	resp->data[5] = SNP_REPORT_SIZE >> 8;
	make_report(rd, 0, resp->data + 0x20);
	return 0;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	snprintf(f->cfg, sizeof(f->cfg), "%s/cfg", f->dir);
	snprintf(f->dev, sizeof(f->dev), "%s/dev", f->dir);
	mkdir(f->cfg, 0755);
	mkdir(f->dev, 0755);
	f->roots = (struct guest_roots){ "/nonexistent", f->dev, f->cfg, "/nonexistent",
					 "/nonexistent" };
	f->seams = (struct guest_seams){ fake_ioctl, fake_mkdir, fake_rmdir, fake_written, f, NULL,
					 NULL, NULL };
	f->ctx = (struct guest_provider_ctx){ .roots = &f->roots, .seams = &f->seams,
					      .tsm_entry = "test0" };
	for (int i = 0; i < 64; i++)
		f->rd[i] = (uint8_t)(i * 7);
	f->provider = "sev_guest\n";
	f->floor = "0\n";
	f->gen_step = 1;
	f->gen = 5;
	f->outblob_len = SNP_REPORT_SIZE;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void mk_tsm(struct fake *f)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/tsm/report", f->cfg);
	mkdir(strcat(strcpy((char[600]){ 0 }, f->cfg), "/tsm"), 0755);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int get(struct fake *f, const struct guest_provider *p, struct guest_evidence *ev)
{
	memset(&rsn, 0, sizeof(rsn));
	return guest_provider_get(p, &f->ctx, f->rd, ev, TU_FRESH(&rsn));
}

static void test_tsm_ok(void **state)
{
	struct fake *f = *state;
	struct guest_evidence ev;
	char p[600];
	uint8_t *in;
	size_t len;

	assert_int_equal(guest_provider_tsm.available(&f->ctx), 0);
	mk_tsm(f);
	assert_int_equal(guest_provider_tsm.available(&f->ctx), 1);
	f->with_aux = true;
	assert_int_equal(get(f, &guest_provider_tsm, &ev), 0);
	assert_int_equal(ev.certtable_len, table_len);
	assert_memory_equal(ev.certtable, table, table_len);
	assert_memory_equal(ev.report + 0x50, f->rd, 64);
	assert_int_equal(f->mkdir_calls, 1);
	assert_int_equal(f->rmdir_calls, 1);
	guest_evidence_done(&ev);
	/* The entry is gone. */
	snprintf(p, sizeof(p), "%s/tsm/report/test0", f->cfg);
	assert_int_equal(access(p, F_OK), -1);

	/* What was written: privlevel 0 and exactly the 64 bytes. */
	f->seams.tsm_rmdir = NULL; /* the real rmdir fails on a non-empty directory */
	assert_true(get(f, &guest_provider_tsm, &ev) < 0);
	assert_string_equal(rsn.code, "TSM_IO");
	snprintf(p, sizeof(p), "%s/tsm/report/test0/inblob", f->cfg);
	assert_int_equal(ccu_read_file(p, 1024, &in, &len), 0);
	assert_int_equal(len, 64);
	assert_memory_equal(in, f->rd, 64);
	free(in);
	snprintf(p, sizeof(p), "%s/tsm/report/test0/privlevel", f->cfg);
	assert_int_equal(ccu_read_file(p, 1024, &in, &len), 0);
	assert_string_equal((char *)in, "0\n");
	free(in);
}

static void test_tsm_no_aux_means_no_table(void **state)
{
	struct fake *f = *state;
	struct guest_evidence ev;

	mk_tsm(f);
	assert_int_equal(get(f, &guest_provider_tsm, &ev), 0);
	assert_null(ev.certtable);
	assert_int_equal(ev.certtable_len, 0);
	guest_evidence_done(&ev);
	/* An older kernel without privlevel_floor is fine. */
	f->floor = NULL;
	assert_int_equal(get(f, &guest_provider_tsm, &ev), 0);
	guest_evidence_done(&ev);
}

static void test_tsm_refusals(void **state)
{
	struct fake *f = *state;
	struct guest_evidence ev;

	mk_tsm(f);
	f->provider = "tdx_guest\n";
	assert_int_equal(get(f, &guest_provider_tsm, &ev), -ENODEV);
	assert_string_equal(rsn.code, "TSM_PROVIDER");
	assert_int_equal(f->rmdir_calls, 1); /* removed on every path */
	f->provider = "sev_guest\n";

	f->floor = "2\n";
	assert_int_equal(get(f, &guest_provider_tsm, &ev), -EPERM);
	assert_string_equal(rsn.code, "TSM_PRIVLEVEL");
	f->floor = "0\n";

	f->gen_step = 2; /* someone else wrote in between */
	assert_int_equal(get(f, &guest_provider_tsm, &ev), -EBUSY);
	assert_string_equal(rsn.code, "TSM_CONCURRENT");
	f->gen_step = 1;

	f->outblob_len = SNP_REPORT_SIZE - 1;
	assert_int_equal(get(f, &guest_provider_tsm, &ev), -EBADMSG);
	assert_string_equal(rsn.code, "TSM_REPORT");
	f->outblob_len = SNP_REPORT_SIZE;

	/* A report for other REPORT_DATA (a stale or foreign outblob). */
	f->rd[0] ^= 0xff;
	uint8_t asked[64];
	memcpy(asked, f->rd, 64);
	f->rd[0] ^= 0xff;
	memset(&rsn, 0, sizeof(rsn));
	assert_int_equal(guest_provider_get(&guest_provider_tsm, &f->ctx, asked, &ev, TU_FRESH(&rsn)),
			 -EBADMSG);
	assert_string_equal(rsn.code, "EVIDENCE_REPORT");
	assert_int_equal(f->rmdir_calls, 5);
}

static void mk_dev(struct fake *f)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/sev-guest", f->dev);
	assert_int_equal(ccu_write_file_atomic(p, "", 0, 0600), 0);
}

static void test_sevguest_ext(void **state)
{
	struct fake *f = *state;
	struct guest_evidence ev;

	assert_int_equal(guest_provider_sevguest.available(&f->ctx), 0);
	mk_dev(f);
	assert_int_equal(guest_provider_sevguest.available(&f->ctx), 1);
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), 0);
	assert_int_equal(f->ext_calls, 1);
	assert_int_equal(f->plain_calls, 0);
	/* The page padding is cut at the end of the table's payloads. */
	assert_int_equal(ev.certtable_len, table_len);
	assert_memory_equal(ev.certtable, table, table_len);
	guest_evidence_done(&ev);
}

static void test_sevguest_invalid_len_retry(void **state)
{
	struct fake *f = *state;
	struct guest_evidence ev;

	mk_dev(f);
	f->need_len = 5 * 4096;
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), 0);
	assert_int_equal(f->ext_calls, 2);
	guest_evidence_done(&ev);

	/* A size that is no page multiple, or absurdly large, is refused. */
	f->ext_calls = 0;
	f->ask_len = 5 * 4096 + 1;
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), -EIO);
	assert_string_equal(rsn.code, "SEVGUEST_CERTS");
	f->need_len = 1024 * 1024;
	f->ask_len = 1024 * 1024;
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), -EIO);
	assert_string_equal(rsn.code, "SEVGUEST_CERTS");
	/* A host that asks again for a size it already got: refused, not looped. */
	f->need_len = 100 * 4096;
	f->ask_len = 8 * 4096;
	f->ext_calls = 0;
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), -EIO);
	assert_string_equal(rsn.code, "SEVGUEST_CERTS");
	assert_int_equal(f->ext_calls, 2);
}

static void test_sevguest_fallback_and_errors(void **state)
{
	struct fake *f = *state;
	struct guest_evidence ev;

	mk_dev(f);
	f->ext_errno = ENOTTY;
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), 0);
	assert_int_equal(f->plain_calls, 1);
	assert_null(ev.certtable);
	guest_evidence_done(&ev);

	f->ext_errno = EIO; /* a firmware error: no fallback (the driver wiped the VMPCK) */
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), -EIO);
	assert_string_equal(rsn.code, "SEVGUEST_IOCTL");
	f->ext_errno = 0;

	f->fw_status = 0x16;
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), -EIO);
	assert_string_equal(rsn.code, "SEVGUEST_FIRMWARE");
	f->fw_status = 0;

	f->wrong_rd = true;
	assert_int_equal(get(f, &guest_provider_sevguest, &ev), -EBADMSG);
	assert_string_equal(rsn.code, "EVIDENCE_REPORT");
}

static void test_select(void **state)
{
	struct fake *f = *state;
	const struct guest_provider *const list[] = { &guest_provider_tsm, &guest_provider_sevguest,
						      &guest_provider_sim };
	const struct guest_build b = { "test", true, list, 3, NULL };
	const struct guest_build rel = { "release", false, list, 2, NULL };
	const struct guest_provider *p = NULL;

	assert_int_equal(guest_provider_select(&b, &f->ctx, "auto", &p, TU_FRESH(&rsn)), -ENODEV);
	assert_string_equal(rsn.code, "EVIDENCE_UNAVAILABLE");
	mk_dev(f);
	assert_int_equal(guest_provider_select(&b, &f->ctx, "auto", &p, TU_FRESH(&rsn)), 0);
	assert_ptr_equal(p, &guest_provider_sevguest);
	mk_tsm(f);
	assert_int_equal(guest_provider_select(&b, &f->ctx, "auto", &p, TU_FRESH(&rsn)), 0);
	assert_ptr_equal(p, &guest_provider_tsm);
	assert_int_equal(guest_provider_select(&b, &f->ctx, "sev-guest", &p, TU_FRESH(&rsn)), 0);
	assert_ptr_equal(p, &guest_provider_sevguest);
	/* The simulator needs its directory, and a release table does not have it. */
	assert_int_equal(guest_provider_select(&b, &f->ctx, "simulator", &p, TU_FRESH(&rsn)), -ENODEV);
	assert_int_equal(guest_provider_select(&rel, &f->ctx, "simulator", &p, TU_FRESH(&rsn)), -ENODEV);
	assert_string_equal(rsn.code, "EVIDENCE_UNAVAILABLE");
}

static void test_simulator_provider(void **state)
{
	struct fake *f = *state;
	struct guest_config cfg;
	struct guest_evidence ev;
	struct snp_report r;
	char d[600];
	STACK_OF(X509) *sk = NULL;

	snprintf(d, sizeof(d), "%s/sim", f->dir);
	assert_int_equal(snp_sim_save(sim, d, TU_FRESH(&rsn)), 0);
	guest_config_defaults(&cfg);
	cfg.simulator_dir = d;
	cfg.has_sim_policy = true;
	cfg.sim_policy = 0x70000;
	cfg.has_sim_measurement = true;
	memset(cfg.sim_measurement, 0xab, 48);
	f->ctx.cfg = &cfg;
	assert_int_equal(guest_provider_sim.available(&f->ctx), 1);
	assert_int_equal(get(f, &guest_provider_sim, &ev), 0);
	assert_int_equal(snp_report_parse(ev.report, SNP_REPORT_SIZE, &r, TU_FRESH(&rsn)), 0);
	assert_int_equal(r.policy, 0x70000);
	assert_int_equal(r.measurement[0], 0xab);
	assert_memory_equal(r.report_data, f->rd, 64);
	assert_int_equal(guest_certtable_parse(ev.certtable, ev.certtable_len, &sk, TU_FRESH(&rsn)), 0);
	assert_int_equal(sk_X509_num(sk), 3);
	sk_X509_pop_free(sk, X509_free);
	guest_evidence_done(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tsm_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tsm_no_aux_means_no_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tsm_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sevguest_ext, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sevguest_invalid_len_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sevguest_fallback_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simulator_provider, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
