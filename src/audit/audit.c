#include "audit/audit.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "crypto/hash.h"

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

int audit_record(store *s, const char *actor, const char *action, const char *subject,
                 const json_t *detail)
{
	static const char sql_last[] =
	    "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";
	static const char sql_insert[] =
	    "INSERT INTO audit_events (seq, at, actor, action, subject, detail, prev_hash, hash) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
	char prev[CRYPTO_HASH_HEX] = GENESIS, hash[CRYPTO_HASH_HEX];
	uint8_t digest[32];
	store_stmt *st = NULL;
	int64_t seq = 1, at = clock_now();
	char *text = NULL, *canon_text;
	json_t *canon;
	struct buf b;
	int rc;

	buf_init(&b, 64 * 1024);
	text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	if (!text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_query(s, &st, sql_last, "");
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		seq = store_int(st, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", store_text(st, 1) ? store_text(st, 1) : "");
	}
	store_done(st);
	st = NULL;
	/* The hash covers every column, as a JSON array: unambiguous whatever
	 * the strings hold. */
	canon = json_pack("[s, I, I, s, s, s, s]", prev, (json_int_t)seq, (json_int_t)at, actor,
	                  action, subject, text);
	canon_text = canon ? json_dumps(canon, JSON_COMPACT) : NULL;
	json_decref(canon);
	if (!canon_text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = buf_puts(&b, canon_text);
	free(canon_text);
	if (rc)
		goto out;
	crypto_sha256(digest, b.ptr, b.len);
	crypto_hex(hash, digest, sizeof(digest));
	rc = store_exec(s, sql_insert, "iitttttt", seq, at, actor, action, subject, text, prev,
	                hash);
	rc = rc < 0 ? rc : 0;
out:
	store_done(st);
	buf_release(&b);
	free(text);
	return rc;
}
