-- The HTTP request behind each audit entry: its method and route pattern
-- (never its query or body) and the client's address. Empty for entries
-- made outside a request (the command line, the system) and for those
-- written before; the entry's hash covers them only when set, so the
-- chain written before stays valid.
ALTER TABLE audit_log ADD COLUMN route TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN ip TEXT NOT NULL DEFAULT '';
