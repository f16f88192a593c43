-- The audit log: who did what to which object, when; ids only, never a
-- personal value. Each workspace's entries form a hash chain (seq 1, 2, …;
-- hash = SHA-256 over the previous hash and the entry), so a changed,
-- deleted or reordered entry is found by recomputing it. audit_heads holds
-- the end of each chain, so that a cut-off tail is found too, and orders
-- concurrent writers.
CREATE TABLE audit_log (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id BIGINT NOT NULL,
	seq          BIGINT NOT NULL CHECK (seq > 0),
	at           BIGINT NOT NULL,
	actor        TEXT NOT NULL,
	action       TEXT NOT NULL,
	contact_id   BIGINT,
	detail       TEXT NOT NULL,
	prev_hash    BLOB NOT NULL,
	hash         BLOB NOT NULL,
	UNIQUE (workspace_id, seq)
);
CREATE INDEX audit_log_contact ON audit_log (workspace_id, contact_id, seq) WHERE contact_id IS NOT NULL;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE audit_heads (
	workspace_id BIGINT PRIMARY KEY,
	seq          BIGINT NOT NULL,
	hash         BLOB NOT NULL
);
