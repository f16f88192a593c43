-- The backups this store made and where: every later erasure is appended
-- to the erasure journal of each data backup, and shreds the contact's key
-- in each key backup, as long as the backup is still in place.
CREATE TABLE backup_sites (
	path       TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
