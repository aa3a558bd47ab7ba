-- The durable outbox (owner: outbox/). Outbound work (e-mail now, back-channel
-- logout tokens later) is inserted in the same transaction as the state change
-- it reports, then delivered by a worker with retries and backoff. Times are
-- Unix seconds. A row is claimed by setting locked_until (a lease); a lease
-- that expires (process killed mid-delivery) makes the row claimable again.
-- PostgreSQL twin of migrations/sqlite/002_outbox.sql.

CREATE TABLE outbox (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	payload TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts BIGINT NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	locked_until BIGINT,
	created_at BIGINT NOT NULL,
	delivered_at BIGINT,
	last_error TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- Every attempt, successful or not, with the receiver's answer. `ok` is 0 or 1
-- (a number, as in SQLite, not boolean).
CREATE TABLE outbox_attempts (
	outbox_id TEXT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
	attempt BIGINT NOT NULL,
	at BIGINT NOT NULL,
	ok BIGINT NOT NULL,
	detail TEXT,
	PRIMARY KEY (outbox_id, attempt)
);
