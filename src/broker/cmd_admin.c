/*
 * Operator commands on the broker's state, run on the broker host:
 *
 *   ccunlock-kbs init [--config FILE]
 *   ccunlock-kbs resource put PATH --policy NAME (--file FILE | --stdin | --random N)
 *   ccunlock-kbs resource get-meta|delete PATH ; resource list
 *   ccunlock-kbs policy set NAME FILE ; policy show|delete NAME ; policy list
 *   ccunlock-kbs policy measure NAME [measure options]
 *   ccunlock-kbs admin-keygen --out PREFIX
 *   ccunlock-kbs admin-token --key FILE [--lifetime N] [--reusable]
 *
 * All take --config FILE (default /etc/ccunlock-kbs/broker.conf) where they
 * need the configuration. Secrets come from files, stdin or the CSPRNG, never
 * from argv. Changes are audited like admin API calls (peer "cli").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "broker/audit.h"
#include "broker/cli.h"
#include "broker/config.h"
#include "broker/store.h"
#include "common/codec.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "kbs/jwt.h"
#include "snp/policy.h"

#define ADMIN_KEY_FILE_MAX (16 * 1024)
#define ADMIN_TOKEN_DEFAULT_LIFETIME 300

struct opts {
	const char *config;
	const char *policy;
	const char *file;
	const char *out;
	const char *key;
	bool stdin_;
	bool reusable;
	unsigned long random;
	unsigned long lifetime;
	int npos;
	const char *pos[3];
};

static int usage(const char *cmd, const char *fmt, ...) _printf_(2, 3);
static int usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ccunlock-kbs %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see ccunlock-kbs %s --help)\n", cmd);
	return BROKER_EXIT_USAGE;
}

static int fail(const char *cmd, const struct ccu_reason *why)
{
	fprintf(stderr, "ccunlock-kbs %s: %s: %s\n", cmd, why->code, why->detail);
	return BROKER_EXIT_FAILURE;
}

/* Strict option parsing shared by the commands; @allowed lists the long
 * options this command takes (by their short letter). Returns 0, -1 for
 * --help (usage printed), or an exit status. */
static int parse(const char *cmd, int argc, char **argv, const char *allowed, int maxpos,
		 const char *help, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' }, { "policy", required_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'f' },   { "stdin", no_argument, NULL, 's' },
		{ "random", required_argument, NULL, 'r' }, { "out", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },    { "lifetime", required_argument, NULL, 'l' },
		{ "reusable", no_argument, NULL, 'u' },	    { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->config = BROKER_DEFAULT_CONFIG;
	o->lifetime = ADMIN_TOKEN_DEFAULT_LIFETIME;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'h') {
			printf("%s", help);
			return -1;
		}
		if (c == '?' || c == ':' || !strchr(allowed, c))
			return usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'p':
			o->policy = optarg;
			break;
		case 'f':
			o->file = optarg;
			break;
		case 's':
			o->stdin_ = true;
			break;
		case 'u':
			o->reusable = true;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'r':
			if (ccu_parse_u64(optarg, BROKER_RESOURCE_MAX, false, &v) < 0 || v == 0)
				return usage(cmd, "--random takes 1..%d bytes", BROKER_RESOURCE_MAX);
			o->random = (unsigned long)v;
			break;
		case 'l':
			if (ccu_parse_u64(optarg, 300, false, &v) < 0 || v < 10)
				return usage(cmd, "--lifetime takes 10..300 seconds");
			o->lifetime = (unsigned long)v;
			break;
		}
	}
	for (; optind < argc; optind++) {
		if (o->npos == maxpos)
			return usage(cmd, "unexpected argument '%s'", argv[optind]);
		o->pos[o->npos++] = argv[optind];
	}
	return 0;
}

/* ------------------------------------------------------------ store access */

struct ctx {
	const char *cmd;
	struct broker_config cfg;
	bool have_cfg;
	struct broker_store *store;
	struct broker_audit *audit;
};

static void ctx_done(struct ctx *c)
{
	broker_store_close(c->store);
	broker_audit_close(c->audit);
	if (c->have_cfg)
		broker_config_done(&c->cfg);
}

