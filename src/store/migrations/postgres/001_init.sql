-- careid schema, version 1 (PostgreSQL twin of migrations/sqlite/001_init.sql:
-- the same tables, columns, keys and indexes, so module SQL runs on both).
-- Times are Unix seconds (BIGINT). Every table is scoped by environment
-- ("mock", "int", "dep", "live") where it belongs to one.
-- Owners: directory/ (organisations, users, role_profiles), oidc/ (the rest).
--
-- Integer columns are BIGINT throughout: the C side reads every integer as
-- int64 and binds int8 parameters, and SQLite's INTEGER is 64-bit. Flags
-- (signing_keys.active) stay numbers 0/1, not boolean, because module SQL
-- compares them with 0 and 1.

CREATE TABLE server_secrets (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
	env TEXT NOT NULL,
	kid TEXT NOT NULL,
	private_jwk TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	active BIGINT NOT NULL DEFAULT 1,
	PRIMARY KEY (env, kid)
);

CREATE TABLE organisations (
	env TEXT NOT NULL,
	code TEXT NOT NULL,
	name TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (env, code)
);

CREATE TABLE users (
	env TEXT NOT NULL,
	uid TEXT NOT NULL,
	title TEXT,
	given_name TEXT NOT NULL,
	family_name TEXT NOT NULL,
	middle_names TEXT,
	display_name TEXT NOT NULL,
	email TEXT,
	id_assurance_level BIGINT NOT NULL DEFAULT 3,
	password_hash TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (env, uid)
);
CREATE INDEX users_email ON users (env, email);

CREATE TABLE role_profiles (
	env TEXT NOT NULL,
	person_roleid TEXT NOT NULL,
	uid TEXT NOT NULL,
	person_orgid TEXT NOT NULL,
	org_code TEXT NOT NULL,
	role_code TEXT NOT NULL,
	role_name TEXT NOT NULL,
	activities TEXT NOT NULL DEFAULT '[]',
	workgroups TEXT NOT NULL DEFAULT '[]',
	aow TEXT NOT NULL DEFAULT '[]',
	created_at BIGINT NOT NULL,
	PRIMARY KEY (env, person_roleid),
	FOREIGN KEY (env, uid) REFERENCES users (env, uid),
	FOREIGN KEY (env, org_code) REFERENCES organisations (env, code)
);
CREATE INDEX role_profiles_uid ON role_profiles (env, uid);

CREATE TABLE clients (
	env TEXT NOT NULL,
	client_id TEXT NOT NULL,
	name TEXT NOT NULL,
	auth_method TEXT NOT NULL,
	secret_hash TEXT,
	secret_sealed TEXT,
	jwks TEXT,
	jwks_uri TEXT,
	id_token_alg TEXT NOT NULL DEFAULT 'RS256',
	userinfo_alg TEXT,
	backchannel_logout_uri TEXT,
	default_acr TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (env, client_id)
);

CREATE TABLE client_redirect_uris (
	env TEXT NOT NULL,
	client_id TEXT NOT NULL,
	uri TEXT NOT NULL,
	PRIMARY KEY (env, client_id, uri),
	FOREIGN KEY (env, client_id) REFERENCES clients (env, client_id)
);

-- A client assertion's jti is accepted once until the assertion expires.
CREATE TABLE client_assertion_jtis (
	env TEXT NOT NULL,
	client_id TEXT NOT NULL,
	jti TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (env, client_id, jti)
);

-- An authorization request between /authorize and the redirect with a code.
CREATE TABLE auth_requests (
	id_hash TEXT PRIMARY KEY,
	env TEXT NOT NULL,
	client_id TEXT NOT NULL,
	params TEXT NOT NULL,
	uid TEXT,
	session_hash TEXT,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- SSO sessions: one per browser per environment. The cookie holds a random
-- token; the store holds its keyed hash.
CREATE TABLE sessions (
	id_hash TEXT PRIMARY KEY,
	env TEXT NOT NULL,
	sid TEXT NOT NULL,
	uid TEXT NOT NULL,
	auth_time BIGINT NOT NULL,
	acr TEXT NOT NULL,
	amr TEXT NOT NULL,
	aal BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	ended_at BIGINT
);
CREATE INDEX sessions_uid ON sessions (env, uid);

CREATE TABLE codes (
	code_hash TEXT PRIMARY KEY,
	env TEXT NOT NULL,
	client_id TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	grant_data TEXT NOT NULL,
	code_challenge TEXT,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);

-- Access and refresh tokens (kind 'access' or 'refresh'), stored hashed.
-- code_hash links what a code issued, so a replayed code revokes it.
CREATE TABLE tokens (
	token_hash TEXT PRIMARY KEY,
	env TEXT NOT NULL,
	kind TEXT NOT NULL,
	client_id TEXT NOT NULL,
	uid TEXT NOT NULL,
	grant_data TEXT NOT NULL,
	code_hash TEXT,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX tokens_code ON tokens (code_hash);
