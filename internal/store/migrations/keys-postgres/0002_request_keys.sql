-- Each data-subject request's data key, wrapped by the master key. Deleting
-- a row shreds the request's personal data: the subject's address, the
-- notes and the stored answer.
CREATE TABLE request_keys (
	workspace_id BIGINT NOT NULL,
	request_id   BIGINT NOT NULL,
	wrapped      BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, request_id)
);
