/* The ccunlock command line: shared state of the subcommands. */
#pragma once

#include <stdbool.h>

#include "common/reason.h"
#include "guest/build.h"
#include "guest/config.h"
#include "guest/posture.h"
#include "guest/provider.h"

/* Survives the hand-over from the initramfs (both flavours keep /run). */
#define CLI_RUNDIR "/run/ccunlock"

struct cli {
	const struct guest_build *build;
	const char *config_path;
	struct guest_roots roots; /* test builds may point these at fake trees */
	const char *rundir;       /* CLI_RUNDIR: what the unlock leaves for status */
	uint64_t start_ms;
	struct ccu_reason why; /* the one reason a failed command reports */
};

/* Exit code (src/ccunlock/exitcodes.h) for a reason code. */
int cli_exit_for_code(const char *code);

/* Log "CODE: detail" once and return its exit code. */
int cli_fail(struct cli *c);

/* Read and parse the config file. */
int cli_load_config(struct cli *c, bool need_broker, struct guest_config *cfg);

int cmd_unlock(struct cli *c, int argc, char **argv);
int cmd_keyscript(struct cli *c, int argc, char **argv);
int cmd_enroll(struct cli *c, int argc, char **argv);
int cmd_unenroll(struct cli *c, int argc, char **argv);
int cmd_list(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_posture(struct cli *c, int argc, char **argv);
int cmd_cmdline_check(struct cli *c, int argc, char **argv);

/* Shared by unlock, keyscript and status: posture for @cfg (simulated when
 * its provider is the simulator), logged. */
int cli_posture(struct cli *c, const struct guest_config *cfg, struct guest_posture *out);