static int ctx_open(struct ctx *c, const char *config, bool store)
{
	struct ccu_reason why = { 0 };
	uint8_t *key = NULL;
	int r;

	if (broker_config_load(config, &c->cfg, &why) < 0) {
		fprintf(stderr, "ccunlock-kbs %s: %s: %s: %s\n", c->cmd, config, why.code, why.detail);
		return BROKER_EXIT_USAGE;
	}
	c->have_cfg = true;
	if (!store)
		return 0;
	r = broker_master_key_load(c->cfg.master_key, &key, &why);
	if (r >= 0) {
		r = broker_store_open(c->cfg.database, key, &c->store, &why);
		secmem_free(key);
	}
	if (r >= 0)
		r = broker_audit_open(c->cfg.audit_log, &c->audit, &why);
	return r < 0 ? fail(c->cmd, &why) : 0;
}

/* Audit a change made from the command line; the change is already durable. */
static void audit_cli(struct ctx *c, const char *action, const char *resource, const char *policy)
{
	struct broker_audit_rec rec = {
		.event = "admin",
		.action = action,
		.peer = "cli",
		.resource = resource,
		.policy = policy,
		.allow = true,
		.signer = -1,
	};
	struct ccu_reason why = { 0 };

	if (broker_audit_write(c->audit, &rec, &why) < 0)
		fprintf(stderr, "ccunlock-kbs %s: warning: %s: %s\n", c->cmd, why.code, why.detail);
}

/* ------------------------------------------------------------ init */

static const char init_help[] =
	"usage: ccunlock-kbs init [--config FILE]\n"
	"\nCreates the master key (mode 0400) and the database named by the configuration.\n"
	"Refuses to overwrite either.\n";

int broker_cmd_init(int argc, char **argv)
{
	struct ctx c = { .cmd = "init" };
	struct ccu_reason why = { 0 };
	struct opts o;
	struct stat st;
	uint8_t *key = NULL;
	int r = parse("init", argc, argv, "c", 0, init_help, &o);

	if (r)
		return r < 0 ? BROKER_EXIT_OK : r;
	r = ctx_open(&c, o.config, false);
	if (r)
		return r;
	/* A shared (PostgreSQL) store is created by the database administrator;
	 * init creates the master key and the schema in it. */
	if (stat(c.cfg.master_key, &st) == 0 ||
	    (!c.cfg.shared_store && stat(c.cfg.database, &st) == 0)) {
		fprintf(stderr, "ccunlock-kbs init: '%s' or '%s' exists; refusing to overwrite\n",
			c.cfg.master_key, c.cfg.shared_store ? "the store" : c.cfg.database);
		ctx_done(&c);
		return BROKER_EXIT_FAILURE;
	}
	r = broker_master_key_create(c.cfg.master_key, &why);
	if (r >= 0)
		r = broker_master_key_load(c.cfg.master_key, &key, &why);
	if (r >= 0) {
		r = broker_store_open(c.cfg.database, key, &c.store, &why);
		secmem_free(key);
		if (r < 0)
			unlink(c.cfg.master_key);
	}
	if (r < 0) {
		r = fail("init", &why);
		ctx_done(&c);
		return r;
	}
	/* A conninfo may carry a password: never print it. */
	printf("created %s and %s\n", c.cfg.master_key,
	       c.cfg.shared_store ? "the schema in the PostgreSQL store" : c.cfg.database);
	ctx_done(&c);
	return BROKER_EXIT_OK;
}

/* ------------------------------------------------------------ resource */

static const char resource_help[] =
	"usage: ccunlock-kbs resource put PATH --policy NAME (--file FILE | --stdin | --random N)\n"
	"       ccunlock-kbs resource get-meta PATH\n"
	"       ccunlock-kbs resource list\n"
	"       ccunlock-kbs resource delete PATH\n"
	"       (each also takes --config FILE)\n"
	"\nPATH is repo/type/tag. The secret never appears in argv or in any output.\n";

/* The secret from @fd into a secmem buffer (at most BROKER_RESOURCE_MAX). */
static int read_secret(int fd, uint8_t **ret, size_t *len)
{
	uint8_t *buf = secmem_alloc(BROKER_RESOURCE_MAX + 1);
	long n;

	if (!buf)
		return -ENOMEM;
	n = ccu_read_all(fd, buf, BROKER_RESOURCE_MAX + 1);
	if (n < 0 || n > BROKER_RESOURCE_MAX || n == 0) {
		secmem_free(buf);
		return n < 0 ? (int)n : -EFBIG;
	}
	*ret = buf;
	*len = (size_t)n;
	return 0;
}

