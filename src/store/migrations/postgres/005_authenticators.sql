-- Authenticators beyond the password (authn/), smartcard test authorities,
-- WebAuthn and smartcard challenges, sign-in throttling, and what a session
-- proved. Portable SQL, like 001.
-- PostgreSQL twin of migrations/sqlite/005_authenticators.sql.

-- An authenticator registered to a user. `kind` names the authn/ module that
-- owns the row; `method` is the enum authn_method bit it proves (TOTP, FIDO2,
-- PASSKEY, SMARTCARD). `data` is a JSON object whose members belong to the
-- kind: totp {"secret": sealed}, webauthn {"public_key": COSE base64url,
-- "alg", "aaguid", "attestation", "transports", "backup_eligible"},
-- smartcard {"fingerprint", "subject", "not_after"}.
CREATE TABLE authenticators (
	env TEXT NOT NULL,
	id TEXT NOT NULL,
	uid TEXT NOT NULL,
	kind TEXT NOT NULL,
	method BIGINT NOT NULL,
	name TEXT NOT NULL,
	-- webauthn: the credential id (base64url); smartcard: the certificate
	-- serial (lowercase hex); totp: NULL
	credential_id TEXT,
	data TEXT NOT NULL,
	-- webauthn: the last signature counter; totp: the last time step accepted
	counter BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	last_used_at BIGINT,
	revoked_at BIGINT,
	PRIMARY KEY (env, id),
	FOREIGN KEY (env, uid) REFERENCES users (env, uid)
);
CREATE INDEX authenticators_uid ON authenticators (env, uid);
-- NULL credential ids (totp) never collide: PostgreSQL, like SQLite, treats
-- NULLs in a unique index as distinct.
CREATE UNIQUE INDEX authenticators_credential ON authenticators (env, kind, credential_id);

-- Each environment's test certificate authority for smartcards.
CREATE TABLE card_authorities (
	env TEXT PRIMARY KEY,
	certificate TEXT NOT NULL, -- PEM
	private_key TEXT NOT NULL, -- PEM, sealed with the server's seal key
	crl TEXT NOT NULL,         -- PEM, reissued by `careid card revoke`
	crl_number BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);

-- A WebAuthn or smartcard challenge, usable once (used_at set atomically).
CREATE TABLE authn_challenges (
	challenge_hash TEXT PRIMARY KEY,
	env TEXT NOT NULL,
	purpose TEXT NOT NULL, -- 'webauthn.get', 'webauthn.create', 'smartcard'
	tx_hash TEXT,          -- the sign-in transaction it was shown for
	uid TEXT,              -- registration: whose authenticator
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);

-- Failed sign-ins, counted per user, per client address and per pair, under
-- a keyed hash of the key ("env|user|UID", "env|addr|ADDR", …).
CREATE TABLE signin_throttle (
	key_hash TEXT PRIMARY KEY,
	failures BIGINT NOT NULL,
	last_failure BIGINT NOT NULL,
	blocked_until BIGINT NOT NULL
);

-- Every method a session has proved (enum authn_method bits), and the keyed
-- hash of the smartcard agent's removal token when a card signed it in.
ALTER TABLE sessions ADD COLUMN methods BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN removal_hash TEXT;
CREATE INDEX sessions_removal ON sessions (removal_hash);
