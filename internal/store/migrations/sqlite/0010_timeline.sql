-- Activities, attachments and tracking events of contacts, and what the
-- timeline reads. Titles, bodies, file names, file contents and event
-- properties are sealed under the contact's key, bound to workspace,
-- contact and row; ids come from id_seq because the row id is bound into
-- the ciphertext before the row is written.

INSERT INTO id_seq (name, next) VALUES ('activities', 1), ('attachments', 1), ('tracking_events', 1);

-- Notes, tasks, deals and activities of free-form types. sealed: the
-- title and body. The rest is in clear: no personal data.
CREATE TABLE contact_activities (
	workspace_id INTEGER NOT NULL,
	id           INTEGER NOT NULL,
	contact_id   INTEGER NOT NULL,
	type         TEXT NOT NULL,
	sealed       BLOB NOT NULL,
	due_at       INTEGER,
	done_at      INTEGER,
	value        TEXT NOT NULL,
	currency     TEXT NOT NULL,
	stage        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	created_by   TEXT NOT NULL,
	updated_at   INTEGER NOT NULL,
	updated_by   TEXT NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
) WITHOUT ROWID;
CREATE INDEX contact_activities_contact ON contact_activities (workspace_id, contact_id, id);
CREATE INDEX contact_activities_time ON contact_activities (workspace_id, contact_id, created_at, id);

-- Files attached to a contact (a signed contract, a scan). name and
-- content are sealed; content_type is what the content was sniffed as.
CREATE TABLE contact_attachments (
	workspace_id INTEGER NOT NULL,
	id           INTEGER NOT NULL,
	contact_id   INTEGER NOT NULL,
	name         BLOB NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	content      BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	created_by   TEXT NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
) WITHOUT ROWID;
CREATE INDEX contact_attachments_contact ON contact_attachments (workspace_id, contact_id, created_at, id);

-- The timeline reads each source newest first by (time, id), from a
-- cursor on: these indexes let it stop after a page.
CREATE INDEX contact_changes_time ON contact_changes (workspace_id, contact_id, at, id);
CREATE INDEX consent_events_time ON consent_events (workspace_id, contact_id, created_at, id);

-- When the contact's monitoring was last switched off (NULL: never). It
-- may be switched on again only by a consent for a purpose of the tracking
-- channel given after this time.
ALTER TABLE contacts ADD COLUMN monitoring_off_at INTEGER;

-- Tracking events (opens, visits, clicks) of contacts whose monitoring is
-- on and whose tracking purpose permits them. sealed: the message
-- reference and properties.
CREATE TABLE tracking_events (
	workspace_id INTEGER NOT NULL,
	id           INTEGER NOT NULL,
	contact_id   INTEGER NOT NULL,
	type         TEXT NOT NULL,
	at           INTEGER NOT NULL,
	sealed       BLOB NOT NULL,
	actor        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
) WITHOUT ROWID;
CREATE INDEX tracking_events_contact ON tracking_events (workspace_id, contact_id, at, id);

-- Tracking events dropped, never stored, per workspace: a count, no more.
CREATE TABLE tracking_dropped (
	workspace_id    INTEGER PRIMARY KEY,
	dropped         INTEGER NOT NULL,
	last_dropped_at INTEGER NOT NULL
);