static int get_secret(const struct opts *o, uint8_t **ret, size_t *len)
{
	int fd, r;

	if (o->random) {
		*ret = secmem_alloc(o->random);
		if (!*ret)
			return -ENOMEM;
		*len = o->random;
		return RAND_priv_bytes(*ret, (int)o->random) == 1 ? 0 : -EIO;
	}
	if (o->stdin_)
		return read_secret(STDIN_FILENO, ret, len);
	fd = open(o->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read_secret(fd, ret, len);
	close(fd);
	return r;
}

static int print_meta(const struct broker_resource_meta *m, void *ud)
{
	char cr[32], up[32];
	json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s}", "path", m->path, "policy", m->policy, "size",
			      (json_int_t)m->size, "created",
			      ccu_format_rfc3339(m->created, cr, sizeof(cr)), "updated",
			      ccu_format_rfc3339(m->updated, up, sizeof(up)));

	(void)ud;
	if (!o)
		return -ENOMEM;
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
	return 0;
}

static int resource_put(struct ctx *c, const struct opts *o)
{
	struct ccu_reason why = { 0 };
	uint8_t *secret = NULL;
	size_t len = 0;
	int r, sources = (o->file != NULL) + o->stdin_ + (o->random != 0);

	if (!o->policy || sources != 1)
		return usage("resource", "put needs --policy and exactly one of --file, --stdin, "
					 "--random");
	r = get_secret(o, &secret, &len);
	if (r < 0) {
		secmem_free(secret);
		fprintf(stderr, "ccunlock-kbs resource: cannot read the secret: %s\n",
			r == -EFBIG ? "empty or larger than 65536 bytes" : strerror(-r));
		return BROKER_EXIT_USAGE;
	}
	r = broker_store_put_resource(c->store, o->pos[1], secret, len, o->policy, &why);
	secmem_free(secret);
	if (r < 0)
		return fail("resource", &why);
	audit_cli(c, "resource.put", o->pos[1], o->policy);
	printf("stored %s (%zu bytes, policy %s)\n", o->pos[1], len, o->policy);
	return BROKER_EXIT_OK;
}

int broker_cmd_resource(int argc, char **argv)
{
	struct ctx c = { .cmd = "resource" };
	struct ccu_reason why = { 0 };
	struct broker_resource_meta m;
	const char *sub;
	struct opts o;
	int r = parse("resource", argc, argv, "cpfsr", 2, resource_help, &o);

	if (r)
		return r < 0 ? BROKER_EXIT_OK : r;
	sub = o.npos ? o.pos[0] : "";
	if (strcmp(sub, "list") == 0 ? o.npos != 1 :
	    (strcmp(sub, "put") && strcmp(sub, "get-meta") && strcmp(sub, "delete")) || o.npos != 2)
		return usage("resource", "expected put|get-meta|delete PATH, or list");
	if (strcmp(sub, "put") != 0 && (o.policy || o.file || o.stdin_ || o.random))
		return usage("resource", "--policy/--file/--stdin/--random only apply to put");
	r = ctx_open(&c, o.config, true);
	if (r) {
		ctx_done(&c);
		return r;
	}
	if (strcmp(sub, "put") == 0) {
		r = resource_put(&c, &o);
	} else if (strcmp(sub, "get-meta") == 0) {
		r = broker_store_get_meta(c.store, o.pos[1], &m, &why);
		r = r < 0 ? fail("resource", &why) : (print_meta(&m, NULL), BROKER_EXIT_OK);
	} else if (strcmp(sub, "delete") == 0) {
		r = broker_store_delete_resource(c.store, o.pos[1], &why);
		if (r >= 0)
			audit_cli(&c, "resource.delete", o.pos[1], NULL);
		r = r < 0 ? fail("resource", &why) : BROKER_EXIT_OK;
	} else {
		r = broker_store_list_resources(c.store, print_meta, NULL, &why);
		r = r < 0 ? fail("resource", &why) : BROKER_EXIT_OK;
	}
	ctx_done(&c);
	return r;
}

/* ------------------------------------------------------------ policy */

static const char policy_help[] =
	"usage: ccunlock-kbs policy set NAME FILE\n"
	"       ccunlock-kbs policy measure NAME --mode snp --ovmf FILE --vcpus N ... (see\n"
	"                                        ccunlock-kbs measure --help)\n"
	"       ccunlock-kbs policy show NAME\n"
	"       ccunlock-kbs policy list\n"
	"       ccunlock-kbs policy delete NAME\n"
	"       (each also takes --config FILE)\n"
	"\nPolicies are release policy files (docs/policy.md), checked before storing.\n";

