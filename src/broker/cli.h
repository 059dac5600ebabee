/* ccunlock-kbs subcommands. Each returns the process exit status. */
#pragma once

#include <stdbool.h>

#include "measure/measure.h"

/* Exit statuses of the operator commands (a contract for scripts). */
enum broker_exit {
	BROKER_EXIT_OK = 0,
	BROKER_EXIT_REJECTED = 1, /* verification or policy said no */
	BROKER_EXIT_USAGE = 2,    /* usage error or unreadable input */
	BROKER_EXIT_FAILURE = 3,  /* the command could not complete (I/O, store) */
};

#define BROKER_DEFAULT_CONFIG "/etc/ccunlock-kbs/broker.conf"

int broker_cmd_verify(int argc, char **argv);
int broker_cmd_serve(int argc, char **argv);
int broker_cmd_init(int argc, char **argv);
int broker_cmd_resource(int argc, char **argv);
int broker_cmd_policy(int argc, char **argv);
int broker_cmd_admin_keygen(int argc, char **argv);
int broker_cmd_admin_token(int argc, char **argv);
int broker_cmd_measure(int argc, char **argv);


/* Parse the measure options (@policy: also --config and one NAME). Returns
 * 0, -1 after printing --help, or an exit status after a usage message. */
int broker_measure_parse(const char *cmd, int argc, char **argv, bool policy,
			 struct meas_args *a);
/* Compute; prints "ccunlock-kbs CMD: CODE: detail" and returns an exit status. */
int broker_measure_compute(const char *cmd, const struct meas_args *a,
			   struct meas_result *res);
