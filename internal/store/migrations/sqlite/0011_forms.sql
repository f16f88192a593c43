-- Public sign-up forms, their versions, pending sign-ups (double opt-in),
-- the per-address limit of confirmation mails, and the outgoing mail queue.

-- A form; each change stores a new version, and old versions stay as proof
-- of what a person saw. No personal data.
CREATE TABLE forms (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id    INTEGER NOT NULL REFERENCES workspaces (id),
	current_version INTEGER NOT NULL,
	archived_at     INTEGER,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX forms_workspace ON forms (workspace_id, id);

CREATE TABLE form_versions (
	workspace_id INTEGER NOT NULL,
	form_id      INTEGER NOT NULL REFERENCES forms (id),
	version      INTEGER NOT NULL,
	body         TEXT NOT NULL, -- the definition, JSON
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, form_id, version)
);

INSERT INTO id_seq (name, next) VALUES ('signups', 1);

-- A pending sign-up: not a contact until confirmed. Its personal data is
-- sealed under a key of its own (key store: signup_keys); the address is
-- found by blind index only.
CREATE TABLE signups (
	id           INTEGER PRIMARY KEY, -- from id_seq
	workspace_id INTEGER NOT NULL,
	form_id      INTEGER NOT NULL,
	form_version INTEGER NOT NULL,
	email_bidx   BLOB NOT NULL,
	token_hash   BLOB NOT NULL UNIQUE,
	sealed       BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
CREATE INDEX signups_email ON signups (workspace_id, email_bidx);
CREATE INDEX signups_expiry ON signups (expires_at);

-- Confirmation mails per address (blind index), for the per-address limit,
-- which must hold across restarts.
CREATE TABLE signup_mails (
	workspace_id INTEGER NOT NULL,
	email_bidx   BLOB NOT NULL,
	sent_at      INTEGER NOT NULL
);
CREATE INDEX signup_mails_address ON signup_mails (workspace_id, email_bidx, sent_at);

-- Outgoing mail, queued in the transaction that causes it. The message is
-- sealed under the key of its subject (a sign-up's or a contact's), and
-- dropped once sent or failed; forgetting the subject removes the rows.
CREATE TABLE mail_queue (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL,
	subject_kind TEXT NOT NULL, -- signup or contact
	subject_id   INTEGER NOT NULL,
	status       TEXT NOT NULL, -- queued, sending, sent, failed
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	sealed       BLOB,
	last_error   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	done_at      INTEGER
);
CREATE INDEX mail_queue_due ON mail_queue (status, next_at);
CREATE INDEX mail_queue_subject ON mail_queue (workspace_id, subject_kind, subject_id);
