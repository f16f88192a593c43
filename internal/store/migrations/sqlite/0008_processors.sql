-- The register of processors and recipients: who personal data is
-- disclosed to, where, under which safeguard, for which purposes (JSON
-- list of purpose ids; empty: all). No personal data.
CREATE TABLE processors (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	name         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	service      TEXT NOT NULL,
	country      TEXT NOT NULL,
	safeguard    TEXT NOT NULL,
	purpose_ids  TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX processors_workspace ON processors (workspace_id, id);
