-- Consecutive wrong codes an authenticator app has seen (NIST SP 800-63B
-- §5.2.2: at most 100 before it is locked, whatever the throttling delays).
-- PostgreSQL twin of migrations/sqlite/006_totp_failures.sql.
ALTER TABLE authenticators ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
