-- The data key of each queued message to a member of staff or to the
-- subject of a request (reset links, sign-in codes, invitations,
-- verification links), wrapped by the master key. Deleted once the message
-- is sent, failed or expires_at passed, which shreds it; ref names whom it
-- is about ("user-3", "dsr-7"), so that deleting the user shreds theirs.
CREATE TABLE mail_keys (
	workspace_id BIGINT NOT NULL,
	mail_key_id  BIGINT NOT NULL,
	ref          TEXT NOT NULL,
	wrapped      BYTEA NOT NULL,
	expires_at   BIGINT NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, mail_key_id)
);
CREATE INDEX mail_keys_expiry ON mail_keys (expires_at);
CREATE INDEX mail_keys_ref ON mail_keys (workspace_id, ref);
