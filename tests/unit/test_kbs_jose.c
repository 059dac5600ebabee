/*
 * Independent interoperability check of the JWE code against latchset's
 * `jose` CLI (Debian package "jose", a separate C implementation of JOSE):
 *  - `jose jwe dec` must decrypt what kbs_jwe_encrypt() produced;
 *  - kbs_jwe_decrypt() must decrypt what `jose jwe enc` produced for our
 *    public JWK (compact output converted to the flattened form: jose puts
 *    the epk in an unprotected "header" member in its own flattened output,
 *    which our strict parser refuses as Trustee never sends it).
 *  - the same both ways for ES256 tokens (raw r||s signatures, RFC 7518).
 * Skips with a message when `jose` is not installed ($CCU_JOSE overrides).
 */
#include "helpers/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/secmem.h"
#include "common/util.h"
#include "kbs/jwe.h"
#include "kbs/jwk.h"
#include "kbs/jwt.h"
#include "kbs/kbs.h"

static char jose_path[PATH_MAX];
static char *dir;

static bool find_jose(void)
{
	const char *env = getenv("CCU_JOSE"), *path = getenv("PATH");
	char buf[PATH_MAX];

	if (env) {
		snprintf(jose_path, sizeof(jose_path), "%s", env);
		if (access(jose_path, X_OK) == 0)
			return true;
		jose_path[0] = '\0';
		return false;
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t l = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/jose", (int)l, p);
		if (l && access(buf, X_OK) == 0) {
			snprintf(jose_path, sizeof(jose_path), "%s", buf);
			return true;
		}
		p += l;
		if (*p == ':')
			p++;
	}
	return false;
}

