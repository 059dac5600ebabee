/*
 * The reason-code registry (src/common/reason_codes.def): well formed, the
 * exit mapping of `ccunlock` derived from it, every code the sources use
 * registered, and every registered code named in a man page (docs/NAME.8.md,
 * by name or by a `FAMILY_*` wildcard there).
 *
 * The source scan takes every string literal in src/ that looks like a code
 * (UPPER_CASE with an underscore, or one of the single-word codes below),
 * comments excluded, minus the few upper-case literals that are no codes
 * (environment variables, field labels, ioctl names). A new code that is
 * not registered fails here, naming it and its file.
 */
#include "helpers/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ccunlock/cli.h"
#include "ccunlock/exitcodes.h"
#include "common/reason.h"

struct entry {
	const char *code;
	int exit;
	const char *meaning;
	bool test_only;
};

static const struct entry registry[] = {
#define CCU_REASON(code, exit, meaning) { #code, CCU_EXIT_##exit, meaning, false },
#define CCU_REASON_TEST(code, exit, meaning) { #code, CCU_EXIT_##exit, meaning, true },
#include "common/reason_codes.def"
#undef CCU_REASON
#undef CCU_REASON_TEST
};

/* Codes without an underscore. */
static const char *const single_word[] = { "INTERNAL", "USAGE", "INPUT", "LISTEN", "FORMAT",
					   "SIGNATURE" };
/* Upper-case literals in src/ that are not reason codes. */
static const char *const not_codes[] = {
	"ALL_PROXY",	 "CRYPTTAB_SOURCE", "CURL_CA_BUNDLE", "CURL_HOME",
	"HTTPS_PROXY",	 "NO_PROXY",	    "OPENSSL_CONF",   "SSL_CERT_DIR",
	"SSL_CERT_FILE", "COMMITTED_TCB",   "LAUNCH_TCB",     "REPORTED_TCB",
	"SNP_GET_EXT_REPORT", "SNP_GET_REPORT",
	/* OVMF metadata section names (src/measure/firmware.c) */
	"SNP_SEC_MEM",	 "SNP_SECRETS",	    "SVSM_CAA",	      "SNP_KERNEL_HASHES",
};

#define SCAN_FILE_MAX (1024 * 1024)
#define SCAN_DEPTH_MAX 6

static const struct entry *lookup(const char *code)
{
	for (size_t i = 0; i < ARRAY_SIZE(registry); i++)
		if (strcmp(registry[i].code, code) == 0)
			return &registry[i];
	return NULL;
}

static bool in_list(const char *s, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, l[i]) == 0)
			return true;
	return false;
}

static bool code_shaped(const char *s)
{
	bool underscore = false;

	if (!(s[0] >= 'A' && s[0] <= 'Z'))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '_') {
			if (p[1] == '\0' || p[1] == '_')
				return false;
			underscore = true;
		} else if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
			return false;
		}
	}
	return underscore || in_list(s, single_word, ARRAY_SIZE(single_word));
}

static void test_registry_well_formed(void **state)
{
	(void)state;
	assert_true(ARRAY_SIZE(registry) > 100);
	for (size_t i = 0; i < ARRAY_SIZE(registry); i++) {
		const struct entry *e = &registry[i];
		if (!code_shaped(e->code))
			fail_msg("registry: '%s' is not an UPPER_CASE code", e->code);
		assert_true(strlen(e->code) < CCU_REASON_CODE_MAX);
		if (e->meaning[0] == '\0' || strchr(e->meaning, '\n'))
			fail_msg("registry: %s needs a one-line meaning", e->code);
		for (size_t j = i + 1; j < ARRAY_SIZE(registry); j++)
			if (strcmp(e->code, registry[j].code) == 0)
				fail_msg("registry: %s twice", e->code);
	}
}

static void test_exit_mapping_from_registry(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(registry); i++) {
		int want = registry[i].test_only ? CCU_EXIT_INTERNAL : registry[i].exit;
		if (cli_exit_for_code(registry[i].code) != want)
			fail_msg("%s: exit %d, registry says %d", registry[i].code,
				 cli_exit_for_code(registry[i].code), want);
	}
	/* the contract the boot scripts and monitoring rely on */
	assert_int_equal(cli_exit_for_code("USAGE"), 2);
	assert_int_equal(cli_exit_for_code("CONFIG_IO"), 3);
	assert_int_equal(cli_exit_for_code("CMDLINE_REFUSED"), 4);
	assert_int_equal(cli_exit_for_code("POSTURE_VMPL"), 4);
	assert_int_equal(cli_exit_for_code("BROKER_TIMEOUT"), 5);
	assert_int_equal(cli_exit_for_code("BROKER_DENIED"), 6);
	assert_int_equal(cli_exit_for_code("KBS_JWE_DECRYPT"), 6);
	assert_int_equal(cli_exit_for_code("LUKS_WRONG_KEY"), 7);
	assert_int_equal(cli_exit_for_code("TOKEN_TYPE"), 8);
	assert_int_equal(cli_exit_for_code("KBS_INTERNAL"), 9);
	assert_int_equal(cli_exit_for_code("NO_SUCH_CODE"), 9);
}

