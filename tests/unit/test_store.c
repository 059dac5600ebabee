/* Broker store: sealing, persistence across reopen, and refusal of every
 * edit made behind the broker's back. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "broker/store.h"
#include "common/secmem.h"

struct fx {
	char *dir;
	char db[512];
	char keyfile[512];
	uint8_t *key;
	struct broker_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ccu_reason why = { 0 };

	f->dir = tu_mkdtemp();
	snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
	snprintf(f->keyfile, sizeof(f->keyfile), "%s/master.key", f->dir);
	assert_int_equal(broker_master_key_create(f->keyfile, &why), 0);
	assert_int_equal(broker_master_key_load(f->keyfile, &f->key, &why), 0);
	assert_int_equal(broker_store_open_sqlite(f->db, f->key, &f->s, &why), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	broker_store_close(f->s);
	secmem_free(f->key);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static const uint8_t secret[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

static void put_basics(struct fx *f)
{
	struct ccu_reason why = { 0 };

	assert_int_equal(broker_store_put_policy(f->s, "strict", "measurement = any\n", &why), 0);
	assert_int_equal(broker_store_put_resource(f->s, "default/luks/root", secret, sizeof(secret),
						   "strict", &why), 0);
}

static void test_roundtrip_and_meta(void **state)
{
	struct fx *f = *state;
	struct ccu_reason why = { 0 };
	struct broker_resource_meta m;
	uint8_t *got = NULL;
	size_t len;
	char *text = NULL;

	put_basics(f);
	/* Success leaves no reason behind (the audit log records one per
	 * decision, and an allowed write must not carry a stale failure). */
	assert_int_equal(broker_store_put_resource(f->s, "default/luks/root", secret, sizeof(secret),
						   "strict", &why), 0);
	assert_false(ccu_reason_is_set(&why));
	assert_int_equal(broker_store_get_resource(f->s, "default/luks/root", &got, &len, &m, &why), 0);
	assert_false(ccu_reason_is_set(&why));
	assert_int_equal(len, sizeof(secret));
	assert_memory_equal(got, secret, len);
	secmem_free(got);
	assert_string_equal(m.path, "default/luks/root");
	assert_string_equal(m.policy, "strict");
	assert_int_equal(m.size, 32);
	assert_true(m.created > 0 && m.updated >= m.created);
	assert_int_equal(broker_store_get_policy(f->s, "strict", &text, &why), 0);
	assert_string_equal(text, "measurement = any\n");
	free(text);
}

static int count_cb(const struct broker_resource_meta *m, void *ud)
{
	(void)m;
	(*(int *)ud)++;
	return 0;
}

static void test_list_and_delete(void **state)
{
	struct fx *f = *state;
	struct ccu_reason why = { 0 };
	int n = 0;

	put_basics(f);
	assert_int_equal(broker_store_put_resource(f->s, "default/luks/data", secret, 16, "strict", &why), 0);
	assert_int_equal(broker_store_list_resources(f->s, count_cb, &n, &why), 0);
	assert_int_equal(n, 2);
	assert_int_equal(broker_store_delete_policy(f->s, "strict", &why), -EBUSY);
	assert_string_equal(why.code, "STORE_POLICY_IN_USE");
	assert_int_equal(broker_store_delete_resource(f->s, "default/luks/data", &why), 0);
	assert_int_equal(broker_store_delete_resource(f->s, "default/luks/data", &why), -ENOENT);
	assert_string_equal(why.code, "STORE_NOT_FOUND");
	assert_int_equal(broker_store_delete_resource(f->s, "default/luks/root", &why), 0);
	assert_int_equal(broker_store_delete_policy(f->s, "strict", &why), 0);
	assert_int_equal(broker_store_delete_policy(f->s, "strict", &why), -ENOENT);
}

