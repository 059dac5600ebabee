/*
 * ccunlock-kbs serve [--config FILE]: run the broker until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/config.h"
#include "broker/server_int.h"
#include "common/log.h"
#include "common/secmem.h"

#define SERVE_PURGE_SECONDS 30

static void serve_usage(FILE *f)
{
	fprintf(f, "usage: ccunlock-kbs serve [--config FILE]\n"
		   "\nServes the KBS protocol, the admin API, /healthz and /metrics until\n"
		   "SIGTERM or SIGINT. The bound port is logged (and written to port_file).\n");
}

int broker_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = BROKER_DEFAULT_CONFIG;
	struct broker_config cfg;
	struct broker_server *s = NULL;
	struct ccu_reason why = { 0 };
	struct timespec ts = { .tv_sec = SERVE_PURGE_SECONDS };
	sigset_t set;
	int c, sig;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			serve_usage(stdout);
			return BROKER_EXIT_OK;
		default:
			serve_usage(stderr);
			return BROKER_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		serve_usage(stderr);
		return BROKER_EXIT_USAGE;
	}
	/* main() hardened the process (every command, result checked). */
	if (broker_config_load(config, &cfg, &why) < 0) {
		log_error("%s: %s: %s", config, why.code, why.detail);
		return BROKER_EXIT_USAGE;
	}
	/* Worker threads inherit this mask: only this thread takes the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (broker_server_open(&cfg, &s, &why) < 0 || broker_server_start(s, &why) < 0) {
		log_error("%s: %s", why.code, why.detail);
		broker_server_free(s);
		broker_config_done(&cfg);
		return BROKER_EXIT_FAILURE;
	}
	for (;;) {
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		broker_sessions_purge(s->sessions, broker_now(s));
	}
	log_info("signal %d: stopping", sig);
	broker_server_stop(s);
	broker_server_free(s);
	broker_config_done(&cfg);
	return BROKER_EXIT_OK;
}
