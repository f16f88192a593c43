-- Ids are never reused (AUTOINCREMENT), as on PostgreSQL: a client holding
-- the id of a deleted object must not reach a new one.
--
-- Core schema: workspaces, API keys, fields, contacts, lists, purposes,
-- notices, the consent ledger and the change history. Times are Unix
-- microseconds (UTC). Personal values live only in the sealed columns,
-- encrypted under the contact's data key, which the key store keeps.

CREATE TABLE id_seq (
	name TEXT PRIMARY KEY,
	next INTEGER NOT NULL
);
INSERT INTO id_seq (name, next) VALUES ('contacts', 1), ('consent_events', 1);

CREATE TABLE workspaces (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL UNIQUE,
	rev        INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	name         TEXT NOT NULL,
	role         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	token_hash   BLOB NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, id);

CREATE TABLE purposes (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id    INTEGER NOT NULL REFERENCES workspaces (id),
	current_version INTEGER NOT NULL,
	created_at      INTEGER NOT NULL
);
CREATE INDEX purposes_workspace ON purposes (workspace_id, id);

CREATE TABLE purpose_versions (
	workspace_id   INTEGER NOT NULL,
	purpose_id     INTEGER NOT NULL REFERENCES purposes (id),
	version        INTEGER NOT NULL,
	name           TEXT NOT NULL,
	description    TEXT NOT NULL,
	legal_basis    TEXT NOT NULL,
	retention_days INTEGER NOT NULL,
	retention_from TEXT NOT NULL,
	channel        TEXT NOT NULL,
	unsubscribable INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	created_by     TEXT NOT NULL,
	PRIMARY KEY (workspace_id, purpose_id, version)
);
CREATE TRIGGER purpose_versions_immutable BEFORE UPDATE ON purpose_versions
BEGIN SELECT RAISE(ABORT, 'purpose versions are immutable'); END;

CREATE TABLE fields (
	workspace_id   INTEGER NOT NULL REFERENCES workspaces (id),
	key            TEXT NOT NULL,
	label          TEXT NOT NULL,
	type           TEXT NOT NULL,
	classification TEXT NOT NULL,
	choices        TEXT NOT NULL,
	purpose_ids    TEXT NOT NULL,
	built_in       INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, key)
);

-- sealed: one AES-256-GCM ciphertext under the contact's key of the e-mail
-- address and every encrypted field value (NULL when there are none). clear: JSON object of the values of fields classified
-- "none". bidx: JSON object, field key → blind index (hex) of an encrypted
-- value, or a list of them for multi-choice fields.
CREATE TABLE contacts (
	workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
	id               INTEGER NOT NULL,
	email_bidx       BLOB,
	phone_bidx       BLOB,
	status           TEXT NOT NULL,
	source_kind      TEXT NOT NULL,
	source_detail    TEXT NOT NULL,
	monitoring       INTEGER NOT NULL,
	tags             TEXT NOT NULL,
	sealed           BLOB,
	clear            TEXT NOT NULL,
	bidx             TEXT NOT NULL,
	rev              INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	last_activity_at INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX contacts_email ON contacts (workspace_id, email_bidx);
CREATE INDEX contacts_phone ON contacts (workspace_id, phone_bidx) WHERE phone_bidx IS NOT NULL;
CREATE INDEX contacts_rev ON contacts (workspace_id, rev, id);

-- The tag index: derived from contacts.tags, kept by the store in the same
-- transaction; rows of a contact are found through its tags.
CREATE TABLE contact_tags (
	workspace_id INTEGER NOT NULL,
	tag          TEXT NOT NULL,
	contact_id   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, tag, contact_id)
) WITHOUT ROWID;

CREATE TABLE list_groups (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	name         TEXT NOT NULL,
	description  TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
CREATE INDEX list_groups_workspace ON list_groups (workspace_id, id);

CREATE TABLE lists (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	group_id     INTEGER REFERENCES list_groups (id),
	name         TEXT NOT NULL,
	description  TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
CREATE INDEX lists_workspace ON lists (workspace_id, id);

CREATE TABLE list_members (
	workspace_id INTEGER NOT NULL,
	list_id      INTEGER NOT NULL REFERENCES lists (id),
	contact_id   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, list_id, contact_id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
) WITHOUT ROWID;
CREATE INDEX list_members_contact ON list_members (workspace_id, contact_id);

CREATE TABLE notices (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	hash         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	language     TEXT NOT NULL,
	body         TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, hash)
);
CREATE TRIGGER notices_immutable BEFORE UPDATE ON notices
BEGIN SELECT RAISE(ABORT, 'notices are immutable'); END;

-- Erasure tombstones: no personal data. The consent ledger's rows of a
-- contact may be deleted only once its tombstone exists.
CREATE TABLE tombstones (
	workspace_id INTEGER NOT NULL,
	contact_id   INTEGER NOT NULL,
	mode         TEXT NOT NULL,
	request_id   TEXT NOT NULL,
	erased_at    INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, contact_id)
);

-- The consent ledger: append-only. meta: the IP address and user agent,
-- sealed under the contact's key.
CREATE TABLE consent_events (
	id              INTEGER PRIMARY KEY, -- from id_seq
	workspace_id    INTEGER NOT NULL,
	contact_id      INTEGER NOT NULL,
	purpose_id      INTEGER NOT NULL REFERENCES purposes (id),
	purpose_version INTEGER NOT NULL,
	action          TEXT NOT NULL,
	method          TEXT NOT NULL,
	notice_hash     TEXT,
	effective_from  INTEGER NOT NULL,
	meta            BLOB,
	actor           TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
);
CREATE INDEX consent_events_contact ON consent_events (workspace_id, contact_id, purpose_id, id);
CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
WHEN NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.workspace_id = OLD.workspace_id AND t.contact_id = OLD.contact_id)
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

-- The state each contact is in per purpose, derived from the ledger in the
-- same transaction as each event.
CREATE TABLE consent_state (
	workspace_id    INTEGER NOT NULL,
	contact_id      INTEGER NOT NULL,
	purpose_id      INTEGER NOT NULL REFERENCES purposes (id),
	purpose_version INTEGER NOT NULL,
	action          TEXT NOT NULL,
	event_id        INTEGER NOT NULL,
	since           INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, contact_id, purpose_id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
) WITHOUT ROWID;
CREATE INDEX consent_state_purpose ON consent_state (workspace_id, purpose_id, action);

-- Field change history: one row per changed field; the field, old and new
-- values are sealed under the contact's key.
CREATE TABLE contact_changes (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL,
	contact_id   INTEGER NOT NULL,
	actor        TEXT NOT NULL,
	at           INTEGER NOT NULL,
	sealed       BLOB NOT NULL,
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
);
CREATE INDEX contact_changes_contact ON contact_changes (workspace_id, contact_id, id);
