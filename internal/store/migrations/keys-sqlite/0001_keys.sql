-- The key store: each contact's data key, wrapped by the master key. It is
-- a file of its own, kept out of data backups; deleting a row shreds every
-- ciphertext of that contact.
CREATE TABLE contact_keys (
	workspace_id INTEGER NOT NULL,
	contact_id   INTEGER NOT NULL,
	wrapped      BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, contact_id)
) WITHOUT ROWID;
