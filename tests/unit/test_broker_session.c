/* The broker's session table and metrics, without a server: bounds,
 * expiry, single-use nonces, and the Prometheus rendering. */
#include "helpers/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/metrics.h"
#include "broker/session.h"
#include "common/macros.h"

static void test_session_life(void **state)
{
	struct broker_sessions *t = broker_sessions_new(2, 60);
	char id[BROKER_SESSION_ID_LEN + 1], id2[BROKER_SESSION_ID_LEN + 1], id3[33];
	char nonce[KBS_NONCE_LEN + 1], n2[KBS_NONCE_LEN + 1], got[KBS_NONCE_LEN + 1];
	struct broker_attested a, out;
	struct ccu_reason why = { 0 };
	time_t exp;

	(void)state;
	assert_non_null(t);
	assert_int_equal(broker_sessions_create(t, 1000, id, nonce, &exp, &why), 0);
	assert_int_equal(exp, 1060);
	assert_true(broker_session_id_valid(id));
	assert_int_equal(strlen(nonce), KBS_NONCE_LEN);
	assert_int_equal(broker_sessions_create(t, 1000, id2, n2, &exp, &why), 0);
	assert_string_not_equal(id, id2);
	assert_string_not_equal(nonce, n2);
	/* Full: a third live session is refused. */
	assert_int_equal(broker_sessions_create(t, 1001, id3, n2, &exp, &why), -EBUSY);
	assert_string_equal(why.code, "SESSION_LIMIT");
	/* Release before attestation is refused; the nonce is taken once. */
	assert_int_equal(broker_sessions_get(t, id, 1001, &out, &why), -EACCES);
	assert_string_equal(why.code, "SESSION_NOT_ATTESTED");
	assert_int_equal(broker_sessions_consume(t, id, 1001, got, &why), 0);
	assert_string_equal(got, nonce);
	assert_int_equal(broker_sessions_consume(t, id, 1001, got, &why), -EALREADY);
	assert_string_equal(why.code, "SESSION_NONCE_USED");
	memset(&a, 0, sizeof(a));
	memcpy(a.token, "t.o.k", 6);
	a.product = SNP_PRODUCT_GENOA;
	assert_int_equal(broker_sessions_attested(t, id, 1002, &a, 1300, &why), 0);
	assert_int_equal(broker_sessions_get(t, id, 1299, &out, &why), 0);
	assert_string_equal(out.token, "t.o.k");
	assert_int_equal(out.product, SNP_PRODUCT_GENOA);
	/* Attested sessions live as long as their token; others expire. */
	assert_int_equal(broker_sessions_consume(t, id2, 1060, got, &why), -ENOENT);
	assert_string_equal(why.code, "SESSION_UNKNOWN");
	assert_int_equal(broker_sessions_get(t, id, 1300, &out, &why), -ENOENT);
	assert_int_equal(broker_sessions_purge(t, 1100), 1);
	assert_int_equal(broker_sessions_count(t), 1);
	assert_int_equal(broker_sessions_create(t, 1100, id3, n2, &exp, &why), 0);
	/* Expired sessions make room when the table is full. */
	assert_int_equal(broker_sessions_create(t, 1400, id2, n2, &exp, &why), 0);
	assert_int_equal(broker_sessions_count(t), 1);
	broker_sessions_free(t);
}

static void test_session_ids(void **state)
{
	(void)state;
	assert_true(broker_session_id_valid("0123456789abcdef0123456789abcdef"));
	assert_false(broker_session_id_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(broker_session_id_valid("0123456789abcdef0123456789abcde"));
	assert_false(broker_session_id_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(broker_session_id_valid(""));
	assert_false(broker_session_id_valid("0123456789abcdef0123456789abcdeg"));
}

static void test_metrics_render(void **state)
{
	struct broker_metrics *m = broker_metrics_new();
	char *t;

	(void)state;
	broker_metrics_request(m, "attest", 200, 3000);
	broker_metrics_request(m, "attest", 401, 700);
	broker_metrics_request(m, "bogus", 418, 10);
	broker_metrics_decision(m, "attest", true, "");
	broker_metrics_decision(m, "release", false, "POLICY_MEASUREMENT");
	broker_metrics_decision(m, "release", false, "POLICY_MEASUREMENT");
	t = broker_metrics_render(m, 7, 3);
	assert_non_null(t);
	assert_non_null(strstr(t, "ccunlock_kbs_requests_total{route=\"attest\",code=\"200\"} 1\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_requests_total{route=\"attest\",code=\"401\"} 1\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_requests_total{route=\"unrouted\",code=\"other\"} 1\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_request_duration_seconds_bucket{route=\"attest\",le=\"0.001\"} 1\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_request_duration_seconds_bucket{route=\"attest\",le=\"0.005\"} 2\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_request_duration_seconds_count{route=\"attest\"} 2\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_request_duration_seconds_sum{route=\"attest\"} 0.003700\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_decisions_total{event=\"release\",decision=\"deny\",reason=\"POLICY_MEASUREMENT\"} 2\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_decisions_total{event=\"attest\",decision=\"allow\",reason=\"\"} 1\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_sessions 7\n"));
	assert_non_null(strstr(t, "ccunlock_kbs_connections 3\n"));
	free(t);
	broker_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_life),
		cmocka_unit_test(test_session_ids),
		cmocka_unit_test(test_metrics_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