static void test_rejects_bad_input(void **state)
{
	struct fx *f = *state;
	struct ccu_reason why = { 0 };
	static const char *const bad_paths[] = { "a/b", "a/b/c/d", "/a/b", "a//c", "a/b/", ".a/b/c",
						 "a/b/c d", "a/b/\xc3\xa9", "" };
	uint8_t big[BROKER_RESOURCE_MAX + 1] = { 0 };

	put_basics(f);
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		assert_int_equal(broker_store_put_resource(f->s, bad_paths[i], secret, 4, "strict", &why),
				 -EINVAL);
		assert_string_equal(why.code, "STORE_NAME");
	}
	assert_int_equal(broker_store_put_resource(f->s, "a/b/c", secret, 4, "nope", &why), -ENOENT);
	assert_string_equal(why.code, "STORE_NO_POLICY");
	assert_int_equal(broker_store_put_resource(f->s, "a/b/c", secret, 0, "strict", &why), -EINVAL);
	assert_string_equal(why.code, "STORE_SIZE");
	assert_int_equal(broker_store_put_resource(f->s, "a/b/c", big, sizeof(big), "strict", &why), -EINVAL);
	assert_int_equal(broker_store_put_policy(f->s, "../x", "measurement = any\n", &why), -EINVAL);
	assert_int_equal(broker_store_get_resource(f->s, "a/b/c", &(uint8_t *){ NULL }, &(size_t){ 0 }, NULL, &why),
			 -ENOENT);
}

static void test_persists_across_reopen(void **state)
{
	struct fx *f = *state;
	struct ccu_reason why = { 0 };
	uint8_t *got = NULL;
	size_t len;

	put_basics(f);
	broker_store_close(f->s);
	f->s = NULL;
	assert_int_equal(broker_store_open_sqlite(f->db, f->key, &f->s, &why), 0);
	assert_int_equal(broker_store_get_resource(f->s, "default/luks/root", &got, &len, NULL, &why), 0);
	assert_memory_equal(got, secret, sizeof(secret));
	secmem_free(got);
}

/* Single-use ids (admin tokens' jti): once, across a reopen and across a
 * second connection to the same database (as a second broker would hold);
 * an expired id is purged and may be recorded again. */
static void test_token_id_single_use(void **state)
{
	struct fx *f = *state;
	struct ccu_reason why = { 0 };
	struct broker_store *other = NULL;

	assert_int_equal(broker_store_use_token_id(f->s, "jti-aaaaaaaaaaaaaaaa", 2000, 1000, &why), 0);
	assert_int_equal(broker_store_use_token_id(f->s, "jti-aaaaaaaaaaaaaaaa", 2000, 1001,
						   TU_FRESH(&why)),
			 -EALREADY);
	assert_string_equal(why.code, "ADMIN_TOKEN_REPLAY");
	assert_non_null(strstr(why.detail, "jti-aaaaaaaaaaaaaaaa"));
	assert_int_equal(broker_store_open_sqlite(f->db, f->key, &other, &why), 0);
	assert_int_equal(broker_store_use_token_id(other, "jti-aaaaaaaaaaaaaaaa", 2000, 1002, &why),
			 -EALREADY);
	assert_int_equal(broker_store_use_token_id(other, "jti-bbbbbbbbbbbbbbbb", 2000, 1002, &why), 0);
	assert_int_equal(broker_store_use_token_id(f->s, "jti-bbbbbbbbbbbbbbbb", 2000, 1003, &why),
			 -EALREADY);
	broker_store_close(other);
	broker_store_close(f->s);
	f->s = NULL;
	assert_int_equal(broker_store_open_sqlite(f->db, f->key, &f->s, &why), 0);
	assert_int_equal(broker_store_use_token_id(f->s, "jti-aaaaaaaaaaaaaaaa", 2000, 1004, &why),
			 -EALREADY);
	/* past its expiry the row is gone: the id is new again */
	assert_int_equal(broker_store_use_token_id(f->s, "jti-aaaaaaaaaaaaaaaa", 4000, 2001, &why), 0);
}

