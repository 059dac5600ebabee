/* secmem: every buffer locked, not dumped, wiped on fork and zeroed; the
 * pool of freed one-page buffers is bounded, wiped, thread-safe and not
 * handed to a fork's child unlocked. Locks and flags are read from
 * /proc/self/smaps and status, as the kernel records them. */
#include "helpers/testutil.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/secmem.h"

#define HDR 32 /* secmem's header in front of the user bytes */
#define EXTRA_PAGES 8
#define THREADS 4
#define ROUNDS 2000

static size_t page;
/* mlock takes effect here: AddressSanitizer makes it a no-op that succeeds,
 * and then no lock can be observed (nor tested). */
static bool locks_visible;

/* The mapping holding @p: its VmFlags line and Locked kB; false if none. */
static bool vma_of(const void *p, char *flags, size_t n, long *locked_kb)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;
	uintptr_t a = (uintptr_t)p;

	assert_non_null(f);
	flags[0] = 0;
	*locked_kb = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
			if (found)
				break;
			in = a >= lo && a < hi;
			found = in;
			continue;
		}
		if (!in)
			continue;
		if (strncmp(line, "Locked:", 7) == 0)
			*locked_kb = strtol(line + 7, NULL, 10);
		else if (strncmp(line, "VmFlags:", 8) == 0 && strlen(line + 8) < n)
			memcpy(flags, line + 8, strlen(line + 8) + 1);
	}
	fclose(f);
	return found;
}

static bool has_flag(const char *flags, const char *f)
{
	char want[8];

	snprintf(want, sizeof(want), " %s", f);
	return strstr(flags, want) != NULL;
}

/* Locked, not dumped, wiped on fork: what secmem_alloc promises. */
static bool guarded(const void *p)
{
	char flags[256];
	long kb;

	if (!vma_of(p, flags, sizeof(flags), &kb))
		return false;
	if (locks_visible && !(has_flag(flags, "lo") && kb > 0))
		return false;
	return has_flag(flags, "dd") && has_flag(flags, "wf");
}

static bool probe_locks(void)
{
	void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char flags[256];
	long kb;
	bool seen;

	if (p == MAP_FAILED)
		return false;
	seen = mlock(p, page) == 0 && vma_of(p, flags, sizeof(flags), &kb) &&
	       has_flag(flags, "lo");
	munlock(p, page);
	munmap(p, page);
	return seen;
}

static void require_locks(void)
{
	if (!locks_visible) {
		print_message("skip: mlock has no effect in this build (sanitizer)\n");
		skip();
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* VmLck of this process, kB. */
static long vmlck_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmLck:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	assert_true(kb >= 0);
	return kb;
}

/* The pool tests lock up to SECMEM_POOL_PAGES + EXTRA_PAGES pages at once. */
static void require_memlock(void)
{
	struct rlimit rl;
	size_t need = (SECMEM_POOL_PAGES + EXTRA_PAGES + 8) * page;

	assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	if (geteuid() != 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		print_message("skip: RLIMIT_MEMLOCK %llu bytes, the test locks %zu\n",
			      (unsigned long long)rl.rlim_cur, need);
		skip();
	}
}

static void test_alloc_guarded(void **state)
{
	const size_t sizes[] = { 1, 33, page - HDR, page - HDR + 1, 3 * page };
	(void)state;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = secmem_alloc(sizes[i]);

		assert_non_null(p);
		assert_int_equal(secmem_size(p), sizes[i]);
		assert_true(all_zero(p, sizes[i]));
		assert_true(guarded(p));
		assert_true(guarded(p + sizes[i] - 1));
		memset(p, 0xa5, sizes[i]);
		secmem_free(p);
	}
	errno = 0;
	assert_null(secmem_alloc(0));
	assert_int_equal(errno, EINVAL);
	secmem_free(NULL);
}

/* A freed page comes back wiped, and still locked. */
static void test_reuse_wiped(void **state)
{
	uint8_t *p, *q;
	(void)state;

	p = secmem_alloc(page - HDR);
	assert_non_null(p);
	memset(p, 0xa5, page - HDR);
	secmem_free(p);
	q = secmem_alloc(48);
	assert_ptr_equal(q, p); /* the page just kept */
	assert_int_equal(secmem_size(q), 48);
	assert_true(all_zero(q, page - HDR));
	assert_true(guarded(q));
	secmem_free(q);
}

