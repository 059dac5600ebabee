/* Helpers shared by the C unit tests. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/reason.h"
#include "snp/report.h"

/*
 * Directory of the real SNP vectors (../shared/vectors/snp relative to the
 * project root, or $CCU_VECTORS), or NULL when absent: tests that need them
 * call skip() with a message saying so.
 */
const char *tu_vectors_dir(void);
#define TU_REQUIRE_VECTORS()                                                                       \
	do {                                                                                       \
		if (!tu_vectors_dir()) {                                                           \
			print_message("skip: ../shared/vectors/snp is absent\n");                  \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* "<vectors>/<rel>" into a static buffer (one at a time per call site). */
const char *tu_vec(const char *rel);

/* Read a whole file; fails the test when unreadable. */
uint8_t *tu_read(const char *path, size_t *len);

/* Read a report file the way snp_check.py does: raw bytes, hex text or
 * base64 text (auto-detected), then skip @offset bytes; returns the
 * decoded length in *len (may be != 1184). */
uint8_t *tu_read_report(const char *path, size_t offset, size_t *len);

/* A fresh temporary directory (removed by tu_rmrf). */
char *tu_mkdtemp(void);
void tu_rmrf(const char *dir);

/* Project root (the directory holding Makefile). */
const char *tu_top(void);

/* Run a program, capturing stdout and stderr (each bounded to 1 MiB). */
struct tu_run {
	int status; /* exit code, or 128 + signal */
	char *out;
	char *err;
};
void tu_run(struct tu_run *r, const char *const argv[]);
void tu_run_free(struct tu_run *r);
/* "<top>/$O/<rel>" (O defaults to build). */
const char *tu_bin(const char *rel);

/*
 * A reason cleared right before the call that may fill it:
 * f(..., TU_FRESH(&rsn)). A shared reason variable is never left with a
 * stale code that a later assertion could take for the newer call's.
 */
#define TU_FRESH(r) (ccu_reason_clear(r), (r))

