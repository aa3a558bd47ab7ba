-- Generation counters: one per kind of data and environment ("directory:int",
-- "clients:mock", …), bumped by a trigger on every INSERT, UPDATE and DELETE
-- of the tables that kind covers. A process that keeps answers computed from
-- those tables in memory (src/oidc/cache.c) reads the counters in the same
-- query as the request's own data and recomputes when they moved, so a change
-- made by any process on the store is seen by the next request. Counters only
-- grow; a row is made by the first write of its kind in its environment, and
-- a reader that finds no row keeps nothing. Per environment, so that (say) a
-- supplier registering on the portal does not empty the cache of live.
--   directory: users, role_profiles, organisations
--   clients:   clients, client_redirect_uris, client_post_logout_uris
--
-- A later migration that rebuilds one of these tables (create, copy, drop,
-- rename) drops its triggers with it: it must create them again (the unit
-- test tests/unit/oidc/userinfo.c checks every table has its three).
CREATE TABLE generations (
	kind TEXT PRIMARY KEY,
	n BIGINT NOT NULL
);

CREATE TRIGGER users_gen_insert AFTER INSERT ON users
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER users_gen_update AFTER UPDATE ON users
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
	INSERT INTO generations (kind, n) VALUES ('directory:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER users_gen_delete AFTER DELETE ON users
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER role_profiles_gen_insert AFTER INSERT ON role_profiles
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER role_profiles_gen_update AFTER UPDATE ON role_profiles
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
	INSERT INTO generations (kind, n) VALUES ('directory:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER role_profiles_gen_delete AFTER DELETE ON role_profiles
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER organisations_gen_insert AFTER INSERT ON organisations
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER organisations_gen_update AFTER UPDATE ON organisations
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
	INSERT INTO generations (kind, n) VALUES ('directory:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER organisations_gen_delete AFTER DELETE ON organisations
BEGIN
	INSERT INTO generations (kind, n) VALUES ('directory:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER clients_gen_insert AFTER INSERT ON clients
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER clients_gen_update AFTER UPDATE ON clients
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
	INSERT INTO generations (kind, n) VALUES ('clients:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER clients_gen_delete AFTER DELETE ON clients
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER client_redirect_uris_gen_insert AFTER INSERT ON client_redirect_uris
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER client_redirect_uris_gen_update AFTER UPDATE ON client_redirect_uris
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
	INSERT INTO generations (kind, n) VALUES ('clients:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER client_redirect_uris_gen_delete AFTER DELETE ON client_redirect_uris
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER client_post_logout_uris_gen_insert AFTER INSERT ON client_post_logout_uris
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER client_post_logout_uris_gen_update AFTER UPDATE ON client_post_logout_uris
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
	INSERT INTO generations (kind, n) VALUES ('clients:' || NEW.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER client_post_logout_uris_gen_delete AFTER DELETE ON client_post_logout_uris
BEGIN
	INSERT INTO generations (kind, n) VALUES ('clients:' || OLD.env, 1)
		ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;

-- The environments that have data already.
INSERT INTO generations (kind, n) SELECT DISTINCT 'directory:' || env, 1 FROM users;
INSERT INTO generations (kind, n) SELECT DISTINCT 'directory:' || env, 1 FROM organisations
	WHERE true ON CONFLICT (kind) DO NOTHING;
INSERT INTO generations (kind, n) SELECT DISTINCT 'clients:' || env, 1 FROM clients;
