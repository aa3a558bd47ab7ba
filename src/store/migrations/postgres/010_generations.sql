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
-- PostgreSQL twin of migrations/sqlite/010_generations.sql. SQLite's trigger
-- bodies become one PL/pgSQL function, generations_bump(KIND), run by row-level
-- AFTER triggers with the same names (<table>_gen_insert, _update, _delete).
-- It does what each SQLite trigger does: INSERT bumps KIND:NEW.env, DELETE
-- bumps KIND:OLD.env, UPDATE bumps KIND:OLD.env and then KIND:NEW.env (twice
-- the same counter when env did not change, as in SQLite). Every one of these
-- tables carries its own env column; none takes it from a parent row.
--
-- The upsert takes the counter row's lock until the writing transaction ends,
-- so writers of one kind and environment queue behind each other (as every
-- writer queues behind SQLite's single write lock); readers are not blocked.
--
-- A later migration that changes one of these tables must keep its three
-- triggers (PostgreSQL keeps them across ALTER TABLE; DROP TABLE drops them).
CREATE TABLE generations (
	kind TEXT PRIMARY KEY,
	n BIGINT NOT NULL
);

CREATE FUNCTION generations_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
		INSERT INTO generations (kind, n) VALUES (TG_ARGV[0] || ':' || OLD.env, 1)
			ON CONFLICT (kind) DO UPDATE SET n = generations.n + 1;
	END IF;
	IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
		INSERT INTO generations (kind, n) VALUES (TG_ARGV[0] || ':' || NEW.env, 1)
			ON CONFLICT (kind) DO UPDATE SET n = generations.n + 1;
	END IF;
	RETURN NULL; -- an AFTER trigger's result is ignored
END
$$;

CREATE TRIGGER users_gen_insert AFTER INSERT ON users
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');
CREATE TRIGGER users_gen_update AFTER UPDATE ON users
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');
CREATE TRIGGER users_gen_delete AFTER DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');

CREATE TRIGGER role_profiles_gen_insert AFTER INSERT ON role_profiles
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');
CREATE TRIGGER role_profiles_gen_update AFTER UPDATE ON role_profiles
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');
CREATE TRIGGER role_profiles_gen_delete AFTER DELETE ON role_profiles
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');

CREATE TRIGGER organisations_gen_insert AFTER INSERT ON organisations
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');
CREATE TRIGGER organisations_gen_update AFTER UPDATE ON organisations
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');
CREATE TRIGGER organisations_gen_delete AFTER DELETE ON organisations
	FOR EACH ROW EXECUTE FUNCTION generations_bump('directory');

CREATE TRIGGER clients_gen_insert AFTER INSERT ON clients
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');
CREATE TRIGGER clients_gen_update AFTER UPDATE ON clients
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');
CREATE TRIGGER clients_gen_delete AFTER DELETE ON clients
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');

CREATE TRIGGER client_redirect_uris_gen_insert AFTER INSERT ON client_redirect_uris
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');
CREATE TRIGGER client_redirect_uris_gen_update AFTER UPDATE ON client_redirect_uris
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');
CREATE TRIGGER client_redirect_uris_gen_delete AFTER DELETE ON client_redirect_uris
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');

CREATE TRIGGER client_post_logout_uris_gen_insert AFTER INSERT ON client_post_logout_uris
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');
CREATE TRIGGER client_post_logout_uris_gen_update AFTER UPDATE ON client_post_logout_uris
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');
CREATE TRIGGER client_post_logout_uris_gen_delete AFTER DELETE ON client_post_logout_uris
	FOR EACH ROW EXECUTE FUNCTION generations_bump('clients');

-- The environments that have data already.
INSERT INTO generations (kind, n) SELECT DISTINCT 'directory:' || env, 1 FROM users;
INSERT INTO generations (kind, n) SELECT DISTINCT 'directory:' || env, 1 FROM organisations
	ON CONFLICT (kind) DO NOTHING;
INSERT INTO generations (kind, n) SELECT DISTINCT 'clients:' || env, 1 FROM clients;