static int print_name(const char *name, void *ud)
{
	(void)ud;
	printf("%s\n", name);
	return 0;
}

static int policy_set(struct ctx *c, const char *name, const char *file)
{
	struct ccu_reason why = { 0 };
	struct snp_policy *p = NULL;
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int r = ccu_read_file(file, BROKER_POLICY_MAX, &text, &len);

	if (r < 0) {
		fprintf(stderr, "ccunlock-kbs policy: cannot read '%s': %s\n", file, strerror(-r));
		return BROKER_EXIT_USAGE;
	}
	if (memchr(text, 0, len) || snp_policy_parse((const char *)text, len, &p, &why) < 0) {
		if (!why.code[0])
			ccu_reason_set(&why, "CONFIG_SYNTAX", "the policy contains a NUL byte");
		fprintf(stderr, "ccunlock-kbs policy: %s: %s: %s\n", file, why.code, why.detail);
		return BROKER_EXIT_USAGE;
	}
	snp_policy_free(p);
	r = broker_store_put_policy(c->store, name, (const char *)text, &why);
	if (r < 0)
		return fail("policy", &why);
	audit_cli(c, "policy.put", NULL, name);
	printf("stored policy %s\n", name);
	return BROKER_EXIT_OK;
}

/* Is @hex (96 lower-case digits) among the policy's measurement lines?
 * Sets *any when the policy allows every measurement. */
static int policy_has_measurement(const char *text, const char *hex, bool *found, bool *any,
				  unsigned *count, struct ccu_reason *why)
{
	struct ccu_conf conf = { 0 };
	int r = ccu_conf_parse(text, strlen(text), &conf, why);

	*found = *any = false;
	*count = 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < conf.n; i++) {
		if (strcmp(conf.entries[i].key, "measurement") != 0)
			continue;
		(*count)++;
		if (strcmp(conf.entries[i].value, "any") == 0)
			*any = true;
		else if (strcasecmp(conf.entries[i].value, hex) == 0)
			*found = true;
	}
	ccu_conf_free(&conf);
	return 0;
}

/* policy measure NAME [measure options]: compute the SNP measurement and add
 * it to the stored policy (created when absent), keeping the others. */
static int policy_measure(int argc, char **argv)
{
	struct ctx c = { .cmd = "policy" };
	struct ccu_reason why = { 0 };
	struct meas_args a;
	struct meas_result res;
	struct snp_policy *p = NULL;
	char hex[2 * MEAS_SNP_DIGEST + 1], fw_hex[65], k_hex[65], *text = NULL, *next = NULL;
	bool found, any, created = false;
	unsigned count = 0;
	int r = broker_measure_parse("policy", argc, argv, true, &a);

	if (r)
		return r < 0 ? BROKER_EXIT_OK : r;
	r = broker_measure_compute("policy", &a, &res);
	if (r)
		return r;
	ccu_hex_encode(res.digest, MEAS_SNP_DIGEST, hex, sizeof(hex));
	r = ctx_open(&c, a.config, true);
	if (r)
		goto out;
	if (broker_store_get_policy(c.store, a.name, &text, &why) < 0) {
		if (strcmp(why.code, "STORE_NO_POLICY") != 0) {
			r = fail("policy", &why);
			goto out;
		}
		text = strdup("");
		created = true;
	}
	r = text ? policy_has_measurement(text, hex, &found, &any, &count, &why) : -ENOMEM;
	if (r < 0) {
		r = fail("policy", &why);
		goto out;
	}
	if (any) {
		fprintf(stderr, "ccunlock-kbs policy: policy %s allows any measurement; remove "
				"'measurement = any' before adding one\n",
			a.name);
		r = BROKER_EXIT_REJECTED;
		goto out;
	}
	if (found) {
		printf("policy %s already allows %s (%u measurements)\n", a.name, hex, count);
		r = BROKER_EXIT_OK;
		goto out;
	}
	ccu_hex_encode(res.ovmf_sha256, sizeof(res.ovmf_sha256), fw_hex, sizeof(fw_hex));
	ccu_hex_encode(res.kernel_sha256, sizeof(res.kernel_sha256), k_hex, sizeof(k_hex));
	if (asprintf(&next, "%s%s# ccunlock-kbs policy measure: %s, %s, %u vCPUs, vCPU signature "
			    "0x%08x, guest features 0x%llx, OVMF sha256 %s%s%s\nmeasurement = %s\n",
		     text, text[0] && text[strlen(text) - 1] != '\n' ? "\n" : "",
		     meas_mode_name(a.in.mode), meas_vmm_name(a.in.vmm), a.in.vcpus, a.in.vcpu_sig,
		     (unsigned long long)a.in.guest_features,
		     res.has_ovmf_sha256 ? fw_hex : "(--ovmf-hash given)",
		     a.in.kernel ? ", kernel sha256 " : "", a.in.kernel ? k_hex : "", hex) < 0) {
		next = NULL;
		r = BROKER_EXIT_FAILURE;
		goto out;
	}
	if (snp_policy_parse(next, strlen(next), &p, &why) < 0) {
		fprintf(stderr, "ccunlock-kbs policy: the policy with the new measurement does not "
				"parse: %s: %s\n",
			why.code, why.detail);
		r = BROKER_EXIT_REJECTED;
		goto out;
	}
	snp_policy_free(p);
	if (broker_store_put_policy(c.store, a.name, next, &why) < 0) {
		r = fail("policy", &why);
		goto out;
	}
	audit_cli(&c, "policy.put", NULL, a.name);
	printf("%s policy %s: measurement %s (%u allowed)\n", created ? "created" : "updated",
	       a.name, hex, count + 1);
	r = BROKER_EXIT_OK;
out:
	free(text);
	free(next);
	ctx_done(&c);
	return r;
}

