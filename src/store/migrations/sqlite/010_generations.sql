-- Generation counters: one per kind of data, bumped by a trigger on every
-- INSERT, UPDATE and DELETE of the tables that kind covers. A process that
-- keeps answers computed from those tables in memory (src/oidc/cache.c) reads
-- the counters in the same query as the request's own data and recomputes
-- when they moved, so a change made by any process on the store is seen by
-- the next request. Counters only grow.
--   directory: users, role_profiles, organisations
--   clients:   clients, client_redirect_uris, client_post_logout_uris
CREATE TABLE generations (
	kind TEXT PRIMARY KEY,
	n BIGINT NOT NULL
);
INSERT INTO generations (kind, n) VALUES ('directory', 1);
INSERT INTO generations (kind, n) VALUES ('clients', 1);

CREATE TRIGGER users_gen_insert AFTER INSERT ON users
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER users_gen_update AFTER UPDATE ON users
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER users_gen_delete AFTER DELETE ON users
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER role_profiles_gen_insert AFTER INSERT ON role_profiles
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER role_profiles_gen_update AFTER UPDATE ON role_profiles
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER role_profiles_gen_delete AFTER DELETE ON role_profiles
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER organisations_gen_insert AFTER INSERT ON organisations
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER organisations_gen_update AFTER UPDATE ON organisations
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER organisations_gen_delete AFTER DELETE ON organisations
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'directory';
END;

CREATE TRIGGER clients_gen_insert AFTER INSERT ON clients
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;

CREATE TRIGGER clients_gen_update AFTER UPDATE ON clients
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;

CREATE TRIGGER clients_gen_delete AFTER DELETE ON clients
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;

CREATE TRIGGER client_redirect_uris_gen_insert AFTER INSERT ON client_redirect_uris
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;

CREATE TRIGGER client_redirect_uris_gen_update AFTER UPDATE ON client_redirect_uris
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;

CREATE TRIGGER client_redirect_uris_gen_delete AFTER DELETE ON client_redirect_uris
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;

CREATE TRIGGER client_post_logout_uris_gen_insert AFTER INSERT ON client_post_logout_uris
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;

CREATE TRIGGER client_post_logout_uris_gen_update AFTER UPDATE ON client_post_logout_uris
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;

CREATE TRIGGER client_post_logout_uris_gen_delete AFTER DELETE ON client_post_logout_uris
BEGIN
	UPDATE generations SET n = n + 1 WHERE kind = 'clients';
END;
