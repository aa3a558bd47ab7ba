-- The onboarding service (owner: onboarding/). People are users of the
-- "portal" environment's directory; these tables hold what onboarding adds.
-- PostgreSQL twin of migrations/sqlite/003_onboarding.sql.

CREATE TABLE onboarding_accounts (
	uid TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	is_reviewer BIGINT NOT NULL DEFAULT 0,
	verified_at BIGINT,
	created_at BIGINT NOT NULL
);

-- E-mail verification links (random token, stored hashed).
CREATE TABLE onboarding_verifications (
	token_hash TEXT PRIMARY KEY,
	uid TEXT NOT NULL REFERENCES onboarding_accounts (uid),
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);

-- Portal sessions, after a sign-in through the portal environment.
CREATE TABLE onboarding_sessions (
	id_hash TEXT PRIMARY KEY,
	uid TEXT NOT NULL REFERENCES onboarding_accounts (uid),
	csrf TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- The Service Assessment Questionnaire: one per applicant account.
CREATE TABLE saqs (
	id TEXT PRIMARY KEY,
	uid TEXT NOT NULL UNIQUE REFERENCES onboarding_accounts (uid),
	questionnaire TEXT NOT NULL,
	version BIGINT NOT NULL,
	answers TEXT NOT NULL DEFAULT '{}',
	state TEXT NOT NULL DEFAULT 'draft',
	submissions BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- Everything the CIS2 team reviews (SAQs now; access requests and stage
-- submissions later), each submission with its due date (working days).
CREATE TABLE reviews (
	id TEXT PRIMARY KEY,
	subject_kind TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	submission BIGINT NOT NULL,
	submitted_by TEXT NOT NULL,
	submitted_at BIGINT NOT NULL,
	due_date TEXT NOT NULL,
	answers TEXT NOT NULL,
	decision TEXT,
	comments TEXT,
	decided_by TEXT,
	decided_at BIGINT,
	UNIQUE (subject_kind, subject_id, submission)
);
CREATE INDEX reviews_open ON reviews (decision, due_date);

-- The service's e-mail distribution list (service changes, features, releases).
CREATE TABLE distribution_list (
	email TEXT PRIMARY KEY,
	uid TEXT,
	token_hash TEXT NOT NULL UNIQUE,
	subscribed_at BIGINT NOT NULL,
	unsubscribed_at BIGINT
);

-- Audit trail: every state change, each row chained to the previous by hash
-- (verified by `careid audit verify`, issue 5).
--
-- In SQLite `seq INTEGER PRIMARY KEY` is the rowid, but audit/ never lets it
-- be assigned: audit_record() reads the last seq and inserts seq + 1 (the
-- number is under the hash chain). So here it is a plain BIGINT key, not an
-- identity column: a sequence nobody uses would only drift from the real
-- numbers, and an INSERT without seq fails (NOT NULL) rather than colliding.
CREATE TABLE audit_events (
	seq BIGINT PRIMARY KEY,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	subject TEXT NOT NULL,
	detail TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
