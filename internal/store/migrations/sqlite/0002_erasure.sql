-- Suppression: a keyed hash of the address of a contact erased at its
-- owner's request, kept so that the address is not imported or signed up
-- again. Its key is not the blind-index key.
ALTER TABLE tombstones ADD COLUMN suppression BLOB;
CREATE INDEX tombstones_suppression ON tombstones (workspace_id, suppression) WHERE suppression IS NOT NULL;
-- The erasure certificate: how many rows of each kind were removed, as
-- JSON; no personal data.
ALTER TABLE tombstones ADD COLUMN removed TEXT NOT NULL DEFAULT '{}';
