-- The key store: each contact's data key, wrapped by the master key. It is
-- a schema of its own, kept out of data backups; deleting a row shreds every
-- ciphertext of that contact.
CREATE TABLE contact_keys (
	workspace_id BIGINT NOT NULL,
	contact_id   BIGINT NOT NULL,
	wrapped      BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, contact_id)
);
