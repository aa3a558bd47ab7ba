-- Sessions and logout (issue 5): the clients a session signed in to, the
-- post-logout redirect URIs clients register, why a session ended, and
-- signing keys retired by rotation.
-- PostgreSQL twin of migrations/sqlite/007_sessions_logout.sql.

-- Every client a session has answered with a code: the clients told by
-- back-channel logout when the session ends.
CREATE TABLE session_clients (
	env TEXT NOT NULL,
	sid TEXT NOT NULL,
	client_id TEXT NOT NULL,
	first_at BIGINT NOT NULL,
	last_at BIGINT NOT NULL,
	PRIMARY KEY (env, sid, client_id)
);

-- RP-initiated logout: where a client may send the browser afterwards
-- (exact match, like redirect URIs).
CREATE TABLE client_post_logout_uris (
	env TEXT NOT NULL,
	client_id TEXT NOT NULL,
	uri TEXT NOT NULL,
	PRIMARY KEY (env, client_id, uri)
);

-- 'logout' (RP-initiated), 'idle', 'expired', 'admin', 'card_removed', 'replaced'.
ALTER TABLE sessions ADD COLUMN end_reason TEXT;
CREATE INDEX sessions_sid ON sessions (env, sid);

-- Key rotation: a retired key signs nothing more and is published in the
-- JWKS until what it signed has expired.
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;
