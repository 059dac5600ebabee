/*
 * snp_evidence_parse_text on arbitrary text. Whatever it accepts must
 * round-trip: build(raw, certs) -> text -> parse gives the same raw report
 * and the same certificates (DER), with report_b64 present.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "snp/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_der(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int na = i2d_X509(a, &da), nb = i2d_X509(b, &db);
	bool same = na > 0 && na == nb && memcmp(da, db, (size_t)na) == 0;

	OPENSSL_free(da);
	OPENSSL_free(db);
	return same;
}

static void check_round_trip(const struct snp_evidence *e)
{
	struct ccu_reason why = { 0 };
	struct snp_evidence again;
	json_t *ev = snp_evidence_build(e->raw, e->certs);
	char *text;
	int n;

	if (!ev)
		__builtin_trap();
	text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!text || snp_evidence_parse_text(text, strlen(text), &again, &why) != 0)
		__builtin_trap();
	free(text);
	if (memcmp(again.raw, e->raw, sizeof(e->raw)) != 0 || !again.had_raw_member)
		__builtin_trap();
	/* The parser hands out NULL or a non-empty stack, never an empty one. */
	n = e->certs ? sk_X509_num(e->certs) : 0;
	if ((e->certs && n == 0) || (again.certs ? sk_X509_num(again.certs) : 0) != n)
		__builtin_trap();
	for (int i = 0; i < n; i++)
		if (!same_der(sk_X509_value(e->certs, i), sk_X509_value(again.certs, i)))
			__builtin_trap();
	snp_evidence_done(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccu_reason why = { 0 };
	struct snp_evidence e;

	if (snp_evidence_parse_text((const char *)data, size, &e, &why) != 0) {
		if (!why.code[0] || e.certs)
			__builtin_trap();
		return 0;
	}
	check_round_trip(&e);
	snp_evidence_done(&e);
	return 0;
}
