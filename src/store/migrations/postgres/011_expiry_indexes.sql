-- Short-lived rows are pruned by their expiry as new ones are written (a
-- challenge per sign-in page, an authorization request per /authorize, a
-- client assertion's jti per use, a throttle entry per failed sign-in).
-- Without an index each prune read the whole table, so every sign-in paid
-- for all the sign-ins of the last minutes (bench/: scenario E).
-- PostgreSQL twin of migrations/sqlite/011_expiry_indexes.sql.
CREATE INDEX authn_challenges_expiry ON authn_challenges (expires_at);
CREATE INDEX auth_requests_expiry ON auth_requests (expires_at);
CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis (expires_at);
CREATE INDEX signin_throttle_last_failure ON signin_throttle (last_failure);
