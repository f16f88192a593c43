-- Who left a list, and when: a contact unsubscribed from a list is not put
-- back on it by an import or by adding everyone a filter matches (listmonk
-- #2008); only the person (a sign-up, the preference centre), newer proof
-- in an imported row, or staff naming the contact bring them back, and that
-- removes the row. Ids and times only; left_by is the actor ("user:7",
-- "subject").
CREATE TABLE list_leaves (
	workspace_id INTEGER NOT NULL,
	list_id      INTEGER NOT NULL REFERENCES lists (id),
	contact_id   INTEGER NOT NULL,
	left_at      INTEGER NOT NULL,
	left_by      TEXT NOT NULL,
	PRIMARY KEY (workspace_id, list_id, contact_id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
) WITHOUT ROWID;
CREATE INDEX list_leaves_contact ON list_leaves (workspace_id, contact_id);
