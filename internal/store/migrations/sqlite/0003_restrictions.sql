-- Restrictions of processing (GDPR Art. 18): one row per period, opened
-- when a contact is restricted and closed when the restriction is lifted.
-- The reasons may name the person or their dispute, so they are sealed
-- under the contact's key; NULL only for a restriction made before reasons
-- were recorded. prior_status is the status the lifting gives back.
CREATE TABLE contact_restrictions (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id  INTEGER NOT NULL,
	contact_id    INTEGER NOT NULL,
	prior_status  TEXT NOT NULL,
	restricted_at INTEGER NOT NULL,
	restricted_by TEXT NOT NULL,
	reason        BLOB,
	lifted_at     INTEGER,
	lifted_by     TEXT,
	lift_reason   BLOB,
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
);
CREATE INDEX contact_restrictions_contact ON contact_restrictions (workspace_id, contact_id, id);
-- At most one restriction of a contact is open.
CREATE UNIQUE INDEX contact_restrictions_open ON contact_restrictions (workspace_id, contact_id) WHERE lifted_at IS NULL;

-- Contacts restricted before: their restriction began with their last
-- change, the only one a restricted contact allowed, made by its actor.
INSERT INTO contact_restrictions (workspace_id, contact_id, prior_status, restricted_at, restricted_by)
SELECT c.workspace_id, c.id, 'active', c.updated_at,
	COALESCE((SELECT h.actor FROM contact_changes h WHERE h.workspace_id = c.workspace_id AND h.contact_id = c.id ORDER BY h.id DESC LIMIT 1), 'unknown')
FROM contacts c WHERE c.status = 'restricted';