int broker_cmd_policy(int argc, char **argv)
{
	struct ctx c = { .cmd = "policy" };
	struct ccu_reason why = { 0 };
	const char *sub;
	char *text = NULL;
	struct opts o;
	int r;

	if (argc > 1 && strcmp(argv[1], "measure") == 0)
		return policy_measure(argc - 1, argv + 1);
	r = parse("policy", argc, argv, "c", 3, policy_help, &o);
	if (r)
		return r < 0 ? BROKER_EXIT_OK : r;
	sub = o.npos ? o.pos[0] : "";
	if (!((strcmp(sub, "set") == 0 && o.npos == 3) ||
	      ((strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0) && o.npos == 2) ||
	      (strcmp(sub, "list") == 0 && o.npos == 1)))
		return usage("policy", "expected set NAME FILE, measure NAME ..., show|delete NAME, "
				       "or list");
	r = ctx_open(&c, o.config, true);
	if (r) {
		ctx_done(&c);
		return r;
	}
	if (strcmp(sub, "set") == 0) {
		r = policy_set(&c, o.pos[1], o.pos[2]);
	} else if (strcmp(sub, "show") == 0) {
		r = broker_store_get_policy(c.store, o.pos[1], &text, &why);
		if (r >= 0)
			fputs(text, stdout);
		free(text);
		r = r < 0 ? fail("policy", &why) : BROKER_EXIT_OK;
	} else if (strcmp(sub, "delete") == 0) {
		r = broker_store_delete_policy(c.store, o.pos[1], &why);
		if (r >= 0)
			audit_cli(&c, "policy.delete", NULL, o.pos[1]);
		r = r < 0 ? fail("policy", &why) : BROKER_EXIT_OK;
	} else {
		r = broker_store_list_policies(c.store, print_name, NULL, &why);
		r = r < 0 ? fail("policy", &why) : BROKER_EXIT_OK;
	}
	ctx_done(&c);
	return r;
}

/* ------------------------------------------------------------ admin keys */

static const char keygen_help[] =
	"usage: ccunlock-kbs admin-keygen --out PREFIX\n"
	"\nWrites an Ed25519 admin key pair: PREFIX.key (private, mode 0400) and PREFIX.pub\n"
	"(public; name it in broker.conf as admin_public_key).\n";

static int write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = ccu_write_all(fd, data, len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		unlink(path);
	return r;
}

