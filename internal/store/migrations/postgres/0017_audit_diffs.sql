-- The field changes an entry records (field, old and new value of each),
-- sealed under the changed contact's key: readable while the contact
-- exists, unreadable once it is forgotten and its key shredded. NULL for
-- entries that change no contact's values and for those written before;
-- the entry's hash covers the ciphertext only when set, so the chain
-- written before stays valid and a forgotten contact's entries still
-- verify.
ALTER TABLE audit_log ADD COLUMN diff BYTEA;
