/*
 * `ccunlock cmdline-check [CMDLINE]`: the kernel command-line rules of
 * `unlock` (src/guest/cmdline.c), for the boot scripts' last guard before
 * the initramfs hands over, so that the rules have one implementation. Reads
 * /proc/cmdline, or judges CMDLINE when given (one argument, the whole
 * line). Accepted: exit 0, no output. Refused: one "CODE: detail" line on
 * stdout (the caller logs it once, with its fail-closed action) and the
 * code's exit status (4 for every CMDLINE_* code). Logs nothing itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ccunlock/cli.h"
#include "ccunlock/exitcodes.h"
#include "common/macros.h"
#include "common/util.h"
#include "guest/build.h"
#include "guest/cmdline.h"

static int judge_text(struct cli *c, const char *text, size_t len)
{
	struct guest_cmdline cl;
	struct guest_cmdline_opts o;
	int r;

	r = guest_cmdline_split(text, len, &cl, &c->why);
	if (r < 0)
		return r;
	r = guest_cmdline_judge(&cl, guest_build_test_hooks(c->build), &o, &c->why);
	guest_cmdline_done(&cl);
	return r;
}

int cmd_cmdline_check(struct cli *c, int argc, char **argv)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int r;

	if (argc > 2 || (argc == 2 && strncmp(argv[1], "--", 2) == 0 && strcmp(argv[1], "--") != 0)) {
		fprintf(stdout, "USAGE: cmdline-check [CMDLINE]\n");
		return CCU_EXIT_USAGE;
	}
	if (argc == 2) {
		r = judge_text(c, argv[1], strlen(argv[1]));
	} else {
		r = ccu_read_file(c->roots.cmdline, GUEST_CMDLINE_MAX, &text, &len);
		if (r < 0)
			r = ccu_fail(&c->why, r, "CMDLINE_IO", "%s: %s", c->roots.cmdline,
				     strerror(-r));
		else
			r = judge_text(c, (const char *)text, len);
	}
	if (r == 0)
		return CCU_EXIT_OK;
	if (!ccu_reason_is_set(&c->why))
		ccu_reason_set(&c->why, "INTERNAL", "failed without a reason");
	printf("%s: %s\n", c->why.code, c->why.detail);
	fflush(stdout);
	return cli_exit_for_code(c->why.code);
}
