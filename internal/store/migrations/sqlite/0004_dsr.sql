-- The register of data-subject requests (GDPR Art. 12–22). Personal data
-- of a request (the subject's address, note texts, a note answer, a stored
-- export) lives only in sealed columns, encrypted under the request's own
-- data key in the key store (request_keys). When the subject is forgotten
-- that key is shredded and the sealed columns cleared; the rest of the row
-- stays as evidence of how and when the request was answered.
--
-- Ids come from id_seq: the id is bound into every ciphertext of the
-- request, so it is known before the row is written.
INSERT INTO id_seq (name, next) VALUES ('dsr_requests', 1);

-- contact_id: the contact the request is about, when Custos holds one.
-- email_bidx: the blind index of the subject's address, to find the
-- requests of a contact that is forgotten. token_hash: SHA-256 of the
-- pending verification link's token. answer: the answer's clear part as
-- JSON (kind, export format and size, the erasure certificate);
-- answer_note (a completion note or rejection reason) and export (the
-- access export file) are sealed.
CREATE TABLE dsr_requests (
	workspace_id         INTEGER NOT NULL REFERENCES workspaces (id),
	id                   INTEGER NOT NULL,
	type                 TEXT NOT NULL,
	contact_id           INTEGER,
	email_bidx           BLOB,
	sealed               BLOB,
	received_at          INTEGER NOT NULL,
	due_at               INTEGER NOT NULL,
	extension_months     INTEGER NOT NULL DEFAULT 0,
	extension_reason     TEXT NOT NULL DEFAULT '',
	extended_by          TEXT NOT NULL DEFAULT '',
	extended_at          INTEGER,
	status               TEXT NOT NULL,
	token_hash           BLOB,
	token_expires_at     INTEGER,
	verification_sent_at INTEGER,
	verified_at          INTEGER,
	acted_by             TEXT NOT NULL,
	completed_at         INTEGER,
	answer               TEXT,
	answer_note          BLOB,
	export               BLOB,
	erased_at            INTEGER,
	PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX dsr_requests_token ON dsr_requests (token_hash) WHERE token_hash IS NOT NULL;
CREATE INDEX dsr_requests_due ON dsr_requests (workspace_id, due_at);
CREATE INDEX dsr_requests_contact ON dsr_requests (workspace_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX dsr_requests_email ON dsr_requests (workspace_id, email_bidx) WHERE email_bidx IS NOT NULL;

-- A request's history: each change of status, extension and note, with
-- who acted. detail is never personal data; a note's text is sealed under
-- the request's key.
CREATE TABLE dsr_events (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL,
	request_id   INTEGER NOT NULL,
	at           INTEGER NOT NULL,
	actor        TEXT NOT NULL,
	event        TEXT NOT NULL,
	detail       TEXT NOT NULL,
	sealed       BLOB,
	FOREIGN KEY (workspace_id, request_id) REFERENCES dsr_requests (workspace_id, id)
);
CREATE INDEX dsr_events_request ON dsr_events (workspace_id, request_id, id);
