-- Onboarding, part 2: journey plans, environment clients, assurance and
-- go-live (owner: onboarding/), and the conformance evidence the provider
-- records (owner: oidc/).
-- PostgreSQL twin of migrations/sqlite/008_onboarding_assurance.sql.

-- Journey plans: every save is a new version, the newest is the plan. `plan`
-- is JSON (see onboarding_int.h, "Journey plan").
CREATE TABLE ob_plans (
	product_id TEXT NOT NULL REFERENCES ob_products (id),
	version BIGINT NOT NULL,
	plan TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (product_id, version)
);

-- Comments on a plan by the team and the CIS2 onboarding team, against the
-- version they read.
CREATE TABLE ob_plan_comments (
	id TEXT PRIMARY KEY,
	product_id TEXT NOT NULL REFERENCES ob_products (id),
	plan_version BIGINT NOT NULL,
	author TEXT NOT NULL,
	body TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX ob_plan_comments_product ON ob_plan_comments (product_id, created_at);

-- Clients a team registered for a product in int, dep and live (the client
-- itself belongs to oidc/: clients, client_redirect_uris).
CREATE TABLE ob_env_clients (
	env TEXT NOT NULL,
	client_id TEXT NOT NULL,
	product_id TEXT NOT NULL REFERENCES ob_products (id),
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	secret_rotated_at BIGINT,
	PRIMARY KEY (env, client_id)
);
CREATE INDEX ob_env_clients_product ON ob_env_clients (product_id, env);

-- The Connection Agreement, accepted once per product.
CREATE TABLE ob_agreements (
	product_id TEXT PRIMARY KEY REFERENCES ob_products (id),
	agreement_version BIGINT NOT NULL,
	accepted_by TEXT NOT NULL,
	accepted_name TEXT NOT NULL,
	accepted_at BIGINT NOT NULL
);

-- Rollout sites marked live, by ODS code of a site in the plan.
CREATE TABLE ob_sites_live (
	product_id TEXT NOT NULL REFERENCES ob_products (id),
	ods_code TEXT NOT NULL,
	live_on TEXT NOT NULL,
	marked_by TEXT NOT NULL,
	marked_at BIGINT NOT NULL,
	PRIMARY KEY (product_id, ods_code)
);

-- Conformance evidence and volumes are read from the audit trail by action
-- and time.
CREATE INDEX audit_events_action ON audit_events (action, at);

-- The first userinfo call made with an access token is audited (evidence
-- that a client reads userinfo), later ones are not.
ALTER TABLE tokens ADD COLUMN userinfo_at BIGINT;
