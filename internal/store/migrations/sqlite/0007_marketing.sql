-- Direct marketing, which a person may object to (Art. 21(2)): part of
-- each purpose version. Adding a column updates no row, so the trigger
-- that keeps versions immutable is not in the way.
ALTER TABLE purpose_versions ADD COLUMN marketing INTEGER NOT NULL DEFAULT 0;
