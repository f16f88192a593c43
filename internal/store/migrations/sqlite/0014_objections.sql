-- A contact's objection to direct marketing (Art. 21(2)), remembered so
-- that no basis can be assigned for a marketing purpose afterwards
-- (Art. 21(3)). The latest objection's time; no personal data.
CREATE TABLE contact_objections (
	workspace_id INTEGER NOT NULL,
	contact_id   INTEGER NOT NULL,
	objected_at  INTEGER NOT NULL,
	actor        TEXT NOT NULL,
	PRIMARY KEY (workspace_id, contact_id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
);
