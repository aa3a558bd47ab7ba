-- Onboarding: organisations, teams, products, CIS2 access and stages (owner: onboarding/).
-- PostgreSQL twin of migrations/sqlite/004_onboarding_products.sql.

CREATE TABLE ob_organisations (
	id TEXT PRIMARY KEY,
	ods_code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE ob_teams (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES ob_organisations (id),
	name TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	UNIQUE (org_id, name)
);

-- One team per account (for now): an account belongs to at most one team.
CREATE TABLE ob_team_members (
	team_id TEXT NOT NULL REFERENCES ob_teams (id),
	uid TEXT NOT NULL UNIQUE REFERENCES onboarding_accounts (uid),
	role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
	joined_at BIGINT NOT NULL,
	PRIMARY KEY (team_id, uid)
);

CREATE TABLE ob_invitations (
	token_hash TEXT PRIMARY KEY,
	team_id TEXT NOT NULL REFERENCES ob_teams (id),
	email TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
	invited_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	accepted_at BIGINT,
	accepted_by TEXT
);

-- Products; `name_key` is the name folded for uniqueness ("WardView" = "wardview").
-- cis2_access: none, requested, granted, declined.
CREATE TABLE ob_products (
	id TEXT PRIMARY KEY,
	team_id TEXT NOT NULL REFERENCES ob_teams (id),
	name TEXT NOT NULL,
	name_key TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	cis2_access TEXT NOT NULL DEFAULT 'none',
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- Stages of a product's journey ("setup_eligibility", later "non_functional"), their answers
-- by section (drafts) and state: draft, submitted, more_info, approved, declined.
CREATE TABLE ob_stages (
	id TEXT PRIMARY KEY,
	product_id TEXT NOT NULL REFERENCES ob_products (id),
	stage TEXT NOT NULL,
	questionnaire_version BIGINT NOT NULL,
	answers TEXT NOT NULL DEFAULT '{}',
	state TEXT NOT NULL DEFAULT 'draft',
	submissions BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (product_id, stage)
);

-- Clients a developer registered self-service in the mock environment.
CREATE TABLE ob_mock_clients (
	client_id TEXT PRIMARY KEY,
	uid TEXT NOT NULL REFERENCES onboarding_accounts (uid),
	created_at BIGINT NOT NULL
);
