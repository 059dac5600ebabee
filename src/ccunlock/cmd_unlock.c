/* unlock and keyscript: config, command line, posture, token, attest, open. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ccunlock/cli.h"
#include "ccunlock/exitcodes.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/secmem.h"
#include "common/util.h"
#include "guest/certtable.h"
#include "guest/cmdline.h"
#include "guest/kbs_client.h"
#include "guest/luks.h"
#include "guest/payload.h"
#include "kbs/initdata.h"
#include "common/codec.h"
#include "snp/describe.h"
#include "snp/evidence.h"
#include "snp/report.h"

struct evidence_ud {
	const struct guest_provider *p;
	const struct guest_provider_ctx *ctx;
};

/* What the firmware says about this VM, for the console: the broker decides
 * on the same report. */
static void log_evidence(const char *provider, const uint8_t raw[SNP_REPORT_SIZE], int ncerts)
{
	struct snp_report rep;
	struct snp_tcb t;
	char tcb[80], fw[16], meas[97];
	enum snp_product p;

	if (snp_report_parse(raw, SNP_REPORT_SIZE, &rep, NULL) < 0) {
		log_notice("evidence: %s report (does not parse; the broker will say why)", provider);
		return;
	}
	p = snp_report_product(&rep);
	(void)snp_tcb_decode(rep.reported_tcb, p, &t);
	ccu_hex_encode(rep.measurement, sizeof(rep.measurement), meas, sizeof(meas));
	log_notice("evidence: %s report v%u, %s, firmware %s, reported TCB %s, guest policy 0x%llx, "
		   "measurement %.24s..., %d host certificate(s)",
		   provider, rep.version, snp_product_name(p),
		   snp_fw_format(&rep.current, fw, sizeof(fw)), snp_tcb_format(&t, tcb, sizeof(tcb)),
		   (unsigned long long)rep.policy, meas, ncerts);
}

/* KBS client callback: report + host certificates -> primary_evidence. */
static int make_evidence(void *ud, const uint8_t report_data[64], json_t **ret,
			 struct ccu_reason *err)
{
	struct evidence_ud *e = ud;
	struct guest_evidence ev;
	STACK_OF(X509) *certs = NULL;
	struct guest_certtable_other others[GUEST_CERTTABLE_MAX_ENTRIES];
	size_t n_others = 0;
	int r;

	if (e->p->get_json) {
		r = e->p->get_json(e->ctx, report_data, ret, err);
		if (r == 0)
			log_notice("evidence: %s (%s: HCL report and vTPM quote)", e->p->name,
				   e->p->tee);
		return r;
	}
	r = guest_provider_get(e->p, e->ctx, report_data, &ev, err);
	if (r < 0)
		return r;
	r = guest_certtable_parse_all(ev.certtable, ev.certtable_len, &certs, others, &n_others,
				      err);
	if (r == 0) {
		log_evidence(e->p->name, ev.report, certs ? sk_X509_num(certs) : 0);
		*ret = snp_evidence_build(ev.report, certs);
		if (!*ret || guest_certtable_add_others(*ret, others, n_others) < 0)
			r = ccu_fail(err, -ENOMEM, "INTERNAL", "out of memory");
	}
	sk_X509_pop_free(certs, X509_free);
	guest_evidence_done(&ev);
	return r;
}

/* The configured init-data document, checked as the broker will check it;
 * its digest is what the host must have put in HOST_DATA. */
