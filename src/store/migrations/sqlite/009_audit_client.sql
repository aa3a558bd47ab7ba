-- The audit trail read by client (audit_client_events(), src/audit/audit.h):
-- the client an event concerns, copied from its detail's "client_id" when
-- that is a string, else NULL. An index only: the column is not under the
-- hash chain (`careid audit verify` and existing chains are unchanged), so
-- readers check it against the detail they parse.
ALTER TABLE audit_events ADD COLUMN client_id TEXT;

-- Existing rows. json_type() raises an error on a detail that is not JSON:
-- CASE (unlike AND) is sure to call it only on valid JSON.
UPDATE audit_events SET client_id = json_extract(detail, '$.client_id')
WHERE CASE WHEN json_valid(detail) THEN json_type(detail, '$.client_id') = 'text' END;

CREATE INDEX audit_events_client ON audit_events (client_id, action, at)
	WHERE client_id IS NOT NULL;
