-- Each pending sign-up's data key, wrapped by the master key. Deleting a
-- row shreds the sign-up's personal data and the mail queued about it.
CREATE TABLE signup_keys (
	workspace_id BIGINT NOT NULL,
	signup_id    BIGINT NOT NULL,
	wrapped      BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, signup_id)
);