static int load_init_data(struct cli *c, const char *path, uint8_t **ret)
{
	struct kbs_initdata d;
	struct ccu_reason why = { 0 };
	char hex[2 * KBS_DIGEST_MAX + 1];
	uint8_t *text = NULL;
	size_t len;
	int r = ccu_read_file(path, KBS_INITDATA_MAX + 1, &text, &len);

	if (r == -EFBIG)
		return ccu_fail(&c->why, -EINVAL, "CONFIG_VALUE", "init_data %s: longer than %d bytes",
				path, KBS_INITDATA_MAX);
	if (r < 0)
		return ccu_fail(&c->why, r, "CONFIG_IO", "init_data %s: %s", path, strerror(-r));
	if (len > KBS_INITDATA_MAX || memchr(text, 0, len)) {
		free(text);
		return ccu_fail(&c->why, -EINVAL, "CONFIG_VALUE",
				"init_data %s: longer than %d bytes or contains NUL", path,
				KBS_INITDATA_MAX);
	}
	r = kbs_initdata_parse((const char *)text, len, &d, &why);
	free(r < 0 ? text : NULL);
	if (r < 0)
		/* the image's own file: a configuration error (exit 3) */
		return ccu_fail(&c->why, -EINVAL, "CONFIG_VALUE", "init_data %s: %s", path,
				why.detail);
	ccu_hex_encode(d.host_data, sizeof(d.host_data), hex, sizeof(hex));
	log_info("init-data %s: %s, HOST_DATA must be %s", path, kbs_hash_alg_name(d.alg), hex);
	*ret = text; /* ccu_read_file NUL-terminates */
	return 0;
}

/* The kernel command line: may only make things stricter. */
static int apply_cmdline(struct cli *c, struct guest_config *cfg)
{
	_cleanup_free_ uint8_t *text = NULL;
	struct guest_cmdline cl;
	struct guest_cmdline_opts o;
	size_t len;
	int r;

	r = ccu_read_file(c->roots.cmdline, GUEST_CMDLINE_MAX, &text, &len);
	if (r < 0)
		return ccu_fail(&c->why, r, "CMDLINE_IO", "%s: %s", c->roots.cmdline, strerror(-r));
	r = guest_cmdline_split((const char *)text, len, &cl, &c->why);
	if (r < 0)
		return r;
	r = guest_cmdline_judge(&cl, guest_build_test_hooks(c->build), &o, &c->why);
	guest_cmdline_done(&cl);
	if (r < 0)
		return r;
	r = guest_cmdline_apply(&o, cfg, &c->why);
	if (r < 0)
		return r;
	if (o.debug)
		log_set_level(CCU_LOG_DEBUG);
	return 0;
}

static int find_device(struct cli *c, const struct guest_config *cfg, const char *arg,
		       char *buf, size_t len)
{
	const char *spec = arg ? arg : cfg->device;

	if (spec)
		return guest_luks_resolve(spec, c->roots.dev, buf, len, &c->why);
	return guest_luks_scan(c->roots.sysfs, c->roots.dev, buf, len, &c->why);
}

struct unlock_opts {
	bool test;
	bool keyscript;
	const char *device;
	const char *name;
};

/* The console line says whether the header was pinned at enrolment. */
static void log_opened(const char *device, const struct guest_luks_copy *hc, bool pinned,
		       const char *name)
{
	char pin[GUEST_LUKS_PIN_HEX_LEN];

	guest_luks_pin_hex(hc->hdr.pin, pin);
	log_notice("%s: keyslot %d %s; LUKS2 header %s %.16s...", device, hc->hdr.keyslot,
		   name ? "unlocked" : "verified (--test, not activated)",
		   pinned ? "pinned at enrolment, matches" :
			    "NOT pinned (plain key resource): template checks only, digest",
		   pin);
}

/* For `ccunlock status` on the booted system (/run survives the hand-over):
 * "pinned HEX" or "unpinned HEX". Not a secret; a failure only warns. */
static void leave_header_state(struct cli *c, const struct guest_luks_copy *hc, bool pinned)
{
	char path[GUEST_PATH_MAX], pin[GUEST_LUKS_PIN_HEX_LEN], line[GUEST_LUKS_PIN_HEX_LEN + 16];
	int n, r;

	guest_luks_pin_hex(hc->hdr.pin, pin);
	n = snprintf(line, sizeof(line), "%s %s\n", pinned ? "pinned" : "unpinned", pin);
	if (mkdir(c->rundir, 0755) < 0 && errno != EEXIST) {
		log_warning("%s: %s (status will not know the header state)", c->rundir,
			    strerror(errno));
		return;
	}
	r = guest_path(path, sizeof(path), c->rundir, GUEST_LUKS_STATE_NAME);
	if (r == 0)
		r = ccu_write_file_atomic(path, line, (size_t)n, 0644);
	if (r < 0)
		log_warning("%s/%s: %s", c->rundir, GUEST_LUKS_STATE_NAME, strerror(-r));
}

