-- The data key of each import's staged (uploaded) file, wrapped by the
-- master key. Deleted with the file when the import ends.
CREATE TABLE import_keys (
	workspace_id INTEGER NOT NULL,
	import_id    INTEGER NOT NULL,
	wrapped      BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, import_id)
) WITHOUT ROWID;
