/*
 * ccunlock-kbs: the key broker. main() hardens the process once, for every
 * command (not dumpable, no core files, OpenSSL's secure heap: every
 * command may hold a secret: the master key, a plaintext resource, an admin
 * private key), then dispatches to a subcommand.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "broker/cli.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/secmem.h"

/* OpenSSL's secure heap: private keys of the TLS listener, admin keys. */
#define BROKER_SECURE_HEAP (1024 * 1024)

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "serve", broker_cmd_serve, "run the key broker" },
	{ "init", broker_cmd_init, "create the master key and the database" },
	{ "resource", broker_cmd_resource, "put, get-meta, list, delete resources" },
	{ "policy", broker_cmd_policy, "set, show, list, delete release policies" },
	{ "admin-keygen", broker_cmd_admin_keygen, "make an Ed25519 admin key pair" },
	{ "admin-token", broker_cmd_admin_token, "print an admin bearer token" },
	{ "verify", broker_cmd_verify, "verify an SNP report or chain (and a policy)" },
	{ "measure", broker_cmd_measure, "compute the launch measurement of a guest image" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ccunlock-kbs COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'ccunlock-kbs COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	int r;

	log_setup("ccunlock-kbs", CCU_LOG_INFO);
	r = secmem_harden_process(BROKER_SECURE_HEAP);
	if (r < 0) {
		log_error("INTERNAL: cannot harden the process: %s", strerror(-r));
		return BROKER_EXIT_FAILURE;
	}
	if (argc < 2) {
		usage(stderr);
		return BROKER_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return BROKER_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ccunlock-kbs: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return BROKER_EXIT_USAGE;
}