/*
 * The checked copy, for the build-time passphrase fallback (FALLBACK_PROMPT=yes):
 * it opens with `cryptsetup --header` on this file (in the guest's memory),
 * never with the header on the disk. Absent when the header was refused.
 */
static void checked_copy_path(struct cli *c, char *buf, size_t len)
{
	if (guest_path(buf, len, c->rundir, GUEST_LUKS_CHECKED_COPY_NAME) < 0)
		buf[0] = '\0';
}

static void leave_checked_copy(struct cli *c, const struct guest_luks_copy *hc)
{
	char path[GUEST_PATH_MAX];
	int r;

	checked_copy_path(c, path, sizeof(path));
	if (!path[0] || (mkdir(c->rundir, 0755) < 0 && errno != EEXIST))
		return;
	r = ccu_write_file_atomic(path, hc->buf, hc->len, 0600);
	if (r < 0)
		log_warning("%s: %s (a fallback prompt would have no checked header)", path,
			    strerror(-r));
}

static void drop_checked_copy(struct cli *c)
{
	char path[GUEST_PATH_MAX];

	checked_copy_path(c, path, sizeof(path));
	if (path[0])
		(void)unlink(path);
}

static int run(struct cli *c, const struct unlock_opts *o)
{
	struct guest_config cfg;
	struct guest_posture pos;
	struct guest_luks_copy hc = { .memfd = -1 };
	struct guest_payload pl;
	const struct guest_provider *prov = NULL;
	char device[GUEST_PATH_MAX];
	_cleanup_secmem_ uint8_t *key = NULL;
	_cleanup_free_ uint8_t *init_data = NULL;
	size_t key_len = 0;
	int r;

	r = cli_load_config(c, true, &cfg);
	if (r < 0)
		return cli_fail(c);
	r = apply_cmdline(c, &cfg);
	if (r < 0)
		goto fail;
	if (o->keyscript) {
		/* cryptsetup would open the disk with the header it reads itself: never
		 * the copy checked here. */
		ccu_reason_set(&c->why, "LUKS_HEADER_REFUSED",
			       "keyscript mode: cryptsetup would open %s from the disk's own, "
			       "unchecked LUKS2 header; let ccunlock unlock it (drop "
			       "keyscript=ccunlock-keyscript from crypttab)",
			       o->device ? o->device : "the device");
		goto fail;
	}
	if (!o->test)
		drop_checked_copy(c);
	/* The header is read once (no network yet); everything below uses this
	 * checked copy. */
	r = find_device(c, &cfg, o->device, device, sizeof(device));
	if (r < 0)
		goto fail;
	r = guest_luks_copy_read(device, &hc, &c->why);
	if (r == 0)
		r = guest_luks_copy_check(&hc, -1, 0, &c->why);
	if (r < 0)
		goto fail;
	if (!o->test)
		leave_checked_copy(c, &hc);
	/* Posture before anything touches the network. */
	cli_posture(c, &cfg, &pos);
	struct guest_provider_ctx pctx = { .roots = &c->roots, .cfg = &cfg,
					   .azure_sim = c->build->azure_sim };
	r = guest_posture_check(&pos, cfg.require, cfg.require_secure_boot, &c->why);
	if (r < 0)
		goto fail;
	{
		char line[160];

		/* The console is often the owner's only view of a boot. */
		log_notice("posture: %s", guest_posture_line(&pos, line, sizeof(line)));
	}
	r = guest_provider_select(c->build, &pctx, cfg.evidence, &prov, &c->why);
	if (r < 0)
		goto fail;
	log_info("evidence provider: %s", prov->name);
	const struct guest_token *tok = &hc.hdr.token;
	log_info("%s: keyslot %d, resource %s", device, tok->keyslot, tok->resource_str);

	if (cfg.init_data) {
		r = load_init_data(c, cfg.init_data, &init_data);
		if (r < 0)
			goto fail;
	}
	struct evidence_ud eud = { .p = prov, .ctx = &pctx };
	struct guest_kbs k = {
		.url = cfg.broker_url,
		.more_urls = (const char *const *)cfg.more_brokers,
		.n_more_urls = cfg.n_more_brokers,
		.ca_file = cfg.broker_ca,
		.deadline_ms = c->start_ms + (uint64_t)cfg.deadline * 1000,
		.evidence = make_evidence,
		.evidence_ud = &eud,
		.tee = prov->tee,
		.init_data = (const char *)init_data,
	};
	r = guest_kbs_fetch(&k, &tok->resource, &key, &key_len, &c->why);
	if (r < 0)
		goto fail;
	r = guest_payload_parse(key, key_len, &pl, &c->why);
	if (r < 0)
		goto fail;
	if (!pl.pinned && cfg.require_header_pin) {
		ccu_reason_set(&c->why, "LUKS_HEADER_REFUSED",
			       "%s: resource %s carries no header pin and require_header_pin = yes "
			       "(re-enrol with --rotate)",
			       device, tok->resource_str);
		goto fail;
	}
	/* Before activation: the header must be the one enrolled. */
	r = guest_luks_copy_pin(&hc, pl.pinned ? pl.pin : NULL, &c->why);
	if (r < 0)
		goto fail;
	const char *name = o->test ? NULL : (o->name ? o->name : cfg.name);
	r = guest_luks_copy_open(&hc, name, pl.key, pl.key_len, &c->why);
	if (r < 0)
		goto fail;
	log_opened(device, &hc, pl.pinned, name);
	if (name) {
		leave_header_state(c, &hc, pl.pinned);
		drop_checked_copy(c);
	}
	guest_luks_copy_done(&hc);
	guest_config_done(&cfg);
	return CCU_EXIT_OK;
fail:
	/* a pin mismatch: the copy is not the enrolled header, no prompt may open it */
	if (!o->test && strcmp(c->why.code, "LUKS_HEADER_REFUSED") == 0)
		drop_checked_copy(c);
	guest_luks_copy_done(&hc);
	guest_config_done(&cfg);
	return cli_fail(c);
}

