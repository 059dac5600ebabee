/*
 * The audit log: one JSON object per line for every decision (attestation
 * verified or refused, key released or denied, admin change), written with
 * O_APPEND in one write(2) and made durable (fdatasync) before the broker
 * replies. A release whose audit line cannot be written is not released.
 *
 * Members (absent when unknown): time, event ("attest", "release",
 * "admin"), action (admin), session, peer, resource, policy, decision
 * ("allow"/"deny"), reason {code, detail}, measurement, chip_id,
 * reported_tcb, product, signer, report_version, evidence_sha256,
 * init_data {algorithm, digest}, additional_evidence {sha256, tees,
 * verified: false} (accepted and bound into REPORT_DATA, never verified).
 */
#pragma once

#include <stdint.h>

#include "common/reason.h"
#include "snp/report.h"

struct broker_audit;

struct broker_audit_rec {
	const char *event;
	const char *action;	      /* admin: "resource.put", ... */
	const char *session;
	const char *peer;
	const char *resource;
	const char *policy;
	bool allow;
	const struct ccu_reason *reason; /* NULL or unset on allow */
	const struct snp_report *report; /* NULL when none parsed */
	enum snp_product product;
	int signer;			 /* enum snp_signing_key, -1 unknown */
	const uint8_t *evidence_sha256;	 /* 32 bytes or NULL */
	/* init-data bound to HOST_DATA (NULL: none sent) */
	const char *init_data_alg;
	const uint8_t *init_data_digest;
	size_t init_data_digest_len;
	/* non-empty additional_evidence: SHA-256 of the string (NULL: none),
	 * the TEE names it carries when known; recorded as not verified */
	const uint8_t *additional_evidence_sha256;
	const char *additional_evidence_tees;
};

/* @path NULL: no file (records go to the log at info level only). */
int broker_audit_open(const char *path, struct broker_audit **ret, struct ccu_reason *err);
void broker_audit_close(struct broker_audit *a);
/* 0 when the line is durable; -errno (and the reason AUDIT_WRITE) when not. */
int broker_audit_write(struct broker_audit *a, const struct broker_audit_rec *rec,
		       struct ccu_reason *err);