static void test_wrong_master_key(void **state)
{
	struct fx *f = *state;
	struct ccu_reason why = { 0 };
	struct broker_store *other = NULL;
	uint8_t key2[BROKER_MASTER_KEY_LEN];
	uint8_t *got = NULL;
	size_t len;

	put_basics(f);
	memcpy(key2, f->key, sizeof(key2));
	key2[0] ^= 1;
	assert_int_equal(broker_store_open_sqlite(f->db, key2, &other, &why), 0);
	assert_int_equal(broker_store_get_resource(other, "default/luks/root", &got, &len, NULL, &why),
			 -EBADMSG);
	assert_string_equal(why.code, "STORE_INTEGRITY");
	broker_store_close(other);
}

static void exec_sql(const char *db, const char *sql)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void expect_integrity(struct fx *f, const char *path)
{
	struct ccu_reason why = { 0 };
	uint8_t *got = NULL;
	size_t len;

	assert_int_equal(broker_store_get_resource(f->s, path, &got, &len, NULL, &why), -EBADMSG);
	assert_string_equal(why.code, "STORE_INTEGRITY");
}

static void test_edits_behind_our_back(void **state)
{
	struct fx *f = *state;
	struct ccu_reason why = { 0 };

	put_basics(f);
	assert_int_equal(broker_store_put_policy(f->s, "open", "measurement = any\n", &why), 0);
	assert_int_equal(broker_store_put_resource(f->s, "default/luks/other", secret, 8, "open", &why), 0);

	/* Re-pointing a resource at a laxer policy. */
	exec_sql(f->db, "UPDATE resources SET policy = 'open' WHERE name = 'default/luks/root'");
	expect_integrity(f, "default/luks/root");
	exec_sql(f->db, "UPDATE resources SET policy = 'strict' WHERE name = 'default/luks/root'");

	/* Swapping two sealed values. */
	exec_sql(f->db, "UPDATE resources SET blob = (SELECT blob FROM resources WHERE name = "
			"'default/luks/other') WHERE name = 'default/luks/root'");
	expect_integrity(f, "default/luks/root");

	/* Flipping a ciphertext byte. */
	assert_int_equal(broker_store_put_resource(f->s, "default/luks/root", secret, 32, "strict", &why), 0);
	exec_sql(f->db, "UPDATE resources SET blob = substr(blob, 1, 20) || CASE WHEN "
			"substr(blob, 21, 1) = X'00' THEN X'01' ELSE X'00' END || substr(blob, 22) "
			"WHERE name = 'default/luks/root'");
	expect_integrity(f, "default/luks/root");

	/* Replacing a policy's text. */
	exec_sql(f->db, "UPDATE policies SET blob = (SELECT blob FROM policies WHERE name = 'open') "
			"WHERE name = 'strict'");
	{
		char *text = NULL;

		assert_int_equal(broker_store_get_policy(f->s, "strict", &text, &why), -EBADMSG);
		assert_string_equal(why.code, "STORE_INTEGRITY");
	}
}

static void test_master_key_file_rules(void **state)
{
	struct fx *f = *state;
	struct ccu_reason why = { 0 };
	char p[600];
	uint8_t *k = NULL;
	FILE *fp;

	assert_int_equal(broker_master_key_create(f->keyfile, &why), -EEXIST);
	assert_int_equal(chmod(f->keyfile, 0440), 0);
	assert_int_equal(broker_master_key_load(f->keyfile, &k, &why), -EPERM);
	assert_string_equal(why.code, "MASTER_KEY");
	snprintf(p, sizeof(p), "%s/short.key", f->dir);
	fp = fopen(p, "w");
	fputs("too short", fp);
	fclose(fp);
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(broker_master_key_load(p, &k, &why), -EINVAL);
	snprintf(p, sizeof(p), "%s/missing.key", f->dir);
	assert_true(broker_master_key_load(p, &k, &why) < 0);
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_and_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persists_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_id_single_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_master_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edits_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_key_file_rules, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