int cmd_unlock(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "test", no_argument, NULL, 't' }, { 0 } };
	struct unlock_opts o = { 0 };
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 't') {
			ccu_reason_set(&c->why, "USAGE", "unlock [--test] [DEVICE NAME]");
			return cli_fail(c);
		}
		o.test = true;
	}
	if (argc - optind != 0 && argc - optind != 2) {
		ccu_reason_set(&c->why, "USAGE", "unlock [--test] [DEVICE NAME]");
		return cli_fail(c);
	}
	if (argc - optind == 2) {
		o.device = argv[optind];
		o.name = argv[optind + 1];
		/* The same rule as the config's `name`: a device-mapper name, no path. */
		if (strlen(o.name) > GUEST_NAME_MAX || o.name[0] == '.' ||
		    !ccu_str_only(o.name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789_.-+")) {
			ccu_reason_set(&c->why, "USAGE",
				       "NAME: 1..127 of [A-Za-z0-9_.+-], not starting with '.'");
			return cli_fail(c);
		}
	}
	return run(c, &o);
}

int cmd_keyscript(struct cli *c, int argc, char **argv)
{
	struct unlock_opts o = { .keyscript = true };

	(void)argv;
	if (argc != 1) {
		ccu_reason_set(&c->why, "USAGE", "keyscript takes no arguments");
		return cli_fail(c);
	}
	/* cryptsetup-initramfs names the device it wants a key for. */
	o.device = getenv("CRYPTTAB_SOURCE");
	if (o.device && o.device[0] == '\0')
		o.device = NULL;
	return run(c, &o);
}
