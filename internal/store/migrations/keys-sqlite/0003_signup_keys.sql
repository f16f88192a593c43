-- Each pending sign-up's data key, wrapped by the master key. Deleting a
-- row shreds the sign-up's personal data and the mail queued about it.
CREATE TABLE signup_keys (
	workspace_id INTEGER NOT NULL,
	signup_id    INTEGER NOT NULL,
	wrapped      BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, signup_id)
) WITHOUT ROWID;
