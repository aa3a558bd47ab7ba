-- The audit trail read by client (audit_client_events(), src/audit/audit.h):
-- the client an event concerns, copied from its detail's "client_id" when
-- that is a string, else NULL. An index only: the column is not under the
-- hash chain (`careid audit verify` and existing chains are unchanged), so
-- readers check it against the detail they parse.
-- PostgreSQL twin of migrations/sqlite/009_audit_client.sql.
ALTER TABLE audit_events ADD COLUMN client_id TEXT;

-- Existing rows (none on a database these migrations create, kept so the file
-- means what the SQLite one does). A detail that is not JSON is skipped, as
-- json_valid() skips it in SQLite: PostgreSQL 15 has no IS JSON test, so each
-- row's cast is tried in its own subtransaction. jsonb_typeof() says 'string'
-- where SQLite's json_type() says 'text'. A string holding U+0000, which a C
-- string cannot hold (audit.c stores NULL for it), cannot be cast to text
-- either and is skipped too.
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT seq, detail FROM audit_events LOOP
		BEGIN
			UPDATE audit_events SET client_id = r.detail::jsonb ->> 'client_id'
			WHERE seq = r.seq AND jsonb_typeof(r.detail::jsonb -> 'client_id') = 'string';
		EXCEPTION WHEN invalid_text_representation OR untranslatable_character THEN
			NULL;
		END;
	END LOOP;
END
$$;

CREATE INDEX audit_events_client ON audit_events (client_id, action, at)
	WHERE client_id IS NOT NULL;