int broker_cmd_admin_keygen(int argc, char **argv)
{
	char kpath[4096], ppath[4096];
	EVP_PKEY *k = NULL;
	BIO *priv = NULL, *pub = NULL;
	char *pd;
	long pl;
	struct opts o;
	int r = parse("admin-keygen", argc, argv, "o", 0, keygen_help, &o), ret = BROKER_EXIT_FAILURE;

	if (r)
		return r < 0 ? BROKER_EXIT_OK : r;
	if (!o.out)
		return usage("admin-keygen", "--out PREFIX is required");
	if (snprintf(kpath, sizeof(kpath), "%s.key", o.out) >= (int)sizeof(kpath) ||
	    snprintf(ppath, sizeof(ppath), "%s.pub", o.out) >= (int)sizeof(ppath))
		return usage("admin-keygen", "--out is too long");
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	priv = BIO_new(BIO_s_secmem());
	pub = BIO_new(BIO_s_mem());
	if (!k || !priv || !pub || PEM_write_bio_PrivateKey(priv, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub, k) != 1) {
		fprintf(stderr, "ccunlock-kbs admin-keygen: key generation failed\n");
		goto out;
	}
	pl = BIO_get_mem_data(priv, &pd);
	r = write_new(kpath, pd, (size_t)pl, 0400);
	if (r < 0) {
		fprintf(stderr, "ccunlock-kbs admin-keygen: cannot create '%s': %s\n", kpath,
			strerror(-r));
		goto out;
	}
	pl = BIO_get_mem_data(pub, &pd);
	r = write_new(ppath, pd, (size_t)pl, 0644);
	if (r < 0) {
		unlink(kpath);
		fprintf(stderr, "ccunlock-kbs admin-keygen: cannot create '%s': %s\n", ppath,
			strerror(-r));
		goto out;
	}
	printf("wrote %s and %s\n", kpath, ppath);
	ret = BROKER_EXIT_OK;
out:
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(k);
	return ret;
}

static const char token_help[] =
	"usage: ccunlock-kbs admin-token --key FILE [--lifetime N] [--reusable]\n"
	"\nPrints an admin bearer token (EdDSA JWT, iat/exp, N seconds, default 300, at most\n"
	"300) signed with the private key FILE, e.g.\n"
	"  curl -H \"Authorization: Bearer $(ccunlock-kbs admin-token --key admin.key)\" ...\n"
	"The token carries a random jti and is good for one request, on any broker of the\n"
	"store; --reusable leaves the jti out (valid for every request until it expires).\n";

int broker_cmd_admin_token(int argc, char **argv)
{
	struct ccu_reason why = { 0 };
	uint8_t *pem = NULL;
	EVP_PKEY *k = NULL;
	json_t *claims = NULL;
	char *tok = NULL;
	struct opts o;
	size_t len = 0;
	uint8_t rnd[16];
	char jti[32];
	int fd, r = parse("admin-token", argc, argv, "klu", 0, token_help, &o);

	if (r)
		return r < 0 ? BROKER_EXIT_OK : r;
	if (!o.key)
		return usage("admin-token", "--key FILE is required");
	fd = open(o.key, O_RDONLY | O_CLOEXEC);
	pem = secmem_alloc(ADMIN_KEY_FILE_MAX);
	if (fd >= 0 && pem) {
		long n = ccu_read_all(fd, pem, ADMIN_KEY_FILE_MAX - 1);

		len = n > 0 ? (size_t)n : 0;
	}
	if (fd >= 0)
		close(fd);
	if (!len) {
		secmem_free(pem);
		fprintf(stderr, "ccunlock-kbs admin-token: cannot read '%s'\n", o.key);
		return BROKER_EXIT_USAGE;
	}
	r = kbs_jwt_key_from_pem((const char *)pem, len, true, KBS_JWT_EDDSA, &k, &why);
	secmem_free(pem);
	if (r < 0) {
		fprintf(stderr, "ccunlock-kbs admin-token: %s: %s: %s\n", o.key, why.code, why.detail);
		return BROKER_EXIT_USAGE;
	}
	claims = kbs_jwt_claims_new(time(NULL), (unsigned)o.lifetime);
	if (claims && !o.reusable) {
		/* 128 random bits: single use, fleet-wide (the broker records it) */
		if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
		    ccu_b64_encode(rnd, sizeof(rnd), CCU_B64_URL, jti, sizeof(jti)) < 0 ||
		    json_object_set_new(claims, "jti", json_string(jti)) < 0) {
			json_decref(claims);
			claims = NULL;
		}
	}
	r = claims ? kbs_jwt_sign(k, claims, &tok, &why) : -ENOMEM;
	json_decref(claims);
	EVP_PKEY_free(k);
	if (r < 0)
		return fail("admin-token", &why);
	printf("%s\n", tok);
	free(tok);
	return BROKER_EXIT_OK;
}