/* At most SECMEM_POOL_PAGES pages stay locked after their free; buffers of
 * several pages are never kept. */
static void test_pool_bounded(void **state)
{
	enum { N = SECMEM_POOL_PAGES + EXTRA_PAGES };
	uint8_t *p[N], *big;
	long busy, idle, kb = (long)(page / 1024);
	(void)state;

	require_locks();
	require_memlock();
	/* N buffers take every kept page and map the rest */
	for (size_t i = 0; i < N; i++) {
		p[i] = secmem_alloc(100);
		assert_non_null(p[i]);
	}
	busy = vmlck_kb();
	big = secmem_alloc(3 * page);
	assert_non_null(big);
	assert_int_equal(vmlck_kb(), busy + 4 * kb);
	secmem_free(big);
	assert_int_equal(vmlck_kb(), busy);
	for (size_t i = 0; i < N; i++)
		secmem_free(p[i]);
	idle = vmlck_kb();
	assert_int_equal(idle, busy - EXTRA_PAGES * kb);
	/* the kept pages serve the next allocations: nothing new is locked */
	for (size_t i = 0; i < SECMEM_POOL_PAGES; i++) {
		p[i] = secmem_alloc(page - HDR);
		assert_non_null(p[i]);
		assert_true(all_zero(p[i], page - HDR));
	}
	assert_int_equal(vmlck_kb(), idle);
	for (size_t i = 0; i < SECMEM_POOL_PAGES; i++)
		secmem_free(p[i]);
}

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	uint8_t mark = (uint8_t)(0x10 + (uintptr_t)arg);

	for (int i = 0; i < ROUNDS; i++) {
		size_t len = 1 + (size_t)rand_r(&seed) % (2 * page);
		uint8_t *p = secmem_alloc(len);

		if (!p || secmem_size(p) != len || !all_zero(p, len))
			return (void *)1;
		memset(p, mark, len);
		if (i % 64 == 0)
			sched_yield();
		for (size_t j = 0; j < len; j++)
			if (p[j] != mark)
				return (void *)1;
		secmem_free(p);
	}
	return NULL;
}

/* Threads allocating and freeing at once each get a zeroed buffer of their
 * own: no page is handed out twice. */
static void test_threads(void **state)
{
	pthread_t t[THREADS];
	(void)state;

	require_memlock();
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)i), 0);
	for (size_t i = 0; i < THREADS; i++) {
		void *r = (void *)1;

		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
}

/* mlock is not inherited: a child must not get a kept page unlocked. */
static void test_fork_child_locks(void **state)
{
	uint8_t *p[4];
	int st = 0;
	pid_t pid;
	(void)state;

	require_locks();
	for (size_t i = 0; i < 4; i++)
		p[i] = secmem_alloc(64);
	for (size_t i = 0; i < 4; i++) {
		assert_non_null(p[i]);
		secmem_free(p[i]);
	}
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t *c = secmem_alloc(64);

		_exit(c && guarded(c) && all_zero(c, page - HDR) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* the parent's pool is untouched */
	p[0] = secmem_alloc(64);
	assert_non_null(p[0]);
	assert_true(guarded(p[0]));
	secmem_free(p[0]);
}

/* A kept page has no header any more: freeing it again aborts. */
static void test_double_free_aborts(void **state)
{
	int st = 0;
	pid_t pid;
	(void)state;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t *c = secmem_alloc(16);
		struct rlimit none = { 0, 0 };

		(void)setrlimit(RLIMIT_CORE, &none);
		secmem_free(c);
		secmem_free(c);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_guarded),	 cmocka_unit_test(test_reuse_wiped),
		cmocka_unit_test(test_pool_bounded),	 cmocka_unit_test(test_threads),
		cmocka_unit_test(test_fork_child_locks), cmocka_unit_test(test_double_free_aborts),
	};

	page = (size_t)sysconf(_SC_PAGESIZE);
	locks_visible = probe_locks();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