/* The string literals of C text, comments and character constants skipped. */
static void scan_text(const char *path, const char *s, size_t n, unsigned *bad)
{
	char lit[CCU_REASON_CODE_MAX + 1];

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
			const char *e = strstr(s + i + 2, "*/");
			i = e ? (size_t)(e - s) + 1 : n;
		} else if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
			while (i < n && s[i] != '\n')
				i++;
		} else if (s[i] == '\'') {
			for (i++; i < n && s[i] != '\''; i++)
				if (s[i] == '\\')
					i++;
		} else if (s[i] == '"') {
			size_t len = 0;
			bool fits = true;
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\') {
					i++;
					fits = false;
				}
				if (len < sizeof(lit) - 1)
					lit[len++] = s[i];
				else
					fits = false;
			}
			lit[len] = '\0';
			if (fits && code_shaped(lit) && !in_list(lit, not_codes, ARRAY_SIZE(not_codes)) &&
			    !lookup(lit)) {
				print_error("%s: code %s is not in src/common/reason_codes.def\n", path,
					    lit);
				(*bad)++;
			}
		}
	}
}

static void scan_dir(const char *dir, int depth, unsigned *files, unsigned *bad)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		fail_msg("%s: %s", dir, strerror(errno));
	assert_true(depth < SCAN_DEPTH_MAX);
	while ((de = readdir(d))) {
		char p[8192];
		struct stat st;
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			scan_dir(p, depth + 1, files, bad);
		} else if (l > 2 && (strcmp(de->d_name + l - 2, ".c") == 0 ||
				     strcmp(de->d_name + l - 2, ".h") == 0)) {
			size_t n;
			uint8_t *text = tu_read(p, &n);
			assert_true(n < SCAN_FILE_MAX);
			scan_text(p, (const char *)text, n, bad);
			free(text);
			(*files)++;
		}
	}
	closedir(d);
}

static void test_every_code_in_src_is_registered(void **state)
{
	char src[4096];
	unsigned files = 0, bad = 0;
	(void)state;

	snprintf(src, sizeof(src), "%s/src", tu_top());
	scan_dir(src, 0, &files, &bad);
	assert_true(files > 50);
	assert_int_equal(bad, 0);
}

static char *read_man_pages(void)
{
	char dir[4096];
	DIR *d;
	struct dirent *de;
	char *all = calloc(1, 1);
	size_t total = 0;

	snprintf(dir, sizeof(dir), "%s/docs", tu_top());
	d = opendir(dir);
	if (!d || !all)
		fail_msg("%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), n;
		char p[8192];
		uint8_t *t;

		if (l < 5 || strcmp(de->d_name + l - 5, ".8.md") != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		t = tu_read(p, &n);
		char *grown = realloc(all, total + n + 2);
		assert_non_null(grown);
		all = grown;
		memcpy(all + total, t, n);
		total += n;
		all[total++] = '\n';
		all[total] = '\0';
		free(t);
	}
	closedir(d);
	return all;
}

static bool code_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* @code as a word of @text, or a `FAMILY_*` of @text that covers it. */
static bool documented(const char *text, const char *code)
{
	size_t n = strlen(code);

	for (const char *p = strstr(text, code); p; p = strstr(p + 1, code))
		if ((p == text || !code_char(p[-1])) && !code_char(p[n]))
			return true;
	for (const char *p = strstr(text, "_*`"); p; p = strstr(p + 1, "_*`")) {
		const char *b = p;
		while (b > text && code_char(b[-1]))
			b--;
		if (b > text && b[-1] == '`' && strncmp(code, b, (size_t)(p - b) + 1) == 0)
			return true;
	}
	return false;
}

static void test_every_code_in_a_man_page(void **state)
{
	char *man = read_man_pages();
	unsigned bad = 0;
	(void)state;

	assert_true(strlen(man) > 1000);
	for (size_t i = 0; i < ARRAY_SIZE(registry); i++) {
		if (registry[i].test_only)
			continue;
		if (!documented(man, registry[i].code)) {
			print_error("%s is in no man page (docs/*.8.md)\n", registry[i].code);
			bad++;
		}
	}
	/* the check itself can fail */
	assert_false(documented(man, "NO_SUCH_CODE_ANYWHERE"));
	free(man);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_well_formed),
		cmocka_unit_test(test_exit_mapping_from_registry),
		cmocka_unit_test(test_every_code_in_src_is_registered),
		cmocka_unit_test(test_every_code_in_a_man_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
