-- Saved filters of the contacts list: each belongs to the actor who saved
-- it ("user:7", "apikey:3"), who alone sees it. The query holds the filter
-- as a URL query string; columns are a JSON array of column names.
CREATE TABLE saved_filters (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	owner        TEXT NOT NULL,
	name         TEXT NOT NULL,
	query        TEXT NOT NULL,
	columns      TEXT NOT NULL,
	created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX saved_filters_owner_name ON saved_filters (workspace_id, owner, name);
