/*
 * ccunlock: unlock a LUKS2 root only inside an attested AMD SEV-SNP VM
 * (docs/ccunlock.8.md). The first thing it does is harden the process: not
 * dumpable, no core files, OpenSSL's secure heap for private keys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccunlock/cli.h"
#include "ccunlock/exitcodes.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/secmem.h"
#include "common/util.h"

#define SECURE_HEAP (64 * 1024)

static const struct {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *help;
} commands[] = {
	{ "unlock", cmd_unlock, "[--test] [DEVICE NAME]  attest, fetch the key, open LUKS2" },
	{ "keyscript", cmd_keyscript, "                      crypttab keyscript: key on stdout" },
	{ "enroll", cmd_enroll,
	  "DEVICE --resource R --admin-key FILE [--policy NAME] [--keyslot N] "
	  "[--existing-key-file FILE]" },
	{ "unenroll", cmd_unenroll, "DEVICE [--token-id N] [--admin-key FILE]" },
	{ "list", cmd_list, "DEVICE                   ccunlock tokens of a device" },
	{ "status", cmd_status, "[--json|--prometheus]    posture and a fresh report" },
	{ "posture", cmd_posture, "[--json]                 posture alone" },
	{ "cmdline-check", cmd_cmdline_check,
	  "[CMDLINE]           the kernel command line rules alone (exit 0: accepted)" },
};

static void usage(FILE *f, const struct guest_build *b)
{
	fprintf(f, "usage: ccunlock [--config FILE]%s COMMAND [ARGS]\n",
		b->test_build ? " [--sysfs DIR --devfs DIR --configfs DIR --efivarfs DIR "
				"--cmdline FILE]" :
				"");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

/* Proxies, TLS key logs and curl's own settings must not come from the environment. */
static void scrub_environment(void)
{
	static const char *const vars[] = { "SSLKEYLOGFILE", "http_proxy", "https_proxy",
					    "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY",
					    "no_proxy", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
					    "SSL_CERT_DIR", "OPENSSL_CONF", "CURL_HOME" };

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		unsetenv(vars[i]);
}

/* Global options before the command; the fake-tree roots exist in test builds only. */
static int global_options(struct cli *c, int *argc, char ***argv)
{
	static const struct {
		const char *opt;
		size_t off;
	} roots[] = {
		{ "--sysfs", offsetof(struct guest_roots, sysfs) },
		{ "--devfs", offsetof(struct guest_roots, dev) },
		{ "--configfs", offsetof(struct guest_roots, configfs) },
		{ "--efivarfs", offsetof(struct guest_roots, efivarfs) },
		{ "--cmdline", offsetof(struct guest_roots, cmdline) },
	};
	int i = 1;

	while (i < *argc && strncmp((*argv)[i], "--", 2) == 0) {
		const char *o = (*argv)[i];
		bool done = false;
		if (i + 1 >= *argc)
			return -EINVAL;
		if (strcmp(o, "--config") == 0) {
			c->config_path = (*argv)[i + 1];
			done = true;
		} else if (c->build->test_build && strcmp(o, "--rundir") == 0) {
			c->rundir = (*argv)[i + 1];
			done = true;
		}
		for (size_t k = 0; !done && c->build->test_build && k < ARRAY_SIZE(roots); k++) {
			if (strcmp(o, roots[k].opt) == 0) {
				*(const char **)((char *)&c->roots + roots[k].off) = (*argv)[i + 1];
				done = true;
			}
		}
		if (!done)
			return -EINVAL;
		i += 2;
	}
	*argc -= i;
	*argv += i;
	return 0;
}

static bool in_initrd(void)
{
	return access("/etc/initrd-release", F_OK) == 0;
}

int main(int argc, char **argv)
{
	struct cli c = {
		.build = &guest_build_info,
		.config_path = GUEST_CONFIG_PATH,
		.roots = guest_default_roots,
		.rundir = CLI_RUNDIR,
	};
	int r;

	c.start_ms = ccu_now_ms();
	log_setup("ccunlock", CCU_LOG_NOTICE);
	r = secmem_harden_process(SECURE_HEAP);
	if (r < 0) {
		log_error("INTERNAL: cannot harden the process: %s", strerror(-r));
		return CCU_EXIT_INTERNAL;
	}
	scrub_environment();
	if (in_initrd())
		(void)log_open_kmsg();
	if (guest_build_test_hooks(c.build) && guest_build_test_hooks(c.build)->banner)
		log_warning("%s", guest_build_test_hooks(c.build)->banner);
	if (global_options(&c, &argc, &argv) < 0 || argc < 1) {
		usage(stderr, c.build);
		return CCU_EXIT_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0) {
		usage(stdout, c.build);
		return CCU_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].fn(&c, argc, argv);
	usage(stderr, c.build);
	return CCU_EXIT_USAGE;
}
