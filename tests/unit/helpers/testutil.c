#include "testutil.h"

#include <ctype.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/codec.h"
#include "common/util.h"

const char *tu_top(void)
{
	static char top[PATH_MAX];

	if (!top[0]) {
		const char *o = getenv("CCU_TOP");

		if (o)
			snprintf(top, sizeof(top), "%s", o);
		else if (!getcwd(top, sizeof(top)))
			snprintf(top, sizeof(top), ".");
	}
	return top;
}

const char *tu_vectors_dir(void)
{
	static char dir[PATH_MAX];
	static int state; /* 0 unknown, 1 present, -1 absent */

	if (state == 0) {
		const char *env = getenv("CCU_VECTORS");

		if (env)
			snprintf(dir, sizeof(dir), "%s", env);
		else
			snprintf(dir, sizeof(dir), "%s/../shared/vectors/snp", tu_top());
		state = access(dir, R_OK) == 0 ? 1 : -1;
		if (state == 1) {
			char cases[PATH_MAX + 16];

			snprintf(cases, sizeof(cases), "%s/cases.json", dir);
			if (access(cases, R_OK) != 0)
				state = -1;
		}
	}
	return state == 1 ? dir : NULL;
}

const char *tu_vec(const char *rel)
{
	static char buf[4][PATH_MAX + 256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tu_vectors_dir() ? tu_vectors_dir() : ".", rel);
	return buf[i];
}

uint8_t *tu_read(const char *path, size_t *len)
{
	uint8_t *d = NULL;
	int r = ccu_read_file(path, 16 * 1024 * 1024, &d, len);

	if (r < 0)
		fail_msg("cannot read %s: %s", path, strerror(-r));
	return d;
}

uint8_t *tu_read_report(const char *path, size_t offset, size_t *len)
{
	size_t n, tl = 0;
	uint8_t *d = tu_read(path, &n), *out;
	char *t = malloc(n + 1);
	bool hex = true, b64 = true;

	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		if (isspace(d[i]))
			continue;
		if (!isxdigit(d[i]))
			hex = false;
		if (!isalnum(d[i]) && !strchr("+/=-_", d[i]))
			b64 = false;
		t[tl++] = (char)d[i];
	}
	t[tl] = 0;
	if (hex && tl >= 2 * SNP_REPORT_SIZE) {
		out = malloc(tl / 2);
		assert_non_null(out);
		assert_true(ccu_hex_decode(t, tl, out, tl / 2) > 0);
		n = tl / 2;
	} else if (b64 && tl >= 1500) {
		bool url = strpbrk(t, "-_") != NULL;
		int r;

		while (tl % 4 && !url)
			t[tl++] = '=';
		if (url)
			while (tl && t[tl - 1] == '=')
				t[--tl] = 0;
		out = malloc(tl);
		assert_non_null(out);
		r = ccu_b64_decode(t, tl, url ? CCU_B64_URL : CCU_B64_STD, out, tl);
		assert_true(r > 0);
		n = (size_t)r;
	} else {
		out = malloc(n ? n : 1);
		assert_non_null(out);
		memcpy(out, d, n);
	}
	free(t);
	free(d);
	assert_true(offset <= n);
	if (offset)
		memmove(out, out + offset, n - offset);
	*len = n - offset;
	return out;
}

char *tu_mkdtemp(void)
{
	char *d = strdup("/tmp/ccu-test-XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

void tu_rmrf(const char *dir)
{
	char cmd[PATH_MAX + 32];

	if (!dir || strncmp(dir, "/tmp/ccu-", 9) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

static char *slurp_fd(int fd)
{
	size_t cap = 4096, len = 0, max = 1024 * 1024;
	char *b = malloc(cap);
	ssize_t n;

	assert_non_null(b);
	while ((n = read(fd, b + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap && cap < max) {
			char *nb = realloc(b, cap * 2);

			assert_non_null(nb);
			b = nb;
			cap *= 2;
		} else if (len + 1 == cap) {
			break;
		}
	}
	b[len] = 0;
	return b;
}

void tu_run(struct tu_run *r, const char *const argv[])
{
	char out_path[] = "/tmp/ccu-run-out-XXXXXX", err_path[] = "/tmp/ccu-run-err-XXXXXX";
	int out = mkstemp(out_path), err = mkstemp(err_path), st;
	pid_t pid;

	assert_true(out >= 0 && err >= 0);
	unlink(out_path);
	unlink(err_path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	lseek(out, 0, SEEK_SET);
	lseek(err, 0, SEEK_SET);
	r->out = slurp_fd(out);
	r->err = slurp_fd(err);
	close(out);
	close(err);
}

void tu_run_free(struct tu_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

const char *tu_bin(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;
	const char *o = getenv("O");

	i = (i + 1) % 4;
	if (o && o[0] == '/')
		snprintf(buf[i], sizeof(buf[i]), "%s/%s", o, rel);
	else
		snprintf(buf[i], sizeof(buf[i]), "%s/%s/%s", tu_top(), o ? o : "build", rel);
	return buf[i];
}
