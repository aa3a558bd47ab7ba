-- The durable outbox (owner: outbox/). Outbound work (e-mail now, back-channel
-- logout tokens later) is inserted in the same transaction as the state change
-- it reports, then delivered by a worker with retries and backoff. Times are
-- Unix seconds. A row is claimed by setting locked_until (a lease); a lease
-- that expires (process killed mid-delivery) makes the row claimable again.

CREATE TABLE outbox (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	payload TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	locked_until BIGINT,
	created_at BIGINT NOT NULL,
	delivered_at BIGINT,
	last_error TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- Every attempt, successful or not, with the receiver's answer.
CREATE TABLE outbox_attempts (
	outbox_id TEXT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
	attempt INTEGER NOT NULL,
	at BIGINT NOT NULL,
	ok INTEGER NOT NULL,
	detail TEXT,
	PRIMARY KEY (outbox_id, attempt)
);
