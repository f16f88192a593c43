-- The data key of each import's staged (uploaded) file, wrapped by the
-- master key. Deleted with the file when the import ends.
CREATE TABLE import_keys (
	workspace_id BIGINT NOT NULL,
	import_id    BIGINT NOT NULL,
	wrapped      BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, import_id)
);
