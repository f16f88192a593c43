-- Imports: one row per file run into a workspace, known by its SHA-256 so
-- that running the same file again resumes it. last_line is the checkpoint,
-- written in the same transaction as the rows it covers. No personal data.
CREATE TABLE imports (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
	name          TEXT NOT NULL,
	sha256        TEXT NOT NULL,
	options       TEXT NOT NULL,
	status        TEXT NOT NULL,
	error         TEXT NOT NULL,
	unknown       TEXT NOT NULL,
	last_line     INTEGER NOT NULL,
	rows_done     INTEGER NOT NULL,
	rows_created  INTEGER NOT NULL,
	rows_updated  INTEGER NOT NULL,
	rows_rejected INTEGER NOT NULL,
	rows_skipped  INTEGER NOT NULL,
	started_by    TEXT NOT NULL,
	started_at    INTEGER NOT NULL,
	finished_at   INTEGER
);
CREATE UNIQUE INDEX imports_file ON imports (workspace_id, sha256);

-- The rows an import left out: line, column and reason, never the value.
CREATE TABLE import_rejections (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL,
	import_id    INTEGER NOT NULL REFERENCES imports (id),
	line         INTEGER NOT NULL,
	col          TEXT NOT NULL,
	reason       TEXT NOT NULL
);
CREATE INDEX import_rejections_import ON import_rejections (workspace_id, import_id, id);

-- Art. 14: when a contact's data was not obtained from the person, the
-- date by which they must be told (one month after it was obtained).
ALTER TABLE contacts ADD COLUMN info_due_at INTEGER;