#define REQUIRE_JOSE()                                                                             \
	do {                                                                                       \
		if (!jose_path[0]) {                                                               \
			print_message("skip: the jose CLI is not installed (apt install jose)\n"); \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static int setup(void **state)
{
	(void)state;
	if (find_jose())
		dir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (dir) {
		tu_rmrf(dir);
		free(dir);
	}
	return 0;
}

static const char *path_of(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void write_file(const char *name, const void *data, size_t len)
{
	assert_int_equal(ccu_write_file_atomic(path_of(name), data, len, 0600), 0);
}

/* Run jose with @argv (argv[0] is replaced); stderr to a log file. */
static int run_jose(const char **argv)
{
	posix_spawn_file_actions_t fa;
	char out_log[PATH_MAX], err_log[PATH_MAX];
	pid_t pid;
	int st = 0;

	/* Own buffers: path_of()'s rotating ones hold the caller's argv. */
	snprintf(out_log, sizeof(out_log), "%s/stdout.log", dir);
	snprintf(err_log, sizeof(err_log), "%s/stderr.log", dir);
	argv[0] = jose_path;
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(
		posix_spawn(&pid, jose_path, &fa, NULL, (char *const *)(uintptr_t)argv, environ),
		0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		uint8_t *log = NULL;
		size_t ll = 0;

		/* Show jose's own words in the test log. */
		if (ccu_read_file(err_log, 4096, &log, &ll) == 0)
			print_message("jose %s %s: %.*s\n", argv[1], argv[2], (int)ll, (char *)log);
		free(log);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Some jose builds (e.g. Debian's v11 on OpenSSL 3) offer only RSA1_5. */
static bool jose_has_alg(const char *alg)
{
	const char *argv[] = { NULL, "alg", NULL };
	char log[PATH_MAX];
	uint8_t *out = NULL;
	size_t ol = 0;
	bool found = false;

	if (run_jose(argv) != 0)
		return false;
	snprintf(log, sizeof(log), "%s/stdout.log", dir);
	if (ccu_read_file(log, 65536, &out, &ol) == 0) {
		for (char *line = strtok((char *)out, "\n"); line && !found;
		     line = strtok(NULL, "\n"))
			found = strcmp(line, alg) == 0;
	}
	free(out);
	return found;
}

#define REQUIRE_JOSE_ALG(alg)                                                                      \
	do {                                                                                       \
		REQUIRE_JOSE();                                                                    \
		if (!jose_has_alg(alg)) {                                                          \
			print_message("skip: this jose build does not implement %s\n", alg);       \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void our_jwe_jose_decrypts(EVP_PKEY *key)
{
	static const char pt[] = "0123456789abcdef0123456789abcdef-disk-key\n";
	char *jwe = NULL, *priv = NULL;
	uint8_t *out;
	size_t ol;
	const char *argv[] = { NULL, "jwe", "dec", "-k", NULL, "-i", NULL, "-O", NULL, NULL };

	assert_int_equal(kbs_jwk_export_private(key, &priv, NULL), 0);
	write_file("priv.jwk", priv, strlen(priv));
	secmem_free(priv);
	assert_int_equal(kbs_jwe_encrypt(key, (const uint8_t *)pt, strlen(pt), &jwe, NULL, NULL),
			 0);
	write_file("our.jwe", jwe, strlen(jwe));
	free(jwe);
	argv[4] = path_of("priv.jwk");
	argv[6] = path_of("our.jwe");
	argv[8] = path_of("plain.out");
	unlink(argv[8]);
	assert_int_equal(run_jose(argv), 0);
	assert_int_equal(ccu_read_file(path_of("plain.out"), 4096, &out, &ol), 0);
	assert_int_equal(ol, strlen(pt));
	assert_memory_equal(out, pt, ol);
	free(out);
	unlink(path_of("priv.jwk"));
}

/* compact "a.b.c.d.e" -> our flattened JSON */
static char *compact_to_flat(const char *c)
{
	const char *names[] = { "protected", "encrypted_key", "iv", "ciphertext", "tag" };
	json_t *o = json_object();
	char *copy = strdup(c), *save = NULL, *tok, *s;
	size_t n = 0;

	copy[strcspn(copy, "\r\n")] = '\0';
	for (tok = strtok_r(copy, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		assert_true(n < 5);
		json_object_set_new(o, names[n++], json_string(tok));
	}
	assert_int_equal(n, 5);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(copy);
	return s;
}

static void jose_jwe_we_decrypt(EVP_PKEY *key, const char *alg)
{
	static const char pt[] = "secret from jose / with + and \"quotes\"";
	char tmpl[128], *flat, *flat_hdr;
	const char *argv[] = { NULL, "jwe", "enc", "-i", tmpl, "-I", NULL,
			       "-k", NULL,  "-c",  "-o", NULL, NULL };
	struct kbs_jwk pub;
	json_t *pubj;
	char *pubs;
	uint8_t *c, *out = NULL;
	size_t cl, ol = 0;
	struct ccu_reason r = { 0 };

	assert_int_equal(kbs_jwk_from_pkey(key, &pub, NULL), 0);
	pubj = kbs_jwk_to_json(&pub);
	pubs = json_dumps(pubj, JSON_COMPACT);
	write_file("pub.jwk", pubs, strlen(pubs));
	free(pubs);
	json_decref(pubj);
	write_file("pt.in", pt, strlen(pt));
	snprintf(tmpl, sizeof(tmpl), "{\"protected\":{\"alg\":\"%s\",\"enc\":\"A256GCM\"}}", alg);
	argv[6] = path_of("pt.in");
	argv[8] = path_of("pub.jwk");
	argv[11] = path_of("jose.jwe");
	assert_int_equal(run_jose(argv), 0);
	assert_int_equal(ccu_read_file(path_of("jose.jwe"), 65536, &c, &cl), 0);
	flat = compact_to_flat((const char *)c);
	free(c);
	assert_int_equal(kbs_jwe_decrypt(key, flat, strlen(flat), &out, &ol, &r), 0);
	assert_int_equal(ol, strlen(pt));
	assert_memory_equal(out, pt, ol);
	secmem_free(out);
	/* The same bytes with one tampered tag byte fail. */
	flat_hdr = strstr(flat, "\"tag\":\"");
	assert_non_null(flat_hdr);
	flat_hdr[7] = flat_hdr[7] == 'A' ? 'B' : 'A';
	assert_true(kbs_jwe_decrypt(key, flat, strlen(flat), &out, &ol, &r) < 0);
	assert_string_equal(r.code, KBS_R_JWE_DECRYPT);
	free(flat);
}

static void test_jose_decrypts_ours_ec(void **state)
{
	EVP_PKEY *k = NULL;
	(void)state;

	REQUIRE_JOSE_ALG("ECDH-ES+A256KW");
	assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
	for (int i = 0; i < 4; i++)
		our_jwe_jose_decrypts(k);
	EVP_PKEY_free(k);
}

static void test_jose_decrypts_ours_rsa(void **state)
{
	EVP_PKEY *k;
	(void)state;

	REQUIRE_JOSE_ALG("RSA-OAEP-256");
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k);
	our_jwe_jose_decrypts(k);
	EVP_PKEY_free(k);
}

static void test_we_decrypt_jose_ec(void **state)
{
	EVP_PKEY *k = NULL;
	(void)state;

	REQUIRE_JOSE();
	assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
	for (int i = 0; i < 4; i++)
		jose_jwe_we_decrypt(k, "ECDH-ES+A256KW");
	EVP_PKEY_free(k);
}

static void test_we_decrypt_jose_rsa(void **state)
{
	EVP_PKEY *k;
	(void)state;

	REQUIRE_JOSE_ALG("RSA-OAEP-256");
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k);
	jose_jwe_we_decrypt(k, "RSA-OAEP-256");
	EVP_PKEY_free(k);
}

/* jose's own flattened output carries the epk in "header": refused. */
static void test_jose_flattened_header_refused(void **state)
{
	static const char pt[] = "x";
	const char *argv[] = { NULL, "jwe", "enc", "-I", NULL, "-k", NULL, "-o", NULL, NULL };
	EVP_PKEY *k = NULL;
	struct kbs_jwk pub;
	struct ccu_reason r = { 0 };
	uint8_t *c, *out = NULL;
	size_t cl, ol;
	char *pubs;
	json_t *pubj;
	(void)state;

	REQUIRE_JOSE();
	assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
	assert_int_equal(kbs_jwk_from_pkey(k, &pub, NULL), 0);
	pubj = kbs_jwk_to_json(&pub);
	pubs = json_dumps(pubj, JSON_COMPACT);
	write_file("pub.jwk", pubs, strlen(pubs));
	write_file("pt.in", pt, 1);
	argv[4] = path_of("pt.in");
	argv[6] = path_of("pub.jwk");
	argv[8] = path_of("flat.jwe");
	assert_int_equal(run_jose(argv), 0);
	assert_int_equal(ccu_read_file(path_of("flat.jwe"), 65536, &c, &cl), 0);
	assert_int_equal(kbs_jwe_decrypt(k, (const char *)c, cl, &out, &ol, &r), -EBADMSG);
	assert_string_equal(r.code, KBS_R_JWE);
	free(c);
	free(pubs);
	json_decref(pubj);
	EVP_PKEY_free(k);
}

/* JWK text of @k with "alg" set to @alg (private when @priv). */
static void write_jwk_alg(const char *name, EVP_PKEY *k, bool priv, const char *alg)
{
	json_t *o;
	char *s;

	if (priv) {
		char *p = NULL;

		assert_int_equal(kbs_jwk_export_private(k, &p, NULL), 0);
		o = json_loads(p, 0, NULL);
		secmem_free(p);
	} else {
		struct kbs_jwk pub;

		assert_int_equal(kbs_jwk_from_pkey(k, &pub, NULL), 0);
		o = kbs_jwk_to_json(&pub);
	}
	assert_non_null(o);
	json_object_set_new(o, "alg", json_string(alg));
	s = json_dumps(o, JSON_COMPACT);
	write_file(name, s, strlen(s));
	free(s);
	json_decref(o);
}

static void test_jose_verifies_our_es256(void **state)
{
	const char *argv[] = { NULL, "jws", "ver", "-i", NULL, "-k", NULL, "-O", NULL, NULL };
	EVP_PKEY *k = NULL;
	json_t *claims;
	char *tok = NULL, *cj;
	uint8_t *out;
	size_t ol;
	(void)state;

	REQUIRE_JOSE_ALG("ES256");
	assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
	write_jwk_alg("es.pub.jwk", k, false, "ES256");
	for (int i = 0; i < 8; i++) {
		claims = kbs_jwt_claims_new(1800000000 + i, 300);
		json_object_set_new(claims, "sub", json_string("a/b+c"));
		cj = json_dumps(claims, JSON_COMPACT);
		assert_int_equal(kbs_jwt_sign(k, claims, &tok, NULL), 0);
		write_file("our.jws", tok, strlen(tok));
		argv[4] = path_of("our.jws");
		argv[6] = path_of("es.pub.jwk");
		argv[8] = path_of("payload.out");
		assert_int_equal(run_jose(argv), 0);
		assert_int_equal(ccu_read_file(path_of("payload.out"), 4096, &out, &ol), 0);
		assert_int_equal(ol, strlen(cj));
		assert_memory_equal(out, cj, ol);
		free(out);
		free(cj);
		free(tok);
		json_decref(claims);
	}
	EVP_PKEY_free(k);
}

static void test_we_verify_jose_es256(void **state)
{
	static const char claims[] = "{\"iat\":1800000000,\"exp\":1800000300,\"sub\":\"x\"}";
	const char *argv[] = { NULL, "jws", "sig", "-I", NULL, "-k", NULL, "-c", "-o", NULL, NULL };
	struct kbs_jwt_verify_opts o = {
		.alg = KBS_JWT_ES256,
		.now = 1800000010,
		.skew = 0,
		.max_lifetime = 300,
	};
	EVP_PKEY *k = NULL;
	uint8_t *tok;
	size_t tl;
	json_t *got = NULL;
	struct ccu_reason r = { 0 };
	(void)state;

	REQUIRE_JOSE_ALG("ES256");
	assert_int_equal(kbs_jwk_generate_ec(&k, NULL), 0);
	write_jwk_alg("es.jwk", k, true, "ES256");
	write_file("claims.in", claims, strlen(claims));
	argv[4] = path_of("claims.in");
	argv[6] = path_of("es.jwk");
	argv[9] = path_of("jose.jws");
	assert_int_equal(run_jose(argv), 0);
	unlink(path_of("es.jwk"));
	assert_int_equal(ccu_read_file(path_of("jose.jws"), 65536, &tok, &tl), 0);
	while (tl && (tok[tl - 1] == '\n' || tok[tl - 1] == '\r'))
		tl--;
	assert_int_equal(kbs_jwt_verify((const char *)tok, tl, k, &o, &got, &r), 0);
	assert_string_equal(json_string_value(json_object_get(got, "sub")), "x");
	json_decref(got);
	/* the wrong expected algorithm is refused */
	o.alg = KBS_JWT_EDDSA;
	assert_true(kbs_jwt_verify((const char *)tok, tl, k, &o, NULL, &r) < 0);
	free(tok);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jose_decrypts_ours_ec),
		cmocka_unit_test(test_jose_decrypts_ours_rsa),
		cmocka_unit_test(test_we_decrypt_jose_ec),
		cmocka_unit_test(test_we_decrypt_jose_rsa),
		cmocka_unit_test(test_jose_flattened_header_refused),
		cmocka_unit_test(test_jose_verifies_our_es256),
		cmocka_unit_test(test_we_verify_jose_es256),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
