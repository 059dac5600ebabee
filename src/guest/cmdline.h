/*
 * The kernel command line, read the way the kernel splits it
 * (lib/cmdline.c next_arg: whitespace separates, double quotes group, a
 * quoted value loses its quotes, "--" hands the rest to init) and judged as
 * untrusted input (the host controls it unless measured direct boot covers
 * it):
 *
 *  - rd.ccunlock.* may only make checks stricter: rd.ccunlock.deadline=N
 *    (only shorter than the configured deadline), rd.ccunlock.require=LEVEL
 *    (only at least the configured level), rd.ccunlock.debug[=BOOL]. Test
 *    builds also take the keys of their hooks (src/testonly/guest/).
 *    Any other rd.ccunlock.* key, a
 *    repeated key or a malformed value is refused.
 *  - Anything that opens a shell or skips the unlock is refused (see
 *    guest_cmdline_judge).
 *
 * Pure. Reason codes: CMDLINE_SYNTAX (control bytes, too long, too many
 * arguments), CMDLINE_REFUSED (a shell/init override), CMDLINE_UNKNOWN (an
 * unknown rd.ccunlock.* key), CMDLINE_VALUE (a malformed or repeated
 * rd.ccunlock.* value), CMDLINE_LOOSER (an rd.ccunlock.* value that would
 * loosen the configuration).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reason.h"
#include "guest/config.h"

#define GUEST_CMDLINE_MAX (64 * 1024) /* far above any COMMAND_LINE_SIZE */
#define GUEST_CMDLINE_MAX_ARGS 1024

struct guest_cmdline_arg {
	char *key;     /* the part before the first '=' (quotes removed) */
	char *value;   /* after '=', NULL when there was no '=' */
	bool for_init; /* after "--": passed to init, not a kernel parameter */
};

struct guest_cmdline {
	struct guest_cmdline_arg *args;
	size_t n;
};

/* Split @len bytes of @text (a trailing newline is allowed). */
int guest_cmdline_split(const char *text, size_t len, struct guest_cmdline *out,
			struct ccu_reason *err);
void guest_cmdline_done(struct guest_cmdline *c);

/* What the rd.ccunlock.* arguments ask for. */
struct guest_cmdline_opts {
	bool has_deadline;
	unsigned deadline;
	bool has_require;
	enum guest_level require;
	bool debug;
	bool has_sim_policy; /* test builds only */
	uint64_t sim_policy;
	bool has_sim_measurement;
	uint8_t sim_measurement[48];
};

/*
 * Refuse shell/init overrides (CMDLINE_REFUSED): rd.shell (other than
 * rd.shell=0/no/off), rd.break[=...], break[=...], init=, rdinit=,
 * [rd.]systemd.debug_shell (other than a false value), systemd.unit= or
 * rd.systemd.unit= naming an emergency/rescue/debug-shell unit, any
 * rd.systemd.unit= other than initrd.target, emergency, rescue, single, s,
 * S, -s, 1, rd.emergency= other than poweroff/reboot/halt. Systemd's names
 * are compared with '-' and '_' equivalent, as systemd does. Then parse
 * rd.ccunlock.* into @out (unknown keys CMDLINE_UNKNOWN; the test hooks'
 * keys only when @test is not NULL).
 */
struct guest_test_hooks;
int guest_cmdline_judge(const struct guest_cmdline *c, const struct guest_test_hooks *test,
			struct guest_cmdline_opts *out, struct ccu_reason *err);

/* CMDLINE_VALUE for @a: "expected @what" (also used by the test hooks). */
int guest_cmdline_bad_value(struct ccu_reason *err, const struct guest_cmdline_arg *a,
			    const char *what);

/*
 * Apply @o to @cfg: a shorter deadline, a stricter requirement, simulator
 * overrides. A looser value is CMDLINE_LOOSER (-EPERM), never ignored.
 */
int guest_cmdline_apply(const struct guest_cmdline_opts *o, struct guest_config *cfg,
			struct ccu_reason *err);
